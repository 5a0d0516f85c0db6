#!/usr/bin/env python3
# bench/bigstart.py: spawn to guest running for a big guest whose RAM is on
# 2 MiB hugepages, where the start is QEMU touching every page before the
# first instruction (prealloc): vmrun, bare QEMU with QEMU's default of one
# preallocation thread, bare QEMU with prealloc-threads=N (and on QEMU >=
# 7.2 a thread-context bound to the memory's node as prealloc-context),
# libvirt's default domain, and libvirt with <allocation threads='N'/>.
# The pool is raised for the run and put back afterwards.
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (NAME, env_int, median, meminfo, say, table,  # noqa
                    vmrun, write_profile)
import libvirt_xml  # noqa: E402
from start import one_line, time_attached, time_bare  # noqa: E402

NODE = 0  # the node vmrun puts the RAM of a profile without [pci] on
NR = "/proc/sys/vm/nr_hugepages"
NODE_NR = ("/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/"
           "nr_hugepages" % NODE)
ONE = "bare QEMU, QEMU's default (1 thread)"


def read_int(path):
    with open(path) as f:
        return int(f.read())


def write_int(path, n):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, str(n).encode())
    except OSError:
        pass  # the kernel gave what it could; the read-back tells
    finally:
        os.close(fd)


def node_cpus(node):
    """The CPUs of a NUMA node this process may run on."""
    cpus = set()
    path = "/sys/devices/system/node/node%d/cpulist" % node
    try:
        with open(path) as f:
            for part in f.read().strip().split(","):
                if part:
                    lo, _, hi = part.partition("-")
                    cpus.update(range(int(lo), int(hi or lo) + 1))
    except FileNotFoundError:
        cpus = set(range(os.cpu_count() or 1))
    return cpus & os.sched_getaffinity(0) or os.sched_getaffinity(0)


def default_gib():
    """What the host can spare: a fifth of MemAvailable, at most 32 GiB."""
    return max(1, min(32, meminfo("MemAvailable") // 5 // (1 << 20)))


class Pool:
    """The 2 MiB pool of the node raised by what the guest needs for the
    run, and put back to its count at the end (also on SIGTERM/SIGHUP)."""

    def __init__(self, pages):
        self.path = NODE_NR if os.path.exists(NODE_NR) else NR
        self.free = self.path.replace("nr_hugepages", "free_hugepages")
        if not os.path.exists(self.free):
            self.free = "/sys/kernel/mm/hugepages/hugepages-2048kB/" \
                "free_hugepages"
        self.start = read_int(self.path)
        self.pages = pages
        self.topped = 0  # pages added because others took ours

    def raise_(self):
        self._set(self.start + self.pages)

    def _set(self, want):
        for attempt in range(2):
            write_int(self.path, want)
            if read_int(self.path) >= want:
                return
            if attempt == 0:  # compact and try once more
                write_int("/proc/sys/vm/compact_memory", 1)
        raise RuntimeError("could only raise the pool (%s) to %d of %d "
                           "pages: set BENCH_BIG_GIB lower" %
                           (self.path, read_int(self.path), want))

    def ensure_free(self):
        """Before a run: the guest's pages free in the pool. Another vmrun
        on the host counts free pages towards its own guest and may have
        taken some; add them back (counted, and said under the table)."""
        short = self.pages - read_int(self.free)
        if short > 0:
            say("bigstart: %d pages of the pool were taken by another "
                "program: adding them back" % short)
            self._set(read_int(self.path) + short)
            self.topped += short

    def restore(self):
        if read_int(self.path) != self.start:
            write_int(self.path, self.start)
        return read_int(self.path) == self.start


class HugeDir:
    """A folder on a 2 MiB hugetlbfs for bare QEMU's RAM: in one already
    mounted at /dev/hugepages, or on a mount of our own."""

    def __init__(self, tmp):
        self.mount = None
        if is_hugetlbfs_2m("/dev/hugepages"):
            self.path = tempfile.mkdtemp(prefix="vmrun-bench-big.",
                                         dir="/dev/hugepages")
        else:
            self.path = os.path.join(tmp, "hugetlbfs")
            os.mkdir(self.path, 0o700)
            subprocess.run(["mount", "-t", "hugetlbfs", "-o",
                            "pagesize=2M,mode=0700", "vmrun-bench",
                            self.path], check=True)
            self.mount = self.path

    def remove(self):
        if self.mount:
            subprocess.run(["umount", self.mount])
        os.rmdir(self.path)


def is_hugetlbfs_2m(path):
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if mnt == path and fstype == "hugetlbfs":
                return "pagesize=2M" in opts
    return False


def has_thread_context():
    r = subprocess.run(["qemu-system-x86_64", "-object", "help"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, timeout=60)
    return any(x.strip() == "thread-context" for x in r.stdout.splitlines())


def backend_of(argv):
    """Index and properties of the guest RAM's memory backend."""
    for i, a in enumerate(argv):
        if a.startswith("{") and argv[i - 1] == "-object":
            obj = json.loads(a)
            if obj.get("qom-type") == "memory-backend-file":
                return i, obj
    raise RuntimeError("vmrun's argv has no memory-backend-file: %s" %
                       " ".join(argv))


def bare_argv(argv, mem_dir, threads=None, context=False):
    """vmrun's argv with the RAM in mem_dir, and with threads, as many
    preallocation threads (bound to the node by a thread-context)."""
    argv = list(argv)
    i, obj = backend_of(argv)
    obj["mem-path"] = mem_dir
    obj.pop("prealloc-threads", None)
    obj.pop("prealloc-context", None)
    if threads:
        obj["prealloc-threads"] = threads
        if context:
            tc = {"qom-type": "thread-context", "id": "tc-" + obj["id"],
                  "node-affinity": [NODE]}
            argv[i - 1:i - 1] = ["-object", compact(tc)]
            i += 2
            obj["prealloc-context"] = tc["id"]
    argv[i] = compact(obj)
    return argv


def compact(obj):
    """JSON as vmrun writes it in an argv: no spaces."""
    return json.dumps(obj, separators=(",", ":"))


def time_virsh(domain):
    t0 = time.monotonic()
    try:
        libvirt_xml.start(domain, timeout=300)
        t1 = time.monotonic()
    finally:
        libvirt_xml.destroy(domain)
    return t1 - t0


def stopped(signum, _frame):
    """SIGTERM or SIGHUP: unwind, so the host is put back (finally)."""
    raise SystemExit("bench: bigstart: stopped by signal %d" % signum)


def main():
    if os.geteuid() != 0 or not os.access(NR, os.W_OK):
        table("Big guest start", ["result"], [["skipped: needs root and a "
                                               "writable " + NR]])
        return
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGHUP, stopped)
    runs = env_int("BENCH_BIG_RUNS", 5)
    gib = env_int("BENCH_BIG_GIB", default_gib())
    cpus = node_cpus(NODE)
    threads = env_int("BENCH_BIG_THREADS", len(cpus))
    avail = meminfo("MemAvailable") // 1024
    if gib * 1024 > avail * 6 // 10:
        gib = max(1, avail * 6 // 10 // 1024)
        say("bigstart: MemAvailable %d MiB: using %d GiB" % (avail, gib))
    context = has_thread_context()
    lv_off = libvirt_xml.unavailable()
    pool = huge = None
    domains = []
    failed = {}
    times = {}
    back = False
    tmp = tempfile.mkdtemp(prefix="vmrun-bench-big.")
    try:
        state = os.path.join(tmp, "state")
        profile = os.path.join(tmp, "bench.ini")
        log = os.path.join(state, NAME + ".log")
        write_profile(profile, state, memory="%dG" % gib,
                      extra="\n[memory]\nhugepages = 2M\n")
        argv = vmrun("--print-argv", profile).stdout.split("\n")[:-1]
        vmrun_threads = backend_of(argv)[1].get("prealloc-threads", 1)
        pool = Pool(gib * 512)
        pool.raise_()
        huge = HugeDir(tmp)
        contenders = [
            ("vmrun", vmrun_threads,
             lambda: time_attached(profile, log, [], timeout=600)),
            (ONE, 1, lambda: time_bare(bare_argv(argv, huge.path), 600)),
            ("bare QEMU, prealloc-threads=%d%s" %
             (threads, ", thread-context on node %d" % NODE
              if context else ""), threads,
             lambda: time_bare(bare_argv(argv, huge.path, threads,
                                         context), 600))]
        if not lv_off:
            contenders += libvirt_contenders(tmp, gib, threads, domains,
                                             failed)
        say("bigstart: %d GiB on 2 MiB hugepages, %d rounds, up to %d "
            "preallocation threads%s" %
            (gib, runs, threads,
             ", thread-context" if context else ""))
        times = {c[0]: [] for c in contenders}
        say("bigstart: warm-up")
        # vmrun first: it copies the OVMF vars that bare QEMU's argv names
        run_round(contenders, None, failed, 0, pool)
        for i in range(runs):
            say("bigstart: round %d of %d" % (i + 1, runs))
            run_round(contenders, times, failed, i, pool)
    finally:
        for d in domains:
            libvirt_xml.undefine(d)
        if huge:
            huge.remove()
        if pool:
            back = pool.restore()
        subprocess.run(["rm", "-rf", tmp])
    base = median(times[ONE]) if times.get(ONE) else float("nan")
    rows = []
    for label, n, _ in contenders:
        xs = times[label]
        if label in failed or not xs:
            continue
        rows.append((label, n, "%.0f" % (median(xs) * 1000),
                     "%.0f" % (min(xs) * 1000), "%.0f" % (max(xs) * 1000),
                     "%.2f" % (median(xs) / base)))
    for label, why in failed.items():
        rows.append(("%s: failed: %s" % (label, one_line(why)),
                     "-", "-", "-", "-", "-"))
    if lv_off:
        rows.append((lv_off, "-", "-", "-", "-", "-"))
    table("Big guest start: %d GiB on 2 MiB hugepages, spawn to guest "
          "running (TCG, %d runs each)" % (gib, runs),
          ["contender", "prealloc threads", "median ms", "min ms",
           "max ms", "/ bare QEMU, 1 thread"], rows,
          ["Every contender preallocates (touches) all of the guest's RAM "
           "before it runs; the %d pages were reserved in the pool before "
           "the first run (so vmrun found them free and took none itself) "
           "and given back after the last: the pool %s. Threads: "
           "%d = the CPUs of node %d; the thread-context (QEMU >= 7.2) "
           "runs them there. Target (issue 13): vmrun at most 0.6x bare "
           "QEMU with one thread." %
           (gib * 512, "is back to its count" if back else
            "is NOT back to its count", threads, NODE)] +
          (["Another program on the host took %d pages of the pool during "
            "the run (a vmrun counts free pages towards its guest); they "
            "were added back before the next run." % pool.topped]
           if pool.topped else []))
    if ONE in failed or "vmrun" in failed:
        sys.exit("bench: bigstart: vmrun or bare QEMU failed")


def libvirt_contenders(tmp, gib, threads, domains, failed):
    """libvirt's default domain for the guest, and one with as many
    preallocation threads where the daemon knows <allocation threads>."""
    out = []
    try:
        d = libvirt_xml.folder(tmp)
        dom = libvirt_xml.define(NAME + "-big", d, memory_mib=gib * 1024,
                                 hugepages=True)
        domains.append(dom)
        out.append(("virsh start, libvirt's default", 1,
                    lambda: time_virsh(dom)))
        label = "virsh start, <allocation threads='%d'/>" % threads
        dom_t = libvirt_xml.define(NAME + "-big-threads", d,
                                   memory_mib=gib * 1024, hugepages=True,
                                   threads=threads)
        domains.append(dom_t)
        if libvirt_xml.has_alloc_threads(dom_t):
            out.append((label, threads, lambda: time_virsh(dom_t)))
        else:
            failed[label] = "this libvirt does not know it (8.2 or later)"
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        failed["virsh start"] = str(e)
    return out


def run_round(contenders, times, failed, i, pool):
    """One run of each contender still standing, starting one further on
    each round, so none always runs right after the same one. A failed
    run is tried once more (the pool is shared with the host: another
    program may take pages between our check and QEMU's); failing again,
    vmrun and bare QEMU end the benchmark, libvirt only loses its row."""
    n = len(contenders)
    for label, _, fn in (contenders[(i + k) % n] for k in range(n)):
        if label in failed:
            continue
        for attempt in (1, 2):
            pool.ensure_free()
            try:
                t = fn()
                break
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                say("bigstart: %s failed: %s" % (label, e))
                if attempt == 1:
                    continue
                if not label.startswith("virsh"):
                    raise
                failed[label] = str(e)
        if label in failed:
            continue
        say("bigstart: %s: %.0f ms" % (label, t * 1000))
        if times is not None:
            times[label].append(t)


if __name__ == "__main__":
    main()
