#!/usr/bin/env bash
# t_sound.sh: whose sound server QEMU plays to with [audio] backend = pa
# or pipewire (launcher/ops/sound.c). vmrun runs as root, and QEMU does too
# without [vm] run-as: its environment names no user's server, and QEMU
# does not start when its PulseAudio or PipeWire backend cannot connect.
# The server is [audio] runtime-dir, else /run/user/UID of [vm] run-as,
# else of the user who ran sudo, when that folder is theirs; QEMU's
# PulseAudio backend gets it as server=, its PipeWire one (QEMU 8.1 and
# later) as PIPEWIRE_RUNTIME_DIR. On a fake host with tests/fakeqemu as
# QEMU, 7.2 and (a wrapper under its own path) 8.2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fakerun.sh"

NAME=snd-$$
BASE=$TMP/base
ROOT=$TMP/root
U=4242
RUN=/run/user/$U

cleanup() {
	kill_fakeqemu "$NAME"
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

done_testing
