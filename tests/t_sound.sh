#!/usr/bin/env bash
# t_sound.sh: whose sound server QEMU plays to with [audio] backend = pa
# or pipewire (launcher/ops/sound.c). vmrun runs as root, and QEMU does too
# without [vm] run-as: its environment names no user's server, and QEMU
# does not start when its PulseAudio or PipeWire backend cannot connect.
# The server is [audio] runtime-dir, else /run/user/UID of [vm] run-as,
# else of the user who ran sudo, when that folder is theirs; QEMU's
# PulseAudio backend gets it as server=, its PipeWire one (QEMU 8.1 and
# later) as PIPEWIRE_RUNTIME_DIR. On a fake host with tests/fakeqemu as
# QEMU, 7.2 and (a wrapper under its own path) 8.2. Then, where the
# programs are there, for real: PipeWire, its pulse server and WirePlumber
# as a test user, and real QEMU (TCG) that vmrun starts as root for that
# user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fakerun.sh"

NAME=snd-$$
BASE=$TMP/base
ROOT=$TMP/root
U=4242
RUN=/run/user/$U

cleanup() {
	kill_fakeqemu "$NAME"
	real_cleanup
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP/bin"
Q82=$TMP/bin/qemu-8.2
printf '#!/bin/sh\nFAKEQEMU_VERSION=8.2.0 exec %s "$@"\n' "$FAKEQEMU" >"$Q82"
chmod 755 "$Q82"

# profile QEMU AUDIO-LINES [VM-LINES]: the VM, QEMU the binary given
profile() {
	fake_vm "$TMP/vm.ini" "$NAME" 512M "$TMP/state" "" \
		"[audio]
$2"
	sed -i "s|^qemu = .*|qemu = $1|" "$TMP/vm.ini"
	[ -z "${3:-}" ] || sed -i "s|^\[vm\]|[vm]\n$3|" "$TMP/vm.ini"
}

# argv [ENV=VALUE...]: the -audiodev vmrun gives QEMU, on the fake host
audiodev() {
	env "$@" "$FAKEHOST" run "$ROOT" -- "$VMRUN" --print-argv "$TMP/vm.ini" \
		2>"$TMP/err" | sed -n '/^-audiodev$/{n;p}'
}

# user_dir OWNER: $RUN on the fake host, a folder of OWNER's
user_dir() {
	rm -rf "$ROOT$RUN"
	mkdir -p "$ROOT$RUN"
	chown "$1:$1" "$ROOT$RUN"
	chmod 700 "$ROOT$RUN"
}

build_fakehost b550-gtx1060
fresh
user_dir $U

# ---- PulseAudio (and PipeWire's pulse server for QEMU 7.2) ----
profile "$FAKEQEMU" "backend = pa"
expect_eq "root, no sudo: QEMU's own environment" \
	'{"id":"audio0","driver":"pa"}' "$(audiodev)"
expect_eq "sudo from user $U: the server of $U's runtime folder" \
	"{\"id\":\"audio0\",\"driver\":\"pa\",\"server\":\"unix:$RUN/pulse/native\"}" \
	"$(audiodev SUDO_UID=$U)"
expect_eq "pkexec from user $U: the same" \
	"{\"id\":\"audio0\",\"driver\":\"pa\",\"server\":\"unix:$RUN/pulse/native\"}" \
	"$(audiodev PKEXEC_UID=$U)"
user_dir 0
expect_eq "a runtime folder that is not the user's: not used" \
	'{"id":"audio0","driver":"pa"}' "$(audiodev SUDO_UID=$U)"
rm -rf "$ROOT$RUN"
mkdir -p "$ROOT/run/user/elsewhere"
chown $U:$U "$ROOT/run/user/elsewhere"
ln -s elsewhere "$ROOT$RUN"
expect_eq "a link at the runtime folder's name: not followed" \
	'{"id":"audio0","driver":"pa"}' "$(audiodev SUDO_UID=$U)"
rm -f "$ROOT$RUN"
user_dir $U

profile "$FAKEQEMU" "backend = pa
runtime-dir = /srv/sound"
expect_eq "[audio] runtime-dir: that folder's server" \
	'{"id":"audio0","driver":"pa","server":"unix:/srv/sound/pulse/native"}' \
	"$(audiodev SUDO_UID=$U)"

profile "$FAKEQEMU" "backend = pipewire"
expect_eq "pipewire on QEMU 7.2: PipeWire's pulse server, the user's" \
	"{\"id\":\"audio0\",\"driver\":\"pa\",\"server\":\"unix:$RUN/pulse/native\"}" \
	"$(audiodev SUDO_UID=$U)"

NOBODY=$(id -u nobody 2>/dev/null)
if [ -n "$NOBODY" ]; then
	mkdir -p "$ROOT/run/user/$NOBODY"
	chown "$NOBODY" "$ROOT/run/user/$NOBODY"
	profile "$FAKEQEMU" "backend = pa" "run-as = nobody"
	expect_eq "[vm] run-as: QEMU runs as that user, so its server" \
		"{\"id\":\"audio0\",\"driver\":\"pa\",\"server\":\"unix:/run/user/$NOBODY/pulse/native\"}" \
		"$(audiodev SUDO_UID=$U)"
else
	skip "[vm] run-as" "no user nobody on this machine"
fi

# ---- PipeWire's own backend: QEMU 8.1 and later ----
profile "$Q82" "backend = pipewire"
expect_eq "pipewire on QEMU 8.2: its own backend, no server option" \
	'{"id":"audio0","driver":"pipewire"}' "$(audiodev SUDO_UID=$U)"
SUDO_UID=$U "$FAKEHOST" run "$ROOT" -- "$VMRUN" --dry-run "$TMP/vm.ini" \
	>"$TMP/dry" 2>&1
check "--dry-run shows QEMU's environment" grep -qxF \
	"# QEMU's environment: PIPEWIRE_RUNTIME_DIR=$RUN" "$TMP/dry"
"$FAKEHOST" run "$ROOT" -- "$VMRUN" --dry-run "$TMP/vm.ini" >"$TMP/dry" 2>&1
check "no user: no environment line" not_grep "QEMU's environment" "$TMP/dry"

fresh
user_dir $U
SUDO_UID=$U FAKEQEMU_ENV_OUT=$TMP/env "$FAKEHOST" run "$ROOT" -- \
	"$VMRUN" "$TMP/vm.ini" >"$TMP/run.log" 2>&1 &
PIDS+=($!)
VPID=$!
if wait_running "a run with PipeWire on QEMU 8.2" "$TMP/run.log"; then
	check "QEMU's environment has PIPEWIRE_RUNTIME_DIR=$RUN" grep -qxF \
		"PIPEWIRE_RUNTIME_DIR=$RUN" "$TMP/env"
	check "and vmrun's mark" grep -qxF "VMRUN_VM=$NAME" "$TMP/env"
	vm stop "$NAME" >/dev/null 2>&1
	wait_rc "$VPID" 30
	expect_eq "the run ends cleanly" 0 $?
fi

# ---- doctor: is a server there? ----
# sock PATH: a listening unix socket at PATH on the fake host, while the
# suite runs
sock() {
	mkdir -p "$(dirname "$ROOT$1")"
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen()
time.sleep(120)' "$ROOT$1" &
	PIDS+=($!)
	wait_until 10 test -S "$ROOT$1"
}
doctor() {
	env "$@" "$FAKEHOST" run "$ROOT" -- "$VMRUN" doctor "$TMP/vm.ini" \
		2>&1 | grep -E -A2 '^[-a-z]+ +audio:'
}
profile "$FAKEQEMU" "backend = pa"
doctor >"$TMP/doc"
check "doctor, no user: warns that QEMU reaches no server" grep -q \
	"^warn  audio: QEMU reaches no user's sound server" "$TMP/doc"
doctor SUDO_UID=$U >"$TMP/doc"
check "doctor, no server running: warns, naming the socket" grep -q \
	"^warn  audio: no sound server listens at $RUN/pulse/native now" \
	"$TMP/doc"
sock "$RUN/pulse/native"
doctor SUDO_UID=$U >"$TMP/doc"
check "doctor, the server listens: ok" grep -qxF \
	"ok    audio: QEMU's pa backend connects to $RUN/pulse/native" \
	"$TMP/doc"
profile "$Q82" "backend = pipewire"
doctor SUDO_UID=$U >"$TMP/doc"
check "doctor, QEMU 8.2's PipeWire backend: PipeWire's own socket" grep -q \
	"^warn  audio: no sound server listens at $RUN/pipewire-0 now" \
	"$TMP/doc"
profile "$FAKEQEMU" "backend = alsa"
doctor SUDO_UID=$U >"$TMP/doc"
check "doctor, ALSA: no server to reach" grep -q "^-     audio: not needed" \
	"$TMP/doc"

# ---- for real: a user's PipeWire, real QEMU ----
# The user's sound session: PipeWire, its pulse server and WirePlumber on
# a D-Bus of their own, in a process group of their own (SPGID). Without
# a session manager QEMU's streams are never linked, and QEMU 7.2 then
# hangs at exit in its PulseAudio backend.
RUSER="" RUID="" RRUN="" SHOME="" SPGID="" SPID=""
RPIDS=() # vmrun and QEMU processes of the real cases
RUNS=0   # real_run's so far
ROOT_HOME=$(getent passwd root | cut -d: -f6)
# QEMU runs as root: libpulse makes root a cookie if root has none
ROOT_PULSE=false ROOT_CONFIG=false RUN_USER_MADE=false
[ -d "$ROOT_HOME/.config/pulse" ] && ROOT_PULSE=true
[ -d "$ROOT_HOME/.config" ] && ROOT_CONFIG=true

session_gone() {
	! pgrep -g "$SPGID" >/dev/null
}

session_stop() {
	if [ -n "$SPGID" ]; then
		kill -TERM -- "-$SPGID" 2>/dev/null
		wait_until 15 session_gone ||
			kill -KILL -- "-$SPGID" 2>/dev/null
		wait_until 5 session_gone
	fi
	[ -z "$SPID" ] || wait_rc "$SPID" 5 >/dev/null
	SPGID="" SPID=""
}

real_cleanup() {
	local p
	[ -n "$RUSER" ] || return 0
	for p in "${RPIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	"$VMRUN" -q restore "$RNAME" >/dev/null 2>&1
	session_stop
	rm -rf "$RRUN" "$SHOME"
	! $RUN_USER_MADE || rmdir /run/user 2>/dev/null
	$ROOT_PULSE || rm -rf "$ROOT_HOME/.config/pulse"
	$ROOT_CONFIG || rmdir "$ROOT_HOME/.config" 2>/dev/null
	RUSER=""
}

# as_session COMMAND...: COMMAND as the user, in their session's
# environment
as_session() {
	as_user "$RUSER" env -i HOME="$SHOME" XDG_RUNTIME_DIR="$RRUN" \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# session_ready: the pulse server answers, and WirePlumber has chosen a
# default sink (so it links streams)
session_ready() {
	local sink
	[ -S "$RRUN/pulse/native" ] &&
		sink=$(as_session timeout 10 pactl get-default-sink 2>/dev/null) &&
		[ -n "$sink" ] && [ "$sink" != "@DEFAULT_SINK@" ]
}

# PipeWire first: its pulse server and WirePlumber give up when its
# socket is not there yet (systemd starts them on it)
SESSION='pipewire &
i=0
while [ ! -S "$XDG_RUNTIME_DIR/pipewire-0" ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
pipewire-pulse &
wireplumber &
wait'

session_start() {
	rm -f "$TMP/session.pgid"
	setsid sh -c 'echo $$ >"$0"; exec "$@"' "$TMP/session.pgid" \
		setpriv --reuid="$RUSER" --regid="$(id -g "$RUSER")" \
		--init-groups -- env -i HOME="$SHOME" XDG_RUNTIME_DIR="$RRUN" \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin dbus-run-session -- \
		sh -c "$SESSION" >"$TMP/session.log" 2>&1 &
	SPID=$!
	wait_until 10 test -s "$TMP/session.pgid" &&
		SPGID=$(cat "$TMP/session.pgid") &&
		wait_until 60 session_ready
}

# qemu_client KIND: pactl's list of KIND (clients, sink-inputs) has
# QEMU's, root's, with the guest's name
qemu_client() {
	as_session timeout 10 pactl list "$1" 2>/dev/null |
		awk -v name="$RNAME" '
		/^[A-Z]/ { n = b = u = 0 }
		index($0, "application.name = \"" name "\"") { n = 1 }
		/application.process.binary = "qemu-system-x86_64"/ { b = 1 }
		/application.process.user = "root"/ { u = 1 }
		n && b && u { found = 1 }
		END { exit !found }'
}

# real_profile FILE AUDIO-LINES: a real TCG guest that powers itself off
# a few seconds after it is up
real_profile() {
	cat >"$1" <<EOI
[vm]
name = $RNAME
memory = 256M
accel = tcg
state-dir = $TMP/rstate
shutdown-timeout = 10

[cpu]
model = max
cores = 1

[hyperv]
enlightenments = none

[disk.boot]
file = $TMP/real.img
format = raw

[net.lan]
mode = none

[display]
type = none

[audio]
$2
EOI
}

not_there() {
	[ ! -e "$1" ]
}

no_process() {
	! pgrep -u "$1" >/dev/null
}

# started LOG PID: the guest runs, or vmrun has ended
started() {
	running "$1" || gone "$2"
}

# real_run CASE PROFILE [ENV=VALUE...]: vmrun runs the guest to its end;
# while it runs QEMU is a client of the user's server, with its stream
real_run() {
	local name=$1 ini=$2 log rc
	shift 2
	RUNS=$((RUNS + 1))
	log=$TMP/real-$RUNS.log
	env "$@" "$VMRUN" "$ini" >"$log" 2>&1 &
	VPID=$!
	RPIDS+=("$VPID")
	wait_until 90 started "$log" "$VPID"
	if ! running "$log"; then
		not_ok "$name: the guest runs"
		sed 's/^/#   /' "$log"
		wait_rc "$VPID" 1 >/dev/null
		return 1
	fi
	RPIDS+=("$QPID")
	ok "$name: the guest runs"
	check "$name: QEMU (root) is a client of $RUSER's sound server" \
		wait_until 20 qemu_client clients
	check "$name: and plays a stream there" \
		wait_until 10 qemu_client sink-inputs
	wait_rc "$VPID" 90
	rc=$?
	expect_eq "$name: the run ends cleanly" 0 "$rc"
	check "$name: QEMU ends on quit (no signal needed)" \
		not_grep -e "sending SIGTERM" -e "SIGKILL" "$log"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$log"
	check "$name: QEMU is gone" gone "$QPID"
}

why=""
for prog in pipewire:pipewire pipewire-pulse:pipewire-pulse \
	wireplumber:wireplumber dbus-run-session:dbus \
	pactl:pulseaudio-utils qemu-system-x86_64:qemu-system-x86 \
	mkfs.vfat:dosfstools mcopy:mtools setsid:util-linux; do
	command -v "${prog%%:*}" >/dev/null 2>&1 ||
		why="no ${prog%%:*} (apt-get install ${prog#*:})"
done
[ -n "$why" ] || [ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] ||
	why="no OVMF (apt-get install ovmf)"
[ -n "$why" ] || qemu-system-x86_64 -audiodev help 2>/dev/null |
	grep -qx pa ||
	why="QEMU has no PulseAudio backend (apt-get install qemu-system-gui)"
[ -n "$why" ] || [ "$(id -u)" = 0 ] || why="needs root"
[ -n "$why" ] || RUSER=$(test_user) || why="no test user ($TEST_USER)"
if [ -z "$why" ]; then
	RUID=$(id -u "$RUSER")
	RRUN=/run/user/$RUID
	# another suite's, or a session of the test user's
	[ -S "$RRUN/pulse/native" ] &&
		as_user "$RUSER" env -i XDG_RUNTIME_DIR="$RRUN" \
			timeout 10 pactl info >/dev/null 2>&1 &&
		why="a sound server of $RUSER's already runs in $RRUN"
fi
if [ -n "$why" ]; then
	RUSER=""
	skip "a real sound server and real QEMU" "$why"
	done_testing
	exit
fi

RNAME=sndr-$$
NAME=$RNAME # what running() looks for
[ -d /run/user ] || RUN_USER_MADE=true
mkdir -p /run/user
rm -rf "$RRUN"
mkdir -m 0700 "$RRUN"
chown "$RUSER:" "$RRUN"
SHOME=$(mktemp -d /tmp/vmrun-sound-home.XXXXXX)
chown "$RUSER:" "$SHOME"
check "real: a test disk that powers the guest off" nsh_disk "$TMP/real.img" \
	16M 'echo "vmrun sound test: guest up"' 'stall 3000000' 'reset -s'
if ! session_start; then
	not_ok "real: $RUSER's PipeWire, pulse server and WirePlumber start"
	tail -n 20 "$TMP/session.log" | sed 's/^/#   /'
	done_testing
	exit
fi
ok "real: $RUSER's PipeWire, pulse server and WirePlumber start"

real_profile "$TMP/real.ini" "backend = pa"
SUDO_UID=$RUID "$VMRUN" doctor "$TMP/real.ini" >"$TMP/doc" 2>&1
check "real: doctor, the server listens: ok" grep -qxF \
	"ok    audio: QEMU's pa backend connects to $RRUN/pulse/native" \
	"$TMP/doc"
real_run "real pa, sudo from $RUSER" "$TMP/real.ini" SUDO_UID="$RUID"

real_profile "$TMP/real-pw.ini" "backend = pipewire
runtime-dir = $RRUN"
real_run "real pipewire, [audio] runtime-dir, no sudo" "$TMP/real-pw.ini"

# No server: QEMU does not start, and vmrun names the [audio] line
session_stop
check "real: the server is gone" wait_until 10 not_there "$RRUN/pulse/native"
SUDO_UID=$RUID "$VMRUN" "$TMP/real.ini" >"$TMP/real-none.log" 2>&1 &
VPID=$!
RPIDS+=("$VPID")
wait_rc "$VPID" 90
expect_eq "real, no server: vmrun fails" 1 $?
line=$(grep -nx 'backend = pa' "$TMP/real.ini" | cut -d: -f1)
want="QEMU refused [audio] backend ($TMP/real.ini:$line): Could not init \`pa' \
audio driver (Connection refused); no sound server answers at \
unix:$RRUN/pulse/native: log in as that user"
if grep -qF "$want" "$TMP/real-none.log"; then
	ok "real, no server: vmrun names [audio] backend, the socket, what to do"
else
	not_ok "real, no server: vmrun names [audio] backend, the socket, what to do"
	sed 's/^/#   /' "$TMP/real-none.log"
fi
check "real, no server: the host is given back" not_there \
	"/run/vmrun/$RNAME.json"

real_cleanup
check "real: $TEST_USER's runtime folder is removed" not_there "$RRUN"
check "real: no process of $TEST_USER's is left" no_process "$TEST_USER"

done_testing

