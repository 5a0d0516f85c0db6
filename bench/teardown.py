#!/usr/bin/env python3
# bench/teardown.py: from the guest's power-off to the host fully given
# back. The bench VM (with 2 MiB hugepages and a Looking Glass file in its
# plan, so there is something to undo) boots the demo disk, whose UEFI
# shell script powers it off. Measured from vmrun's own log line "the guest
# powered off" (written when QEMU's SHUTDOWN event arrives; the log's
# wall-clock stamps have millisecond resolution) to vmrun's exit as seen by
# this script, split at "giving the host back" (QEMU has ended).
import datetime
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (NAME, VMRUN, copy_demo_disk, env_int, median,  # noqa
                    meminfo, say, table, write_profile)

LG = "/dev/shm/%s-lg" % NAME


def stamp(line):
    """Seconds since the epoch of a "YYYY-MM-DD HH:MM:SS.mmm ..." line."""
    t = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f")
    return t.timestamp()


def one_run(profile, log):
    start = os.path.getsize(log) if os.path.exists(log) else 0
    r = subprocess.run([VMRUN, profile], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=300)
    t_exit = time.time()
    if r.returncode != 0:
        raise RuntimeError("vmrun exited %d: %s" % (r.returncode,
                                                   r.stderr.strip()))
    with open(log) as f:
        f.seek(start)
        lines = f.readlines()
    off = [stamp(x) for x in lines if "the guest powered off" in x]
    back = [stamp(x) for x in lines if "giving the host back" in x]
    if not off or not back:
        raise RuntimeError("no power-off or give-back line in " + log)
    return t_exit - off[0], back[0] - off[0], t_exit - back[0]


def main():
    runs = env_int("BENCH_RUNS", 5)
    tmp = tempfile.mkdtemp(prefix="vmrun-bench-down.")
    disk = copy_demo_disk(os.path.join(tmp, "boot.img"))
    if not disk:
        table("Teardown", ["result"],
              [["skipped: no build/demo/boot.img (make build/demo/boot.img)"]])
        return
    state = os.path.join(tmp, "state")
    profile = os.path.join(tmp, "bench.ini")
    write_profile(profile, state, disk=disk,
                  extra="\n[memory]\nhugepages = 2M\n\n[looking-glass]\n"
                  "device = %s\nresolution = 1280x720\n" % LG)
    log = os.path.join(state, NAME + ".log")
    total0 = meminfo("HugePages_Total")
    res, restored = [], 0
    try:
        for i in range(runs):
            say("teardown: run %d of %d (the guest boots and powers off)" %
                (i + 1, runs))
            res.append(one_run(profile, log))
            restored += (meminfo("HugePages_Total") == total0 and
                         not os.path.exists(LG) and
                         not os.path.exists("/run/vmrun/%s.json" % NAME))
    finally:
        subprocess.run(["rm", "-rf", tmp])
    ms = [[x[i] * 1000 for x in res] for i in range(3)]
    table("Teardown: guest power-off to host given back (%d runs)" % runs,
          ["span", "median ms", "min ms", "max ms"],
          [("power-off -> vmrun exits (total)",) +
           tuple("%.0f" % f(ms[0]) for f in (median, min, max)),
           ("power-off -> QEMU gone, undo starts",) +
           tuple("%.0f" % f(ms[1]) for f in (median, min, max)),
           ("undo (hugepages, Looking Glass file, ...) -> exit",) +
           tuple("%.0f" % f(ms[2]) for f in (median, min, max))],
          ["Host fully restored after %d of %d runs (HugePages_Total, %s "
           "and the journal checked)." % (restored, runs, LG)])


if __name__ == "__main__":
    main()
