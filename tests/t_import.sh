#!/usr/bin/env bash
# t_import.sh: `vmrun import` of the sample domains in tests/import/ (as
# `virsh dumpxml` prints them). Each gives the profile NAME.ini (golden;
# regenerate with VMRUN_GOLDEN_UPDATE=1 tests/run t_import.sh and review),
# lists on stderr exactly what its header lists as not carried over, and,
# where libvirt's own command line was recorded (NAME.libvirt, by
# record-libvirt), the QEMU argv of the profile on the sample's fake host
# matches libvirt's feature by feature (argv-features). A feature may
# differ only when NAME.differs names it together with words the import's
# list of what it did not carry over must hold. Then bad input: XML that is
# not well-formed (the line), a root that is no domain.
. "$(dirname "$0")/lib.sh"
IMPORT=$TOP/tests/import

mkdir -p "$TMP/bin"
printf '#!/bin/sh\necho "QEMU emulator version 7.2.0 (vmrun test stand-in)"\n' \
	>"$TMP/bin/qemu-system-x86_64"
printf '#!/bin/sh\necho "swtpm stand-in"\n' >"$TMP/bin/swtpm"
chmod +x "$TMP/bin/"*
export PATH="$TMP/bin:$PATH"

# The files the samples name under /var/lib/libvirt (a vBIOS, an ACPI
# table) are read when a profile loads: the samples are imported with
# that folder moved to $VARLIB, and the paths mapped back for comparing.
VARLIB=$TMP/varlib
mkdir -p "$VARLIB/vbios" "$VARLIB/qemu/acpi"
cp "$TOP/tests/golden/vbios.rom" "$VARLIB/vbios/GP106-patched.rom"
cp "$TOP/tests/golden/ssdt1.aml" "$VARLIB/qemu/acpi/SSDT1.dat"

fixture() {
	local f
	for f in "$FIXTURES/$1.host" "$TOP/tests/fixtures/$1.host" \
		"$TOP/tests/fixtures/hosts/$1.host"; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

golden() { # NAME FILE
	[ -n "${VMRUN_GOLDEN_UPDATE:-}" ] && cp "$2" "$IMPORT/$1"
	if diff -u "$IMPORT/$1" "$2" >"$TMP/diff" 2>&1; then
		ok "$1 matches"
	else
		not_ok "$1 differs from the golden file"
		head -n 40 "$TMP/diff" | sed 's/^/#   /'
	fi
}

# The list at the top of a profile as one line (wrapped lines joined).
header() {
	sed -n '/^; - /,/^$/{s/^; - / /;s/^;   / /;p}' "$1" | tr -d '\n'
}

# host_has_devices INI: the fake host at ROOT gets the input devices and
# the kvmfr device the imported profile names, as the machine the domain
# came from has them (planning refuses a profile naming absent ones).
host_has_devices() {
	local dev
	for dev in $(sed -n 's/^evdev = //p' "$1"); do
		mkdir -p "$ROOT$(dirname "$dev")"
		: >"$ROOT$dev"
	done
	if grep -q '^device = /dev/kvmfr0' "$1"; then
		: >"$ROOT/dev/kvmfr0"
		mkdir -p "$ROOT/sys/module/kvmfr/parameters"
		echo 128 >"$ROOT/sys/module/kvmfr/parameters/static_size_mb"
	fi
}

# compare NAME FIXTURE: argv of the imported profile against libvirt's.
compare() {
	local name=$1 fx=$2 host nodes feature verdict detail want
	host=$(fixture "$fx") || { not_ok "$name: no fixture $fx"; return; }
	ROOT=$TMP/root-$name
	"$FAKEHOST" build "$host" "$ROOT" >/dev/null
	host_has_devices "$TMP/$name.ini"
	nodes=$(ls -d "$ROOT"/sys/devices/system/node/node* | wc -l)
	# --trust: an import keeps libvirt's NVRAM and TPM paths, which
	# belong to libvirt's QEMU user where libvirt is installed
	if ! vm --trust --print-argv "$TMP/$name.ini" >"$TMP/$name.argv" \
		2>"$TMP/err"; then
		not_ok "$name: vmrun --print-argv of the imported profile"
		sed 's/^/#   /' "$TMP/err"
		return
	fi
	python3 "$IMPORT/argv-features" "$IMPORT/$name.libvirt" \
		"$TMP/$name.argv" --root "$ROOT" --map "$VARLIB/=/var/lib/libvirt/" \
		--nodes "$nodes" >"$TMP/features"
	expect_eq "$name: every feature compared" 21 \
		"$(wc -l <"$TMP/features")"
	while IFS=$'\t' read -r feature verdict detail; do
		want=$(awk -F'\t' -v f="$feature" '$1 == f { print $2 }' \
			"$IMPORT/$name.differs" 2>/dev/null)
		if [ "$verdict" = same ] && [ -z "$want" ]; then
			ok "$name: $feature as libvirt has it"
		elif [ "$verdict" = same ]; then
			not_ok "$name: $feature is the same, but $name.differs says not"
		elif [ -n "$want" ] && grep -qF -- "$want" "$TMP/$name.err" &&
			header "$TMP/$name.ini" | grep -qF -- "$want"; then
			ok "$name: $feature differs as the profile says ($want)"
		else
			not_ok "$name: $feature as libvirt has it"
			tr '\t' '\n' <<<"$detail" | sed 's/^/#   /'
		fi
	done <"$TMP/features"
}

cd "$TMP" || exit 1
for xml in "$IMPORT"/*.xml; do
	name=$(basename "$xml" .xml)
	sed "s|/var/lib/libvirt/|$VARLIB/|g" "$xml" >"$name.xml"
	if ! "$VMRUN" import "$name.xml" --out "$name.ini" 2>"$name.err"; then
		not_ok "$name: vmrun import"
		sed 's/^/#   /' "$name.err"
		continue
	fi
	ok "$name: vmrun import"
	sed "s|$VARLIB/|/var/lib/libvirt/|g" "$name.ini" >"$name.golden"
	golden "$name.ini" "$name.golden"
	expect_eq "$name: stderr lists what the header lists" \
		"$(grep -c '^; - ' "$name.ini")" \
		"$(grep -c 'not carried over: ' "$name.err")"
	check "$name: the profile loads" \
		bash -c "! grep -q 'does not load' '$name.err'"
	fx=$(sed -n 's/^ *libvirt-fixture: *\([^ ]*\).*/\1/p' "$xml")
	[ -f "$IMPORT/$name.libvirt" ] && compare "$name" "$fx"
done

# A wrong import is caught: the GPU's audio moved off its slot.
sed '/^\[pci.hostdev1\]/,/^$/s/^guest-address = .*/guest-address = 07:00.0/' \
	"$TMP/desktop.ini" >"$TMP/wrong.ini"
ROOT=$TMP/root-desktop
vm --trust --print-argv "$TMP/wrong.ini" >"$TMP/wrong.argv" 2>/dev/null
python3 "$IMPORT/argv-features" "$IMPORT/desktop.libvirt" "$TMP/wrong.argv" \
	--root "$ROOT" --map "$VARLIB/=/var/lib/libvirt/" >"$TMP/features"
check "a misplaced vfio function is a difference" \
	grep -q "^vfio	differs" "$TMP/features"

# ---- bad input ----
bad() { # NAME WANT-STDERR XML
	printf '%s' "$3" >"$TMP/bad.xml"
	rm -f "$TMP/bad.ini"
	"$VMRUN" import "$TMP/bad.xml" --out "$TMP/bad.ini" >/dev/null \
		2>"$TMP/err"
	local rc=$?
	expect_eq "$1" "1 vmrun: $2" "$rc $(cat "$TMP/err")"
	check "$1: no file" test ! -e "$TMP/bad.ini"
}
bad "a tag left open: its line" \
	"$TMP/bad.xml:4: not well-formed XML: Opening and ending tag mismatch: memory line 3 and domain" \
	$'<domain type=\'kvm\'>\n  <name>x</name>\n  <memory>1048576\n</domain>\n'
bad "an unquoted attribute: its line" \
	"$TMP/bad.xml:2: not well-formed XML: AttValue: \" or ' expected" \
	$'<domain>\n  <memory unit=KiB>1</memory>\n</domain>\n'
bad "not a domain" \
	"$TMP/bad.xml:1: <network> is not a libvirt domain (virsh dumpxml prints one, starting with <domain>)" \
	$'<network><name>default</name></network>\n'
bad "no memory" "$TMP/bad.xml:1: <domain> has no <memory>" \
	$'<domain type=\'kvm\'><name>x</name><os><type>hvm</type></os></domain>\n'
bad "a memory unit libvirt does not have" \
	"$TMP/bad.xml:3: <memory unit='XB'>: unknown unit (libvirt's are b, KiB, MiB, GiB, TiB, KB, MB, GB, TB)" \
	$'<domain>\n  <name>x</name>\n  <memory unit=\'XB\'>1</memory>\n</domain>\n'
"$VMRUN" import "$TMP/none.xml" >/dev/null 2>"$TMP/err"
check "a file that is not there" grep -q "cannot read $TMP/none.xml" \
	"$TMP/err"

# One controller: no "and the other 0 controllers".
printf '%s\n' "<domain><name>x</name><memory>1048576</memory><os><type>hvm</type></os><devices>" \
	"<controller type='usb' model='qemu-xhci'/></devices></domain>" \
	>"$TMP/one.xml"
"$VMRUN" import "$TMP/one.xml" --out "$TMP/one.ini" >/dev/null 2>"$TMP/err"
check "one controller: dropped with the reason alone" grep -qF \
	"not carried over: <controller type='usb'> (line 2): vmrun makes its own PCIe root ports" \
	"$TMP/err"

# The sound server: a runtime folder's socket is carried, a TCP one is not.
sound() { # SERVER-ATTRIBUTE
	printf '%s\n' "<domain><name>x</name><memory>1048576</memory><os><type>hvm</type></os><devices>" \
		"<sound model='ich9'><audio id='1'/></sound>" \
		"<audio id='1' type='pulseaudio' $1/></devices></domain>" \
		>"$TMP/snd.xml"
	rm -f "$TMP/snd.ini"
	"$VMRUN" import "$TMP/snd.xml" --out "$TMP/snd.ini" >/dev/null \
		2>"$TMP/err"
}
sound "serverName='unix:/run/user/1001/pulse/native'"
check "serverName in a runtime folder: runtime-dir" \
	grep -qxF "runtime-dir = /run/user/1001" "$TMP/snd.ini"
sound "serverName='tcp:192.168.1.5:4713'"
check "a TCP serverName: listed as not carried over" grep -qF \
	"not carried over: <audio type='pulseaudio'> (line 3): vmrun reaches a sound server through its user's runtime folder" \
	"$TMP/err"
check "a TCP serverName: no runtime-dir" not_grep "^runtime-dir" "$TMP/snd.ini"

# ---- libxml2 is opened by import alone ----
# Every start, status and stop would load libxml2 and what it needs (ICU,
# libstdc++); vmrun opens it when an XML is read.
needed=$(objdump -p "$TOP/build/vmrun" 2>/dev/null | awk '$1 == "NEEDED" {print $2}')
check "vmrun is not linked with libxml2 (opened by import)" \
	test -n "$needed" -a -z "$(grep libxml2 <<<"$needed")"
# Without a usable libxml2 (a private mount hides it), vmrun still runs,
# and import says what it needs.
XMLSO=$(ldconfig -p | awk '$1 == "libxml2.so.2" && /x86-64/ {print $NF; exit}')
printf '<domain><name>x</name><memory>1048576</memory></domain>\n' \
	>"$TMP/ok.xml"
if [ "$(id -u)" != 0 ] || [ -z "$XMLSO" ] || ! command -v unshare >/dev/null; then
	skip "import without libxml2" "needs root, unshare and libxml2.so.2 in ldconfig"
else
	unshare -m sh -c 'mount --bind /dev/null "$1" && shift &&
		"$@" --version >"$0.version" 2>&1 &&
		"$@" import "$0" --out "$0.ini"' "$TMP/ok.xml" "$XMLSO" \
		"$VMRUN" >/dev/null 2>"$TMP/err"
	expect_eq "import without libxml2: exit 1" 1 $?
	check "import without libxml2: vmrun itself runs" \
		grep -q "^vmrun " "$TMP/ok.xml.version"
	check "import without libxml2: says what it needs" grep -q \
		"^vmrun: reading libvirt XML needs libxml2 (libxml2.so.2): .*; install it (apt-get install libxml2)$" \
		"$TMP/err"
	check "import without libxml2: no file" test ! -e "$TMP/ok.xml.ini"
fi
done_testing
