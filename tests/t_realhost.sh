#!/usr/bin/env bash
# What the host stands on, on fake hosts built from real machines
# (tests/fixtures/hosts): a device holding mounted file systems, swap or the
# default route is refused before any change unless the profile says
# take-host-critical; the only display GPU under a running display manager
# needs stop-units; a device whose nodes processes hold is refused with
# their names and PIDs, is let go of once stop-units stops them, and an
# unbind the kernel blocks times out instead of hanging vmrun.
. "$(dirname "$0")/lib.sh"

ROOT=$TMP/root

# profile NAME SECTION-TEXT...: a profile (VM NAME, TCG), its path printed
profile() {
	local f=$TMP/$1.ini
	shift
	{
		printf '[vm]\nname = %s\nmemory = 2G\naccel = tcg\n' \
			"$(basename "$f" .ini)"
		printf '%b\n' "$@"
	} >"$f"
	echo "$f"
}

quiet() {
	"$@" >>"$TMP/quiet.log" 2>&1
}

# refused_with NAME WANT-SUBSTRING PROFILE: prepare and --dry-run both
# fail saying WANT, and the host is unchanged
refused_with() {
	snap >"$TMP/before"
	if vm prepare "$3" >"$TMP/out" 2>"$TMP/err"; then
		not_ok "$1 (prepare succeeded)"
		vm restore "$(basename "$3" .ini)" >/dev/null 2>&1
	elif grep -qF -- "$2" "$TMP/err"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   want: %s\n' "$2"
		sed 's/^/#   got:  /' "$TMP/err"
	fi
	same_snapshot "$1: host unchanged" "$TMP/before"
	vm --dry-run "$3" >/dev/null 2>"$TMP/err"
	expect_eq "$1: --dry-run refuses too" "1 yes" \
		"$? $(grep -qF -- "$2" "$TMP/err" && echo yes || echo no)"
}

# --- Never take what the host stands on --------------------------------------
fixture_root b550-gtx1060
p=$(profile root '[pci.disk]\nhost = 01:00.0')
refused_with "root NVMe refused, naming / and /boot/efi, with its line" \
	"$p:6: [pci.disk] host = 0000:01:00.0 (Samsung Electronics Co Ltd Samsung NVMe SSD Controller PM9A1/PM9A3/980PRO) is what the host runs on: /boot/efi (vfat on /dev/nvme0n1p1), / (ext4 on /dev/nvme0n1p2). Passing it through would pull them from under the running host. Pass another device; if you mean it, set take-host-critical = yes in [pci.disk]" \
	"$p"
check "the override key is named in the refusal" \
	grep -q "take-host-critical = yes" "$TMP/err"
p=$(profile rootok '[pci.disk]\nhost = 01:00.0\ntake-host-critical = yes')
vm --dry-run "$p" >"$TMP/out" 2>"$TMP/err"
expect_eq "take-host-critical = yes: the dry run goes ahead" 0 $?
check "take-host-critical = yes: the dry run shows the verdict" grep -qF \
	"# warning: $p:6: [pci.disk] host = 0000:01:00.0 (Samsung Electronics Co Ltd Samsung NVMe SSD Controller PM9A1/PM9A3/980PRO) is what the host runs on: /boot/efi (vfat on /dev/nvme0n1p1), / (ext4 on /dev/nvme0n1p2); taken anyway (take-host-critical = yes)" \
	"$TMP/out"
p=$(profile net '[pci.nic]\nhost = 07:00.0\n[pci.wifi]\nhost = 06:00.0')
refused_with "the default route's NIC refused" \
	"[pci.nic] host = 0000:07:00.0 (Realtek Semiconductor Co., Ltd. RTL8125 2.5GbE Controller) is what the host runs on: the default route (enp7s0)" \
	"$p"

fixture_root laptop-mx250
p=$(profile lvm '[pci.ssd]\nhost = 02:00.0')
refused_with "LVM on LUKS: / and swap through dm holders" \
	"is what the host runs on: /boot (vfat on /dev/nvme0n1p1), / (ext4 on /dev/mapper/vg0-root), swap on /dev/mapper/vg0-swap" \
	"$p"

fixture_root x570-rtx3080-rx580
p=$(profile bridged '[pci.nic]\nhost = 06:00.0')
refused_with "the NIC under the bridge of the default route" \
	"is what the host runs on: the default route (br0)" "$p"
p=$(profile swap '[pci.ssd]\nhost = 01:00.0')
refused_with "swap on a partition" \
	"/ (ext4 on /dev/nvme0n1p2), swap on /dev/nvme0n1p3" "$p"
p=$(profile windisk '[pci.ssd]\nhost = 04:00.0')
vm --dry-run "$p" >/dev/null 2>&1
expect_eq "the second NVMe drive (nothing mounted) is fine" 0 $?

printf 'console ttyS4 pci=0000:00:14.0\n' |
	cat "$FIXTURES/laptop-mx250.host" - >"$TMP/console.host"
rm -rf "$ROOT"
"$FAKEHOST" build "$TMP/console.host" "$ROOT" >/dev/null
p=$(profile usb '[pci.usb]\nhost = 00:14.0\n[pci.sram]\nhost = 00:14.2')
refused_with "a serial console on a USB controller" \
	"is what the host runs on: the console ttyS4" "$p"

# `vmrun devices`: a group holding only what the host runs on is no
# longer "ready to pass through alone".
fixture_root b550-gtx1060
vm devices >"$TMP/out"
check "devices: the root NVMe's group carries the verdict" grep -qxF \
	"IOMMU group 14: could go alone, but the host runs on it: 0000:01:00.0 (NVMe controller: /boot/efi (vfat on /dev/nvme0n1p1), / (ext4 on /dev/nvme0n1p2))" \
	"$TMP/out"
check "devices: the display GPU's group too" grep -qxF \
	"IOMMU group 16: could go alone, but the host runs on it: 0000:08:00.0 (the host's display GPU)" \
	"$TMP/out"
expect_eq "devices --json: verdict host-critical and what the host needs" \
	"host-critical / (ext4 on /dev/nvme0n1p2)" \
	"$(vm devices --json | python3 -c 'import json, sys
g = [g for g in json.load(sys.stdin)["groups"] if g["group"] == 14][0]
print(g["verdict"], g["functions"][0]["host_needs"][1])')"

# --- The only display GPU while a display manager runs -----------------------
fixture_root laptop-mx250
p=$(profile igpu '[pci.igpu]\nhost = 00:02.0')
refused_with "the iGPU, the laptop's only display, with the desktop on it" \
	"$p:6: [pci.igpu] host = 0000:00:02.0 is the host's only display GPU, and display-manager.service runs the desktop on it: the desktop would lose its GPU under it. Stop it for the run: add stop-units = display-manager.service to [host]" \
	"$p"
p=$(profile igpu2 '[pci.igpu]\nhost = 00:02.0\n[host]\nstop-units = display-manager.service')
vm --dry-run "$p" >"$TMP/out" 2>&1
expect_eq "with stop-units: planned" 0 $?
check "with stop-units: the warning does not ask for stop-units" \
	grep -qx "# warning: \[pci.igpu\] host = 0000:00:02.0 is the boot GPU: the host loses its console while the guest runs" \
	"$TMP/out"
check "an Intel iGPU gets no romfile advice" not_grep romfile "$TMP/out"
"$ROOT/usr/bin/systemctl" stop display-manager.service
p=$(profile igpu3 '[pci.igpu]\nhost = 00:02.0')
vm --dry-run "$p" >"$TMP/out" 2>&1
expect_eq "no display manager running: planned" 0 $?
check "  ... and the warning says how to stop a desktop" grep -qF \
	"loses its console while the guest runs (stop the desktop with [host] stop-units)" \
	"$TMP/out"

fixture_root desktop-gtx1660
p=$(profile single '[pci.gpu]\nhost = 01:00.0\n[pci.audio]\nhost = 01:00.1\n[pci.usb]\nhost = 01:00.2\n[pci.ucsi]\nhost = 01:00.3')
refused_with "the one-GPU desktop's card" \
	"[pci.gpu] host = 0000:01:00.0 is the host's only display GPU, and display-manager.service runs the desktop on it" \
	"$p"
p=$(profile single2 '[pci.gpu]\nhost = 01:00.0\n[pci.audio]\nhost = 01:00.1\n[pci.usb]\nhost = 01:00.2\n[pci.ucsi]\nhost = 01:00.3\n[host]\nstop-units = display-manager.service')
vm --dry-run "$p" >"$TMP/out" 2>&1
expect_eq "one GPU, stop-units: Xorg of the display manager is stopped first" \
	0 $?
check "  ... the NVIDIA card gets romfile advice" grep -q \
	"is the boot GPU: .*set romfile = a clean dump" "$TMP/out"

fixture_root b550-gtx1060
p=$(profile twogpu '[pci.gpu]\nhost = 08:00.0\n[pci.audio]\nhost = 08:00.1')
vm --dry-run "$p" >/dev/null 2>&1
expect_eq "the boot GPU of a host that keeps another GPU: planned" 0 $?

# --- Devices in use -----------------------------------------------------------
fixture_root x570-rtx3080-rx580
p=$(profile rtx '[pci.gpu]\nhost = 08:00.0\n[pci.audio]\nhost = 08:00.1')
refused_with "RTX 3080 held by nvidia-persistenced, its audio by PipeWire" \
	"$p:6: [pci.gpu] host = 0000:08:00.0 is in use: nvidia-persistenced (pid 980, nvidia-persistenced.service) has /dev/nvidiactl open. Its driver (nvidia) would not let go of it while they do. Stop them first: add stop-units = nvidia-persistenced.service to [host]" \
	"$p"
check "  ... PipeWire named with its PID" grep -qF \
	"$p:8: [pci.audio] host = 0000:08:00.1 is in use: pipewire (pid 2211) has /dev/snd/controlC1 open. Its driver (snd_hda_intel) would not let go of it while they do. Stop them first: quit pipewire (pid 2211)" \
	"$TMP/err"
p=$(profile rtx2 '[pci.gpu]\nhost = 08:00.0\n[pci.audio]\nhost = 08:00.1\n[host]\nstop-units = nvidia-persistenced.service')
rm -r "$ROOT/proc/2211"
snap >"$TMP/before"
prepared "stop-units stops the holder first, then the card is bound" "$p"
expect_eq "  ... the card on vfio-pci, nvidia-persistenced ended" \
	"vfio-pci gone" \
	"$(basename "$(readlink "$ROOT/sys/bus/pci/devices/0000:08:00.0/driver")") $([ -d "$ROOT/proc/980" ] && echo running || echo gone)"
check "  ... restore" quiet vm restore rtx2
check "  ... nvidia-persistenced runs again" test -d "$ROOT/proc/980"
same_snapshot "  ... host as before" "$TMP/before"

"$FAKEHOST" set "$ROOT" proc.980.stuck=yes
snap >"$TMP/before"
vm prepare "$p" >"$TMP/out" 2>"$TMP/err"
expect_eq "a holder that outlives its unit's stop: prepare fails" 1 $?
check "  ... naming it when the unbind comes" grep -qF \
	"vmrun: bind 0000:08:00.0 (NVIDIA Corporation GA102 [GeForce RTX 3080]) to vfio-pci (driver now: nvidia): 0000:08:00.0 is still in use, and nvidia would not let go of it: nvidia-persistenced (pid 980, nvidia-persistenced.service) has /dev/nvidiactl open." \
	"$TMP/err"
same_snapshot "  ... host as before" "$TMP/before"
"$FAKEHOST" set "$ROOT" proc.980.stuck=no

# A holder vmrun cannot see (the card's memory mapped through resource0):
# the kernel's unbind blocks; vmrun gives it up and puts the host back.
mkdir -p "$ROOT/proc/4242/fd"
echo cuda-app >"$ROOT/proc/4242/comm"
ln -s "/sys/$(readlink "$ROOT/sys/bus/pci/devices/0000:08:00.0" |
	sed 's|^\(\.\./\)*||')/resource0" "$ROOT/proc/4242/fd/5"
snap >"$TMP/before"
start=$SECONDS
VMRUN_UNBIND_TIMEOUT_MS=1000 vm prepare "$p" >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_eq "a blocked unbind: prepare fails" 1 $rc
check "  ... within seconds, not hanging" test $((SECONDS - start)) -lt 15
check "  ... saying it timed out and how to give the device back" grep -qF \
	"unbind 0000:08:00.0 from nvidia did not finish within 1 s: nothing vmrun can see holds it (a program may have its memory mapped through a resourceN file; see dmesg); if the driver lets go of it later, the device is left without one (echo 0000:08:00.0 > /sys/bus/pci/drivers_probe gives it back)" \
	"$TMP/err"
same_snapshot "  ... host as before" "$TMP/before"

# --- a killed vmrun's half-written journal -------------------------------------
fixture_root b550-gtx1060
mkdir -p "$ROOT/run/vmrun"
echo '{"half' >"$ROOT/run/vmrun/tmpvm.json.tmp.4242"
echo keep >"$ROOT/run/vmrun/othervm.json.tmp.4242"
check "restore removes NAME.json.tmp.PID" quiet vm restore tmpvm
check "  ... gone" test ! -e "$ROOT/run/vmrun/tmpvm.json.tmp.4242"
check "  ... another VM's is left alone" test -e \
	"$ROOT/run/vmrun/othervm.json.tmp.4242"
echo '{"half' >"$ROOT/run/vmrun/tmpvm.json.tmp.4243"
p=$(profile tmpvm '[acpi]\nfake-battery = yes')
prepared "the next start of the VM" "$p"
check "  ... removes it too" test ! -e "$ROOT/run/vmrun/tmpvm.json.tmp.4243"
check "  ... and restore" quiet vm restore tmpvm
done_testing
