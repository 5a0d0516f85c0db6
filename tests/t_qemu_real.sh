#!/usr/bin/env bash
# Real QEMU under TCG starts (paused, -S) with the argv vmrun prints for
# (a) profiles/demo.ini and (b) a profile with ivshmem, the fake-battery
# SSDT plus an -acpitable, the Hyper-V flags TCG takes, SMBIOS (custom, and
# host from the fake host's DMI), PCIe root ports and every disk kind; each
# answers QMP query-status, shows its devices, and quits cleanly.
. "$(dirname "$0")/lib.sh"
QEMU=qemu-system-x86_64
VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
SSDT_TOOL=$TOP/build/san/tests/test_acpi
for need in "$QEMU" python3; do
	if ! command -v "$need" >/dev/null 2>&1; then
		skip "real QEMU" "$need is not installed"
		done_testing
		exit
	fi
done
if [ ! -f "$VARS" ]; then
	skip "real QEMU" "no OVMF ($VARS): install the ovmf package"
	done_testing
	exit
fi
if [ ! -x "$VMRUN" ] || [ ! -x "$SSDT_TOOL" ]; then
	not_ok "build first: make build/san/vmrun build/san/tests/test_acpi"
	done_testing
	exit
fi

ROOT=$TMP/root
"$FAKEHOST" build "$FIXTURES/ivybridge-gtx970.host" "$ROOT" >"$TMP/fh.log" 2>&1 ||
	{ not_ok "fake host"; sed 's/^/#   /' "$TMP/fh.log"; }
mkdir -p "$ROOT/run/vmrun"

# QMP over python3's standard library: greeting, capabilities, then the
# facts the checks below compare, one "key=value" a line; then quit.
cat >"$TMP/qmp.py" <<'EOF'
import json, socket, sys

s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")


def reply():
    while True:
        line = f.readline()
        if not line:
            return {}
        m = json.loads(line)
        if "event" not in m:
            return m


def run(cmd):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    r = reply()
    if "error" in r:
        sys.exit("%s: %s" % (cmd, r["error"]))
    return r.get("return")


assert "QMP" in reply()
run("qmp_capabilities")
st = run("query-status")
print("status=%s running=%s" % (st["status"], st["running"]))
print("cpus=%d" % len(run("query-cpus-fast")))


# Firmware has not numbered the buses yet (prelaunch), and query-pci shows
# nothing behind a bridge then: the qtree names each device's bus, so a
# device is "BUS/SS.F" (e.g. pci.2/00.0).
def qtree():
    f.write(json.dumps({"execute": "human-monitor-command",
                        "arguments": {"command-line": "info qtree"}}) + "\n")
    f.flush()
    return reply()["return"]


stack, place = [], {}
for line in qtree().splitlines():
    depth = len(line) - len(line.lstrip())
    text = line.strip()
    while stack and stack[-1][0] >= depth:
        stack.pop()
    if text.startswith("bus: "):
        stack.append((depth, text[5:]))
    elif text.startswith("dev: "):
        driver = text[5:].split(",")[0]
        stack.append((depth, None))
        cur = (driver, [b for _, b in stack if b][-1])
    elif text.startswith("addr = ") and stack and stack[-1][1] is None:
        place.setdefault(cur[0], []).append("%s/%s" % (cur[1], text[7:]))
print("root-ports=%d" % len(place.get("pcie-root-port", [])))
for name, drv in (("ivshmem", "ivshmem-plain"), ("nvme", "nvme"),
                  ("balloon", "virtio-balloon-pci"), ("xhci", "qemu-xhci"),
                  ("vga", "VGA")):
    print("%s=%s" % (name, ",".join(place.get(drv, [])) or "none"))
run("quit")
EOF

# start NAME PROFILE: print the argv, start QEMU with it, talk QMP.
start() {
	local name=$1 ini=$2 sock=$ROOT/run/vmrun/$1.qmp pid i
	if ! "$VMRUN" --root "$ROOT" --print-argv "$ini" >"$TMP/$name.argv" \
		2>"$TMP/$name.err"; then
		not_ok "$name: vmrun --print-argv"
		sed 's/^/#   /' "$TMP/$name.err"
		return 1
	fi
	mapfile -t argv <"$TMP/$name.argv"
	"${argv[@]}" >"$TMP/$name.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		[ -S "$sock" ] || ! kill -0 "$pid" 2>/dev/null && break
		sleep 0.1
	done
	if ! [ -S "$sock" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid"
		not_ok "$name: QEMU starts with vmrun's argv"
		sed 's/^/#   /' "$TMP/$name.log"
		return 1
	fi
	ok "$name: QEMU starts with vmrun's argv"
	python3 "$TMP/qmp.py" "$sock" >"$TMP/$name.qmp" 2>&1 ||
		{ not_ok "$name: QMP"; sed 's/^/#   /' "$TMP/$name.qmp"; }
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	expect_eq "$name: QEMU quits cleanly on QMP quit" 0 $?
	expect_eq "$name: QEMU said nothing alarming" "" \
		"$(grep -v -e '^$' -e 'terminating on signal' "$TMP/$name.log")"
}

fact() { sed -n "s/^$2=//p" "$TMP/$1.qmp"; }

# (a) the demo profile, in a copy of the repo layout so ../build resolves.
mkdir -p "$TMP/demo/profiles" "$TMP/demo/build/demo"
cp "$TOP/profiles/demo.ini" "$TMP/demo/profiles/"
truncate -s 64M "$TMP/demo/build/demo/boot.img"
cp "$VARS" "$TMP/demo/build/demo/OVMF_VARS.fd"
if start demo "$TMP/demo/profiles/demo.ini"; then
	expect_eq "demo: paused before the guest runs" \
		"prelaunch running=False" "$(fact demo status)"
	expect_eq "demo: two vCPUs" 2 "$(fact demo cpus)"
fi

# (b) the rest of what TCG can run, on the fake host's paths.
LAB=$TMP/lab
mkdir -p "$LAB/state"
cp "$VARS" "$LAB/state/OVMF_VARS.fd"
truncate -s 64M "$LAB/sys.raw" "$LAB/data.raw" "$LAB/fast.raw"
truncate -s 2M "$LAB/install.iso"
VMRUN_SSDT_OUT=$LAB/extra.aml "$SSDT_TOOL" ||
	not_ok "write an SSDT for [acpi] table"
cat >"$LAB/lab.ini" <<EOF
[vm]
name = lab
memory = 256M
accel = tcg
state-dir = $LAB/state

[cpu]
sockets = 2
cores = 2
hide-hypervisor = yes

[hyperv]
enlightenments = default
vendor-id = VMRUNvmrun12

[memory]
balloon = yes

[smbios]
mode = custom
bios-vendor = vmrun, the launcher
system-manufacturer = Example, Inc.
system-product = Lab,Bench
chassis-serial = A,B,C

[clock]
base = utc
hpet = yes

[disk.sys]
file = sys.raw
format = raw
boot = 1

[disk.data]
file = data.raw
format = raw
interface = scsi
cache = writeback
aio = threads

[disk.fast]
file = fast.raw
format = raw
interface = nvme

[disk.install]
file = install.iso
format = raw
interface = sata
media = cdrom

[net.lan]
mode = user

[looking-glass]
device = /dev/shm/vmrun-lab
size = 32M
owner = root
group = root

[acpi]
table = extra.aml
fake-battery = yes

[usb]
device = 046d:c52b

[display]
type = none
video = std
EOF
VMRUN_SSDT_OUT=$ROOT/run/vmrun/lab.battery.aml "$SSDT_TOOL" ||
	not_ok "write the fake-battery SSDT"
if start lab "$LAB/lab.ini"; then
	expect_eq "lab: paused" "prelaunch running=False" "$(fact lab status)"
	expect_eq "lab: 4 vCPUs (2 sockets x 2 cores)" 4 "$(fact lab cpus)"
	# virtio disk, NVMe, SCSI controller, NIC, xHCI, ivshmem, balloon:
	# one root port each, in that order.
	expect_eq "lab: one root port per PCI device" 7 "$(fact lab root-ports)"
	expect_eq "lab: NVMe on its port" pci.2/00.0 "$(fact lab nvme)"
	expect_eq "lab: xHCI on its port" pci.5/00.0 "$(fact lab xhci)"
	expect_eq "lab: ivshmem on its port" pci.6/00.0 "$(fact lab ivshmem)"
	expect_eq "lab: balloon on its port" pci.7/00.0 "$(fact lab balloon)"
	expect_eq "lab: VGA on pcie.0 slot 1" pcie.0/01.0 "$(fact lab vga)"
	check "lab: the ivshmem file was made in the host root" \
		test -f "$ROOT/dev/shm/vmrun-lab"
	check "lab: Hyper-V flags TCG refuses were left out" \
		grep -qx 'max,hv-relaxed=on,hv-vapic=on,hv-spinlocks=8191,hv-runtime=on,hv-reset=on,hv-frequencies=on,hv-time=on,hv-vendor-id=VMRUNvmrun12,kvm=off,hypervisor=off' \
		"$TMP/lab.argv"
fi

# (c) SMBIOS copied from the (fake) host's DMI tables.
sed -e 's/^name = lab/name = labhost/' -e 's/^mode = custom/mode = host/' \
	-e '/^bios-vendor\|^system-\|^chassis-/d' "$LAB/lab.ini" >"$LAB/labhost.ini"
cp "$ROOT/run/vmrun/lab.battery.aml" "$ROOT/run/vmrun/labhost.battery.aml"
if start labhost "$LAB/labhost.ini"; then
	expect_eq "labhost: paused" "prelaunch running=False" \
		"$(fact labhost status)"
	check "labhost: -smbios type=1 from the host's DMI" \
		grep -q "^type=1,manufacturer=$(cat "$ROOT/sys/class/dmi/id/sys_vendor" | sed 's/,/,,/g')" \
		"$TMP/labhost.argv"
fi
done_testing
