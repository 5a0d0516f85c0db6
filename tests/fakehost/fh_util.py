# fh_util.py: helpers shared by the fake host builder, snapshot and set:
# file writing, relative links, and the kernel's list and mask formats.
import os


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def read(path, default=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def link(path, target):
    """A relative symlink, as sysfs has them."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rel = os.path.relpath(target, os.path.dirname(path))
    if os.path.lexists(path):
        os.unlink(path)
    os.symlink(rel, path)


def fmt_list(cpus):
    """Kernel list syntax of a set of numbers: "0-3,8"."""
    cpus = sorted(set(cpus))
    out = []
    i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else "%d-%d" % (cpus[i], cpus[j]))
        i = j + 1
    return ",".join(out)


def cpumask(cpus, nbits):
    """Kernel bitmap format (%*pb): hex in 32-bit groups, comma separated,
    the leading group only as wide as nbits needs."""
    value = 0
    for c in cpus:
        value |= 1 << c
    groups = []
    nbits = max(nbits, 1)
    ngroups = (nbits + 31) // 32
    for g in range(ngroups - 1, -1, -1):
        chunk = (value >> (32 * g)) & 0xffffffff
        if g == ngroups - 1:
            width = ((nbits - 32 * g) + 3) // 4
        else:
            width = 8
        groups.append("%0*x" % (width, chunk))
    return ",".join(groups)


def cpus_of_node(host, node):
    for nid, cpus, _, _ in host.nodes:
        if nid == node:
            return cpus
    return list(range(host.cpus))


def node_of_cpu(host, cpu):
    for nid, cpus, _, _ in host.nodes:
        if cpu in cpus:
            return nid
    return 0
