#!/usr/bin/env bash
# Injection: profile strings (paths, SMBIOS text, ids) full of commas, '=',
# quotes, spaces and option-like text must land in QEMU's argv as data and
# never add or change an option or a host path. (a) checks the argv of
# `vmrun --print-argv` value by value; (b) starts a real QEMU (TCG, -S) with
# that argv and asks it over QMP (and its guest memory) what it understood.
. "$(dirname "$0")/lib.sh"

# The fake host's root has a comma and '=' in its name: every rooted path
# (QMP socket, /dev/shm, /dev/input) carries them too.
ROOT="$TMP/root,server=off"
if ! "$FAKEHOST" build "$FIXTURES/b550-gtx1060.host" "$ROOT" >"$TMP/fh.log" 2>&1; then
	not_ok "build the fake host b550-gtx1060"
	sed 's/^/#   /' "$TMP/fh.log"
	done_testing
	exit
fi
mkdir -p "$ROOT/run/vmrun"

# A tiny valid SSDT whose OEM ids are searched for in guest memory.
make_ssdt() {
	python3 - "$1" <<'EOF'
import struct, sys
body = b'\x08INJX\x0cXJNI'            # Name (INJX, 0x494E4A58)
hdr = b'SSDT' + struct.pack('<IBB', 36 + len(body), 2, 0) + \
    b'VMRUN ' + b'INJECT  ' + struct.pack('<I', 1) + b'INTL' + \
    struct.pack('<I', 0x20230628)
t = bytearray(hdr + body)
t[9] = (-sum(t)) & 0xff
open(sys.argv[1], 'wb').write(t)
EOF
}

# Files whose names hold what a QEMU option parser would act on. Names
# with "/etc/shadow" inside are folders under $W, created here.
W="$TMP/dir,file=x"
ROM="vbios,romfile=/etc/shadow.rom"
SSDT="ssdt,file=/etc/shadow.aml"
DISK="disk,file.filename=/etc/shadow,readonly=off.img"
CD="cd \"x\" 'y' -device foo.iso"
for f in "$ROM" "$SSDT" "$DISK"; do mkdir -p "$(dirname "$W/$f")"; done
printf '\x55\xaa\x01' >"$W/$ROM"
truncate -s 512 "$W/$ROM"
make_ssdt "$W/$SSDT"
truncate -s 1M "$W/$DISK"
truncate -s 1M "$W/$CD"
LG="/dev/shm/lg,share=off,size=1 -object x"
EVDEV="/dev/input/by-id/kbd,evdev=/dev/mem \"x\""
# the input devices the profiles name exist on the host
for ev in "$EVDEV" /dev/input/by-id/kbd; do
	mkdir -p "$(dirname "$ROOT$ev")" && : >"$ROOT$ev"
done

# profile FILE WEIRD|CLEAN: the injection profile, or its twin with plain
# strings in the same places (the same options must come out of both).
profile() {
	local d=$W rom=$ROM ssdt=$SSDT disk=$DISK cd=$CD lg=$LG ev=$EVDEV
	local tpm="$TMP/tpm state 'q' \"x\" =y"
	local sm=("v,,x" "1,=2" "-device virtio-net" "x,,y=z -device foo"
		",id=evil" "\"quoted\" and 'single'" "file=/etc/shadow"
		",readonly=off" "a;b" "=" "," ",," "x, -smbios type=0")
	if [ "$2" = CLEAN ]; then
		d=$TMP/clean rom=vbios.rom ssdt=ssdt.aml disk=disk.img
		cd=cd.iso lg=/dev/shm/lg ev=/dev/input/by-id/kbd tpm=$d/tpm
		sm=(a b c d e f g h i j k l m)
		mkdir -p "$d"
		cp "$W/$ROM" "$d/$rom"
		cp "$W/$SSDT" "$d/$ssdt"
		truncate -s 1M "$d/$disk" "$d/$cd"
	fi
	cat >"$1" <<EOF
[vm]
name = inj
memory = 1G
accel = tcg
state-dir = $d/state,readonly=off

[firmware]
code = /usr/share/OVMF/OVMF_CODE_4M.fd
vars-template = /usr/share/OVMF/OVMF_VARS_4M.fd

[cpu]
model = max
cores = 1

[hyperv]
enlightenments = relaxed
vendor-id = a=b c!d

[smbios]
mode = custom
bios-vendor = ${sm[0]}
bios-version = ${sm[1]}
system-manufacturer = ${sm[2]}
system-product = ${sm[3]}
system-version = ${sm[4]}
system-serial = ${sm[5]}
board-manufacturer = ${sm[6]}
board-product = ${sm[7]}
board-version = ${sm[8]}
board-serial = ${sm[9]}
chassis-manufacturer = ${sm[10]}
chassis-version = ${sm[11]}
chassis-serial = ${sm[12]}

[pci.gpu]
host = 08:00.0
romfile = $rom

[pci.gpu-audio]
host = 08:00.1

[disk.evil]
file = $disk
format = raw
readonly = yes

[disk.cd]
file = $cd
media = cdrom
interface = sata

[net.lan]
mode = bridge
bridge = br0

[looking-glass]
device = $lg

[acpi]
table = $ssdt

[input]
evdev = $ev

[tpm]
type = swtpm
state = $tpm
EOF
}

profile "$W/inj.ini" WEIRD
profile "$TMP/clean/clean.ini" CLEAN
"$VMRUN" --root "$ROOT" --print-argv "$W/inj.ini" >"$TMP/weird.argv" 2>"$TMP/weird.err"
check "print-argv accepts the injection profile" test $? -eq 0
sed 's/^/#   /' "$TMP/weird.err"
"$VMRUN" --root "$ROOT" --print-argv "$TMP/clean/clean.ini" >"$TMP/clean.argv" 2>"$TMP/clean.err"
check "print-argv accepts its plain twin" test $? -eq 0
sed 's/^/#   /' "$TMP/clean.err"

# Python does the argv bookkeeping: one "ok|not ok<TAB>name<TAB>detail"
# line per check, turned into TAP below.
cat >"$TMP/argv_check.py" <<'EOF'
import json, sys

weird = open(sys.argv[1]).read().split('\n')[:-1]
clean = open(sys.argv[2]).read().split('\n')[:-1]
W, ROOT, ROM, SSDT, DISK, CD, LG, EVDEV = sys.argv[3:11]
esc = lambda s: s.replace(',', ',,')

def report(ok, name, detail=''):
    print('%s\t%s\t%s' % ('ok' if ok else 'not ok', name, detail))

def eq(name, want, got):
    report(want == got, name, 'want %r got %r' % (want, got))

def values(opt):
    return [weird[i + 1] for i in range(len(weird) - 1) if weird[i] == opt]

def json_with(opt, key, val):
    for v in values(opt):
        if v.startswith('{'):
            o = json.loads(v)
            if o.get(key) == val:
                return o
    return None

def qemu_opts(s):
    """Split key=value,... as QEMU's QemuOpts does (',,' is a comma)."""
    out, cur, i = [], '', 0
    while i < len(s):
        if s[i] == ',' and s[i + 1:i + 2] == ',':
            cur += ','
            i += 2
        elif s[i] == ',':
            out.append(cur)
            cur = ''
            i += 1
        else:
            cur += s[i]
            i += 1
    out.append(cur)
    return [tuple(kv.split('=', 1)) for kv in out]

# Same length, and every option name in the same place as in the twin.
eq('the argv has as many arguments as the plain twin\'s', len(clean), len(weird))
opts_w = [(i, a) for i, a in enumerate(weird) if a.startswith('-') and i]
opts_c = [(i, a) for i, a in enumerate(clean) if a.startswith('-') and i]
eq('the same options at the same places as the plain twin\'s', opts_c, opts_w)
eq('no argument is "-device foo" or another injected option',
   [], [a for a in weird if a in ('-device foo', '-object x', '-smbios type=0')])

sm = {0: [('vendor', 'v,,x'), ('version', '1,=2')],
      1: [('manufacturer', '-device virtio-net'),
          ('product', 'x,,y=z -device foo'), ('version', ',id=evil'),
          ('serial', '"quoted" and \'single\'')],
      2: [('manufacturer', 'file=/etc/shadow'), ('product', ',readonly=off'),
          ('version', 'a;b'), ('serial', '=')],
      3: [('manufacturer', ','), ('version', ',,'),
          ('serial', 'x, -smbios type=0')]}
got = values('-smbios')
for t, kv in sm.items():
    want = 'type=%d' % t + ''.join(',%s=%s' % (k, esc(v)) for k, v in kv)
    eq('-smbios type=%d carries its strings with commas doubled' % t,
       want, next((g for g in got if g.startswith('type=%d,' % t)), None))
    eq('-smbios type=%d reads back as exactly its fields' % t,
       [('type', str(t))] + kv,
       qemu_opts(next((g for g in got if g.startswith('type=%d,' % t)), '')))

eq('-cpu carries hv-vendor-id as one property',
   ['max,hv-relaxed=on,hv-vendor-id=a=b c!d'],
   values('-cpu'))

o = json_with('-blockdev', 'node-name', 'pflash1-storage')
eq('OVMF vars (state-dir with a comma) is one JSON filename',
   {'driver': 'file', 'filename': W + '/state,readonly=off/OVMF_VARS.fd',
    'node-name': 'pflash1-storage', 'read-only': False}, o)

o = json_with('-blockdev', 'node-name', 'disk0-storage') or {}
eq('the disk file is one JSON filename', W + '/' + DISK, o.get('filename'))
eq('the disk storage node has only vmrun\'s keys',
   ['aio', 'auto-read-only', 'cache', 'discard', 'driver', 'filename',
    'node-name'], sorted(o))
o = json_with('-blockdev', 'node-name', 'disk0-format') or {}
eq('readonly = yes makes the disk read-only', True, o.get('read-only'))
o = json_with('-blockdev', 'node-name', 'disk1-storage') or {}
eq('the CD-ROM file with quotes and spaces is one JSON filename',
   W + '/' + CD, o.get('filename'))

o = json_with('-device', 'id', 'hostdev-gpu') or {}
eq('romfile is one JSON value', W + '/' + ROM, o.get('romfile'))
o = json_with('-object', 'id', 'looking-glass') or {}
eq('the Looking Glass file is one rooted JSON value', ROOT + LG,
   o.get('mem-path'))
eq('Looking Glass keeps share = true', True, o.get('share'))
o = json_with('-object', 'id', 'input0') or {}
eq('the evdev path is one rooted JSON value', ROOT + EVDEV, o.get('evdev'))

eq('-acpitable file= has the commas doubled',
   ['file=' + esc(W + '/' + SSDT)], values('-acpitable'))
eq('the QMP socket path (root with a comma) has the commas doubled',
   'socket,id=qmp,path=%s/run/vmrun/inj.qmp,server=on,wait=off' % esc(ROOT),
   next((v for v in values('-chardev') if 'id=qmp' in v), None))
eq('the swtpm socket path has the commas doubled',
   'socket,id=chrtpm,path=%s/run/vmrun/inj.swtpm.sock' % esc(ROOT),
   next((v for v in values('-chardev') if 'id=chrtpm' in v), None))
EOF

# tap_from FILE: the checker's lines as TAP cases.
tap_from() {
	local st name detail
	while IFS=$'\t' read -r st name detail; do
		if [ "$st" = ok ]; then
			ok "$name"
		else
			not_ok "$name"
			echo "#   $detail"
		fi
	done <"$1"
}

python3 "$TMP/argv_check.py" "$TMP/weird.argv" "$TMP/clean.argv" "$W" \
	"$ROOT" "$ROM" "$SSDT" "$DISK" "$CD" "$LG" "$EVDEV" >"$TMP/argv.tap" 2>&1 ||
	echo "not ok	argv checker	$(tail -n 1 "$TMP/argv.tap")" >>"$TMP/argv.tap"
tap_from "$TMP/argv.tap"

# refused NAME WANT SECTION LINES...: a minimal profile plus LINES in
# SECTION must be refused with WANT (the message, "@" standing for the
# profile's path).
refused() {
	local name=$1 want=$2 sect=$3 ini=$TMP/refused.ini
	shift 3
	{
		echo "[vm]"
		[ "$sect" = vm ] && printf '%s\n' "$@"
		printf '%s\n' "$@" | grep -q '^name =' || echo "name = ref"
		printf 'memory = 1G\naccel = tcg\n[firmware]\ntype = seabios\n'
		[ "$sect" = vm ] || printf '[%s]\n%s\n' "$sect" "$(printf '%s\n' "$@")"
	} >"$ini"
	"$VMRUN" --root "$ROOT" --print-argv "$ini" >/dev/null 2>"$TMP/refused.err"
	local rc=$?
	local got
	got=$(sed "s|$ini|@|g" "$TMP/refused.err")
	if [ "$rc" -ne 0 ] && [ "$got" = "vmrun: $want" ]; then
		ok "refused: $name"
	else
		not_ok "refused: $name"
		printf '#   want: vmrun: %s\n#   got (exit %d): %s\n' "$want" "$rc" "$got"
	fi
}

refused "a CPU model with a comma" \
	"@:8: [cpu] model: 'max,+vmx' is not a valid name; use letters, digits, '.', '_' and '-'" \
	cpu "model = max,+vmx"
refused "a VM name with a comma" \
	"@:2: [vm] name: 'a,b' is not a valid name; use 1 to 32 letters, digits, '_' or '-'" \
	vm "name = a,b"
refused "a Hyper-V vendor-id with a comma" \
	"[hyperv] vendor-id 'ab,cd' contains ',', which QEMU's -cpu option cannot carry" \
	hyperv "vendor-id = ab,cd"
refused "a machine type with an option" \
	"@:2: [vm] machine: 'q35,accel=kvm' is not supported; use q35 or a versioned pc-q35-X.Y such as pc-q35-7.2 (PCIe passthrough needs the Q35 chipset)" \
	vm "machine = q35,accel=kvm"
refused "a bridge name with a comma" \
	"@:9: [net.lan] bridge: 'br0,x' is not a network interface name; use up to 15 letters, digits, '.', '_' or '-'" \
	net.lan "mode = bridge" "bridge = br0,x"
refused "a run-as user with a comma" \
	"@:2: [vm] run-as: 'root,x' is not a user or group name" \
	vm "run-as = root,x"
refused "a display address with an option" \
	"@:9: [display] listen: '127.0.0.1,port=1' is not an IP address; use e.g. 127.0.0.1, 0.0.0.0 or ::1" \
	display "type = vnc" "listen = 127.0.0.1,port=1"
refused "a Looking Glass file outside /dev/shm" \
	"@:8: [looking-glass] device: '/dev/shm/../../etc/shadow' is neither a file in /dev/shm (/dev/shm/NAME) nor a kvmfr device (/dev/kvmfrN)" \
	looking-glass "device = /dev/shm/../../etc/shadow"
refused "an SMBIOS string with a tab" \
	"@:9: [smbios] system-product: control characters are not allowed" \
	smbios "mode = custom" "system-product = a	b"
# INI has no multi-line values: an indented line is not a continuation.
refused "a newline smuggled in by an indented line" \
	"@:10: expected 'key = value', a [section] or a comment, not '-device foo'" \
	smbios "mode = custom" "system-product = first" "  -device foo"
# Section names become QEMU ids ("disk-NAME", "netdev-NAME").
refused "a disk name with an id option" \
	"@:7: [disk.a,id=x]: 'a,id=x' is not a valid name; use 1 to 32 letters, digits, '_' or '-'" \
	"disk.a,id=x" "file = $W/$DISK"
refused "a network name with a space" \
	"@:7: [net.b c]: 'b c' is not a valid name; use 1 to 32 letters, digits, '_' or '-'" \
	"net.b c" "mode = user"
# QEMU reads -acpitable file=A:B as two files: a ':' would add a host file.
mkdir -p "$TMP/t:/etc"
make_ssdt "$TMP/t"
make_ssdt "$TMP/t:/etc/shadow"
refused "an ACPI table path with a ':'" \
	"[acpi] table $TMP/t:/etc/shadow contains ':', which QEMU's -acpitable reads as a list of files: rename the file or its folder" \
	acpi "table = $TMP/t:/etc/shadow"
# swtpm has no escape for a comma in --tpmstate dir=...
refused "a TPM state folder with a comma" \
	"[tpm] state $TMP/tpm,mode=0777 contains ',', which swtpm's --tpmstate option cannot carry: choose a folder without one" \
	tpm "type = swtpm" "state = $TMP/tpm,mode=0777"

# (b) The real QEMU's view. SeaBIOS puts the SMBIOS and ACPI tables QEMU
# built into guest memory within a second, where they are read back.
QEMU=$(command -v qemu-system-x86_64)
if [ -z "$QEMU" ]; then
	skip "QEMU's own view of the injection profile" "no qemu-system-x86_64"
	done_testing
	exit
fi
sed -e 's/^memory = 1G/memory = 256M/' \
	-e '/^\[firmware\]/,/^$/c\[firmware]\ntype = seabios\n' \
	-e '/^\[pci.gpu\]/,/^$/d' -e '/^\[pci.gpu-audio\]/,/^$/d' \
	-e '/^\[net.lan\]/,/^$/d' -e '/^\[input\]/,/^$/d' \
	-e '/^\[tpm\]/,$d' "$W/inj.ini" >"$W/real.ini"
"$VMRUN" --root "$ROOT" --print-argv "$W/real.ini" >"$TMP/real.argv" 2>"$TMP/real.err"
check "print-argv for the QEMU run" test $? -eq 0
sed 's/^/#   /' "$TMP/real.err"
mapfile -t QARGV <"$TMP/real.argv"
"${QARGV[@]}" >"$TMP/qemu.log" 2>&1 &
QPID=$!
trap 'kill $QPID 2>/dev/null; wait $QPID 2>/dev/null; rm -rf "$TMP"' EXIT

cat >"$TMP/qmp_check.py" <<'EOF'
import json, os, socket, sys, time

sock_path, W, ROOT, DISK, CD, LG, SSDT, mem = sys.argv[1:9]

def report(ok, name, detail=''):
    print('%s\t%s\t%s' % ('ok' if ok else 'not ok', name, detail), flush=True)

def eq(name, want, got):
    report(want == got, name, 'want %r got %r' % (want, got))

deadline = time.time() + 20
s = socket.socket(socket.AF_UNIX)
while True:
    try:
        s.connect(sock_path)
        break
    except OSError as e:
        if time.time() > deadline:
            report(False, 'QEMU made its QMP socket at the escaped path', e)
            sys.exit(0)
        time.sleep(0.1)
report(True, 'QEMU made its QMP socket at the escaped path (root with a comma)')
f = s.makefile('rwb')

def cmd(name, **args):
    f.write(json.dumps({'execute': name, 'arguments': args}).encode() + b'\n')
    f.flush()
    while True:
        m = json.loads(f.readline())
        if 'return' in m:
            return m['return']
        if 'error' in m:
            raise RuntimeError('%s: %s' % (name, m['error']))

json.loads(f.readline())
cmd('qmp_capabilities')
eq('QEMU: the VM name', {'name': 'inj'}, cmd('query-name'))
blocks = cmd('query-block')

def drive(dev):
    # qdev is the device's id, or the QOM path of its virtio backend
    b = [b for b in blocks
         if dev in (b.get('qdev') or '').split('/')]
    return b[0].get('inserted', {}) if len(b) == 1 else {}

ins = drive('disk-evil')
eq('QEMU: the disk is the weird path', W + '/' + DISK, ins.get('file'))
eq('QEMU: the disk is read-only', True, ins.get('ro'))
cd = drive('disk-cd')
eq('QEMU: the CD-ROM is the path with quotes', W + '/' + CD, cd.get('file'))
eq('QEMU: the CD-ROM is read-only', True, cd.get('ro'))
eq('QEMU: no drive opened a host file',
   [], [n['file'] for n in cmd('query-named-block-nodes')
        if n['file'] not in (W + '/' + DISK, W + '/' + CD)])
eq('QEMU: the Looking Glass file is the weird rooted path', ROOT + LG,
   cmd('qom-get', path='/objects/looking-glass', property='mem-path'))
report(os.path.exists(ROOT + LG) and
       not os.path.exists(ROOT + '/dev/shm/lg'),
       'QEMU created the Looking Glass file under its whole name')
cpu = cmd('query-cpus-fast')[0]['qom-path']
eq('QEMU: the CPU\'s hv-vendor-id', 'a=b c!d',
   cmd('qom-get', path=cpu, property='hv-vendor-id'))

# SMBIOS strings follow each structure in field order, NUL-terminated.
want = {
    'SMBIOS type 0 strings in guest memory': b'v,,x\x001,=2\x00',
    'SMBIOS type 1 strings in guest memory':
        b'-device virtio-net\x00x,,y=z -device foo\x00,id=evil\x00'
        b'"quoted" and \'single\'\x00',
    'SMBIOS type 2 strings in guest memory':
        b'file=/etc/shadow\x00,readonly=off\x00a;b\x00=\x00',
    'SMBIOS type 3 strings in guest memory': b',\x00,,\x00x, -smbios type=0\x00',
    'the SSDT from the weird path in guest memory': open(SSDT, 'rb').read()[10:],
}
cmd('cont')
ram = 256 << 20
found, data = set(), b''
deadline = time.time() + 30
while len(found) < len(want) and time.time() < deadline:
    time.sleep(0.5)
    # Small tables sit in the BIOS segment, big ones at the top of RAM.
    data = b''
    for at, size in ((0xe0000, 0x20000), (ram - (4 << 20), 4 << 20)):
        cmd('pmemsave', val=at, size=size, filename=mem)
        data += open(mem, 'rb').read()
    found = {k for k, v in want.items() if v in data}
for k, v in want.items():
    report(k in found, k, 'not found: %r' % v)
cmd('quit')
EOF
python3 "$TMP/qmp_check.py" "$ROOT/run/vmrun/inj.qmp" "$W" "$ROOT" \
	"$DISK" "$CD" "$LG" "$W/$SSDT" "$TMP/mem" >"$TMP/qmp.tap" 2>&1 ||
	echo "not ok	QMP checker	$(tail -n 1 "$TMP/qmp.tap")" >>"$TMP/qmp.tap"
tap_from "$TMP/qmp.tap"
# The checker ends with quit; a QEMU still there 5 s later is killed.
for _ in $(seq 50); do
	kill -0 $QPID 2>/dev/null || break
	sleep 0.1
done
kill $QPID 2>/dev/null
if ! wait $QPID; then
	not_ok "QEMU exited cleanly after quit"
	sed 's/^/#   /' "$TMP/qemu.log"
else
	ok "QEMU exited cleanly after quit"
fi
done_testing
