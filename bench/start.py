#!/usr/bin/env python3
# bench/start.py: spawn to guest running, for one demo-like TCG VM: vmrun
# (attached and --detach) against bare QEMU with vmrun's own argv (the
# floor) and `virsh start` of the same VM when libvirt is installed.
#
# "Running" is the moment QEMU reports the guest running over QMP: the
# RESUME event that follows `cont`. Bare QEMU: from fork+exec to RESUME read
# by this script (QMP on fd 3, handshake, cont: what vmrun itself does).
# vmrun: from fork+exec of `vmrun PROFILE` to its "is running" line, which
# it prints after the same RESUME; `vmrun --detach` until it returns (it
# returns once the guest runs). Every contender gets one untimed warm-up
# run, and the contenders take turns within each round (BENCH_START_RUNS,
# default 15). A libvirt that fails is reported in its row; the others
# are still measured. BENCH_VMRUN_OTHERS (colon-separated paths of other
# vmrun builds, an older commit's for one) adds an attached row for each,
# measured in the same rounds: a change's cost, side by side.
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (NAME, VMRUN, copy_demo_disk, env_int,  # noqa
                    median, qemu_said, say, spawn_qemu, table, vmrun,
                    wait_line, write_profile)
import libvirt_xml  # noqa: E402

FLOOR = "bare QEMU, same argv (floor)"


def stop_vm():
    """`vmrun stop --force` and wait: the run ends and the host is back."""
    vmrun("stop", NAME, "--force", check=False, timeout=60)


def log_stamp(line):
    """Seconds since the epoch of a vmrun log line ("YYYY-MM-DD
    HH:MM:SS.mmm ...", local time)."""
    t = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f")
    return t.timestamp()


def spawn_split(log, offset, wall0):
    """From the log past offset: seconds from wall0 (vmrun forked) to
    vmrun's "starting" line (written just before it forks QEMU), and from
    there to its "is running" line; None when a line is missing."""
    start = running = None
    with open(log) as f:
        f.seek(offset)
        for line in f:
            if start is None and line[24:].startswith("starting "):
                start = log_stamp(line)
            elif start is not None and "is running (QEMU pid" in line:
                running = log_stamp(line)
                break
    if start is None or running is None:
        return None
    return start - wall0, running - start


def time_attached(profile, log, spawns, timeout=60, binary=VMRUN):
    offset = os.path.getsize(log) if os.path.exists(log) else 0
    wall0 = time.time()
    t0 = time.monotonic()
    p = subprocess.Popen([binary, profile], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    try:
        t1 = wait_line(p.stderr, "is running (QEMU pid", timeout)
    finally:
        stop_vm()
        p.stderr.close()
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
    s = spawn_split(log, offset, wall0)
    if s is not None and spawns is not None:
        spawns.append(s)
    return t1 - t0


def time_detached(profile):
    t0 = time.monotonic()
    r = subprocess.run([VMRUN, "--detach", profile], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    t1 = time.monotonic()
    if r.returncode != 0:
        raise RuntimeError("vmrun --detach: exit %d: %s" %
                           (r.returncode, r.stderr.strip()))
    stop_vm()
    return t1 - t0


def time_bare(argv, timeout=30):
    t0 = time.monotonic()
    p, qmp = spawn_qemu(argv)
    try:
        qmp.handshake(timeout)
        qmp.command("cont")
        qmp.wait_event("RESUME")
        t1 = time.monotonic()
        qmp.command("quit")
    except (RuntimeError, OSError) as e:  # OSError: a QMP timeout
        p.kill()
        p.wait()
        raise RuntimeError("bare QEMU: %s: %s" % (e, qemu_said(p)))
    finally:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        qmp.sock.close()
        p.stderr.close()
    return t1 - t0


def time_virsh(domain):
    t0 = time.monotonic()
    try:
        libvirt_xml.start(domain, timeout=60)
        t1 = time.monotonic()
    finally:
        libvirt_xml.destroy(domain)
    return t1 - t0


def fmt_ms(s):
    return "%.1f" % (s * 1000)


def main():
    runs = env_int("BENCH_START_RUNS", 15)
    tmp = tempfile.mkdtemp(prefix="vmrun-bench-start.")
    state = os.path.join(tmp, "state")
    profile = os.path.join(tmp, "bench.ini")
    log = os.path.join(state, NAME + ".log")
    spawns = []
    argv = []
    contenders = [("vmrun (attached, 'is running' line)",
                   lambda: time_attached(profile, log, spawns)),
                  ("vmrun --detach (returns)",
                   lambda: time_detached(profile)),
                  (FLOOR, lambda: time_bare(argv))]
    contenders += other_builds(profile, log)
    domain = None
    lv_off = libvirt_xml.unavailable()
    failed = {}  # label: why, for the contenders that failed
    try:
        write_profile(profile, state,
                      disk=copy_demo_disk(os.path.join(tmp, "boot.img")))
        argv += vmrun("--print-argv", profile).stdout.split("\n")[:-1]
        if not lv_off:
            try:
                d = libvirt_xml.folder(tmp)
                domain = libvirt_xml.define(
                    NAME + "-libvirt", d,
                    disk=copy_demo_disk(os.path.join(d, "boot.img")))
                contenders.append(("virsh start",
                                   lambda: time_virsh(domain)))
            except (RuntimeError, OSError,
                    subprocess.TimeoutExpired) as e:
                failed["virsh start"] = str(e)
        times = {c[0]: [] for c in contenders}
        say("start: warm-up (the first run also copies the OVMF vars)")
        run_round(contenders, None, failed)
        del spawns[:]
        for i in range(runs):
            say("start: round %d of %d" % (i + 1, runs))
            run_round(contenders, times, failed)
    finally:
        if domain:
            libvirt_xml.undefine(domain)
        subprocess.run(["rm", "-rf", tmp])
    floor = median(times[FLOOR])
    rows = []
    for label, _ in contenders:
        xs = times[label]
        if label in failed:
            continue
        rows.append((label, fmt_ms(median(xs)), fmt_ms(min(xs)),
                     fmt_ms(max(xs)), "%+.1f" % ((median(xs) - floor) * 1000),
                     "%.2f" % (median(xs) / floor)))
    for label, why in failed.items():
        rows.append(("%s: failed: %s" % (label, one_line(why)),
                     "-", "-", "-", "-", "-"))
    if lv_off:
        rows.append((lv_off, "-", "-", "-", "-", "-"))
    notes = ["Target: vmrun within 10% of bare QEMU (ratio <= 1.10)."]
    if spawns:
        before = [x[0] * 1000 for x in spawns]
        after = [x[1] * 1000 for x in spawns]
        notes.append("vmrun (attached), from its log's millisecond stamps: "
                     "it forked QEMU %.1f ms (median; min %.1f, max %.1f) "
                     "after it was itself forked (its \"starting\" line), "
                     "and said the guest runs %.1f ms (median; min %.1f, "
                     "max %.1f) after that, against %.1f ms from fork to "
                     "running for bare QEMU. The first part adds to the "
                     "start as it is; the second overlaps QEMU's own "
                     "start-up." %
                     (median(before), min(before), max(before),
                      median(after), min(after), max(after),
                      floor * 1000))
    table("Start: spawn to guest running (TCG, %d runs each)" % runs,
          ["contender", "median ms", "min ms", "max ms", "ms over floor",
           "/ bare QEMU"], rows, notes)
    if FLOOR in failed:
        sys.exit("bench: start: bare QEMU failed")


def other_builds(profile, log):
    """An attached contender for each BENCH_VMRUN_OTHERS build."""
    rows = []
    for b in filter(None, os.environ.get("BENCH_VMRUN_OTHERS",
                                         "").split(":")):
        if not os.access(b, os.X_OK):
            sys.exit("bench: BENCH_VMRUN_OTHERS: %s is not a program" % b)
        label = "vmrun build %s (attached)" % b
        rows.append((label, lambda b=b: time_attached(profile, log, None,
                                                      binary=b)))
    return rows


def run_round(contenders, times, failed):
    """One run of each contender still standing. vmrun and bare QEMU
    failing ends the benchmark; a failing libvirt only drops its row."""
    for label, fn in contenders:
        if label in failed:
            continue
        if not label.startswith("virsh"):
            t = fn()
        else:
            try:
                t = fn()
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                say("start: %s failed: %s" % (label, e))
                failed[label] = str(e)
                continue
        if times is not None:
            times[label].append(t)


def one_line(msg, limit=160):
    msg = " ".join(msg.split())
    return msg if len(msg) <= limit else msg[:limit - 3] + "..."


if __name__ == "__main__":
    main()
