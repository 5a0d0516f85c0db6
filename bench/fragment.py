#!/usr/bin/env python3
# bench/fragment.py MIB: fragment memory for the hugepage benchmark. Maps
# MIB MiB of anonymous memory in small pages (no transparent hugepages),
# touches all of it, then frees every other 2 MiB-aligned piece and keeps
# the rest, so free memory is left in holes between pages still in use.
# Prints "ready KEPT_MIB" and holds the memory until killed.
import ctypes
import mmap
import signal
import sys

PIECE = 2 << 20


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: fragment.py MIB")
    size = int(sys.argv[1]) << 20
    m = mmap.mmap(-1, size + PIECE, flags=mmap.MAP_PRIVATE |
                  mmap.MAP_ANONYMOUS)
    m.madvise(mmap.MADV_NOHUGEPAGE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    start = -addr % PIECE  # first 2 MiB-aligned byte
    block = b"\xa5" * PIECE
    for off in range(start, start + size, PIECE):
        m[off:off + PIECE] = block
    kept = 0
    for i, off in enumerate(range(start, start + size, PIECE)):
        if i % 2:
            m.madvise(mmap.MADV_DONTNEED, off, PIECE)
        else:
            kept += PIECE
    print("ready %d" % (kept >> 20), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
