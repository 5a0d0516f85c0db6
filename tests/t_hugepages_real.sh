#!/usr/bin/env bash
# Hugepages on THIS machine (no fake root): vmrun prepare reserves 512 MiB
# of 2 MiB pages and a hugetlbfs folder, a real QEMU backs its RAM with
# them, and vmrun restore gives /proc/meminfo and the mounts back as they
# were. Needs root and 2 GiB of MemAvailable; skipped (with the reason)
# otherwise. Safe: it only raises the pool by what it needs and restores.
. "$(dirname "$0")/lib.sh"
unset VMRUN_ROOT

NAME=hpreal$$
P=$TMP/$NAME.ini
qemu_pid=

meminfo() {
	sed -n "s/^$1: *\([0-9]*\).*/\1/p" /proc/meminfo
}

hugetlbfs_mounts() {
	grep ' hugetlbfs ' /proc/mounts || true
}

cleanup() {
	[ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null
	"$VMRUN" restore "$NAME" >/dev/null 2>&1
	rm -rf "$TMP"
}

why_skip() {
	[ "$(id -u)" -eq 0 ] || { echo "not root"; return; }
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ] ||
		{ echo "no 2 MiB hugepages in this kernel"; return; }
	local avail
	avail=$(meminfo MemAvailable)
	[ "${avail:-0}" -ge $((2 * 1024 * 1024)) ] ||
		{ echo "MemAvailable is $((${avail:-0} / 1024)) MiB, under 2 GiB"; return; }
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "qemu-system-x86_64 not installed"; return; }
	[ -x "$VMRUN" ] || echo "$VMRUN not built"
}

reason=$(why_skip)
if [ -n "$reason" ]; then
	skip "hugepages on the real host" "$reason"
	done_testing
	exit
fi
trap cleanup EXIT

cat >"$P" <<EOF
[vm]
name = $NAME
memory = 512M
accel = tcg
state-dir = $TMP/state
[firmware]
type = seabios
[memory]
hugepages = 2M
EOF

total0=$(meminfo HugePages_Total)
free0=$(meminfo HugePages_Free)
hugetlb0=$(meminfo Hugetlb)
mounts0=$(hugetlbfs_mounts)
dir=$("$VMRUN" --dry-run "$P" | sed -n 's/.*create the guest RAM folder \(.*\) (removed after)$/\1/p')
check "dry run names the guest RAM folder" test -n "$dir"

if ! "$VMRUN" prepare "$P" >"$TMP/out" 2>"$TMP/err"; then
	not_ok "prepare"
	sed 's/^/#   /' "$TMP/err"
	done_testing
	exit
fi
ok "prepare"
need=256
short=$((need > free0 ? need - free0 : 0))
expect_eq "HugePages_Total rose by the shortfall" $((total0 + short)) "$(meminfo HugePages_Total)"
expect_eq "HugePages_Free covers the guest" $((free0 + short)) "$(meminfo HugePages_Free)"
check "guest RAM folder exists" test -d "$dir"
expect_eq "guest RAM folder is private" 700 "$(stat -c %a "$dir")"
check "a 2 MiB hugetlbfs holds the folder" \
	awk -v d="$dir" '$3 == "hugetlbfs" && index(d, $2 "/") == 1 { f = 1 } END { exit !f }' /proc/mounts

qemu-system-x86_64 -machine q35 -accel tcg -m 512M \
	-object memory-backend-file,id=pc.ram,size=512M,mem-path="$dir",prealloc=on,share=on \
	-machine memory-backend=pc.ram -display none -S -nodefaults \
	-no-user-config -serial none -monitor none >"$TMP/qemu.log" 2>&1 &
qemu_pid=$!
used=0
for _ in $(seq 1 100); do
	used=$((free0 + short - $(meminfo HugePages_Free)))
	[ "$used" -ge $need ] && break
	kill -0 "$qemu_pid" 2>/dev/null || break
	sleep 0.2
done
expect_eq "QEMU's RAM took $need hugepages" $need "$used"
[ "$used" -ge $need ] || sed 's/^/#   /' "$TMP/qemu.log"
kill "$qemu_pid" 2>/dev/null
wait "$qemu_pid" 2>/dev/null
qemu_pid=

check "restore" "$VMRUN" restore "$NAME"
expect_eq "HugePages_Total as before" "$total0" "$(meminfo HugePages_Total)"
expect_eq "HugePages_Free as before" "$free0" "$(meminfo HugePages_Free)"
expect_eq "Hugetlb as before" "$hugetlb0" "$(meminfo Hugetlb)"
expect_eq "hugetlbfs mounts as before" "$mounts0" "$(hugetlbfs_mounts)"
check "guest RAM folder removed" test ! -e "$dir"
check "no journal left" test ! -e "/run/vmrun/$NAME.json"

done_testing
