#!/usr/bin/env bash
# t_profile_limits.sh: profile values past their limits, through the vmrun
# binary (the sanitizer build): a size past 2^64 bytes is too large, never
# "too small"; thousands of [pci.*] sections are refused in a moment.
. "$(dirname "$0")/lib.sh"

# dry PROFILE: vmrun --dry-run's messages (the profile is read first)
dry() {
	timeout 60 "$VMRUN" --dry-run "$1" 2>&1
}

printf '[vm]\nname = x\nmemory = 99999999T\n' >"$TMP/huge.ini"
expect_eq "memory = 99999999T is too large" \
	"vmrun: $TMP/huge.ini:3: [vm] memory: 99999999T is too large; the maximum is 16T" \
	"$(dry "$TMP/huge.ini")"

python3 - "$TMP/many.ini" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("[vm]\nname = x\nmemory = 1G\n")
    for i in range(10000):
        f.write("[pci.g%d]\nhost = 01:00.0\n" % i)
PY
t0=$SECONDS
out=$(dry "$TMP/many.ini")
rc=$?
expect_eq "10000 [pci.*] sections: refused (exit 1)" 1 $rc
check "10000 [pci.*] sections: in less than 10 s" \
	test $((SECONDS - t0)) -lt 10
expect_eq "10000 [pci.*] sections: the limit is the first error" \
	"vmrun: $TMP/many.ini:132: [pci.g64]: a profile holds at most 64 [pci.*] sections" \
	"$(head -n 1 <<<"$out")"

done_testing
