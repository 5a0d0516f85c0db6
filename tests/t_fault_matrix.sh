#!/usr/bin/env bash
# t_fault_matrix.sh: for every host fixture, a full plan (GPU and
# its audio function, hugepages, isolate + IRQ affinity, console and efifb,
# Looking Glass, fake battery, a bridged tap) is cut short after each of
# its host operations, and while a guest runs (tests/fakeqemu) or while
# vmrun undoes it, and /run fills up at each journal write of a run; two
# such VMs end in every order; afterwards the fake host must be byte for
# byte as before.
. "$(dirname "$0")/lib.sh"

FAKEQEMU=$TOP/tests/fakeqemu
ROOT=$TMP/root
PIDS=() # vmrun and fakeqemu processes this suite started
CASES=0
PASSED=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private copy of the binary for the whole matrix: build/ is shared, and
# a relink half-way would fail a case for a reason outside it.
for _ in 1 2 3 4 5; do
	cp "$VMRUN" "$TMP/vmrun" 2>/dev/null && "$TMP/vmrun" --version \
		>/dev/null 2>&1 && break
	sleep 1
done
VMRUN=$TMP/vmrun

# --- helpers --------------------------------------------------------------
pass() {
	CASES=$((CASES + 1))
	PASSED=$((PASSED + 1))
	ok "$@"
}

fail() {
	CASES=$((CASES + 1))
	not_ok "$@"
}

# fresh FX: a new fake host, copied from the one built for fixture FX
fresh() {
	rm -rf "$ROOT"
	cp -a "$TMP/base-$1" "$ROOT"
}

# verdict CASE WHY: the case passes when WHY is empty and the fake host
# equals its fixture's pristine snapshot; the diff is shown otherwise
verdict() {
	local name=$1 why=$2
	"$FAKEHOST" snapshot "$ROOT" >"$TMP/after" 2>&1
	if ! diff -u "$TMP/before-$FX" "$TMP/after" >"$TMP/diff"; then
		fail "$name"
		[ -n "$why" ] && echo "#   $why"
		head -n 30 "$TMP/diff" | sed 's/^/#   /'
	elif [ -n "$why" ]; then
		fail "$name"
		echo "#   $why"
	else
		pass "$name"
	fi
}

# restore_why: run `vmrun restore`; its failure as a reason, or nothing
restore_why() {
	if ! vm restore "$VM" >"$TMP/restore.log" 2>&1; then
		echo "vmrun restore failed: $(tail -n 3 "$TMP/restore.log" | tr '\n' ' ')"
	fi
}

# start LOG [ENV=VALUE...]: `vmrun PROFILE` in the background; VMPID is
# a shell that waits for it and exits with its status (its "Killed"
# report, when vmrun is killed on purpose, goes nowhere)
start() {
	local log=$1
	shift
	: >"$log"
	{
		env "$@" "$FAKEHOST" run "$ROOT" -- "$VMRUN" "$PROFILE" \
			>"$log" 2>&1
		exit $?
	} 2>/dev/null &
	VMPID=$!
	PIDS+=("$VMPID")
}

running() {
	QPID=$(sed -n "s/.*VM '$VM' is running (QEMU pid \([0-9]*\)).*/\1/p" \
		"$1" 2>/dev/null)
	[ -n "$QPID" ]
}

# wait_running LOG: the guest runs (QPID set), or the reason is in WHY
wait_running() {
	if wait_until 30 running "$1"; then
		PIDS+=("$QPID")
		return 0
	fi
	WHY="the guest never ran: $(tail -n 3 "$1" | tr '\n' ' ')"
	return 1
}

# --- the profile of one fixture ---------------------------------------------
# gpu_functions FIXTURE-FILE: the guest GPU and its group's other functions
# (bridges stay with the host): known for the real-machine fixtures, else the
# first VGA device that is not the boot GPU
gpu_functions() {
	case $(basename "$1" .host) in
	b550-gtx1060) echo 0000:08:00.0 0000:08:00.1 ;;
	ivybridge-gtx970) echo 0000:06:00.0 0000:06:00.1 ;;
	*)
		awk '$1 == "pci" && $3 == "0300" && !/ boot_vga/ && !g {
			g = $5; gpu = $2 }
		     $1 == "pci" { grp[NR] = $5; bdf[NR] = $2
			br[NR] = / bridge /; }
		     END { if (!g) exit
			printf "%s", gpu
			for (i in grp)
				if (grp[i] == g && bdf[i] != gpu && !br[i])
					printf " %s", bdf[i]
			print "" }' "$1"
		;;
	esac
}

# write_profile FIXTURE-FILE BDF...: the full plan's profile at $PROFILE
write_profile() {
	local cpus i=0 bdf
	cpus=$(sed -n 's/^cpus \([0-9]*\).*/\1/p' "$1")
	shift
	# fakeqemu's vCPU thread is really pinned: use CPUs of this machine
	{
		printf '[vm]\nname = %s\nmemory = 1G\naccel = tcg\n' "$VM"
		printf 'qemu = %s\nstate-dir = %s\nshutdown-timeout = 2\n\n' \
			"$FAKEQEMU" "$TMP/state-$VM"
		printf '[cpu]\ncores = 1\n'
		if [ "$(nproc)" -ge 2 ] && [ "${cpus:-16}" -ge 2 ]; then
			printf 'vcpu-pin = 1\nemulator-pin = 0\nisolate = yes\n'
		fi
		printf '\n[memory]\nhugepages = 2M\n\n'
		for bdf in "$@"; do
			printf '[pci.f%d]\nhost = %s\n' $i "$bdf"
			[ $i -eq 0 ] && [ $# -gt 1 ] && echo "multifunction = yes"
			i=$((i + 1))
		done
		printf '\n[host]\nunbind-vtconsoles = yes\nunbind-efifb = yes\n'
		printf 'irq-affinity = yes\n\n'
		printf '[looking-glass]\ndevice = /dev/shm/%s-lg\n' "$VM"
		printf 'resolution = 1280x720\n\n'
		printf '[acpi]\nfake-battery = yes\n\n'
		printf '[net.lan]\nmode = bridge\nbridge = br0\n'
	} >"$PROFILE"
}

# --- the cases ------------------------------------------------------------
# prepare_faults: kill `vmrun prepare` after each op, then restore
prepare_faults() {
	local k why rc
	for ((k = 1; k <= NOPS; k++)); do
		fresh "$FX"
		why=
		VMRUN_FAULT_AFTER_OP=$k vm prepare "$PROFILE" \
			>"$TMP/prepare.log" 2>&1
		rc=$?
		[ $rc -eq 137 ] || why="prepare exited $rc, not killed (137)"
		[ -z "$why" ] && why=$(restore_why)
		verdict "$FX: killed after op $k/$NOPS (${DESC[k]}), restore" \
			"$why"
	done
}

# qemu_killed: QEMU dies while the guest runs; vmrun gives the host back
# by itself (exit 3), no restore needed
qemu_killed() {
	local why='' rc
	fresh "$FX"
	start "$TMP/crash.log"
	WHY=
	if wait_running "$TMP/crash.log"; then
		kill -9 "$QPID"
		wait_rc "$VMPID" 60
		rc=$?
		[ $rc -eq 3 ] || why="vmrun exited $rc, not 3 (QEMU crashed)"
	else
		why=$WHY
	fi
	[ -e "$ROOT/run/vmrun/$VM.json" ] && why="${why:+$why; }journal left"
	verdict "$FX: QEMU killed while the guest runs, vmrun restores" "$why"
}

# vmrun_killed: SIGKILL to a supervising vmrun, then `vmrun restore`
vmrun_killed() {
	local why='' vmrun
	fresh "$FX"
	start "$TMP/killed.log"
	WHY=
	if wait_running "$TMP/killed.log"; then
		# vmrun itself is QEMU's parent
		vmrun=$(awk '/^PPid:/ {print $2}' "/proc/$QPID/status")
		kill -9 "${vmrun:-$VMPID}"
		wait "$VMPID" 2>/dev/null
		wait_until 10 gone "$QPID" || why="QEMU outlived its vmrun"
		kill -9 "$QPID" 2>/dev/null
		[ -z "$why" ] && why=$(restore_why)
	else
		why=$WHY
	fi
	verdict "$FX: vmrun killed while supervising, restore" "$why"
}

# undo_faults: the guest powers off and vmrun is killed after each step
# of its own undo; `vmrun restore` finishes the job
undo_faults() {
	local k why rc
	for ((k = 1; k <= NOPS; k++)); do
		fresh "$FX"
		why=
		start "$TMP/undo.log" VMRUN_FAULT_AFTER_UNDO=$k \
			FAKEQEMU_GUEST_SHUTDOWN_AFTER=0.1
		wait_rc "$VMPID" 60
		rc=$?
		if [ $rc -ne 137 ]; then
			why="vmrun exited $rc, not killed (137) in its undo"
			why+=": $(tail -n 2 "$TMP/undo.log" | tr '\n' ' ')"
		fi
		[ -z "$why" ] && why=$(restore_why)
		verdict "$FX: run, killed after undo step $k/$NOPS, restore" \
			"$why"
	done
}

# journal_faults: from the k-th journal write on, every write fails with
# ENOSPC (/run is full), for each k of a whole run: the start (the guest
# then never runs: exit 1) and the undo after the guest's power-off (exit
# 0). Either way vmrun puts the host back by itself, QEMU ends before any
# device goes back to the host, and only what was not undone is called
# so; the case after the last write is a plain run.
journal_faults() {
	local k why rc n=0
	for ((k = 1; k <= 500; k++)); do
		fresh "$FX"
		why=
		rm -f "$TMP/lost"
		start "$TMP/jfull.log" VMRUN_FAULT_JOURNAL_FULL=$k \
			FAKEQEMU_GUEST_SHUTDOWN_AFTER=0.1 \
			FAKEQEMU_DEVICE_LOST_OUT="$TMP/lost"
		wait_rc "$VMPID" 60
		rc=$?
		grep -q "No space left on device" "$TMP/jfull.log" || break
		n=$((n + 1))
		case $rc in
		0 | 1) ;;
		*) why="vmrun exited $rc: $(tail -n 2 "$TMP/jfull.log" | tr '\n' ' ')" ;;
		esac
		grep -q "could not undo" "$TMP/jfull.log" &&
			why="${why:+$why; }it says: $(grep "could not undo" "$TMP/jfull.log")"
		[ -s "$TMP/lost" ] && why="${why:+$why; }$(cat "$TMP/lost")"
		[ -e "$ROOT/run/vmrun/$VM.json" ] && why="${why:+$why; }journal left"
		verdict "$FX: journal writes fail from write $k on (exit $rc), no restore" \
			"$why"
	done
	if [ $rc -eq 0 ] && [ $n -gt 0 ]; then
		pass "$FX: a run makes $n journal writes; without a fault it ends well"
	else
		fail "$FX: a run without a journal fault (k=$k) ends well (exit $rc)"
	fi
}

# two_vms: the full VM (A: $PROFILE, with stop-units) and a second one
# without devices (B) that shares with A every host change it can: the
# slices' CPUs and IRQs (its own guest CPU), the machine slice, the
# consoles, the display manager, the hugepage pool and its mount. Both
# start, then end in each order: once the first has ended the host is as
# with the other one alone, and once the last has ended as before.
two_vms() {
	local v order first second why rc
	if ! grep -q 'isolate = yes' "$PROFILE"; then
		skip "$FX: two VMs, every end order" \
			"isolate needs 2 CPUs on this machine"
		return
	fi
	sed '/^irq-affinity = yes/a stop-units = display-manager.service' \
		"$PROFILE" >"$TMP/two-A.ini"
	sed -e "s/^name = .*/name = $VM-b/" -e '/^\[pci\./,/^$/d' \
		-e 's/^vcpu-pin = 1/vcpu-pin = 0/' \
		-e 's/^emulator-pin = 0/emulator-pin = 1/' \
		-e "s|^device = .*|device = /dev/shm/$VM-b-lg|" \
		-e "s|^state-dir = .*|state-dir = $TMP/state-$VM-b|" \
		"$TMP/two-A.ini" >"$TMP/two-B.ini"
	NAME_A=$VM
	NAME_B=$VM-b
	for v in A B; do
		fresh "$FX"
		two_start $v && snap >"$TMP/alone-$v"
		two_stop $v
	done
	for order in "A B" "B A"; do
		read -r first second <<<"$order"
		fresh "$FX"
		why=
		two_start A && two_start B || why=$WHY
		if [ -z "$why" ]; then
			two_stop "$first"
			[ "$RC" = 0 ] || why="VM $first exited $RC"
			snap | diff -u "$TMP/alone-$second" - >"$TMP/diff" ||
				why="${why:+$why; }with VM $second alone: $(grep '^[-+][a-z]' "$TMP/diff" | head -n 6 | tr '\n' ' ')"
		fi
		two_stop "$second"
		[ "$RC" = 0 ] || why="${why:+$why; }VM $second exited $RC"
		verdict "$FX: two VMs, A and B start, $first ends first" "$why"
	done
}

# two_start A|B: that VM in the background until its guest runs
two_start() {
	local n="NAME_$1" log=$TMP/two-$1.log
	: >"$log"
	{
		"$FAKEHOST" run "$ROOT" -- "$VMRUN" "$TMP/two-$1.ini" >"$log" 2>&1
		exit $?
	} 2>/dev/null &
	printf -v "TWOPID_$1" '%s' $!
	PIDS+=($!)
	if wait_until 30 grep -q "VM '${!n}' is running" "$log"; then
		return 0
	fi
	WHY="VM $1 never ran: $(tail -n 3 "$log" | tr '\n' ' ')"
	return 1
}

# two_stop A|B: vmrun stop it; RC is its vmrun's exit status
two_stop() {
	local n="NAME_$1" p="TWOPID_$1"
	vm stop "${!n}" >/dev/null 2>&1
	wait_rc "${!p}" 30
	RC=$?
}

# --- each fixture ----------------------------------------------------------
for fxfile in "$FIXTURES"/*.host; do
	FX=$(basename "$fxfile" .host)
	VM=fm-$(printf '%s' "$FX" | cut -c1-20)
	PROFILE=$TMP/$VM.ini
	read -r -a FUNCS <<<"$(gpu_functions "$fxfile")"
	if [ ${#FUNCS[@]} -eq 0 ]; then
		skip "$FX: fault matrix" "no VGA device other than the boot GPU"
		continue
	fi
	if ! "$FAKEHOST" build "$fxfile" "$TMP/base-$FX" >"$TMP/build.log" 2>&1; then
		fail "$FX: build the fake host"
		sed 's/^/#   /' "$TMP/build.log"
		continue
	fi
	"$FAKEHOST" snapshot "$TMP/base-$FX" >"$TMP/before-$FX"
	write_profile "$fxfile" "${FUNCS[@]}"
	fresh "$FX"
	if ! vm --dry-run "$PROFILE" >"$TMP/dry" 2>"$TMP/dry.err"; then
		skip "$FX: fault matrix" "no plan for ${FUNCS[*]}: $(tail -n 1 "$TMP/dry.err")"
		continue
	fi
	DESC=("")
	while IFS= read -r line; do
		DESC+=("$line")
	done < <(sed -n 's/^#   [0-9]*\. //p' "$TMP/dry")
	NOPS=$((${#DESC[@]} - 1))
	echo "# $FX: ${FUNCS[*]}, $NOPS host operations"
	# the plan must hold every kind of change this matrix is about
	for want in "to vfio-pci" "hugepages" "confine" "IRQs" "vtcon" \
		"framebuffer" "Looking Glass" "fake-battery" "tap"; do
		if [ "$want" = confine ] || [ "$want" = IRQs ] &&
			! grep -q 'isolate = yes' "$PROFILE"; then
			skip "$FX: the plan has a '$want' op" \
				"isolate needs 2 CPUs on this machine"
		elif grep -q -- "$want" <<<"$(printf '%s\n' "${DESC[@]}")"; then
			pass "$FX: the plan has a '$want' op"
		else
			fail "$FX: the plan has a '$want' op"
		fi
	done
	prepare_faults
	qemu_killed
	vmrun_killed
	undo_faults
	journal_faults
	two_vms
done

echo "# fault matrix: $CASES cases, $PASSED passed"
done_testing
