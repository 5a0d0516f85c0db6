#!/usr/bin/env bash
# t_install.sh: `make install` into a DESTDIR puts every file where the
# system looks for it, with sane modes; the unit passes systemd-analyze and
# points at the installed binary; `make uninstall` takes it all back.
# It installs with the PREFIX vmrun was built for (/usr/local), so the
# build tree is not rebuilt for another one.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

P=/usr/local
D=$TMP/dest
check "make install DESTDIR" make -s install DESTDIR="$D"

# path mode: every installed file
while read -r path mode; do
	check "$path is installed" test -f "$D$path"
	expect_eq "$path has mode $mode" "$mode" "$(stat -c %a "$D$path" 2>&1)"
done <<EOF2
$P/bin/vmrun 755
$P/libexec/vmrun/vmrun-desktop-launch 755
$P/share/man/man1/vmrun.1 644
$P/share/man/man5/vmrun.ini.5 644
$P/share/bash-completion/completions/vmrun 644
$P/lib/systemd/system/vmrun@.service 644
/etc/polkit-1/rules.d/50-vmrun.rules 644
$P/share/vmrun/profiles/demo.ini 644
$P/share/vmrun/profiles/gaming.ini 644
EOF2
check "/etc/vmrun is created" test -d "$D/etc/vmrun"
check "nothing is installed with a placeholder left" \
	bash -c "! grep -rlI '@[a-z]*dir@' '$D'"
# polkit reads rules only from /usr/share and /etc, never /usr/local.
check "PREFIX=/usr: the rule goes to /usr/share/polkit-1/rules.d" \
	bash -c "make -n install PREFIX=/usr DESTDIR=/x |
		grep -q ' /x/usr/share/polkit-1/rules.d/50-vmrun.rules$'"

UNIT=$D$P/lib/systemd/system/vmrun@.service
expect_eq "ExecStart runs the installed binary on /etc/vmrun/NAME.ini" \
	"ExecStart=$P/bin/vmrun /etc/vmrun/%i.ini" \
	"$(grep '^ExecStart=' "$UNIT")"
# systemd's SIGTERM starts the ladder; an ExecStop would return before
# vmrun exits, and the SIGTERM after it would cut vmrun's report short.
expect_eq "no ExecStop: systemctl stop is SIGTERM to vmrun (the ladder)" \
	"" "$(grep '^ExecStop=' "$UNIT")"
expect_eq "ExecStopPost restores whatever is left" \
	"ExecStopPost=-$P/bin/vmrun restore %i" \
	"$(grep '^ExecStopPost=' "$UNIT")"
check "Type=notify" grep -qx 'Type=notify' "$UNIT"
check "KillMode=mixed: systemd signals vmrun, not QEMU" \
	grep -qx 'KillMode=mixed' "$UNIT"
stop_s=$(sed -n 's/^TimeoutStopSec=//p' "$UNIT")
check "TimeoutStopSec ($stop_s) outlasts shutdown-timeout's 120 s + 3 x 5 s" \
	test "${stop_s:-0}" -gt 135
if command -v systemd-analyze >/dev/null; then
	# The unit as installed, its binary found in DESTDIR, the man pages of
	# Documentation= too.
	mkdir -p "$TMP/unit"
	sed "s|$P/bin/vmrun|$D$P/bin/vmrun|g" "$UNIT" \
		>"$TMP/unit/vmrun@demo.service"
	out=$(cd "$TMP/unit" && MANPATH=$D$P/share/man \
		systemd-analyze verify ./vmrun@demo.service 2>&1)
	rc=$?
	expect_eq "systemd-analyze verify passes the unit" "0 " "$rc $out"
	sed -i 's|^ExecStart=.*|ExecStart=/nonexistent/vmrun /etc/vmrun/%i.ini|' \
		"$TMP/unit/vmrun@demo.service"
	(cd "$TMP/unit" && MANPATH=$D$P/share/man \
		systemd-analyze verify ./vmrun@demo.service >/dev/null 2>&1)
	check "... and would catch a missing binary" test $? -ne 0
else
	skip "systemd-analyze verify" "systemd is not installed"
fi

check "the installed vmrun runs" "$D$P/bin/vmrun" --version
out=$(MANWIDTH=80 man --warnings=w -l "$D$P/share/man/man5/vmrun.ini.5" \
	2>&1 >/dev/null)
expect_eq "the installed vmrun.ini(5) renders" "" "$out"
check "the installed completion loads" \
	bash -c ". '$D$P/share/bash-completion/completions/vmrun' &&
		complete -p vmrun"
# The menu entry of the installed vmrun runs the installed launcher.
mkdir -p "$TMP/root/etc/vmrun"
cp profiles/demo.ini "$TMP/root/etc/vmrun/demo.ini"
env -u XDG_DATA_HOME -u SUDO_UID HOME="$TMP/home" "$D$P/bin/vmrun" \
	--root "$TMP/root" install-desktop demo >/dev/null
exe=$(sed -n 's/^Exec=\([^ ]*\) demo$/\1/p' \
	"$TMP/home/.local/share/applications/vmrun-demo.desktop")
expect_eq "install-desktop's entry runs the installed launcher" \
	"$P/libexec/vmrun/vmrun-desktop-launch" "$exe"
check "... which is there" test -x "$D$exe"

# Uninstall takes every file back, and keeps profiles a user put in
# /etc/vmrun.
check "make uninstall" make -s uninstall DESTDIR="$D"
expect_eq "no file is left" "" "$(find "$D" -type f)"
check "an empty /etc/vmrun is removed" test ! -e "$D/etc/vmrun"
make -s install DESTDIR="$D" >/dev/null
echo "[vm]" >"$D/etc/vmrun/mine.ini"
make -s uninstall DESTDIR="$D" >/dev/null 2>&1
expect_eq "a profile in /etc/vmrun survives uninstall" \
	"$D/etc/vmrun/mine.ini" "$(find "$D" -type f)"
done_testing
