# bench/common.py: what the benchmarks share: paths, the bench profile,
# /proc readers, a small QMP client for bare QEMU, and table printing.
# Standard library only, like tests/fakehost.
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
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


def write_profile(path, statedir, name=NAME, disk=None, extra="",
                  memory="512M"):
    """The demo-like bench VM: TCG, OVMF, 512 MiB, 2 vCPUs, no network,
    no display, no passthrough."""
    text = ("[vm]\nname = %s\nmemory = %s\naccel = tcg\n"
            "state-dir = %s\nshutdown-timeout = 5\n\n"
            "[cpu]\nmodel = max\ncores = 2\n\n"
            "[hyperv]\nenlightenments = none\n\n"
            "[net.lan]\nmode = none\n\n"
            "[display]\ntype = none\nvideo = std\n" %
            (name, memory, statedir))
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


def _thread_switches(pid):
    """Voluntary + involuntary context switches of each live thread of a
    process (/proc/PID/task/TID/status): /proc/PID/status counts the main
    thread alone, which says nothing about a multi-threaded daemon."""
    out = {}
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        n = 0
        try:
            with open("%s/%s/status" % (base, tid)) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("voluntary_ctxt_switches",
                             "nonvoluntary_ctxt_switches"):
                        n += int(v)
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended while we read
        out[int(tid)] = n
    return out


class ProcSample:
    """CPU seconds (all threads: utime + stime of /proc/PID/stat), RSS
    (kB) and the context switches of every thread of a process."""

    def __init__(self, pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        self.cpu = (int(fields[11]) + int(fields[12])) / tick
        self.rss = 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k == "VmRSS":
                    self.rss = int(v.split()[0])
        self.threads = _thread_switches(pid)

    def switches_since(self, old):
        """Context switches since an older sample, over all threads: the
        growth of threads in both, and all of a thread born since. A
        thread that ended in between takes its last switches with it."""
        return sum(n - old.threads.get(tid, 0)
                   for tid, n in self.threads.items())


def wait_line(stream, text, timeout):
    """Read a pipe (its fd, past any buffering) until a line holds text,
    for at most timeout seconds; the time the line came."""
    end = time.monotonic() + timeout
    fd = stream.fileno()
    buf = b""
    want = text.encode()
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            why = "none in %g s" % timeout
            break
        data = os.read(fd, 4096)
        if not data:
            why = "it closed its stderr"
            break
        buf += data
        if want in buf:
            return time.monotonic()
    raise RuntimeError("no '%s' line (%s); vmrun said:\n%s" %
                       (text, why, buf.decode(errors="replace")))


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

    def handshake(self, timeout=30):
        self._message(timeout)  # the greeting
        self.command("qmp_capabilities")


def spawn_qemu(argv):
    """QEMU with QMP on fd 3 (the argv's chardev rewritten to fd=3, as
    vmrun rewrites it) and its stderr in an unnamed file (p.stderr), for
    the error message; returns (process, Qmp)."""
    ours, theirs = socket.socketpair()
    args = [("socket,id=qmp,fd=3" if a.startswith("socket,id=qmp,") else a)
            for a in argv]

    def child():
        if theirs.fileno() == 3:
            os.set_inheritable(3, True)
        else:
            os.dup2(theirs.fileno(), 3)  # the copy is inheritable

    err = tempfile.TemporaryFile()
    p = subprocess.Popen(args, preexec_fn=child, close_fds=False,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=err)
    theirs.close()
    p.stderr = err
    return p, Qmp(ours)


def qemu_said(p):
    """The end of what QEMU wrote to its stderr (spawn_qemu)."""
    p.stderr.seek(0)
    return p.stderr.read().decode(errors="replace").strip()[-500:]


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
