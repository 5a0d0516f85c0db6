#!/usr/bin/env bash
# t_two_vms.sh: two VMs on one (fake) host, tests/fakeqemu as QEMU: claims
# taken all at once under the host lock (two starts with the same GPU at
# the same moment: one runs), a Looking Glass file of each VM's own, and
# host state the VMs share given back only when the last one ends, in
# every end order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fakerun.sh"

A=t2a-$$
B=t2b-$$
BASE=$TMP/base
ROOT=$TMP/root

cleanup() {
	kill_fakeqemu "t2[ab]-$$"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# profile NAME TEXT: the VM NAME with the sections in TEXT
profile() {
	fake_vm "$TMP/$1.ini" "$1" 1G "$TMP/state-$1" "" "$2"
}

# start NAME [ENV=VALUE...]: VM NAME in the background; its pid in PID_NAME
start() {
	local n=$1
	shift
	: >"$TMP/$n.log"
	env "$@" "$FAKEHOST" run "$ROOT" -- "$VMRUN" "$TMP/$n.ini" \
		>"$TMP/$n.log" 2>&1 &
	PIDS+=($!)
	printf -v "PID_${n//-/_}" '%s' $!
}

pid_of() {
	local v="PID_${1//-/_}"
	echo "${!v}"
}

is_running() {
	grep -q "VM '$1' is running" "$TMP/$1.log"
}

# stop NAME: vmrun stop, and the exit status of its vmrun
stop() {
	vm stop "$1" >/dev/null 2>&1
	wait_rc "$(pid_of "$1")" 30
}

build_fakehost b550-gtx1060

GPU="[pci.gpu]
host = 08:00.0
multifunction = yes

[pci.gpu-audio]
host = 08:00.1"

# --- the same GPU, two starts at the same moment ------------------------------
# Claims are checked and written under the host lock, all of a VM's at
# once: one VM gets the GPU and its audio function, the other none of
# them. VMRUN_TEST_CLAIM_DELAY_MS widens the moment between check and
# write, as a busy host does.
profile "$A" "$GPU"
profile "$B" "$GPU"
bad=0
for trial in 1 2 3 4 5; do
	fresh
	start "$A" VMRUN_TEST_CLAIM_DELAY_MS=300
	start "$B" VMRUN_TEST_CLAIM_DELAY_MS=300
	wait_until 30 is_running "$A" || wait_until 30 is_running "$B"
	sleep 1
	n=0
	for v in "$A" "$B"; do
		is_running "$v" && n=$((n + 1))
	done
	if [ $n -ne 1 ]; then
		bad=1
		echo "# trial $trial: $n VMs run"
	fi
	for v in "$A" "$B"; do
		if is_running "$v"; then
			stop "$v" || { bad=1; echo "# trial $trial: $v stop $?"; }
		else
			wait_rc "$(pid_of "$v")" 30
			rc=$?
			[ $rc -eq 1 ] || { bad=1; echo "# trial $trial: $v exit $rc"; }
			grep -q "is in use by VM" "$TMP/$v.log" ||
				{ bad=1; echo "# trial $trial: $(tail -n 1 "$TMP/$v.log")"; }
		fi
	done
	snap | diff -u "$TMP/before" - >"$TMP/diff" ||
		{ bad=1; echo "# trial $trial:"; head -n 10 "$TMP/diff"; }
done
expect_eq "same GPU, two starts at once: one VM runs, every time" 0 $bad

# --- Looking Glass: a file of each VM's own -------------------------------------
fresh
profile "$A" "[looking-glass]
size = 8M"
profile "$B" "[looking-glass]
size = 8M"
start "$A"
wait_until 30 is_running "$A"
start "$B"
check "two VMs with Looking Glass defaults both run" \
	wait_until 30 is_running "$B"
check "VM $A has /dev/shm/looking-glass-$A" \
	test -f "$ROOT/dev/shm/looking-glass-$A"
check "VM $B has /dev/shm/looking-glass-$B" \
	test -f "$ROOT/dev/shm/looking-glass-$B"
stop "$A"
expect_eq "the first VM ends (exit 0)" 0 $?
check "the first VM's end leaves the second's file" \
	test -f "$ROOT/dev/shm/looking-glass-$B"
stop "$B"
same_snapshot "Looking Glass files per VM"

# the same file named by both: the second VM is refused before it changes
# anything (the first one's file is not truncated under its QEMU)
fresh
profile "$A" "[looking-glass]
device = /dev/shm/lg-shared-$$
size = 8M"
profile "$B" "[looking-glass]
device = /dev/shm/lg-shared-$$
size = 16M"
start "$A"
wait_until 30 is_running "$A"
start "$B"
wait_rc "$(pid_of "$B")" 30
expect_eq "a second VM naming the same file: refused (exit 1)" 1 $?
check "it says which VM has it" grep -q \
	"/dev/shm/lg-shared-$$ is in use by VM '$A'" "$TMP/$B.log"
expect_eq "the first VM's file keeps its size" 8388608 \
	"$(stat -c %s "$ROOT/dev/shm/lg-shared-$$")"
stop "$A"
same_snapshot "one Looking Glass file, two VMs"

done_testing
