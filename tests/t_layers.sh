#!/usr/bin/env bash
# t_layers.sh: the folders of launcher/ (and qmp/) are layers that include
# downward only, each through its index header; no source sits loose in
# launcher/; files and functions stay small (tests/check-layers.py). The
# checker is also run on copies of the tree with a rule broken on purpose,
# so a checker that passes everything fails here.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

CHECK=tests/check-layers.py

out=$(python3 "$CHECK" . 2>&1)
expect_eq "the tree keeps the layering rules" "" "$out"

# broken RULE FILE LINE: a copy of launcher/ and qmp/ with LINE added to
# FILE; the checker must refuse it and name RULE's words.
broken() {
	local name=$1 file=$2 line=$3 want=$4 dir
	dir=$(mktemp -d "$TMP/layers.XXXXXX")
	cp -r launcher qmp "$dir/"
	printf '%s\n' "$line" >>"$dir/$file"
	out=$(python3 "$CHECK" "$dir" 2>&1)
	if [ $? -ne 0 ] && grep -qF -- "$want" <<<"$out"; then
		ok "refused: $name"
	else
		not_ok "refused: $name"
		printf '#   %s\n' "$out"
	fi
}

broken "a back-include (engine/ including ops/)" launcher/engine/plan.c \
	'#include "ops/ops.h"' 'engine/ includes "ops/ops.h", but ops/ is above'
broken "the argv builder including a planner" launcher/qemu/argv.c \
	'#include "ops/ops.h"' 'qemu/ includes "ops/ops.h"'
broken "qmp/ including the launcher" qmp/qmp.c \
	'#include "profile/profile.h"' 'qmp/ includes "profile/profile.h"'
broken "another folder's private header" launcher/run/vm.c \
	'#include "qemu/build.h"' 'is private to qemu/'
broken "a header by bare name from another folder" launcher/ops/net.c \
	'#include "qemu.h"' 'is not in ops/'
broken "a source file loose in launcher/" launcher/stray.c \
	'int stray;' 'launcher/stray.c: sources live in a subsystem folder'

# a function over the limit
dir=$(mktemp -d "$TMP/layers.XXXXXX")
cp -r launcher qmp "$dir/"
{
	printf 'int long_one(void);\nint long_one(void)\n{\n\tint x = 0;\n'
	for i in $(seq 70); do printf '\tx += %d;\n' "$i"; done
	printf '\treturn x;\n}\n'
} >>"$dir/launcher/base/util.c"
out=$(python3 "$CHECK" "$dir" 2>&1)
check "refused: a function over 60 lines" grep -q "function of .* lines" <<<"$out"

# The qmp layer builds and is tested without the launcher above base/.
libs=$(ar t build/san/libqmp.a 2>/dev/null | tr '\n' ' ')
check "libqmp.a holds qmp/ and base/ only" \
	bash -c "[ -n '$libs' ] && ! grep -qvE '^(qmp|qmp_event|qmp_reader|error|log|util)\.o$' <<<'$(ar t build/san/libqmp.a 2>/dev/null)'"
done_testing
