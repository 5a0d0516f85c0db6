#!/usr/bin/env bash
# t_docs.sh: the man pages. vmrun.ini(5) must show every key of the parser's
# schema with its values and default; vmrun(1) every command, option and
# exit status of the binary; both must render without a groff warning.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

MAN1=build/man/vmrun.1
MAN5=build/man/vmrun.ini.5
GEN=build/gen-profile-doc

check "make man builds both pages" make -s man
for f in "$MAN1" "$MAN5"; do
	check "$f is there" test -s "$f"
done

# render FILE: plain text, wide enough that no entry wraps
render() {
	groff -man -Tutf8 -rLL=300n -P-cbou "$1"
}

for f in "$MAN1" "$MAN5"; do
	out=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$f" 2>&1)
	expect_eq "groff -ww renders $f without a warning" "" "$out"
	for width in 60 80; do
		if ! command -v man >/dev/null; then
			skip "man -l $f at $width columns" "man-db is not installed"
			continue
		fi
		out=$(MANWIDTH=$width man --warnings=w -l "$f" 2>&1 >/dev/null)
		expect_eq "man -l renders $f at $width columns cleanly" "" "$out"
	done
	check "$f has no unfilled @...@" \
		bash -c "! grep -n '@[A-Z_]*@' '$f'"
done

# Every key of profile_schema_doc(), as the reader sees it on the page:
# the section heading it is under, its Values:, Default: or Required., and
# Repeatable. The generator's --keys prints the table straight from
# profile_schema_doc(), not through the roff writer.
"$GEN" --keys >"$TMP/schema.tsv"
render "$MAN5" >"$TMP/ini.txt"
nkeys=$(wc -l <"$TMP/schema.tsv")
check "the schema has keys ($nkeys)" test "$nkeys" -gt 90
python3 - "$TMP/schema.tsv" "$TMP/ini.txt" >"$TMP/keys.out" <<'EOF'
import re, sys

def dot(s):
    return s if s.endswith(".") else s + "."

want = {}
for line in open(sys.argv[1]):
    sec, key, values, default, req, rep = line.rstrip("\n").split("\t")
    want[(sec, key)] = (dot(values),
                        "Required." if req == "1" else "Default: " +
                        dot(default or "none"), rep == "1")

text = open(sys.argv[2]).read()
body = "\n" + text.split("\nSECTIONS AND KEYS\n")[1].split("\nEXAMPLE\n")[0]
got = {}
for block in re.split(r"\n   \[", body)[1:]:
    head, rest = block.split("\n", 1)
    sec = head.rstrip("]")
    paras = [p for p in rest.split("\n\n") if p.strip()][1:]  # blurb first
    for p in paras:
        lines = p.split("\n")
        m = re.match(r"^ {7}(\S+)(?: +(.*))?$", lines[0])
        if not m:
            print("not ok - unparsed entry in [%s]: %r" % (sec, lines[0]))
            continue
        fields = [l.strip() for l in lines[1:]]
        if m.group(2):
            fields.insert(0, m.group(2))
        values = next((f[len("Values: "):] for f in fields
                       if f.startswith("Values: ")), None)
        default = next((f for f in fields
                        if f.startswith("Default: ") or f == "Required."),
                       None)
        rep = any(f.startswith("Repeatable:") for f in fields)
        got[(sec, m.group(1))] = (values, default, rep)

n = 0
for k in sorted(set(want) | set(got)):
    n += 1
    name = "[%s] %s" % k
    if k not in got:
        print("not ok %d - %s is on the page" % (n, name))
    elif k not in want:
        print("not ok %d - %s on the page is a key the parser knows" % (n, name))
    elif got[k] != want[k]:
        print("not ok %d - %s as documented\n#   want: %s\n#   got:  %s" %
              (n, name, want[k], got[k]))
    else:
        print("ok %d - %s" % (n, name))
EOF
bad=$(grep -c '^not ok' "$TMP/keys.out")
good=$(grep -c '^ok' "$TMP/keys.out")
grep '^not ok\|^#' "$TMP/keys.out"
expect_eq "every schema key on vmrun.ini(5) with its values and default" \
	"$nkeys 0" "$good $bad"
check "section headings in vmrun.ini(5) (e.g. [pci.NAME])" \
	grep -q '^   \[pci.NAME\]$' "$TMP/ini.txt"
check "the looking-glass auto size rule is explained" \
	grep -q 'rounded up to a power of two' "$TMP/ini.txt"

# A section the generator has no words for fails the build.
check "gen-profile-doc refuses a template without @KEYS@" \
	bash -c "! '$GEN' /dev/null 1 >/dev/null 2>&1"

# vmrun(1) against main.c: commands of its table, long options, and the
# exit codes of enum vm_exit.
render "$MAN1" >"$TMP/vmrun.txt"
cmds=$(sed -n 's/^[[:space:]]*{"\([a-z-]*\)", cmd_[a-z_]*, ARG_.*/\1/p' launcher/cmd/main.c)
check "main.c's command table is readable" test -n "$cmds"
for c in $cmds; do
	check "vmrun(1) synopsis has 'vmrun $c'" \
		grep -qE "^       vmrun $c( |$)" "$TMP/vmrun.txt"
	check "vmrun(1) describes $c" \
		grep -qE "^       $c( |$)" "$TMP/vmrun.txt"
done
opts=$(sed -n 's/^[[:space:]]*{"\([a-z-]*\)", [a-z_]*argument.*/\1/p' \
	launcher/cmd/main.c)
check "main.c's option table is readable" test -n "$opts"
for o in $opts; do
	check "vmrun(1) mentions --$o" grep -q -- "--$o\b" "$TMP/vmrun.txt"
done
exits=$(sed -n 's/^[[:space:]]*VM_EXIT_[A-Z]* = \([0-9]*\),.*/\1/p' \
	launcher/run/run.h)
check "run.h's exit codes are readable" test -n "$exits"
status=$(sed -n '/^EXIT STATUS/,/^ENVIRONMENT/p' "$TMP/vmrun.txt")
for e in $exits; do
	check "vmrun(1) EXIT STATUS explains $e" \
		grep -qE "^       $e( |$)" <<<"$status"
done
for f in /run/vmrun/NAME.json /run/vmrun/NAME.lock /run/vmrun/NAME.sock \
	/run/vmrun/claims/ /etc/vmrun/NAME.ini VMRUN_ROOT; do
	check "vmrun(1) documents $f" grep -qF "$f" "$TMP/vmrun.txt"
done
done_testing
