#!/usr/bin/env bash
# t_attacks.sh: issue 11's adversarial review, one case per hole: what a
# local user (vmrun-tester, created when missing) can put in the way of
# vmrun running as root, and that vmrun refuses it, naming what and who,
# or is not turned by it. Every case here failed before the fix.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/root
FAKEQEMU=$TOP/tests/fakeqemu
PIDS=() # processes this suite started

if [ "$(id -u)" != 0 ] || ! U=$(test_user); then
	skip "attacks by another user" "needs root (to create $TEST_USER)"
	done_testing
	exit
fi
UID_U=$(id -u "$U")
UHOME=$(getent passwd "$U" | cut -d: -f6)
MADE_HOME=""

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in $(pgrep -f -- "$FAKEQEMU -name guest=atk-" || true); do
		kill -9 "$p" 2>/dev/null
	done
	if [ -n "$MADE_HOME" ]; then
		rm -rf "$UHOME"
	else
		rm -f "$UHOME"/.local/share/applications/vmrun-atk-*
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

# The user reaches the folder they own inside the suite's folder.
chmod 0755 "$TMP"
USERDIR=$TMP/user
mkdir -m 0755 "$USERDIR"
chown "$U:" "$USERDIR"

# profile FILE NAME [TEXT...]: a profile for the fake host, root's; TEXT
# goes on in [vm] until it starts a section. [vm] qemu is $PQEMU (unset:
# the fake QEMU; empty: none), state-dir $PSTATE (default in $TMP).
profile() {
	local f=$1 name=$2 q=${PQEMU-$FAKEQEMU}
	shift 2
	{
		printf '[vm]\nname = %s\nmemory = 2G\naccel = tcg\n' "$name"
		[ -z "$q" ] || printf 'qemu = %s\n' "$q"
		printf 'state-dir = %s\n' "${PSTATE:-$TMP/state-$name}"
		printf 'shutdown-timeout = 2\n'
		printf '%b\n' "$@"
	} >"$f"
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

# victim FILE: a root file vmrun must never change
victim() {
	echo "precious" >"$1"
	chmod 0644 "$1"
}

# intact CASE FILE: the victim as it was
intact() {
	expect_eq "$1" "precious root:root 644" \
		"$(cat "$2" 2>&1) $(stat -c '%U:%G %a' "$2" 2>&1)"
}

# starttime PID: field 22 of /proc/PID/stat
starttime() {
	python3 -c 'import sys
d = open("/proc/%s/stat" % sys.argv[1]).read()
print(d[d.rindex(")") + 2:].split()[19])' "$1"
}

"$FAKEHOST" build "$FIXTURES/b550-gtx1060.host" "$ROOT" >"$TMP/build.log" 2>&1 ||
	{ not_ok "fake host"; cat "$TMP/build.log"; done_testing; exit; }
"$FAKEHOST" set "$ROOT" node0.hugepages-2048kB=1024 >/dev/null

# --- 1. the commands that change nothing run no foreign program ----------
RAN=$TMP/evil-ran
printf '#!/bin/sh\ntouch %s\necho "QEMU emulator version 8.2.0"\n' "$RAN" \
	>"$USERDIR/qemu-system-x86_64"
chmod 0755 "$USERDIR/qemu-system-x86_64"
chown "$U:" "$USERDIR/qemu-system-x86_64"
cp "$USERDIR/qemu-system-x86_64" "$USERDIR/swtpm"
chown "$U:" "$USERDIR/swtpm"

PQEMU=$USERDIR/qemu-system-x86_64 profile "$TMP/atk-q.ini" atk-q
for cmd in --dry-run --print-argv doctor; do
	rm -f "$RAN"
	# a new binary each time: no version cached from an earlier case
	echo "# $cmd" >>"$USERDIR/qemu-system-x86_64"
	vm "$cmd" "$TMP/atk-q.ini" >"$TMP/out" 2>&1
	expect_eq "$cmd with another user's [vm] qemu: refused" 1 $?
	check "$cmd did not run it (as root, to ask its version)" \
		test ! -e "$RAN"
	has "$cmd names it and its owner" \
		"[vm] qemu $USERDIR/qemu-system-x86_64: it belongs to user '$U', not to root or you; fix: chown root $USERDIR/qemu-system-x86_64" \
		"$TMP/out"
done

# a profile the user wrote, naming their program
cp "$TMP/atk-q.ini" "$USERDIR/atk-q.ini"
chown "$U:" "$USERDIR/atk-q.ini"
rm -f "$RAN"
echo "# again" >>"$USERDIR/qemu-system-x86_64"
vm --dry-run "$USERDIR/atk-q.ini" >"$TMP/out" 2>&1
expect_eq "--dry-run of another user's profile: refused" 1 $?
check "its [vm] qemu was not run" test ! -e "$RAN"
has "the profile is named" "  the profile $USERDIR/atk-q.ini: it belongs to user '$U'" \
	"$TMP/out"

# found on PATH: checked where exec would find it
PQEMU="" profile "$TMP/atk-p.ini" atk-p "[tpm]\ntype = swtpm"
rm -f "$RAN"
PATH=$USERDIR:$PATH vm --dry-run "$TMP/atk-p.ini" >"$TMP/out" 2>&1
expect_eq "qemu-system-x86_64 from a folder of the user's on PATH: refused" 1 $?
check "and not run" test ! -e "$RAN"
has "[vm] qemu as PATH finds it" \
	"  [vm] qemu $USERDIR/qemu-system-x86_64: it belongs to user '$U'" \
	"$TMP/out"
has "swtpm as PATH finds it" \
	"  swtpm ([tpm] type = swtpm) $USERDIR/swtpm: it belongs to user '$U'" \
	"$TMP/out"

# a QEMU that never answers -version does not hang --dry-run
printf '#!/bin/sh\necho $$ >%s\nexec sleep 600\n' "$TMP/hang.pid" \
	>"$TMP/hang-qemu"
chmod 0755 "$TMP/hang-qemu"
PQEMU=$TMP/hang-qemu profile "$TMP/atk-h.ini" atk-h
VMRUN_QEMU_PROBE_TIMEOUT_MS=500 timeout 30 \
	"$FAKEHOST" run "$ROOT" -- "$VMRUN" --dry-run "$TMP/atk-h.ini" \
	>"$TMP/out" 2>&1
expect_eq "--dry-run with a QEMU that never answers: ends, exit 1" 1 $?
has "it says so" "$TMP/hang-qemu -version did not answer within 500 ms" \
	"$TMP/out"
check "the hanging probe was killed" gone "$(cat "$TMP/hang.pid" 2>/dev/null || echo 1)"

# --- 2. sudo vmrun install-desktop writes as the user ----------------------
if [ ! -d "$UHOME" ]; then
	mkdir -p "$UHOME" && chown "$U:" "$UHOME" && chmod 0700 "$UHOME" &&
		MADE_HOME=1
fi
mkdir -p "$ROOT/etc/vmrun"
profile "$ROOT/etc/vmrun/atk-d.ini" atk-d
APPS=$UHOME/.local/share/applications
as_user "$U" mkdir -p "$APPS"
victim "$TMP/victim-d"
as_user "$U" ln -sf "$TMP/victim-d" "$APPS/vmrun-atk-d.desktop.tmp"
SUDO_UID=$UID_U "$VMRUN" --root "$ROOT" install-desktop atk-d \
	>"$TMP/out" 2>&1
expect_eq "install-desktop with the user's symlink at the .tmp name" 0 $? ||
	sed 's/^/#   /' "$TMP/out"
intact "root's file the link named: not truncated, chowned or chmodded" \
	"$TMP/victim-d"
expect_eq "the entry is the user's" "$U 644 file" \
	"$(stat -c '%U %a %F' "$APPS/vmrun-atk-d.desktop" 2>&1 |
		sed 's/regular file/file/')"

if [ -n "$MADE_HOME" ]; then
	mkdir -m 0755 "$TMP/root-only"
	rm -rf "$APPS"
	as_user "$U" ln -s "$TMP/root-only" "$APPS"
	SUDO_UID=$UID_U "$VMRUN" --root "$ROOT" install-desktop atk-d \
		>"$TMP/out" 2>&1
	expect_eq "applications linked to a root folder: install fails" 1 $?
	expect_eq "nothing was written in root's folder" "" \
		"$(ls -A "$TMP/root-only")"
else
	skip "applications linked to a root folder" \
		"$UHOME existed before: not replacing the user's folders"
fi

# --- 3. the state folder and the log --------------------------------------
PSTATE=$USERDIR/state profile "$TMP/atk-s.ini" atk-s
vm --dry-run "$TMP/atk-s.ini" >"$TMP/out" 2>&1
expect_eq "a state folder in a folder the user owns: refused" 1 $?
has "named with its owner" \
	"  [vm] state-dir $USERDIR/state: the folder $USERDIR belongs to user '$U', not to root or you; fix: chown root $USERDIR" \
	"$TMP/out"

# the detached child opens the log as a run does: no symlink followed
victim "$TMP/victim-l"
profile "$TMP/atk-l.ini" atk-l
mkdir -m 0700 "$TMP/state-atk-l"
ln -s "$TMP/victim-l" "$TMP/state-atk-l/atk-l.log"
vm --detach "$TMP/atk-l.ini" >"$TMP/out" 2>&1
expect_eq "--detach with the VM log a symlink: refused" 1 $?
intact "the file the link named: not appended to" "$TMP/victim-l"
has "the reason" "open the VM log $TMP/state-atk-l/atk-l.log" "$TMP/out"
vm stop --force atk-l >/dev/null 2>&1
vm restore atk-l >/dev/null 2>&1

# a log with another name (a hard link) is not chmodded nor appended to
victim "$TMP/victim-h"
profile "$TMP/atk-k.ini" atk-k
mkdir -m 0700 "$TMP/state-atk-k"
ln "$TMP/victim-h" "$TMP/state-atk-k/atk-k.log"
FAKEQEMU_GUEST_SHUTDOWN_AFTER=0.2 vm "$TMP/atk-k.ini" >"$TMP/out" 2>&1
expect_eq "a run with the VM log hard-linked to a host file: refused" 1 $?
intact "the linked file: not chmodded or appended to" "$TMP/victim-h"
has "the reason" "the VM log $TMP/state-atk-k/atk-k.log is not a plain file of its own (it has other hard links); remove it" \
	"$TMP/out"

# --- 4. files made in shared folders --------------------------------------
touch "$ROOT/dev/shm/lg-atk"
chown "$U:" "$ROOT/dev/shm/lg-atk"
chmod 0666 "$ROOT/dev/shm/lg-atk"
profile "$TMP/atk-g.ini" atk-g \
	"[looking-glass]\ndevice = /dev/shm/lg-atk\nsize = 8M\nowner = root\ngroup = root"
snap >"$TMP/before"
vm prepare "$TMP/atk-g.ini" >"$TMP/out" 2>&1
expect_eq "a Looking Glass file the user made first: refused" 1 $?
has "naming who owns it" \
	"/dev/shm/lg-atk already exists (a file owned by user '$U' (uid $UID_U), mode 0666)" \
	"$TMP/out"
expect_eq "the user's file is not taken over (owner, mode, size)" \
	"$U 666 0" "$(stat -c '%U %a %s' "$ROOT/dev/shm/lg-atk")"
same_snapshot "refused Looking Glass file: host unchanged" "$TMP/before"
rm -f "$ROOT/dev/shm/lg-atk"

mkdir -m 0755 "$TMP/victim-dir"
victim "$TMP/victim-dir/file"
ln -s "$TMP/victim-dir" "$ROOT/dev/hugepages/vmrun-atk-u"
profile "$TMP/atk-u.ini" atk-u "[memory]\nhugepages = 2M"
vm prepare "$TMP/atk-u.ini" >"$TMP/out" 2>&1
expect_eq "a symlink at the guest RAM folder's name: refused" 1 $?
has "naming what is there" \
	"/dev/hugepages/vmrun-atk-u already exists and is not vmrun's (a symlink owned by user 'root'" \
	"$TMP/out"
vm restore atk-u >/dev/null 2>&1
intact "the folder it named keeps its files" "$TMP/victim-dir/file"
check "the symlink is left as it was" test -L "$ROOT/dev/hugepages/vmrun-atk-u"
rm -f "$ROOT/dev/hugepages/vmrun-atk-u"

# --- 5. restore undoes only what vmrun could have made ---------------------
mkdir -p "$ROOT/run/vmrun"
chmod 0700 "$ROOT/run/vmrun"
mkdir -m 0755 "$TMP/j-dir"
victim "$TMP/j-dir/file"
victim "$TMP/j-file"
victim "$TMP/j-bin"
setpriv --reuid="$U" --regid="$(id -g "$U")" --clear-groups sleep 300 &
SPID=$!
PIDS+=("$SPID")
wait_until 5 test -e "/proc/$SPID/stat"
ST=$(starttime "$SPID")
cat >"$ROOT/run/vmrun/atk-j.json" <<EOF
{"version": 1, "name": "atk-j", "pid": 1, "ops": [
 {"type": "hugepage-dir", "desc": "create the guest RAM folder", "args":
  {"path": "$TMP/j-dir"}, "saved": {"existed": false, "mounted": false},
  "state": "applied"},
 {"type": "cleanup-path", "desc": "remove a socket", "args":
  {"path": "$TMP/j-file"}, "saved": null, "state": "applied"},
 {"type": "chown", "desc": "give a file to run-as", "args":
  {"path": "$TMP/j-bin", "user": "$U", "uid": $UID_U, "gid": 0},
  "saved": {"uid": $UID_U, "gid": 0, "mode": 2541}, "state": "applied"},
 {"type": "process", "desc": "stop QEMU", "args": {"what": "QEMU",
  "vm": "atk-j", "pid": $SPID, "starttime": $ST, "grace-ms": 100},
  "saved": null, "state": "applied"}
]}
EOF
vm restore atk-j >"$TMP/out" 2>&1
expect_eq "restore of a hand-edited journal: exit 6" 6 $?
intact "a folder it named is not emptied" "$TMP/j-dir/file"
intact "a file it named is not removed" "$TMP/j-file"
intact "a binary it named is not made the user's and setuid" "$TMP/j-bin"
check "the user's process it named is not killed" kill -0 "$SPID"
has "the refusal is explained" \
	"refused 3 journal entries that name what vmrun never changes; everything else was undone. The journal /run/vmrun/atk-j.json is kept" \
	"$TMP/out"
has "each one with why" \
	"  give a file to run-as: a chown entry that gives $TMP/j-bin a new owner, not a VFIO group or the guest RAM folder of VM 'atk-j': vmrun never makes one, so it does not undo it" \
	"$TMP/out"
check "the journal is kept" test -e "$ROOT/run/vmrun/atk-j.json"
kill -9 "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null

# an entry this vmrun cannot read does not stop the rest
touch "$ROOT/run/vmrun/atk-w.sock"
cat >"$ROOT/run/vmrun/atk-w.json" <<EOF
{"version": 1, "name": "atk-w", "pid": 1, "ops": [
 {"type": "cleanup-path", "desc": "remove the control socket", "args":
  {"path": "/run/vmrun/atk-w.sock"}, "saved": null, "state": "applied"},
 {"type": "warp", "desc": "something new", "args": {}, "saved": null,
  "state": "applied"}
]}
EOF
vm restore atk-w >"$TMP/out" 2>&1
expect_eq "a journal with an unknown entry: exit 6" 6 $?
check "the entries vmrun knows are undone" \
	test ! -e "$ROOT/run/vmrun/atk-w.sock"
has "the unknown one is reported" \
	"  entry 2 (something new): its type 'warp' is not one this vmrun knows (written by another version?)" \
	"$TMP/out"

# a vfio-bind without its saved drivers: the device is not left on
# vfio-pci with the journal gone
profile "$TMP/atk-v.ini" atk-v \
	"[pci.gpu]\nhost = 08:00.0\n[pci.gpu-audio]\nhost = 08:00.1"
vm prepare "$TMP/atk-v.ini" >"$TMP/out" 2>&1 ||
	{ not_ok "prepare the GPU VM"; sed 's/^/#   /' "$TMP/out"; }
python3 - "$ROOT/run/vmrun/atk-v.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
for op in j["ops"]:
    if op["type"] == "vfio-bind":
        op["saved"] = None
json.dump(j, open(sys.argv[1], "w"))
EOF
vm restore atk-v >"$TMP/out" 2>&1
expect_eq "restore with a vfio-bind whose saved is null: exit 6" 6 $?
check "the journal is kept" test -e "$ROOT/run/vmrun/atk-v.json"
has "it says how to give the device back" \
	"0000:08:00.0: the journal does not say which driver it had (saved: null), so vmrun cannot give it back. If it is still on vfio-pci, give it to the kernel's choice of driver: echo > /sys/bus/pci/devices/0000:08:00.0/driver_override" \
	"$TMP/out"

done_testing
