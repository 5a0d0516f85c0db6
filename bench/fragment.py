#!/usr/bin/env python3
# bench/fragment.py LEAVE_MIB FLOOR_MIB [MAX_MIB]: fragment free memory for
# the hugepage benchmark. Maps anonymous memory in 4 KiB pages (no
# transparent hugepages) and touches it, chunk by chunk, until MemFree is
# down to LEAVE_MIB (or MAX_MIB are mapped), never letting MemAvailable
# fall under FLOOR_MIB. Then, reading each page's frame from
# /proc/self/pagemap (root only), it keeps one 4 KiB page in every
# physical 2 MiB block it touched and frees the rest: nearly all of that
# memory is free again, yet none of those blocks is wholly free, so only
# compaction (moving the kept pages) makes 2 MiB pages there. Prints
# "ready MAPPED_MIB KEPT_PAGES BLOCKS" and holds the pages until killed.
import ctypes
import mmap
import os
import signal
import struct
import sys

PAGE = 4096
BLOCK_PAGES = 512  # 4 KiB pages in a 2 MiB block
CHUNK = 128 << 20  # mapped, touched and checked at a time
PFN_MASK = (1 << 55) - 1
PRESENT = 1 << 63


def meminfo_mib(key):
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == key:
                return int(v.split()[0]) >> 10
    raise KeyError(key)


def map_chunk():
    m = mmap.mmap(-1, CHUNK, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    m.madvise(mmap.MADV_NOHUGEPAGE)  # 4 KiB pages, as on a busy host
    block = b"\xa5" * (2 << 20)
    for off in range(0, CHUNK, len(block)):
        m[off:off + len(block)] = block
    return m


def frames(pagemap, m):
    """The page frame number of each page of m (0 if not present)."""
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    n = len(m) // PAGE
    raw = os.pread(pagemap, n * 8, addr // PAGE * 8)
    out = struct.unpack("%dQ" % n, raw)
    return [e & PFN_MASK if e & PRESENT else 0 for e in out]


def thin(m, pfns, seen):
    """Free every page of m but the first one met in each physical 2 MiB
    block; returns the pages kept. Runs of freed pages go in one call."""
    kept = 0
    run = -1  # first page of the run being freed
    for i, pfn in enumerate(pfns):
        if pfn and pfn // BLOCK_PAGES not in seen:
            seen.add(pfn // BLOCK_PAGES)
            kept += 1
            if run >= 0:
                m.madvise(mmap.MADV_DONTNEED, run * PAGE, (i - run) * PAGE)
                run = -1
        elif run < 0:
            run = i
    if run >= 0:
        m.madvise(mmap.MADV_DONTNEED, run * PAGE, (len(pfns) - run) * PAGE)
    return kept


def die_with_parent():
    """SIGKILL when the benchmark ends, however it ends, so that memory
    never stays taken (prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:
        sys.exit("fragment.py: the benchmark is gone")


def main():
    die_with_parent()
    args = sys.argv[1:]
    if len(args) not in (2, 3) or not all(a.isdigit() for a in args):
        sys.exit("usage: fragment.py LEAVE_MIB FLOOR_MIB [MAX_MIB]")
    leave, floor = int(args[0]), int(args[1])
    most = int(args[2]) if len(args) == 3 else 1 << 40
    chunk_mib = CHUNK >> 20
    maps = []
    # Stop a chunk early: the check is made before each mapping.
    while (len(maps) + 1) * chunk_mib <= most and \
            meminfo_mib("MemFree") - chunk_mib >= leave and \
            meminfo_mib("MemAvailable") - chunk_mib >= floor:
        maps.append(map_chunk())
    pagemap = os.open("/proc/self/pagemap", os.O_RDONLY)
    seen = set()
    kept = 0
    try:
        for m in maps:
            kept += thin(m, frames(pagemap, m), seen)
    finally:
        os.close(pagemap)
    if maps and not kept:
        sys.exit("fragment.py: /proc/self/pagemap gave no frame numbers "
                 "(needs root)")
    print("ready %d %d %d" % (len(maps) * chunk_mib, kept, len(seen)),
          flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
