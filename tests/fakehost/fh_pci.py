# fh_pci.py: the PCI part of a fake host root: nested device folders with
# the kernel's attribute files, config space, drivers, IOMMU groups, pci.ids.
import os
import struct

from fh_util import cpumask, cpus_of_node, fmt_list, link, write

VENDORS = {
    0x10de: "NVIDIA Corporation",
    0x1002: "Advanced Micro Devices, Inc. [AMD/ATI]",
    0x1022: "Advanced Micro Devices, Inc. [AMD]",
    0x8086: "Intel Corporation",
    0x144d: "Samsung Electronics Co Ltd",
    0x10ec: "Realtek Semiconductor Co., Ltd.",
    0x1e0f: "KIOXIA Corporation",
    0x1043: "ASUSTeK Computer Inc.",
    0x1458: "Gigabyte Technology Co., Ltd",
    0x1462: "Micro-Star International Co., Ltd. [MSI]",
    0x3842: "eVga.com. Corp.",
    0x1b36: "Red Hat, Inc.",
    0x1af4: "Red Hat, Inc.",
}

# Class names as pci.ids spells them (for lspci-like output).
CLASSES = {
    0x01: ("Mass storage controller", {0x06: "SATA controller",
                                       0x08: "Non-Volatile memory "
                                             "controller",
                                       0x80: "Mass storage controller"}),
    0x02: ("Network controller", {0x00: "Ethernet controller",
                                  0x80: "Network controller"}),
    0x03: ("Display controller", {0x00: "VGA compatible controller",
                                  0x02: "3D controller"}),
    0x04: ("Multimedia controller", {0x03: "Audio device"}),
    0x06: ("Bridge", {0x00: "Host bridge", 0x01: "ISA bridge",
                      0x04: "PCI bridge"}),
    0x0c: ("Serial bus controller", {0x03: "USB controller",
                                     0x05: "SMBus"}),
    0x10: ("Encryption controller", {0x80: "Encryption controller"}),
    0x13: ("Non-Essential Instrumentation", {}),
    0xff: ("Unassigned class", {}),
}

# Programming interfaces the kernel shows in the class file.
PROGIF = {0x0c03: {"xhci_hcd": 0x30, "ehci-pci": 0x20, "ohci-pci": 0x10,
                   "uhci_hcd": 0x00, None: 0x30},
          0x0106: {None: 0x01}, 0x0108: {None: 0x02}}

PCIE_ROOT_PORT, PCIE_UPSTREAM, PCIE_DOWNSTREAM = 4, 5, 6
PCIE_ENDPOINT, PCIE_RC_ENDPOINT = 0, 9


def progif(p):
    if p.progif is not None:
        return p.progif
    table = PROGIF.get(p.cls, {})
    return table.get(p.driver, table.get(None, 0))


def assign_buses(devs):
    """Secondary bus numbers, depth-first in BDF order, as firmware does.
    Returns {(dom, bus): parent bridge or None for a root bus}."""
    by_bus = {}
    for p in devs:
        by_bus.setdefault((p.dom, p.bus), []).append(p)
    parent = {}
    for dom in sorted({p.dom for p in devs}):
        counter = [0]

        def walk(bus, up, dom=dom):
            parent[(dom, bus)] = up
            for p in by_bus.get((dom, bus), []):
                p.parent = up
                if p.bridge:
                    p.secondary = counter[0]
                    counter[0] += 1
                    walk(p.secondary, p)
                    p.subordinate = counter[0] - 1
        for bus in sorted(b for d, b in by_bus if d == dom):
            if (dom, bus) not in parent:
                counter[0] = max(counter[0], bus + 1)
                walk(bus, None)
    return parent


def device_relpath(p):
    """Path of the device folder under ROOT/sys."""
    parts = []
    q = p
    while q:
        parts.append(q.bdf)
        root_bus = (q.dom, q.bus)
        q = q.parent
    parts.append("pci%04x:%02x" % root_bus)
    return "devices/" + "/".join(reversed(parts))


def pcie_type(p):
    if not p.bridge and p.cls != 0x0604:
        return PCIE_RC_ENDPOINT if p.parent is None else PCIE_ENDPOINT
    if p.parent is None:
        return PCIE_ROOT_PORT
    up = pcie_type(p.parent)
    return PCIE_DOWNSTREAM if up == PCIE_UPSTREAM else PCIE_UPSTREAM


def config_space(p, multifunction):
    """256 bytes of configuration space, little-endian as the kernel
    returns it: IDs, command, class, header type, bus numbers or subsystem
    IDs, and a PM + PCI Express capability (FLR bit when reset=flr)."""
    c = bytearray(256)
    bridge = p.bridge or p.cls == 0x0604
    struct.pack_into("<HHHH", c, 0, p.vendor, p.device,
                     0x0007 if p.driver else 0x0000, 0x0010)
    struct.pack_into("<BBBB", c, 8, 0, progif(p), p.cls & 0xff, p.cls >> 8)
    c[0x0e] = (1 if bridge else 0) | (0x80 if multifunction else 0)
    if bridge:
        c[0x18] = p.bus
        c[0x19] = p.secondary or 0
        c[0x1a] = p.subordinate or 0
    else:
        struct.pack_into("<HH", c, 0x2c, *p.subsys)
    c[0x34] = 0x40
    c[0x3c] = p.irq & 0xff
    c[0x3d] = 1 if p.irq else 0
    # PM capability at 0x40 -> PCI Express capability at 0x50
    struct.pack_into("<BBH", c, 0x40, 0x01, 0x50, 0x0003)
    struct.pack_into("<BBH", c, 0x50, 0x10, 0x00, 0x0002 |
                     (pcie_type(p) << 4))
    devcap = (1 << 28) if "flr" in p.reset else 0
    struct.pack_into("<I", c, 0x54, devcap)
    return bytes(c)


def resource_lines(p):
    n = 17 if (p.bridge or p.cls == 0x0604) else 13
    return "0x%016x 0x%016x 0x%016x\n" % (0, 0, 0) * n


def build_device(root, host, p, slots):
    d = os.path.join(root, "sys", device_relpath(p))
    os.makedirs(d, exist_ok=True)
    node_cpus = cpus_of_node(host, p.node)
    w = lambda name, val, mode=0o644: write(os.path.join(d, name), val,
                                             mode)
    w("vendor", "0x%04x\n" % p.vendor, 0o444)
    w("device", "0x%04x\n" % p.device, 0o444)
    w("class", "0x%04x%02x\n" % (p.cls, progif(p)), 0o444)
    w("subsystem_vendor", "0x%04x\n" % p.subsys[0], 0o444)
    w("subsystem_device", "0x%04x\n" % p.subsys[1], 0o444)
    w("revision", "0x00\n", 0o444)
    with open(os.path.join(d, "config"), "wb") as f:
        f.write(config_space(p, slots[(p.dom, p.bus, p.dev)] > 1))
    w("numa_node", "%d\n" % p.node)
    w("driver_override", "(null)\n")
    if p.cls == 0x0300:
        w("boot_vga", "1\n" if p.boot_vga else "0\n", 0o444)
    if p.reset:
        w("reset_method", " ".join(p.reset) + "\n")
        w("reset", "", 0o200)
    w("local_cpulist", fmt_list(node_cpus) + "\n", 0o444)
    w("local_cpus", cpumask(node_cpus, host.cpus) + "\n", 0o444)
    w("irq", "%d\n" % p.irq, 0o444)
    w("enable", "1\n" if p.driver else "0\n")
    w("resource", resource_lines(p), 0o444)
    w("uevent", "DRIVER=%s\nPCI_CLASS=%04X%02X\nPCI_ID=%04X:%04X\n"
      "PCI_SLOT_NAME=%s\n" % (p.driver or "", p.cls, progif(p), p.vendor,
                              p.device, p.bdf) if p.driver else
      "PCI_CLASS=%04X%02X\nPCI_ID=%04X:%04X\nPCI_SLOT_NAME=%s\n"
      % (p.cls, progif(p), p.vendor, p.device, p.bdf))
    for name in ("remove", "rescan"):
        w(name, "", 0o200)
    link(os.path.join(d, "subsystem"), os.path.join(root, "sys/bus/pci"))
    if p.group is not None:
        group = os.path.join(root, "sys/kernel/iommu_groups", str(p.group))
        link(os.path.join(d, "iommu_group"), group)
        link(os.path.join(group, "devices", p.bdf), d)
    link(os.path.join(root, "sys/bus/pci/devices", p.bdf), d)
    if p.driver:
        drv = driver_dir(root, p.driver)
        link(os.path.join(d, "driver"), drv)
        link(os.path.join(drv, p.bdf), d)
    return d


def driver_dir(root, name):
    drv = os.path.join(root, "sys/bus/pci/drivers", name)
    if not os.path.isdir(drv):
        os.makedirs(drv)
        for f in ("bind", "unbind", "new_id", "remove_id"):
            write(os.path.join(drv, f), "", 0o200)
        write(os.path.join(drv, "uevent"), "", 0o200)
    return drv


def build_pci(root, host):
    """Every PCI function, the pci bus files and the IOMMU groups."""
    bus = os.path.join(root, "sys/bus/pci")
    for sub in ("devices", "drivers", "slots"):
        os.makedirs(os.path.join(bus, sub), exist_ok=True)
    write(os.path.join(bus, "drivers_probe"), "", 0o200)
    write(os.path.join(bus, "rescan"), "", 0o200)
    write(os.path.join(bus, "resource_alignment"), "\n")
    write(os.path.join(bus, "drivers_autoprobe"), "1\n")
    os.makedirs(os.path.join(root, "sys/kernel/iommu_groups"),
                exist_ok=True)
    assign_buses(host.pci)
    slots = {}
    for p in host.pci:
        k = (p.dom, p.bus, p.dev)
        slots[k] = slots.get(k, 0) + 1
    irq = 24
    for p in host.pci:
        if p.driver:
            p.irq = irq
            irq += 1
    for p in host.pci:
        build_device(root, host, p, slots)
        for parent in (os.path.join(root, "sys/devices/pci%04x:%02x"
                                    % (p.dom, root_bus(p))),):
            write(os.path.join(parent, "uevent"), "")
    vfio_groups = sorted({p.group for p in host.pci
                          if p.driver == "vfio-pci" and p.group is not None})
    os.makedirs(os.path.join(root, "dev/vfio"), exist_ok=True)
    write(os.path.join(root, "dev/vfio/vfio"), "", 0o666)
    for g in vfio_groups:
        write(os.path.join(root, "dev/vfio", str(g)), "", 0o600)
    if host.pci_ids:
        write(os.path.join(root, "usr/share/misc/pci.ids"), pci_ids(host))


def root_bus(p):
    while p.parent:
        p = p.parent
    return p.bus


def pci_ids(host):
    """An ID database holding the fixture's names, in pci.ids syntax."""
    out = ["# pci.ids of the fakehost fixture %s\n" % host.name,
           "# Syntax: vendor  name / <tab>device  name\n"]
    devices = {}
    vendors = set(VENDORS)
    for p in host.pci:
        if p.name:
            devices.setdefault(p.vendor, {}).setdefault(p.device, p.name)
        vendors.add(p.vendor)
        if p.subsys[0]:
            vendors.add(p.subsys[0])
    for v in sorted(vendors):
        out.append("%04x  %s\n" % (v, VENDORS.get(v, "Vendor %04x" % v)))
        for dev, name in sorted(devices.get(v, {}).items()):
            out.append("\t%04x  %s\n" % (dev, name))
    out.append("\n# List of known device classes\n")
    for c, (name, subs) in sorted(CLASSES.items()):
        out.append("C %02x  %s\n" % (c, name))
        for s, sname in sorted(subs.items()):
            out.append("\t%02x  %s\n" % (s, sname))
    return "".join(out)
