#!/usr/bin/env bash
# t_run_end.sh: the ways a run can end that are not a power-off: the
# reader of vmrun's output gone, the first --detach, the guest stopped by
# QEMU (internal error, I/O error), swtpm gone, QEMU not answering, hooks
# that hang, control clients that misbehave. Fake host, tests/fakeqemu as
# QEMU; the fake host must be as before after each case.
. "$(dirname "$0")/lib.sh"

FAKEQEMU=$TOP/tests/fakeqemu
NAME=t-end-$$
BASE=$TMP/base
ROOT=$TMP/root
PIDS=() # processes this suite started

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in $(pgrep -f -- "$FAKEQEMU -name guest=$NAME," || true); do
		kill -9 "$p" 2>/dev/null
	done
	for p in $(pgrep -f -- "swtpm socket .*$TMP/" || true); do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers --------------------------------------------------------------

# fresh: a new fake host from the fixture, and its snapshot
fresh() {
	rm -rf "$ROOT"
	cp -a "$BASE" "$ROOT"
	snap >"$TMP/before"
}

# same_snapshot CASE: the fake host is as it was before the case
same_snapshot() {
	snap >"$TMP/after"
	if diff -u "$TMP/before" "$TMP/after" >"$TMP/diff"; then
		ok "$1: fake host as before"
	else
		not_ok "$1: fake host as before"
		head -n 30 "$TMP/diff" | sed 's/^/#   /'
	fi
}

# start LOG [ENV=VALUE...]: vmrun in the background on the fake host
start() {
	local log=$1
	shift
	: >"$log"
	env "$@" "$FAKEHOST" run "$ROOT" -- "$VMRUN" "$TMP/vm.ini" \
		>"$log" 2>&1 &
	VMPID=$!
	PIDS+=("$VMPID")
}

running() {
	QPID=$(sed -n "s/.*VM '$NAME' is running (QEMU pid \([0-9]*\)).*/\1/p" \
		"$1" 2>/dev/null)
	[ -n "$QPID" ]
}

wait_running() {
	if wait_until 30 running "$2"; then
		PIDS+=("$QPID")
		ok "$1: the guest runs"
		return 0
	fi
	not_ok "$1: the guest runs"
	sed 's/^/#   /' "$2"
	return 1
}

# status_is STATE: `vmrun status NAME` says the VM is in STATE
status_is() {
	vm status "$NAME" 2>&1 | grep -q "^$NAME: $1"
}

log_has() {
	grep -q -- "$2" "$1"
}

# profile_with TEXT: the suite's VM plus more sections
profile_with() {
	{
		cat "$TMP/base.ini"
		printf '\n%s\n' "$1"
	} >"$TMP/vm.ini"
}

# --- the VM: one GPU function, hugepages ------------------------------------
cat >"$TMP/base.ini" <<EOI
[vm]
name = $NAME
memory = 1G
qemu = $FAKEQEMU
state-dir = $TMP/state
shutdown-timeout = 2

[cpu]
cores = 1

[memory]
hugepages = 2M

[pci.gpu]
host = 08:00.0
multifunction = yes

[pci.gpu-audio]
host = 08:00.1

[net.lan]
mode = none
EOI
cp "$TMP/base.ini" "$TMP/vm.ini"

if ! "$FAKEHOST" build "$FIXTURES/b550-gtx1060.host" "$BASE" \
	>"$TMP/build.log" 2>&1; then
	not_ok "build the b550 fake host"
	sed 's/^/#   /' "$TMP/build.log"
	done_testing
	exit
fi

# --- the first --detach: no state folder yet ----------------------------------
# The caller's stdout is let go at once ($(...) returns) and the log is
# opened in the state folder made for it. The guest powers off by itself
# after 20 s, which bounds the case when $(...) waits for the VM.
fresh
sed "s|^state-dir = .*|state-dir = $TMP/state-first|" "$TMP/base.ini" \
	>"$TMP/vm.ini"
t0=$SECONDS
out=$(env FAKEQEMU_GUEST_SHUTDOWN_AFTER=20 timeout 60 "$FAKEHOST" run \
	"$ROOT" -- "$VMRUN" --detach "$TMP/vm.ini" 2>"$TMP/detach.err")
rc=$?
expect_eq "first --detach: exit 0" 0 $rc
check "first --detach: \$(vmrun --detach) returns while the guest runs" \
	test $((SECONDS - t0)) -lt 15
DPID=$(sed -n 's/.*(vmrun pid \([0-9]*\)).*/\1/p' <<<"$out")
[ -n "$DPID" ] && PIDS+=("$DPID")
check "first --detach: the VM log is in the new state folder" grep -q \
	"VM '$NAME' is running" "$TMP/state-first/$NAME.log"
timeout 30 "$FAKEHOST" run "$ROOT" -- "$VMRUN" stop "$NAME" >/dev/null 2>&1
check "first --detach: its vmrun has ended" wait_until 30 gone "${DPID:-0}"
same_snapshot "first --detach"
cp "$TMP/base.ini" "$TMP/vm.ini"

# --- the reader of vmrun's output goes away (SIGPIPE) -------------------------
# `vmrun x.ini 2>&1 | grep -q running`: once the guest runs, vmrun's
# messages go to a pipe nobody reads; the run goes on and ends as the
# guest says, with the host given back. vmrun gets
# SIGPIPE's default disposition, as from a shell (python, which runs the
# fake host, ignores it, and exec keeps that).
fresh
rm -f "$TMP/qpid" "$TMP/pipe.rc"
{
	env FAKEQEMU_PID_OUT="$TMP/qpid" "$FAKEHOST" run "$ROOT" -- \
		env --default-signal=PIPE "$VMRUN" "$TMP/vm.ini" 2>&1
	echo $? >"$TMP/pipe.rc"
} | grep -q "VM '$NAME' is running" &
PIPEPID=$!
PIDS+=("$PIPEPID")
if wait_until 30 test -s "$TMP/qpid" && wait_until 30 status_is running; then
	QPID=$(cat "$TMP/qpid")
	PIDS+=("$QPID")
	ok "reader gone: the guest runs"
	kill -USR1 "$QPID"
else
	not_ok "reader gone: the guest runs"
fi
wait_rc "$PIPEPID" 30
wait_until 5 test -s "$TMP/pipe.rc"
expect_eq "reader gone: vmrun ends with the guest's power-off (exit 0)" 0 \
	"$(cat "$TMP/pipe.rc" 2>/dev/null)"
same_snapshot "reader gone"

done_testing
