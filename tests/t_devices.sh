#!/usr/bin/env bash
# `vmrun devices`: for every host fixture (tests/fixtures/hosts/), the
# text and JSON listing must match tests/golden/devices-FIXTURE.{txt,json};
# the fake root's path is replaced by @ROOT@. Regenerate after a deliberate
# change with VMRUN_GOLDEN_UPDATE=1 tests/run t_devices.sh and review the
# diff. Also: a host without IOMMU groups, and the command line's errors.
. "$(dirname "$0")/lib.sh"
GOLDEN=$TOP/tests/golden

# golden NAME FILE: compare FILE with tests/golden/NAME (or update it).
golden() {
	[ -n "${VMRUN_GOLDEN_UPDATE:-}" ] && cp "$2" "$GOLDEN/$1"
	if diff -u "$GOLDEN/$1" "$2" >"$TMP/diff" 2>&1; then
		ok "$1 matches"
	else
		not_ok "$1 differs from the golden file"
		head -n 40 "$TMP/diff" | sed 's/^/#   /'
	fi
}

for host in "$FIXTURES"/*.host; do
	fx=$(basename "$host" .host)
	root=$TMP/root-$fx
	if ! "$FAKEHOST" build "$host" "$root" >"$TMP/build.log" 2>&1; then
		not_ok "$fx: build fake host"
		sed 's/^/#   /' "$TMP/build.log"
		continue
	fi
	for kind in txt json; do
		opt=""
		[ $kind = json ] && opt=--json
		if ! "$VMRUN" --root "$root" devices $opt >"$TMP/out" \
			2>"$TMP/err"; then
			not_ok "$fx: vmrun devices $opt failed"
			sed 's/^/#   /' "$TMP/err"
			continue
		fi
		sed "s|$root|@ROOT@|g" "$TMP/out" >"$TMP/got"
		golden "devices-$fx.$kind" "$TMP/got"
	done
	check "$fx: the JSON parses" python3 -c 'import json, sys
json.load(open(sys.argv[1]))' "$GOLDEN/devices-$fx.json"
done

# The B550's chipset group: the RX 550 shares it with USB, SATA, NVMe and
# the network, and the GTX 1060's group is its own.
b550=$GOLDEN/devices-b550-gtx1060
check "b550: group 15 is shared with host-critical devices" grep -qF \
	"IOMMU group 15: shared with host-critical devices: 0000:02:00.0 (USB controller), 0000:02:00.1 (SATA controller), 0000:05:00.0 (NVMe controller), 0000:06:00.0 (network controller), 0000:07:00.0 (Ethernet controller)" \
	"$b550.txt"
check "b550: group 16 holds the host's display GPU alone" grep -qx \
	"IOMMU group 16: could go alone, but the host runs on it: 0000:08:00.0 (the host's display GPU)" \
	"$b550.txt"
check "b550: group 21 (the board's audio) is ready" grep -qx \
	"IOMMU group 21: ready to pass through alone" "$b550.txt"
got=$(python3 -c 'import json, sys
g = [g for g in json.load(open(sys.argv[1]))["groups"] if g["group"] == 15][0]
print(g["verdict"], " ".join(g["with"]))' "$b550.json")
expect_eq "b550: group 15 in JSON" \
	"shared 0000:02:00.0 0000:02:00.1 0000:05:00.0 0000:06:00.0 0000:07:00.0" \
	"$got"

# A host with the IOMMU off: no groups, no iommu_group links.
root=$TMP/root-b550-gtx1060
rm -rf "$root/sys/kernel/iommu_groups"
find "$root/sys/devices" -name iommu_group -type l -delete
"$VMRUN" --root "$root" devices >"$TMP/out" 2>&1
check "no IOMMU: says so" grep -qx \
	"No IOMMU groups: the IOMMU is off, so no device can be passed through." \
	"$TMP/out"
check "no IOMMU: says how to turn it on, for this AMD CPU and GRUB" grep -qxF \
	"Turn it on: enable AMD-Vi (IOMMU, SVM) in the firmware setup; add iommu=pt to" \
	"$TMP/out"
check "no IOMMU: still lists the functions" grep -qF \
	"0000:08:00.0  VGA compatible controller [0300]: NVIDIA Corporation GP106 [GeForce GTX 1060 3GB] [10de:1c02]" \
	"$TMP/out"
got=$("$VMRUN" --root "$root" devices --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d["iommu"], len(d["groups"]), len(d["ungrouped"]))')
expect_eq "no IOMMU: JSON" "False 0 $(grep -c "^pci " "$FIXTURES/b550-gtx1060.host")" "$got"

# The command line.
"$VMRUN" --root "$root" devices extra >"$TMP/out" 2>&1
expect_eq "devices takes no argument: status" 2 $?
check "devices takes no argument: message" grep -qx \
	"vmrun: too many arguments" "$TMP/out"
"$VMRUN" --root "$root" --json status >"$TMP/out" 2>&1
expect_eq "--json elsewhere: status" 2 $?
check "--json elsewhere: message" grep -qx \
	"vmrun: --json goes with \`vmrun devices\` only" "$TMP/out"
done_testing
