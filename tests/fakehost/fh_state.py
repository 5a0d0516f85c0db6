# fh_state.py: `fakehost snapshot` (a canonical, sorted text view of the
# host state, for diff) and `fakehost set` (staging host conditions).
import os
import re

from fh_build import SIZES_KB, node_ids, refresh_memory
from fh_util import link, read, write


def one(path, default="-"):
    v = read(path)
    return default if v is None else v.strip().replace("\n", "\\n")


def snapshot(root):
    lines = []
    add = lines.append
    sysd = os.path.join(root, "sys")
    add("fixture %s" % one(os.path.join(root, ".fakehost/fixture")))
    snap_pci(root, add)
    for nid in node_ids(root):
        for s in SIZES_KB:
            hd = os.path.join(sysd, "devices/system/node/node%d" % nid,
                              "hugepages/hugepages-%dkB" % s)
            add("hugepages node%d %dkB nr=%s free=%s surplus=%s" % (
                nid, s, one(hd + "/nr_hugepages"),
                one(hd + "/free_hugepages"), one(hd + "/surplus_hugepages")))
    for s in SIZES_KB:
        hd = os.path.join(sysd, "kernel/mm/hugepages/hugepages-%dkB" % s)
        add("hugepages global %dkB nr=%s free=%s resv=%s surplus=%s "
            "overcommit=%s" % (s, one(hd + "/nr_hugepages"),
                               one(hd + "/free_hugepages"),
                               one(hd + "/resv_hugepages"),
                               one(hd + "/surplus_hugepages"),
                               one(hd + "/nr_overcommit_hugepages")))
    snap_cgroups(root, add)
    irq = os.path.join(root, "proc/irq")
    add("irq default %s" % one(irq + "/default_smp_affinity"))
    for n in sorted((d for d in os.listdir(irq) if d.isdigit()), key=int):
        add("irq %s %s" % (n, one(os.path.join(irq, n,
                                                "smp_affinity_list"))))
    vt = os.path.join(sysd, "class/vtconsole")
    for c in sorted(os.listdir(vt)) if os.path.isdir(vt) else []:
        add("vtcon %s bind=%s name=%s" % (c, one(os.path.join(vt, c, "bind")),
                                          one(os.path.join(vt, c, "name"))))
    fb = os.path.join(sysd, "devices/platform/efi-framebuffer.0")
    if os.path.isdir(fb):
        add("efifb driver=%s" % driver_of(fb))
    for m in sorted((read(os.path.join(root, "proc/mounts"), "") or "")
                    .splitlines()):
        add("mount %s" % m)
    units = os.path.join(root, ".fakehost/units")
    for u in sorted(os.listdir(units)) if os.path.isdir(units) else []:
        add("unit %s %s" % (u, one(os.path.join(units, u))))
    snap_net(root, add)
    for top in ("dev/vfio", "run/vmrun", "dev/shm", "dev/hugepages"):
        snap_files(root, top, add)
    return "\n".join(lines) + "\n"


def snap_net(root, add):
    cls = os.path.join(root, "sys/class/net")
    for n in sorted(os.listdir(cls)) if os.path.isdir(cls) else []:
        d = os.path.join(cls, n)
        master = os.path.join(d, "master")
        add("net %s master=%s state=%s" % (
            n, os.path.basename(os.readlink(master))
            if os.path.islink(master) else "-",
            one(os.path.join(d, "operstate"))))


def driver_of(dev):
    try:
        return os.path.basename(os.readlink(os.path.join(dev, "driver")))
    except OSError:
        return "-"


def snap_pci(root, add):
    devs = os.path.join(root, "sys/bus/pci/devices")
    bdfs = set(os.listdir(devs)) if os.path.isdir(devs) else set()
    native = os.path.join(root, ".fakehost/native")
    if os.path.isdir(native):
        bdfs |= set(os.listdir(native))
    for bdf in sorted(bdfs):
        d = os.path.join(devs, bdf)
        if not os.path.exists(d):
            add("pci %s removed" % bdf)
            continue
        add("pci %s driver=%s override=%s enable=%s" % (
            bdf, driver_of(d), one(d + "/driver_override"),
            one(d + "/enable")))


def snap_cgroups(root, add):
    cg = os.path.join(root, "sys/fs/cgroup")
    for dirpath, dirnames, files in os.walk(cg):
        dirnames.sort()
        rel = os.path.relpath(dirpath, cg)
        rel = "/" if rel == "." else "/" + rel
        if "cpuset.cpus.effective" in files:  # v2
            add("cgroup %s cpus=%s effective=%s mems=%s" % (
                rel, one(dirpath + "/cpuset.cpus"),
                one(dirpath + "/cpuset.cpus.effective"),
                one(dirpath + "/cpuset.mems")))
        elif "cpuset.effective_cpus" in files:  # v1
            add("cgroup %s cpus=%s effective=%s mems=%s" % (
                rel, one(dirpath + "/cpuset.cpus"),
                one(dirpath + "/cpuset.effective_cpus"),
                one(dirpath + "/cpuset.mems")))
        else:
            add("cgroup %s" % rel)


def snap_files(root, top, add):
    base = os.path.join(root, top)
    # An absent folder and an empty one read the same: a folder vmrun
    # created and emptied again is no leftover.
    if not os.path.isdir(base):
        return
    for dirpath, dirnames, files in os.walk(base):
        dirnames.sort()
        for name in sorted(dirnames + files):
            p = os.path.join(dirpath, name)
            kind = ("link" if os.path.islink(p) else
                    "dir" if os.path.isdir(p) else
                    "file" if os.path.isfile(p) else "special")
            add("file /%s %s" % (os.path.relpath(p, root), kind))


SET_HELP = """keys of `fakehost set DIR KEY=VALUE...`:
  nodeN.free_kb=KB       memory node N can give to hugepages at once
  nodeN.movable_kb=KB    more, after a write to /proc/sys/vm/compact_memory
  nodeN.cache_kb=KB      more, after a write to /proc/sys/vm/drop_caches
                         (KB: kibibytes, or a size with K/M/G/T suffix)
  nodeN.hugepages-SIZEkB=N  the node's pool holds N pages, all free
  unit.NAME=active|inactive   a systemd unit's state (creates the unit)
  pci.BDF.driver=NAME|-  bind the function to NAME (or unbind it) as the
                         kernel shows it, without going through the shim
  pci.BDF.driver_override=NAME|-   the driver_override attribute
  cmdline=STRING         /proc/cmdline
  systemd=yes|no         whether /run/systemd/system exists
  proc.PID.stuck=yes|no  the process is stuck in the kernel: stopping its
                         unit does not end it"""


def parse_kb(v):
    m = re.fullmatch(r"(\d+)([KMGT]?)(?:i?B)?", v, re.IGNORECASE)
    if not m:
        raise ValueError("'%s' is not a size in kB (e.g. 4194304 or 4G)" % v)
    mult = {"": 1, "K": 1, "M": 1 << 10, "G": 1 << 20, "T": 1 << 30}
    return int(m.group(1)) * mult[m.group(2).upper()]


def set_one(root, key, val):
    m = re.fullmatch(r"node(\d+)\.(free_kb|movable_kb|cache_kb)", key)
    if m:
        st = os.path.join(root, ".fakehost/node%s" % m.group(1))
        if not os.path.isdir(st):
            raise ValueError("%s: no node %s in this host" % (key,
                                                            m.group(1)))
        write(os.path.join(st, m.group(2)), "%d\n" % parse_kb(val))
        return
    m = re.fullmatch(r"node(\d+)\.hugepages-(\d+)kB", key)
    if m:
        hd = os.path.join(root, "sys/devices/system/node/node%s" % m.group(1),
                          "hugepages/hugepages-%skB" % m.group(2))
        if not os.path.isdir(hd) or not val.isdigit():
            raise ValueError("%s=%s: expected an existing node and size "
                             "and a page count" % (key, val))
        write(os.path.join(hd, "nr_hugepages"), val + "\n")
        write(os.path.join(hd, "free_hugepages"), val + "\n", 0o444)
        return
    if key.startswith("unit."):
        if val not in ("active", "inactive") or len(key) < 6:
            raise ValueError("%s=%s: expected unit.NAME=active|inactive"
                             % (key, val))
        write(os.path.join(root, ".fakehost/units", key[5:]), val + "\n")
        return
    m = re.fullmatch(r"pci\.([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\."
                     r"(driver|driver_override)", key)
    if m:
        return set_pci(root, m.group(1), m.group(2), val)
    if key == "cmdline":
        write(os.path.join(root, "proc/cmdline"), val + "\n", 0o444)
        return
    m = re.fullmatch(r"proc\.(\d+)\.stuck", key)
    if m and val in ("yes", "no"):
        if not os.path.isdir(os.path.join(root, "proc", m.group(1))):
            raise ValueError("%s: no process %s in this host" % (key,
                                                                 m.group(1)))
        mark = os.path.join(root, ".fakehost/stuck", m.group(1))
        if val == "yes":
            write(mark, "")
        elif os.path.exists(mark):
            os.unlink(mark)
        return
    if key == "systemd" and val in ("yes", "no"):
        d = os.path.join(root, "run/systemd/system")
        if val == "yes":
            os.makedirs(d, exist_ok=True)
        elif os.path.isdir(d):
            os.rmdir(d)
        return
    raise ValueError("unknown key '%s'\n%s" % (key, SET_HELP))


def set_pci(root, bdf, what, val):
    dev = os.path.join(root, "sys/bus/pci/devices", bdf)
    if not os.path.isdir(dev):
        raise ValueError("pci.%s: no such PCI function (or removed)" % bdf)
    dev = os.path.realpath(dev)
    if what == "driver_override":
        write(os.path.join(dev, "driver_override"),
              ("(null)" if val == "-" else val) + "\n")
        return
    old = driver_of(dev)
    drivers = os.path.join(root, "sys/bus/pci/drivers")
    if old != "-":
        os.unlink(os.path.join(drivers, old, bdf))
        os.unlink(os.path.join(dev, "driver"))
    if val != "-":
        from fh_pci import driver_dir
        drv = driver_dir(root, val)
        link(os.path.join(dev, "driver"), drv)
        link(os.path.join(drv, bdf), dev)
    write(os.path.join(dev, "enable"), "0\n" if val == "-" else "1\n")
    sync_vfio_nodes(root)


def sync_vfio_nodes(root):
    """/dev/vfio/N exists while a function of group N is on vfio-pci."""
    groups = set()
    drv = os.path.join(root, "sys/bus/pci/drivers/vfio-pci")
    for bdf in os.listdir(drv) if os.path.isdir(drv) else []:
        g = os.path.join(drv, bdf, "iommu_group")
        if os.path.islink(g):
            groups.add(os.path.basename(os.readlink(g)))
    vfio = os.path.join(root, "dev/vfio")
    for n in os.listdir(vfio):
        if n.isdigit() and n not in groups:
            os.unlink(os.path.join(vfio, n))
    for g in groups:
        if not os.path.exists(os.path.join(vfio, g)):
            write(os.path.join(vfio, g), "", 0o600)


def set_values(root, pairs):
    for pair in pairs:
        key, eq, val = pair.partition("=")
        if not eq:
            raise ValueError("'%s': expected KEY=VALUE\n%s" % (pair,
                                                             SET_HELP))
        set_one(root, key, val)
    refresh_memory(root)
