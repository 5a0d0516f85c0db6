#!/usr/bin/env bash
# t_systemd.sh: vmrun as users get it, under a real systemd. This machine's
# own root boots as a throwaway container (systemd-nspawn --volatile=yes: a
# fresh /etc, writable layers over /usr and /var that vanish at exit), the
# .deb of `make deb` is installed in it, and vmrun@NAME.service runs the
# demo guest (TCG, OVMF) and a guest that idles: Type=notify readiness,
# the journal and its priorities, the stop ladder, a guest's own power-off,
# a QEMU crash, the group vmrun through polkit, [host] stop-units, CPU
# isolation through systemd, the desktop entry's Exec line, removal.
# VMRUN_DEB=FILE tests that package instead of building one.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

VERSION=$(sed -n 's/^#define VMRUN_VERSION "\(.*\)"/\1/p' launcher/cmd/main.c)
ARCH=$(dpkg --print-architecture 2>/dev/null)
DEB=${VMRUN_DEB:-build/deb/vmrun_${VERSION}_$ARCH.deb}
OVMF=/usr/share/OVMF/OVMF_CODE_4M.fd
MACHINE=vmrun-test-$$
IN=/mnt/vmrun-test # $TMP/in, read-only in the container
NSPID=""           # systemd-nspawn
CPID=""            # the container's systemd, as the host sees it

# --- clean-up: the container goes on every path --------------------------
cleanup() {
	if [ -n "$NSPID" ] && kill -0 "$NSPID" 2>/dev/null; then
		# nspawn asks the container's systemd to power off
		kill -TERM "$NSPID" 2>/dev/null
		if ! wait_until 30 gone "$NSPID"; then
			# killing its PID 1 ends every process of the container
			[ -n "$CPID" ] && kill -KILL "$CPID" 2>/dev/null
			kill -KILL "$NSPID" 2>/dev/null
		fi
		wait "$NSPID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers --------------------------------------------------------------

# ns COMMAND...: run in the container as root, with a clean environment
ns() {
	nsenter -a -t "$CPID" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 "$@"
}

# as USER COMMAND...: run in the container as USER with its groups
as() {
	local user=$1
	shift
	ns setpriv --reuid="$user" --regid="$user" --init-groups \
		env HOME="/home/$user" USER="$user" "$@"
}

# disk IMAGE LINE...: a FAT image whose UEFI shell script runs the lines
disk() {
	local img=$1 dir=$TMP/nsh
	shift
	rm -rf "$dir" "$img"
	mkdir -p "$dir"
	printf '%s\r\n' "$@" >"$dir/startup.nsh"
	truncate -s 16M "$img"
	mkfs.vfat -n VMRUNTEST "$img" >/dev/null &&
		mcopy -i "$img" "$dir/startup.nsh" ::/startup.nsh
}

# profile NAME [SECTION-LINES]: /etc/vmrun/NAME.ini in the container, a
# guest that idles until it is stopped (it ignores the power button)
profile() {
	ns sh -c "mkdir -p /var/lib/vmrun && cat >/etc/vmrun/$1.ini" <<EOF
[vm]
name = $1
memory = 256M
accel = tcg
state-dir = /var/lib/vmrun/$1
shutdown-timeout = 2

[cpu]
model = max
cores = 1
${2:-}

[hyperv]
enlightenments = none

[disk.boot]
file = $IN/idle.img
format = raw
readonly = yes

[net.lan]
mode = none

[display]
type = none
EOF
}

prop() {
	ns systemctl show -p "$2" --value "$1"
}

# journal UNIT [ARGS...]: the lines of UNIT's processes in its last (or
# current) run, text only. (journalctl 252 skips matching entries after
# --after-cursor; the invocation ID names the run instead. systemd forgets
# it once a unit ends cleanly: start keeps it.)
declare -A INVOCATION
journal() {
	local unit=$1 id
	shift
	id=$(prop "$unit" InvocationID)
	id=${id:-${INVOCATION[$unit]:-none}}
	ns journalctl -q --no-pager -o cat _SYSTEMD_INVOCATION_ID="$id" "$@"
}

# priority UNIT TEXT: the syslog priority of the line with TEXT in UNIT's
# last run ("none": no such line). journald reads each process's stream
# on its own time, even after --sync: wait up to 10 s for the line.
has_line() {
	ns journalctl --sync
	journal "$1" | grep -qF -- "$2"
}

priority() {
	local p
	wait_until 10 has_line "$1" "$2"
	for p in 0 1 2 3 4 5 6 7; do
		if journal "$1" -p "$p..$p" | grep -qF -- "$2"; then
			echo "$p"
			return
		fi
	done
	echo none
}

# logged CASE UNIT PRIORITY TEXT: the journal has the line with TEXT of
# UNIT's last run at PRIORITY (3 error, 4 warning, 6 info)
logged() {
	local got
	got=$(priority "$2" "$4")
	expect_eq "$1: journal: '$4' at priority $3" "$3" "$got"
	[ "$got" = "$3" ] || journal "$2" | tail -n 15 | sed 's/^/#   /'
}

# qemu_pid NAME: QEMU's pid in the container, from vmrun's line (10 s)
qemu_pid() {
	local pid=""
	qemu_line() {
		pid=$(journal "vmrun@$1" |
			sed -n "s/.*VM '$1' is running (QEMU pid \([0-9]*\)).*/\1/p")
		[ -n "$pid" ]
	}
	wait_until 10 qemu_line "$1"
	echo "$pid"
}

state() {
	ns systemctl is-active "$1"
}

# outcome UNIT: its state, result and the main process's exit status
outcome() {
	echo "$(state "$1") $(prop "$1" Result) $(prop "$1" ExecMainStatus)"
}

# ended UNIT: UNIT has stopped (inactive or failed)
ended() {
	case $(state "$1") in
	inactive | failed) return 0 ;;
	esac
	return 1
}

# given_back CASE NAME: nothing of VM NAME is left in the container
given_back() {
	local left=""
	ns test -e "/run/vmrun/$2.json" && left+=" /run/vmrun/$2.json"
	ns test -e "/run/vmrun/$2.sock" && left+=" /run/vmrun/$2.sock"
	ns pgrep -f -- "-name guest=$2," >/dev/null && left+=" QEMU"
	expect_eq "$1: the host is given back" "" "$left"
}

# start CASE NAME: systemctl start returns once the guest runs
start() {
	if ns timeout 120 systemctl start "vmrun@$2" 2>"$TMP/start.err"; then
		ok "$1: systemctl start vmrun@$2 returns"
		INVOCATION[vmrun@$2]=$(prop "vmrun@$2" InvocationID)
	else
		not_ok "$1: systemctl start vmrun@$2 returns"
		sed 's/^/#   /' "$TMP/start.err"
		journal "vmrun@$2" | tail -n 20 | sed 's/^/#   /'
		return 1
	fi
}

# --- requirements ---------------------------------------------------------
why=""
[ "$(id -u)" = 0 ] || why="needs root (systemd-nspawn)"
command -v systemd-nspawn >/dev/null ||
	why="no systemd-nspawn (apt-get install systemd-container)"
command -v nsenter >/dev/null || why="no nsenter (util-linux)"
command -v qemu-system-x86_64 >/dev/null ||
	why="no qemu-system-x86_64 (apt-get install qemu-system-x86)"
[ -r "$OVMF" ] || why="no $OVMF (apt-get install ovmf)"
command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null ||
	why="no mkfs.vfat/mcopy (apt-get install dosfstools mtools)"
if [ -z "${VMRUN_DEB:-}" ]; then
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		why="no dpkg-buildpackage/dh (apt-get install dpkg-dev debhelper)"
fi
# Whether nspawn can make a container here at all (privileges, kernel):
# a boot that fails after this is a failure, not a skip.
if [ -z "$why" ] &&
	! out=$(systemd-nspawn -q -D / --volatile=yes -M "$MACHINE" \
		--register=no --keep-unit --private-network /bin/true \
		2>&1 </dev/null); then
	why="systemd-nspawn cannot run a container here: $(tail -n 1 <<<"$out")"
fi
if [ -n "$why" ]; then
	skip "vmrun under systemd" "$why"
	done_testing
	exit
fi

# --- the package and the disks, made here; the container boots ------------
mkdir -p "$TMP/in" "$TMP/preset" "$TMP/c/usr" "$TMP/c/var"
if [ -z "${VMRUN_DEB:-}" ] && ! make -s deb >"$TMP/deb.log" 2>&1; then
	tail -n 30 "$TMP/deb.log" | sed 's/^/#   /'
fi
if ! cp "$DEB" "$TMP/in/vmrun.deb"; then
	not_ok "the package is there ($DEB)"
	done_testing
	exit
fi
ok "the package is there ($DEB)"
check "the demo disk is made" scripts/make-demo-disk "$TMP/in/boot.img"
check "the idle disk is made" disk "$TMP/in/idle.img" ':loop' \
	'stall 1000000' 'goto loop'
# A first boot enables every unit with an [Install] section: only what
# systemd needs anyway (journald, dbus, logind) runs.
echo 'disable *' >"$TMP/preset/00-vmrun-test.preset"
# The fresh /etc gets its system users and groups from systemd-sysusers:
# with the host's numbers, so that files in /usr (polkitd's rules folder)
# and dpkg's database (stat overrides) name the same ones.
mkdir -p "$TMP/sysusers"
{
	awk -F: '$3 < 1000 || $3 == 65534 { print "g", $1, $3 }' /etc/group
	awk -F: '$3 < 1000 || $3 == 65534 { print "u", $1, $3 ":" $4, "-" }' \
		/etc/passwd
} >"$TMP/sysusers/00-vmrun-test-host.conf"
systemd-nspawn -D / --volatile=yes \
	--overlay=/usr:"$TMP/c/usr":/usr --overlay=/var:"$TMP/c/var":/var \
	--register=no --keep-unit --private-network --console=read-only \
	--machine="$MACHINE" \
	--bind-ro="$TMP/preset":/etc/systemd/system-preset \
	--bind-ro="$TMP/sysusers":/etc/sysusers.d \
	--bind-ro="$TMP/in":"$IN" \
	-b systemd.firstboot=off </dev/null >"$TMP/nspawn.log" 2>&1 &
NSPID=$!
booted() {
	CPID=$(pgrep -P "$NSPID" | head -n 1)
	[ -n "$CPID" ] || return 1
	case $(ns systemctl is-system-running 2>/dev/null) in
	running | degraded) return 0 ;;
	esac
	return 1
}
if ! wait_until 60 booted; then
	not_ok "a throwaway systemd boots (systemd-nspawn)"
	tail -n 20 "$TMP/nspawn.log" | sed 's/^/#   /'
	[ -n "$CPID" ] && ns systemctl --failed --no-legend | sed 's/^/#   /'
	done_testing
	exit
fi
ok "a throwaway systemd boots (systemd-nspawn, pid $CPID)"

# --- 1. the package -------------------------------------------------------
if ns dpkg -i "$IN/vmrun.deb" >"$TMP/dpkg.log" 2>&1; then
	ok "dpkg -i installs the package"
else
	not_ok "dpkg -i installs the package"
	sed 's/^/#   /' "$TMP/dpkg.log"
fi
check "the package creates the group vmrun" ns getent group vmrun >/dev/null
check "systemd finds the packaged unit" ns systemctl cat vmrun@demo.service \
	>/dev/null
check "the polkit rule is where polkitd reads it" \
	ns test -f /usr/share/polkit-1/rules.d/50-vmrun.rules

# --- 2. the demo: Type=notify start, status, its own power-off -------------
ns sh -c "mkdir -p /var/lib/vmrun/demo && cp $IN/boot.img /var/lib/vmrun/demo/
	sed -e 's|^state-dir = .*|state-dir = /var/lib/vmrun/demo|' \
	    -e 's|^file = .*|file = /var/lib/vmrun/demo/boot.img|' \
	    /usr/share/vmrun/profiles/demo.ini >/etc/vmrun/demo.ini"
if start demo demo; then
	# READY=1 comes after QEMU runs: the line is in the journal already
	check "demo: the guest runs when start returns" test -n "$(qemu_pid demo)"
	expect_eq "demo: is-active right after start" active "$(state vmrun@demo)"
	check "demo: systemctl status shows it active (running)" \
		grep -q 'Active: active (running)' \
		<<<"$(ns systemctl status --no-pager vmrun@demo)"
	expect_eq "demo: the main process is vmrun" vmrun \
		"$(ns cat "/proc/$(prop vmrun@demo MainPID)/comm" 2>&1)"
	logged demo vmrun@demo 6 "VM 'demo' is running"
	wait_until 180 ended vmrun@demo
	expect_eq "demo: the guest's own power-off ends the unit cleanly" \
		"inactive success 0" "$(outcome vmrun@demo)"
	logged demo vmrun@demo 6 "the guest powered off"
	given_back demo demo
fi
out=$(ns journalctl -q --no-pager -o cat -u 'vmrun@*')
check "journal: vmrun's lines carry no escape codes" \
	bash -c '! grep -q "$(printf "\033")" <<<"$1"' _ "$out"
check "journal: no priority prefix is left in the text" \
	bash -c '! grep -q "^<[0-7]>" <<<"$1"' _ "$out"

# --- 3. systemctl stop: the stop ladder ------------------------------------
profile idle
if start ladder idle; then
	t0=$SECONDS
	if ns timeout 60 systemctl stop vmrun@idle; then
		ok "ladder: systemctl stop returns"
	else
		not_ok "ladder: systemctl stop returns"
	fi
	check "ladder: it waited shutdown-timeout (2 s)" \
		test $((SECONDS - t0)) -ge 2
	logged ladder vmrun@idle 6 "asking the guest to power off"
	logged ladder vmrun@idle 4 "the guest did not power off within 2 s"
	logged ladder vmrun@idle 3 "the guest did not power off; QEMU was stopped"
	# exit status 5: the guest ignored the power button (an OS would
	# have powered off: 0)
	expect_eq "ladder: the unit ends with vmrun's exit status 5" \
		"failed exit-code 5" "$(outcome vmrun@idle)"
	given_back ladder idle
	ns systemctl reset-failed vmrun@idle 2>/dev/null
fi

# --- 4. QEMU crashes: a failed unit with vmrun's exit status 3 ------------
if start crash idle; then
	qpid=$(qemu_pid idle)
	check "crash: QEMU's pid is known ($qpid)" test -n "$qpid"
	ns kill -KILL "${qpid:-0}"
	wait_until 60 ended vmrun@idle
	expect_eq "crash: the unit fails with vmrun's exit status 3" \
		"failed exit-code 3" "$(outcome vmrun@idle)"
	logged crash vmrun@idle 3 "QEMU was killed by signal 9"
	given_back crash idle
	ns systemctl reset-failed vmrun@idle 2>/dev/null
fi

# --- 5. polkit: the group vmrun may, others may not -------------------------
ns useradd -m -U -G vmrun alice
ns useradd -m -U bob
ns sh -c 'mkdir -p /etc/systemd/system
	cat >/etc/systemd/system/fake-dm.service' <<'EOF'
[Unit]
Description=a display manager stand-in for t_systemd.sh
[Service]
ExecStart=/bin/sleep infinity
EOF
ns systemctl daemon-reload
ns systemctl start fake-dm.service
if ! ns test -x /usr/lib/polkit-1/polkitd; then
	skip "polkit" "polkitd is not installed (apt-get install polkitd)"
else
	out=$(as bob systemctl --no-ask-password start vmrun@idle 2>&1)
	rc=$?
	check "polkit: bob (not in vmrun) may not start vmrun@idle" \
		test $rc -ne 0 -a "$(state vmrun@idle)" != active
	check "... and is told so" grep -qiE 'access denied|authentication' <<<"$out"
	out=$(as alice timeout 120 systemctl --no-ask-password start \
		vmrun@idle 2>&1)
	expect_eq "polkit: alice (group vmrun) starts vmrun@idle, no password" \
		"0 active" "$? $(state vmrun@idle)"
	[ -n "$out" ] && sed 's/^/#   /' <<<"$out"
	as bob systemctl --no-ask-password stop vmrun@idle >/dev/null 2>&1
	expect_eq "polkit: bob may not stop it" "1 active" \
		"$? $(state vmrun@idle)"
	as alice systemctl --no-ask-password stop fake-dm.service \
		>/dev/null 2>&1
	expect_eq "polkit: alice may not stop other units" "1 active" \
		"$? $(state fake-dm.service)"
	as alice timeout 60 systemctl --no-ask-password stop vmrun@idle
	expect_eq "polkit: alice stops vmrun@idle" "0" "$?"
	check "... and it is no longer active" \
		test "$(state vmrun@idle)" != active
	given_back polkit idle
	ns systemctl reset-failed vmrun@idle 2>/dev/null
fi

# --- 6. the desktop entry's Exec line, run as alice --------------------------
entry=/home/alice/.local/share/applications/vmrun-idle.desktop
if ns test -x /usr/lib/polkit-1/polkitd &&
	as alice vmrun install-desktop idle >/dev/null 2>"$TMP/desktop.err"; then
	ok "desktop: alice installs the menu entry of idle"
	exec_line=$(ns sed -n '/^\[Desktop Entry\]/,/^\[/s/^Exec=//p' "$entry")
	stop_line=$(ns sed -n '/^\[Desktop Action stop\]/,/^\[/s/^Exec=//p' "$entry")
	expect_eq "desktop: Exec runs the packaged launcher" \
		"/usr/libexec/vmrun/vmrun-desktop-launch idle" "$exec_line"
	# no field codes, no quoting in these lines: split on spaces
	# shellcheck disable=SC2086
	as alice timeout 120 $exec_line >"$TMP/launch.log" 2>&1
	expect_eq "desktop: the Exec line starts vmrun@idle" "0 active" \
		"$? $(state vmrun@idle)"
	# shellcheck disable=SC2086
	as alice timeout 60 $stop_line >>"$TMP/launch.log" 2>&1
	expect_eq "desktop: the Power off action stops it" "0 yes" \
		"$? $(ended vmrun@idle && echo yes)"
	grep -q . "$TMP/launch.log" && sed 's/^/#   /' "$TMP/launch.log"
	given_back desktop idle
	ns systemctl reset-failed vmrun@idle 2>/dev/null
elif ! ns test -x /usr/lib/polkit-1/polkitd; then
	skip "desktop entry as a user" "polkitd is not installed"
else
	not_ok "desktop: alice installs the menu entry of idle"
	sed 's/^/#   /' "$TMP/desktop.err"
fi

# --- 7. [host] stop-units against a real unit --------------------------------
profile dm "[host]
stop-units = fake-dm.service"
expect_eq "stop-units: fake-dm runs before" active "$(state fake-dm.service)"
if start stop-units dm; then
	expect_eq "stop-units: fake-dm is stopped while the guest runs" \
		inactive "$(state fake-dm.service)"
	ns timeout 60 systemctl stop vmrun@dm
	expect_eq "stop-units: fake-dm runs again after" active \
		"$(state fake-dm.service)"
	given_back stop-units dm
	ns systemctl reset-failed vmrun@dm 2>/dev/null
fi

# --- 8. [cpu] isolate: AllowedCPUs through systemd, runtime only -------------
SLICES="system.slice user.slice init.scope"
allowed() {
	local u
	for u in $SLICES; do printf '%s=%s ' "$u" "$(prop "$u" AllowedCPUs)"; done
}
ncpu=$(ns nproc --all)
last=$((ncpu - 1))
# (/proc/irq is read-only in a container: the IRQs stay where they are)
profile iso "vcpu-pin = $last
isolate = yes

[host]
irq-affinity = no"
before=$(allowed)
v2=no
[ "$(ns stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && v2=yes
if [ "$ncpu" -lt 2 ]; then
	skip "CPU isolation" "needs 2 CPUs, the container has $ncpu"
elif [ $v2 = yes ] && ! ns grep -qw cpuset /sys/fs/cgroup/cgroup.controllers
then
	skip "CPU isolation through systemd" \
		"the container's cgroup has no cpuset controller (not delegated to it)"
elif [ $v2 = yes ]; then
	if start isolate iso; then
		hostcpus=0
		[ "$last" -gt 1 ] && hostcpus=0-$((last - 1))
		want=""
		for u in $SLICES; do want+="$u=$hostcpus "; done
		expect_eq "isolate: AllowedCPUs of the slices, read from systemd" \
			"$want" "$(allowed)"
		check "isolate: set at runtime (/run/systemd/system.control)" \
			ns test -d /run/systemd/system.control/system.slice.d
		check "isolate: nothing written to /etc" \
			ns test ! -e /etc/systemd/system.control/system.slice.d
		ns timeout 60 systemctl stop vmrun@iso
		expect_eq "isolate: AllowedCPUs restored after" "$before" \
			"$(allowed)"
		given_back isolate iso
		ns systemctl reset-failed vmrun@iso 2>/dev/null
	fi
else
	# vmrun must refuse, and say why, before it changes anything
	skip "CPU isolation through systemd" "cpuset is on cgroup v1 here \
(a hybrid host): AllowedCPUs needs it on the unified hierarchy"
	ns timeout 60 systemctl start vmrun@iso 2>/dev/null
	expect_eq "isolate on cgroup v1: the start fails, nothing changed" \
		"failed $before" "$(state vmrun@iso) $(allowed)"
	logged "isolate on cgroup v1" vmrun@iso 3 \
		"[cpu] isolate = yes needs the unified cgroup hierarchy"
	ns systemctl reset-failed vmrun@iso 2>/dev/null
fi

# --- 9. the package goes ---------------------------------------------------
if ns dpkg --purge vmrun >"$TMP/dpkg.log" 2>&1; then
	ok "dpkg --purge removes the package"
else
	not_ok "dpkg --purge removes the package"
	sed 's/^/#   /' "$TMP/dpkg.log"
fi
left=$(ns sh -c 'ls -d /usr/bin/vmrun /lib/systemd/system/vmrun@.service \
	/usr/lib/systemd/system/vmrun@.service /usr/libexec/vmrun \
	/usr/share/polkit-1/rules.d/50-vmrun.rules /usr/share/vmrun 2>/dev/null')
expect_eq "no file of the package is left" "" "$left"
check "the profiles in /etc/vmrun stay" ns test -f /etc/vmrun/demo.ini
done_testing
