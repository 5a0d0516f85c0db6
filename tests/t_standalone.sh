#!/usr/bin/env bash
# t_standalone.sh: the repository stands alone. No tracked file names the
# folder beside the checkout that the tests once read their fixtures from,
# and suites that read fixtures pass from a copy with nothing beside it.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

# Spelled in pieces, so that this file does not name them itself.
BESIDE=..
BESIDE=$BESIDE/shared
ENVVAR=VMRUN_
ENVVAR=${ENVVAR}SHARED
# Suites that read the host fixtures, the golden files and the fake host,
# from shell (t_devices.sh: every fixture) and from C (test_host).
SUITES=(t_devices.sh test_host)
# What `make check` builds that those suites run.
BUILT=(build/vmrun build/san/vmrun build/fakehost.so build/san/tests/test_host)

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	skip "no tracked file names $BESIDE" "not a git checkout"
	skip "fixture suites from a lone copy" "not a git checkout"
	done_testing
	exit
fi

if git grep -nF -e "$BESIDE" -e "$ENVVAR" >"$TMP/hits" 2>&1; then
	not_ok "no tracked file names $BESIDE or \$$ENVVAR"
	sed 's/^/#   /' "$TMP/hits"
else
	ok "no tracked file names $BESIDE or \$$ENVVAR"
fi

# A copy of the tracked files as they are in the work tree, alone in a
# fresh folder: any path that leaves the checkout finds nothing there. The
# suites run there with none of the paths a caller may have exported.
COPY=$TMP/alone/vmrun
mkdir -p "$COPY"
git ls-files -z | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$COPY"
check "the tracked files are copied into an empty folder" \
	test -f "$COPY/tests/run" -a "$(ls -A "$TMP/alone")" = vmrun

missing=""
for f in "${BUILT[@]}"; do
	if [ -x "$f" ]; then
		mkdir -p "$COPY/$(dirname "$f")" && cp "$f" "$COPY/$f"
	else
		missing="$missing $f"
	fi
done
expect_eq "the builds the suites run are there (make check makes them)" \
	"" "$missing"

for s in "${SUITES[@]}"; do
	name="$s passes in a copy with nothing beside it"
	if (cd "$COPY" && env -u VMRUN -u "$ENVVAR" bash tests/run "$s") \
		>"$TMP/$s.log" 2>&1; then
		ok "$name"
	else
		not_ok "$name"
		head -n 40 "$TMP/$s.log" | sed 's/^/#   /'
	fi
done
done_testing
