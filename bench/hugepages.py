#!/usr/bin/env python3
# bench/hugepages.py: 2 MiB hugepages on this host after fragmenting its
# memory: `vmrun prepare` (raise in 1 GiB steps, then compact memory, then
# drop caches, until the pool covers the guest) against one write of
# /proc/sys/vm/nr_hugepages (the naive way). Each measurement gets freshly
# fragmented memory; the host is put back after each and at the end.
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (env_int, median, meminfo, say, table,  # noqa
                    vmrun)

HERE = os.path.dirname(os.path.abspath(__file__))
NR = "/proc/sys/vm/nr_hugepages"
NAME = "vmrun-bench-hp"
CHUNK = 4 << 20
FLOOR_MB = 1536  # MemAvailable the fragmenter never goes under


def read_nr():
    with open(NR) as f:
        return int(f.read())


def write_nr(n):
    fd = os.open(NR, os.O_WRONLY)
    try:
        os.write(fd, str(n).encode())
    except OSError:
        pass  # the kernel gave what it could; the read-back tells
    finally:
        os.close(fd)


def free_blocks():
    """Free 2 MiB blocks in the buddy allocator (/proc/buddyinfo: a free
    block of order 9 or more holds 2^(order-9) of them)."""
    n = 0
    with open("/proc/buddyinfo") as f:
        for line in f:
            counts = [int(c) for c in line.split()[4:]]
            n += sum(c << (o - 9) for o, c in enumerate(counts) if o >= 9)
    return n


def compact_stalls():
    """Direct compactions so far: allocations that compacted memory
    themselves (/proc/vmstat compact_stall)."""
    with open("/proc/vmstat") as f:
        for line in f:
            k, _, v = line.partition(" ")
            if k == "compact_stall":
                return int(v)
    return 0


class Fragmenter:
    """Page cache from a big file, then anonymous 4 KiB pages spread over
    all other free memory with one page kept in every 2 MiB block."""

    def __init__(self, tmp, cache_mb, leave_mb, anon_mb):
        self.file = os.path.join(tmp, "cache.fill")
        self.cache_mb = cache_mb
        self.leave_mb = leave_mb
        self.anon_mb = anon_mb
        self.proc = None
        self.mapped = []  # MiB mapped, per start
        self.blocks = []  # free 2 MiB blocks before and after, per start
        say("hugepages: writing a %d MiB file for the page cache" % cache_mb)
        block = b"\x5a" * CHUNK
        fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for _ in range(cache_mb * (1 << 20) // CHUNK):
                os.write(fd, block)
            os.fsync(fd)  # clean pages: the kernel may reclaim them
        finally:
            os.close(fd)

    def start(self):
        before = free_blocks()
        with open(self.file, "rb", buffering=0) as f:
            while f.read(CHUNK):
                pass
        args = [str(self.leave_mb), str(FLOOR_MB)]
        if self.anon_mb:
            args.append(str(self.anon_mb))
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fragment.py")] + args,
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("fragment.py did not start")
        self.mapped.append(int(line[1]))
        self.blocks.append((before, free_blocks()))
        say("hugepages: fragmented %s MiB: %s pages kept in as many 2 MiB "
            "blocks; free 2 MiB blocks %d -> %d" %
            (line[1], line[2], before, self.blocks[-1][1]))

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def remove(self):
        self.stop()
        if os.path.exists(self.file):
            os.unlink(self.file)


def time_vmrun(profile, nr0):
    t0 = time.monotonic()
    r = vmrun("prepare", profile, check=False, timeout=600)
    t1 = time.monotonic()
    got = read_nr() - nr0
    vmrun("restore", NAME, timeout=600)
    if r.returncode != 0:
        say("hugepages: vmrun prepare failed: " + r.stderr.strip())
    for line in r.stderr.splitlines():
        if "trying again" in line:  # the compact / drop-caches ladder
            say("hugepages: vmrun: " + line.strip())
    return t1 - t0, got, r.returncode == 0


def time_naive(want, nr0):
    t0 = time.monotonic()
    write_nr(nr0 + want)
    t1 = time.monotonic()
    got = read_nr() - nr0
    write_nr(nr0)
    return t1 - t0, got, got >= want


def plan(gib):
    """Pages to ask for: GiB of 2 MiB pages, at most a third of what is
    available (the fragmenting takes much of the rest)."""
    avail_mb = meminfo("MemAvailable") // 1024
    limit = max(1, avail_mb // 3 // 1024)
    if gib > limit:
        say("hugepages: %d GiB asked, MemAvailable %d MiB: using %d GiB" %
            (gib, avail_mb, limit))
        gib = limit
    return gib, avail_mb


def stopped(signum, _frame):
    """SIGTERM or SIGHUP: unwind, so the host is put back (finally)."""
    raise SystemExit("bench: hugepages: stopped by signal %d" % signum)


def main():
    if os.geteuid() != 0 or not os.access(NR, os.W_OK):
        table("Hugepages", ["result"], [["skipped: needs root and a "
                                         "writable " + NR]])
        return
    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGHUP, stopped)
    runs = env_int("BENCH_HUGE_RUNS", 3)
    gib, avail_mb = plan(env_int("BENCH_HUGE_GIB", 2))
    cache_mb = env_int("BENCH_FRAG_CACHE_MB", avail_mb * 25 // 100)
    leave_mb = env_int("BENCH_FRAG_FREE_MB", 512)
    anon_mb = env_int("BENCH_FRAG_ANON_MB", 0)  # 0: all MemFree but leave
    tmp = tempfile.mkdtemp(prefix="vmrun-bench-hp.", dir="/var/tmp")
    profile = os.path.join(tmp, NAME + ".ini")
    with open(profile, "w") as f:
        f.write("[vm]\nname = %s\nmemory = %dG\naccel = tcg\n"
                "state-dir = %s\n[firmware]\ntype = seabios\n"
                "[memory]\nhugepages = 2M\n" % (NAME, gib, tmp))
    nr_start, total_start = read_nr(), meminfo("HugePages_Total")
    res = {"vmrun prepare": [], "one write of nr_hugepages": []}
    frag = None
    try:
        frag = Fragmenter(tmp, cache_mb, leave_mb, anon_mb)
        for i in range(runs):
            order = list(res) if i % 2 == 0 else list(res)[::-1]
            for label in order:
                say("hugepages: round %d of %d: %s" % (i + 1, runs, label))
                frag.start()
                nr0 = read_nr()
                free0 = meminfo("HugePages_Free")
                want = max(0, gib * 512 - free0)
                blocks = frag.blocks[-1][1]
                stalls = compact_stalls()
                if label == "vmrun prepare":
                    r = time_vmrun(profile, nr0)
                else:
                    r = time_naive(want, nr0)
                stalls = compact_stalls() - stalls
                res[label].append(r + (want, blocks, stalls))
                say("hugepages: %s: %d of %d pages in %.0f ms, %d direct "
                    "compactions" % (label, r[1], want, r[0] * 1000, stalls))
                frag.stop()
    finally:
        if frag:
            frag.remove()
        if read_nr() != nr_start:
            vmrun("restore", NAME, check=False)
            write_nr(nr_start)
        subprocess.run(["rm", "-rf", tmp])
    rows = []
    for label, xs in res.items():
        secs = [x[0] for x in xs]
        rows.append((label, "%d" % median([x[3] for x in xs]),
                     "%d" % median([x[4] for x in xs]),
                     "%d" % median([x[1] for x in xs]),
                     "%d" % median([x[5] for x in xs]),
                     "%d/%d" % (sum(x[2] for x in xs), len(xs)),
                     "%.1f" % (median(secs) * 1000),
                     "%.1f" % (min(secs) * 1000),
                     "%.1f" % (max(secs) * 1000)))
    back = meminfo("HugePages_Total") == total_start
    table("Hugepages: %d GiB of 2 MiB pages after fragmenting (%d runs)" %
          (gib, runs),
          ["method", "pages asked", "free 2 MiB blocks (median)",
           "pages got (median)", "direct compactions (median)",
           "runs complete", "median ms", "min ms",
           "max ms"], rows,
          ["Fragmenting: %d MiB of page cache, then %d MiB (median) of "
           "anonymous 4 KiB pages, all free memory but %d MiB, thinned to "
           "one page per 2 MiB block; free 2 MiB blocks (/proc/buddyinfo) "
           "%d before fragmenting, %d after (medians). Host afterwards: "
           "HugePages_Total %s." %
           (cache_mb, median(frag.mapped), leave_mb,
            median([b[0] for b in frag.blocks]),
            median([b[1] for b in frag.blocks]),
            "as before" if back else "CHANGED")])


if __name__ == "__main__":
    main()
