#!/usr/bin/env bash
# Hugepages on fake hosts: prepare reserves the shortfall on the right node
# (compacting memory and dropping caches when short), restore puts the
# saved count back; refusals and failures leave the host as it was; 1 GiB
# pages get a hugetlbfs mount of their own; a killed vmrun is restorable.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/root

build() {
	rm -rf "$ROOT"
	"$FAKEHOST" build "$1" "$ROOT" >"$TMP/build.log" 2>&1 ||
		{ cat "$TMP/build.log"; return 1; }
}

stage() {
	"$FAKEHOST" set "$ROOT" "$@"
}

# profile NAME MEMORY HUGEPAGES [MEMORY-KEYS [MORE-SECTIONS]]: a profile
# without devices unless MORE-SECTIONS adds them
profile() {
	local f=$TMP/$1.ini
	printf '[vm]\nname = %s\nmemory = %s\naccel = tcg\nstate-dir = %s\n' \
		"$1" "$2" "$TMP/state-$1" >"$f"
	# model and enlightenments TCG can run, so prepare warns of nothing
	printf '[cpu]\nmodel = max\n[hyperv]\nenlightenments = none\n' >>"$f"
	printf '[memory]\nhugepages = %s\n%b\n%b\n' "$3" "${4:-}" "${5:-}" >>"$f"
	echo "$f"
}

# pool NODE SIZEkB FIELD: one field of the snapshot's pool line
pool() {
	snap | sed -n "s/^hugepages node$1 $2kB .*$3=\([0-9]*\).*/\1/p"
}

B550=$FIXTURES/b550-gtx1060.host
IVY=$FIXTURES/ivybridge-gtx970.host
DUAL=$FIXTURES/dual-node-hybrid.host

# --- a shortage that compaction fixes -----------------------------------
build "$B550" || exit 1
snap >"$TMP/before"
stage node0.free_kb=1G node0.movable_kb=8G
snap >"$TMP/staged"
p=$(profile hp4 4G 2M)
check "dry run lists the reservation" grep -q \
	"reserve 2048 x 2 MiB hugepages (4 GiB) on NUMA node 0" \
	<(vm --dry-run "$p")
if prepared "compaction: prepare" "$p"; then
	expect_eq "compaction: said so" \
		"vmrun: only 512 of 2048 hugepages free on node 0: compacting memory and trying again" \
		"$(grep hugepages "$TMP/err")"
	expect_eq "compaction: 2048 pages on node 0" 2048 "$(pool 0 2048 nr)"
	expect_eq "compaction: all free" 2048 "$(pool 0 2048 free)"
	check "compaction: per-VM folder" test -d "$ROOT/dev/hugepages/vmrun-hp4"
	expect_eq "compaction: folder mode 700" 700 \
		"$(stat -c %a "$ROOT/dev/hugepages/vmrun-hp4")"
	check "compaction: folder in the argv" grep -qF \
		"\"mem-path\":\"$ROOT/dev/hugepages/vmrun-hp4\"" \
		<(vm --print-argv "$p")
	check "compaction: restore" vm restore hp4
	same_snapshot "compaction: host as before after restore" "$TMP/staged"
fi

# --- one that only dropping caches fixes --------------------------------
stage node0.free_kb=1G node0.movable_kb=0 node0.cache_kb=8G
snap >"$TMP/staged"
if prepared "drop caches: prepare" "$p"; then
	expect_eq "drop caches: compaction tried first" \
		"vmrun: only 512 of 2048 hugepages free on node 0: compacting memory and trying again
vmrun: only 512 of 2048 hugepages free on node 0: dropping caches and trying again" \
		"$(grep hugepages "$TMP/err")"
	expect_eq "drop caches: 2048 pages" 2048 "$(pool 0 2048 nr)"
	check "drop caches: restore" vm restore hp4
	same_snapshot "drop caches: host as before after restore" "$TMP/staged"
fi

# --- compact-memory = no: no compaction, no dropped caches ---------------
stage node0.free_kb=1G node0.movable_kb=8G node0.cache_kb=0
p=$(profile nocompact 4G 2M '' '[host]\ncompact-memory = no')
refused "compact-memory = no: short" \
	"vmrun: reserve 2048 x 2 MiB hugepages (4 GiB) on NUMA node 0: could not reserve 2048 x 2 MiB hugepages on node 0: got 512 (free memory on the node 9 GiB, MemAvailable 9 GiB); close programs or reserve them at boot (hugepagesz=2M hugepages=2048 on the kernel command line); on this host: add hugepagesz=2M hugepages=2048 to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub (grub2-mkconfig -o /boot/grub2/grub.cfg on Fedora) and reboot
the host was put back as it was" \
	"$p"
check "compact-memory = no: nothing compacted" test "$(cat "$ROOT/.fakehost/node0/movable_kb")" = 8388608

# --- one that nothing fixes: the old count back, the numbers told -------
stage node0.free_kb=1G node0.movable_kb=1G node0.cache_kb=1G
p=$(profile hp4 4G 2M)
refused "short after compaction and dropped caches" \
	"vmrun: only 512 of 2048 hugepages free on node 0: compacting memory and trying again
vmrun: only 1024 of 2048 hugepages free on node 0: dropping caches and trying again
vmrun: reserve 2048 x 2 MiB hugepages (4 GiB) on NUMA node 0: could not reserve 2048 x 2 MiB hugepages on node 0: got 1536 (free memory on the node 3 GiB, MemAvailable 3 GiB); close programs or reserve them at boot (hugepagesz=2M hugepages=2048 on the kernel command line); on this host: add hugepagesz=2M hugepages=2048 to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub (grub2-mkconfig -o /boot/grub2/grub.cfg on Fedora) and reboot
the host was put back as it was" \
	"$p"
check "short: no journal left" test ! -e "$ROOT/run/vmrun/hp4.json"

# --- pages already there: only the shortfall, and that count restored ----
build "$B550"
stage node0.hugepages-2048kB=100
snap >"$TMP/before"
p=$(profile hp1 1G 2M)
if prepared "existing pool: prepare" "$p"; then
	expect_eq "existing pool: raised to 512" 512 "$(pool 0 2048 nr)"
	check "existing pool: restore" vm restore hp1
	expect_eq "existing pool: back to 100, not 0" 100 "$(pool 0 2048 nr)"
	same_snapshot "existing pool: host as before" "$TMP/before"
fi
stage node0.hugepages-2048kB=600
snap >"$TMP/before"
if prepared "enough free pages: prepare" "$p"; then
	expect_eq "enough free pages: pool untouched" 600 "$(pool 0 2048 nr)"
	check "enough free pages: restore" vm restore hp1
	same_snapshot "enough free pages: host as before" "$TMP/before"
fi

# --- refused at plan time ------------------------------------------------
build "$B550"
refused "more than the node holds" \
	"vmrun: $TMP/big.ini:3: [vm] memory = 40 GiB does not fit in NUMA node 0, which has 32 GiB in all: lower memory or choose another [memory] numa-node" \
	"$(profile big 40G 2M)"
refused "no such node" \
	"vmrun: $TMP/node1.ini:12: [memory] numa-node = 1: this host has no NUMA node 1 (its nodes: 0)" \
	"$(profile node1 2G 2M 'numa-node = 1')"
refused "memory not a whole number of 1G pages" \
	"vmrun: $TMP/odd.ini:3: [vm] memory = 1536M is not a multiple of the 1G huge page size ([memory] hugepages = 1G)" \
	"$(profile odd 1536M 1G)"
# A CPU without 1 GiB pages (no pdpe1gb): the kernel shows no such pool.
build "$IVY"
rm -rf "$ROOT"/sys/kernel/mm/hugepages/hugepages-1048576kB \
	"$ROOT"/sys/devices/system/node/node*/hugepages/hugepages-1048576kB
refused "no 1G pool" \
	"vmrun: $TMP/gig.ini:11: 1G hugepages are not available on this host: boot with hugepagesz=1G or use hugepages = 2M" \
	"$(profile gig 2G 1G)"

# --- 1 GiB pages: a hugetlbfs of that size mounted, then removed ---------
build "$B550"
snap >"$TMP/before"
p=$(profile gig 2G 1G)
if prepared "1G: prepare" "$p"; then
	expect_eq "1G: 2 pages" 2 "$(pool 0 1048576 nr)"
	check "1G: hugetlbfs mounted with 1G pages" grep -q \
		"^hugetlbfs /run/vmrun/hugepages-1G hugetlbfs .*pagesize=1024M" \
		"$ROOT/proc/mounts"
	check "1G: per-VM folder" test -d "$ROOT/run/vmrun/hugepages-1G/vmrun-gig"
	check "1G: restore" vm restore gig
	same_snapshot "1G: mount and folders gone, pool back" "$TMP/before"
	check "1G: mount point removed" test ! -e "$ROOT/run/vmrun/hugepages-1G"
fi

# --- the node: explicit, or the passed-through device's ------------------
build "$DUAL"
snap >"$TMP/before"
p=$(profile n1 2G 2M 'numa-node = 1')
if prepared "numa-node = 1: prepare" "$p"; then
	expect_eq "numa-node = 1: pages on node 1" 1024 "$(pool 1 2048 nr)"
	expect_eq "numa-node = 1: node 0 untouched" 512 "$(pool 0 2048 nr)"
	check "numa-node = 1: restore" vm restore n1
	same_snapshot "numa-node = 1: host as before" "$TMP/before"
fi
p=$(profile auto 2G 2M '' '[pci.gpu]\nhost = 81:00.0\n[pci.audio]\nhost = 81:00.1')
check "numa-node = auto follows the GPU to node 1" grep -q \
	"hugepages (2 GiB) on NUMA node 1" <(vm --dry-run "$p")
# 1G pages reserved at boot on node 0 (4 free): nothing to raise.
p=$(profile boot1g 4G 1G 'numa-node = 0')
if prepared "boot-reserved 1G pages: prepare" "$p"; then
	expect_eq "boot-reserved 1G pages: count kept" 4 "$(pool 0 1048576 nr)"
	check "boot-reserved 1G pages: restore" vm restore boot1g
	same_snapshot "boot-reserved 1G pages: host as before" "$TMP/before"
fi

# --- killed after each op: restore gives the host back -------------------
build "$B550"
stage node0.free_kb=1G node0.movable_kb=8G
p=$(profile gig 2G 1G)
killed_after_each_op "" "$p" gig

done_testing
