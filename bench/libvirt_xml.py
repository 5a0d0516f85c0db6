# bench/libvirt_xml.py: libvirt for the benchmarks' libvirt columns: whether
# a daemon answers, a folder libvirt's QEMU user can reach, the bench VM as
# a domain (q35, TCG, OVMF, 2 vCPUs of model max, std VGA, no network, no
# display), and the daemons to watch. Only used when virsh is installed.
import os
import shutil
import subprocess
from xml.sax.saxutils import escape

VIRSH = ["virsh", "-q", "-c", "qemu:///system"]
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
SETUP = "docs/LIBVIRT.md"
# libvirtd (monolithic) or virtqemud (modular) runs QEMU; virtlogd holds
# QEMU's stdout and stderr for every domain: both are what libvirt keeps
# running next to a guest, as vmrun is next to its own.
DAEMONS = ("libvirtd", "virtqemud", "virtlogd")


def virsh(*args, timeout=120, check=True):
    r = subprocess.run(VIRSH + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    if check and r.returncode != 0:
        # "error: Failed to start domain 'x'\nerror: <why>": the why
        lines = (r.stderr.strip() or r.stdout.strip()).splitlines() or [""]
        msg = lines[-1]
        if msg.startswith("error: "):
            msg = msg[7:]
        raise RuntimeError("virsh %s: %s" % (args[0], msg))
    return r


def unavailable():
    """None when a libvirt daemon answers; else the table's row label."""
    if not shutil.which("virsh"):
        return "libvirt: not installed"
    try:
        r = virsh("version", "--daemon", timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "libvirt: its daemon does not answer (see %s)" % SETUP
    if r.returncode != 0:
        return "libvirt: installed, no daemon running (see %s)" % SETUP
    return None


def version():
    """"libvirt: 9.0.0 (libvirtd, virtlogd running)" or None."""
    try:
        r = virsh("version", "--daemon", timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return None
    ver = None
    for line in r.stdout.splitlines():
        if line.startswith("Running against daemon:"):
            ver = line.split(":", 1)[1].strip()
    if not ver:
        return None
    running = [c for c in DAEMONS if daemon_pids(c)]
    return "libvirt: %s (%s running)" % (ver, ", ".join(running) or "?")


def folder(tmp):
    """A folder under tmp for libvirt's files (the disk copy, the nvram)
    that libvirt's QEMU user can reach. libvirt runs QEMU as its own user
    (libvirt-qemu on Debian, qemu elsewhere) and hands it the files it
    names (dynamic_ownership), but not the folders above them: tmp, made
    0700 by mkdtemp, must let others through (0711, still unlistable)."""
    os.chmod(tmp, 0o711)
    d = os.path.join(tmp, "libvirt")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    p = os.path.dirname(os.path.abspath(tmp))
    while p != "/":
        if not os.stat(p).st_mode & 0o001:
            raise RuntimeError("libvirt's QEMU user cannot pass %s (mode "
                               "%o): set TMPDIR to a folder it can reach" %
                               (p, os.stat(p).st_mode & 0o7777))
        p = os.path.dirname(p)
    return d


def domain_xml(name, d, memory_mib=512, disk=None, hugepages=False,
               threads=None):
    """The bench VM; with hugepages its RAM on hugetlbfs (which libvirt
    preallocates), and with threads as many preallocation threads
    (<allocation threads='N'/>, libvirt >= 8.2)."""
    backing = ""
    if hugepages:
        backing = "<memoryBacking><hugepages/>%s</memoryBacking>" % (
            "<allocation mode='immediate' threads='%d'/>" % threads
            if threads else "")
    drive = ""
    if disk:
        drive = ("<disk type='file' device='disk'><driver name='qemu' "
                 "type='raw' cache='none'/><source file='%s'/>"
                 "<target dev='vda' bus='virtio'/></disk>" % escape(disk))
    return """<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>%d</memory>
  %s
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <loader readonly='yes' type='pflash'>%s</loader>
    <nvram template='%s'>%s</nvram>
  </os>
  <features><acpi/></features>
  <cpu mode='maximum'/>
  <clock offset='localtime'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    %s
    <video><model type='vga'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
""" % (escape(name), memory_mib, backing, OVMF_CODE, OVMF_VARS,
       escape(os.path.join(d, name + "-vars.fd")), drive)


def define(name, d, **kw):
    """Define the domain (a leftover of the same name, from a benchmark
    that was killed, is removed first); its name."""
    undefine(name)
    path = os.path.join(d, name + ".xml")
    with open(path, "w") as f:
        f.write(domain_xml(name, d, **kw))
    virsh("define", path)
    return name


def has_alloc_threads(name):
    """Whether the daemon kept <allocation threads=...> (libvirt drops
    what its parser does not know)."""
    return "threads=" in virsh("dumpxml", "--inactive", name).stdout


def start(name, timeout=120):
    """virsh start: it returns once libvirt has resumed the guest."""
    virsh("start", name, timeout=timeout)


def destroy(name):
    virsh("destroy", name, check=False, timeout=120)


def undefine(name):
    destroy(name)
    virsh("undefine", "--nvram", name, check=False, timeout=120)


def qemu_pid(name):
    """The pid of the domain's QEMU, from libvirt's pid file."""
    with open("/run/libvirt/qemu/%s.pid" % name) as f:
        return int(f.read().strip())


def daemon_pids(comm):
    r = subprocess.run(["pidof", comm], stdout=subprocess.PIPE, text=True)
    return [int(p) for p in r.stdout.split()]


def daemons():
    """(comm, pid) of libvirt's running daemons."""
    return [(c, p) for c in DAEMONS for p in daemon_pids(c)]
