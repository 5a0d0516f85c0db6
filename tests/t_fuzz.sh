#!/usr/bin/env bash
# Fuzzing inside `make check`: each libFuzzer harness tests/fuzz/fuzz_NAME.c
# replays its seed corpus and every past crash (tests/fuzz/regressions/NAME/)
# and then fuzzes for FUZZ_CHECK_SECONDS (5); `make fuzz` runs longer.
. "$(dirname "$0")/lib.sh"
FUZZ=$TOP/tests/fuzz
BUILD=$TOP/build/fuzz
SECONDS_EACH=${FUZZ_CHECK_SECONDS:-5}
PACKAGES="clang libclang-rt-14-dev"

# Harness output is long; show the end of it on failure.
show_log() {
	grep -E 'ERROR|SUMMARY|Running:|==[0-9]+==|#[0-9]+ .*in ' "$1" |
		tail -n 20 | sed 's/^/#   /'
}

probe_clang() {
	printf 'int LLVMFuzzerTestOneInput(const char *d, long n);\n%s\n' \
		'int LLVMFuzzerTestOneInput(const char *d, long n) { return !d + !n; }' |
		"${FUZZ_CC:-clang}" -fsanitize=fuzzer,address,undefined -x c \
			-o "$TMP/probe" - >"$TMP/probe.log" 2>&1
}

# replay NAME: the seeds and past crashes, each run once.
replay() {
	local h=$1 bin=$BUILD/fuzz_$1 files=()

	for f in "$FUZZ/corpus/$h"/* "$FUZZ/regressions/$h"/*; do
		[ -f "$f" ] && files+=("$f")
	done
	if [ ${#files[@]} -eq 0 ]; then
		not_ok "fuzz_$h: no seed corpus in tests/fuzz/corpus/$h"
		return
	fi
	if "$bin" -runs=1 "${files[@]}" >"$TMP/replay-$h.log" 2>&1; then
		ok "fuzz_$h: ${#files[@]} seeds and regressions replay cleanly"
	else
		not_ok "fuzz_$h: a seed or regression input crashes the harness"
		show_log "$TMP/replay-$h.log"
	fi
}

# run NAME: a short fuzzing session from the seed corpus.
run() {
	local h=$1 bin=$BUILD/fuzz_$1 crashes=$TOP/build/fuzz/crashes/$1

	mkdir -p "$TMP/corpus-$h" "$TMP/art-$h"
	if "$bin" -dict="$FUZZ/$h.dict" -max_len=16384 -timeout=10 \
		-rss_limit_mb=2048 -max_total_time="$SECONDS_EACH" -runs=2000000 \
		-artifact_prefix="$TMP/art-$h/" "$TMP/corpus-$h" \
		"$FUZZ/corpus/$h" >"$TMP/run-$h.log" 2>&1; then
		ok "fuzz_$h: ${SECONDS_EACH}s of fuzzing found no crash ($(grep -oE 'DONE +cov: [0-9]+' "$TMP/run-$h.log" | grep -oE '[0-9]+$') edges)"
		return
	fi
	mkdir -p "$crashes"
	cp "$TMP/art-$h"/* "$crashes"/ 2>/dev/null
	not_ok "fuzz_$h: fuzzing found a crash, kept in build/fuzz/crashes/$h/;" \
		"fix it and add the input to tests/fuzz/regressions/$h/"
	show_log "$TMP/run-$h.log"
}

harnesses=()
for c in "$FUZZ"/fuzz_*.c; do
	h=$(basename "$c" .c)
	harnesses+=("${h#fuzz_}")
done

for h in "${harnesses[@]}"; do
	if [ -x "$BUILD/fuzz_$h" ]; then
		ok "fuzz_$h: built"
		continue
	fi
	if ! probe_clang; then
		not_ok "fuzz_$h: not built: ${FUZZ_CC:-clang} cannot link" \
			"-fsanitize=fuzzer (libFuzzer); install $PACKAGES"
		sed 's/^/#   /' "$TMP/probe.log" | head -n 5
	else
		not_ok "fuzz_$h: not built; run make build/fuzz/fuzz_$h"
	fi
done

# The profile harness hides host files from the parser (it must never read
# the host): a host file is "missing", a file of its scratch folder is not.
if [ -x "$BUILD/fuzz_profile" ]; then
	printf '[vm]\nname = t\nmemory = 1G\n[acpi]\ntable = /etc/passwd\n' \
		>"$TMP/host.ini"
	printf '[vm]\nname = t\nmemory = 1G\n[acpi]\ntable = ssdt.aml\n' \
		>"$TMP/own.ini"
	FUZZ_VERBOSE=1 "$BUILD/fuzz_profile" "$TMP/host.ini" >"$TMP/host.log" 2>&1
	FUZZ_VERBOSE=1 "$BUILD/fuzz_profile" "$TMP/own.ini" >"$TMP/own.log" 2>&1
	expect_eq "fuzz_profile: the parser cannot see host files" \
		"fuzz_profile: fuzz.ini:5: [acpi] table: /etc/passwd does not exist" \
		"$(grep '^fuzz_profile: ' "$TMP/host.log")"
	expect_eq "fuzz_profile: the parser sees its scratch folder" \
		"fuzz_profile: parsed" "$(grep '^fuzz_profile: ' "$TMP/own.log")"
fi

for h in "${harnesses[@]}"; do
	[ -x "$BUILD/fuzz_$h" ] || continue
	replay "$h"
	run "$h"
done
done_testing
