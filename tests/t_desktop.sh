#!/usr/bin/env bash
# t_desktop.sh: `vmrun install-desktop NAME` (the entry it writes, where, and
# its errors), the launcher the entry runs (against a fake systemctl), and
# the polkit rule that lets the group vmrun start the service.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

ROOT=$TMP/root
mkdir -p "$ROOT/etc/vmrun" "$TMP/home"
cp profiles/gaming.ini "$ROOT/etc/vmrun/win11.ini" # [looking-glass]
cp profiles/demo.ini "$ROOT/etc/vmrun/demo.ini"	   # none
cp profiles/demo.ini "$ROOT/etc/vmrun/other.ini"   # names VM demo
printf '[vm]\nname = odd\nmemory = 1G\n[looking-glass]\n%s\n' \
	'device = /dev/shm/lg 1%$"`\x' >"$ROOT/etc/vmrun/odd.ini"
printf '[vm]\nname = broken\nmemory = lots\n' >"$ROOT/etc/vmrun/broken.ini"
APPS=$TMP/home/.local/share/applications

# vr NAME: install-desktop as a user whose HOME is $TMP/home
vr() {
	env -u XDG_DATA_HOME -u SUDO_UID HOME="$TMP/home" \
		"$VMRUN" --root "$ROOT" install-desktop "$@"
}

# exec_args FILE GROUP: the Exec= of a group, split into arguments the
# way the Desktop Entry spec reads them, one per line.
exec_args() {
	python3 - "$1" "$2" <<'EOF'
import sys
group, val = None, None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("["):
        group = line[1:-1]
    elif group == sys.argv[2] and line.startswith("Exec="):
        val = line[5:]
# the string escapes first, then the quoting, then %%
s, i = "", 0
while i < len(val):
    if val[i] == "\\":
        s += {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[val[i + 1]]
        i += 2
    else:
        s += val[i]
        i += 1
args, cur, i, quoted, have = [], "", 0, False, False
while i < len(s):
    c = s[i]
    if quoted and c == "\\" and s[i + 1] in '"`$\\':
        cur += s[i + 1]; i += 2; continue
    if c == '"':
        quoted, have = not quoted, True
    elif c == " " and not quoted:
        if cur or have:
            args.append(cur)
        cur, have = "", False
    else:
        cur += c
    i += 1
if cur or have:
    args.append(cur)
for a in args:
    print(a.replace("%%", "%"))
EOF
}

out=$(vr win11 2>&1)
check "install-desktop win11 succeeds" test -f "$APPS/vmrun-win11.desktop"
check "it says where the entry went" \
	grep -qF "wrote $APPS/vmrun-win11.desktop" <<<"$out"
expect_eq "the entry is 0644" 644 "$(stat -c %a "$APPS/vmrun-win11.desktop")"
expect_eq "folders it creates are 0700 (XDG)" 700 "$(stat -c %a "$APPS")"
launcher=$(exec_args "$APPS/vmrun-win11.desktop" "Desktop Entry" | head -1)
check "Exec runs vmrun-desktop-launch" \
	test "$(basename "$launcher")" = vmrun-desktop-launch
expect_eq "with [looking-glass]: the client's device, then the name" \
	"--looking-glass /dev/shm/looking-glass-win11 win11" \
	"$(exec_args "$APPS/vmrun-win11.desktop" "Desktop Entry" |
		tail -n +2 | paste -sd' ')"
expect_eq "the Power off action stops it" "--stop win11" \
	"$(exec_args "$APPS/vmrun-win11.desktop" "Desktop Action stop" |
		tail -n +2 | paste -sd' ')"
check "Name says which VM" grep -qx 'Name=win11 (virtual machine)' \
	"$APPS/vmrun-win11.desktop"
check "no placeholder is left" \
	bash -c "! grep -q '@[A-Z_]*@' '$APPS/vmrun-win11.desktop'"

vr demo >/dev/null 2>&1
expect_eq "without [looking-glass]: only the name" "demo" \
	"$(exec_args "$APPS/vmrun-demo.desktop" "Desktop Entry" |
		tail -n +2 | paste -sd' ')"
vr odd >/dev/null 2>&1
expect_eq "a device with spaces, quotes, \$, \` and % survives Exec quoting" \
	'--looking-glass|/dev/shm/lg 1%$"`\x|odd' \
	"$(exec_args "$APPS/vmrun-odd.desktop" "Desktop Entry" |
		tail -n +2 | paste -sd'|')"

if command -v desktop-file-validate >/dev/null; then
	for n in win11 demo odd; do
		out=$(desktop-file-validate "$APPS/vmrun-$n.desktop" 2>&1)
		expect_eq "desktop-file-validate passes vmrun-$n.desktop" "" "$out"
	done
else
	skip "desktop-file-validate" "desktop-file-utils is not installed"
fi

# Where the entry goes.
env XDG_DATA_HOME="$TMP/xdg" HOME="$TMP/home" \
	"$VMRUN" --root "$ROOT" install-desktop demo >/dev/null 2>&1
check "\$XDG_DATA_HOME/applications is honoured" \
	test -f "$TMP/xdg/applications/vmrun-demo.desktop"
rm -rf "$TMP/rel"
(cd "$TMP" && env XDG_DATA_HOME=rel HOME="$TMP/home2" \
	"$VMRUN" --root "$ROOT" install-desktop demo >/dev/null 2>&1)
check "a relative XDG_DATA_HOME is ignored (XDG spec)" \
	test -f "$TMP/home2/.local/share/applications/vmrun-demo.desktop" -a \
	! -e "$TMP/rel"
before=$(md5sum <"$APPS/vmrun-win11.desktop")
vr win11 >/dev/null 2>&1
expect_eq "running it again rewrites the same entry" "$before" \
	"$(md5sum <"$APPS/vmrun-win11.desktop")"
check "no temporary file is left" \
	bash -c "! ls '$APPS' | grep -q tmp"

# Errors: each says what is wrong and what to do; nothing is written.
err=$(vr nope 2>&1)
check "a VM without a profile in /etc/vmrun fails" test $? -ne 0
check "... and says where to put it" \
	grep -qF "no profile /etc/vmrun/nope.ini: vmrun@nope.service runs that file; put the VM's profile there first (install -m644 PROFILE /etc/vmrun/nope.ini)" \
	<<<"$err"
err=$(vr ../etc 2>&1)
check "a bad name is refused" \
	grep -qF "'../etc' is not a VM name ([A-Za-z0-9_-], 1 to 32 characters)" \
	<<<"$err"
err=$(vr other 2>&1)
check "a profile whose [vm] name differs is refused" \
	grep -qF "/etc/vmrun/other.ini names its VM 'demo', but vmrun@other.service stops it with \`vmrun stop other\`: set [vm] name = other or rename the file to demo.ini" \
	<<<"$err"
err=$(vr broken 2>&1)
check "a profile with errors is refused with file:line" \
	grep -qE "broken.ini:3: .*memory" <<<"$err"
check "no entry for refused VMs" \
	test ! -e "$APPS/vmrun-other.desktop" -a ! -e "$APPS/vmrun-broken.desktop"
"$VMRUN" --root "$ROOT" install-desktop >/dev/null 2>&1
expect_eq "install-desktop without NAME is a usage error" 2 $?

# The launcher, against a fake systemctl, notify-send, journalctl and
# looking-glass-client that log their calls.
LAUNCH=$TOP/desktop/vmrun-desktop-launch
mkdir -p "$TMP/bin"
cat >"$TMP/bin/systemctl" <<'EOF'
#!/bin/sh
echo "systemctl $*" >>"$FAKE/calls"
case $1 in
is-active) [ -e "$FAKE/active" ] ;;
start)
	if [ -e "$FAKE/fail" ]; then
		echo "Job for $2 failed." >&2
		exit 1
	fi
	touch "$FAKE/active" ;;
stop) rm -f "$FAKE/active" ;;
esac
EOF
printf '#!/bin/sh\necho "notify $*" >>"$FAKE/calls"\n' >"$TMP/bin/notify-send"
printf '#!/bin/sh\necho "vmrun: demo.ini:3: bad size"\n' >"$TMP/bin/journalctl"
printf '#!/bin/sh\necho "lg $*" >>"$FAKE/calls"\n' \
	>"$TMP/bin/looking-glass-client"
chmod +x "$TMP/bin/"*
export FAKE=$TMP PATH=$TMP/bin:$PATH

launch() {
	: >"$TMP/calls"
	"$LAUNCH" "$@" 2>/dev/null
}
launch --looking-glass /dev/shm/looking-glass win11
expect_eq "start: exits 0" 0 $?
expect_eq "start: the service, a notification, then Looking Glass" \
	"systemctl is-active --quiet vmrun@win11.service|systemctl start vmrun@win11.service|notify --app-name=vmrun --icon=computer --urgency=normal win11 is running Looking Glass opens now|lg -f /dev/shm/looking-glass" \
	"$(paste -sd'|' "$TMP/calls")"
launch --looking-glass /dev/shm/looking-glass win11
expect_eq "already running: only the viewer opens" \
	"systemctl is-active --quiet vmrun@win11.service|lg -f /dev/shm/looking-glass" \
	"$(paste -sd'|' "$TMP/calls")"
launch --stop win11
expect_eq "--stop: stops the service and says so" \
	"notify --app-name=vmrun --icon=computer --urgency=normal Powering off win11 the host is given back once it is off|systemctl stop vmrun@win11.service|notify --app-name=vmrun --icon=computer --urgency=normal win11 is off " \
	"$(paste -sd'|' "$TMP/calls")"
touch "$TMP/fail"
launch demo
expect_eq "a failed start exits 1" 1 $?
check "... with a critical notification naming the reason and the log" \
	grep -qF "notify --app-name=vmrun --icon=computer --urgency=critical demo did not start Job for vmrun@demo.service failed. vmrun: demo.ini:3: bad size" \
	"$TMP/calls"
check "... and no viewer" bash -c "! grep -q '^lg' '$TMP/calls'"
rm -f "$TMP/fail" "$TMP/active"
rm "$TMP/bin/looking-glass-client"
launch --looking-glass /dev/kvmfr0 win11
expect_eq "no Looking Glass client: exits 1" 1 $?
check "... and says it is missing" \
	grep -qF "Looking Glass client not found" "$TMP/calls"
launch 'a b'
expect_eq "a bad name is a usage error" 2 $?
launch --looking-glass
expect_eq "--looking-glass without a device is a usage error" 2 $?

# The polkit rule: its decisions, evaluated with a stand-in for polkit's
# JavaScript API (polkit.addRule, action.lookup, subject.isInGroup).
if command -v node >/dev/null; then
	cat >"$TMP/pk.js" <<'EOF'
const fs = require("fs"), vm = require("vm");
const rules = [];
const polkit = {Result: {YES: "yes", NO: "no", NOT_HANDLED: null},
	addRule: (f) => rules.push(f)};
vm.runInNewContext(fs.readFileSync(process.argv[2], "utf8"), {polkit});
if (rules.length !== 1)
	throw new Error("want one rule, got " + rules.length);
for (const line of fs.readFileSync(0, "utf8").trim().split("\n")) {
	const [id, group, unit, verb] = line.split(" ");
	const action = {id, lookup: (k) => ({unit, verb})[k]};
	const subject = {isInGroup: (g) => g === group};
	console.log(String(rules[0](action, subject)));
}
EOF
	M=org.freedesktop.systemd1.manage-units
	got=$(node "$TMP/pk.js" polkit/50-vmrun.rules <<EOF
$M vmrun vmrun@win11.service start
$M vmrun vmrun@win11.service stop
$M vmrun vmrun@win11.service restart
$M users vmrun@win11.service start
$M vmrun sshd.service stop
$M vmrun vmrun@win11.service reload
$M vmrun vmrun@../x.service start
$M vmrun xvmrun@a.service start
org.freedesktop.login1.reboot vmrun vmrun@win11.service start
EOF
	)
	expect_eq "polkit: group vmrun may start/stop/restart vmrun@*, nothing else" \
		"yes yes yes null null null null null null" "$(paste -sd' ' <<<"$got")"
	check "polkit rule parses as JavaScript" \
		bash -c "node --check - <polkit/50-vmrun.rules"
else
	skip "polkit rule" "node is not installed"
fi
done_testing
