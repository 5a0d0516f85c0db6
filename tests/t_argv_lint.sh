#!/usr/bin/env bash
# Argv lint: every -device, -object, -blockdev and -netdev vmrun emits must
# name a driver and properties the installed QEMU has. Sources: the golden
# argv files, the unit tests' argvs (VMRUN_ARGV_DUMP) and --print-argv of
# the golden profiles. QEMU's answers are cached per QEMU version.
. "$(dirname "$0")/lib.sh"
QEMU=${VMRUN_QEMU:-qemu-system-x86_64}
if ! command -v "$QEMU" >/dev/null 2>&1; then
	skip "argv lint" "no $QEMU installed"
	done_testing
	exit
fi
version=$("$QEMU" --version | head -n 1 | tr -c 'A-Za-z0-9.\n' '_')
CACHE=${VMRUN_LINT_CACHE:-$TOP/build/qemu-lint-cache}/$version
mkdir -p "$CACHE"

# 1. Collect argvs, one argument a line, a blank line between them.
ALL=$TMP/all.argv
: >"$ALL"
for f in "$TOP"/tests/golden/*.argv; do
	[ -f "$f" ] && { cat "$f"; echo; } >>"$ALL"
done
UNIT=$TOP/build/san/tests/test_qemu_argv
if [ -x "$UNIT" ]; then
	VMRUN_ARGV_DUMP=$ALL "$UNIT" >"$TMP/unit.log" 2>&1 ||
		not_ok "unit tests for the argv dump failed (see test_qemu_argv)"
fi
if [ -x "$VMRUN" ]; then
	for ini in "$TOP"/tests/golden/*.ini; do
		[ -f "$ini" ] || continue
		fixture=$(sed -n '1s/^; fixture: *//p' "$ini")
		fx=$FIXTURES/$fixture.host
		root=$TMP/root-$fixture
		[ -d "$root" ] || "$FAKEHOST" build "$fx" "$root" >/dev/null 2>&1 ||
			continue
		# Profiles the planner refuses here are the golden suite's
		# business; the lint checks what vmrun does emit. --trust as
		# in t_golden.sh: they name host paths whose owners vary.
		"$VMRUN" --trust --root "$root" --print-argv "$ini" \
			>"$TMP/one" 2>/dev/null &&
			{ cat "$TMP/one"; echo; } >>"$ALL"
	done
fi
check "argvs to lint were found" test -s "$ALL"

# 2. Ask QEMU once for its QMP schema (blockdev, netdev, object types).
SCHEMA=$CACHE/schema.json
if [ ! -s "$SCHEMA" ]; then
	printf '%s\n' '{"execute":"qmp_capabilities"}' \
		'{"execute":"query-qmp-schema"}' '{"execute":"quit"}' |
		timeout 30 "$QEMU" -machine none -nodefaults -display none \
			-qmp stdio 2>/dev/null >"$TMP/qmp.out"
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line) if line.strip() else {}
    if isinstance(m.get("return"), list):
        json.dump(m["return"], open(sys.argv[2], "w"))
' "$TMP/qmp.out" "$SCHEMA"
fi
check "QEMU answered query-qmp-schema" test -s "$SCHEMA"

# 3. Check each option value; -device properties come from DRIVER,help
# (cached), the rest from the schema.
LINT=$TMP/lint.py
cat >"$LINT" <<'EOF'
import json, os, re, subprocess, sys

argv_file, schema_file, cache, qemu = sys.argv[1:5]
schema = {e["name"]: e for e in json.load(open(schema_file))}


def arg_type(cmd):
    return schema[schema[cmd]["arg-type"]]


def keys_of(t, value, path, errs):
    """Check dict value against schema object type t, recursively."""
    t = schema.get(t, {}) if isinstance(t, str) else t
    if t.get("meta-type") == "alternate":
        for alt in t["members"]:
            sub = schema.get(alt["type"], {})
            if isinstance(value, dict) and sub.get("meta-type") == "object":
                return keys_of(sub, value, path, errs)
        return
    if t.get("meta-type") != "object" or not isinstance(value, dict):
        return
    members = {m["name"]: m["type"] for m in t.get("members", [])}
    tag = t.get("tag")
    if tag and tag in value:
        cases = {v["case"]: v["type"] for v in t.get("variants", [])}
        if value[tag] not in cases:
            errs.append("%s%s=%s is unknown to this QEMU" % (path, tag, value[tag]))
            return
        for m in schema.get(cases[value[tag]], {}).get("members", []):
            members[m["name"]] = m["type"]
    for k, v in value.items():
        if k not in members:
            errs.append("%s%s is not a property" % (path, k))
        else:
            keys_of(members[k], v, path + k + ".", errs)


def device_props(driver):
    f = os.path.join(cache, "device-" + re.sub(r"[^A-Za-z0-9_.-]", "_", driver))
    if not os.path.exists(f):
        out = subprocess.run([qemu, "-machine", "q35", "-nodefaults",
                              "-device", driver + ",help"],
                             capture_output=True, text=True)
        with open(f, "w") as fh:
            fh.write("rc=%d\n" % out.returncode + out.stdout + out.stderr)
    text = open(f).read()
    # QEMU exits 0 even for an unknown driver; its options header is the
    # sign that it knows it.
    if not text.startswith("rc=0") or (driver + " options:") not in text:
        return None
    return set(re.findall(r"^  ([A-Za-z0-9_.-]+)=", text, re.M))


def keyval(opt, s):
    """QEMU's KEY=VALUE,... syntax (",," is a comma); the first bare
    word is the driver or type."""
    parts, cur, i = [], "", 0
    while i < len(s):
        if s[i] == ",":
            if s[i + 1:i + 2] == ",":
                cur, i = cur + ",", i + 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += s[i]
        i += 1
    parts.append(cur)
    implied = {"-device": "driver", "-object": "qom-type",
               "-netdev": "type", "-blockdev": "driver"}[opt]
    out = {}
    for n, p in enumerate(parts):
        k, eq, v = p.partition("=")
        if not eq and n == 0:
            out[implied] = k
        else:
            out[k] = v
    return out


generic = {m["name"] for m in arg_type("device_add")["members"]}
seen, results = set(), []
args = [l.rstrip("\n") for l in open(argv_file)]
for i, opt in enumerate(args[:-1]):
    if opt not in ("-device", "-object", "-blockdev", "-netdev"):
        continue
    try:
        value = json.loads(args[i + 1])
    except ValueError:
        value = keyval(opt, args[i + 1])
    if not isinstance(value, dict):
        results.append((False, "%s %s" % (opt, args[i + 1]), ["not an object"]))
        continue
    key = opt + " " + json.dumps(value, sort_keys=True)
    if key in seen:
        continue
    seen.add(key)
    errs = []
    if opt == "-device":
        props = device_props(value.get("driver", ""))
        if props is None:
            errs.append("no device driver %s" % value.get("driver"))
        else:
            errs += ["%s is not a property" % k for k in value
                     if k not in props and k not in generic]
        name = "-device " + value.get("driver", "?")
    else:
        cmd = {"-object": "object-add", "-blockdev": "blockdev-add",
               "-netdev": "netdev_add"}[opt]
        keys_of(arg_type(cmd), value, "", errs)
        name = opt + " " + str(value.get("qom-type", value.get(
            "driver", value.get("type", "?"))))
    results.append((not errs, "%s %s" % (name, ",".join(sorted(value))), errs))

for good, name, errs in results:
    print("%s %s" % ("ok" if good else "not ok", name))
    for e in errs:
        print("#   " + e)
EOF
python3 "$LINT" "$ALL" "$SCHEMA" "$CACHE" "$QEMU" >"$TMP/lint.tap"
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok "${line#ok }" ;;
	"not ok "*) not_ok "${line#not ok }" ;;
	*) echo "$line" ;;
	esac
done <"$TMP/lint.tap"
check "every option value was checked" test -s "$TMP/lint.tap"

# The lint itself: made-up properties, nested or not, must be caught.
printf '%s\n' -device '{"driver":"vfio-pci","host":"0000:01:00.0","x-bogus":1}' \
	-blockdev '{"driver":"file","filename":"/x","node-name":"a","cache":{"direct":true,"bogus":1}}' \
	-object '{"qom-type":"memory-backend-ram","id":"m","size":1,"bogus":1}' \
	-netdev '{"type":"tap","id":"n","bogus":"x"}' \
	-device 'no-such-device,id=x' -device 'VGA,vgamem_mb=16,bogus=1' \
	>"$TMP/bad.argv"
python3 "$LINT" "$TMP/bad.argv" "$SCHEMA" "$CACHE" "$QEMU" >"$TMP/bad.tap"
expect_eq "the lint rejects made-up drivers and properties" \
	"6 not ok, 0 ok" \
	"$(grep -c '^not ok' "$TMP/bad.tap") not ok, $(grep -c '^ok' "$TMP/bad.tap") ok"
expect_eq "the lint names each bad property" \
	"x-bogus cache.bogus bogus bogus no-such-device bogus" \
	"$(sed -n 's/^#   \(no device driver \)\{0,1\}\([^ ]*\).*/\2/p' "$TMP/bad.tap" | tr '\n' ' ' | sed 's/ $//')"
done_testing
