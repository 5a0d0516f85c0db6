#!/usr/bin/env bash
# t_security.sh: what vmrun refuses to trust (profiles, hooks others can
# change), what it hands to [vm] run-as and takes back, and the modes of
# its own files: after `vmrun prepare` on a fake host, and during a short
# real run of a TCG guest as user nobody, sandboxed.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/root
NOBODY=$(id -u nobody 2>/dev/null || echo 65534)

# profile FILE NAME [SECTION-TEXT...]: a profile for the fake host
profile() {
	local f=$1 name=$2
	shift 2
	{
		printf '[vm]\nname = %s\nmemory = 2G\naccel = tcg\n' "$name"
		printf 'state-dir = %s\n' "$TMP/state-$name"
		printf '%b\n' "$@"
	} >"$f"
}

# mode_is CASE WANT PATH: octal mode (and owner when WANT has user:)
mode_is() {
	expect_eq "$1" "$2" "$(stat -c '%a' "$3" 2>&1)"
}

owner_is() {
	expect_eq "$1" "$2" "$(stat -c '%U:%a' "$3" 2>&1)"
}

# has CASE TEXT FILE: FILE holds TEXT (as a fixed string)
has() {
	if grep -qF -- "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   wanted: $2"
		sed 's/^/#   got: /' "$3"
	fi
}

"$FAKEHOST" build "$FIXTURES/b550-gtx1060.host" "$ROOT" >"$TMP/build.log" 2>&1 ||
	{ not_ok "fake host"; cat "$TMP/build.log"; done_testing; }

# --- trust: the CLI ---------------------------------------------------------
OPEN=$TMP/open
mkdir -m 0777 "$OPEN"
chmod 0777 "$OPEN"
profile "$OPEN/t1.ini" t1

vm prepare "$OPEN/t1.ini" >"$TMP/out" 2>&1
expect_eq "prepare refuses a profile in a folder anyone can write" 1 $?
has "the message says why" \
	"vmrun: refusing to use files that users other than root and you can change:" \
	"$TMP/out"
has "the message names the folder and the fix" \
	"  the profile $OPEN/t1.ini: the folder $OPEN is writable by everyone (mode 0777); fix: chmod o-w $OPEN" \
	"$TMP/out"
has "the message offers --trust" \
	"Fix the above, or pass --trust if you trust everyone who can write them." \
	"$TMP/out"
check "a refused prepare leaves no journal" test ! -e "$ROOT/run/vmrun/t1.json"

vm "$OPEN/t1.ini" >"$TMP/out" 2>&1
expect_eq "a run refuses it too" 1 $?
has "a run says why" "the folder $OPEN is writable by everyone" "$TMP/out"

# the commands that change nothing are the ones run on profiles users
# were sent: the same rule, the same refusal
vm --dry-run "$OPEN/t1.ini" >"$TMP/out" 2>"$TMP/err"
expect_eq "--dry-run refuses it too" 1 $?
has "--dry-run says why, as a run does" \
	"  the profile $OPEN/t1.ini: the folder $OPEN is writable by everyone (mode 0777); fix: chmod o-w $OPEN" \
	"$TMP/err"

vm --print-argv "$OPEN/t1.ini" >"$TMP/out" 2>"$TMP/err"
expect_eq "--print-argv refuses it too" 1 $?
check "--print-argv prints no argv, the reason on stderr" \
	bash -c "test ! -s '$TMP/out' && grep -q 'writable by everyone' '$TMP/err'"

vm doctor "$OPEN/t1.ini" >"$TMP/out" 2>"$TMP/err"
expect_eq "doctor fails the profile" 1 $?
has "doctor says why" \
	"FAIL  profile: refusing to use files that users other than root and you can change:" \
	"$TMP/out"

vm --trust prepare "$OPEN/t1.ini" >"$TMP/out" 2>&1
expect_eq "--trust prepares it" 0 $?
vm restore t1 >>"$TMP/out" 2>&1
expect_eq "and restore undoes it" 0 $?

vm --trust --dry-run "$OPEN/t1.ini" >"$TMP/out" 2>"$TMP/err"
check "--trust --dry-run warns about nothing" test ! -s "$TMP/err"

# hooks others own
SAFE=$TMP/safe
mkdir -m 0755 "$SAFE"
printf '#!/bin/sh\nexit 0\n' >"$SAFE/hook"
chmod 0755 "$SAFE/hook"
chown nobody "$SAFE/hook"
profile "$SAFE/t2.ini" t2 "[hooks]\npre-start = $SAFE/hook"
vm prepare "$SAFE/t2.ini" >"$TMP/out" 2>&1
expect_eq "a hook another user owns is refused" 1 $?
has "the message names the hook and its owner" \
	"  [hooks] pre-start $SAFE/hook: it belongs to user 'nobody', not to root or you; fix: chown root $SAFE/hook" \
	"$TMP/out"

# sudo -u nobody: nobody's own hook is theirs to run
SUDO_UID=$NOBODY vm --dry-run "$SAFE/t2.ini" >"$TMP/out" 2>"$TMP/err"
check "the invoking user's (SUDO_UID) hook is trusted" test ! -s "$TMP/err"

# /tmp itself: sticky, so root's file there is safe, another user's is not
P=$(mktemp /tmp/vmrun-sec-XXXXXX.ini)
profile "$P" t3
vm --dry-run "$P" >"$TMP/out" 2>"$TMP/err"
check "root's profile directly in /tmp (sticky) is trusted" test ! -s "$TMP/err"
chown nobody "$P"
vm --dry-run "$P" >"$TMP/out" 2>"$TMP/err"
has "another user's profile in /tmp is not" \
	"$P is in /tmp, a folder others can write, and belongs to user 'nobody'; fix: move it to a folder only you and root can write" \
	"$TMP/err"
rm -f "$P"

# --- run-as: handed over and given back, journaled -------------------------
profile "$SAFE/u.ini" u "run-as = nosuchuser-$$"
vm --dry-run "$SAFE/u.ini" >"$TMP/out" 2>&1
expect_eq "an unknown run-as user is refused at plan time" 1 $?
has "the message names the user" \
	"vmrun: $SAFE/u.ini:6: [vm] run-as: no user 'nosuchuser-$$' on this host; create it (useradd --system --no-create-home nosuchuser-$$) or name another user" \
	"$TMP/out"

"$FAKEHOST" set "$ROOT" node0.hugepages-2048kB=1024 >/dev/null
profile "$SAFE/gpu.ini" gpu "run-as = nobody\n" \
	"[memory]\nhugepages = 2M\n" \
	"[pci.gpu]\nhost = 08:00.0\n[pci.audio]\nhost = 08:00.1"
vm --dry-run "$SAFE/gpu.ini" >"$TMP/out" 2>&1
has "the dry run lists the VFIO group handed over" \
	"give /dev/vfio/16 (the VFIO group) to user nobody, QEMU's [vm] run-as; given back after" \
	"$TMP/out"
has "and the guest RAM folder" \
	"give /dev/hugepages/vmrun-gpu (the guest RAM folder) to user nobody" \
	"$TMP/out"
vm --print-argv "$SAFE/gpu.ini" >"$TMP/out" 2>&1
has "with run-as the sandbox allows -runas' setuid" \
	"$(printf -- '-sandbox\non,obsolete=deny,spawn=deny,resourcecontrol=deny\n-runas')" \
	"$TMP/out"
profile "$SAFE/nosb.ini" nosb "[qemu]\nsandbox = no"
vm --print-argv "$SAFE/nosb.ini" >"$TMP/out" 2>&1
check "[qemu] sandbox = no leaves -sandbox out" \
	bash -c "! grep -q -- -sandbox '$TMP/out' && grep -q -- -nodefaults '$TMP/out'"
profile "$SAFE/sb.ini" sb
vm --print-argv "$SAFE/sb.ini" >"$TMP/out" 2>&1
has "without run-as the sandbox also denies setuid" \
	"on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny" \
	"$TMP/out"
"$FAKEHOST" snapshot "$ROOT" >"$TMP/before"

vm prepare "$SAFE/gpu.ini" >"$TMP/out" 2>&1
expect_eq "prepare with run-as" 0 $? || cat "$TMP/out"
owner_is "/dev/vfio/16 is nobody's during the run" nobody:600 \
	"$ROOT/dev/vfio/16"
owner_is "the guest RAM folder is nobody's" nobody:700 \
	"$ROOT/dev/hugepages/vmrun-gpu"
# --- modes of vmrun's own files (fake host) ---
mode_is "/run/vmrun is 0700" 700 "$ROOT/run/vmrun"
mode_is "the journal is 0600" 600 "$ROOT/run/vmrun/gpu.json"
mode_is "the claims folder is 0700" 700 "$ROOT/run/vmrun/claims"
for c in "$ROOT"/run/vmrun/claims/*; do
	mode_is "claim $(basename "$c") is 0600" 600 "$c"
done
check "the journal records the chown with the old owner" \
	grep -q '"type": *"chown"\|"chown"' "$ROOT/run/vmrun/gpu.json"

vm restore gpu >"$TMP/out" 2>&1
expect_eq "restore" 0 $? || cat "$TMP/out"
"$FAKEHOST" snapshot "$ROOT" >"$TMP/after"
check "the host is as before" diff -u "$TMP/before" "$TMP/after"

# crash after the chown: restore gives the group back from the journal
n=$(vm --dry-run "$SAFE/gpu.ini" 2>/dev/null | grep -c '^#   [0-9]*\. ')
VMRUN_FAULT_AFTER_OP=$n vm prepare "$SAFE/gpu.ini" >"$TMP/out" 2>&1
owner_is "killed after the last op: /dev/vfio/16 is still nobody's" \
	nobody:600 "$ROOT/dev/vfio/16"
vm restore gpu >"$TMP/out" 2>&1
expect_eq "restore after the crash" 0 $?
"$FAKEHOST" snapshot "$ROOT" >"$TMP/after"
check "the host is as before after the crash" \
	diff -u "$TMP/before" "$TMP/after"

# --- a real run as nobody, sandboxed ----------------------------------------
QEMU=$(command -v qemu-system-x86_64 || true)
OVMF=/usr/share/OVMF/OVMF_CODE_4M.fd
why=""
[ "$(id -u)" = 0 ] || why="needs root"
[ -n "$QEMU" ] || why="no qemu-system-x86_64"
[ -r "$OVMF" ] || why="no $OVMF"
command -v swtpm >/dev/null || why="no swtpm"
if [ -n "$why" ]; then
	skip "a real run as nobody" "$why"
	done_testing
fi

NAME=t-sec-$$
STATE=$TMP/state-real
SHM=/dev/shm/vmrun-sec-$$
QPID=""
SPID=""
real_cleanup() {
	[ -n "$QPID" ] && kill -9 "$QPID" 2>/dev/null
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	"$VMRUN" -q restore "$NAME" >/dev/null 2>&1
	rm -f "$SHM"
	rm -rf "$TMP"
}
trap real_cleanup EXIT

cat >"$TMP/real.ini" <<EOF
[vm]
name = $NAME
memory = 256M
accel = tcg
run-as = nobody
state-dir = $STATE
shutdown-timeout = 5

[cpu]
model = max

[looking-glass]
device = $SHM
size = 8M
owner = root
group = root

[tpm]
type = swtpm

[net.lan]
mode = none
EOF

"$VMRUN" --detach "$TMP/real.ini" >"$TMP/real.out" 2>&1
expect_eq "a run as nobody, sandboxed, starts" 0 $? ||
	{ cat "$TMP/real.out"; sed 's/^/#   /' "$STATE/$NAME.log"; }
QPID=$(pgrep -f -- "-name guest=$NAME," | head -1)
if [ -n "$QPID" ]; then
	expect_eq "QEMU runs as nobody" nobody "$(ps -o user= -p "$QPID")"
	expect_eq "QEMU is under seccomp (filter mode)" 2 \
		"$(awk '/^Seccomp:/ {print $2}' "/proc/$QPID/status")"
	check "QEMU's argv has the sandbox" \
		grep -qz '^on,obsolete=deny,spawn=deny,resourcecontrol=deny$' \
		"/proc/$QPID/cmdline"
else
	not_ok "QEMU runs"
fi
SPID=$(pgrep -f -- "swtpm socket .*--runas nobody" | head -1)
expect_eq "swtpm runs as nobody" nobody "$(ps -o user= -p "${SPID:-0}" 2>&1)"
"$VMRUN" status "$NAME" >"$TMP/status" 2>&1
has "status: the guest runs" "$NAME: running" "$TMP/status"

mode_is "/run/vmrun is 0700" 700 /run/vmrun
mode_is "the control socket is 0600" 600 "/run/vmrun/$NAME.sock"
mode_is "the journal is 0600" 600 "/run/vmrun/$NAME.json"
mode_is "the lock file is 0600" 600 "/run/vmrun/$NAME.lock"
mode_is "the swtpm socket is 0600" 600 "/run/vmrun/$NAME.swtpm.sock"
mode_is "the state folder is 0700" 700 "$STATE"
mode_is "the VM log is 0600" 600 "$STATE/$NAME.log"
owner_is "the OVMF vars copy is nobody's" nobody:600 "$STATE/OVMF_VARS.fd"
owner_is "the TPM state folder is nobody's" nobody:700 "$STATE/tpm"
check "swtpm wrote its state as nobody" \
	bash -c "ls -ln '$STATE/tpm' | awk 'NR > 1 && \$3 != $NOBODY {exit 1}'"
owner_is "the Looking Glass file keeps its owner" root:660 "$SHM"

"$VMRUN" stop --force "$NAME" >"$TMP/stop" 2>&1
expect_eq "stop --force" 0 $? || cat "$TMP/stop"
check "the host is given back" \
	bash -c "! ls /run/vmrun/$NAME* 2>/dev/null | grep -q . && test ! -e '$SHM'"
check "QEMU is gone" test ! -e "/proc/${QPID:-0}"
check "swtpm is gone" test ! -e "/proc/${SPID:-0}"

done_testing
