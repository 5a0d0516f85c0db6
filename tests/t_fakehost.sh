#!/usr/bin/env bash
# t_fakehost.sh: the fake host builder: every fixture builds into a tree
# shaped like the kernel's, snapshots are stable, bad fixtures get file:line.
. "$(dirname "$0")/lib.sh"

# Structure of a built root against its fixture: every function's links
# resolve to the right group and driver, bridges carry their bus numbers.
check_tree() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.environ["TOP"] + "/tests/fakehost")
from fh_hostfile import parse_file
host, root = parse_file(sys.argv[1]), sys.argv[2]
bad = []
for p in host.pci:
    dev = os.path.join(root, "sys/bus/pci/devices", p.bdf)
    real = os.path.realpath(dev)
    if not os.path.isdir(real) or os.path.basename(real) != p.bdf:
        bad.append("%s: devices link broken" % p.bdf)
        continue
    grp = os.path.realpath(os.path.join(real, "iommu_group"))
    if p.group is None:
        if os.path.lexists(os.path.join(real, "iommu_group")):
            bad.append("%s: in a group without IOMMU" % p.bdf)
    elif grp != os.path.join(os.path.realpath(root),
                             "sys/kernel/iommu_groups", str(p.group)):
        bad.append("%s: iommu_group -> %s" % (p.bdf, grp))
    elif os.path.realpath(os.path.join(grp, "devices", p.bdf)) != real:
        bad.append("%s: group does not list it" % p.bdf)
    drv = os.path.join(real, "driver")
    got = os.path.basename(os.readlink(drv)) if os.path.islink(drv) else None
    if got != p.driver:
        bad.append("%s: driver %s, fixture %s" % (p.bdf, got, p.driver))
    vendor = open(os.path.join(real, "vendor")).read()
    cls = open(os.path.join(real, "class")).read()
    if vendor != "0x%04x\n" % p.vendor or not cls.startswith(
            "0x%04x" % p.cls):
        bad.append("%s: vendor %r class %r" % (p.bdf, vendor, cls))
    cfg = open(os.path.join(real, "config"), "rb").read()
    if len(cfg) != 256 or cfg[0] | cfg[1] << 8 != p.vendor:
        bad.append("%s: config space" % p.bdf)
    parent = os.path.basename(os.path.dirname(real))
    if p.bus and not parent.startswith("pci"):
        pcfg = open(os.path.join(os.path.dirname(real), "config"),
                    "rb").read()
        if pcfg[0x19] != p.bus or pcfg[0x0e] & 0x7f != 1:
            bad.append("%s: parent %s has secondary bus %02x" % (
                p.bdf, parent, pcfg[0x19]))
    if (p.cls == 0x0300) != os.path.exists(os.path.join(real, "boot_vga")):
        bad.append("%s: boot_vga file" % p.bdf)
ids_path = os.path.join(root, "usr/share/misc/pci.ids")
if os.path.exists(ids_path) != host.pci_ids:
    bad.append("pci.ids: %s, fixture pci-ids %s" % (
        os.path.exists(ids_path), host.pci_ids))
ids = open(ids_path).read() if host.pci_ids else ""
for p in host.pci:
    if host.pci_ids and p.name and "\t%04x  %s\n" % (p.device,
                                                     p.name) not in ids:
        bad.append("%s: pci.ids lacks %r" % (p.bdf, p.name))
for b in bad:
    print("#   " + b)
sys.exit(1 if bad else 0)
EOF
}

export TOP
fixtures=("$FIXTURES"/*.host)
for f in "${fixtures[@]}"; do
	n=$(basename "$f" .host)
	if "$FAKEHOST" build "$f" "$TMP/$n" 2>"$TMP/$n.err"; then
		ok "$n: builds"
	else
		not_ok "$n: builds"
		sed 's/^/#   /' "$TMP/$n.err"
		continue
	fi
	# an open file of a process names the host's node (/dev/dri/card0)
	expect_eq "$n: every symlink resolves" "" \
		"$(find "$TMP/$n" -xtype l -not -path '*/proc/[0-9]*/fd/*' |
			head -5)"
	check "$n: links, groups, drivers, buses match the fixture" \
		check_tree "$f" "$TMP/$n"
	"$FAKEHOST" build "$f" "$TMP/$n.again" 2>/dev/null
	"$FAKEHOST" snapshot "$TMP/$n" >"$TMP/$n.snap1"
	"$FAKEHOST" snapshot "$TMP/$n.again" >"$TMP/$n.snap2"
	check "$n: snapshot is the same for two builds" \
		cmp -s "$TMP/$n.snap1" "$TMP/$n.snap2"
	check "$n: snapshot is sorted within each kind of line" \
		test "$(grep '^pci ' "$TMP/$n.snap1")" = \
		"$(grep '^pci ' "$TMP/$n.snap1" | sort)"
	grep -q '^cpus' "$f" && expect_eq "$n: online CPUs" \
		"0-$(($(awk '$1=="cpus"{print $2}' "$f") - 1))" \
		"$(cat "$TMP/$n/sys/devices/system/cpu/online")"
done

# The B550 write-up's bus numbers, as its firmware assigned them.
b550=$TMP/b550-gtx1060
if [ -d "$b550" ]; then
	buses=""
	for br in 00:01.1 00:01.2 02:00.2 03:00.0 03:04.0 03:08.0 03:09.0 \
		00:03.1 00:07.1 00:08.1; do
		buses+="$(od -An -tx1 -j25 -N1 \
			"$b550/sys/bus/pci/devices/0000:$br/config" | tr -d ' ')"
	done
	expect_eq "b550: secondary buses depth-first" \
		"0102030405060708090a" "$buses"
	expect_eq "b550: nested device path" \
		"../../../devices/pci0000:00/0000:00:01.2/0000:02:00.2/0000:03:04.0/0000:05:00.0" \
		"$(readlink "$b550/sys/bus/pci/devices/0000:05:00.0")"
	expect_eq "b550: driver link is relative" \
		"../../../../bus/pci/drivers/nvidia" \
		"$(readlink "$b550/sys/bus/pci/devices/0000:08:00.0/driver")"
	expect_eq "b550: GPU attributes" "0x030000 0x10de 0x1c02 1 (null) 16" \
		"$(cd "$b550/sys/bus/pci/devices/0000:08:00.0" && echo \
		"$(cat class vendor device boot_vga driver_override | xargs)" \
		"$(basename "$(readlink iommu_group)")")"
	expect_eq "b550: siblings of CPU 0" "0,8" \
		"$(cat "$b550/sys/devices/system/cpu/cpu0/topology/thread_siblings_list")"
	expect_eq "b550: AMD CPU" "16" \
		"$(grep -c 'vendor_id.*AuthenticAMD' "$b550/proc/cpuinfo")"
	check "b550: no vfio-pci driver until modprobe" \
		test ! -e "$b550/sys/bus/pci/drivers/vfio-pci"
	check "b550: efifb bound" test "$(basename "$(readlink \
		"$b550/sys/devices/platform/efi-framebuffer.0/driver")")" = \
		efi-framebuffer
	grep -q 'cgroup2 /sys/fs/cgroup cgroup2' "$b550/proc/mounts" &&
		ok "b550: cgroup2 mounted" || not_ok "b550: cgroup2 mounted"
fi

# The made-up two-node host.
dn=$TMP/dual-node-hybrid
if [ -d "$dn" ]; then
	expect_eq "dual-node: node cpulists" "0-7,16-23 8-15,24-31" \
		"$(cat "$dn"/sys/devices/system/node/node{0,1}/cpulist | xargs)"
	expect_eq "dual-node: vfio group node" "vfio-pci 11" \
		"$(basename "$(readlink "$dn/sys/bus/pci/devices/0000:81:00.0/driver")") $(ls "$dn/dev/vfio" | grep -v vfio)"
	expect_eq "dual-node: subsystem IDs" "0x1462 0x3881" \
		"$(cat "$dn"/sys/bus/pci/devices/0000:81:00.0/subsystem_{vendor,device} | xargs)"
	expect_eq "dual-node: reset methods" "flr bus" \
		"$(cat "$dn/sys/bus/pci/devices/0000:81:00.0/reset_method")"
	expect_eq "dual-node: second root bus" "pci0000:80" \
		"$(readlink "$dn/sys/bus/pci/devices/0000:82:00.0" | cut -d/ -f5)"
	expect_eq "dual-node: 1G pages reserved (node 0 and global)" "2 4" \
		"$(grep -o 'nr=4 free=4' <("$FAKEHOST" snapshot "$dn") | wc -l) $(cat "$dn/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages")"
	check "dual-node: hybrid cgroup has a v1 cpuset root" \
		test -f "$dn/sys/fs/cgroup/cpuset/cpuset.effective_cpus"
	expect_eq "dual-node: local_cpulist of a node-1 device" "8-15,24-31" \
		"$(cat "$dn/sys/bus/pci/devices/0000:81:00.0/local_cpulist")"
fi

# What real hosts have besides PCI: disks and what is mounted from them,
# interfaces and the default route, device nodes and who holds them, KVM.
lap=$TMP/laptop-mx250
if [ -d "$lap" ]; then
	expect_eq "laptop: the NVMe disk is on its PCI function" \
		"0000:02:00.0/nvme/nvme0/nvme0n1" \
		"$(readlink "$lap/sys/block/nvme0n1" | grep -o '0000:02:00.0/.*')"
	expect_eq "laptop: LUKS holds the partition, LVM holds LUKS" \
		"dm-0 dm-1 dm-2 vg0-root" \
		"$(ls "$lap/sys/class/block/nvme0n1p2/holders") $(ls "$lap/sys/block/dm-0/holders" | xargs) $(cat "$lap/sys/block/dm-1/dm/name")"
	expect_eq "laptop: / is mounted from dm-1 (mountinfo numbers)" \
		"$(cat "$lap/sys/block/dm-1/dev") / ext4 /dev/mapper/vg0-root" \
		"$(awk '$5 == "/" {print $3, $5, $(NF-2), $(NF-1)}' "$lap/proc/self/mountinfo")"
	check "laptop: swap on vg0-swap" grep -q '^/dev/mapper/vg0-swap' \
		"$lap/proc/swaps"
	expect_eq "laptop: default route on the Wi-Fi of 00:14.3" \
		"wlp0s20f3 0000:00:14.3" \
		"$(awk '$2 == "00000000" {print $1}' "$lap/proc/net/route") $(readlink "$lap/sys/class/net/wlp0s20f3" | grep -o '0000:00:14.3')"
	expect_eq "laptop: Xorg holds the iGPU's card" \
		"Xorg /dev/dri/card0 0::/system.slice/display-manager.service" \
		"$(cat "$lap/proc/1342/comm") $(readlink "$lap/proc/1342/fd/3") $(cat "$lap/proc/1342/cgroup")"
	expect_eq "laptop: drm and sound nodes of their functions" \
		"DEVNAME=dri/card0 DEVNAME=dri/card1 DEVNAME=snd/pcmC0D3p" \
		"$(grep -h DEVNAME "$lap"/sys/bus/pci/devices/0000:00:02.0/drm/card0/uevent "$lap"/sys/bus/pci/devices/0000:01:00.0/drm/card1/uevent "$lap"/sys/bus/pci/devices/0000:00:1f.3/sound/card0/pcmC0D3p/uevent | xargs)"
	check "laptop: the NVIDIA driver's nodes and minor" grep -q \
		"Device Minor:.*0" \
		"$lap/proc/driver/nvidia/gpus/0000:01:00.0/information"
	check "laptop: the 3D controller has no boot_vga file" test ! -e \
		"$lap/sys/bus/pci/devices/0000:01:00.0/boot_vga"
	check "laptop: systemd-boot's /etc/kernel/cmdline" test -f \
		"$lap/etc/kernel/cmdline" -a -f "$lap/boot/loader/loader.conf"
fi
x570=$TMP/x570-rtx3080-rx580
if [ -d "$x570" ]; then
	expect_eq "x570: the Ethernet port is in br0, which has the route" \
		"br0 br0" \
		"$(basename "$(readlink "$x570/sys/class/net/enp6s0/master")") $(awk '$2 == "00000000" {print $1}' "$x570/proc/net/route")"
	check "x570: grub's file" test -f "$x570/etc/default/grub"
fi
cloud=$TMP/cloud-h200
if [ -d "$cloud" ]; then
	expect_eq "cloud: no IOMMU groups, no pci.ids, no systemd" "0 no no" \
		"$(ls "$cloud/sys/kernel/iommu_groups" | wc -l) $([ -e "$cloud/usr/share/misc/pci.ids" ] && echo yes || echo no) $([ -e "$cloud/run/systemd/system" ] && echo yes || echo no)"
	expect_eq "cloud: a hypervisor flag, no vmx" "16 0" \
		"$(grep -c 'flags.* hypervisor' "$cloud/proc/cpuinfo") $(grep -c ' vmx' "$cloud/proc/cpuinfo")"
	expect_eq "cloud: KVM's Hyper-V leaves hold relaxed, runtime, reset, frequencies" \
		"hv 0x40000003 0x000008a1 0x00000000 0x00000000 0x00000100|hv 0x40000004 0x00000020 0x00000000 0x00000000 0x00000000" \
		"$(grep -E '^hv 0x4000000[34]' "$cloud/.fakehost/kvm" | paste -sd'|')"
fi
if [ -d "$b550" ]; then
	expect_eq "b550 (no block lines): / on the first NVMe drive" \
		"/dev/nvme0n1p2 0000:01:00.0" \
		"$(awk '$2 == "/" {print $1}' "$b550/proc/mounts") $(readlink "$b550/sys/block/nvme0n1" | grep -o '0000:01:00.0')"
	expect_eq "b550 (no net lines): the default route on its Ethernet" \
		enp7s0 "$(awk '$2 == "00000000" {print $1}' "$b550/proc/net/route")"
fi
printf 'cpus 2\nkvm no\n' >"$TMP/nokvm.host"
"$FAKEHOST" build "$TMP/nokvm.host" "$TMP/nokvm2" >&2
check "kvm no: no /dev/kvm" test ! -e "$TMP/nokvm2/dev/kvm"

# Bad fixtures: FILE:LINE: and what to do.
bad() { # NAME LINE_NO EXPECTED_TEXT CONTENT
	printf '%b' "$4" >"$TMP/bad.host"
	out=$("$FAKEHOST" build "$TMP/bad.host" "$TMP/bad-$RANDOM" 2>&1)
	rc=$?
	case "$out" in
	*"$TMP/bad.host:$2: "*"$3"*) [ $rc -eq 1 ] && ok "error: $1" ||
		not_ok "error: $1 (status $rc)" ;;
	*)
		not_ok "error: $1"
		echo "#   got: $out"
		;;
	esac
}
head='cpus 4\n'
bad "unknown statement" 2 "unknown statement 'cpu'" "${head}cpu 4\n"
bad "unclosed quote" 2 "no closing quotation" \
	"${head}cmdline \"quiet\n"
bad "bad BDF" 2 "bad PCI address '0000:01:00'" \
	"${head}pci 0000:01:00 0300 10de:1c02 1 nvidia \"GPU\"\n"
bad "bad class" 2 "bad class '03'" \
	"${head}pci 0000:01:00.0 03 10de:1c02 1 nvidia \"GPU\"\n"
bad "bad ids" 3 "bad VENDOR:DEVICE 'nvidia'" \
	"# c\n${head}pci 0000:01:00.0 0300 nvidia 1 nvidia \"GPU\"\n"
bad "unknown flag" 2 "unknown flag 'vga'" \
	"${head}pci 0000:01:00.0 0300 10de:1c02 1 nvidia vga \"GPU\"\n"
bad "missing name" 2 "missing device name" \
	"${head}pci 0000:01:00.0 0300 10de:1c02 1 nvidia reset=flr boot_vga\n"
bad "boot_vga on audio" 2 "boot_vga is only for VGA devices" \
	"${head}pci 0000:01:00.1 0403 10de:10f1 1 - boot_vga \"A\"\n"
bad "reset method" 2 "unknown reset method 'warm'" \
	"${head}pci 0000:01:00.0 0300 10de:1c02 1 - reset=warm \"G\"\n"
bad "duplicate BDF" 3 "0000:01:00.0 given twice (first on line 2)" \
	"${head}pci 0000:01:00.0 0300 10de:1c02 1 - \"G\"\npci 0000:01:00.0 0300 10de:1c02 1 - \"G\"\n"
bad "node out of range" 2 "CPU 4 out of range" \
	"${head}node 0 cpus 0-4 memory 8G\n"
bad "CPU in no node" 2 "CPU 3 is in no node" \
	"${head}node 0 cpus 0-2 memory 8G\n"
bad "bad memory" 2 "bad memory size '8Q'" \
	"${head}node 0 cpus 0-3 memory 8Q\n"
bad "hugepage size" 2 "expected 'hugepages 2048kB|1048576kB free N'" \
	"${head}hugepages 4096kB free 1\n"
bad "cgroup v1" 2 "cgroup must be 'v2' or 'hybrid'" "${head}cgroup v1\n"
bad "SMT" 2 "not a multiple of threads-per-core 3" \
	"${head}threads-per-core 3\n"
bad "no cpus" 1 "missing 'cpus N'" "host x\n"
bad "twice" 2 "'cpus' given twice (first on line 1)" "${head}cpus 8\n"
bad "node= of no node" 2 "node=1: no such node" \
	"${head}pci 0000:01:00.0 0300 10de:1c02 1 - node=1 \"G\"\n"
bad "kvm" 2 "unknown Hyper-V enlightenment 'vapik'" \
	"${head}kvm yes hv=relaxed,vapik\n"
bad "processor" 2 "unknown processor flag 'fast'" "${head}processor amd fast\n"
bad "block on nothing" 2 "on=sda names no block device given before it" \
	"${head}block sda1 on=sda mount=/\n"
bad "block of no function" 2 "pci=0000:05:00.0 is no pci line" \
	"${head}block sda pci=0000:05:00.0\n"
bad "block without pci or on" 2 "needs pci=BDF (a disk) or on=NAME" \
	"${head}block sda mount=/\n"
bad "route to nowhere" 2 "default-route eth9: no such interface" \
	"${head}default-route eth9\n"
bad "holder of nothing" 2 "holder 77 holds nothing" \
	"${head}holder 77 Xorg unit=x.service\n"
bad "bootloader" 2 "bootloader must be 'grub' or" "${head}bootloader lilo\n"
out=$("$FAKEHOST" build "$TMP/nonexistent.host" "$TMP/x" 2>&1)
expect_eq "missing fixture file" \
	"fakehost: $TMP/nonexistent.host: cannot read: No such file or directory" \
	"$out"
mkdir -p "$TMP/full" && touch "$TMP/full/x"
out=$("$FAKEHOST" build "$FIXTURES/b550-gtx1060.host" "$TMP/full" 2>&1)
case "$out" in *"is not empty"*) ok "refuses a non-empty folder" ;;
*) not_ok "refuses a non-empty folder" ;; esac

"$FAKEHOST" build "$FIXTURES/ivybridge-gtx970.host" "$TMP/nosd" --no-systemd
check "--no-systemd: no /run/systemd/system" \
	test ! -e "$TMP/nosd/run/systemd/system" -a -d "$TMP/nosd/run"
"$FAKEHOST" set "$TMP/nosd" systemd=yes
check "set systemd=yes" test -d "$TMP/nosd/run/systemd/system"

# set: staged conditions show in the snapshot and the derived files.
if [ -d "$b550" ]; then
	cp "$TMP/b550-gtx1060.snap1" "$TMP/before"
	"$FAKEHOST" set "$b550" node0.free_kb=1G node0.movable_kb=2048 \
		unit.gdm.service=inactive pci.0000:08:00.0.driver=vfio-pci \
		node0.hugepages-2048kB=8
	expect_eq "set: free_kb in kB" "1048576 2048" \
		"$(cat "$b550"/.fakehost/node0/{free_kb,movable_kb} | xargs)"
	"$FAKEHOST" snapshot "$b550" >"$TMP/after"
	expect_eq "set: snapshot diff" \
		"< hugepages global 2048kB nr=0 free=0 resv=0 surplus=0 overcommit=0
< hugepages node0 2048kB nr=0 free=0 surplus=0
< pci 0000:08:00.0 driver=nvidia override=(null) enable=1
< unit gdm.service active
> file /dev/vfio/16 file
> hugepages global 2048kB nr=8 free=8 resv=0 surplus=0 overcommit=0
> hugepages node0 2048kB nr=8 free=8 surplus=0
> pci 0000:08:00.0 driver=vfio-pci override=(null) enable=1
> unit gdm.service inactive" \
		"$(diff <(sort "$TMP/before") <(sort "$TMP/after") | grep '^[<>]' | sort)"
	expect_eq "set: meminfo follows" "HugePages_Total:       8" \
		"$(grep HugePages_Total "$b550/proc/meminfo")"
	out=$("$FAKEHOST" set "$b550" node7.free_kb=1 2>&1)
	expect_eq "set: unknown node" \
		"fakehost: set: node7.free_kb: no node 7 in this host" "$out"
	out=$("$FAKEHOST" set "$b550" colour=blue 2>&1)
	case "$out" in *"unknown key 'colour'"*"nodeN.free_kb"*)
		ok "set: unknown key lists the keys" ;;
	*) not_ok "set: unknown key lists the keys" ;; esac
	out=$("$FAKEHOST" snapshot "$TMP" 2>&1)
	case "$out" in *"not a fake host root"*) ok "snapshot: not a root" ;;
	*) not_ok "snapshot: not a root" ;; esac
fi

# Stubs (run without the shim: they do not need it for these).
if [ -d "$b550" ]; then
	sc=$b550/usr/bin/systemctl
	"$sc" is-active sddm.service >/dev/null
	expect_eq "systemctl: is-active" "0" "$?"
	"$sc" stop sddm.service && "$sc" is-active --quiet sddm.service
	expect_eq "systemctl: stop, then inactive (3)" "3" "$?"
	"$sc" stop nosuch.service 2>/dev/null
	expect_eq "systemctl: unknown unit (5)" "5" "$?"
	"$sc" set-property --runtime system.slice AllowedCPUs=0-3,8-11
	expect_eq "systemctl: AllowedCPUs" "0-3,8-11 0-3,8-11" \
		"$(cat "$b550"/sys/fs/cgroup/system.slice/cpuset.cpus{,.effective} | xargs)"
	"$sc" set-property --runtime system.slice AllowedCPUs=
	expect_eq "systemctl: AllowedCPUs reset" "0-15" \
		"$(cat "$b550"/sys/fs/cgroup/system.slice/cpuset.cpus{,.effective} | xargs)"
	"$b550/usr/sbin/modprobe" vfio-pci
	check "modprobe: vfio-pci driver folder" \
		test -f "$b550/sys/bus/pci/drivers/vfio-pci/bind"
	"$b550/usr/sbin/modprobe" nosuchmod 2>/dev/null
	expect_eq "modprobe: unknown module fails" "1" "$?"
	expect_eq "stubs log their calls" \
		"systemctl stop nosuch.service|modprobe nosuchmod" \
		"$(grep -E 'nosuch' "$b550/.fakehost/calls.log" | paste -sd'|')"
fi

# run: the environment the program under test sees.
if [ -f "$TOP/build/fakehost.so" ] && [ -d "$b550" ]; then
	out=$("$FAKEHOST" run "$b550" -- sh -c \
		'echo "$FAKEHOST_ROOT $VMRUN_ROOT ${LD_PRELOAD%%:*}"; exit 7')
	expect_eq "run: exit status" "7" "$?"
	expect_eq "run: environment" \
		"$b550 $b550 $TOP/build/fakehost.so" "$out"
	# modprobe binds what waits for vfio-pci, through the shim.
	m=$TMP/modprobe
	"$FAKEHOST" build "$FIXTURES/b550-gtx1060.host" "$m"
	"$FAKEHOST" set "$m" pci.0000:08:00.0.driver_override=vfio-pci \
		pci.0000:08:00.0.driver=-
	"$FAKEHOST" run "$m" -- "$m/usr/sbin/modprobe" vfio-pci
	expect_eq "run: modprobe vfio-pci binds the overridden function" \
		"pci 0000:08:00.0 driver=vfio-pci override=vfio-pci enable=1
file /dev/vfio/16 file" \
		"$("$FAKEHOST" snapshot "$m" | grep -E '^pci 0000:08:00.0|vfio/16')"
	if [ -x "$VMRUN" ]; then
		out=$("$FAKEHOST" run "$b550" -- "$VMRUN" --help 2>&1)
		case "$out" in *"does not come first"*)
			not_ok "run: an ASan program starts under the shim" ;;
		*) ok "run: an ASan program starts under the shim" ;; esac
	else
		skip "run: an ASan program" "$VMRUN not built"
	fi
else
	skip "run: environment" "build/fakehost.so not built"
fi
out=$("$FAKEHOST" run "$TMP" -- true 2>&1)
case "$out" in *"not a fake host root"*) ok "run: not a root" ;;
*) not_ok "run: not a root" ;; esac

done_testing
