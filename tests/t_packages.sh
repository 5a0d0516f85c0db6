#!/usr/bin/env bash
# t_packages.sh: the packages of the tree. The .deb (`make deb`) holds every
# file `make install` puts in place, for PREFIX=/usr, its postinst creates
# the group vmrun, lintian finds no error; the RPM (`make rpm`, where
# rpmbuild is) and the Arch PKGBUILD (its functions run without makepkg)
# hold the same files; every packaging file has the binary's version.
# Installing the .deb under a running systemd: t_systemd.sh.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

VERSION=$(sed -n 's/^#define VMRUN_VERSION "\(.*\)"/\1/p' launcher/cmd/main.c)
check "the binary has a version ($VERSION)" test -n "$VERSION"
expect_eq "debian/changelog has the binary's version" "$VERSION" \
	"$(sed -n '1s/^vmrun (\([^)]*\)).*/\1/p' debian/changelog)"
expect_eq "the RPM spec has the binary's version" "$VERSION" \
	"$(sed -n 's/^Version: *//p' packaging/rpm/vmrun.spec)"
expect_eq "the PKGBUILD has the binary's version" "$VERSION" \
	"$(sed -n 's/^pkgver=//p' packaging/arch/PKGBUILD)"
check "debian/vmrun.sysusers is packaging/vmrun.sysusers" \
	cmp -s debian/vmrun.sysusers packaging/vmrun.sysusers

# has_files PKG ROOT UNITDIR LIBEXECDIR MANSUFFIX: the files of `make
# install` (PREFIX=/usr) and the group's sysusers.d file are under ROOT
# with their modes, placeholders filled in (MANSUFFIX: .gz, or * where
# the packager may or may not compress man pages)
has_files() {
	local pkg=$1 root=$2 unitdir=$3 libexec=$4 man=$5 path mode f bad=""
	while read -r path mode; do
		f=$(compgen -G "$root$path" | head -n 1)
		if [ ! -f "$f" ]; then
			bad+=" $path (missing)"
		elif [ "$(stat -c %a "$f")" != "$mode" ]; then
			bad+=" $path (mode $(stat -c %a "$f"), not $mode)"
		fi
	done <<EOF
/usr/bin/vmrun 755
$libexec/vmrun-desktop-launch 755
/usr/share/man/man1/vmrun.1$man 644
/usr/share/man/man5/vmrun.ini.5$man 644
/usr/share/bash-completion/completions/vmrun 644
$unitdir/vmrun@.service 644
/usr/share/polkit-1/rules.d/50-vmrun.rules 644
/usr/lib/sysusers.d/vmrun.conf 644
/usr/share/vmrun/profiles/demo.ini 644
/usr/share/vmrun/profiles/gaming.ini 644
/usr/share/vmrun/profiles/headless.ini 644
/usr/share/vmrun/profiles/laptop.ini 644
EOF
	[ -d "$root/etc/vmrun" ] || bad+=" /etc/vmrun (missing)"
	expect_eq "$pkg: every file, with its mode" "" "$bad"
	expect_eq "$pkg: the unit runs /usr/bin/vmrun" \
		"ExecStart=/usr/bin/vmrun /etc/vmrun/%i.ini" \
		"$(grep '^ExecStart=' "$root$unitdir/vmrun@.service" 2>&1)"
	check "$pkg: no placeholder is left" \
		bash -c "! grep -rlI '@[a-z]*dir@' '$root'"
	# The binary's menu entries run the launcher the package has.
	rm -rf "$TMP/host" "$TMP/home"
	mkdir -p "$TMP/host/etc/vmrun"
	cp profiles/demo.ini "$TMP/host/etc/vmrun/demo.ini"
	env -u XDG_DATA_HOME -u SUDO_UID HOME="$TMP/home" \
		"$root/usr/bin/vmrun" --root "$TMP/host" install-desktop demo \
		>/dev/null 2>&1
	expect_eq "$pkg: install-desktop's entry runs the packaged launcher" \
		"$libexec/vmrun-desktop-launch" \
		"$(sed -n 's/^Exec=\([^ ]*\) demo$/\1/p' \
			"$TMP/home/.local/share/applications/vmrun-demo.desktop" \
			2>/dev/null)"
}

# --- Debian ---------------------------------------------------------------
DEB=build/deb/vmrun_${VERSION}_$(dpkg --print-architecture 2>/dev/null).deb
why=""
for tool in dpkg-buildpackage dh pkg-config; do
	command -v $tool >/dev/null ||
		why="no $tool (apt-get install dpkg-dev debhelper pkg-config)"
done
if [ -n "$why" ]; then
	skip "the Debian package" "$why"
elif make -s deb >"$TMP/deb.log" 2>&1 && [ -f "$DEB" ]; then
	ok "make deb builds $DEB"
	dpkg-deb -x "$DEB" "$TMP/deb"
	has_files deb "$TMP/deb" \
		"$(pkg-config --variable=systemdsystemunitdir systemd)" \
		/usr/libexec/vmrun .gz
	deps=$(dpkg-deb -f "$DEB" Depends)
	for d in qemu-system-x86 ovmf libjson-c5 libxml2 systemd; do
		check "deb: depends on $d" grep -q "\b$d\b" <<<"$deps"
	done
	# The postinst, run against a throwaway root as dpkg would
	# (DPKG_ROOT), creates the group of the polkit rule.
	mkdir -p "$TMP/deb-ctl" "$TMP/deb/etc"
	dpkg-deb -e "$DEB" "$TMP/deb-ctl"
	if DPKG_ROOT=$TMP/deb sh "$TMP/deb-ctl/postinst" configure \
		>"$TMP/postinst.log" 2>&1; then
		ok "deb: postinst configure succeeds"
	else
		not_ok "deb: postinst configure succeeds"
		sed 's/^/#   /' "$TMP/postinst.log"
	fi
	check "deb: postinst creates the system group vmrun" \
		grep -qE '^vmrun:x:[0-9]{1,3}:$' "$TMP/deb/etc/group"
	if command -v lintian >/dev/null; then
		lintian --pedantic "${DEB%.deb}.changes" >"$TMP/lintian" 2>&1
		sed -n 's/^[WIP]: /#   lintian: &/p' "$TMP/lintian"
		expect_eq "lintian finds no error" "" \
			"$(grep '^E: ' "$TMP/lintian")"
	else
		skip "lintian" "lintian is not installed (apt-get install lintian)"
	fi
else
	not_ok "make deb builds $DEB"
	tail -n 30 "$TMP/deb.log" | sed 's/^/#   /'
fi

# --- RPM ------------------------------------------------------------------
if ! command -v rpmbuild >/dev/null; then
	skip "the RPM" "no rpmbuild (apt-get install rpm)"
else
	# Where rpm does not manage the system (Debian), it cannot know the
	# build dependencies are there.
	flags=""
	rpm -q glibc >/dev/null 2>&1 || flags=--nodeps
	RPM=build/rpm/RPMS/x86_64/vmrun-$VERSION-1.x86_64.rpm
	if make -s rpm RPMBUILD_FLAGS="$flags" >"$TMP/rpm.log" 2>&1 &&
		[ -f "$RPM" ]; then
		ok "make rpm builds $RPM"
		# installed into a throwaway root (its rpm database there too)
		mkdir -p "$TMP/rpm"
		check "rpm: installs into a root" rpm -i --root "$TMP/rpm" \
			--nodeps --noscripts "$RPM" 2>/dev/null
		has_files rpm "$TMP/rpm" /usr/lib/systemd/system \
			/usr/libexec/vmrun "*"
		check "rpm: %pre creates the system group vmrun" \
			grep -q 'groupadd -r vmrun' \
			<<<"$(rpm -qp --scripts "$RPM" 2>/dev/null)"
	else
		not_ok "make rpm builds $RPM"
		tail -n 30 "$TMP/rpm.log" | sed 's/^/#   /'
	fi
fi

# --- Arch -----------------------------------------------------------------
# makepkg's part: the PKGBUILD's functions in order, in their folders.
if (
	set -e
	startdir=$TOP/packaging/arch srcdir=$TMP/arch/src pkgdir=$TMP/arch/pkg
	mkdir -p "$srcdir" "$pkgdir"
	cd "$startdir"
	. ./PKGBUILD
	(cd "$srcdir" && prepare)
	(cd "$srcdir" && build)
	(cd "$srcdir" && package)
) >"$TMP/arch.log" 2>&1; then
	ok "PKGBUILD: prepare, build and package succeed"
	has_files PKGBUILD "$TMP/arch/pkg" /usr/lib/systemd/system \
		/usr/lib/vmrun ""
else
	not_ok "PKGBUILD: prepare, build and package succeed"
	tail -n 30 "$TMP/arch.log" | sed 's/^/#   /'
fi
done_testing
