# bench/common.py: what the benchmarks share: paths, the bench profile,
# /proc readers, a small QMP client for bare QEMU, and table printing.
# Standard library only, like tests/fakehost.
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VMRUN = os.environ.get("VMRUN", os.path.join(TOP, "build", "vmrun"))
DEMO_DISK = os.path.join(TOP, "build", "demo", "boot.img")
NAME = "vmrun-bench"


def say(msg):
    """Progress goes to stderr; the tables alone go to stdout."""
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def env_int(name, default):
    v = os.environ.get(name, "")
    try:
        return int(v) if v else default
    except ValueError:
        sys.exit("bench: %s=%s is not a whole number" % (name, v))


def env_float(name, default):
    v = os.environ.get(name, "")
    try:
        return float(v) if v else default
    except ValueError:
        sys.exit("bench: %s=%s is not a number" % (name, v))


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def meminfo(key):
    """A /proc/meminfo value (kB, or a count for HugePages_*)."""
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == key:
                return int(v.split()[0])
    raise KeyError(key)


def write_profile(path, statedir, name=NAME, disk=None, extra=""):
    """The demo-like bench VM: TCG, OVMF, 512 MiB, 2 vCPUs, no network,
    no display, no passthrough."""
    text = ("[vm]\nname = %s\nmemory = 512M\naccel = tcg\n"
            "state-dir = %s\nshutdown-timeout = 5\n\n"
            "[cpu]\nmodel = max\ncores = 2\n\n"
            "[hyperv]\nenlightenments = none\n\n"
            "[net.lan]\nmode = none\n\n"
            "[display]\ntype = none\nvideo = std\n" % (name, statedir))
    if disk:
        text += "\n[disk.boot]\nfile = %s\nformat = raw\n" % disk
    with open(path, "w") as f:
        f.write(text + extra)


def copy_demo_disk(dest):
    """A private copy of the demo disk (QEMU locks its images), or None."""
    if not os.path.exists(DEMO_DISK):
        return None
    shutil.copyfile(DEMO_DISK, dest)
    return dest


def vmrun(*args, check=True, **kw):
    r = subprocess.run([VMRUN] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("vmrun %s: exit %d: %s" %
                           (" ".join(args), r.returncode, r.stderr.strip()))
    return r


def proc_sample(pid):
    """CPU seconds, context switches and RSS (kB) of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    ctx = rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                ctx += int(v)
            elif k == "VmRSS":
                rss = int(v.split()[0])
    return cpu, ctx, rss


def wait_line(stream, text, timeout):
    """Read lines from a pipe until one holds text; the time it came."""
    end = time.monotonic() + timeout
    got = []
    while time.monotonic() < end:
        line = stream.readline()
        if not line:
            break
        got.append(line)
        if text in line:
            return time.monotonic()
    raise RuntimeError("no '%s' line; vmrun said:\n%s" % (text, "".join(got)))


class Qmp:
    """QMP over the socket passed to QEMU as fd 3, as vmrun does."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.events = []

    def _message(self, timeout):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("QEMU closed QMP")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, name, timeout=30):
        self.sock.sendall(json.dumps({"execute": name}).encode() + b"\n")
        while True:
            msg = self._message(timeout)
            if "event" in msg:
                self.events.append(msg)
            elif "return" in msg:
                return msg["return"]
            elif "error" in msg:
                raise RuntimeError("QMP %s: %s" % (name, msg["error"]))

    def wait_event(self, name, timeout=30):
        for ev in self.events:
            if ev["event"] == name:
                return
        while True:
            msg = self._message(timeout)
            if msg.get("event") == name:
                return

    def handshake(self):
        self._message(30)  # the greeting
        self.command("qmp_capabilities")


def spawn_qemu(argv):
    """QEMU with QMP on fd 3 (the argv's chardev rewritten to fd=3, as
    vmrun rewrites it); returns (process, Qmp)."""
    ours, theirs = socket.socketpair()
    args = [("socket,id=qmp,fd=3" if a.startswith("socket,id=qmp,") else a)
            for a in argv]

    def child():
        if theirs.fileno() == 3:
            os.set_inheritable(3, True)
        else:
            os.dup2(theirs.fileno(), 3)  # the copy is inheritable

    p = subprocess.Popen(args, preexec_fn=child, close_fds=False,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    theirs.close()
    return p, Qmp(ours)


def table(title, header, rows, notes=()):
    """A Markdown table, so the doc can quote it as printed."""
    out = ["### " + title, "", "| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    out.append("")
    for n in notes:
        out.append(n)
    if notes:
        out.append("")
    print("\n".join(out))
    sys.stdout.flush()


def have(cmd):
    return shutil.which(cmd) is not None
