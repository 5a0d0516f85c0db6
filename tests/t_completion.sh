#!/usr/bin/env bash
# t_completion.sh: the bash completion (completion/vmrun), called the way
# bash calls it (COMP_WORDS, COMP_CWORD) against a host root with running
# VMs, journals and service profiles; and kept in step with main.c.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

ROOT=$TMP/root
mkdir -p "$ROOT/run/vmrun/claims" "$ROOT/etc/vmrun" "$TMP/work/sub" \
	"$ROOT/sys/bus/pci/devices/0000:01:00.0" \
	"$ROOT/sys/bus/pci/devices/0000:01:00.1" \
	"$ROOT/sys/bus/pci/devices/0000:05:00.0"
echo 0x030000 >"$ROOT/sys/bus/pci/devices/0000:01:00.0/class"
echo 0x040300 >"$ROOT/sys/bus/pci/devices/0000:01:00.1/class"
echo 0x030200 >"$ROOT/sys/bus/pci/devices/0000:05:00.0/class"
# win11 runs (socket + journal); crashed left only a journal.
# win11's swtpm has its socket there too (NAME.swtpm.sock): not a VM
for s in win11.sock win11.swtpm.sock; do
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$ROOT/run/vmrun/$s"
done
touch "$ROOT/run/vmrun/win11.json" "$ROOT/run/vmrun/win11.lock" \
	"$ROOT/run/vmrun/crashed.json" "$ROOT/etc/vmrun/gaming.ini" \
	"$ROOT/etc/vmrun/work.ini" "$ROOT/etc/vmrun/notes.txt" \
	"$TMP/work/a.ini" "$TMP/work/b.txt" "$TMP/work/sub/c.ini" \
	"$TMP/work/win10.xml"

# comp WORD...: what completing the last word offers, sorted, one line.
comp() {
	(
		cd "$TMP/work" || exit 1
		# shellcheck source=../completion/vmrun
		. "$TOP/completion/vmrun"
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		_vmrun
		printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' '
	)
}

check "the file is bash" bash -n completion/vmrun
check "it registers _vmrun for vmrun" \
	bash -c ". completion/vmrun && complete -p vmrun | grep -q _vmrun"

export VMRUN_ROOT=$ROOT
expect_eq "a command or a profile" \
	"a.ini capture cont devices doctor import install-desktop new prepare restore status stop sub" \
	"$(comp vmrun '')"
expect_eq "commands by prefix" "status stop" "$(comp vmrun st)"
expect_eq "stop: running VMs (sockets)" "win11" "$(comp vmrun stop '')"
expect_eq "status: running VMs" "win11" "$(comp vmrun -q status w)"
expect_eq "cont: running VMs" "win11" "$(comp vmrun cont '')"
expect_eq "restore: VMs with a journal" "crashed win11" \
	"$(comp vmrun restore '')"
expect_eq "install-desktop: profiles in /etc/vmrun" "gaming work" \
	"$(comp vmrun install-desktop '')"
expect_eq "--dry-run: *.ini files and folders" "a.ini sub" \
	"$(comp vmrun --dry-run '')"
expect_eq "prepare: into a folder" "sub/c.ini" \
	"$(comp vmrun prepare sub/)"
expect_eq "doctor: a profile" "a.ini sub" "$(comp vmrun doctor '')"
expect_eq "stop takes one NAME" "" "$(comp vmrun stop win11 '')"
expect_eq "stop options" "--force" "$(comp vmrun stop --f)"
expect_eq "devices options" "--json" "$(comp vmrun devices -)"
expect_eq "devices takes no argument" "" "$(comp vmrun devices '')"
expect_eq "capture: a file to write" "a.ini b.txt sub win10.xml" \
	"$(comp vmrun capture '')"
expect_eq "--root: folders" "sub" "$(comp vmrun --root '')"
expect_eq "new options" "--gpu --looking-glass --memory --out --vcpus" \
	"$(comp vmrun new win11 -)"
expect_eq "new --gpu: the host's GPUs" "0000:01:00.0 0000:05:00.0" \
	"$(comp vmrun new win11 --gpu '')"
expect_eq "new takes a NAME, nothing to offer" "" "$(comp vmrun new '')"
expect_eq "import: *.xml files and folders" "sub win10.xml" \
	"$(comp vmrun import '')"
expect_eq "import options" "--out" "$(comp vmrun import win10.xml -)"
expect_eq "--out: files" "a.ini b.txt sub win10.xml" \
	"$(comp vmrun import win10.xml --out '')"
unset VMRUN_ROOT
expect_eq "--root on the line is the host root" "win11" \
	"$(comp vmrun --root "$ROOT" stop '')"
expect_eq "--root=DIR too" "crashed win11" \
	"$(comp vmrun --root="$ROOT" restore '')"
expect_eq "no VMs on a host without /run/vmrun" "" \
	"$(comp vmrun --root "$TMP/work" stop '')"

# In step with main.c: its commands and long options are all offered.
cmds=$(sed -n 's/^[[:space:]]*{"\([a-z][a-z-]*\)", cmd_[a-z_]*, ARG_.*/\1/p' \
	launcher/cmd/main.c)
check "main.c's command table is readable" test -n "$cmds"
offered=" $(comp vmrun '') "
for c in $cmds; do
	check "command $c is offered" grep -qF " $c " <<<"$offered"
done
opts=$(sed -n 's/^[[:space:]]*{"\([a-z-]*\)", [a-z_]*argument.*/\1/p' \
	launcher/cmd/main.c)
offered=" $(comp vmrun -) $(comp vmrun stop -) $(comp vmrun devices -) "
offered+=" $(comp vmrun new x -) $(comp vmrun import x -) "
for o in $opts; do
	check "option --$o is offered" grep -qF -- " --$o " <<<"$offered"
done
done_testing
