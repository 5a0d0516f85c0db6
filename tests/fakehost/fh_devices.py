# fh_devices.py: what hangs off the PCI functions of a fake host root: disks,
# partitions and volumes with their mounts and swap, network interfaces and
# the default route, serial consoles, device nodes (drm, sound, nvidia) and
# the processes that hold them open.
import os

from fh_pci import device_relpath
from fh_util import link, write

# Device numbers the kernel gives these disks (virtio and dm are dynamic
# majors; these are the usual ones).
MAJORS = {"nvme": 259, "sd": 8, "vd": 252, "dm-": 253, "md": 9}


def by_bdf(host):
    return {p.bdf: p for p in host.pci}


def pci_dir(root, host, bdf):
    return os.path.join(root, "sys", device_relpath(by_bdf(host)[bdf]))


def block_kind(name):
    for k in ("nvme", "dm-", "md", "sd", "vd"):
        if name.startswith(k):
            return k
    return "sd"


class Numbers:
    """major:minor per block device, in fixture order."""

    def __init__(self):
        self.next = {}

    def take(self, name, partition_of=None, parts=0):
        kind = block_kind(name)
        major = MAJORS[kind]
        if kind in ("sd", "vd") and partition_of:
            return major, partition_of[1] + parts
        n = self.next.get(kind, 0)
        self.next[kind] = n + (16 if kind in ("sd", "vd") else 1)
        return major, n


def disk_subdir(name, index):
    kind = block_kind(name)
    if kind == "nvme":
        return "nvme/nvme%d/%s" % (index, name)
    if kind == "vd":
        return "virtio%d/block/%s" % (index, name)
    return "host%d/target%d:0:0/%d:0:0:0/block/%s" % (index, index, index,
                                                     name)


def block_attrs(d, name, devnum, partition=None):
    write(os.path.join(d, "dev"), "%d:%d\n" % devnum, 0o444)
    write(os.path.join(d, "size"), "1000215216\n", 0o444)
    write(os.path.join(d, "uevent"), "MAJOR=%d\nMINOR=%d\nDEVNAME=%s\n"
          "DEVTYPE=%s\n" % (devnum[0], devnum[1], name,
                            "partition" if partition else "disk"))
    if partition:
        write(os.path.join(d, "partition"), "%d\n" % partition, 0o444)
    os.makedirs(os.path.join(d, "holders"), exist_ok=True)
    if not partition:
        os.makedirs(os.path.join(d, "slaves"), exist_ok=True)


def build_blocks(root, host):
    """sys/block, sys/class/block, /dev nodes, holders and slaves links;
    returns {name: (dir, (major, minor))}."""
    made = {}
    nums = Numbers()
    disks = 0
    for b in host.blocks:
        if b.bdf:
            d = os.path.join(pci_dir(root, host, b.bdf),
                             disk_subdir(b.name, disks))
            disks += 1
            made[b.name] = (d, nums.take(b.name))
            block_attrs(d, b.name, made[b.name][1])
            link(os.path.join(root, "sys/block", b.name), d)
        elif not b.virtual:
            parent_dir, parent_num = made[b.on[0]]
            nparts = sum(1 for n in made if made[n][0].startswith(
                parent_dir + "/"))
            d = os.path.join(parent_dir, b.name)
            made[b.name] = (d, nums.take(b.name, parent_num, nparts + 1))
            block_attrs(d, b.name, made[b.name][1], nparts + 1)
        else:
            d = os.path.join(root, "sys/devices/virtual/block", b.name)
            made[b.name] = (d, nums.take(b.name))
            block_attrs(d, b.name, made[b.name][1])
            if b.dm:
                write(os.path.join(d, "dm/name"), b.dm + "\n", 0o444)
            for o in b.on:
                link(os.path.join(d, "slaves", o), made[o][0])
                link(os.path.join(made[o][0], "holders", b.name), d)
            link(os.path.join(root, "sys/block", b.name), d)
        link(os.path.join(root, "sys/class/block", b.name), d)
        write(os.path.join(root, "dev", b.name), "", 0o660)
        if b.dm:
            link(os.path.join(root, "dev/mapper", b.dm),
                 os.path.join(root, "dev", b.name))
    return made


def source_of(b):
    return "/dev/mapper/%s" % b.dm if b.dm else "/dev/%s" % b.name


def mount_lines(host):
    """(source, mountpoint, fstype) of the block devices, in order."""
    return [(source_of(b), b.mount, b.fs) for b in host.blocks if b.mount]


def build_mountinfo(root, host, made, base_mounts):
    """/proc/self/mountinfo: the base mounts (0:N numbers) and the block
    devices' ones with their device numbers; /proc/swaps."""
    lines = []
    mid = 21
    for i, (src, tgt, fs, opts) in enumerate(base_mounts):
        lines.append("%d 1 0:%d / %s %s - %s %s rw" % (mid, 20 + i, tgt, opts,
                                                        fs, src))
        mid += 1
    for b in host.blocks:
        if not b.mount:
            continue
        maj, mnr = made[b.name][1]
        lines.append("%d 1 %d:%d / %s rw,relatime - %s %s rw" % (
            mid, maj, mnr, b.mount, b.fs, source_of(b)))
        mid += 1
    write(os.path.join(root, "proc/self/mountinfo"), "\n".join(lines) + "\n",
          0o444)
    swaps = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"]
    for b in host.blocks:
        if b.swap:
            swaps.append("%s\t\t\tpartition\t8388604\t\t0\t\t-2"
                         % source_of(b))
    write(os.path.join(root, "proc/swaps"), "\n".join(swaps) + "\n", 0o444)


def build_nets(root, host):
    """Interfaces of PCI functions, bridge membership, /proc/net/route."""
    cls = os.path.join(root, "sys/class/net")
    for name, bdf, master, _ in host.nets:
        d = os.path.join(pci_dir(root, host, bdf), "net", name)
        write(os.path.join(d, "operstate"), "up\n", 0o444)
        write(os.path.join(d, "uevent"), "INTERFACE=%s\n" % name)
        link(os.path.join(cls, name), d)
        if master:
            br = os.path.join(root, "sys/devices/virtual/net", master)
            if not os.path.isdir(br):  # a bridge besides br0
                write(os.path.join(br, "operstate"), "up\n", 0o444)
                os.makedirs(os.path.join(br, "bridge"), exist_ok=True)
                os.makedirs(os.path.join(br, "brif"), exist_ok=True)
                link(os.path.join(cls, master), br)
            link(os.path.join(d, "master"), br)
            link(os.path.join(br, "brif", name), d)
    head = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
            "Mask\t\tMTU\tWindow\tIRTT")
    rows = [head]
    if host.route:
        rows.append("%s\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0"
                    "\t0" % host.route)
        rows.append("%s\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0"
                    "\t0" % host.route)
    write(os.path.join(root, "proc/net/route"), "\n".join(rows) + "\n",
          0o444)


def build_consoles_tty(root, host):
    """The kernel's active consoles: tty0 and the serial ones of PCI
    functions."""
    names = []
    for name, bdf, _ in host.consoles:
        d = os.path.join(pci_dir(root, host, bdf), "tty", name)
        write(os.path.join(d, "dev"), "4:%d\n" % (64 + len(names)), 0o444)
        link(os.path.join(root, "sys/class/tty", name), d)
        names.append(name)
    d = os.path.join(root, "sys/devices/virtual/tty/tty0")
    write(os.path.join(d, "dev"), "4:0\n", 0o444)
    link(os.path.join(root, "sys/class/tty/tty0"), d)
    d = os.path.join(root, "sys/devices/virtual/tty/console")
    write(os.path.join(d, "active"), " ".join(names + ["tty0"]) + "\n",
          0o444)
    link(os.path.join(root, "sys/class/tty/console"), d)


def node(root, sysdir, devname, devnum):
    """A character device node of a device: its sysfs folder with dev and
    uevent, and the file under ROOT/dev."""
    write(os.path.join(sysdir, "dev"), "%d:%d\n" % devnum, 0o444)
    write(os.path.join(sysdir, "uevent"), "MAJOR=%d\nMINOR=%d\nDEVNAME=%s\n"
          % (devnum[0], devnum[1], devname))
    write(os.path.join(root, "dev", devname), "", 0o660)


def build_dev_nodes(root, host):
    """drm cards of the GPUs, sound cards of the audio functions, and the
    NVIDIA driver's own nodes, as their drivers make them."""
    card = sound = gpu = 0
    nvidia = False
    for p in host.pci:
        if not p.driver or p.driver == "vfio-pci":
            continue
        d = os.path.join(root, "sys", device_relpath(p))
        if p.cls >> 8 == 0x03:
            node(root, os.path.join(d, "drm/card%d" % card),
                 "dri/card%d" % card, (226, card))
            node(root, os.path.join(d, "drm/renderD%d" % (128 + card)),
                 "dri/renderD%d" % (128 + card), (226, 128 + card))
            card += 1
        if p.cls == 0x0403:
            sd = os.path.join(d, "sound/card%d" % sound)
            write(os.path.join(sd, "number"), "%d\n" % sound, 0o444)
            node(root, os.path.join(sd, "controlC%d" % sound),
                 "snd/controlC%d" % sound, (116, 32 * sound))
            node(root, os.path.join(sd, "pcmC%dD3p" % sound),
                 "snd/pcmC%dD3p" % sound, (116, 32 * sound + 3))
            sound += 1
        if p.driver == "nvidia":
            write(os.path.join(root, "proc/driver/nvidia/gpus", p.bdf,
                               "information"),
                  "Model: \t\t %s\nDevice Minor: \t %d\n" % (p.name, gpu),
                  0o444)
            write(os.path.join(root, "dev/nvidia%d" % gpu), "", 0o666)
            gpu += 1
            nvidia = True
    if nvidia:
        for n in ("nvidiactl", "nvidia-uvm", "nvidia-modeset"):
            write(os.path.join(root, "dev", n), "", 0o666)


def build_holders(root, host):
    """proc/PID/{comm,cgroup,fd/N}: a process with device nodes open."""
    for pid, comm, unit, paths, _ in host.holders:
        d = os.path.join(root, "proc", str(pid))
        write(os.path.join(d, "comm"), comm + "\n", 0o444)
        cg = "/system.slice/%s" % unit if unit else "/user.slice"
        write(os.path.join(d, "cgroup"), "0::%s\n" % cg, 0o444)
        os.makedirs(os.path.join(d, "fd"), exist_ok=True)
        for i, path in enumerate(paths):
            os.symlink(path, os.path.join(d, "fd", str(3 + i)))
