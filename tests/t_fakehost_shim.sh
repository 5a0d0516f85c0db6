#!/usr/bin/env bash
# t_fakehost_shim.sh: the kernel emulation (build/fakehost.so) on a fake
# host root: PCI binding, remove/rescan, hugepages, cpusets, IRQs, consoles.
. "$(dirname "$0")/lib.sh"

# FAKEHOST_SO: what to preload instead, e.g. a sanitizer build of the shim
# ("/usr/lib/.../libasan.so.8 /tmp/fakehost-asan.so").
SO=${FAKEHOST_SO:-$TOP/build/fakehost.so}
[ -n "${FAKEHOST_SO:-}" ] || [ -f "$SO" ] ||
	make -C "$TOP" -s build/fakehost.so >&2 || {
	not_ok "build/fakehost.so builds"
	done_testing
	exit 1
}
PY=$(command -v /usr/bin/python3 || command -v python3)

# op.py OP ARGS: one system call as vmrun makes it; prints "ok" or the
# errno name (ENODEV, ...).
cat >"$TMP/op.py" <<'EOF'
import ctypes, errno, os, sys
op, a = sys.argv[1], sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
def call(r):
    e = ctypes.get_errno()
    return "ok" if r == 0 else errno.errorcode.get(e, str(e))
try:
    if op == "write":
        fd = os.open(a[0], os.O_WRONLY)
        try:
            n = os.write(fd, a[1].encode())
            print("ok" if n == len(a[1].encode()) else "short")
        finally:
            os.close(fd)
    elif op == "mkdir":
        os.mkdir(a[0]); print("ok")
    elif op == "rmdir":
        os.rmdir(a[0]); print("ok")
    elif op == "mkdirat":
        d = os.open(os.path.dirname(a[0]), os.O_RDONLY)
        os.mkdir(os.path.basename(a[0]), dir_fd=d); print("ok")
    elif op == "rmdirat":
        d = os.open(os.path.dirname(a[0]), os.O_RDONLY)
        os.rmdir(os.path.basename(a[0]), dir_fd=d); print("ok")
    elif op == "mount":
        print(call(libc.mount(b"hugetlbfs", a[0].encode(), b"hugetlbfs",
                              ctypes.c_ulong(6), a[1].encode())))
    elif op == "umount":
        print(call(libc.umount2(a[0].encode(), int(a[1]) if a[1:] else 0)))
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF

R=$TMP/root
"$FAKEHOST" build "$FIXTURES/b550-gtx1060.host" "$R" >&2 ||
	not_ok "fakehost build b550-gtx1060"
op() { FAKEHOST_ROOT=$R LD_PRELOAD=$SO "$PY" "$TMP/op.py" "$@"; }
w() { op write "$@"; }
snap() { "$FAKEHOST" snapshot "$R"; }
lnk() { local t; t=$(readlink "$1") && basename "$t" || echo -; }
SNAP0=$(snap)

# --- PCI binding -----------------------------------------------------------
PCI=$R/sys/bus/pci
DRV=$PCI/drivers
GPU=0000:08:00.0
AUD=0000:08:00.1
D=$PCI/devices/$GPU
expect_eq "unbind from a driver the device is not on: ENODEV" ENODEV \
	"$(w "$DRV/snd_hda_intel/unbind" $GPU)"
expect_eq "unbind of an unknown device: ENODEV" ENODEV \
	"$(w "$DRV/nvidia/unbind" 0000:09:09.0)"
expect_eq "driver_override set" "ok vfio-pci" \
	"$(w "$D/driver_override" $'vfio-pci\n') $(cat "$D/driver_override")"
expect_eq "unbind from the bound driver" "ok - 0" \
	"$(w "$D/driver/unbind" $'0000:08:00.0\n') $(lnk "$D/driver") $(cat "$D/enable")"
check "unbind removes the driver's link" test ! -e "$DRV/nvidia/$GPU"
check "uevent loses DRIVER=" sh -c "! grep -q DRIVER= '$D/uevent'"
expect_eq "probe with the override's driver not loaded: unbound" "ok -" \
	"$(w "$PCI/drivers_probe" $GPU) $(lnk "$D/driver")"
mkdir "$DRV/vfio-pci" && : >"$DRV/vfio-pci/bind" && : >"$DRV/vfio-pci/unbind"
expect_eq "probe binds to driver_override" "ok vfio-pci" \
	"$(w "$PCI/drivers_probe" $GPU) $(lnk "$D/driver")"
check "driver folder links the device" test -e "$DRV/vfio-pci/$GPU"
check "uevent gains DRIVER=vfio-pci" grep -qx DRIVER=vfio-pci "$D/uevent"
check "binding to vfio-pci creates /dev/vfio/16" test -f "$R/dev/vfio/16"
expect_eq "bind when already bound: EBUSY" EBUSY \
	"$(w "$DRV/vfio-pci/bind" $GPU)"
expect_eq "bind to a driver other than the override: ENODEV" ENODEV \
	"$(w "$DRV/nvidia/bind" $GPU)"
expect_eq "bind of a short address: ENODEV" ENODEV \
	"$(w "$DRV/vfio-pci/bind" 08:00.1)"
expect_eq "bind without override to a foreign driver: ENODEV" ENODEV \
	"$(w "$DRV/vfio-pci/bind" $AUD)"
A=$PCI/devices/$AUD
expect_eq "bind with override after unbind" "ok ok ok vfio-pci" \
	"$(w "$A/driver_override" vfio-pci) $(w "$A/driver/unbind" $AUD) $(w "$DRV/vfio-pci/bind" $AUD) $(lnk "$A/driver")"
w "$D/driver/unbind" $GPU >/dev/null
check "group node stays while another function is on vfio-pci" \
	test -f "$R/dev/vfio/16"
w "$A/driver/unbind" $AUD >/dev/null
check "group node goes with the last vfio-pci function" \
	test ! -e "$R/dev/vfio/16"
expect_eq "driver_override cleared by a newline" "ok (null)" \
	"$(w "$D/driver_override" $'\n') $(cat "$D/driver_override")"
expect_eq "an empty write does not reach driver_override" "ok vfio-pci" \
	"$(w "$A/driver_override" '') $(cat "$A/driver_override")"
expect_eq "driver_override cleared by a newline" "ok (null)" \
	"$(w "$A/driver_override" $'\n') $(cat "$A/driver_override")"
expect_eq "probe without override binds the native driver" "ok nvidia" \
	"$(w "$PCI/drivers_probe" $GPU) $(lnk "$D/driver")"
w "$PCI/drivers_probe" $AUD >/dev/null
expect_eq "probe of a bound device changes nothing" "ok nvidia" \
	"$(w "$PCI/drivers_probe" $GPU) $(lnk "$D/driver")"
expect_eq "probe of a missing device: ENODEV" ENODEV \
	"$(w "$PCI/drivers_probe" 0000:0f:00.0)"
expect_eq "binding round trip leaves the host as it was" "$SNAP0" "$(snap)"

# --- remove / rescan / reset ------------------------------------------------
w "$D/driver_override" vfio-pci >/dev/null
w "$D/driver/unbind" $GPU >/dev/null
w "$PCI/drivers_probe" $GPU >/dev/null
BR=$(readlink -f "$PCI/devices/0000:00:03.1")
expect_eq "remove a function" ok "$(w "$D/remove" 1)"
check "removed: no bus link" test ! -e "$PCI/devices/$GPU"
check "removed: no IOMMU group link" \
	test ! -e "$R/sys/kernel/iommu_groups/16/devices/$GPU"
check "removed: no folder" test ! -e "$BR/$GPU"
check "removed from vfio-pci: group node gone" test ! -e "$R/dev/vfio/16"
expect_eq "rescan of the parent bus brings it back on its native driver" \
	"ok nvidia (null)" \
	"$(w "$BR/rescan" 1) $(lnk "$D/driver") $(cat "$D/driver_override")"
check "rescan: IOMMU group link back" \
	test -e "$R/sys/kernel/iommu_groups/16/devices/$GPU"
expect_eq "remove of a bridge takes its subtree" "ok 29" \
	"$(w "$PCI/devices/0000:00:01.2/remove" 1) $(ls "$PCI/devices" | wc -l)"
check "a removed subtree's driver links are gone" \
	test ! -e "$DRV/amdgpu/0000:04:00.0"
expect_eq "bus rescan brings the subtree back" "ok 42 amdgpu" \
	"$(w "$PCI/rescan" 1) $(ls "$PCI/devices" | wc -l) $(lnk "$PCI/devices/0000:04:00.0/driver")"
expect_eq "remove/rescan round trip leaves the host as it was" "$SNAP0" \
	"$(snap)"
expect_eq "remove: a non-number is EINVAL" EINVAL "$(w "$D/remove" x)"
expect_eq "remove 0 does nothing" "ok nvidia" \
	"$(w "$D/remove" 0) $(lnk "$D/driver")"
expect_eq "reset 1 with a reset method" ok "$(w "$D/reset" 1)"
expect_eq "reset 2: EINVAL" EINVAL "$(w "$D/reset" 2)"
: >"$PCI/devices/0000:00:14.0/reset"
expect_eq "reset without a reset method: ENOTTY" ENOTTY \
	"$(w "$PCI/devices/0000:00:14.0/reset" 1)"
rm "$PCI/devices/0000:00:14.0/reset"

# --- hugepages and memory ---------------------------------------------------
NH=$R/sys/devices/system/node/node0/hugepages/hugepages-2048kB
GH=$R/sys/kernel/mm/hugepages/hugepages-2048kB
ST=$R/.fakehost/node0
"$FAKEHOST" set "$R" node0.free_kb=1G node0.movable_kb=512M \
	node0.cache_kb=256M >&2
hp() { echo "$(cat "$NH/nr_hugepages") $(cat "$NH/free_hugepages") $(cat "$GH/nr_hugepages") $(cat "$R/proc/sys/vm/nr_hugepages") $(cat "$ST/free_kb")"; }
expect_eq "growing is bounded by free memory, without an error" \
	"ok 512 512 512 512 0" "$(w "$NH/nr_hugepages" 1000) $(hp)"
check "meminfo counts the pages" grep -qE '^HugePages_Total: +512$' \
	"$R/proc/meminfo"
expect_eq "compact_memory releases movable memory" "ok ok 768 768 768 768 0" \
	"$(w "$R/proc/sys/vm/compact_memory" 1) $(w "$NH/nr_hugepages" 1000) $(hp)"
expect_eq "drop_caches releases the cache (global write)" \
	"ok ok 896 896 896 896 0" \
	"$(w "$R/proc/sys/vm/drop_caches" 3) $(w "$R/proc/sys/vm/nr_hugepages" 1000) $(hp)"
expect_eq "shrinking gives the memory back" "ok 100 100 100 100 1630208" \
	"$(w "$GH/nr_hugepages" 100) $(hp)"
cp "$R/proc/meminfo" "$TMP/meminfo" &&
	cp "$R/sys/devices/system/node/node0/meminfo" "$TMP/node-meminfo"
"$FAKEHOST" set "$R" node0.cache_kb=0 >&2 # recomputes meminfo from state
check "meminfo agrees with the builder's accounting" \
	cmp -s "$TMP/meminfo" "$R/proc/meminfo"
check "node meminfo agrees with the builder's accounting" \
	cmp -s "$TMP/node-meminfo" "$R/sys/devices/system/node/node0/meminfo"
G1=$R/sys/devices/system/node/node0/hugepages/hugepages-1048576kB
expect_eq "1 GiB pages from what is left" "ok 1 100" \
	"$(w "$G1/nr_hugepages" 4) $(cat "$G1/nr_hugepages") $(awk '/HugePages_Total/ {print $2}' "$R/proc/meminfo")"
expect_eq "nr_hugepages: a non-number is EINVAL" EINVAL \
	"$(w "$NH/nr_hugepages" -1)"
expect_eq "compact_memory: only 1" EINVAL \
	"$(w "$R/proc/sys/vm/compact_memory" 2)"
expect_eq "drop_caches: 1 to 4" EINVAL "$(w "$R/proc/sys/vm/drop_caches" 5)"
w "$G1/nr_hugepages" 0 >/dev/null
w "$NH/nr_hugepages" 0 >/dev/null
expect_eq "emptied pools give all memory back" $((1792 * 1024)) \
	"$(cat "$ST/free_kb")"

# --- cgroups ----------------------------------------------------------------
CG=$R/sys/fs/cgroup
S=$CG/system.slice
expect_eq "cpuset.cpus sets the effective list" "ok 0-3,8-11 0-3,8-11" \
	"$(w "$S/cpuset.cpus" 0-3,8,9-11) $(cat "$S/cpuset.cpus") $(cat "$S/cpuset.cpus.effective")"
expect_eq "cpuset.cpus: CPU past the host: EINVAL" EINVAL \
	"$(w "$S/cpuset.cpus" 0-16)"
expect_eq "cpuset.cpus: reversed range: EINVAL" EINVAL \
	"$(w "$S/cpuset.cpus" 3-1)"
expect_eq "cpuset.cpus: not a list: EINVAL" EINVAL "$(w "$S/cpuset.cpus" x)"
expect_eq "mkdir makes a cgroup" ok "$(op mkdir "$S/vm")"
check "no cpuset files while the parent does not hand cpuset down" \
	test ! -e "$S/vm/cpuset.cpus"
expect_eq "enabling cpuset for the subtree adds the child's files" \
	"ok cpuset 0-3,8-11" \
	"$(w "$S/cgroup.subtree_control" +cpuset) $(cat "$S/vm/cgroup.controllers") $(cat "$S/vm/cpuset.cpus.effective")"
expect_eq "subtree_control: unknown controller: ENOENT" ENOENT \
	"$(w "$S/cgroup.subtree_control" +foo)"
expect_eq "subtree_control: no +/-: EINVAL" EINVAL \
	"$(w "$S/cgroup.subtree_control" cpuset)"
expect_eq "child effective = own within parent's" "ok 2-3" \
	"$(w "$S/vm/cpuset.cpus" 2-5) $(cat "$S/vm/cpuset.cpus.effective")"
expect_eq "parent change propagates" "ok 4-5" \
	"$(w "$S/cpuset.cpus" 4-7) $(cat "$S/vm/cpuset.cpus.effective")"
expect_eq "disjoint child inherits the parent's" "ok 8" \
	"$(w "$S/cpuset.cpus" 8) $(cat "$S/vm/cpuset.cpus.effective")"
expect_eq "empty cpuset.cpus inherits" "ok 0-15 2-5" \
	"$(w "$S/cpuset.cpus" '') $(cat "$S/cpuset.cpus.effective") $(cat "$S/vm/cpuset.cpus.effective")"
expect_eq "cpuset.mems: node past the host: EINVAL" EINVAL \
	"$(w "$S/vm/cpuset.mems" 1)"
expect_eq "cpuset.mems set" "ok 0" \
	"$(w "$S/vm/cpuset.mems" 0) $(cat "$S/vm/cpuset.mems.effective")"
sleep 300 &
PID=$!
expect_eq "a process moves into a cgroup" "ok $PID" \
	"$(w "$S/vm/cgroup.procs" $PID) $(tr -d '\n' <"$S/vm/cgroup.procs")"
expect_eq "rmdir of a populated cgroup: EBUSY" EBUSY "$(op rmdir "$S/vm")"
expect_eq "cpuset in a populated cgroup's subtree: EBUSY" EBUSY \
	"$(w "$S/vm/cgroup.subtree_control" +cpuset)"
expect_eq "mkdirat makes a cgroup" ok "$(op mkdirat "$S/vm/sub")"
expect_eq "moving leaves the old cgroup" "ok " \
	"$(w "$CG/cgroup.procs" $PID) $(tr -d '\n' <"$S/vm/cgroup.procs")"
expect_eq "rmdir of a cgroup with children: EBUSY" EBUSY \
	"$(op rmdir "$S/vm")"
expect_eq "rmdir (unlinkat) of an empty cgroup" ok "$(op rmdirat "$S/vm/sub")"
expect_eq "rmdir of an empty cgroup" "ok absent" \
	"$(op rmdir "$S/vm") $(test -e "$S/vm" && echo present || echo absent)"
kill $PID
wait $PID 2>/dev/null
expect_eq "a dead process cannot move: ESRCH" ESRCH \
	"$(w "$S/cgroup.procs" $PID)"
w "$S/cgroup.subtree_control" -cpuset >/dev/null
grep -vx "$PID" "$CG/cgroup.procs" >"$TMP/procs"
cp "$TMP/procs" "$CG/cgroup.procs"

# --- IRQs, consoles, framebuffer ------------------------------------------
I=$R/proc/irq/24
expect_eq "smp_affinity_list stored canonical" "ok 0-1,8" \
	"$(w "$I/smp_affinity_list" 0,1,8) $(cat "$I/smp_affinity_list")"
expect_eq "smp_affinity_list: CPU past the host: EINVAL" EINVAL \
	"$(w "$I/smp_affinity_list" 16)"
expect_eq "smp_affinity_list: empty: EINVAL" EINVAL \
	"$(w "$I/smp_affinity_list" '')"
: >"$I/smp_affinity"
expect_eq "smp_affinity follows the list" "ok 0103" \
	"$(w "$I/smp_affinity_list" 0-1,8) $(cat "$I/smp_affinity")"
expect_eq "smp_affinity (hex) sets the list" "ok 4-7" \
	"$(w "$I/smp_affinity" f0) $(cat "$I/smp_affinity_list")"
rm "$I/smp_affinity"
w "$I/smp_affinity_list" 0-15 >/dev/null
VT=$R/sys/class/vtconsole
vt() { echo "$(cat "$VT/vtcon0/bind")$(cat "$VT/vtcon1/bind")"; }
expect_eq "unbinding fbcon hands the consoles to the dummy" "ok 10" \
	"$(w "$VT/vtcon1/bind" 0) $(vt)"
expect_eq "the system console cannot be unbound" "ok 10" \
	"$(w "$VT/vtcon0/bind" 0) $(vt)"
expect_eq "binding fbcon takes the consoles back" "ok 01" \
	"$(w "$VT/vtcon1/bind" 1) $(vt)"
EFB=$R/sys/bus/platform/drivers/efi-framebuffer
FB=$R/sys/devices/platform/efi-framebuffer.0
expect_eq "efifb: unbind of an unknown device: ENODEV" ENODEV \
	"$(w "$EFB/unbind" efi-framebuffer.1)"
expect_eq "efifb: unbind" "ok -" "$(w "$EFB/unbind" efi-framebuffer.0) $(lnk "$FB/driver")"
check "efifb: driver link gone" test ! -e "$EFB/efi-framebuffer.0"
expect_eq "efifb: unbind twice: ENODEV" ENODEV \
	"$(w "$EFB/unbind" efi-framebuffer.0)"
expect_eq "efifb: bind" "ok efi-framebuffer" \
	"$(w "$EFB/bind" efi-framebuffer.0) $(lnk "$FB/driver")"
expect_eq "efifb: bind twice: EBUSY" EBUSY "$(w "$EFB/bind" efi-framebuffer.0)"

# --- mounts -----------------------------------------------------------------
M=$R/dev/hugepages1G
mkdir "$M"
expect_eq "hugetlbfs mount is recorded" ok \
	"$(op mount "$M" pagesize=1G,mode=01770,gid=36)"
check "mounts line as the kernel shows it" grep -qx \
	"hugetlbfs /dev/hugepages1G hugetlbfs rw,nosuid,nodev,relatime,gid=36,mode=1770,pagesize=1024M 0 0" \
	"$R/proc/mounts"
expect_eq "hugetlbfs: unsupported page size: EINVAL" EINVAL \
	"$(op mount "$M" pagesize=4M)"
expect_eq "mount on a missing folder: ENOENT" ENOENT \
	"$(op mount "$R/dev/nothere" pagesize=2M)"
: >"$M/guest-ram"
expect_eq "umount with files on it: EBUSY" EBUSY "$(op umount "$M")"
rm "$M/guest-ram"
expect_eq "umount" ok "$(op umount "$M")"
expect_eq "umount of what is not mounted: EINVAL" EINVAL "$(op umount "$M")"
rmdir "$M"

# --- everything else --------------------------------------------------------
printf 'abcdef\n' >"$R/run/log"
op write "$R/run/log" XY >/dev/null
expect_eq "files outside sysfs/procfs are written as usual" "XYcdef" \
	"$(cat "$R/run/log")"
printf 'long old value\n' >"$PCI/resource_alignment"
w "$PCI/resource_alignment" $'x\n' >/dev/null
expect_eq "other attributes hold the last value written" x \
	"$(cat "$PCI/resource_alignment")"
printf '\n' >"$PCI/resource_alignment"
expect_eq "without FAKEHOST_ROOT nothing is emulated" "ok nvidia" \
	"$(LD_PRELOAD=$SO "$PY" "$TMP/op.py" write "$DRV/snd_hda_intel/unbind" $GPU) $(lnk "$D/driver")"
: >"$DRV/snd_hda_intel/unbind"
expect_eq "through fakehost run" "ENODEV" \
	"$("$FAKEHOST" run "$R" -- "$PY" "$TMP/op.py" write "$DRV/snd_hda_intel/unbind" $GPU)"
expect_eq "dash's echo is seen" "ok" \
	"$(FAKEHOST_ROOT=$R LD_PRELOAD=$SO dash -c "echo 0 >'$VT/vtcon1/bind'" && vt | grep -qx 10 && echo ok)"
w "$VT/vtcon1/bind" 1 >/dev/null
FAKEHOST_ROOT=$R LD_PRELOAD=$SO dash -c "echo 10 >'$NH/nr_hugepages'; echo 20 >'$NH/nr_hugepages'"
expect_eq "a shell's O_TRUNC does not reset a pool before the write" \
	"20 20 20 20" "$(hp | cut -d' ' -f1-4)"
w "$NH/nr_hugepages" 0 >/dev/null
expect_eq "truncating files that are not emulated still works" "" \
	"$(printf 'old\n' >"$TMP/plain" && FAKEHOST_ROOT=$R LD_PRELOAD=$SO dash -c ": >'$R/run/log'" && cat "$R/run/log")"
expect_eq "the host is as it was after all undos" "$SNAP0" "$(snap)"

# --- cgroup v1 cpuset (a hybrid host) ---------------------------------------
sed 's/^cgroup v2$/cgroup hybrid/' "$FIXTURES/ivybridge-gtx970.host" \
	>"$TMP/hybrid.host"
HR=$TMP/hybrid
if "$FAKEHOST" build "$TMP/hybrid.host" "$HR" >&2; then
	V1=$HR/sys/fs/cgroup/cpuset
	hw() { FAKEHOST_ROOT=$HR LD_PRELOAD=$SO "$PY" "$TMP/op.py" "$@"; }
	expect_eq "v1: the root cpuset is read-only: EACCES" EACCES \
		"$(hw write "$V1/cpuset.cpus" 0-3)"
	expect_eq "v1: a new cpuset starts empty" "ok ||" \
		"$(hw mkdir "$V1/vm") $(cat "$V1/vm/cpuset.cpus")|$(cat "$V1/vm/cpuset.effective_cpus")|"
	sleep 300 &
	PID=$!
	expect_eq "v1: joining a cpuset without CPUs: ENOSPC" ENOSPC \
		"$(hw write "$V1/vm/cgroup.procs" $PID)"
	expect_eq "v1: CPUs and nodes, then the process joins" "ok ok ok 2-5" \
		"$(hw write "$V1/vm/cpuset.cpus" 2-5) $(hw write "$V1/vm/cpuset.mems" 0) $(hw write "$V1/vm/cgroup.procs" $PID) $(cat "$V1/vm/cpuset.effective_cpus")"
	hw mkdir "$V1/vm/sub" >/dev/null
	hw write "$V1/vm/sub/cpuset.cpus" 4-5 >/dev/null
	expect_eq "v1: a child outside its parent's CPUs: EACCES" EACCES \
		"$(hw write "$V1/vm/sub/cpuset.cpus" 6)"
	expect_eq "v1: shrinking under a child's CPUs: EBUSY" EBUSY \
		"$(hw write "$V1/vm/cpuset.cpus" 2-3)"
	kill $PID
	wait $PID 2>/dev/null
	expect_eq "v1: rmdir once empty" "ok ok" \
		"$(hw rmdir "$V1/vm/sub") $(hw rmdir "$V1/vm")"
else
	not_ok "fakehost build of a hybrid host"
fi

# --- /dev/kvm and the holders of device nodes -------------------------------
cat >"$TMP/kvm.py" <<'EOF'
import errno, fcntl, os, struct, sys
fd = os.open(sys.argv[1] + "/dev/kvm", os.O_RDWR)
out = [str(fcntl.ioctl(fd, 0xAE00)), str(fcntl.ioctl(fd, 0xAE03, 191))]
try:
    vm = fcntl.ioctl(fd, 0xAE01, 0)
    os.close(vm)
    out.append("vm")
except OSError as e:
    out.append(errno.errorcode[e.errno])
buf = bytearray(struct.pack("II", 2, 0) + bytes(40 * 2))
try:
    fcntl.ioctl(fd, 0xC008AEC1, buf)
except OSError as e:
    out.append(errno.errorcode[e.errno])
buf = bytearray(struct.pack("II", 16, 0) + bytes(40 * 16))
fcntl.ioctl(fd, 0xC008AEC1, buf)
n = struct.unpack_from("I", buf)[0]
for i in range(n):
    f, _, _, a, b, c, d = struct.unpack_from("IIIIIII", buf, 8 + 40 * i)
    if f == 0x40000003:
        out.append("%x:%x:%x" % (f, a, d))
print(" ".join(out))
EOF
CL=$TMP/cloud
"$FAKEHOST" build "$TOP/tests/fixtures/hosts/cloud-h200.host" "$CL" >&2
expect_eq "kvm: API 12, the system Hyper-V CPUID, a VM, E2BIG, the leaves" \
	"12 1 vm E2BIG 40000003:8a1:100" \
	"$(FAKEHOST_ROOT=$CL LD_PRELOAD=$SO "$PY" "$TMP/kvm.py" "$CL")"
sed -i 's/^vm ok/vm EBUSY/' "$CL/.fakehost/kvm"
expect_eq "kvm: a VM cannot be created (EBUSY)" EBUSY \
	"$(FAKEHOST_ROOT=$CL LD_PRELOAD=$SO "$PY" "$TMP/kvm.py" "$CL" | cut -d' ' -f3)"

XR=$TMP/x570
"$FAKEHOST" build "$TOP/tests/fixtures/hosts/x570-rtx3080-rx580.host" "$XR" >&2
XD=$XR/sys/bus/pci/drivers
xw() { FAKEHOST_ROOT=$XR LD_PRELOAD=$SO "$PY" "$TMP/op.py" write "$@"; }
expect_eq "unbind of a held function waits, then EBUSY (pipewire)" \
	"EBUSY snd_hda_intel" \
	"$(FAKEHOST_UNBIND_WAIT_S=1 xw "$XD/snd_hda_intel/unbind" 0000:08:00.1) $(lnk "$XR/sys/bus/pci/devices/0000:08:00.1/driver")"
expect_eq "an unheld function of the same driver unbinds at once" \
	"ok -" "$(xw "$XD/snd_hda_intel/unbind" 0000:07:00.1) $(lnk "$XR/sys/bus/pci/devices/0000:07:00.1/driver")"
start=$SECONDS
(sleep 1 && rm -r "$XR/proc/2211") &
expect_eq "the unbind completes once the holder is gone" "ok -" \
	"$(xw "$XD/snd_hda_intel/unbind" 0000:08:00.1) $(lnk "$XR/sys/bus/pci/devices/0000:08:00.1/driver")"
wait
check "  ... and waited for it" test $((SECONDS - start)) -ge 1
expect_eq "nvidia: held through /dev/nvidia0 (nvidia-persistenced)" EBUSY \
	"$(FAKEHOST_UNBIND_WAIT_S=0 xw "$XD/nvidia/unbind" 0000:08:00.0)"

# --- every fixture: each bound function to vfio-pci and back ---------------
cat >"$TMP/cycle.py" <<'EOF'
import os, sys
root = sys.argv[1]
pci = root + "/sys/bus/pci"
def w(path, val):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, val.encode())
    finally:
        os.close(fd)
def drv(bdf):
    try:
        return os.path.basename(os.readlink(pci + "/devices/%s/driver" % bdf))
    except OSError:
        return "-"
bad = []
for bdf in sorted(os.listdir(pci + "/devices")):
    native = drv(bdf)
    if native == "-":
        continue
    d = "%s/devices/%s/" % (pci, bdf)
    w(d + "driver_override", "vfio-pci")
    w(d + "driver/unbind", bdf)
    w(pci + "/drivers_probe", bdf)
    group = os.path.basename(os.readlink(d + "iommu_group")) \
        if os.path.lexists(d + "iommu_group") else None
    if drv(bdf) != "vfio-pci" or (
            group and not os.path.exists(root + "/dev/vfio/" + group)):
        bad.append(bdf + ":to-vfio-pci")
    w(d + "driver_override", "\n")
    w(d + "driver/unbind", bdf)
    w(pci + "/drivers_probe", bdf)
    if drv(bdf) != native:
        bad.append(bdf + ":back-to-" + native)
print(" ".join(bad) or "ok")
EOF
for fx in "$FIXTURES"/*.host "$TOP"/tests/fixtures/hosts/*.host; do
	name=$(basename "$fx" .host)
	FR=$TMP/fx-$name
	[ -e "$FR" ] && continue
	if ! "$FAKEHOST" build "$fx" "$FR" >&2; then
		not_ok "$name: fakehost build"
		continue
	fi
	# nothing holds the devices (an unbind would wait for the holder)
	rm -rf "$FR"/proc/[0-9]*
	before=$("$FAKEHOST" snapshot "$FR")
	VD=$FR/sys/bus/pci/drivers/vfio-pci
	loaded=$([ -d "$VD" ] && echo yes || echo no)
	mkdir -p "$VD" && touch "$VD/bind" "$VD/unbind"
	expect_eq "$name: every bound function to vfio-pci and back" ok \
		"$(FAKEHOST_ROOT=$FR LD_PRELOAD=$SO "$PY" "$TMP/cycle.py" "$FR")"
	[ "$loaded" = yes ] || rm -r "$VD"
	expect_eq "$name: host as it was" "$before" \
		"$("$FAKEHOST" snapshot "$FR")"
done
done_testing
