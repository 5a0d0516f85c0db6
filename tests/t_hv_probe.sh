#!/usr/bin/env bash
# t_hv_probe.sh: QEMU's own answer on the Hyper-V enlightenments KVM offers
# (launcher/host/hv_probe.c). A QEMU stand-in plays the cloud host's QEMU
# 7.2, which aborts on hv-vapic and hv-time and refuses hv-vpindex though
# KVM_GET_SUPPORTED_HV_CPUID offers them: doctor and --dry-run name them
# with QEMU's reason, -cpu leaves them out (or the start is refused), the
# verdict is cached. Then the real QEMU on this machine, when it can run.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/root
CACHE=/var/cache/vmrun

# Root's cache entries of the binaries under $TMP go with it.
drop_cache() {
	local f
	for f in "$CACHE"/qemu-*; do
		[ -f "$f" ] || continue
		case "$(head -n 1 "$f")" in
		"$TMP"/*) rm -f "$f" ;;
		esac
	done
}
trap 'drop_cache; rm -rf "$TMP"' EXIT

# b550-gtx1060: a KVM that offers every enlightenment
"$FAKEHOST" build "$FIXTURES/b550-gtx1060.host" "$ROOT" >"$TMP/build.log" 2>&1 ||
	{ not_ok "fakehost build"; done_testing; exit 1; }

mkdir -p "$TMP/bin"
QEMU=$TMP/bin/qemu-system-x86_64
cat >"$QEMU" <<'EOF'
#!/bin/sh
# QEMU 7.2 on a kernel whose KVM offers hv-vapic, hv-time and hv-vpindex,
# yet setting their MSRs fails (QEMU aborts) and VP_INDEX cannot be set;
# every call leaves its arguments in calls beside it. Its environment is
# vmrun's probe's: nothing of the test's.
ulimit -c 0
echo "$*" >>"$(dirname "$0")/calls"
case "$*" in
-version)
	echo "QEMU emulator version 7.2.0 (vmrun test stand-in)"
	exit 0 ;;
esac
cpu= prev=
for a in "$@"; do
	[ "$prev" = -cpu ] && cpu=$a
	prev=$a
done
# nohost: a nested host whose KVM refuses the IA32_ARCH_CAPABILITIES bits
# -cpu host and max copy, as QEMU 7.2 meets it; hanghost: those hang
case "$cpu" in
host | host,* | max | max,*)
	[ -e "$(dirname "$0")/hanghost" ] && exec sleep 30
	if [ -e "$(dirname "$0")/nohost" ]; then
		echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2
		echo "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion \`ret == cpu->kvm_msr_buf->nmsrs' failed." >&2
		kill -ABRT $$
	fi ;;
*)	echo "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]" >&2 ;;
esac
case ",$cpu," in
*,hv-vapic[=,]*)
	echo "qemu-system-x86_64: error: failed to set MSR 0x40000073 to 0x0" >&2
	echo "qemu-system-x86_64: ../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion failed." >&2
	kill -ABRT $$ ;;
*,hv-time[=,]*)
	echo "qemu-system-x86_64: error: failed to set MSR 0x40000021 to 0x0" >&2
	kill -ABRT $$ ;;
*,hv-vpindex[=,]*)
	echo "qemu-system-x86_64: kernel doesn't allow setting HyperV VP_INDEX" >&2
	exit 1 ;;
*,hv-relaxed[=,]*)
	[ -e "$(dirname "$0")/hang" ] && exec sleep 30 ;;
esac
# the greeting comes before the vCPU is set up; the answer after
printf '{"QMP": {"version": {"qemu": {"major": 7, "minor": 2}}}}\n' >&3
read -r line <&3
case "$line" in
*qmp_capabilities*) printf '{"return": {}}\n' >&3 ;;
esac
read -r line <&3
EOF
chmod 755 "$QEMU"
export PATH="$TMP/bin:$PATH"

profile() {
	local f=$TMP/$1.ini
	shift
	{
		printf '[vm]\nname = %s\nmemory = 2G\n' "$(basename "$f" .ini)"
		printf '[firmware]\ntype = seabios\n'
		printf '%b\n' "$@"
	} >"$f"
	echo "$f"
}

# runs: how many times vmrun ran the stand-in with -accel kvm
runs() {
	grep -c -- '-accel kvm' "$TMP/bin/calls" 2>/dev/null
}

# has_line NAME LINE FILE: FILE has exactly LINE (what it has otherwise)
has_line() {
	if grep -qxF -- "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   want line: %s\n' "$2"
		sed 's/^/#   got: /' "$3"
	fi
}

not_grep_warning() {
	! grep -q '^# warning' "$1"
}

cpu_of() {
	vm --print-argv "$1" 2>/dev/null | grep -A1 '^-cpu$' | tail -n 1
}

# --- the default list ------------------------------------------------------
: >"$TMP/bin/calls"
p=$(profile hv)
vm --dry-run "$p" >"$TMP/out" 2>&1
expect_eq "a default profile plans" 0 $?
WHY="QEMU 7.2 on this kernel aborts with hv-vapic: failed to set MSR 0x40000073 to 0x0; fails with hv-vpindex: kernel doesn't allow setting HyperV VP_INDEX; aborts with hv-time: failed to set MSR 0x40000021 to 0x0"
has_line "  ... the warning names what QEMU refuses, with QEMU's reason" \
	 "# warning: $WHY: the Hyper-V enlightenments vapic,vpindex,time are left out (and synic,stimer,tlbflush, which need them)" \
	"$TMP/out"
expect_eq "  ... QEMU ran with all, with -cpu host alone, then each that needs nothing" \
	10 "$(runs)"
expect_eq "  ... -cpu leaves them out" \
	"host,hv-relaxed=on,hv-spinlocks=8191,hv-runtime=on,hv-reset=on,hv-frequencies=on" \
	"$(cpu_of "$p")"
expect_eq "  ... the second call takes the verdict from the cache" \
	10 "$(runs)"
check "  ... the probe was -machine q35 -accel kvm -cpu host,... -S with QMP on fd 3" \
	grep -qxF -- "-machine q35 -accel kvm -cpu host,hv-relaxed=on,hv-vapic=on,hv-spinlocks=8191,hv-vpindex=on,hv-runtime=on,hv-synic=on,hv-stimer=on,hv-reset=on,hv-frequencies=on,hv-tlbflush=on,hv-time=on -m 16 -smp 1 -S -nodefaults -display none -no-user-config -chardev socket,id=qmp,fd=3 -mon chardev=qmp,mode=control" \
	"$TMP/bin/calls"

vm doctor "$p" >"$TMP/doc" 2>&1
has_line "doctor names them with QEMU's reason" \
	"warn  Hyper-V: $WHY; so a run leaves them out (unsupported = drop)" \
	"$TMP/doc"
vm doctor >"$TMP/doc" 2>&1
check "doctor without a profile: of the default list" grep -qxF \
	"warn  Hyper-V: $WHY; so vmrun leaves them out of a profile that asks for them, with a warning" \
	"$TMP/doc"
expect_eq "  ... doctor asked no QEMU again (the same list, cached)" \
	10 "$(runs)"

# --- unsupported = refuse ----------------------------------------------------
p=$(profile hvr '[hyperv]\nenlightenments = relaxed,vapic,spinlocks=8191\nunsupported = refuse')
if vm --dry-run "$p" >"$TMP/out" 2>"$TMP/err"; then
	not_ok "unsupported = refuse: the start is refused (the dry run went ahead)"
else
	expect_eq "unsupported = refuse: the start is refused, at the line" \
		"vmrun: $p:7: [hyperv] enlightenments asks for vapic, which QEMU cannot start a vCPU with here (QEMU 7.2 on this kernel aborts with hv-vapic: failed to set MSR 0x40000073 to 0x0). Remove them, or set [hyperv] unsupported = drop to leave them out with a warning" \
		"$(cat "$TMP/err")"
fi
vm doctor "$p" >"$TMP/doc" 2>&1
check "  ... and doctor fails it" grep -qxF \
	"FAIL  Hyper-V: QEMU 7.2 on this kernel aborts with hv-vapic: failed to set MSR 0x40000073 to 0x0; so with unsupported = refuse the start is refused" \
	"$TMP/doc"
expect_eq "  ... another list is another question: asked once" 15 "$(runs)"

# --- what KVM lacks is not asked of QEMU ---------------------------------------
"$FAKEHOST" build "$FIXTURES/cloud-h200.host" "$TMP/cloud" >"$TMP/build.log" 2>&1
p=$(profile hvk '[hyperv]\nenlightenments = relaxed,vapic,time,runtime')
: >"$TMP/bin/calls"
"$FAKEHOST" run "$TMP/cloud" -- "$VMRUN" --dry-run "$p" >"$TMP/out" 2>&1
check "KVM lacks vapic and time: left out for KVM, with KVM's warning" \
	grep -qxF "# warning: this host's KVM does not offer the Hyper-V enlightenments vapic,time: left out" \
	"$TMP/out"
check "  ... and QEMU is asked only of relaxed and runtime" grep -qxF -- \
	"-machine q35 -accel kvm -cpu host,hv-relaxed=on,hv-runtime=on -m 16 -smp 1 -S -nodefaults -display none -no-user-config -chardev socket,id=qmp,fd=3 -mon chardev=qmp,mode=control" \
	"$TMP/bin/calls"

# --- the cache follows the binary; a hang is not cached ------------------------
: >"$TMP/bin/calls"
p=$(profile hvt '[hyperv]\nenlightenments = relaxed,runtime')
vm --dry-run "$p" >/dev/null 2>&1
touch -d '2001-01-01' "$QEMU"
vm --dry-run "$p" >/dev/null 2>&1
expect_eq "a changed binary is asked again" 2 "$(runs)"
touch "$TMP/bin/hang"
touch -d '2002-01-01' "$QEMU"
VMRUN_QEMU_PROBE_TIMEOUT_MS=400 vm --dry-run "$p" >"$TMP/out" 2>&1
check "a QEMU that hangs with hv-relaxed: left out, with how long it waited" \
	grep -qxF "# warning: QEMU 7.2 on this kernel hangs with hv-relaxed: no QMP answer within 400 ms: the Hyper-V enlightenments relaxed are left out" \
	"$TMP/out"
rm "$TMP/bin/hang"
vm --dry-run "$p" >"$TMP/out" 2>&1
check "  ... not cached: asked again, and it starts now" \
	not_grep_warning "$TMP/out"
expect_eq "  ... QEMU runs: 1, 1, 4 (all, host, relaxed, runtime), 1" \
	7 "$(runs)"

# --- a nested host: QEMU cannot start a vCPU of -cpu host at all ----------------
# (the stand-in aborts on IA32_ARCH_CAPABILITIES for host and max; a named
# model starts)
touch "$TMP/bin/nohost"
touch -d '2003-01-01' "$QEMU"
: >"$TMP/bin/calls"
p=$(profile vc '[cpu]\nmodel = host\n[hyperv]\nenlightenments = none')
# novcpu MODEL: what vmrun says of a model the stand-in aborts on
novcpu() {
	echo "QEMU 7.2 cannot start a vCPU of CPU model $1 on this host's KVM (it aborts with -cpu $1: failed to set MSR 0x10a to 0x69)"
}
FIX="set [cpu] model to a named model (EPYC starts here; \`$QEMU -cpu help\` lists them), or [vm] accel = tcg (slow)"
vm doctor "$p" >"$TMP/doc" 2>&1
expect_eq "doctor exits 1" 1 $?
has_line "doctor FAILs the vCPU check at the [cpu] model line, with QEMU's message" \
	"FAIL  vCPU: $p:7: [cpu] model = host: $(novcpu host)" "$TMP/doc"
# the fix, its wrapping undone
expect_eq "  ... and says what to set instead" "fix: $FIX" \
	"$(sed -n '/^FAIL  vCPU:/,/^[a-zA-Z-]/{/^      /p}' "$TMP/doc" |
		sed 's/^ *//' | tr '\n' ' ' | sed 's/ $//')"
check "  ... and the profile cannot start" \
	grep -q ' failed: the profile cannot start$' "$TMP/doc"
check "  ... the probe ran with enlightenments = none: -cpu host alone" \
	grep -qxF -- "-machine q35 -accel kvm -cpu host -m 16 -smp 1 -S -nodefaults -display none -no-user-config -chardev socket,id=qmp,fd=3 -mon chardev=qmp,mode=control" \
	"$TMP/bin/calls"
expect_eq "  ... QEMU ran twice: -cpu host, then EPYC for the fix" 2 "$(runs)"

# vcpu_refused MODE MODEL: `vmrun MODE $p` (a start, prepare, --dry-run)
# fails with exit status 1 and the vCPU message for MODEL at line 7, QEMU is
# not started for the guest, and the fake host is as before
vcpu_refused() {
	local n
	n=$(wc -l <"$TMP/bin/calls")
	snap >"$TMP/before"
	vm $1 "$p" >"$TMP/out" 2>"$TMP/err"
	expect_eq "${1:-a start} of model = $2: refused with exit status 1" 1 $?
	expect_eq "  ... at the [cpu] model line, with the fix" \
		"vmrun: $p:7: [cpu] model = $2: $(novcpu "$2"); $FIX" \
		"$(cat "$TMP/err")"
	same_snapshot "  ... the fake host is unchanged" "$TMP/before"
	tail -n +$((n + 1)) "$TMP/bin/calls" >"$TMP/calls.new"
	check "  ... and QEMU was never started for the guest" \
		not_grep -v -e '^-machine q35 -accel kvm -cpu ' -e '^-version$' \
		"$TMP/calls.new"
}
vcpu_refused --dry-run host
vcpu_refused "" host
vcpu_refused prepare host
expect_eq "  ... the cache answered them all: no more QEMU runs" 2 "$(runs)"

p=$(profile vcm '[cpu]\nmodel = max')
vcpu_refused --dry-run max
check "  ... the default list was asked with -cpu max" grep -q -- \
	"-accel kvm -cpu max,hv-relaxed=on,hv-vapic=on," "$TMP/bin/calls"
check "  ... then max alone" grep -qx -- \
	"-machine q35 -accel kvm -cpu max -m 16 .*" "$TMP/bin/calls"

p=$(profile vce '[cpu]\nmodel = EPYC\n[hyperv]\nenlightenments = none')
: >"$TMP/bin/calls"
vm doctor "$p" >"$TMP/doc" 2>&1
has_line "model = EPYC: doctor's vCPU check passes" \
	"ok    vCPU: QEMU starts a vCPU of [cpu] model = EPYC on KVM" "$TMP/doc"
check "  ... nothing FAILs" not_grep '^FAIL' "$TMP/doc"
expect_eq "  ... and -cpu is EPYC" EPYC "$(cpu_of "$p")"
expect_eq "  ... after one QEMU run (EPYC alone)" 1 "$(runs)"

# --- a hang of -cpu host is no refusal, and is not cached --------------------------
touch "$TMP/bin/hanghost"
touch -d '2004-01-01' "$QEMU"
: >"$TMP/bin/calls"
p=$(profile vc '[cpu]\nmodel = host\n[hyperv]\nenlightenments = none')
VMRUN_QEMU_PROBE_TIMEOUT_MS=400 vm --dry-run "$p" >"$TMP/out" 2>"$TMP/err"
expect_eq "-cpu host hangs: the start is not refused" 0 $?
VMRUN_QEMU_PROBE_TIMEOUT_MS=400 vm doctor "$p" >"$TMP/doc" 2>&1
check "  ... doctor blames nothing for it" not_grep 'vCPU' "$TMP/doc"
expect_eq "  ... not cached: asked each time, and only -cpu host" 2 "$(runs)"
rm "$TMP/bin/hanghost"
vm --dry-run "$p" >"$TMP/out" 2>"$TMP/err"
expect_eq "  ... once it answers (it aborts), the start is refused" 1 $?
expect_eq "  ... after -cpu host and EPYC" 4 "$(runs)"
rm "$TMP/bin/nohost"

# --- a QEMU that starts no model at all: the model is refused, none named ---------
printf '#!/bin/sh\necho "$*" >>"$(dirname "$0")/calls"\ncase "$1" in -version) echo "QEMU emulator version 7.2.0";; *) echo "qemu-system-x86_64: warning: host doesn'"'"'t support requested feature: CPUID.01H:ECX.pni [bit 0]" >&2; echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2; exit 1;; esac\n' >"$QEMU"
: >"$TMP/bin/calls"
p=$(profile hvn)
vm --dry-run "$p" >"$TMP/out" 2>"$TMP/err"
expect_eq "a QEMU failing with every model: refused" \
	"vmrun: $p: [cpu] model = host: QEMU 7.2 cannot start a vCPU of CPU model host on this host's KVM (it fails with -cpu host: failed to set MSR 0x10a to 0x69); set [cpu] model to a named model (\`$QEMU -cpu help\` lists them), or [vm] accel = tcg (slow)" \
	"$(cat "$TMP/err")"
expect_eq "  ... after four tries (all, -cpu host, EPYC, qemu64)" 4 "$(runs)"

# --- an untrusted QEMU is not run, not even for this ---------------------------------
: >"$TMP/bin/calls"
chmod 757 "$TMP/bin"
vm --dry-run "$p" >/dev/null 2>&1
chmod 755 "$TMP/bin"
expect_eq "a QEMU others can replace is never run" 0 "$(wc -l <"$TMP/bin/calls")"

# --- the real QEMU on this machine -----------------------------------------------------
# starts QEMU CPU: whether the real QEMU gets to answer QMP (its main loop
# runs, so the vCPU was set up) with -cpu CPU; its stderr in $TMP/qerr.
starts() {
	printf '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n' |
		timeout 30 "$1" -machine q35 -accel kvm -cpu "$2" -m 16 -smp 1 \
			-S -nodefaults -display none -no-user-config -qmp stdio \
			2>"$TMP/qerr" | grep -q '"return"'
}

# QEMU's first error line in $TMP/qerr, as vmrun quotes it
qemu_said() {
	sed -e 's/^[^ :]*qemu[^ :]*: //' -e 's/^error: //' "$TMP/qerr" |
		grep -v -m1 -e '^warning: ' -e '^$'
}

# real_vcpu Q P MODEL: doctor's vCPU check on profile P agrees with the real
# QEMU Q started here directly with -cpu MODEL
real_vcpu() {
	local q=$1 p=$2 model=$3 said
	"$VMRUN" doctor "$p" >"$TMP/doc" 2>&1
	if starts "$q" "$model"; then
		check "real QEMU starts -cpu $model here: doctor's vCPU check passes" \
			grep -qxF "ok    vCPU: QEMU starts a vCPU of [cpu] model = $model on KVM" \
			"$TMP/doc"
		check "  ... and FAILs no vCPU" not_grep '^FAIL  vCPU' "$TMP/doc"
		return 0
	fi
	said=$(qemu_said)
	check "real QEMU cannot start -cpu $model here ($said): doctor FAILs it with QEMU's message" \
		grep -qE "^FAIL  vCPU: $p(:[0-9]+)?: \\[cpu\\] model = $model: QEMU [0-9.]+ cannot start a vCPU of CPU model $model on this host's KVM \\(it [a-z ]+ with -cpu $model: $(printf '%s' "$said" | sed 's/[][\\.*^$()|+?{}]/\\&/g')\\)$" \
		"$TMP/doc"
	check "  ... and says the profile cannot start" \
		grep -q ' failed: the profile cannot start$' "$TMP/doc"
	"$VMRUN" --print-argv "$p" >/dev/null 2>"$TMP/err"
	expect_eq "  ... a start is refused (exit status 1)" 1 $?
	check "  ... with the same message" grep -qF \
		"cannot start a vCPU of CPU model $model on this host's KVM" "$TMP/err"
	return 1
}

real_case() {
	local real q=$TMP/real/bin/qemu-system-x86_64 p pm cpu f want got m
	real=$(PATH=${PATH#"$TMP/bin:"} command -v qemu-system-x86_64)
	if [ -z "$real" ]; then
		skip "real QEMU" "no qemu-system-x86_64 on PATH"
		return
	fi
	if ! [ -c /dev/kvm ] || ! [ -w /dev/kvm ]; then
		skip "real QEMU" "no usable /dev/kvm"
		return
	fi
	# a copy under $TMP: asked afresh, its cache entry goes with $TMP; a
	# relocatable QEMU finds its firmware beside it (../share)
	mkdir -p "$TMP/real/bin"
	cp "$real" "$q"
	ln -s "$(cd "$(dirname "$real")/.." && pwd)/share" "$TMP/real/share"
	p=$TMP/real.ini
	printf '[vm]\nname = hvreal\nmemory = 256M\nqemu = %s\n[firmware]\ntype = seabios\n[hyperv]\nenlightenments = relaxed,vapic,vpindex,time\n' \
		"$q" >"$p"
	# a named model the real QEMU may start where -cpu host does not
	for m in EPYC Skylake-Client qemu64; do
		pm=$TMP/real-$m.ini
		printf '[vm]\nname = hvreal\nmemory = 256M\nqemu = %s\n[firmware]\ntype = seabios\n[cpu]\nmodel = %s\n[hyperv]\nenlightenments = none\n' \
			"$q" "$m" >"$pm"
		real_vcpu "$q" "$pm" "$m"
	done
	if ! real_vcpu "$q" "$p" host; then
		skip "real QEMU: each enlightenment as QEMU answers it" \
			"this machine's QEMU cannot start a KVM vCPU with -cpu host at all ($(qemu_said))"
		return
	fi
	cpu=$("$VMRUN" --print-argv "$p" 2>"$TMP/err" | grep -A1 '^-cpu$' | tail -n 1)
	if [ -z "$cpu" ]; then
		not_ok "real QEMU: vmrun plans on this machine"
		sed 's/^/#   /' "$TMP/err"
		return
	fi
	for f in relaxed vapic vpindex time; do
		want=dropped
		starts "$q" "host,hv-$f" && want=kept
		got=dropped
		case ",$cpu," in *",hv-$f=on,"*) got=kept ;; esac
		expect_eq "real QEMU: hv-$f is $want, as QEMU answers alone" \
			"$want" "$got"
	done
}

real_case
done_testing
