#!/usr/bin/env bash
# doctor and --dry-run tell the truth on fake hosts built from real
# machines (tests/fixtures/hosts): KVM judged by using /dev/kvm, the
# Hyper-V enlightenments this KVM offers, a 3D controller that is no
# display, and what QEMU or the guest's firmware would refuse only at
# start (x-vga, machine types, kvmfr sizes, TPM and evdev devices, ROMs,
# all of RAM in hugepages, vendor-id without enlightenments), each error
# at its profile line.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/root

# A QEMU 7.2 stand-in that knows its machine types, as the real one.
mkdir -p "$TMP/bin"
cat >"$TMP/bin/qemu-system-x86_64" <<'EOF'
#!/bin/sh
case "$*" in
-version) echo "QEMU emulator version 7.2.0 (vmrun test stand-in)" ;;
"-machine help")
	echo "Supported machines are:"
	echo "q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)"
	for v in 7.2 7.1 7.0 6.2 2.4; do
		echo "pc-q35-$v           Standard PC (Q35 + ICH9, 2009)"
	done
	echo "none                 empty machine" ;;
*) exit 1 ;;
esac
EOF
chmod +x "$TMP/bin/qemu-system-x86_64"
export PATH="$TMP/bin:$PATH"

profile() {
	local f=$TMP/$1.ini
	shift
	{
		printf '[vm]\nname = %s\nmemory = 2G\n' "$(basename "$f" .ini)"
		printf '%b\n' "$@"
	} >"$f"
	echo "$f"
}

# dry NAME WANT PROFILE: --dry-run fails and its message has WANT
dry_refused() {
	if vm --dry-run "$3" >"$TMP/out" 2>"$TMP/err"; then
		not_ok "$1 (the dry run went ahead)"
	elif grep -qF -- "$2" "$TMP/err"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   want: %s\n' "$2"
		sed 's/^/#   got:  /' "$TMP/err"
	fi
}

# doctor_line NAME LINE [PROFILE]: doctor prints exactly LINE
doctor_line() {
	local name=$1 line=$2
	shift 2
	vm doctor "$@" >"$TMP/doc" 2>&1
	if grep -qxF -- "$line" "$TMP/doc"; then
		ok "$name"
	else
		not_ok "$name"
		printf '#   want line: %s\n' "$line"
		sed 's/^/#   got: /' "$TMP/doc"
	fi
}

# --- KVM, judged by /dev/kvm ---------------------------------------------------
fixture_root cloud-h200
doctor_line "cloud: KVM works though cpuinfo has no vmx (nested)" \
	"ok    virtualization: KVM works (a VM on /dev/kvm could be created), though /proc/cpuinfo has no vmx or svm flag: this host is itself a VM with nested virtualization"
check "cloud: /dev/kvm works" grep -qxF \
	"ok    /dev/kvm: works: API version 12, a VM can be created" "$TMP/doc"
sed -i 's/^vm ok/vm EBUSY/' "$ROOT/.fakehost/kvm"
doctor_line "KVM_CREATE_VM refused: /dev/kvm is there but unusable" \
	"FAIL  /dev/kvm: present, but unusable: KVM_CREATE_VM failed: Device or resource busy"
check "  ... and, no vmx flag either, virtualization is off" grep -qxF \
	"FAIL  virtualization: off: no vmx or svm flag in /proc/cpuinfo" \
	"$TMP/doc"
rm "$ROOT/dev/kvm"
doctor_line "no /dev/kvm: KVM not loaded" \
	"FAIL  /dev/kvm: missing: KVM is not loaded"

# --- a 3D controller is not the host's display -------------------------------------
fixture_root cloud-h200
vm devices >"$TMP/out"
check "cloud: the H200 (3D controller) is not the host's display GPU" \
	grep -qxF "                driver nvidia" "$TMP/out"
check "cloud: no names without pci.ids, no borrowed ones" grep -qxF \
	"  0000:00:06.0  Class 0302: Device 10de:2335" "$TMP/out"
fixture_root laptop-mx250
vm devices >"$TMP/out"
check "laptop: the MX250's group is ready, not the host's display" \
	grep -qxF "IOMMU group 6: ready to pass through alone" "$TMP/out"

# The real cloud machine: a profile using its GPU is refused, clearly.
fixture_root cloud-h200
p=$(profile h200 '[pci.gpu]\nhost = 00:06.0')
dry_refused "cloud: passing the H200 without an IOMMU" \
	"$p:5: [pci.gpu] host = 0000:00:06.0 has no IOMMU group: this host's IOMMU is off, and without it no device can be passed through (\`vmrun doctor\` says how to turn it on)" \
	"$p"
vm doctor "$p" >"$TMP/doc" 2>&1
expect_eq "  ... doctor: the profile cannot start" 1 $?
check "  ... doctor: the device line says it is in no IOMMU group" grep -qxF \
	"FAIL  device: [pci.gpu] 0000:00:06.0 Device 10de:2335: in no IOMMU group" \
	"$TMP/doc"

# --- Hyper-V enlightenments this KVM offers ------------------------------------
fixture_root cloud-h200
doctor_line "cloud: doctor names what KVM lacks of the default list" \
	"warn  Hyper-V: KVM does not offer vapic, vpindex, synic, stimer, tlbflush, time of enlightenments = default: vmrun leaves them out of a profile that asks for them, with a warning"
p=$(profile hv '[firmware]\ntype = seabios')
vm --dry-run "$p" >"$TMP/out" 2>&1
expect_eq "cloud: a default profile plans" 0 $?
check "  ... leaving out what KVM lacks, with a warning" \
	grep -qxF "# warning: this host's KVM does not offer the Hyper-V enlightenments vapic,vpindex,synic,stimer,tlbflush,time: left out" \
	"$TMP/out"
expect_eq "  ... -cpu keeps the others" \
	"host,hv-relaxed=on,hv-spinlocks=8191,hv-runtime=on,hv-reset=on,hv-frequencies=on" \
	"$(vm --print-argv "$p" | grep -A1 '^-cpu$' | tail -n 1)"
p=$(profile hvr '[firmware]\ntype = seabios\n[hyperv]\nenlightenments = relaxed,vapic,time\nunsupported = refuse')
dry_refused "unsupported = refuse: refused at the enlightenments line" \
	"$p:7: [hyperv] enlightenments asks for vapic,time, which this host's KVM does not offer (KVM_GET_SUPPORTED_HV_CPUID): QEMU would refuse to start or abort. Remove them, or set [hyperv] unsupported = drop" \
	"$p"
doctor_line "  ... and doctor fails it" \
	"FAIL  Hyper-V: KVM does not offer vapic, time, which [hyperv] enlightenments asks for: with unsupported = refuse the start is refused" \
	"$p"
fixture_root b550-gtx1060
p=$(profile hvall '[firmware]\ntype = seabios')
vm --print-argv "$p" >"$TMP/out" 2>&1
check "a KVM that offers everything keeps everything" grep -q \
	"hv-vapic=on.*hv-vpindex=on.*hv-synic=on" "$TMP/out"

# --- what QEMU or the firmware would refuse at start -----------------------------
fixture_root laptop-mx250
p=$(profile xvga '[pci.dgpu]\nhost = 01:00.0\nx-vga = yes\n[host]\nstop-units = nvidia-persistenced.service')
dry_refused "x-vga on a 3D controller" \
	"$p:6: [pci.dgpu] x-vga = yes, but 0000:01:00.0 is a 3D controller (class 0302), not a VGA device: QEMU refuses it (\"Device does not support requested feature x-vga\"); remove x-vga" \
	"$p"
p=$TMP/mach.ini
printf '[vm]\nname = mach\nmemory = 2G\nmachine = pc-q35-8.0\n' >"$p"
dry_refused "a machine type the installed QEMU lacks" \
	"$p:4: [vm] machine = pc-q35-8.0: QEMU 7.2.0 ($TMP/bin/qemu-system-x86_64) has no such machine type; use q35 (the newest it has, pc-q35-7.2), or one from pc-q35-2.4 to pc-q35-7.2" \
	"$p"
printf '[vm]\nname = mach2\nmemory = 2G\nmachine = pc-q35-7.1\n' >"$TMP/mach2.ini"
vm --dry-run "$TMP/mach2.ini" >/dev/null 2>&1
expect_eq "  ... one it has is fine" 0 $?

p=$(profile lg '[looking-glass]\ndevice = /dev/kvmfr0\nresolution = 3840x2160')
dry_refused "kvmfr not loaded: refused before any change" \
	"$p:5: [looking-glass]: /dev/kvmfr0: load the kvmfr module first (modprobe kvmfr static_size_mb=128)" \
	"$p"
: >"$ROOT/dev/kvmfr0"
mkdir -p "$ROOT/sys/module/kvmfr/parameters"
echo 32 >"$ROOT/sys/module/kvmfr/parameters/static_size_mb"
dry_refused "a kvmfr device smaller than Looking Glass needs" \
	"$p:5: [looking-glass]: /dev/kvmfr0 holds 32 MiB but Looking Glass needs 128 MiB: reload kvmfr with static_size_mb=128" \
	"$p"
echo 128 >"$ROOT/sys/module/kvmfr/parameters/static_size_mb"
vm --dry-run "$p" >/dev/null 2>&1
expect_eq "  ... one large enough is fine" 0 $?

p=$(profile tpm '[tpm]\ntype = passthrough')
dry_refused "TPM passthrough without /dev/tpm0" \
	"$p:5: [tpm] type = passthrough hands the host's TPM, /dev/tpm0, to the guest, and this host has none: use type = swtpm" \
	"$p"
p=$(profile ev '[input]\nevdev = /dev/input/by-id/usb-Logi-event-kbd')
dry_refused "a missing evdev device" \
	"$p:5: [input] evdev = /dev/input/by-id/usb-Logi-event-kbd: no such device on this host" \
	"$p"

printf '[vm]\nname = allram\nmemory = 16G\n[memory]\nhugepages = 1G\n' >"$TMP/allram.ini"
dry_refused "hugepages for all of a 16 GiB laptop's RAM" \
	"$TMP/allram.ini:3: [vm] memory = 16 GiB in hugepages would leave this host 0 B of its 16 GiB, and hugepages are neither swapped nor given back while the guest runs: the host needs 2 GiB for itself; make memory 14336M or less (or set [memory] hugepages = none)" \
	"$TMP/allram.ini"
vm doctor "$TMP/allram.ini" >"$TMP/doc" 2>&1
expect_eq "  ... doctor says it cannot start" "1" "$?"

printf '[vm]\nname = vid\nmemory = 2G\n[hyperv]\nenlightenments = none\nvendor-id = GenuineIntel\n' >"$TMP/vid.ini"
dry_refused "vendor-id with enlightenments = none" \
	"$TMP/vid.ini:6: [hyperv] vendor-id reaches the guest only with some enlightenment on, and enlightenments = none turns them all off" \
	"$TMP/vid.ini"

# vBIOS images: cut short, or another card's.
python3 - "$TMP" <<'EOF'
import struct, sys
def rom(path, size_blocks, length, vendor, device):
    b = bytearray(length)
    b[0:3] = bytes([0x55, 0xaa, size_blocks])
    struct.pack_into("<H", b, 0x18, 0x40)
    b[0x40:0x44] = b"PCIR"
    struct.pack_into("<HH", b, 0x44, vendor, device)
    open(path, "wb").write(b)
rom(sys.argv[1] + "/cut.rom", 88, 512, 0x10de, 0x1c02)   # says 44 KiB
rom(sys.argv[1] + "/amd.rom", 1, 512, 0x1002, 0x743f)
rom(sys.argv[1] + "/own.rom", 1, 512, 0x10de, 0x1c02)
EOF
fixture_root b550-gtx1060
p=$(profile cut '[pci.gpu]\nhost = 08:00.0\nromfile = cut.rom\n[pci.audio]\nhost = 08:00.1')
dry_refused "a truncated vBIOS dump" \
	"$p:6: [pci.gpu] romfile: $TMP/cut.rom is 512 bytes, but its header says the image is 45056 (44 KiB): the dump was cut short; dump the vBIOS again" \
	"$p"
p=$(profile other '[pci.gpu]\nhost = 08:00.0\nromfile = amd.rom\n[pci.audio]\nhost = 08:00.1')
dry_refused "another vendor's vBIOS" \
	"$p:6: [pci.gpu] romfile = $TMP/amd.rom is the vBIOS of a 1002:743f card (its PCI data structure says so), but the guest sees 0000:08:00.0 as 10de:1c02: its firmware would not run it" \
	"$p"
p=$(profile own '[pci.gpu]\nhost = 08:00.0\nromfile = own.rom\n[pci.audio]\nhost = 08:00.1')
vm --dry-run "$p" >/dev/null 2>&1
expect_eq "  ... the card's own is fine" 0 $?

# --- errors that depend on the host point at their line ----------------------------
p=$(profile pin '[cpu]\ncores = 2\nvcpu-pin = 15,16')
dry_refused "vcpu-pin of a CPU the host lacks" \
	"$p:6: [cpu] vcpu-pin names CPU 16, but this host has CPUs 0-15" "$p"
p=$(profile numa '[memory]\nhugepages = 2M\nnuma-node = 3')
dry_refused "a NUMA node the host lacks" \
	"$p:6: [memory] numa-node = 3: this host has no NUMA node 3 (its nodes: 0)" \
	"$p"
p=$(profile noaudio '[pci.gpu]\nhost = 08:00.0')
dry_refused "a GPU without its audio: the plain fix comes first" \
	"$p:5: [pci.gpu] host = 0000:08:00.0: the other functions of this card share its IOMMU group 16 and go to the guest with it; add a [pci.NAME] section for each:" \
	"$p"

# --- fixes that are right for this host -----------------------------------------
# fixes TEXT-FILE: each fix of a doctor output on one line (a fix is
# wrapped to 80 columns over indented lines)
fixes() {
	awk '/^      fix: / { if (f) print f; f = substr($0, 12); next }
	     f && /^      [^ ]/ { f = f " " substr($0, 7); next }
	     { if (f) print f; f = "" }
	     END { if (f) print f }' "$1"
}

# fix_line NAME FIX-TEXT: a fix of the doctor output in $TMP/doc has it
fix_line() {
	if fixes "$TMP/doc" | grep -qF -- "$2"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   want fix: %s\n' "$2"
		fixes "$TMP/doc" | sed 's/^/#   got: /'
	fi
}
fixture_root x570-rtx3080-rx580
doctor_line "AMD: iommu=pt is all the command line needs" \
	"ok    kernel command line: has iommu=pt"
check "  ... and amd_iommu=on is advised nowhere" not_grep "amd_iommu" \
	"$TMP/doc"
rm -rf "$ROOT/sys/kernel/iommu_groups"
vm doctor >"$TMP/doc" 2>&1
fix_line "AMD with the IOMMU off: the firmware and iommu=pt, for GRUB" \
	"enable AMD-Vi (IOMMU, SVM) in the firmware setup; add iommu=pt to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub (grub2-mkconfig -o /boot/grub2/grub.cfg on Fedora) and reboot (the AMD IOMMU needs no option to be on; iommu=pt spares the host's own devices its translation)"

fixture_root desktop-gtx1660
doctor_line "NixOS without IOMMU options" \
	"warn  kernel command line: intel_iommu=on iommu=pt missing from /proc/cmdline"
fix_line "  ... the fix names boot.kernelParams" \
	"add intel_iommu=on iommu=pt to boot.kernelParams in /etc/nixos/configuration.nix, run nixos-rebuild switch and reboot"
fix_line "  ... and says what iommu=pt is for" \
	"and reboot (iommu=pt: the host's own devices skip IOMMU translation)"

fixture_root laptop-mx250
doctor_line "systemd-boot with intel_iommu=on only" \
	"warn  kernel command line: iommu=pt missing from /proc/cmdline"
fix_line "  ... the fix names /etc/kernel/cmdline" \
	"add iommu=pt to /etc/kernel/cmdline (systemd-boot), run kernel-install add-all (or reinstall the kernel) and reboot"
printf '[vm]\nname = big\nmemory = 14G\n[memory]\nhugepages = 1G\n' >"$TMP/big.ini"
vm doctor "$TMP/big.ini" >"$TMP/doc" 2>&1
fix_line "hugepages short: the boot reservation this guest needs, here" \
	"close programs to free memory on node 0; or reserve the pages at boot: add hugepagesz=1G hugepages=14 to /etc/kernel/cmdline (systemd-boot), run kernel-install add-all (or reinstall the kernel) and reboot; or make [vm] memory smaller"

sed -e 's/^cmdline .*/cmdline "root=UUID=0b5e rw quiet"/' \
	-e '$a bootloader refind' "$FIXTURES/b550-gtx1060.host" >"$TMP/refind.host"
rm -rf "$ROOT"
"$FAKEHOST" build "$TMP/refind.host" "$ROOT" >/dev/null
vm doctor >"$TMP/doc" 2>&1
fix_line "rEFInd: its refind_linux.conf" \
	"add iommu=pt to the quoted options in /boot/refind_linux.conf (rEFInd) and reboot"

rm -rf "$ROOT"
"$FAKEHOST" build "$FIXTURES/dual-node-hybrid.host" "$ROOT" >/dev/null
printf '[vm]\nname = n1\nmemory = 62G\n[memory]\nhugepages = 1G\nnuma-node = 1\n' >"$TMP/n1.ini"
vm doctor "$TMP/n1.ini" >"$TMP/doc" 2>&1
fix_line "two nodes: the reservation is made on the guest's node" \
	"reserve the pages at boot: add hugepagesz=1G hugepages=1:62 to GRUB_CMDLINE_LINUX"

fixture_root cloud-h200
vm doctor >"$TMP/doc" 2>&1
fix_line "cloud: the IOMMU fix says a VM gets one from its hypervisor" \
	"this host is itself a virtual machine (hypervisor in /proc/cpuinfo): only its hypervisor can give it an IOMMU"
done_testing
