#!/usr/bin/env python3
# bench/idle.py: what the supervisor costs while a guest idles: vmrun's
# resident memory, CPU time and wake-ups (context switches of all its
# threads) per second over BENCH_IDLE_SECONDS (default 60), in six windows
# whose medians are shown; QEMU's own numbers beside it for scale, and
# libvirt's daemons (libvirtd or virtqemud, and virtlogd) while a libvirt
# guest of the same machine idles alongside, when libvirt is installed.
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (NAME, VMRUN, ProcSample, env_float, median,  # noqa
                    say, table, vmrun, wait_line, write_profile)
import libvirt_xml  # noqa: E402

WINDOWS = 6


def watch(pids, seconds):
    """Per window and process: (cpu seconds, switches per second, rss)."""
    out = {label: [] for label in pids}
    last = {label: ProcSample(pid) for label, pid in pids.items()}
    t_last = time.monotonic()
    for _ in range(WINDOWS):
        time.sleep(seconds / WINDOWS)
        now = time.monotonic()
        for label, pid in pids.items():
            cur = ProcSample(pid)
            dt = now - t_last
            out[label].append((cur.cpu - last[label].cpu,
                               cur.switches_since(last[label]) / dt,
                               cur.rss))
            last[label] = cur
        t_last = now
    return out


def qemu_pid_of(line):
    return int(line.rsplit("QEMU pid ", 1)[1].split(")")[0])


def main():
    seconds = env_float("BENCH_IDLE_SECONDS", 60)
    tmp = tempfile.mkdtemp(prefix="vmrun-bench-idle.")
    profile = os.path.join(tmp, "bench.ini")
    write_profile(profile, os.path.join(tmp, "state"))  # no disk: idles
    domain = None
    lv_off = libvirt_xml.unavailable()
    lv_daemons = []
    p = subprocess.Popen([VMRUN, profile], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    try:
        wait_line(p.stderr, "is running (QEMU pid", 60)
        with open(os.path.join(tmp, "state", NAME + ".log")) as f:
            line = [x for x in f if "is running (QEMU pid" in x][-1]
        pids = {"vmrun": p.pid, "QEMU (for scale)": qemu_pid_of(line)}
        if not lv_off:
            try:
                domain = libvirt_xml.define(NAME + "-libvirt",
                                            libvirt_xml.folder(tmp))
                libvirt_xml.start(domain)
                pids["libvirt's QEMU (for scale)"] = \
                    libvirt_xml.qemu_pid(domain)
                for comm, pid in libvirt_xml.daemons():
                    pids[comm] = pid
                    lv_daemons.append(comm)
            except (RuntimeError, OSError,
                    subprocess.TimeoutExpired) as e:
                say("idle: libvirt failed: %s" % e)
                lv_off = "libvirt: failed: %s" % " ".join(str(e).split())
        time.sleep(2)  # past the start
        say("idle: watching for %g s" % seconds)
        res = watch(pids, seconds)
    finally:
        vmrun("stop", NAME, "--force", check=False, timeout=60)
        p.wait(timeout=60)
        if domain:
            libvirt_xml.undefine(domain)
        subprocess.run(["rm", "-rf", tmp])
    rows = []
    for label, xs in res.items():
        rows.append(row(label, xs, seconds))
    if len(lv_daemons) > 1:
        # the daemons summed window by window
        rows.append(row("libvirt, all daemons (%s)" % " + ".join(lv_daemons),
                        [tuple(sum(v) for v in zip(*w))
                         for w in zip(*(res[c] for c in lv_daemons))],
                        seconds))
    if lv_off:
        rows.append((lv_off, "-", "-", "-", "-"))
    table("Supervisor while the guest idles (%g s, TCG)" % seconds,
          ["process", "RSS MiB", "CPU s", "CPU %", "wake-ups/s (median)"],
          rows, ["Wake-ups: voluntary + involuntary context switches per "
                 "second summed over all threads of the process "
                 "(/proc/PID/task/*/status), median of %d windows; CPU: "
                 "utime + stime of all threads (/proc/PID/stat) over the "
                 "whole time; RSS: VmRSS, median of the windows." % WINDOWS])


def row(label, xs, seconds):
    cpu = sum(x[0] for x in xs)
    return (label, "%.1f" % (median([x[2] for x in xs]) / 1024),
            "%.2f" % cpu, "%.3f" % (100 * cpu / seconds),
            "%.2f" % median([x[1] for x in xs]))


if __name__ == "__main__":
    main()
