#!/usr/bin/env bash
# `vmrun capture`: a host written in the fixture format. For every host
# fixture: build it, capture the fake host, build the capture, capture
# again: the two captures are the same, and so are the two fake hosts (as
# `fakehost snapshot` and `vmrun devices --json` see them). Also: capture
# changes nothing, writes FILE, and what it writes of the real cloud
# machine's fixture.
. "$(dirname "$0")/lib.sh"

fixtures=()
for f in "$FIXTURES"/*.host "$TOP"/tests/fixtures/*.host \
	"$TOP"/tests/fixtures/hosts/*.host; do
	[ -f "$f" ] || continue
	case " ${fixtures[*]} " in *"/$(basename "$f") "*) continue ;; esac
	fixtures+=("$f")
done

# capture ROOT OUT: vmrun capture of the fake host at ROOT into OUT
capture() {
	"$FAKEHOST" run "$1" -- "$VMRUN" capture "$2" >/dev/null 2>"$TMP/err"
}

for f in "${fixtures[@]}"; do
	n=$(basename "$f" .host)
	r1=$TMP/$n.1 r2=$TMP/$n.2
	if ! "$FAKEHOST" build "$f" "$r1" >"$TMP/build.log" 2>&1; then
		not_ok "$n: build"
		sed 's/^/#   /' "$TMP/build.log"
		continue
	fi
	"$FAKEHOST" snapshot "$r1" >"$TMP/$n.snap0"
	if ! capture "$r1" "$TMP/$n.c1"; then
		not_ok "$n: capture"
		sed 's/^/#   /' "$TMP/err"
		continue
	fi
	"$FAKEHOST" snapshot "$r1" >"$TMP/$n.snap1"
	check "$n: capture changes nothing" cmp -s "$TMP/$n.snap0" \
		"$TMP/$n.snap1"
	if ! "$FAKEHOST" build "$TMP/$n.c1" "$r2" >"$TMP/build.log" 2>&1; then
		not_ok "$n: the capture builds"
		sed 's/^/#   /' "$TMP/build.log"
		continue
	fi
	ok "$n: the capture builds"
	capture "$r2" "$TMP/$n.c2"
	if diff -u "$TMP/$n.c1" "$TMP/$n.c2" >"$TMP/diff"; then
		ok "$n: capturing the rebuilt host gives the same fixture"
	else
		not_ok "$n: capturing the rebuilt host gives the same fixture"
		head -n 20 "$TMP/diff" | sed 's/^/#   /'
	fi
	"$FAKEHOST" snapshot "$r2" >"$TMP/$n.snap2"
	if diff -u "$TMP/$n.snap1" "$TMP/$n.snap2" >"$TMP/diff"; then
		ok "$n: the rebuilt host is the same fake host"
	else
		not_ok "$n: the rebuilt host is the same fake host"
		head -n 20 "$TMP/diff" | sed 's/^/#   /'
	fi
	"$VMRUN" --root "$r1" devices --json | sed "s|$r1|@ROOT@|g" \
		>"$TMP/$n.d1"
	"$VMRUN" --root "$r2" devices --json | sed "s|$r2|@ROOT@|g" \
		>"$TMP/$n.d2"
	if diff -u "$TMP/$n.d1" "$TMP/$n.d2" >"$TMP/diff"; then
		ok "$n: vmrun devices sees the same PCI functions and groups"
	else
		not_ok "$n: vmrun devices sees the same PCI functions and groups"
		head -n 20 "$TMP/diff" | sed 's/^/#   /'
	fi
done

# What the capture of the real machine's fixture says.
c=$TMP/cloud-h200.c1
if [ -f "$c" ]; then
	for line in "kvm yes hv=relaxed,reset,runtime,frequencies" \
		"processor intel novirt hypervisor" "systemd no" "pci-ids no" \
		'pci 0000:00:06.0 030200 10de:2335 - nvidia reset=flr subsys=10de:18bf ""' \
		"block vda1 on=vda mount=/ fs=ext4" "default-route ens3"; do
		check "cloud capture: $line" grep -qxF "$line" "$c"
	done
fi
c=$TMP/laptop-mx250.c1
if [ -f "$c" ]; then
	for line in "block dm-1 on=dm-0 mount=/ fs=ext4 dm=vg0-root" \
		"block dm-2 on=dm-0 swap dm=vg0-swap" \
		'holder 912 "nvidia-persistenced" unit=nvidia-persistenced.service /dev/nvidia0 /dev/nvidiactl' \
		"bootloader systemd-boot"; do
		check "laptop capture: $line" grep -qxF "$line" "$c"
	done
fi

# To stdout without FILE; FILE unwritable: an error, status 1.
"$FAKEHOST" build "$TOP/tests/fixtures/hosts/desktop-gtx1660.host" \
	"$TMP/d" >/dev/null
"$FAKEHOST" run "$TMP/d" -- "$VMRUN" capture >"$TMP/out" 2>&1
expect_eq "capture without FILE: stdout" "host desktop-gtx1660" \
	"$(grep '^host ' "$TMP/out")"
"$FAKEHOST" run "$TMP/d" -- "$VMRUN" capture "$TMP/no/such/dir/x.host" \
	>"$TMP/out" 2>&1
expect_eq "capture to a folder that does not exist: status 1" 1 $?
check "  ... says so" grep -q "cannot write $TMP/no/such/dir/x.host" \
	"$TMP/out"
done_testing
