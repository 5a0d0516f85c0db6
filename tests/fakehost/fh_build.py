# fh_build.py: builds a fake host root from a parsed fixture: CPUs, NUMA
# nodes, hugepages, procfs, cgroups, consoles, DMI, /dev, stubs, state.
import hashlib
import os
import shutil
import uuid

from fh_devices import (build_blocks, build_consoles_tty, build_holders,
                        build_dev_nodes, build_mountinfo, build_nets,
                        mount_lines)
from fh_pci import build_pci, device_relpath
from fh_util import (cpumask, cpus_of_node, fmt_list, link, node_of_cpu,
                     read, write)

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES_KB = (2048, 1048576)
RESERVED_KB = 4 << 20  # memory per node the fake kernel keeps for itself
DISPLAY_MANAGERS = ("display-manager.service", "gdm.service",
                    "sddm.service", "lightdm.service")
SLICES = ("init.scope", "system.slice", "user.slice")


def build(host, root, systemd=True):
    os.makedirs(root, exist_ok=True)
    if os.listdir(root):
        raise OSError("%s is not empty; give a new or empty folder" % root)
    build_state(root, host)
    build_cpus(root, host)
    build_nodes(root, host)
    build_pci(root, host)
    build_dev_nodes(root, host)
    made = build_blocks(root, host)
    build_proc(root, host)
    build_mountinfo(root, host, made, base_mounts(host))
    build_cgroup(root, host)
    build_consoles(root, host)
    build_dmi(root, host)
    build_power(root, host)
    build_dev_run(root, host, systemd and host.systemd)
    build_kvm(root, host)
    build_bootloader(root, host)
    build_stubs(root)
    build_net(root)
    build_nets(root, host)
    build_consoles_tty(root, host)
    build_holders(root, host)
    refresh_memory(root)


def build_state(root, host):
    st = os.path.join(root, ".fakehost")
    write(os.path.join(st, "fixture"), host.name + "\n")
    write(os.path.join(st, "source"), os.path.abspath(host.path) + "\n")
    for nid, _, mem_kb, _ in host.nodes:
        used = host.hugepages.get(2048, 0) * 2048 + \
            host.hugepages.get(1048576, 0) * 1048576 if nid == 0 else 0
        free = max(mem_kb - RESERVED_KB - used, 0)
        nd = os.path.join(st, "node%d" % nid)
        write(os.path.join(nd, "total_kb"), "%d\n" % mem_kb)
        write(os.path.join(nd, "free_kb"), "%d\n" % free)
        write(os.path.join(nd, "movable_kb"), "0\n")
        write(os.path.join(nd, "cache_kb"), "0\n")
    for p in host.pci:
        write(os.path.join(st, "native", p.bdf), (p.driver or "-") + "\n")
        write(os.path.join(st, "devpath", p.bdf), device_relpath(p) + "\n")
    os.makedirs(os.path.join(st, "removed"), exist_ok=True)
    for u in DISPLAY_MANAGERS + tuple(h[2] for h in host.holders if h[2]):
        write(os.path.join(st, "units", u), "active\n")
    write(os.path.join(st, "calls.log"), "")


def build_cpus(root, host):
    d = os.path.join(root, "sys/devices/system/cpu")
    every = fmt_list(range(host.cpus))
    for f in ("online", "possible", "present"):
        write(os.path.join(d, f), every + "\n", 0o444)
    write(os.path.join(d, "offline"), "\n", 0o444)
    write(os.path.join(d, "kernel_max"), "8191\n", 0o444)
    cores = host.cpus // host.tpc
    for c in range(host.cpus):
        core = c % cores
        sib = [core + k * cores for k in range(host.tpc)]
        node = node_of_cpu(host, c)
        pkg = [x for x in range(host.cpus) if node_of_cpu(host, x) == node]
        t = os.path.join(d, "cpu%d" % c, "topology")
        write(os.path.join(t, "core_id"), "%d\n" % core, 0o444)
        write(os.path.join(t, "physical_package_id"), "%d\n" % node, 0o444)
        write(os.path.join(t, "die_id"), "0\n", 0o444)
        for f in ("thread_siblings_list", "core_cpus_list"):
            write(os.path.join(t, f), fmt_list(sib) + "\n", 0o444)
        for f in ("thread_siblings", "core_cpus"):
            write(os.path.join(t, f), cpumask(sib, host.cpus) + "\n", 0o444)
        for f in ("core_siblings_list", "package_cpus_list"):
            write(os.path.join(t, f), fmt_list(pkg) + "\n", 0o444)
        if c:
            write(os.path.join(d, "cpu%d" % c, "online"), "1\n")
        link(os.path.join(d, "cpu%d" % c, "node%d" % node),
             os.path.join(root, "sys/devices/system/node/node%d" % node))
    build_l3(root, host)


def build_l3(root, host):
    """cpuN/cache/index3 for the fixture's l3 statements (none without)."""
    d = os.path.join(root, "sys/devices/system/cpu")
    for i, (cpus, _) in enumerate(host.l3):
        for c in cpus:
            x = os.path.join(d, "cpu%d" % c, "cache", "index3")
            for f, v in (("level", "3"), ("type", "Unified"), ("id", str(i)),
                         ("size", "16384K"), ("coherency_line_size", "64"),
                         ("shared_cpu_list", fmt_list(cpus)),
                         ("shared_cpu_map", cpumask(cpus, host.cpus))):
                write(os.path.join(x, f), v + "\n", 0o444)


def build_nodes(root, host):
    d = os.path.join(root, "sys/devices/system/node")
    ids = [n[0] for n in host.nodes]
    for f in ("online", "possible", "has_memory", "has_normal_memory",
              "has_cpu"):
        write(os.path.join(d, f), fmt_list(ids) + "\n", 0o444)
    for nid, cpus, _, _ in host.nodes:
        nd = os.path.join(d, "node%d" % nid)
        write(os.path.join(nd, "cpulist"), fmt_list(cpus) + "\n", 0o444)
        write(os.path.join(nd, "cpumap"), cpumask(cpus, host.cpus) + "\n",
              0o444)
        write(os.path.join(nd, "distance"), " ".join(
            "10" if o == nid else "21" for o in ids) + "\n", 0o444)
        for c in cpus:
            link(os.path.join(nd, "cpu%d" % c),
                 os.path.join(root, "sys/devices/system/cpu/cpu%d" % c))
        for size in SIZES_KB:
            n = host.hugepages.get(size, 0) if nid == 0 else 0
            hd = os.path.join(nd, "hugepages", "hugepages-%dkB" % size)
            write(os.path.join(hd, "nr_hugepages"), "%d\n" % n)
            write(os.path.join(hd, "free_hugepages"), "%d\n" % n, 0o444)
            write(os.path.join(hd, "surplus_hugepages"), "0\n", 0o444)
    for size in SIZES_KB:
        hd = os.path.join(root, "sys/kernel/mm/hugepages",
                          "hugepages-%dkB" % size)
        for f, mode in (("nr_hugepages", 0o644), ("free_hugepages", 0o444),
                        ("resv_hugepages", 0o444),
                        ("surplus_hugepages", 0o444),
                        ("nr_overcommit_hugepages", 0o644)):
            write(os.path.join(hd, f), "0\n", mode)


def node_ids(root):
    d = os.path.join(root, "sys/devices/system/node")
    return sorted(int(n[4:]) for n in os.listdir(d)
                  if n.startswith("node") and n[4:].isdigit())


def num(path):
    try:
        return int((read(path, "0") or "0").split()[0])
    except (ValueError, IndexError):
        return 0


def refresh_memory(root):
    """Recompute what the kernel derives: the global hugepage pools (sum
    of the nodes), /proc/sys/vm/nr_hugepages, the nodes' meminfo and
    /proc/meminfo, from the node pools and .fakehost memory state."""
    tot = {s: [0, 0] for s in SIZES_KB}
    mem = {"total": 0, "free": 0, "cache": 0}
    ndir = os.path.join(root, "sys/devices/system/node")
    for nid in node_ids(root):
        nd = os.path.join(ndir, "node%d" % nid)
        st = os.path.join(root, ".fakehost", "node%d" % nid)
        pools = {}
        for s in SIZES_KB:
            hd = os.path.join(nd, "hugepages", "hugepages-%dkB" % s)
            pools[s] = (num(os.path.join(hd, "nr_hugepages")),
                        num(os.path.join(hd, "free_hugepages")))
            tot[s][0] += pools[s][0]
            tot[s][1] += pools[s][1]
        free = num(os.path.join(st, "free_kb")) + \
            num(os.path.join(st, "movable_kb"))
        cache = num(os.path.join(st, "cache_kb"))
        total = num(os.path.join(st, "total_kb"))
        mem["total"] += total
        mem["free"] += free
        mem["cache"] += cache
        lines = [("MemTotal:", total), ("MemFree:", free),
                 ("MemUsed:", total - free), ("FilePages:", cache)]
        text = "".join("Node %d %-16s%8d kB\n" % (nid, k, v)
                       for k, v in lines)
        text += "Node %d HugePages_Total: %5d\n" % (nid, pools[2048][0])
        text += "Node %d HugePages_Free:  %5d\n" % (nid, pools[2048][1])
        text += "Node %d HugePages_Surp:  %5d\n" % (nid, 0)
        write(os.path.join(nd, "meminfo"), text, 0o444)
    for s in SIZES_KB:
        hd = os.path.join(root, "sys/kernel/mm/hugepages",
                          "hugepages-%dkB" % s)
        write(os.path.join(hd, "nr_hugepages"), "%d\n" % tot[s][0])
        write(os.path.join(hd, "free_hugepages"), "%d\n" % tot[s][1], 0o444)
    write(os.path.join(root, "proc/sys/vm/nr_hugepages"),
          "%d\n" % tot[2048][0])
    write_meminfo(root, mem, tot)


def write_meminfo(root, mem, tot):
    kb = [("MemTotal:", mem["total"]), ("MemFree:", mem["free"]),
          ("MemAvailable:", mem["free"] + mem["cache"]), ("Buffers:", 0),
          ("Cached:", mem["cache"]), ("SwapTotal:", 0), ("SwapFree:", 0)]
    text = "".join("%-16s%8d kB\n" % (k, v) for k, v in kb)
    text += "HugePages_Total:   %5d\n" % tot[2048][0]
    text += "HugePages_Free:    %5d\n" % tot[2048][1]
    text += "HugePages_Rsvd:    %5d\n" % 0
    text += "HugePages_Surp:    %5d\n" % 0
    text += "%-16s%8d kB\n" % ("Hugepagesize:", 2048)
    text += "%-16s%8d kB\n" % ("Hugetlb:", sum(s * tot[s][0]
                                              for s in SIZES_KB))
    write(os.path.join(root, "proc/meminfo"), text, 0o444)


def cpu_is_amd(host):
    if host.vendor:
        return host.vendor == "amd"
    bridges = [p for p in host.pci if p.cls >> 8 == 0x06 and p.bus == 0]
    first = bridges[0] if bridges else (host.pci[0] if host.pci else None)
    return bool(first and first.vendor == 0x1022)


def cpuinfo(host):
    amd = cpu_is_amd(host)
    cores = host.cpus // host.tpc
    flags = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov "
             "pat pse36 clflush mmx fxsr sse sse2 ht syscall nx pdpe1gb "
             "rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid pni "
             "pclmulqdq ssse3 cx16 sse4_1 sse4_2 popcnt aes xsave avx "
             "rdrand lahf_lm")
    if host.virt:
        flags += " svm npt" if amd else " vmx ept vpid flexpriority"
    if amd:
        flags += " topoext"
    if host.hypervisor:
        flags += " hypervisor"
    out = []
    for c in range(host.cpus):
        node = node_of_cpu(host, c)
        per_pkg = len(cpus_of_node(host, node))
        out.append(
            "processor\t: %d\nvendor_id\t: %s\ncpu family\t: %d\n"
            "model\t\t: %d\nmodel name\t: %s\nstepping\t: 0\n"
            "physical id\t: %d\nsiblings\t: %d\ncore id\t\t: %d\n"
            "cpu cores\t: %d\napicid\t\t: %d\nflags\t\t: %s\n"
            "bogomips\t: 7000.00\n"
            "address sizes\t: 48 bits physical, 48 bits virtual\n\n"
            % (c, "AuthenticAMD" if amd else "GenuineIntel",
               25 if amd else 6, 33 if amd else 58,
               ("AMD %d-thread fakehost CPU" if amd else
                "Intel(R) %d-thread fakehost CPU") % host.cpus,
               node, per_pkg, c % cores, max(per_pkg // host.tpc, 1),
               c, flags))
    return "".join(out)


def base_mounts(host):
    """(source, target, type, options) of the kernel's own file systems."""
    m = [("sysfs", "/sys", "sysfs", "rw,nosuid,nodev,noexec,relatime"),
         ("proc", "/proc", "proc", "rw,nosuid,nodev,noexec,relatime"),
         ("udev", "/dev", "devtmpfs", "rw,nosuid,relatime,mode=755"),
         ("tmpfs", "/run", "tmpfs", "rw,nosuid,nodev,noexec,relatime,"
          "mode=755"),
         ("tmpfs", "/dev/shm", "tmpfs", "rw,nosuid,nodev")]
    if host.cgroup == "v2":
        m.append(("cgroup2", "/sys/fs/cgroup", "cgroup2", "rw,nosuid,nodev,"
                  "noexec,relatime,nsdelegate,memory_recursiveprot"))
    else:
        m += [("tmpfs", "/sys/fs/cgroup", "tmpfs",
               "ro,nosuid,nodev,noexec,mode=755"),
              ("cgroup2", "/sys/fs/cgroup/unified", "cgroup2",
               "rw,nosuid,nodev,noexec,relatime,nsdelegate"),
              ("cgroup", "/sys/fs/cgroup/systemd", "cgroup",
               "rw,nosuid,nodev,noexec,relatime,xattr,name=systemd"),
              ("cgroup", "/sys/fs/cgroup/cpuset", "cgroup",
               "rw,nosuid,nodev,noexec,relatime,cpuset")]
    m.append(("hugetlbfs", "/dev/hugepages", "hugetlbfs",
              "rw,relatime,pagesize=2M"))
    return m


def mounts(host):
    m = ["%s %s %s %s 0 0" % x for x in base_mounts(host)]
    m[4:4] = ["%s %s %s rw,relatime 0 0" % x for x in mount_lines(host)]
    return "\n".join(m) + "\n"


def build_proc(root, host):
    p = os.path.join(root, "proc")
    write(os.path.join(p, "cmdline"), host.cmdline + "\n", 0o444)
    write(os.path.join(p, "sys/kernel/hostname"), host.name + "\n")
    write(os.path.join(p, "cpuinfo"), cpuinfo(host), 0o444)
    write(os.path.join(p, "mounts"), mounts(host), 0o444)
    os.makedirs(os.path.join(p, "self"), exist_ok=True)
    link(os.path.join(p, "self/mounts"), os.path.join(p, "mounts"))
    vm = os.path.join(p, "sys/vm")
    write(os.path.join(vm, "compact_memory"), "", 0o200)
    write(os.path.join(vm, "drop_caches"), "0\n")
    write(os.path.join(vm, "nr_overcommit_hugepages"), "0\n")
    every = range(host.cpus)
    write(os.path.join(p, "irq/default_smp_affinity"),
          cpumask(every, host.cpus) + "\n")
    irqs = [(0, "IR-IO-APIC    2-edge      timer"),
            (1, "IR-IO-APIC    1-edge      i8042"),
            (8, "IR-IO-APIC    8-edge      rtc0"),
            (9, "IR-IO-APIC    9-fasteoi   acpi")]
    irqs += [(d.irq, "IR-PCI-MSI %d-edge      %s"
              % ((d.bus << 19) | (d.dev << 14) | (d.fn << 11), d.driver))
             for d in host.pci if d.irq]
    head = " " * 4 + "".join("%11s" % ("CPU%d" % c) for c in every)
    lines = [head]
    for n, desc in irqs:
        write(os.path.join(p, "irq", str(n), "smp_affinity_list"),
              fmt_list(every) + "\n")
        write(os.path.join(p, "irq", str(n), "smp_affinity"),
              cpumask(every, host.cpus) + "\n")
        lines.append("%4d:" % n + "%11d" % 0 * host.cpus + "  " + desc)
    write(os.path.join(p, "interrupts"), "\n".join(lines) + "\n", 0o444)


def cgroup_dir(d, files):
    os.makedirs(d, exist_ok=True)
    for name, val in files.items():
        write(os.path.join(d, name), val + "\n")


def build_cgroup(root, host):
    cg = os.path.join(root, "sys/fs/cgroup")
    cpus = fmt_list(range(host.cpus))
    mems = fmt_list(n[0] for n in host.nodes)
    if host.cgroup == "v2":
        ctl = "cpuset cpu io memory hugetlb pids rdma misc"
        cgroup_dir(cg, {"cgroup.controllers": ctl,
                        "cgroup.subtree_control": "cpuset cpu io memory pids",
                        "cgroup.procs": "1",
                        "cpuset.cpus.effective": cpus,
                        "cpuset.mems.effective": mems})
        for s in SLICES:
            cgroup_dir(os.path.join(cg, s), {
                "cgroup.controllers": "cpuset cpu io memory pids",
                "cgroup.subtree_control": "", "cgroup.type": "domain",
                "cgroup.procs": "", "cpuset.cpus": "",
                "cpuset.cpus.effective": cpus, "cpuset.mems": "",
                "cpuset.mems.effective": mems,
                "cpuset.cpus.partition": "member"})
        return
    uni = os.path.join(cg, "unified")
    cgroup_dir(uni, {"cgroup.controllers": "", "cgroup.subtree_control": "",
                     "cgroup.procs": "1"})
    for s in SLICES:
        cgroup_dir(os.path.join(uni, s), {"cgroup.controllers": "",
                                          "cgroup.type": "domain",
                                          "cgroup.procs": ""})
        cgroup_dir(os.path.join(cg, "systemd", s), {"cgroup.procs": "",
                                                    "tasks": ""})
    cgroup_dir(os.path.join(cg, "systemd"), {"cgroup.procs": "1",
                                             "tasks": "1"})
    cgroup_dir(os.path.join(cg, "cpuset"), {
        "cpuset.cpus": cpus, "cpuset.mems": mems,
        "cpuset.effective_cpus": cpus, "cpuset.effective_mems": mems,
        "cpuset.cpu_exclusive": "1", "cpuset.mem_exclusive": "1",
        "cgroup.procs": "1", "tasks": "1", "cgroup.clone_children": "0",
        "notify_on_release": "0", "release_agent": "",
        "cgroup.sane_behavior": "0"})


def build_consoles(root, host):
    boot = any(p.boot_vga for p in host.pci)
    cons = [("(S) dummy device", 0 if boot else 1)]
    if boot:
        cons.append(("(M) frame buffer device", 1))
    for i, (name, bind) in enumerate(cons):
        d = os.path.join(root, "sys/devices/virtual/vtconsole/vtcon%d" % i)
        write(os.path.join(d, "name"), name + "\n", 0o444)
        write(os.path.join(d, "bind"), "%d\n" % bind)
        link(os.path.join(root, "sys/class/vtconsole/vtcon%d" % i), d)
    if not boot:
        return
    dev = os.path.join(root, "sys/devices/platform/efi-framebuffer.0")
    drv = os.path.join(root, "sys/bus/platform/drivers/efi-framebuffer")
    write(os.path.join(dev, "uevent"), "DRIVER=efi-framebuffer\n")
    write(os.path.join(dev, "driver_override"), "(null)\n")
    for f in ("bind", "unbind", "uevent"):
        write(os.path.join(drv, f), "", 0o200)
    link(os.path.join(dev, "driver"), drv)
    link(os.path.join(dev, "subsystem"),
         os.path.join(root, "sys/bus/platform"))
    link(os.path.join(drv, "efi-framebuffer.0"), dev)
    link(os.path.join(root, "sys/bus/platform/devices/efi-framebuffer.0"),
         dev)


def build_dmi(root, host):
    """Plausible, deterministic SMBIOS strings derived from the name."""
    h = hashlib.sha256(host.name.encode()).hexdigest()
    board = host.name.split("-")[0].upper()
    vals = {"bios_vendor": "American Megatrends Inc.",
            "bios_version": "%d.%02d" % (int(h[:2], 16) % 30,
                                         int(h[2:4], 16) % 100),
            "bios_date": "%02d/%02d/20%02d" % (int(h[4], 16) % 12 + 1,
                                              int(h[5], 16) + 1,
                                              int(h[6], 16) % 10 + 15),
            "sys_vendor": "Fakehost Computer Inc.",
            "product_name": "%s Desktop" % board,
            "product_version": "1.0", "product_serial": "FH%s" % h[8:18],
            "product_uuid": str(uuid.UUID(h[:32])),
            "product_sku": "SKU-%s" % h[18:22],
            "product_family": "Fakehost",
            "board_vendor": "Fakehost Computer Inc.",
            "board_name": "%s-BOARD" % board, "board_version": "Rev 1.xx",
            "board_serial": "BS%s" % h[22:32],
            "chassis_vendor": "Fakehost Computer Inc.",
            "chassis_version": "1.0", "chassis_serial": "CS%s" % h[32:42],
            "chassis_type": "3"}
    d = os.path.join(root, "sys/devices/virtual/dmi/id")
    for k, v in vals.items():
        secret = k.endswith(("_serial", "_uuid"))
        write(os.path.join(d, k), v + "\n", 0o400 if secret else 0o444)
    link(os.path.join(root, "sys/class/dmi/id"), d)


def build_power(root, host):
    """A laptop's battery and AC adapter under /sys/class/power_supply, as
    the ACPI drivers make them."""
    if not host.battery:
        return
    acpi = os.path.join(root, "sys/devices/LNXSYSTM:00/LNXSYBUS:00")
    cls = os.path.join(root, "sys/class/power_supply")
    for name, dev, vals in (
            (host.battery, "PNP0C0A:00",
             (("type", "Battery"), ("status", "Discharging"),
              ("present", "1"), ("capacity", "87"),
              ("technology", "Li-poly"))),
            ("ADP1", "ACPI0003:00", (("type", "Mains"), ("online", "0")))):
        d = os.path.join(acpi, dev, "power_supply", name)
        for f, v in vals:
            write(os.path.join(d, f), v + "\n", 0o444)
        link(os.path.join(cls, name), d)


def build_dev_run(root, host, systemd):
    for d in ("dev/hugepages", "dev/shm", "run", "etc", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    if host.kvm != "no":
        write(os.path.join(root, "dev/kvm"), "", 0o666)
        # the vhost_net module comes with KVM hosts' kernels
        write(os.path.join(root, "dev/vhost-net"), "", 0o600)
    # Host accounts the planner looks up under the root: root alone, so
    # no answer depends on the machine the tests run on.
    write(os.path.join(root, "etc/group"), "root:x:0:\n", 0o644)
    if systemd:
        os.makedirs(os.path.join(root, "run/systemd/system"))


# CPUID bits of each Hyper-V enlightenment in what KVM_GET_SUPPORTED_HV_CPUID
# returns: (leaf, register, bits), as QEMU checks them (hyperv-proto.h).
HV_FEATURES = 0x40000003
HV_RECOMMEND = 0x40000004
HV_BITS = {
    "relaxed": [(HV_RECOMMEND, "eax", 1 << 5)],
    "vapic": [(HV_FEATURES, "eax", 1 << 4)],
    "time": [(HV_FEATURES, "eax", 1 << 1 | 1 << 9)],
    "crash": [(HV_FEATURES, "edx", 1 << 10)],
    "reset": [(HV_FEATURES, "eax", 1 << 7)],
    "vpindex": [(HV_FEATURES, "eax", 1 << 6)],
    "runtime": [(HV_FEATURES, "eax", 1 << 0)],
    "synic": [(HV_FEATURES, "eax", 1 << 2)],
    "stimer": [(HV_FEATURES, "eax", 1 << 3)],
    "frequencies": [(HV_FEATURES, "eax", 1 << 11),
                    (HV_FEATURES, "edx", 1 << 8)],
    "reenlightenment": [(HV_FEATURES, "eax", 1 << 13)],
    "tlbflush": [(HV_RECOMMEND, "eax", 1 << 2 | 1 << 11)],
    "evmcs": [(HV_RECOMMEND, "eax", 1 << 14)],
    "ipi": [(HV_RECOMMEND, "eax", 1 << 10 | 1 << 11)],
    "stimer-direct": [(HV_FEATURES, "edx", 1 << 19)],
}


def build_kvm(root, host):
    """What the shim's /dev/kvm answers (.fakehost/kvm): whether a VM can
    be created and the Hyper-V CPUID leaves of the enlightenments."""
    if host.kvm == "no":
        return
    regs = {leaf: {"eax": 0, "ebx": 0, "ecx": 0, "edx": 0}
            for leaf in range(0x40000000, 0x40000006)}
    regs[0x40000000].update(eax=0x40000005, ebx=0x7263694d, ecx=0x666f736f,
                            edx=0x76482074)  # "Microsoft Hv"
    regs[0x40000001]["eax"] = 0x31237648  # "Hv#1"
    regs[HV_FEATURES]["eax"] |= 1 << 5  # hypercalls, always
    for name in host.hv if host.hv is not None else HV_BITS:
        for leaf, reg, bits in HV_BITS[name]:
            regs[leaf][reg] |= bits
    lines = ["vm %s" % ("ok" if host.kvm == "yes" else "EBUSY")]
    for leaf in sorted(regs):
        r = regs[leaf]
        lines.append("hv 0x%08x 0x%08x 0x%08x 0x%08x 0x%08x" % (
            leaf, r["eax"], r["ebx"], r["ecx"], r["edx"]))
    write(os.path.join(root, ".fakehost/kvm"), "\n".join(lines) + "\n")


# The file each boot loader keeps the kernel command line in.
BOOT_FILES = {
    "grub": ("etc/default/grub",
             'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'
             'GRUB_CMDLINE_LINUX=""\n'),
    "systemd-boot": ("etc/kernel/cmdline", "root=UUID=0b5e rw quiet\n"),
    "refind": ("boot/refind_linux.conf",
               '"Boot with standard options"  "root=UUID=0b5e rw quiet"\n'),
    "nixos": ("etc/NIXOS", ""),
}


def build_bootloader(root, host):
    if host.bootloader in BOOT_FILES:
        path, text = BOOT_FILES[host.bootloader]
        write(os.path.join(root, path), text)
    if host.bootloader == "systemd-boot":
        write(os.path.join(root, "boot/loader/loader.conf"), "timeout 3\n")
    if host.bootloader == "nixos":
        write(os.path.join(root, "etc/nixos/configuration.nix"),
              "{ config, pkgs, ... }:\n{\n  boot.kernelParams = [ ];\n}\n")


def build_net(root):
    """Loopback and one bridge, br0, as on a host set up for bridged
    guests (the fixture format has no network section)."""
    virt = os.path.join(root, "sys/devices/virtual/net")
    cls = os.path.join(root, "sys/class/net")
    os.makedirs(cls, exist_ok=True)
    for name in ("lo", "br0"):
        d = os.path.join(virt, name)
        os.makedirs(d, exist_ok=True)
        write(os.path.join(d, "operstate"), "up\n", 0o444)
        if name == "br0":
            os.makedirs(os.path.join(d, "bridge"), exist_ok=True)
            os.makedirs(os.path.join(d, "brif"), exist_ok=True)
        link(os.path.join(cls, name), d)


def build_stubs(root):
    for src, dst in (("stub-modprobe", "usr/sbin/modprobe"),
                     ("stub-systemctl", "usr/bin/systemctl"),
                     ("stub-ip", "usr/sbin/ip")):
        path = os.path.join(root, dst)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copyfile(os.path.join(HERE, src), path)
        os.chmod(path, 0o755)
