#!/usr/bin/env bash
# t_run_real.sh: vmrun runs a real QEMU (TCG, OVMF, a UEFI shell script as
# the guest) on this host: pinning, hugepages, Looking Glass shm, swtpm, the
# stop ladder, crashes, detach/status/stop, and the host given back each time.
. "$(dirname "$0")/lib.sh"

QEMU=$(command -v qemu-system-x86_64 || true)
OVMF=/usr/share/OVMF/OVMF_CODE_4M.fd
NAME=t-real-$$
SHM=/dev/shm/vmrun-test-$$
STATE=$TMP/state
PIDS=()  # vmrun processes this suite started

# --- clean-up: every path, even when a case fails half-way --------------
qemu_pids() {
	pgrep -f -- "-name guest=$1,debug-threads" || true
}

# swtpm runs in its state folder with relative paths: found by the mark
# vmrun puts in the environment of what it starts for a VM
swtpm_pids() {
	local p
	for p in $(pgrep -x swtpm); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
			grep -qx "VMRUN_VM=$NAME" && echo "$p"
	done
	true
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in $(qemu_pids "$NAME") $(qemu_pids "demo-$$") $(swtpm_pids); do
		kill -9 "$p" 2>/dev/null
	done
	"$VMRUN" -q restore "$NAME" >/dev/null 2>&1
	"$VMRUN" -q restore "demo-$$" >/dev/null 2>&1
	rm -f "$SHM"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers --------------------------------------------------------------

hugepages_total() {
	awk '/^HugePages_Total:/ {print $2}' /proc/meminfo
}

hugepages_used() {
	awk '/^HugePages_Total:/ {t = $2} /^HugePages_Free:/ {f = $2}
		END {print t - f}' /proc/meminfo
}

# the shared hugetlbfs mount vmrun makes for 2 MiB pages: "mounted" or ""
hugetlbfs_state() {
	grep -q " /run/vmrun/hugepages-2M hugetlbfs " /proc/mounts &&
		echo mounted
}

# maps_hugetlbfs PID: QEMU maps its RAM from vmrun's folder vmrun-NAME on
# a hugetlbfs mount: vmrun's own /run/vmrun/hugepages-2M, or one the host
# already has for 2 MiB pages (/dev/hugepages on most systemd hosts).
maps_hugetlbfs() {
	local file mnt
	file=$(grep -o "/[^ ]*/vmrun-$NAME/[^ ]*" "/proc/$1/maps" | head -n 1)
	mnt=${file%/vmrun-$NAME/*}
	[ -n "$file" ] && awk -v m="$mnt" '$2 == m && $3 == "hugetlbfs" {f = 1}
		END {exit !f}' /proc/mounts
}

# disk IMAGE LINE...: a 16 MiB FAT image whose startup.nsh runs the lines
disk() {
	local img=$1
	shift
	nsh_disk "$img" 16M "$@"
}

# profile FILE DISK TIMEOUT CPU-SECTION: the suite's VM
profile() {
	cat >"$1" <<EOF
[vm]
name = $NAME
memory = 256M
accel = tcg
state-dir = $STATE
shutdown-timeout = $3

[cpu]
model = max
$4

[memory]
hugepages = $HUGE

[looking-glass]
device = $SHM
size = 8M
owner = root
group = root

[acpi]
fake-battery = yes

[tpm]
type = swtpm

[hyperv]
enlightenments = default

[disk.boot]
file = $2
format = raw

[net.lan]
mode = none
EOF
}

# start PROFILE LOG: vmrun in the background; VMPID set
start() {
	baseline
	: >"$2"
	"$VMRUN" "$1" >"$2" 2>&1 &
	VMPID=$!
	PIDS+=("$VMPID")
}

# running LOG: vmrun says the guest runs; QPID is QEMU's pid
running() {
	QPID=$(sed -n "s/.*VM '$NAME' is running (QEMU pid \([0-9]*\)).*/\1/p" \
		"$1")
	[ -n "$QPID" ]
}

# wait_running NAME LOG: up to 60 s (swtpm, hugepages, QEMU under ASan)
wait_running() {
	if wait_until 60 running "$2"; then
		ok "$1: the guest runs"
		return 0
	fi
	not_ok "$1: the guest runs"
	sed 's/^/#   /' "$2"
	return 1
}

# Journals of other VMs (another suite running at the same time): their
# hugepages and hugetlbfs mount are theirs, not leftovers of ours.
others() {
	find /run/vmrun -maxdepth 1 -name '*.json' ! -name "$NAME.json" \
		2>/dev/null
}

# baseline: the host-wide values a case must give back, taken before it
baseline() {
	HP0=$(hugepages_total)
	USED0=$(hugepages_used)
	MNT0=$(hugetlbfs_state)
	OTHERS0=$(others)
}

# restored CASE: nothing of the run is left on the host
restored() {
	local leftovers="" global=true
	[ -n "$OTHERS0$(others)" ] && global=false
	if $global; then
		[ "$(hugepages_total)" = "$HP0" ] ||
			leftovers+=" HugePages_Total=$(hugepages_total) (was $HP0)"
		[ "$(hugetlbfs_state)" = "$MNT0" ] ||
			leftovers+=" hugetlbfs mount: '$(hugetlbfs_state)' (was '$MNT0')"
	else
		echo "# other VMs run under vmrun: host-wide hugepages not compared"
	fi
	[ -e "$SHM" ] && leftovers+=" $SHM"
	for f in /run/vmrun/$NAME.json /run/vmrun/$NAME.sock \
		/run/vmrun/$NAME.lock /run/vmrun/$NAME.swtpm.sock \
		/run/vmrun/$NAME.battery.aml \
		$(awk '$3 == "hugetlbfs" {print $2 "/vmrun-'"$NAME"'"}' \
			/proc/mounts); do
		[ -e "$f" ] && leftovers+=" $f"
	done
	[ -n "$(qemu_pids "$NAME")" ] && leftovers+=" QEMU $(qemu_pids "$NAME")"
	[ -n "$(swtpm_pids)" ] && leftovers+=" swtpm $(swtpm_pids)"
	if [ -z "$leftovers" ]; then
		ok "$1: host restored"
	else
		not_ok "$1: host restored"
		echo "#   left:$leftovers"
	fi
}

# affinity PID COMM: Cpus_allowed_list of QEMU's thread named COMM
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

# emulator_affinity PID: the affinities of QEMU's non-vCPU threads
emulator_affinity() {
	local t
	for t in /proc/"$1"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		CPU\ *) ;;
		*) awk '/^Cpus_allowed_list:/ {print $2}' "$t/status" ;;
		esac
	done | sort -u | tr '\n' ' '
}

log_has() {
	grep -q -- "$2" "$1"
}

# --- requirements -----------------------------------------------------------
why=""
[ "$(id -u)" = 0 ] || why="needs root (hugepages, /run/vmrun, /dev/shm)"
[ -n "$QEMU" ] || why="no qemu-system-x86_64 (apt-get install qemu-system-x86)"
[ -r "$OVMF" ] || why="no $OVMF (apt-get install ovmf)"
command -v swtpm >/dev/null || why="no swtpm (apt-get install swtpm)"
command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null ||
	why="no mkfs.vfat/mcopy (apt-get install dosfstools mtools)"
[ "$(nproc)" -ge 2 ] || why="needs 2 CPUs to check pinning"
if [ -n "$why" ]; then
	skip "real QEMU runs" "$why"
	done_testing
	exit
fi
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
HUGE=2M
if [ "$avail_kb" -lt $((1024 * 1024)) ]; then
	HUGE=none
	skip "hugepage-backed guest RAM" \
		"MemAvailable is $((avail_kb / 1024)) MiB; 1 GiB wanted"
fi
make_ok=true
disk "$TMP/poweroff.img" 'echo "vmrun test: guest up"' 'stall 2000000' \
	'reset -s' || make_ok=false
disk "$TMP/idle.img" ':loop' 'stall 1000000' 'goto loop' || make_ok=false
check "test disks made" $make_ok

# --- 1. the guest powers itself off: exit 0, everything given back -----------
profile "$TMP/run.ini" "$TMP/poweroff.img" 30 \
	"cores = 2
vcpu-pin = 1,0"
start "$TMP/run.ini" "$TMP/run.log"
if wait_running "own shutdown" "$TMP/run.log"; then
	# vCPU 0 on CPU 1 and vCPU 1 on CPU 0: not what the kernel would pick
	expect_eq "vCPU 0 thread pinned to CPU 1" 1 "$(affinity "$QPID" "CPU 0/TCG")"
	expect_eq "vCPU 1 thread pinned to CPU 0" 0 "$(affinity "$QPID" "CPU 1/TCG")"
	expect_eq "Looking Glass shm: size, mode, owner" \
		"8388608 660 root root" \
		"$(stat -c '%s %a %U %G' "$SHM" 2>&1)"
	check "swtpm runs" test -n "$(swtpm_pids)"
	check "journal /run/vmrun/$NAME.json exists" test -s "/run/vmrun/$NAME.json"
	check "control socket exists" test -S "/run/vmrun/$NAME.sock"
	if [ "$HUGE" = 2M ]; then
		[ -z "$OTHERS0" ] &&
			expect_eq "QEMU holds 128 more 2 MiB hugepages" \
				$((USED0 + 128)) "$(hugepages_used)"
		check "QEMU maps its RAM from hugetlbfs" \
			maps_hugetlbfs "$QPID"
		# one preallocation thread per pinned CPU, in a thread
		# context on those CPUs; the log says how long it took
		check "QEMU preallocates with 2 threads on CPUs 0-1" \
			grep -qa '"cpu-affinity":\[0,1\]}.*"prealloc-threads":2,' \
			"/proc/$QPID/cmdline"
		check "the log says how long preallocation took" \
			log_has "$TMP/run.log" "preallocated by 2 threads in"
	fi
	check "QEMU runs the fake-battery SSDT" \
		grep -qa "acpitable" "/proc/$QPID/cmdline"
fi
wait_rc "$VMPID" 120
expect_eq "vmrun exits 0 when the guest powers off" 0 $?
check "vmrun saw the guest's own shutdown" log_has "$TMP/run.log" \
	"the guest powered off"
check "OVMF vars copied to the state folder" test -s "$STATE/OVMF_VARS.fd"
check "VM log written" log_has "$STATE/$NAME.log" "is running"
restored "own shutdown"

# --- 2. the demo profile, as `make demo` runs it ------------------------
mkdir -p "$TMP/demo/profiles" "$TMP/demo/build/demo"
sed -e "s/^name = demo$/name = demo-$$/" "$TOP/profiles/demo.ini" \
	>"$TMP/demo/profiles/demo.ini"
if "$TOP/scripts/make-demo-disk" "$TMP/demo/build/demo/boot.img" &&
	timeout 180 "$VMRUN" "$TMP/demo/profiles/demo.ini" >"$TMP/demo.log" 2>&1; then
	ok "demo profile runs to the guest's power-off (exit 0)"
else
	not_ok "demo profile runs to the guest's power-off (exit 0)"
	sed 's/^/#   /' "$TMP/demo.log"
fi
check "demo: state folder next to the profile's copy" \
	test -s "$TMP/demo/build/demo/OVMF_VARS.fd"

# --- 3. SIGINT: powerdown x2, timeout, quit -> 5; host restored -------------
profile "$TMP/idle.ini" "$TMP/idle.img" 3 \
	"cores = 1
vcpu-pin = 1
emulator-pin = 0"
start "$TMP/idle.ini" "$TMP/sigint.log"
if wait_running "SIGINT" "$TMP/sigint.log"; then
	expect_eq "vCPU thread on CPU 1" 1 "$(affinity "$QPID" "CPU 0/TCG")"
	expect_eq "QEMU's other threads on CPU 0" "0 " \
		"$(emulator_affinity "$QPID")"
	t0=$SECONDS
	kill -INT "$VMPID"
	wait_rc "$VMPID" 40
	expect_eq "SIGINT, guest ignores power-off: exit 5" 5 $?
	check "the ladder waited shutdown-timeout (3 s)" \
		test $((SECONDS - t0)) -ge 3
	check "the guest was asked to power off" log_has "$TMP/sigint.log" \
		"asking the guest to power off"
	check "timeout reported" log_has "$TMP/sigint.log" \
		"did not power off within 3 s"
	check "exit message says QEMU was stopped" log_has "$TMP/sigint.log" \
		"the guest did not power off; QEMU was stopped"
fi
restored "SIGINT"

# --- 3b. on a terminal, the wait for the power-off shows a progress bar --
if command -v script >/dev/null; then
	baseline
	: >"$TMP/tty.log"
	script -qfec "exec $VMRUN $TMP/idle.ini" "$TMP/tty.log" \
		>/dev/null 2>&1 </dev/null &
	SCRIPTPID=$!
	PIDS+=("$SCRIPTPID")
	if wait_running "terminal" "$TMP/tty.log"; then
		VMPID=$(pgrep -P "$SCRIPTPID" | head -n 1)
		kill -INT "$VMPID"
		wait_rc "$SCRIPTPID" 40
		check "terminal: a power-off progress bar" \
			grep -q 'power-off *\[#* *\] [0-9]/3 s' "$TMP/tty.log"
		check "terminal: warnings in colour" \
			grep -q "$(printf '\033')\[1;33mwarning: the guest did not" \
			"$TMP/tty.log"
	fi
	restored "terminal"
else
	not_ok "terminal: script(1) from util-linux is missing"
fi

# --- 4. a second SIGINT skips to quit -----------------------------------
profile "$TMP/slow.ini" "$TMP/idle.img" 120 "cores = 1"
start "$TMP/slow.ini" "$TMP/sigint2.log"
if wait_running "second SIGINT" "$TMP/sigint2.log"; then
	t0=$SECONDS
	kill -INT "$VMPID"
	wait_until 10 log_has "$TMP/sigint2.log" "asking the guest to power off"
	kill -INT "$VMPID"
	wait_rc "$VMPID" 40
	expect_eq "second SIGINT: exit 5" 5 $?
	check "second SIGINT did not wait the 120 s timeout" \
		test $((SECONDS - t0)) -lt 20
	check "second SIGINT: stopped without waiting" \
		log_has "$TMP/sigint2.log" "without waiting for the guest"
fi
restored "second SIGINT"

# --- 5. QEMU killed: exit 3, host restored -------------------------------
start "$TMP/idle.ini" "$TMP/crash.log"
if wait_running "QEMU killed" "$TMP/crash.log"; then
	kill -9 "$QPID"
	wait_rc "$VMPID" 40
	expect_eq "QEMU killed by SIGKILL: exit 3" 3 $?
	check "crash reported with the signal" log_has "$TMP/crash.log" \
		"QEMU was killed by signal 9"
fi
restored "QEMU killed"

# --- 5b. swtpm goes a moment before QEMU ---------------------------------
# swtpm ends when QEMU's sockets close, which can be before QEMU's own end
# is seen (a loaded host, many QEMU threads to take down). QEMU's crash is
# the story, not "swtpm ended".
start "$TMP/idle.ini" "$TMP/crash2.log"
if wait_running "QEMU and swtpm gone" "$TMP/crash2.log"; then
	kill -9 $(swtpm_pids)
	sleep 0.2
	kill -9 "$QPID"
	wait_rc "$VMPID" 40
	expect_eq "QEMU and swtpm gone: exit 3" 3 $?
	check "QEMU and swtpm gone: QEMU's crash reported" \
		log_has "$TMP/crash2.log" "QEMU was killed by signal 9"
	check "QEMU and swtpm gone: swtpm not blamed" \
		not_grep -- "swtpm (pid" "$TMP/crash2.log"
fi
restored "QEMU and swtpm gone"

# --- 5c. QEMU refuses a disk: vmrun names its profile line ----------------
# A raw image declared qcow2: vmrun accepts the profile, QEMU refuses the
# format node at start ("-blockdev {...}: Image is not in qcow2 format").
sed 's/^format = raw$/format = qcow2/' "$TMP/idle.ini" >"$TMP/qcow2.ini"
FMT_LINE=$(grep -n '^format = qcow2$' "$TMP/qcow2.ini" | cut -d: -f1)
start "$TMP/qcow2.ini" "$TMP/qcow2.log"
wait_rc "$VMPID" 60
expect_eq "QEMU refuses the disk's format: exit 1" 1 $?
check "QEMU's own message passed on" log_has "$TMP/qcow2.log" \
	'qemu-system-x86_64: -blockdev {.*"driver":"qcow2".*}: Image is not in qcow2 format'
check "vmrun names [disk.boot] format and its line" grep -qF \
	"vmrun: QEMU refused [disk.boot] format ($TMP/qcow2.ini:$FMT_LINE): Image is not in qcow2 format; the file is not in that format" \
	"$TMP/qcow2.log"
check "and how QEMU ended" log_has "$TMP/qcow2.log" \
	"QEMU exited with status 1 before the guest ran"
restored "QEMU refuses a disk"

# --- 6. vmrun killed: QEMU follows, `vmrun restore` cleans up --------------
start "$TMP/idle.ini" "$TMP/killed.log"
if wait_running "vmrun killed" "$TMP/killed.log"; then
	kill -9 "$VMPID"
	wait "$VMPID" 2>/dev/null
	check "QEMU ends when vmrun is killed (PDEATHSIG)" \
		wait_until 20 gone "$QPID"
	check "swtpm ends too" wait_until 20 test -z "$(swtpm_pids)"
	check "journal left for restore" test -s "/run/vmrun/$NAME.json"
	"$VMRUN" restore "$NAME" >"$TMP/restore.log" 2>&1
	expect_eq "vmrun restore exits 0" 0 $?
fi
restored "vmrun killed + restore"

# --- 7. --detach, status, stop, stop --force --------------------------------
profile "$TMP/detach.ini" "$TMP/idle.img" 2 "cores = 2
vcpu-pin = 1,0"
baseline
out=$(timeout 90 "$VMRUN" --detach "$TMP/detach.ini" 2>"$TMP/detach.err")
rc=$?
expect_eq "--detach returns 0 once the guest runs" 0 $rc
DPID=$(sed -n 's/.*(vmrun pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$DPID" ] && PIDS+=("$DPID")
check "--detach prints the supervisor's pid" test -n "$DPID"
check "the detached vmrun runs" kill -0 "${DPID:-0}"
st=$("$VMRUN" status "$NAME" 2>&1)
expect_eq "status NAME: running" "$NAME: running" "$(head -n1 <<<"$st" | cut -d, -f1)"
check "status NAME: which vCPU runs on which CPU" grep -q \
	"2 vCPUs: vCPU 0 on CPU 1, vCPU 1 on CPU 0" <<<"$st"
check "status (all) lists it" grep -q "^$NAME: running" <<<"$("$VMRUN" status)"
t0=$SECONDS
stop_out=$(timeout 60 "$VMRUN" stop "$NAME" 2>&1)
expect_eq "stop NAME exits 0" 0 $?
check "stop: guest ignored power-off, QEMU stopped after 2 s" \
	grep -q "the guest did not power off; QEMU was stopped" <<<"$stop_out"
check "stop took the shutdown-timeout" test $((SECONDS - t0)) -ge 2
# stop returns once the host is given back: no waiting here
restored "stop"
check "the detached vmrun has ended" wait_until 10 gone "${DPID:-0}"
check "detached run logged to the VM log" \
	log_has "$STATE/$NAME.log" "giving the host back"
expect_eq "status of a stopped VM" \
	"vmrun: VM '$NAME' is not running (no vmrun supervises it)" \
	"$("$VMRUN" status "$NAME" 2>&1)"

profile "$TMP/detach.ini" "$TMP/idle.img" 120 "cores = 1"
baseline
out=$(timeout 90 "$VMRUN" --detach "$TMP/detach.ini" 2>"$TMP/detach.err")
expect_eq "--detach again" 0 $?
DPID=$(sed -n 's/.*(vmrun pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$DPID" ] && PIDS+=("$DPID")
t0=$SECONDS
stop_out=$(timeout 60 "$VMRUN" stop --force "$NAME" 2>&1)
expect_eq "stop --force exits 0" 0 $?
check "stop --force does not wait for the guest" test $((SECONDS - t0)) -lt 20
check "stop --force: QEMU stopped" grep -q "QEMU was stopped" <<<"$stop_out"
restored "stop --force"
check "the detached vmrun has ended" wait_until 10 gone "${DPID:-0}"

done_testing
