# fh_hostfile.py: parser of the host fixture format (*.host, described in
# tests/fixtures/hosts/README.md). Errors name the file and line.
import re
import shlex

SIZES_KB = (2048, 1048576)
RESET_METHODS = ("flr", "bus", "pm", "af_flr", "acpi", "device_specific",
                 "cxl_bus", "none")
STATEMENTS = ("host", "cpus", "threads-per-core", "node", "hugepages",
              "cmdline", "cgroup", "pci", "processor", "kvm", "systemd",
              "pci-ids", "bootloader", "block", "net", "default-route",
              "console", "holder", "l3", "battery")
# Hyper-V enlightenments a KVM may offer (KVM_GET_SUPPORTED_HV_CPUID), as
# QEMU names them without "hv-"; the CPUID bits are in fh_build.py.
HV_FEATURES = ("relaxed", "vapic", "time", "crash", "reset", "vpindex",
               "runtime", "synic", "stimer", "frequencies",
               "reenlightenment", "tlbflush", "evmcs", "ipi",
               "stimer-direct")
BOOTLOADERS = ("grub", "systemd-boot", "refind", "nixos", "unknown")
UNITS = {"K": 1, "M": 1 << 10, "G": 1 << 20, "T": 1 << 30}


class FixtureError(Exception):
    pass


class Pci:
    """One PCI function of a fixture."""

    def __init__(self, line):
        self.line = line
        self.dom = self.bus = self.dev = self.fn = 0
        self.cls = 0          # 0xBBSS
        self.progif = None    # None: derived from the class
        self.vendor = self.device = 0
        self.group = 0        # None: in no IOMMU group (IOMMU off)
        self.driver = None    # None: no driver
        self.bridge = False
        self.boot_vga = False
        self.node = -1
        self.reset = []       # reset methods, kernel order
        self.subsys = (0, 0)
        self.name = ""
        # filled by the builder
        self.secondary = self.subordinate = None
        self.parent = None
        self.irq = 0

    @property
    def bdf(self):
        return "%04x:%02x:%02x.%d" % (self.dom, self.bus, self.dev, self.fn)

    @property
    def key(self):
        return (self.dom, self.bus, self.dev, self.fn)


class Host:
    def __init__(self, path):
        self.path = path
        self.name = None
        self.cpus = None
        self.tpc = 1
        self.nodes = []       # [(id, [cpus], mem_kb, line)]
        self.hugepages = {}   # size_kb -> count on node 0
        self.cmdline = ""
        self.cgroup = "v2"
        self.pci = []
        self.l3 = []          # [([cpus], line)]: CPUs sharing one L3 cache
        self.battery = None   # power_supply name of a laptop's battery
        self.comment = []     # leading comment lines
        self.vendor = None    # "intel"/"amd"; None: from the chipset
        self.virt = True      # vmx/svm in /proc/cpuinfo
        self.hypervisor = False  # running in a VM ("hypervisor" flag)
        self.kvm = "yes"      # yes, no (no /dev/kvm), broken (no VMs)
        self.hv = None        # Hyper-V features KVM offers; None: all
        self.systemd = True
        self.pci_ids = True   # a PCI ID database with the names
        self.bootloader = "grub"
        self.blocks = []      # Block
        self.nets = []        # (name, bdf, master, line)
        self.route = None     # interface of the default route
        self.consoles = []    # (name, bdf, line)
        self.holders = []     # (pid, comm, unit, [paths], line)


class Block:
    """A block device: a disk of a PCI function, a partition of a disk,
    or a device-mapper / md volume on others."""

    def __init__(self, line, name):
        self.line = line
        self.name = name
        self.bdf = None       # disks: the PCI function
        self.on = []          # partitions and volumes: what they sit on
        self.mount = None
        self.fs = "ext4"
        self.swap = False
        self.dm = None        # device-mapper name (dm-N only)

    @property
    def virtual(self):
        return bool(re.fullmatch(r"(dm-|md)\d+", self.name))


def parse_cpulist(s):
    """Kernel list syntax "0-3,8" to a sorted list, or None if invalid."""
    out = set()
    if not s:
        return None
    for part in s.split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            return None
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            return None
        out.update(range(lo, hi + 1))
    return sorted(out)


def parse_mem_kb(s):
    m = re.fullmatch(r"(\d+)\s*([KMGT])(?:i?B)?", s, re.IGNORECASE)
    if not m:
        return None
    return int(m.group(1)) * UNITS[m.group(2).upper()]


def parse_hex(s, digits):
    if re.fullmatch(r"(?:0x)?[0-9a-fA-F]{1,%d}" % digits, s):
        return int(s, 16)
    return None


class Parser:
    def __init__(self, path):
        self.path = path
        self.host = Host(path)
        self.seen = {}
        self.lineno = 0

    def fail(self, msg, line=None):
        raise FixtureError("%s:%d: %s" % (self.path, line or self.lineno,
                                          msg))

    def once(self, word):
        if word in self.seen:
            self.fail("'%s' given twice (first on line %d); keep one"
                      % (word, self.seen[word]))
        self.seen[word] = self.lineno

    def nargs(self, f, n, usage):
        if len(f) != n:
            self.fail("expected '%s', got %d field(s)" % (usage, len(f)))

    def parse(self, text):
        in_header = True
        for self.lineno, raw in enumerate(text.splitlines(), 1):
            stripped = raw.strip()
            if in_header and stripped.startswith("#"):
                self.host.comment.append(stripped.lstrip("#").strip())
                continue
            if stripped:
                in_header = False
            try:
                f = shlex.split(raw, comments=True)
            except ValueError as e:
                self.fail("%s (close the quoted field)" % str(e).lower())
            if not f:
                continue
            handler = getattr(self, "st_" + f[0].replace("-", "_"), None)
            if f[0] not in STATEMENTS or handler is None:
                self.fail("unknown statement '%s' (expected one of: %s)"
                          % (f[0], ", ".join(STATEMENTS)))
            handler(f)
        self.finish()
        return self.host

    def st_host(self, f):
        self.once("host")
        self.nargs(f, 2, "host NAME")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", f[1]):
            self.fail("host name '%s' may hold only letters, digits, '.', "
                      "'_' and '-'" % f[1])
        self.host.name = f[1]

    def count(self, s, what, minimum=1):
        if not re.fullmatch(r"\d+", s) or int(s) < minimum:
            self.fail("%s must be a whole number >= %d, got '%s'"
                      % (what, minimum, s))
        return int(s)

    def st_cpus(self, f):
        self.once("cpus")
        self.nargs(f, 2, "cpus N")
        self.host.cpus = self.count(f[1], "cpus")
        self.seen["cpus"] = self.lineno

    def st_threads_per_core(self, f):
        self.once("threads-per-core")
        self.nargs(f, 2, "threads-per-core T")
        self.host.tpc = self.count(f[1], "threads-per-core")

    def st_node(self, f):
        self.nargs(f, 6, "node ID cpus LIST memory SIZE")
        if f[2] != "cpus" or f[4] != "memory":
            self.fail("expected 'node ID cpus LIST memory SIZE'")
        nid = self.count(f[1], "node ID", 0)
        if any(n[0] == nid for n in self.host.nodes):
            self.fail("node %d given twice" % nid)
        cpus = parse_cpulist(f[3])
        if cpus is None:
            self.fail("bad CPU list '%s' (expected e.g. 0-7,16-23)" % f[3])
        mem = parse_mem_kb(f[5])
        if not mem:
            self.fail("bad memory size '%s' (expected e.g. 32G or 16384M)"
                      % f[5])
        self.host.nodes.append((nid, cpus, mem, self.lineno))

    def st_hugepages(self, f):
        self.nargs(f, 4, "hugepages SIZE free N")
        m = re.fullmatch(r"(\d+)kB", f[1])
        if not m or int(m.group(1)) not in SIZES_KB or f[2] != "free":
            self.fail("expected 'hugepages 2048kB|1048576kB free N', got "
                      "'%s'" % " ".join(f))
        size = int(m.group(1))
        if size in self.host.hugepages:
            self.fail("hugepages %s given twice" % f[1])
        self.host.hugepages[size] = self.count(f[3], "hugepage count", 0)

    def st_cmdline(self, f):
        self.once("cmdline")
        self.nargs(f, 2, 'cmdline "..." (quote the command line)')
        self.host.cmdline = f[1]

    def st_cgroup(self, f):
        self.once("cgroup")
        self.nargs(f, 2, "cgroup v2|hybrid")
        if f[1] not in ("v2", "hybrid"):
            self.fail("cgroup must be 'v2' or 'hybrid', got '%s'" % f[1])
        self.host.cgroup = f[1]

    def st_l3(self, f):
        self.nargs(f, 2, "l3 CPULIST")
        cpus = parse_cpulist(f[1])
        if cpus is None:
            self.fail("bad CPU list '%s' (expected e.g. 0-7,16-23)" % f[1])
        self.host.l3.append((cpus, self.lineno))

    def st_battery(self, f):
        self.once("battery")
        if len(f) > 2:
            self.fail("expected 'battery [NAME]', got %d field(s)" % len(f))
        name = f[1] if len(f) == 2 else "BAT0"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            self.fail("battery name '%s' may hold only letters, digits, "
                      "'_' and '-'" % name)
        self.host.battery = name

    def st_pci(self, f):
        usage = 'pci BDF CLASS VENDOR:DEVICE GROUP DRIVER [FLAG...] "NAME"'
        if len(f) < 7:
            self.fail("expected '%s', got %d field(s)" % (usage, len(f)))
        p = Pci(self.lineno)
        m = re.fullmatch(r"(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):"
                         r"([0-9a-fA-F]{2})\.([0-7])", f[1])
        if not m or int(m.group(3), 16) > 0x1f:
            self.fail("bad PCI address '%s' (expected DDDD:BB:DD.F, e.g. "
                      "0000:01:00.0)" % f[1])
        p.dom = int(m.group(1) or "0", 16)
        p.bus, p.dev, p.fn = (int(m.group(2), 16), int(m.group(3), 16),
                              int(m.group(4)))
        if not re.fullmatch(r"[0-9a-fA-F]{4}([0-9a-fA-F]{2})?", f[2]):
            self.fail("bad class '%s' (expected 4 hex digits, e.g. 0300)"
                      % f[2])
        p.cls = int(f[2][:4], 16)
        if len(f[2]) == 6:
            p.progif = int(f[2][4:], 16)
        ids = f[3].split(":")
        if len(ids) != 2 or None in (parse_hex(ids[0], 4),
                                     parse_hex(ids[1], 4)):
            self.fail("bad VENDOR:DEVICE '%s' (expected e.g. 10de:1c02)"
                      % f[3])
        p.vendor, p.device = int(ids[0], 16), int(ids[1], 16)
        p.group = None if f[4] == "-" else self.count(f[4], "IOMMU group",
                                                      0)
        if f[5] != "-":
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", f[5]):
                self.fail("bad driver name '%s' (use - for none)" % f[5])
            p.driver = f[5]
        for flag in f[6:-1]:
            self.pci_flag(p, flag)
        p.name = f[-1]
        if p.name in ("bridge", "boot_vga") or re.match(
                r"(node|reset|subsys)=", p.name):
            self.fail("missing device name after the flags (the last field "
                      'is the quoted "NAME")')
        self.host.pci.append(p)

    def choice(self, f, usage, allowed):
        self.nargs(f, 2, usage)
        if f[1] not in allowed:
            self.fail("%s must be %s, got '%s'"
                      % (f[0], " or ".join("'%s'" % a for a in allowed),
                         f[1]))
        return f[1]

    def st_processor(self, f):
        self.once("processor")
        if len(f) < 2 or f[1] not in ("intel", "amd"):
            self.fail("expected 'processor intel|amd [novirt] "
                      "[hypervisor]'")
        self.host.vendor = f[1]
        for flag in f[2:]:
            if flag == "novirt":
                self.host.virt = False
            elif flag == "hypervisor":
                self.host.hypervisor = True
            else:
                self.fail("unknown processor flag '%s' (expected novirt, "
                          "hypervisor)" % flag)

    def st_kvm(self, f):
        self.once("kvm")
        if len(f) not in (2, 3) or f[1] not in ("yes", "no", "broken"):
            self.fail("expected 'kvm yes|no|broken [hv=LIST]'")
        self.host.kvm = f[1]
        if len(f) == 3:
            k, eq, v = f[2].partition("=")
            if k != "hv" or not eq:
                self.fail("expected hv=LIST after 'kvm %s', got '%s'"
                          % (f[1], f[2]))
            names = [x for x in v.split(",") if x]
            bad = [x for x in names if x not in HV_FEATURES]
            if bad:
                self.fail("unknown Hyper-V enlightenment '%s' (known: %s)"
                          % (bad[0], ",".join(HV_FEATURES)))
            self.host.hv = names

    def st_systemd(self, f):
        self.once("systemd")
        self.host.systemd = self.choice(f, "systemd yes|no",
                                        ("yes", "no")) == "yes"

    def st_pci_ids(self, f):
        self.once("pci-ids")
        self.host.pci_ids = self.choice(f, "pci-ids yes|no",
                                        ("yes", "no")) == "yes"

    def st_bootloader(self, f):
        self.once("bootloader")
        self.host.bootloader = self.choice(f, "bootloader NAME", BOOTLOADERS)

    def devname(self, s, what):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", s):
            self.fail("bad %s name '%s'" % (what, s))
        return s

    def bdf_arg(self, v):
        m = re.fullmatch(r"([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])",
                         v)
        if not m:
            self.fail("bad pci=%s (expected pci=DDDD:BB:DD.F)" % v)
        return v

    def st_block(self, f):
        usage = ("block NAME pci=BDF|on=NAME[,NAME] [mount=PATH] [fs=TYPE] "
                 "[swap] [dm=NAME]")
        if len(f) < 3:
            self.fail("expected '%s'" % usage)
        b = Block(self.lineno, self.devname(f[1], "block device"))
        if any(x.name == b.name for x in self.host.blocks):
            self.fail("block device %s given twice" % b.name)
        for a in f[2:]:
            k, eq, v = a.partition("=")
            if k == "pci" and eq:
                b.bdf = self.bdf_arg(v)
            elif k == "on" and eq and v:
                b.on = v.split(",")
            elif k == "mount" and eq and v.startswith("/"):
                b.mount = v
            elif k == "fs" and eq and re.fullmatch(r"[a-z0-9_.]+", v):
                b.fs = v
            elif a == "swap":
                b.swap = True
            elif k == "dm" and eq and v:
                b.dm = v
            else:
                self.fail("unknown block field '%s' (expected %s)"
                          % (a, usage))
        if bool(b.bdf) == bool(b.on):
            self.fail("block %s needs pci=BDF (a disk) or on=NAME (a "
                      "partition or volume), not both" % b.name)
        if b.dm and not b.name.startswith("dm-"):
            self.fail("dm=%s is only for dm-N devices" % b.dm)
        self.host.blocks.append(b)

    def st_net(self, f):
        if len(f) not in (3, 4) or not f[2].startswith("pci="):
            self.fail("expected 'net NAME pci=BDF [master=BRIDGE]'")
        master = None
        if len(f) == 4:
            k, eq, v = f[3].partition("=")
            if k != "master" or not v:
                self.fail("expected master=BRIDGE, got '%s'" % f[3])
            master = self.devname(v, "bridge")
        name = self.devname(f[1], "interface")
        if any(n[0] == name for n in self.host.nets) or name in ("lo",
                                                                  "br0"):
            self.fail("interface %s given twice" % name)
        self.host.nets.append((name, self.bdf_arg(f[2][4:]), master,
                               self.lineno))

    def st_default_route(self, f):
        self.once("default-route")
        self.nargs(f, 2, "default-route INTERFACE")
        self.host.route = self.devname(f[1], "interface")

    def st_console(self, f):
        self.nargs(f, 3, "console TTY pci=BDF")
        if not f[2].startswith("pci="):
            self.fail("expected 'console TTY pci=BDF'")
        self.host.consoles.append((self.devname(f[1], "tty"),
                                   self.bdf_arg(f[2][4:]), self.lineno))

    def st_holder(self, f):
        usage = "holder PID COMM [unit=UNIT] /dev/PATH..."
        if len(f) < 4:
            self.fail("expected '%s'" % usage)
        pid = self.count(f[1], "PID", 2)
        if any(h[0] == pid for h in self.host.holders):
            self.fail("holder %d given twice" % pid)
        unit = None
        paths = []
        for a in f[3:]:
            if a.startswith("unit="):
                unit = a[5:]
            elif re.fullmatch(r"/dev/[A-Za-z0-9_./-]+", a) and ".." not in a:
                paths.append(a)
            else:
                self.fail("bad holder field '%s' (expected %s)" % (a, usage))
        if not paths:
            self.fail("holder %d holds nothing (expected %s)" % (pid, usage))
        self.host.holders.append((pid, f[2], unit, paths, self.lineno))

    def pci_flag(self, p, flag):
        k, eq, v = flag.partition("=")
        if flag == "bridge":
            p.bridge = True
        elif flag == "boot_vga":
            if p.cls != 0x0300:
                self.fail("boot_vga is only for VGA devices (class 0300), "
                          "not class %04x" % p.cls)
            p.boot_vga = True
        elif k == "node" and eq:
            p.node = self.count(v, "node=", 0)
        elif k == "reset" and eq:
            methods = v.split(",")
            bad = [x for x in methods if x not in RESET_METHODS]
            if bad or not v:
                self.fail("unknown reset method '%s' (expected %s)"
                          % (v, "|".join(RESET_METHODS)))
            p.reset = [x for x in methods if x != "none"]
        elif k == "subsys" and eq:
            ids = v.split(":")
            if len(ids) != 2 or None in (parse_hex(ids[0], 4),
                                         parse_hex(ids[1], 4)):
                self.fail("bad subsys=%s (expected subsys=VENDOR:DEVICE, "
                          "e.g. subsys=1043:8671)" % v)
            p.subsys = (int(ids[0], 16), int(ids[1], 16))
        else:
            self.fail("unknown flag '%s' (expected bridge, boot_vga, "
                      "node=N, reset=flr|bus|none, subsys=VENDOR:DEVICE)"
                      % flag)

    def finish(self):
        h = self.host
        end = self.lineno
        if h.cpus is None:
            self.fail("missing 'cpus N' statement", end)
        if h.cpus % h.tpc:
            self.fail("cpus %d is not a multiple of threads-per-core %d"
                      % (h.cpus, h.tpc), self.seen.get("threads-per-core"))
        if h.name is None:
            h.name = re.sub(r"\.host$", "", h.path.rsplit("/", 1)[-1])
        if not h.nodes:
            # No node line: one node with every CPU and 16 GiB.
            h.nodes.append((0, list(range(h.cpus)), 16 << 20, end))
        h.nodes.sort()
        owner = {}
        for nid, cpus, _, line in h.nodes:
            for c in cpus:
                if c >= h.cpus:
                    self.fail("node %d: CPU %d out of range (cpus %d: 0-%d)"
                              % (nid, c, h.cpus, h.cpus - 1), line)
                if c in owner:
                    self.fail("CPU %d is in node %d and node %d"
                              % (c, owner[c], nid), line)
                owner[c] = nid
        missing = [c for c in range(h.cpus) if c not in owner]
        if missing:
            self.fail("CPU %d is in no node (every CPU 0-%d needs a node)"
                      % (missing[0], h.cpus - 1), h.nodes[-1][3])
        self.check_pci()

    def check_pci(self):
        h = self.host
        seen = {}
        nodes = {n[0] for n in h.nodes}
        boot = None
        for p in h.pci:
            if p.key in seen:
                self.fail("PCI address %s given twice (first on line %d)"
                          % (p.bdf, seen[p.key]), p.line)
            seen[p.key] = p.line
            if p.node >= 0 and p.node not in nodes:
                self.fail("node=%d: no such node (nodes: %s)"
                          % (p.node, ",".join(map(str, sorted(nodes)))),
                          p.line)
            if p.boot_vga:
                if boot:
                    self.fail("two boot_vga devices (%s on line %d); the "
                              "firmware boots on one" % (boot.bdf,
                                                         boot.line), p.line)
                boot = p
        h.pci.sort(key=lambda d: d.key)
        self.check_links()
        default_blocks(h)
        default_nets(h)

    def check_links(self):
        """What the block, net, console and route lines name exists."""
        h = self.host
        bdfs = {p.bdf for p in h.pci}
        names = set()
        for b in h.blocks:
            if b.bdf and b.bdf not in bdfs:
                self.fail("block %s: pci=%s is no pci line of this fixture"
                          % (b.name, b.bdf), b.line)
            for o in b.on:
                if o not in names:
                    self.fail("block %s: on=%s names no block device "
                              "given before it" % (b.name, o), b.line)
            names.add(b.name)
        for name, bdf, master, line in h.nets:
            if bdf not in bdfs:
                self.fail("net %s: pci=%s is no pci line of this fixture"
                          % (name, bdf), line)
        for name, bdf, line in h.consoles:
            if bdf not in bdfs:
                self.fail("console %s: pci=%s is no pci line of this "
                          "fixture" % (name, bdf), line)
        ifaces = {n[0] for n in h.nets} | {n[2] for n in h.nets if n[2]} | \
            {"br0"}
        if h.route and h.route not in ifaces:
            self.fail("default-route %s: no such interface (net lines: %s)"
                      % (h.route, ", ".join(sorted(ifaces))),
                      self.seen.get("default-route"))


# A fixture without block (net) lines gets the disks (interfaces) a
# desktop of its PCI functions has: the root file system on its first NVMe
# (else SATA) controller, the default route on its first Ethernet port.
def default_blocks(h):
    if h.blocks:
        return
    nvme = [p for p in h.pci if p.cls == 0x0108 and p.driver == "nvme"]
    sata = [p for p in h.pci if p.cls == 0x0106 and p.driver == "ahci"]
    for i, p in enumerate(nvme):
        b = Block(p.line, "nvme%dn1" % i)
        b.bdf = p.bdf
        h.blocks.append(b)
    if not nvme and sata:
        b = Block(sata[0].line, "sda")
        b.bdf = sata[0].bdf
        h.blocks.append(b)
    if not h.blocks:
        return
    disk = h.blocks[0].name
    sep = "p" if disk[-1].isdigit() else ""
    for n, mount, fs in ((1, "/boot/efi", "vfat"), (2, "/", "ext4")):
        b = Block(h.blocks[0].line, "%s%s%d" % (disk, sep, n))
        b.on, b.mount, b.fs = [disk], mount, fs
        h.blocks.append(b)


def net_name(p):
    kind = "wl" if p.cls == 0x0280 else "en"
    return "%sp%ds%d%s" % (kind, p.bus, p.dev, "f%d" % p.fn if p.fn else "")


def default_nets(h):
    if h.nets:
        return
    for p in h.pci:
        if p.cls >> 8 == 0x02 and p.driver and p.driver != "vfio-pci":
            h.nets.append((net_name(p), p.bdf, None, p.line))
    eth = [n for n, bdf, _, _ in h.nets if n.startswith("en")]
    if h.route is None and h.nets:
        h.route = eth[0] if eth else h.nets[0][0]


def parse_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise FixtureError("%s: cannot read: %s" % (path, e.strerror))
    except UnicodeDecodeError:
        raise FixtureError("%s: not a UTF-8 text file" % path)
    return Parser(path).parse(text)
