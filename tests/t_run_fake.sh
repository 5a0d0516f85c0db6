#!/usr/bin/env bash
# t_run_fake.sh: whole runs on fake hosts with tests/fakeqemu standing in
# for QEMU: the GPU and its audio function on vfio-pci while the guest
# runs, every way a run can end, and the fake host byte for byte as before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fakerun.sh"

NAME=t-fake-$$
BASE=$TMP/base
ROOT=$TMP/root

cleanup() {
	kill_fakeqemu "$NAME"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers --------------------------------------------------------------

# start LOG [ENV=VALUE...]: vmrun in the background on the fake host
start() {
	: >"$1"
	rm -f "$TMP/argv"
	local log=$1
	shift
	env FAKEQEMU_ARGV_OUT="$TMP/argv" "$@" \
		"$FAKEHOST" run "$ROOT" -- "$VMRUN" "$TMP/vm.ini" >"$log" 2>&1 &
	VMPID=$!
	PIDS+=("$VMPID")
}

log_has() {
	grep -q -- "$2" "$1"
}

driver() {
	local l=$ROOT/sys/bus/pci/devices/$1/driver
	if [ -L "$l" ]; then basename "$(readlink "$l")"; else echo -; fi
}

affinity() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			awk '/^Cpus_allowed_list:/ {print $2}' "$t/status"
			return
		fi
	done
	echo "no thread '$2'"
}

# --- the VM -----------------------------------------------------------------
if [ "$(nproc)" -ge 2 ]; then
	PIN="vcpu-pin = 1
emulator-pin = 0
isolate = yes"
else
	PIN="vcpu-pin = 0"
fi
fake_vm "$TMP/base.ini" "$NAME" 2G "$TMP/state" "$PIN" "$FAKE_GPU"
cp "$TMP/base.ini" "$TMP/vm.ini"

build_fakehost b550-gtx1060

# --- 1. the guest powers off by itself: exit 0 ---------------------------------
fresh
start "$TMP/own.log"
if wait_running "own shutdown" "$TMP/own.log"; then
	expect_eq "GPU on vfio-pci while it runs" vfio-pci "$(driver 0000:08:00.0)"
	expect_eq "GPU audio on vfio-pci while it runs" vfio-pci \
		"$(driver 0000:08:00.1)"
	check "IOMMU group 16 has its /dev/vfio node" test -e "$ROOT/dev/vfio/16"
	expect_eq "1024 x 2 MiB hugepages reserved" 1024 \
		"$(cat "$ROOT/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")"
	check "journal in the fake /run/vmrun" test -s "$ROOT/run/vmrun/$NAME.json"
	check "QEMU argv: vfio-pci device for the GPU" \
		grep -q '"driver":"vfio-pci","host":"0000:08:00.0"' "$TMP/argv"
	check "QEMU argv: QMP on the inherited fd 3" \
		grep -qx "socket,id=qmp,fd=3" "$TMP/argv"
	if [ "$(nproc)" -ge 2 ]; then
		expect_eq "vCPU thread pinned to CPU 1" 1 \
			"$(affinity "$QPID" "CPU 0/KVM")"
		expect_eq "isolate: system.slice confined to the host's CPUs" \
			"0,2-15" "$(cat "$ROOT/sys/fs/cgroup/system.slice/cpuset.cpus")"
		check "QEMU in its own cgroup" grep -qx "$QPID" \
			"$ROOT/sys/fs/cgroup/machine.slice/vmrun-$NAME.scope/cgroup.procs"
	fi
	st=$(vm status "$NAME" 2>&1)
	check "status lists both devices" grep -q \
		"devices: 0000:08:00.0 (gpu) 0000:08:00.1 (gpu-audio)" <<<"$st"
	kill -USR1 "$QPID" # the guest powers off
fi
wait_rc "$VMPID" 30
expect_eq "guest's own power-off: exit 0" 0 $?
check "GPU back on nvidia" test "$(driver 0000:08:00.0)" = nvidia
same_snapshot "own shutdown"

# --- 2. FAKEQEMU_GUEST_SHUTDOWN_AFTER: the timer form --------------------------
fresh
start "$TMP/timer.log" FAKEQEMU_GUEST_SHUTDOWN_AFTER=1
wait_rc "$VMPID" 30
expect_eq "guest powers off after 1 s: exit 0" 0 $?
check "vmrun saw the guest power off" log_has "$TMP/timer.log" \
	"the guest powered off"
same_snapshot "timed shutdown"

# --- 2b. systemd notification (Type=notify units) ----------------------------
fresh
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w") as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg + "\n")
        out.flush()
        if "STOPPING=1" in msg:
            break
' "$TMP/notify.sock" "$TMP/notify.out" &
NPID=$!
PIDS+=("$NPID")
wait_until 10 test -S "$TMP/notify.sock"
start "$TMP/notify.log" NOTIFY_SOCKET="$TMP/notify.sock" \
	FAKEQEMU_GUEST_SHUTDOWN_AFTER=0.5
wait_rc "$VMPID" 30
expect_eq "run under a notify socket: exit 0" 0 $?
wait_rc "$NPID" 10
check "READY=1 sent once the guest runs" grep -qx "READY=1" "$TMP/notify.out"
check "STOPPING=1 sent at the end" grep -qx "STOPPING=1" "$TMP/notify.out"
same_snapshot "notify"

# --- 3. SIGTERM: the guest honours the power button -> exit 0 ------------------
fresh
start "$TMP/term.log" FAKEQEMU_POWERDOWN=0.3
if wait_running "SIGTERM" "$TMP/term.log"; then
	kill -TERM "$VMPID"
	wait_rc "$VMPID" 30
	expect_eq "SIGTERM, guest powers off when asked: exit 0" 0 $?
	check "powerdown asked" log_has "$TMP/term.log" \
		"asking the guest to power off"
fi
same_snapshot "SIGTERM"

# --- 4. the guest ignores the button and QEMU ignores quit and SIGTERM -------
fresh
start "$TMP/kill.log" FAKEQEMU_POWERDOWN=ignore FAKEQEMU_QUIT=ignore \
	FAKEQEMU_IGNORE_SIGTERM=1
if wait_running "whole ladder" "$TMP/kill.log"; then
	kill -TERM "$VMPID"
	wait_rc "$VMPID" 40
	expect_eq "ladder to SIGKILL: exit 5" 5 $?
	check "SIGTERM sent" log_has "$TMP/kill.log" "sending SIGTERM to QEMU"
	check "then SIGKILL" log_has "$TMP/kill.log" "ignores SIGTERM: SIGKILL"
fi
same_snapshot "whole ladder"

# --- 5. panic -> 4 --------------------------------------------------------------
fresh
start "$TMP/panic.log" FAKEQEMU_PANIC_AFTER=0.5
wait_rc "$VMPID" 30
expect_eq "guest panic: exit 4" 4 $?
check "panic reported" log_has "$TMP/panic.log" "the guest panicked"
same_snapshot "panic"

# --- 6. fakeqemu killed -> 3 ----------------------------------------------------
fresh
start "$TMP/crash.log"
if wait_running "QEMU killed" "$TMP/crash.log"; then
	kill -9 "$QPID"
	wait_rc "$VMPID" 30
	expect_eq "QEMU killed: exit 3" 3 $?
fi
same_snapshot "QEMU killed"

# --- 7. vmrun killed: QEMU follows, restore gives the host back ---------------
fresh
start "$TMP/killed.log"
if wait_running "vmrun killed" "$TMP/killed.log"; then
	kill -9 "$VMPID"
	wait "$VMPID" 2>/dev/null
	check "QEMU ends with its vmrun" wait_until 10 gone "$QPID"
	expect_eq "devices still on vfio-pci before restore" vfio-pci \
		"$(driver 0000:08:00.0)"
	vm restore "$NAME" >"$TMP/restore.log" 2>&1
	expect_eq "vmrun restore exits 0" 0 $?
fi
same_snapshot "vmrun killed + restore"

# --- 8. --detach, then stop: the guest powers off when asked -----------------
fresh
out=$(env FAKEQEMU_POWERDOWN=0.3 timeout 60 "$FAKEHOST" run "$ROOT" -- \
	"$VMRUN" --detach "$TMP/vm.ini" 2>"$TMP/detach.err")
expect_eq "--detach: exit 0" 0 $?
DPID=$(sed -n 's/.*(vmrun pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$DPID" ] && PIDS+=("$DPID")
check "status of the detached VM" grep -q "^$NAME: running" \
	<<<"$(vm status 2>&1)"
stop_out=$(timeout 30 "$FAKEHOST" run "$ROOT" -- "$VMRUN" stop "$NAME" 2>&1)
expect_eq "stop: exit 0" 0 $?
check "stop: the guest powered off" grep -q "$NAME: the guest powered off" \
	<<<"$stop_out"
same_snapshot "detach + stop"
check "the detached vmrun has ended" wait_until 10 gone "${DPID:-0}"
# stop waits; its vmrun is killed meanwhile
fresh
out=$(env FAKEQEMU_POWERDOWN=ignore timeout 60 "$FAKEHOST" run "$ROOT" -- \
	"$VMRUN" --detach "$TMP/vm.ini" 2>"$TMP/detach.err")
DPID=$(sed -n 's/.*(vmrun pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$DPID" ] && PIDS+=("$DPID")
"$FAKEHOST" run "$ROOT" -- "$VMRUN" stop "$NAME" >"$TMP/stop.out" 2>&1 &
SPID=$!
PIDS+=("$SPID")
wait_until 10 grep -q "stopping '$NAME'" "$TMP/stop.out"
# never "kill -9 0" (the whole test run) when --detach printed no pid
if [ -n "$DPID" ]; then
	kill -9 "$DPID"
else
	not_ok "--detach printed its vmrun pid"
fi
wait_rc "$SPID" 20
expect_eq "stop whose vmrun dies: exit 1" 1 $?
check "stop says to restore" grep -qx \
	"vmrun: the vmrun of '$NAME' went away without saying how the VM ended; check \`vmrun restore $NAME\`" \
	"$TMP/stop.out"
vm restore "$NAME" >/dev/null 2>&1
same_snapshot "stop, vmrun killed, restore"

expect_eq "stop of a VM that does not run" \
	"vmrun: VM '$NAME' is not running (no vmrun supervises it)" \
	"$(vm stop "$NAME" 2>&1)"
expect_eq "status with no VM running" "no VM is running under vmrun" \
	"$(vm status 2>&1)"

# --- 9. QEMU fails at start: exit 1, nothing left ---------------------------
fresh
start "$TMP/fail.log" FAKEQEMU_EXIT_AT_START=1
wait_rc "$VMPID" 40
expect_eq "QEMU fails at start: exit 1" 1 $?
check "QEMU's own message shown" log_has "$TMP/fail.log" \
	"fakeqemu: failing at start as asked"
check "vmrun says how QEMU ended" log_has "$TMP/fail.log" \
	"vmrun: QEMU exited with status 1 before the guest ran"
expect_eq "the error is shown once" 1 \
	"$(grep -c "before the guest ran" "$TMP/fail.log")"
same_snapshot "QEMU fails at start"
out=$(env FAKEQEMU_EXIT_AT_START=1 timeout 60 "$FAKEHOST" run "$ROOT" -- \
	"$VMRUN" -q --detach "$TMP/vm.ini" 2>&1)
expect_eq "--detach when QEMU fails: exit 1" 1 $?
check "--detach passes the reason up" grep -q \
	"^vmrun: QEMU exited with status 1 before the guest ran" <<<"$out"
same_snapshot "--detach, QEMU fails at start"

# --- 9b. QEMU refuses a device: vmrun names the profile line ----------------
fresh
start "$TMP/refuse.log" FAKEQEMU_REFUSE=hostdev-gpu
wait_rc "$VMPID" 40
expect_eq "QEMU refuses [pci.gpu]: exit 1" 1 $?
GPU_LINE=$(grep -n '^\[pci.gpu\]$' "$TMP/vm.ini" | cut -d: -f1)
check "QEMU's own line passed on" grep -q \
	'qemu-system-x86_64: -device {"driver":"vfio-pci".*group 16 is not viable' \
	"$TMP/refuse.log"
check "vmrun names the section and its line" grep -qF \
	"vmrun: QEMU refused [pci.gpu] ($TMP/vm.ini:$GPU_LINE): vfio 0000:08:00.0: group 16 is not viable; every device of that IOMMU group" \
	"$TMP/refuse.log"
check "and how QEMU ended" grep -q \
	"QEMU exited with status 1 before the guest ran" "$TMP/refuse.log"
check "QEMU's line in the VM log too" grep -q \
	'qemu-system-x86_64: -device .*group 16 is not viable' \
	"$TMP/state/$NAME.log"
same_snapshot "QEMU refuses a device"

# msr_abort WHAT MSR KEY WANT: a start where KVM refuses to set MSR (hex)
# and QEMU aborts: exit 1, and vmrun's line WANT, where @LINE@ is the line
# of $TMP/vm.ini that starts with KEY
msr_abort() {
	local at key=${4#*refused }
	start "$TMP/msr.log" FAKEQEMU_ABORT_MSR="$2"
	wait_rc "$VMPID" 40
	expect_eq "QEMU aborts on $1: exit 1" 1 $?
	at=$(grep -n "^$3" "$TMP/vm.ini" | cut -d: -f1)
	check "  ... vmrun names ${key%% (*} at its line" grep -qF \
		"${4//@LINE@/$at}" "$TMP/msr.log"
	check "  ... and that QEMU aborted" grep -q \
		"QEMU was killed by signal 6 (Aborted) before the guest ran" \
		"$TMP/msr.log"
	same_snapshot "QEMU aborts on $1"
}

# --- 9c. KVM refuses a Hyper-V MSR, QEMU aborts: [hyperv] enlightenments ------
fresh
profile_with "[hyperv]
enlightenments = relaxed,vapic,time"
msr_abort "a Hyper-V MSR" 40000073 "enlightenments = " \
	"vmrun: QEMU refused [hyperv] enlightenments ($TMP/vm.ini:@LINE@): error: failed to set MSR 0x40000073 to 0x0; remove vapic from [hyperv] enlightenments"

# --- 9d. KVM refuses another MSR, QEMU aborts: [cpu] model ---------------------
# (the probe's QEMU started a vCPU: KVM refuses this one only at the start)
fresh
sed 's/^\[cpu\]$/[cpu]\nmodel = host/' "$TMP/base.ini" >"$TMP/vm.ini"
msr_abort "MSR 0x10a" 10a "model = host" \
	"vmrun: QEMU refused [cpu] model ($TMP/vm.ini:@LINE@): error: failed to set MSR 0x10a to 0x0; this host's KVM refuses a CPU register (MSR) QEMU sets up for that model: set [cpu] model to a named one"
cp "$TMP/base.ini" "$TMP/vm.ini"
out=$(env FAKEQEMU_REFUSE=hostdev-gpu timeout 60 "$FAKEHOST" run "$ROOT" -- \
	"$VMRUN" -q --detach "$TMP/vm.ini" 2>&1)
expect_eq "--detach when QEMU refuses a device: exit 1" 1 $?
check "--detach passes the profile line up" grep -qF \
	"vmrun: QEMU refused [pci.gpu] ($TMP/vm.ini:$GPU_LINE)" <<<"$out"
same_snapshot "--detach, QEMU refuses a device"

# --- 10. a failing pre-start hook: exit 1, nothing left ---------------------
fresh
printf '#!/bin/sh\necho "hook $1 $2 $VMRUN_PHASE" >>"%s"\nexit 3\n' \
	"$TMP/hook.out" >"$TMP/hook.sh"
chmod +x "$TMP/hook.sh"
profile_with "[hooks]
pre-start = $TMP/hook.sh"
start "$TMP/hook.log"
wait_rc "$VMPID" 30
expect_eq "failing pre-start hook: exit 1" 1 $?
check "the hook ran with name and phase" grep -qx "hook $NAME pre-start pre-start" \
	"$TMP/hook.out"
check "the hook's status reported" log_has "$TMP/hook.log" \
	"pre-start hook $TMP/hook.sh exited with status 3"
check "QEMU never started" test ! -e "$TMP/argv"
same_snapshot "pre-start hook fails"

# --- 11. Looking Glass: a planted hard link in /dev/shm is refused ----------
fresh
echo "secret" >"$ROOT/etc-shadow"
ln "$ROOT/etc-shadow" "$ROOT/dev/shm/lg-$NAME"
snap >"$TMP/before"
profile_with "[looking-glass]
device = /dev/shm/lg-$NAME
size = 8M
owner = root
group = root"
start "$TMP/lg.log"
wait_rc "$VMPID" 30
expect_eq "hard-linked shm file: exit 1" 1 $?
check "refused with the reason" log_has "$TMP/lg.log" \
	"/dev/shm/lg-$NAME already exists (a file owned by user 'root' (uid 0)"
expect_eq "the linked file is untouched" "secret" "$(cat "$ROOT/etc-shadow")"
same_snapshot "planted shm link"
cp "$TMP/base.ini" "$TMP/vm.ini"

# --- 12. a vCPU pinned to a CPU this machine lacks: exit 1, nothing left ----
# (the fake host has 16 CPUs; the threads being pinned are real ones)
BAD=$(nproc)
if [ "$BAD" -ge 2 ] && [ "$BAD" -le 15 ]; then
	fresh
	sed "s/^vcpu-pin = 1$/vcpu-pin = $BAD/" "$TMP/base.ini" >"$TMP/vm.ini"
	start "$TMP/pin.log"
	wait_rc "$VMPID" 30
	expect_eq "pinning fails: exit 1" 1 $?
	check "the error names the CPU" grep -q \
		"pin QEMU thread [0-9]* to CPU $BAD (check that it is online and in vmrun's cpuset): Invalid argument" \
		"$TMP/pin.log"
	check "QEMU stopped" test -z "$(pgrep -f -- "$FAKEQEMU -name guest=$NAME," || true)"
	same_snapshot "pinning fails"
	cp "$TMP/base.ini" "$TMP/vm.ini"
else
	skip "pinning to a missing CPU" "this machine has $BAD CPUs"
fi

# --- 13. one vmrun per VM ---------------------------------------------------
fresh
start "$TMP/first.log"
if wait_running "first of two" "$TMP/first.log"; then
	second=$(vm "$TMP/vm.ini" 2>&1)
	expect_eq "a second vmrun of the same VM: exit 1" 1 $?
	check "it names the running one" grep -q \
		"already being run by vmrun (pid $VMPID)" <<<"$second"
	expect_eq "the first still runs" vfio-pci "$(driver 0000:08:00.0)"
	kill -USR1 "$QPID"
	wait_rc "$VMPID" 30
	expect_eq "the first ends normally" 0 $?
fi
same_snapshot "one vmrun per VM"


done_testing
