# tests/fakerun.sh: what the suites that run whole VMs on a fake host with
# tests/fakeqemu as QEMU share (t_run_fake, t_run_end, t_two_vms). Sourced
# after lib.sh; the suite sets ROOT (the fake host acted on) and BASE (the
# fake host built from the fixture, copied afresh for each case).

FAKEQEMU=$TOP/tests/fakeqemu
PIDS=() # vmrun and fakeqemu processes the suite started

# kill_fakeqemu PATTERN: the suite's own processes, and any fakeqemu whose
# guest name matches PATTERN (one whose vmrun died ends by PDEATHSIG; make
# sure)
kill_fakeqemu() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in $(pgrep -f -- "$FAKEQEMU -name guest=$1," || true); do
		kill -9 "$p" 2>/dev/null
	done
}

# build_fakehost FIXTURE: the fake host $BASE from the fixture, or the
# suite ends here with the reason
build_fakehost() {
	if ! "$FAKEHOST" build "$FIXTURES/$1.host" "$BASE" \
		>"$TMP/build.log" 2>&1; then
		not_ok "build the $1 fake host"
		sed 's/^/#   /' "$TMP/build.log"
		done_testing
		exit
	fi
}

# fresh: a new fake host from $BASE, and its snapshot in $TMP/before
fresh() {
	rm -rf "$ROOT"
	cp -a "$BASE" "$ROOT"
	snap >"$TMP/before"
}

# running LOG: vmrun says the guest $NAME runs; QPID is QEMU's pid
running() {
	QPID=$(sed -n "s/.*VM '$NAME' is running (QEMU pid \([0-9]*\)).*/\1/p" \
		"$1" 2>/dev/null)
	[ -n "$QPID" ]
}

# wait_running CASE LOG: up to 30 s for the guest to run (LOG shown if not)
wait_running() {
	if wait_until 30 running "$2"; then
		PIDS+=("$QPID")
		ok "$1: the guest runs"
		return 0
	fi
	not_ok "$1: the guest runs"
	sed 's/^/#   /' "$2"
	return 1
}

# fake_vm FILE NAME MEMORY STATE-DIR [CPU-LINES [SECTIONS]]: a VM on
# tests/fakeqemu with one core and no network, plus the lines in [cpu] and
# the sections given
fake_vm() {
	cat >"$1" <<EOI
[vm]
name = $2
memory = $3
qemu = $FAKEQEMU
state-dir = $4
shutdown-timeout = 2

[cpu]
cores = 1
${5:-}

[net.lan]
mode = none

${6:-}
EOI
}

# The GPU of the b550-gtx1060 fixture and its audio function, with the
# guest's RAM on 2 MiB hugepages
FAKE_GPU="[memory]
hugepages = 2M

[pci.gpu]
host = 08:00.0
multifunction = yes

[pci.gpu-audio]
host = 08:00.1"

# profile_with TEXT: $TMP/vm.ini is the suite's VM ($TMP/base.ini) plus
# more sections
profile_with() {
	{
		cat "$TMP/base.ini"
		printf '\n%s\n' "$1"
	} >"$TMP/vm.ini"
}
