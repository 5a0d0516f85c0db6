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
# run, and the contenders take turns within each round.
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (NAME, VMRUN, copy_demo_disk, env_int, have,  # noqa
                    median, say, spawn_qemu, table, vmrun, write_profile)
import libvirt_xml  # noqa: E402


def stop_vm():
    """`vmrun stop --force` and wait: the run ends and the host is back."""
    vmrun("stop", NAME, "--force", check=False, timeout=60)


def time_attached(profile):
    t0 = time.monotonic()
    p = subprocess.Popen([VMRUN, profile], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    try:
        end = time.monotonic() + 60
        got = []
        t1 = None
        while time.monotonic() < end:
            line = p.stderr.readline()
            if not line:
                break
            got.append(line)
            if "is running (QEMU pid" in line:
                t1 = time.monotonic()
                break
        if t1 is None:
            raise RuntimeError("vmrun never said the guest runs:\n" +
                               "".join(got))
    finally:
        stop_vm()
        p.stderr.close()
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
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


def time_bare(argv):
    t0 = time.monotonic()
    p, qmp = spawn_qemu(argv)
    try:
        qmp.handshake()
        qmp.command("cont")
        qmp.wait_event("RESUME")
        t1 = time.monotonic()
        qmp.command("quit")
    finally:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        qmp.sock.close()
    return t1 - t0


def time_virsh(domain):
    t0 = time.monotonic()
    subprocess.run(["virsh", "-q", "start", domain], check=True,
                   stdout=subprocess.DEVNULL, timeout=60)
    # virsh start returns once libvirt has resumed the guest
    t1 = time.monotonic()
    subprocess.run(["virsh", "-q", "destroy", domain], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    return t1 - t0


def fmt_ms(s):
    return "%.1f" % (s * 1000)


def main():
    runs = env_int("BENCH_RUNS", 5)
    tmp = tempfile.mkdtemp(prefix="vmrun-bench-start.")
    state = os.path.join(tmp, "state")
    profile = os.path.join(tmp, "bench.ini")
    disk = copy_demo_disk(os.path.join(tmp, "boot.img"))
    write_profile(profile, state, disk=disk)
    argv = vmrun("--print-argv", profile).stdout.split("\n")[:-1]
    contenders = [("vmrun (attached, 'is running' line)",
                   lambda: time_attached(profile)),
                  ("vmrun --detach (returns)",
                   lambda: time_detached(profile)),
                  ("bare QEMU, same argv (floor)", lambda: time_bare(argv))]
    domain = None
    if have("virsh"):
        domain = libvirt_xml.define(NAME + "-libvirt", argv, tmp)
        contenders.append(("virsh start", lambda: time_virsh(domain)))
    times = {c[0]: [] for c in contenders}
    try:
        say("start: warm-up (the first run also copies the OVMF vars)")
        for _, fn in contenders:
            fn()
        for i in range(runs):
            say("start: round %d of %d" % (i + 1, runs))
            for label, fn in contenders:
                times[label].append(fn())
    finally:
        if domain:
            libvirt_xml.undefine(domain)
        subprocess.run(["rm", "-rf", tmp])
    floor = median(times["bare QEMU, same argv (floor)"])
    rows = []
    for label, _ in contenders:
        xs = times[label]
        rows.append((label, fmt_ms(median(xs)), fmt_ms(min(xs)),
                     fmt_ms(max(xs)), "%+.1f" % ((median(xs) - floor) * 1000),
                     "%.2f" % (median(xs) / floor)))
    if not domain:
        rows.append(("libvirt: not installed", "-", "-", "-", "-", "-"))
    table("Start: spawn to guest running (TCG, %d runs each)" % runs,
          ["contender", "median ms", "min ms", "max ms", "ms over floor",
           "/ bare QEMU"],
          rows, ["Target: vmrun within 10% of bare QEMU (ratio <= 1.10)."])


if __name__ == "__main__":
    main()
