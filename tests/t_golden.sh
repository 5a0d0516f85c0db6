#!/usr/bin/env bash
# Golden argv: each tests/golden/NAME.ini, planned against a fake host built
# from the fixture its first line names, must print exactly NAME.argv
# (vmrun --print-argv) and NAME.dry-run (vmrun --dry-run). Machine-specific
# paths are replaced by @ROOT@ and @GOLDEN@. Regenerate after a deliberate
# change with VMRUN_GOLDEN_UPDATE=1 tests/run t_golden.sh and review the diff.
# The profiles name host paths as users write them (libvirt's nvram folder,
# owned by libvirt-qemu where libvirt is installed), so they are planned
# with --trust: what the trust rule refuses is t_security.sh's to test.
. "$(dirname "$0")/lib.sh"
GOLDEN=$TOP/tests/golden

normalise() {
	sed -e "s|$1|@ROOT@|g" -e "s|$GOLDEN|@GOLDEN@|g"
}

for ini in "$GOLDEN"/*.ini; do
	name=$(basename "$ini" .ini)
	fixture=$(sed -n '1s/^; fixture: *//p' "$ini")
	root=$TMP/root-$fixture
	if [ ! -d "$root" ] &&
		! "$FAKEHOST" build "$FIXTURES/$fixture.host" "$root" >"$TMP/build.log" 2>&1; then
		not_ok "$name: build fake host $fixture"
		sed 's/^/#   /' "$TMP/build.log"
		continue
	fi
	# the host devices the profile names (evdev, kvmfr) exist on it
	{
		sed -n 's/^\(evdev\|device\) *= *\(\/dev\/[^ ]*\)$/\2/p' "$ini"
		grep -q '^type *= *passthrough' "$ini" && echo /dev/tpm0
	} | while read -r dev; do
			mkdir -p "$(dirname "$root$dev")" && : >"$root$dev"
		done
	for kind in argv dry-run; do
		want=$GOLDEN/$name.$kind
		if ! "$VMRUN" --trust --root "$root" \
			--"${kind/argv/print-argv}" "$ini" \
			>"$TMP/out" 2>"$TMP/err"; then
			not_ok "$name.$kind: vmrun failed"
			sed 's/^/#   /' "$TMP/err"
			continue
		fi
		normalise "$root" <"$TMP/out" >"$TMP/got"
		if [ -n "${VMRUN_GOLDEN_UPDATE:-}" ]; then
			cp "$TMP/got" "$want"
		fi
		if diff -u "$want" "$TMP/got" >"$TMP/diff" 2>&1; then
			ok "$name.$kind matches"
		else
			not_ok "$name.$kind differs from the golden file"
			head -n 40 "$TMP/diff" | sed 's/^/#   /'
		fi
	done
done

# Every key of docs/PROFILE.md appears in at least one golden profile.
keys=$(sed -n 's/^| \([a-z][a-z0-9, -]*\) | .*/\1/p' "$TOP/docs/PROFILE.md" |
	tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -v '^key$' | sort -u)
missing=""
for k in $keys; do
	grep -qE "^$k *=" "$GOLDEN"/*.ini || missing="$missing $k"
done
for k in device evdev grab-toggle table fake-battery arg pre-start post-start pre-stop post-stop; do
	grep -qE "^$k *=" "$GOLDEN"/*.ini || missing="$missing $k"
done
expect_eq "every profile key is covered by a golden profile" "" "$missing"
done_testing
