# tests/lib.sh: sourced by the shell suites (tests/t_*.sh). TAP output,
# temporary folders removed on exit, and the paths of the builds.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMRUN=${VMRUN:-$TOP/build/san/vmrun}
VMRUN_PLAIN=$TOP/build/vmrun
FAKEHOST=$TOP/tests/fakehost/fakehost
FIXTURES=$TOP/tests/fixtures/hosts
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:verify_asan_link_order=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
_n=0
_failed=0
TMP=$(mktemp -d /tmp/vmrun-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

ok() {
	_n=$((_n + 1))
	echo "ok $_n - $*"
}

not_ok() {
	_n=$((_n + 1))
	_failed=$((_failed + 1))
	echo "not ok $_n - $*"
}

# check NAME COMMAND...: one test case from a command's exit status.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# expect_eq NAME WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   want: %s\n#   got:  %s\n' "$2" "$3"
	fi
}

# skip NAME REASON: a case that cannot run here (counted as passed only
# when the reason is outside the project, e.g. no QEMU binary).
skip() {
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP $2"
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# test_user: an unprivileged account for the cases where "another user"
# acts (plants a symlink, owns a folder): vmrun-tester, created here if
# this host lacks it (useradd -M, no home made; safe to run twice and from
# suites running at once). Prints the name; prints nothing and fails when
# it cannot be made (not root).
TEST_USER=vmrun-tester
test_user() {
	id -u "$TEST_USER" >/dev/null 2>&1 ||
		useradd -M -s /usr/sbin/nologin -c "vmrun tests" "$TEST_USER" \
			>/dev/null 2>&1 ||
		id -u "$TEST_USER" >/dev/null 2>&1 || return 1
	echo "$TEST_USER"
}

# as_user USER COMMAND...: run COMMAND as USER (uid, gid, groups)
as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

# ---- fake host suites (they set ROOT to the host root they act on) ----

# vmrun (the sanitizer build) against the fake host at $ROOT
vm() {
	"$FAKEHOST" run "$ROOT" -- "$VMRUN" "$@"
}

snap() {
	"$FAKEHOST" snapshot "$ROOT"
}

# same_snapshot NAME BEFORE-FILE: the host at $ROOT is as BEFORE-FILE says.
# same_snapshot CASE: as $TMP/before says (the case "CASE: fake host as
# before")
same_snapshot() {
	local name=$1 before=${2:-}
	if [ -z "$before" ]; then
		name="$1: fake host as before"
		before=$TMP/before
	fi
	snap >"$TMP/after"
	if diff -u "$before" "$TMP/after" >"$TMP/diff"; then
		ok "$name"
	else
		not_ok "$name"
		head -n 30 "$TMP/diff" | sed 's/^/#   /'
	fi
}

# prepared NAME PROFILE: vmrun prepare succeeds (its stderr shown otherwise)
prepared() {
	if vm prepare "$2" >"$TMP/out" 2>"$TMP/err"; then
		ok "$1"
	else
		not_ok "$1"
		sed 's/^/#   /' "$TMP/err"
		return 1
	fi
}

# refused NAME WANT PROFILE: vmrun prepare fails with exactly WANT and the
# host is unchanged
refused() {
	snap >"$TMP/before"
	if vm prepare "$3" >"$TMP/out" 2>"$TMP/err"; then
		not_ok "$1 (prepare succeeded)"
		vm restore "$(basename "$3" .ini)" >/dev/null 2>&1
	else
		expect_eq "$1" "$2" "$(cat "$TMP/err")"
	fi
	same_snapshot "$1: host unchanged" "$TMP/before"
}

# killed_after_each_op PREFIX PROFILE VM: for every op k of the profile's
# plan, vmrun prepare is killed (SIGKILL) right after op k and vmrun
# restore must give the host at $ROOT back as it was
killed_after_each_op() {
	local n k rc bad=0
	snap >"$TMP/before"
	n=$(vm --dry-run "$2" | grep -cE '^#   [0-9]+\. ')
	for ((k = 1; k <= n; k++)); do
		VMRUN_FAULT_AFTER_OP=$k vm prepare "$2" >/dev/null 2>&1
		rc=$?
		[ $rc -eq 137 ] || { bad=1; echo "# op $k: prepare exit $rc"; }
		vm restore "$3" >/dev/null 2>"$TMP/err" ||
			{ bad=1; sed 's/^/#   /' "$TMP/err"; }
		snap | diff -u "$TMP/before" - >"$TMP/diff" ||
			{ bad=1; echo "# after op $k:"; head -20 "$TMP/diff"; }
	done
	expect_eq "${1}killed after each of $n ops, restore gives the host back" \
		0 $bad
}

# fixture_root FIXTURE: a fresh fake host at $ROOT built from
# $FIXTURES/FIXTURE.host (built once per suite, copied for each use)
fixture_root() {
	local pristine=$TMP/pristine-$1
	rm -rf "$ROOT"
	if [ ! -d "$pristine" ]; then
		"$FAKEHOST" build "$FIXTURES/$1.host" "$pristine" \
			>"$TMP/build.log" 2>&1 ||
			{ not_ok "$1: fakehost build"; return 1; }
	fi
	cp -a "$pristine" "$ROOT"
}

# not_grep GREP-ARGS...: grep -q finds nothing
not_grep() {
	! grep -q "$@"
}

# nsh_disk IMAGE SIZE LINE...: a FAT image whose startup.nsh the UEFI
# shell runs (the lines); BIG=BYTES adds a file big.bin of that many
# random bytes
nsh_disk() {
	local img=$1 size=$2 dir=$TMP/nsh.$$
	shift 2
	rm -rf "$dir"
	mkdir -p "$dir"
	printf '%s\r\n' "$@" >"$dir/startup.nsh"
	rm -f "$img"
	truncate -s "$size" "$img"
	mkfs.vfat -n VMRUNTEST "$img" >/dev/null &&
		mcopy -i "$img" "$dir/startup.nsh" ::/startup.nsh || return 1
	if [ -n "${BIG:-}" ]; then
		head -c "$BIG" /dev/urandom >"$dir/big.bin"
		mcopy -i "$img" "$dir/big.bin" ::/big.bin || return 1
	fi
}

# wait_until SECONDS COMMAND...: poll until COMMAND succeeds (1: timed out)
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

gone() {
	! kill -0 "$1" 2>/dev/null
}

# wait_rc PID SECONDS: the exit status of a background child, or 124 after
# killing it when it does not end in time
wait_rc() {
	if ! wait_until "$2" gone "$1"; then
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1" 2>/dev/null
}
