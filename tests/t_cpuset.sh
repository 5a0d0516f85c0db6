#!/usr/bin/env bash
# CPU isolation on fake hosts: with [cpu] isolate the slices are confined to
# the host CPUs (through systemctl where systemd runs, cgroupfs where it
# does not), QEMU gets a cgroup of its own, IRQs leave the guest's CPUs;
# restore gives the host back exactly, also after a vmrun killed mid-way.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/root

build() {
	rm -rf "$ROOT"
	"$FAKEHOST" build "$@" "$ROOT" >"$TMP/build.log" 2>&1 ||
		{ cat "$TMP/build.log"; return 1; }
}

# profile NAME CPU-SECTION-TEXT [MORE-TEXT]: a profile without devices
profile() {
	local f=$TMP/$1.ini
	printf '[vm]\nname = %s\nmemory = 1G\naccel = tcg\nstate-dir = %s\n' \
		"$1" "$TMP/state-$1" >"$f"
	printf '[hyperv]\nenlightenments = none\n[cpu]\nmodel = max\n%b\n' \
		"$2" >>"$f"
	[ $# -ge 3 ] && printf '%b\n' "$3" >>"$f"
	echo "$f"
}

# cg PATH FIELD: one field of a cgroup's snapshot line ("/system.slice")
cg() {
	snap | sed -n "s|^cgroup $1 .*$2=\([^ ]*\).*|\1|p"
}

irq() {
	snap | sed -n "s/^irq $1 //p"
}

B550=$FIXTURES/b550-gtx1060.host
DUAL=$FIXTURES/dual-node-hybrid.host
HOSTCPUS=0-1,6-15
ISO='cores = 4\nvcpu-pin = 2-5\nemulator-pin = 0\nisolate = yes'
SCOPE=/machine.slice/vmrun-iso.scope

# isolated LABEL: the state while prepared with $ISO on b550
isolated() {
	local l=$1
	expect_eq "$l: system.slice confined" $HOSTCPUS "$(cg /system.slice effective)"
	expect_eq "$l: user.slice confined" $HOSTCPUS "$(cg /user.slice effective)"
	expect_eq "$l: init.scope confined" $HOSTCPUS "$(cg /init.scope effective)"
	expect_eq "$l: QEMU's cgroup has guest + emulator CPUs" 0,2-5 \
		"$(cg $SCOPE cpus)"
	expect_eq "$l: QEMU's cgroup effective" 0,2-5 "$(cg $SCOPE effective)"
	expect_eq "$l: IRQ 24 off the guest CPUs" $HOSTCPUS "$(irq 24)"
	expect_eq "$l: IRQ 0 off the guest CPUs" $HOSTCPUS "$(irq 0)"
	expect_eq "$l: default IRQ affinity" ffc3 "$(irq default)"
}

# --- with systemd: AllowedCPUs through systemctl -------------------------
build "$B550" || exit 1
snap >"$TMP/before"
p=$(profile iso "$ISO")
if prepared "systemd: prepare" "$p"; then
	isolated systemd
	check "systemd: AllowedCPUs set through systemctl" grep -qx \
		"systemctl set-property --runtime system.slice AllowedCPUs=$HOSTCPUS" \
		"$ROOT/.fakehost/calls.log"
	check "systemd: split SMT cores warned about" grep -q \
		"vcpu-pin splits SMT cores between the guest and the host (CPU 2 with 10, 3 with 11, 4 with 12, 5 with 13)" \
		"$TMP/err"
	check "systemd: restore" vm restore iso
	check "systemd: AllowedCPUs reset through systemctl" grep -qx \
		"systemctl set-property --runtime system.slice AllowedCPUs=" \
		"$ROOT/.fakehost/calls.log"
	same_snapshot "systemd: host as before after restore" "$TMP/before"
fi

# --- without systemd: cgroupfs --------------------------------------------
build "$B550" --no-systemd || exit 1
snap >"$TMP/before"
if prepared "cgroupfs: prepare" "$p"; then
	isolated cgroupfs
	check "cgroupfs: systemctl not used" test ! -s "$ROOT/.fakehost/calls.log"
	check "cgroupfs: restore" vm restore iso
	same_snapshot "cgroupfs: host as before after restore" "$TMP/before"
fi

# The root without the cpuset controller for its children: switched on for
# the run and off again after.
build "$B550" --no-systemd
"$FAKEHOST" run "$ROOT" -- python3 -c \
	'import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY); os.write(fd, b"-cpuset"); os.close(fd)' \
	"$ROOT/sys/fs/cgroup/cgroup.subtree_control"
snap >"$TMP/before"
check "controller off before" test -z "$(grep -w cpuset "$ROOT/sys/fs/cgroup/cgroup.subtree_control")"
if prepared "controller off: prepare" "$p"; then
	check "controller off: switched on" grep -qw cpuset "$ROOT/sys/fs/cgroup/cgroup.subtree_control"
	expect_eq "controller off: system.slice confined" $HOSTCPUS "$(cg /system.slice effective)"
	check "controller off: restore" vm restore iso
	same_snapshot "controller off: off again after restore" "$TMP/before"
fi

# --- irq-affinity = no leaves the IRQs alone -----------------------------
build "$B550" || exit 1
p=$(profile noirq "$ISO" '[host]\nirq-affinity = no')
if prepared "irq-affinity = no: prepare" "$p"; then
	expect_eq "irq-affinity = no: IRQ 24 untouched" 0-15 "$(irq 24)"
	expect_eq "irq-affinity = no: default untouched" ffff "$(irq default)"
	check "irq-affinity = no: restore" vm restore noirq
fi

# --- pinning only (no isolate): no host change ---------------------------
p=$(profile pinonly 'cores = 4\nvcpu-pin = 2-5')
check "pinning without isolate plans no host change" grep -q '^#   (none)' \
	<(vm --dry-run "$p")

# --- refusals --------------------------------------------------------------
refused "CPU the host lacks" \
	"vmrun: $TMP/bad.ini:11: [cpu] vcpu-pin names CPU 16, but this host has CPUs 0-15" \
	"$(profile bad 'cores = 4\nvcpu-pin = 13-16')"
refused "emulator CPU the host lacks" \
	"vmrun: $TMP/bad.ini:12: [cpu] emulator-pin names CPU 99, but this host has CPUs 0-15" \
	"$(profile bad 'cores = 4\nvcpu-pin = 2-5\nemulator-pin = 99')"
build "$DUAL" || exit 1
refused "cgroup v1 host" \
	"vmrun: $TMP/v1.ini:13: [cpu] isolate = yes needs the unified cgroup hierarchy (cgroup v2), but this host runs cpuset on cgroup v1: boot with systemd.unified_cgroup_hierarchy=1 or set isolate = no" \
	"$(profile v1 "$ISO")"

# --- killed after each op: restore gives the host back -------------------
for mode in systemd no-systemd; do
	build "$B550" $([ $mode = no-systemd ] && echo --no-systemd)
	p=$(profile iso "$ISO")
	killed_after_each_op "$mode: " "$p" iso
done

done_testing
