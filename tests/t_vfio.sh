#!/usr/bin/env bash
# vfio-pci binding, IOMMU group checks, claims and the boot-GPU ops against
# fake hosts: prepare binds, restore gives the host back byte for byte, a
# refusal changes nothing, and a vmrun killed after any step is restorable.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/root

# build FIXTURE: a fresh fake host at $ROOT (copied from one built once:
# the tree holds no absolute paths)
build() {
	local pristine=$TMP/pristine-$1
	rm -rf "$ROOT"
	if [ ! -d "$pristine" ]; then
		"$FAKEHOST" build "$FIXTURES/$1.host" "$pristine" \
			>"$TMP/build.log" 2>&1 || return
	fi
	cp -a "$pristine" "$ROOT"
}

# quiet COMMAND...: its status only (the output goes to the log)
quiet() {
	"$@" >>"$TMP/quiet.log" 2>&1
}

driver_link() {
	if [ -L "$1/driver" ]; then basename "$(readlink "$1/driver")"; else echo -; fi
}

driver() {
	driver_link "$ROOT/sys/bus/pci/devices/$1"
}

# profile NAME [SECTION-TEXT...]: a profile file, its path printed
profile() {
	local f=$TMP/$1.ini
	shift
	{
		printf '[vm]\nname = %s\nmemory = 2G\naccel = tcg\n' \
			"$(basename "$f" .ini)"
		printf '%b\n' "$@"
	} >"$f"
	echo "$f"
}

# same_snapshot NAME BEFORE: the host now equals BEFORE
# expect_fail NAME WANT-STDERR COMMAND...: fails with exactly that message
expect_fail() {
	local name=$1 want=$2
	shift 2
	if "$@" >"$TMP/out" 2>"$TMP/err"; then
		not_ok "$name (succeeded)"
		return
	fi
	expect_eq "$name" "$want" "$(cat "$TMP/err")"
}

nops() {
	vm --dry-run "$1" | grep -cE '^#   [0-9]+\. '
}

# passthrough FIXTURE VM GROUP BDF...: prepare, check, restore, compare
passthrough() {
	local fx=$1 name=$2 group=$3
	shift 3
	local p sections="" bdf i=0
	for bdf in "$@"; do
		sections+="[pci.f$i]\nhost = $bdf\n"
		i=$((i + 1))
	done
	p=$(profile "$name" "$sections")
	build "$fx" || { not_ok "$fx: build fake host"; return; }
	snap >"$TMP/before"
	if vm prepare "$p" >"$TMP/out" 2>"$TMP/err"; then
		ok "$fx: prepare"
	else
		not_ok "$fx: prepare"
		sed 's/^/#   /' "$TMP/err"
		return
	fi
	for bdf in "$@"; do
		expect_eq "$fx: $bdf on vfio-pci" vfio-pci "$(driver "$bdf")"
		check "$fx: $bdf claimed by $name" \
			grep -qx "$name [0-9]*" "$ROOT/run/vmrun/claims/$bdf"
	done
	check "$fx: /dev/vfio/$group present" test -e "$ROOT/dev/vfio/$group"
	check "$fx: journal kept" test -s "$ROOT/run/vmrun/$name.json"
	check "$fx: vfio-pci loaded by modprobe" \
		grep -qx 'modprobe vfio-pci' "$ROOT/.fakehost/calls.log"
	if vm restore "$name" >"$TMP/out" 2>"$TMP/err"; then
		ok "$fx: restore"
	else
		not_ok "$fx: restore"
		sed 's/^/#   /' "$TMP/err"
	fi
	same_snapshot "$fx: host as before after restore" "$TMP/before"
	check "$fx: vfio-pci stays loaded" \
		test -d "$ROOT/sys/bus/pci/drivers/vfio-pci"
	faults "$fx" "$name" "$p"
}

# faults FIXTURE VM PROFILE: kill prepare after each op, and restore
# after each undo step, each time on a fresh host; a following restore
# must give the host back.
faults() {
	local fx=$1 name=$2 p=$3 n k rc bad=0 badu=0
	build "$fx"
	n=$(nops "$p")
	for ((k = 1; k <= n; k++)); do
		build "$fx"
		snap >"$TMP/before"
		VMRUN_FAULT_AFTER_OP=$k vm prepare "$p" >/dev/null 2>&1
		rc=$?
		[ $rc -eq 137 ] || { bad=1; echo "# op $k: prepare exit $rc"; }
		vm restore "$name" >/dev/null 2>"$TMP/err" ||
			{ bad=1; sed 's/^/#   /' "$TMP/err"; }
		snap | diff -u "$TMP/before" - >"$TMP/diff" ||
			{ bad=1; echo "# after op $k:"; head -20 "$TMP/diff"; }
	done
	expect_eq "$fx: killed after each of $n ops, restore gives the host back" 0 $bad
	for ((k = 1; k <= n; k++)); do
		build "$fx"
		snap >"$TMP/before"
		vm prepare "$p" >/dev/null 2>&1 || badu=1
		VMRUN_FAULT_AFTER_UNDO=$k vm restore "$name" >/dev/null 2>&1
		rc=$?
		[ $rc -eq 137 ] || { badu=1; echo "# undo $k: restore exit $rc"; }
		vm restore "$name" >/dev/null 2>"$TMP/err" ||
			{ badu=1; sed 's/^/#   /' "$TMP/err"; }
		snap | diff -u "$TMP/before" - >"$TMP/diff" ||
			{ badu=1; echo "# after undo $k:"; head -20 "$TMP/diff"; }
	done
	expect_eq "$fx: restore killed after each of $n undo steps, restore again gives the host back" 0 $badu
}

passthrough b550-gtx1060 t550 16 0000:08:00.0 0000:08:00.1
passthrough ivybridge-gtx970 tivy 13 0000:06:00.0 0000:06:00.1

# refuse NAME FIXTURE WANT PROFILE: prepare fails with WANT, host unchanged
refuse() {
	local name=$1 fx=$2 want=$3 p=$4
	snap >"$TMP/before"
	expect_fail "$fx: $name refused" "$want" vm prepare "$p"
	same_snapshot "$fx: $name: host unchanged" "$TMP/before"
}

build ivybridge-gtx970
p=$(profile rp '[pci.root]\nhost = 00:01.0')
refuse "root port 00:01.0" ivybridge-gtx970 \
	"vmrun: $p:6: [pci.root] host = 0000:00:01.0 is a PCI bridge (class 0604); pass the devices behind it instead" \
	"$p"
p=$(profile miss '[pci.gpu]\nhost = 0b:00.0')
refuse "missing 0b:00.0" ivybridge-gtx970 \
	"vmrun: $p:6: [pci.gpu] host = 0000:0b:00.0: no such PCI device on this host; see \`lspci -D\` or \`vmrun devices\`" \
	"$p"

build b550-gtx1060
p=$(profile rx '[pci.gpu]\nhost = 04:00.0\n[pci.audio]\nhost = 04:00.1')
group15=$(
	cat <<MSG
vmrun: $p:6: [pci.gpu] host = 0000:04:00.0: IOMMU group 15 also holds 5 devices the host is using, and a group can only go to a guest whole. The group:
  0000:02:00.0 Advanced Micro Devices, Inc. [AMD] AMD USB controller (driver xhci_hcd)
  0000:02:00.1 Advanced Micro Devices, Inc. [AMD] AMD SATA controller (driver ahci)
  0000:02:00.2 Advanced Micro Devices, Inc. [AMD] AMD PCI bridge (bridge, stays with the host)
  0000:03:00.0 Advanced Micro Devices, Inc. [AMD] AMD PCI bridge (bridge, stays with the host)
  0000:03:04.0 Advanced Micro Devices, Inc. [AMD] AMD PCI bridge (bridge, stays with the host)
  0000:03:08.0 Advanced Micro Devices, Inc. [AMD] AMD PCI bridge (bridge, stays with the host)
  0000:03:09.0 Advanced Micro Devices, Inc. [AMD] AMD PCI bridge (bridge, stays with the host)
  0000:04:00.0 Advanced Micro Devices, Inc. [AMD/ATI] Baffin [Radeon RX 550 640SP / RX 560/560X] (in this profile)
  0000:04:00.1 Advanced Micro Devices, Inc. [AMD/ATI] Baffin HDMI/DP Audio [Radeon RX 550 640SP / RX 560/560X] (in this profile)
  0000:05:00.0 KIOXIA Corporation KIOXIA NVMe SSD (driver nvme)
  0000:06:00.0 Intel Corporation Wi-Fi 6 AX200 (driver iwlwifi)
  0000:07:00.0 Realtek Semiconductor Co., Ltd. RTL8125 2.5GbE Controller (driver r8169)
  Either pass all of them through (a [pci.NAME] section each), move the card to a slot with its own IOMMU group, or run a kernel with the ACS override patch (pcie_acs_override=downstream,multifunction), which splits the group but lets its devices reach each other's memory behind the IOMMU's back
MSG
)
refuse "RX 550 in group 15" b550-gtx1060 "$group15" "$p"

# A device of the group held by another running vmrun (on vfio-pci, as
# that vmrun left it).
"$FAKEHOST" set "$ROOT" pci.0000:08:00.1.driver=vfio-pci
sleep 600 &
other=$!
mkdir -p "$ROOT/run/vmrun/claims"
echo "other $other" >"$ROOT/run/vmrun/claims/0000:08:00.1"
refuse "device claimed by a running VM" b550-gtx1060 \
	"vmrun: 0000:08:00.1 is in use by VM 'other' (vmrun pid $other): stop it first (vmrun stop other)" \
	"$(profile cl '[pci.gpu]\nhost = 08:00.0')"
kill $other
wait $other 2>/dev/null
# Once that vmrun is gone its claim is stale and replaced.
p=$(profile cl '[pci.gpu]\nhost = 08:00.0\n[pci.audio]\nhost = 08:00.1')
check "stale claim replaced" quiet vm prepare "$p"
check "stale claim now ours" grep -qx "cl [0-9]*" \
	"$ROOT/run/vmrun/claims/0000:08:00.1"
check "restore after stale claim" quiet vm restore cl
check "no claims left" test ! -e "$ROOT/run/vmrun"

# Boot GPU: warned about, vtconsole and efifb unbound while prepared.
build b550-gtx1060
snap >"$TMP/before"
p=$(profile boot '[pci.gpu]\nhost = 08:00.0\n[pci.audio]\nhost = 08:00.1')
vm prepare "$p" >"$TMP/out" 2>"$TMP/err"
check "boot GPU warning" grep -q "\[pci.gpu\] host = 0000:08:00.0 is the boot GPU: the host loses its console" "$TMP/err"
expect_eq "vtcon1 unbound" 0 "$(cat "$ROOT/sys/class/vtconsole/vtcon1/bind")"
expect_eq "efifb unbound" - "$(driver_link "$ROOT/sys/devices/platform/efi-framebuffer.0")"
check "restore boot GPU" quiet vm restore boot
same_snapshot "boot GPU: console and efifb back" "$TMP/before"

# unbind-vtconsoles = no keeps the console; stop-units stops and starts.
p=$(profile units '[pci.gpu]\nhost = 08:00.0\n[pci.audio]\nhost = 08:00.1\n[host]\nunbind-vtconsoles = no\nunbind-efifb = no\nstop-units = display-manager.service\nstop-units = sddm.service')
"$FAKEHOST" set "$ROOT" unit.sddm.service=inactive
snap >"$TMP/before"
check "prepare with stop-units" quiet vm prepare "$p"
expect_eq "display manager stopped" inactive "$(cat "$ROOT/.fakehost/units/display-manager.service")"
expect_eq "vtcon1 kept with unbind-vtconsoles = no" 1 "$(cat "$ROOT/sys/class/vtconsole/vtcon1/bind")"
check "restore with stop-units" quiet vm restore units
expect_eq "display manager started again" active "$(cat "$ROOT/.fakehost/units/display-manager.service")"
expect_eq "inactive unit not started" inactive "$(cat "$ROOT/.fakehost/units/sddm.service")"
same_snapshot "stop-units: host as before" "$TMP/before"
"$FAKEHOST" set "$ROOT" systemd=no
refuse "stop-units without systemd" b550-gtx1060 \
	"vmrun: [host] stop-units needs systemd, which does not run on this host: stop display-manager.service yourself (a pre-start hook) and remove stop-units" \
	"$p"

# A function already on vfio-pci is left there after.
build b550-gtx1060
"$FAKEHOST" set "$ROOT" pci.0000:08:00.1.driver=vfio-pci
snap >"$TMP/before"
p=$(profile keep '[pci.gpu]\nhost = 08:00.0\n[pci.audio]\nhost = 08:00.1')
check "prepare with audio already on vfio-pci" quiet vm prepare "$p"
check "no modprobe when vfio-pci is loaded" \
	test ! -s "$ROOT/.fakehost/calls.log" -o \
	"$(grep -c modprobe "$ROOT/.fakehost/calls.log")" = 0
check "restore keeps vfio-pci" quiet vm restore keep
expect_eq "08:00.1 still on vfio-pci" vfio-pci "$(driver 0000:08:00.1)"
same_snapshot "already-bound: host as before" "$TMP/before"

# reset = remove-rescan: the device is removed and found again.
build b550-gtx1060
snap >"$TMP/before"
p=$(profile rr '[pci.gpu]\nhost = 08:00.0\nreset = remove-rescan\n[pci.audio]\nhost = 08:00.1')
check "prepare with remove-rescan" quiet vm prepare "$p"
expect_eq "08:00.0 back and on vfio-pci" vfio-pci "$(driver 0000:08:00.0)"
check "restore after remove-rescan" quiet vm restore rr
same_snapshot "remove-rescan: host as before" "$TMP/before"
faults b550-gtx1060 rr "$p"

# fake-battery: the SSDT exists while prepared, and is gone after.
build b550-gtx1060
snap >"$TMP/before"
p=$(profile bat '[acpi]\nfake-battery = yes')
check "prepare with fake-battery" quiet vm prepare "$p"
check "battery SSDT written" test -s "$ROOT/run/vmrun/bat.battery.aml"
check "restore fake-battery" quiet vm restore bat
same_snapshot "fake-battery: host as before" "$TMP/before"

done_testing
