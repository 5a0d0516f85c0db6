#!/usr/bin/env bash
# t_run_end.sh: the ways a run can end that are not a power-off: the
# reader of vmrun's output gone, the first --detach, the guest stopped by
# QEMU (internal error, I/O error), swtpm gone, QEMU not answering, hooks
# that hang, control clients that misbehave. Fake host, tests/fakeqemu as
# QEMU; the fake host must be as before after each case.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fakerun.sh"

NAME=t-end-$$
BASE=$TMP/base
ROOT=$TMP/root

cleanup() {
	local p
	kill_fakeqemu "$NAME"
	for p in $(pgrep -f -- "swtpm socket .*$TMP/" || true); do
		kill -9 "$p" 2>/dev/null
	done
	mountpoint -q "$TMP/small" 2>/dev/null && umount "$TMP/small"
	rm -rf "$TMP" "${NBIN:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers --------------------------------------------------------------

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

# status_is STATE: `vmrun status NAME` says the VM is in STATE
status_is() {
	vm status "$NAME" 2>&1 | grep -q "^$NAME: $1"
}

# log_has LOG TEXT: the fixed string TEXT is in LOG
log_has() {
	grep -qF -- "$2" "$1"
}

# ctl LINE: send one request line to the VM's control socket; print the
# first reply line
ctl() {
	python3 - "$ROOT/run/vmrun/$NAME.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while b"\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode().split("\n")[0])
PY
}

# --- the VM: one GPU function, hugepages ------------------------------------
fake_vm "$TMP/base.ini" "$NAME" 1G "$TMP/state" "" "$FAKE_GPU"
cp "$TMP/base.ini" "$TMP/vm.ini"

build_fakehost b550-gtx1060

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

# --- QEMU stops the guest on an internal error ---------------------------------
# As KVM does on "emulation failure": STOP, run state internal-error. The
# run ends (exit 3) with the reason, instead of supervising a frozen guest.
fresh
start "$TMP/ierr.log" FAKEQEMU_INTERNAL_ERROR_AFTER=0.5
wait_rc "$VMPID" 20
expect_eq "internal error: the run ends with exit 3" 3 $?
check "internal error: the reason is given" log_has "$TMP/ierr.log" \
	"vmrun: QEMU stopped the guest on an internal error"
check "internal error: QEMU's own message kept" log_has "$TMP/ierr.log" \
	"KVM internal error. Suberror: 1"
same_snapshot "internal error"

# --- a disk write finds the host full (stand-in QEMU) ------------------------
# BLOCK_IO_ERROR (nospace) and STOP, run state io-error: the guest stays
# paused, vmrun names the disk and says how to go on; `vmrun cont` resumes
# it (the first time the disk is still full: paused again).
fresh
truncate -s 1M "$TMP/boot.img"
profile_with "[disk.boot]
file = $TMP/boot.img
format = raw"
start "$TMP/ioerr.log" FAKEQEMU_IO_ERROR_AFTER=0.5 FAKEQEMU_IO_ERROR_TIMES=2
if wait_running "I/O error" "$TMP/ioerr.log"; then
	want="QEMU could not write to [disk.boot] ($TMP/boot.img): no space left on the host file system; the guest is paused so that nothing is lost: free space, then continue it with \`vmrun cont $NAME\`, or stop it with \`vmrun stop $NAME\`"
	check "I/O error: the disk and the way on are logged" \
		wait_until 10 grep -qF "vmrun: error: $want" "$TMP/ioerr.log"
	st=$(vm status "$NAME" 2>&1)
	check "I/O error: status says paused (I/O error)" grep -q \
		"^$NAME: paused (I/O error), up" <<<"$st"
	check "I/O error: status gives the reason" grep -qF "  $want" <<<"$st"
	out=$(vm cont "$NAME" 2>&1)
	expect_eq "cont: answered" "$NAME: continued" "$out"
	check "cont while the disk is still full: paused again" \
		wait_until 10 test "$(grep -cF "$want" "$TMP/ioerr.log")" -eq 2
	vm cont "$NAME" >/dev/null 2>&1
	check "second cont: the guest runs" wait_until 10 status_is running
	expect_eq "cont of a VM that does not run" \
		"vmrun: VM 'nosuch' is not running (no vmrun supervises it)" \
		"$(vm cont nosuch 2>&1)"
	vm stop "$NAME" >/dev/null 2>&1
fi
wait_rc "$VMPID" 20
expect_eq "I/O error, cont, stop: exit 0" 0 $?
same_snapshot "I/O error"
cp "$TMP/base.ini" "$TMP/vm.ini"

# --- the I/O error pause on the desktop ---------------------------------------
# vmrun runs as root, with no way to a user's session bus: a notifier runs
# as the user at the desktop, on that user's bus, picked from a PATH
# folder only root can change. The stand-in notify-send records who ran
# it, with what, on which bus; with $REC/hang it never returns.
TUSER=$(test_user)
TUID=$(id -u "$TUSER" 2>/dev/null)
NBIN=$(mktemp -d /tmp/vmrun-notify.XXXXXX)
chmod 0755 "$NBIN"
REC=$NBIN/rec
mkdir "$REC"
chown "$TUSER" "$REC"
cat >"$NBIN/notify-send" <<EOS
#!/bin/sh
{
	echo "uid=\$(id -u)"
	echo "groups=\$(id -G)"
	echo "inherited=\${VMRUN_ROOT:-}\${LD_PRELOAD:-}\${SUDO_UID:-}"
	echo "bus=\$DBUS_SESSION_BUS_ADDRESS"
	echo "xdg=\$XDG_RUNTIME_DIR"
	for a in "\$@"; do echo "arg=\$a"; done
} >"$REC/.call.\$\$"
mv "$REC/.call.\$\$" "$REC/call.\$\$"
[ -e "$REC/hang" ] && { echo \$\$ >"$REC/hang.pid"; exec sleep 1000; }
exit 0
EOS
chmod 0755 "$NBIN/notify-send"
# a notify-send in a folder the test user owns, first on PATH: vmrun, as
# root, must not pick it
UBIN=$NBIN/user-bin
mkdir "$UBIN"
printf '#!/bin/sh\ntouch "%s"\n' "$REC/untrusted" >"$UBIN/notify-send"
chmod 0755 "$UBIN/notify-send"
chown -R "$TUSER" "$UBIN"

# calls: how many times the stand-in ran
calls() {
	find "$REC" -name 'call.*' | wc -l
}

# calls_are N: the stand-in ran N times (re-read on each try of wait_until)
calls_are() {
	[ "$(calls)" -eq "$1" ]
}

# call_has TEXT: the fixed line TEXT is in what the stand-in recorded
call_has() {
	cat "$REC"/call.* 2>/dev/null | grep -qxF -- "$1"
}

# bus_of UID: a session bus socket of UID's on the fake host
bus_of() {
	mkdir -p "$ROOT/run/user/$1"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$ROOT/run/user/$1/bus"
	chown "$1" "$ROOT/run/user/$1" "$ROOT/run/user/$1/bus"
	chmod 0700 "$ROOT/run/user/$1"
}

# seat_sessions: logind's records on the fake host: the test user's
# wayland session on seat0, and root's text session (not told, though
# root has a bus too)
seat_sessions() {
	local d=$ROOT/run/systemd/sessions
	mkdir -p "$d"
	printf 'UID=%s\nUSER=%s\nACTIVE=1\nSTATE=active\nSEAT=seat0\nTYPE=wayland\n' \
		"$TUID" "$TUSER" >"$d/7"
	mkfifo "$d/7.ref" # logind's; opening it would block
	printf 'UID=0\nUSER=root\nACTIVE=1\nSEAT=seat0\nTYPE=tty\n' >"$d/c1"
	bus_of "$TUID"
	bus_of 0
}

# io_case LABEL LOG [ENV=VALUE...]: the disk fills once; the guest pauses
io_case() {
	local label=$1 log=$2
	shift 2
	rm -f "$REC"/call.* "$REC/hang.pid"
	snap >"$TMP/before"
	start "$log" -u SUDO_UID -u PKEXEC_UID PATH="$UBIN:$NBIN:$PATH" \
		FAKEQEMU_IO_ERROR_AFTER=0.5 FAKEQEMU_IO_ERROR_TIMES=1 "$@"
	wait_running "$label" "$log" &&
		wait_until 10 grep -qF "continue it with \`vmrun cont $NAME\`" "$log"
}

# io_end LABEL: continue the guest (the disk has room now), stop it; the
# run goes on and ends as usual
io_end() {
	vm cont "$NAME" >/dev/null 2>&1
	check "$1: cont, the guest runs" wait_until 10 status_is running
	vm stop "$NAME" >/dev/null 2>&1
	wait_rc "$VMPID" 20
	expect_eq "$1: cont, stop: exit 0" 0 $?
	same_snapshot "$1"
}

truncate -s 1M "$TMP/boot.img"
profile_with "[disk.boot]
file = $TMP/boot.img
format = raw"
if [ -n "$TUID" ]; then
	fresh
	seat_sessions
	if io_case "notify, seat session" "$TMP/notify.log"; then
		check "notify: the notifier ran once" wait_until 10 calls_are 1
		check "notify: as the user at the seat" call_has "uid=$TUID"
		check "notify: with that user's groups only" \
			call_has "groups=$(id -G "$TUSER")"
		check "notify: none of vmrun's environment" call_has "inherited="
		check "notify: on that user's session bus" \
			call_has "bus=unix:path=$ROOT/run/user/$TUID/bus"
		check "notify: with that user's runtime folder" \
			call_has "xdg=$ROOT/run/user/$TUID"
		check "notify: the summary names the VM" \
			call_has "arg=VM $NAME is paused"
		check "notify: the message names the disk and the way on" grep -qF \
			"[disk.boot] ($TMP/boot.img): no space left on the host file system; the guest is paused so that nothing is lost: free space, then continue it with \`vmrun cont $NAME\`" \
			<(cat "$REC"/call.* 2>/dev/null)
		check "notify: not root's text session" test "$(calls)" -eq 1
		check "notify: not the notify-send of a folder a user owns" \
			test ! -e "$REC/untrusted"
	fi
	io_end "notify, seat session"

	# the user who ran vmrun (sudo) is told; no logind session needed
	fresh
	bus_of "$TUID"
	if io_case "notify, SUDO_UID" "$TMP/notify-sudo.log" SUDO_UID="$TUID"; then
		check "notify: the user who ran vmrun is told" wait_until 10 \
			call_has "uid=$TUID"
	fi
	io_end "notify, SUDO_UID"

	# nobody at a desktop: nothing is run, the pause is as before
	fresh
	if io_case "notify, no session" "$TMP/notify-none.log"; then
		sleep 1
		expect_eq "no session: no notifier runs" 0 "$(calls)"
		check "no session: status says paused (I/O error)" \
			status_is "paused (I/O error)"
	fi
	io_end "notify, no session"

	# a notifier that never returns: killed after 5 s, and the supervisor
	# answers meanwhile
	fresh
	seat_sessions
	touch "$REC/hang"
	if io_case "notify, hanging notifier" "$TMP/notify-hang.log"; then
		if wait_until 10 test -s "$REC/hang.pid"; then
			HPID=$(cat "$REC/hang.pid")
			PIDS+=("$HPID")
			check "hanging notifier: status answers meanwhile" \
				status_is "paused (I/O error)"
			check "hanging notifier: killed within 10 s" \
				wait_until 10 gone "$HPID"
			check "hanging notifier: said so" log_has \
				"$TMP/notify-hang.log" "did not finish within 5 s: killed"
		else
			not_ok "hanging notifier: it runs"
		fi
	fi
	io_end "notify, hanging notifier"
	rm -f "$REC/hang"

	# the run ends on an internal error: the desktop hears that too
	fresh
	seat_sessions
	rm -f "$REC"/call.* "$REC"/hang*
	snap >"$TMP/before"
	start "$TMP/notify-ierr.log" -u SUDO_UID -u PKEXEC_UID \
		PATH="$NBIN:$PATH" FAKEQEMU_INTERNAL_ERROR_AFTER=0.5
	wait_rc "$VMPID" 20
	expect_eq "notify, internal error: exit 3" 3 $?
	check "notify, internal error: the run's end is told" \
		call_has "arg=VM $NAME has ended"
	check "notify, internal error: with the reason" grep -qF \
		"QEMU stopped the guest on an internal error" <(cat "$REC"/call.* 2>/dev/null)
	same_snapshot "notify, internal error"
else
	skip "desktop notification" "no test user (not root?)"
fi
cp "$TMP/base.ini" "$TMP/vm.ini"

# --- QEMU stopped with SIGSTOP: status says it does not answer ----------------
fresh
start "$TMP/sigstop.log"
if wait_running "SIGSTOP" "$TMP/sigstop.log"; then
	kill -STOP "$QPID"
	st=$(timeout 20 "$FAKEHOST" run "$ROOT" -- "$VMRUN" status "$NAME" 2>&1)
	check "SIGSTOPped QEMU: status says it is not answering" grep -q \
		"^$NAME: not answering, up" <<<"$st"
	check "SIGSTOPped QEMU: and that its process is stopped" grep -qF \
		"QEMU (pid $QPID) has not answered QMP for 2 s: its process is stopped" \
		<<<"$st"
	kill -CONT "$QPID"
	check "QEMU continued: status says running" wait_until 10 status_is running
	kill -USR1 "$QPID"
fi
wait_rc "$VMPID" 20
expect_eq "SIGSTOP case ends with the guest's power-off" 0 $?
same_snapshot "SIGSTOP"

# --- swtpm killed while the guest runs ----------------------------------------
if command -v swtpm >/dev/null; then
	fresh
	profile_with "[tpm]
type = swtpm
state = $TMP/tpm"
	start "$TMP/swtpm.log"
	if wait_running "swtpm killed" "$TMP/swtpm.log"; then
		# swtpm runs in its state folder with relative paths: found by
		# the VMRUN_VM mark vmrun puts in its environment
		SPID=
		for p in $(pgrep -x swtpm); do
			tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
				grep -qx "VMRUN_VM=$NAME" && SPID=$p
		done
		if [ -n "$SPID" ]; then
			PIDS+=("$SPID")
			kill -9 "$SPID"
		fi
	fi
	wait_rc "$VMPID" 20
	expect_eq "swtpm killed: the guest is powered off, exit 3" 3 $?
	check "swtpm killed: said so" log_has "$TMP/swtpm.log" \
		"swtpm (pid ${SPID:-?}) was killed by signal 9 (Killed) while the guest ran"
	same_snapshot "swtpm killed"
	cp "$TMP/base.ini" "$TMP/vm.ini"
else
	skip "swtpm killed while the guest runs" "swtpm is not installed"
fi

# --- control clients that misbehave -------------------------------------------
fresh
start "$TMP/ctl.log"
if wait_running "control clients" "$TMP/ctl.log"; then
	SOCK=$ROOT/run/vmrun/$NAME.sock
	# 40 connections that never send a request
	python3 - "$SOCK" <<'PY' &
import socket, sys, time
socks = []
for _ in range(40):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(30)
PY
	IDLE=$!
	PIDS+=("$IDLE")
	sleep 1
	st=$(timeout 20 "$FAKEHOST" run "$ROOT" -- "$VMRUN" status "$NAME" 2>&1)
	check "40 idle clients: status still answers" grep -q \
		"^$NAME: running" <<<"$st"
	kill "$IDLE" 2>/dev/null
	out=$(ctl '{"command": "stop", "force": "no"}')
	expect_eq "stop with force \"no\": refused" \
		'{"ok":false,"error":"\"force\" must be true or false"}' "$out"
	check "stop with force \"no\": the guest still runs" status_is running
	out=$(ctl '{"command": "fly"}')
	expect_eq "an unknown command: refused" \
		'{"ok":false,"error":"unknown command; expected status, stop or cont"}' \
		"$out"
	vm stop "$NAME" >/dev/null 2>&1
	wait_rc "$VMPID" 15
	expect_eq "control clients: the guest powers off when asked" 0 $?
fi
same_snapshot "control clients"

# a client that sends a byte every half second, for 30 s, while SIGTERM
# asks the VM to stop
fresh
start "$TMP/slow.log"
if wait_running "slow client" "$TMP/slow.log"; then
	SOCK=$ROOT/run/vmrun/$NAME.sock
	python3 - "$SOCK" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    for _ in range(60):
        s.send(b" ")
        time.sleep(0.5)
except OSError:
    pass
PY
	SLOW=$!
	PIDS+=("$SLOW")
	sleep 1
	kill -TERM "$VMPID"
	wait_rc "$VMPID" 15
	expect_eq "a slow client does not hold up SIGTERM: exit 0" 0 $?
	kill "$SLOW" 2>/dev/null
fi
same_snapshot "slow client"

# --- hooks that hang ------------------------------------------------------------
# hang.sh records its pid and never returns; daemon.sh leaves a process
# running in its process group and returns at once.
printf '#!/bin/sh\necho $$ >>"%s"\nexec sleep 1000\n' "$TMP/hang.pids" \
	>"$TMP/hang.sh"
printf '#!/bin/sh\n(while :; do sleep 1; done) &\necho $! >"%s"\n' \
	"$TMP/daemon.pid" >"$TMP/daemon.sh"
chmod +x "$TMP/hang.sh" "$TMP/daemon.sh"

# hooks_gone: every process the hooks started has ended
hooks_gone() {
	local p
	for p in $(cat "$TMP/hang.pids" "$TMP/daemon.pid" 2>/dev/null); do
		gone "$p" || return 1
	done
}

# a pre-start hook that never returns, and SIGTERM
fresh
rm -f "$TMP/hang.pids"
profile_with "[hooks]
pre-start = $TMP/hang.sh"
start "$TMP/hook-term.log"
if wait_until 20 test -s "$TMP/hang.pids"; then
	kill -TERM "$VMPID"
	wait_rc "$VMPID" 15
	expect_eq "hanging pre-start hook, SIGTERM: the start ends (exit 1)" 1 $?
	check "SIGTERM stopped the hook" log_has "$TMP/hook-term.log" \
		"pre-start hook $TMP/hang.sh was stopped: Terminated"
	check "the hook is gone" hooks_gone
else
	not_ok "the pre-start hook runs"
fi
same_snapshot "hanging pre-start hook, SIGTERM"

# the same, ended by [hooks] timeout
fresh
rm -f "$TMP/hang.pids"
profile_with "[hooks]
pre-start = $TMP/hang.sh
timeout = 2"
start "$TMP/hook-timeout.log"
wait_rc "$VMPID" 20
expect_eq "pre-start hook past [hooks] timeout: the start ends (exit 1)" 1 $?
check "the timeout is the reason" log_has "$TMP/hook-timeout.log" \
	"vmrun: pre-start hook $TMP/hang.sh did not finish within 2 s ([hooks] timeout)"
check "QEMU never started" test -z "$(pgrep -f -- "$FAKEQEMU -name guest=$NAME," || true)"
check "the hook is gone" hooks_gone
same_snapshot "pre-start hook past its timeout"

# post-start: a daemon left behind, then a hook that never returns; the
# supervisor runs meanwhile (status answers, the guest's power-off ends
# the run) and the VM's end stops both
fresh
rm -f "$TMP/hang.pids" "$TMP/daemon.pid"
profile_with "[hooks]
post-start = $TMP/daemon.sh
post-start = $TMP/hang.sh"
start "$TMP/hook-post.log" FAKEQEMU_GUEST_SHUTDOWN_AFTER=2
if wait_running "hanging post-start hook" "$TMP/hook-post.log"; then
	wait_until 10 test -s "$TMP/hang.pids"
	check "status answers while the post-start hook runs" status_is running
fi
wait_rc "$VMPID" 30
expect_eq "the guest's power-off ends the run (exit 0)" 0 $?
check "the hanging post-start hook was stopped with the VM" \
	log_has "$TMP/hook-post.log" \
	"the VM has ended: stopping the post-start hook $TMP/hang.sh"
check "what the hooks started is gone with the VM" hooks_gone
same_snapshot "hanging post-start hook"

# a pre-stop hook that never returns is stopped by the timeout
fresh
rm -f "$TMP/hang.pids" "$TMP/daemon.pid"
profile_with "[hooks]
pre-stop = $TMP/hang.sh
timeout = 3"
start "$TMP/hook-prestop.log" FAKEQEMU_GUEST_SHUTDOWN_AFTER=1
wait_rc "$VMPID" 30
expect_eq "hanging pre-stop hook: the host comes back (exit 0)" 0 $?
check "the pre-stop hook was stopped by its timeout" \
	log_has "$TMP/hook-prestop.log" \
	"pre-stop hook $TMP/hang.sh did not finish within 3 s ([hooks] timeout)"
check "the pre-stop hook is gone" hooks_gone
same_snapshot "hanging pre-stop hook"
cp "$TMP/base.ini" "$TMP/vm.ini"

# --- the first start's OVMF vars copy meets a full state folder -------------
# The copy is made under a temporary name and renamed once complete: the
# error names the real cause and no partial vars file is left to be used
# by the next start, which copies the template whole.
mkdir -p "$TMP/small"
if mount -t tmpfs -o size=300k,mode=0700 vmrun-test "$TMP/small" 2>/dev/null; then
	fresh
	sed "s|^state-dir = .*|state-dir = $TMP/small/state|" \
		"$TMP/base.ini" >"$TMP/vm.ini"
	start "$TMP/vars.log"
	wait_rc "$VMPID" 30
	expect_eq "vars copy on a full file system: the start fails (exit 1)" \
		1 $?
	check "vars copy: the error says why" grep -q \
		"^vmrun: copy the OVMF vars template .* to $TMP/small/state/OVMF_VARS.fd: No space left on device$" \
		"$TMP/vars.log"
	expect_eq "vars copy: nothing but the log is left in the state folder" \
		"$NAME.log" "$(ls "$TMP/small/state")"
	same_snapshot "vars copy on a full file system"
	mount -o remount,size=4m "$TMP/small"
	fresh
	start "$TMP/vars2.log" FAKEQEMU_GUEST_SHUTDOWN_AFTER=0.5
	wait_rc "$VMPID" 30
	expect_eq "with room, the next start runs (exit 0)" 0 $?
	tmpl=$(sed -n 's/^vmrun: first start: copying \(.*\) to .*/\1/p' \
		"$TMP/vars2.log")
	check "the vars are the whole template" cmp -s "$tmpl" \
		"$TMP/small/state/OVMF_VARS.fd"
	umount "$TMP/small"
	cp "$TMP/base.ini" "$TMP/vm.ini"
else
	skip "vars copy on a full file system" "cannot mount a tmpfs here"
fi

# --- two VMs whose names could make the same path ------------------------------
# VM E with swtpm, and VM E-swtpm: E's swtpm socket used to be
# E-swtpm.sock, the control socket of the other VM, which E's start and end
# removed ("not running" for a VM that runs).
if command -v swtpm >/dev/null; then
	fresh
	for n in "$NAME" "$NAME-swtpm"; do
		fake_vm "$TMP/$n.ini" "$n" 1G "$TMP/state-$n"
	done
	printf '\n[tpm]\ntype = swtpm\nstate = %s\n' "$TMP/tpm-names" \
		>>"$TMP/$NAME.ini"
	"$FAKEHOST" run "$ROOT" -- "$VMRUN" "$TMP/$NAME-swtpm.ini" \
		>"$TMP/names2.log" 2>&1 &
	V2=$!
	PIDS+=("$V2")
	wait_until 30 grep -q "is running" "$TMP/names2.log"
	"$FAKEHOST" run "$ROOT" -- "$VMRUN" "$TMP/$NAME.ini" \
		>"$TMP/names1.log" 2>&1 &
	V1=$!
	PIDS+=("$V1")
	wait_until 30 grep -q "is running" "$TMP/names1.log"
	check "VM $NAME-swtpm answers while VM $NAME (with swtpm) runs" \
		grep -q "^$NAME-swtpm: running" \
		<<<"$(vm status "$NAME-swtpm" 2>&1)"
	expect_eq "status lists both VMs, not swtpm's socket" \
		"$NAME $NAME-swtpm" \
		"$(vm status 2>&1 | sed -n 's/^\([^ ]*\): running.*/\1/p' | paste -sd' ')"
	vm stop "$NAME" >/dev/null 2>&1
	wait_rc "$V1" 20
	check "after VM $NAME ended, $NAME-swtpm still answers" \
		grep -q "^$NAME-swtpm: running" \
		<<<"$(vm status "$NAME-swtpm" 2>&1)"
	vm stop "$NAME-swtpm" >/dev/null 2>&1
	wait_rc "$V2" 20
	expect_eq "VM $NAME-swtpm stops when asked" 0 $?
	same_snapshot "VMs x and x-swtpm"
else
	skip "VMs x and x-swtpm" "swtpm is not installed"
fi

done_testing
