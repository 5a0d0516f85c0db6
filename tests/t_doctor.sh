#!/usr/bin/env bash
# `vmrun doctor`: for every host fixture the host checklist must match
# tests/golden/doctor-FIXTURE.txt, and each tests/doctor-profiles/NAME.ini
# (against the fixture its first line names) doctor-FIXTURE-NAME.txt, with
# the exit status as the last line. Stand-ins on PATH play QEMU and swtpm,
# and /proc/self/{status,limits} are staged in the fake root, so nothing of
# the machine running the tests shows. Paths: @ROOT@, @TMP@, @TOP@; the
# OVMF build found on this machine: @OVMF@. Regenerate after a deliberate
# change with VMRUN_GOLDEN_UPDATE=1 tests/run t_doctor.sh and review.
. "$(dirname "$0")/lib.sh"
GOLDEN=$TOP/tests/golden
PROFILES=$TOP/tests/doctor-profiles

mkdir -p "$TMP/bin"
# stand_in NAME OUTPUT: a program that prints OUTPUT and exits 0.
stand_in() {
	printf '#!/bin/sh\necho "%s"\n' "$2" >"$TMP/bin/$1"
	chmod +x "$TMP/bin/$1"
}
stand_in qemu-system-x86_64 "QEMU emulator version 7.2.0 (vmrun test stand-in)"
stand_in swtpm "swtpm stand-in"
export PATH="$TMP/bin:$PATH"

# stage ROOT CAPEFF HARD: vmrun's own capabilities and memlock limit, as
# /proc/self shows them (doctor reads them through the host root).
stage() {
	mkdir -p "$1/proc/self"
	printf 'Name:\tvmrun\nCapEff:\t%s\n' "$2" >"$1/proc/self/status"
	printf 'Max locked memory         %s %s bytes\n' "$3" "$3" \
		>"$1/proc/self/limits"
}

normalise() {
	sed -e "s|$1|@ROOT@|g" -e "s|$TMP|@TMP@|g" -e "s|$TOP|@TOP@|g" \
		-e 's|^\(ok    OVMF: \).*|\1@OVMF@|'
}

golden() {
	[ -n "${VMRUN_GOLDEN_UPDATE:-}" ] && cp "$2" "$GOLDEN/$1"
	if diff -u "$GOLDEN/$1" "$2" >"$TMP/diff" 2>&1; then
		ok "$1 matches"
	else
		not_ok "$1 differs from the golden file"
		head -n 40 "$TMP/diff" | sed 's/^/#   /'
	fi
}

# doctor ROOT [PROFILE]: run it under the kernel emulation (/dev/kvm
# answers), with PATH=$DOCTOR_PATH when set,
# normalised output + "exit status N" in $TMP/got.
doctor() {
	local root=$1
	shift
	"$FAKEHOST" run "$root" -- env PATH="${DOCTOR_PATH:-$PATH}" \
		"$VMRUN" doctor "$@" >"$TMP/out" 2>"$TMP/err"
	echo "exit status $?" >>"$TMP/out"
	normalise "$root" <"$TMP/out" >"$TMP/got"
}

build() {
	local fx=$1
	ROOT=$TMP/root-$fx
	[ -d "$ROOT" ] && return 0
	"$FAKEHOST" build "$FIXTURES/$fx.host" "$ROOT" >"$TMP/build.log" 2>&1 &&
		stage "$ROOT" 000001ffffffffff 8388608 && return 0
	not_ok "$fx: build fake host"
	sed 's/^/#   /' "$TMP/build.log"
	return 1
}

for host in "$FIXTURES"/*.host; do
	fx=$(basename "$host" .host)
	build "$fx" || continue
	doctor "$ROOT"
	golden "doctor-$fx.txt" "$TMP/got"
done

for ini in "$PROFILES"/*.ini; do
	name=$(basename "$ini" .ini)
	fx=$(sed -n '1s/^; fixture: *//p' "$ini")
	build "$fx" || continue
	doctor "$ROOT" "$ini"
	golden "doctor-$fx-$name.txt" "$TMP/got"
done

g=$GOLDEN/doctor-b550-gtx1060
expect_eq "GTX 1060 + audio: the profile can start" "exit status 0" \
	"$(tail -n 1 "$g-gtx1060.txt")"
expect_eq "RX 550: the profile cannot start" "exit status 1" \
	"$(tail -n 1 "$g-rx550.txt")"
check "RX 550: the group-15 verdict names USB, SATA, NVMe, network" \
	grep -qxF "      IOMMU group 15: shared with host-critical devices: 0000:02:00.0 (USB controller), 0000:02:00.1 (SATA controller), 0000:05:00.0 (NVMe controller), 0000:06:00.0 (network controller), 0000:07:00.0 (Ethernet controller)" \
	"$g-rx550.txt"
check "RX 550: the device line fails" grep -q \
	'^FAIL  device: \[pci.gpu\] 0000:04:00.0 ' "$g-rx550.txt"

# One host condition at a time, on a fresh copy of the B550: the line it
# must give (grep -x: the whole line).
variant() {
	rm -rf "$TMP/v"
	cp -a "$TMP/root-b550-gtx1060" "$TMP/v"
	ROOT=$TMP/v
}
expect_line() {
	local name=$1 line=$2
	shift 2
	doctor "$ROOT" "$@"
	if grep -qxF -- "$line" "$TMP/got"; then
		ok "$name"
	else
		not_ok "$name"
		printf '#   want line: %s\n' "$line"
		sed 's/^/#   got: /' "$TMP/got"
	fi
}

variant
stage "$ROOT" 000001fffeffffff 8388608
expect_line "memlock: no CAP_SYS_RESOURCE and 8 MiB" \
	"FAIL  memlock: vmrun cannot raise RLIMIT_MEMLOCK: no CAP_SYS_RESOURCE, and the hard limit is 8 MiB"
stage "$ROOT" 0 unlimited
expect_line "memlock: an unlimited hard limit will do" \
	"ok    memlock: the hard RLIMIT_MEMLOCK already covers guest memory + 1 GiB"
rm "$ROOT/proc/self/status" "$ROOT/proc/self/limits"
expect_line "memlock: nothing readable" \
	"FAIL  memlock: vmrun cannot raise RLIMIT_MEMLOCK: cannot read CapEff in /proc/self/status, and the hard limit is unknown"

variant
sed -i 's/ svm / /' "$ROOT/proc/cpuinfo"
rm "$ROOT/dev/kvm"
expect_line "virtualization off (and no KVM)" \
	"FAIL  virtualization: off: no vmx or svm flag in /proc/cpuinfo"
check "virtualization off: the fix names SVM" grep -qxF \
	"      fix: enable SVM (AMD-V) in the firmware setup, then reboot" \
	"$TMP/got"

variant
rm "$ROOT/dev/kvm"
expect_line "no /dev/kvm" "FAIL  /dev/kvm: missing: KVM is not loaded"
check "no /dev/kvm: the fix" grep -qxF \
	"      fix: modprobe kvm_amd (after turning SVM on in the firmware), or set [vm]" \
	"$TMP/got"
expect_line "no /dev/kvm: not needed with tcg" \
	"-     /dev/kvm: not needed: [vm] accel = tcg" "$PROFILES/tcg-kvmfr.ini"

variant
rm -rf "$ROOT/sys/kernel/iommu_groups"
expect_line "IOMMU off" \
	"FAIL  IOMMU: off: no groups in /sys/kernel/iommu_groups"
check "IOMMU off: the fix for this AMD CPU (no amd_iommu=on: it is on by default)" grep -qxF \
	"      fix: enable AMD-Vi (IOMMU, SVM) in the firmware setup; add iommu=pt to" \
	"$TMP/got"
"$FAKEHOST" set "$ROOT" "cmdline=root=/dev/sda1 quiet"
expect_line "command line without IOMMU options: iommu=pt is what AMD wants" \
	"warn  kernel command line: iommu=pt missing from /proc/cmdline"

variant
rm "$ROOT/usr/sbin/modprobe"
expect_line "no vfio-pci and no modprobe" \
	"FAIL  vfio-pci: no vfio-pci driver loaded and no module to load"
"$FAKEHOST" set "$ROOT" pci.0000:08:00.1.driver=vfio-pci
expect_line "vfio-pci loaded" "ok    vfio-pci: loaded"

variant
mkdir -p "$ROOT/sys/module/kvm/parameters"
echo Y >"$ROOT/sys/module/kvm/parameters/ignore_msrs"
expect_line "ignore_msrs Y" "ok    kvm.ignore_msrs: Y"
echo N >"$ROOT/sys/module/kvm/parameters/ignore_msrs"
expect_line "ignore_msrs N" \
	"warn  kvm.ignore_msrs: N: Windows guests may crash on MSRs KVM does not know"

# Programs.
stand_in qemu-system-x86_64 "QEMU emulator version 6.2.0"
expect_line "QEMU too old" \
	"FAIL  QEMU: @TMP@/bin/qemu-system-x86_64 is QEMU 6.2.0; vmrun needs 7.0 or later"
printf '#!/bin/sh\nexit 3\n' >"$TMP/bin/qemu-system-x86_64"
expect_line "QEMU broken: the other checks still run" \
	"ok    cgroup v2: unified hierarchy at /sys/fs/cgroup"
check "QEMU broken: says so" grep -qxF \
	"FAIL  QEMU: @TMP@/bin/qemu-system-x86_64 -version failed (status 3): is it a QEMU binary? Set [vm] qemu in the profile to one" \
	"$TMP/got"
rm "$TMP/bin/qemu-system-x86_64" "$TMP/bin/swtpm"
DOCTOR_PATH=$TMP/bin expect_line "no QEMU on PATH" \
	"FAIL  QEMU: qemu-system-x86_64 not found on PATH"
DOCTOR_PATH=$TMP/bin expect_line "no swtpm, the profile needs it" \
	"FAIL  swtpm: not found on PATH (needed for [tpm] type = swtpm, e.g. Windows 11)" \
	"$PROFILES/gtx1060.ini"
DOCTOR_PATH=$TMP/bin expect_line "no swtpm, no profile: a warning" \
	"warn  swtpm: not found on PATH (needed for [tpm] type = swtpm, e.g. Windows 11)"
stand_in qemu-system-x86_64 "QEMU emulator version 7.2.0 (vmrun test stand-in)"
stand_in swtpm "swtpm stand-in"

# A profile that does not parse.
printf '[vm]\nname = x\nmemroy = 1G\n' >"$TMP/bad.ini"
doctor "$ROOT" "$TMP/bad.ini"
check "bad profile: FAIL line" grep -q "^FAIL  profile: @TMP@/bad.ini:" \
	"$TMP/got"
check "bad profile: exit status 1" grep -qx "exit status 1" "$TMP/got"
check "bad profile: the error counts the failures" grep -qx \
	"vmrun: doctor: 1 check failed (fixes above)" "$TMP/err"
done_testing
