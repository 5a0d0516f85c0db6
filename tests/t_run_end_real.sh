#!/usr/bin/env bash
# t_run_end_real.sh: ways a run ends, with a real QEMU (TCG, OVMF, a UEFI
# shell script as the guest): the guest fills its disk image on a tiny
# tmpfs (QEMU pauses it with an I/O error; vmrun names the disk, and the
# guest goes on with `vmrun cont` once space is freed), and the reader of
# vmrun's output goes away while the guest runs.
. "$(dirname "$0")/lib.sh"

QEMU=$(command -v qemu-system-x86_64 || true)
OVMF=/usr/share/OVMF/OVMF_CODE_4M.fd
NAME=t-endr-$$
STATE=$TMP/state
SMALL=$TMP/small # a tmpfs mounted here, too small for what the guest writes
PIDS=()          # processes this suite started

qemu_pids() {
	pgrep -f -- "-name guest=$NAME,debug-threads" || true
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in $(qemu_pids); do kill -9 "$p" 2>/dev/null; done
	"$VMRUN" -q restore "$NAME" >/dev/null 2>&1
	mountpoint -q "$SMALL" && umount "$SMALL"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers ------------------------------------------------------------------

# profile FILE DISK: the suite's VM (no hugepages, no devices)
profile() {
	cat >"$1" <<EOF
[vm]
name = $NAME
memory = 256M
accel = tcg
state-dir = $STATE
shutdown-timeout = 5

[cpu]
model = max

[disk.boot]
file = $2
format = raw
cache = writeback
aio = threads

[net.lan]
mode = none
EOF
}

running() {
	QPID=$(sed -n "s/.*VM '$NAME' is running (QEMU pid \([0-9]*\)).*/\1/p" \
		"$1" 2>/dev/null)
	[ -n "$QPID" ]
}

status_has() {
	"$VMRUN" status "$NAME" 2>&1 | grep -qF -- "$1"
}

# restored CASE: nothing of the run is left on the host
restored() {
	local f left=""
	for f in /run/vmrun/$NAME.json /run/vmrun/$NAME.sock \
		/run/vmrun/$NAME.lock; do
		[ -e "$f" ] && left+=" $f"
	done
	[ -n "$(qemu_pids)" ] && left+=" QEMU $(qemu_pids)"
	if [ -z "$left" ]; then
		ok "$1: nothing left on the host"
	else
		not_ok "$1: nothing left on the host"
		echo "#   left:$left"
	fi
}

# --- requirements -------------------------------------------------------------
why=""
[ "$(id -u)" = 0 ] || why="needs root (/run/vmrun, a tmpfs mount)"
[ -n "$QEMU" ] || why="no qemu-system-x86_64 (apt-get install qemu-system-x86)"
[ -r "$OVMF" ] || why="no $OVMF (apt-get install ovmf)"
command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null ||
	why="no mkfs.vfat/mcopy (apt-get install dosfstools mtools)"
if [ -z "$why" ]; then
	mkdir -p "$SMALL"
	mount -t tmpfs -o size=10M,mode=0700 vmrun-test "$SMALL" 2>"$TMP/mount.err" ||
		why="cannot mount a tmpfs: $(cat "$TMP/mount.err")"
fi
if [ -n "$why" ]; then
	skip "real QEMU runs that end otherwise" "$why"
	done_testing
	exit
fi

# --- 1. the guest fills the host file system: io-error, cont --------------------
# A 32 MiB sparse FAT image with 6 MiB of data on a 10 MiB tmpfs: copying
# the data once more runs the tmpfs out of space half-way. QEMU pauses the
# guest (werror=enospc); once the tmpfs is made larger, `vmrun cont` lets
# the copy finish and the guest powers off.
BIG=6M nsh_disk "$TMP/fill.img" 32M 'echo "vmrun test: filling the disk"' \
	'cp fs0:\big.bin fs0:\big2.bin' 'echo "vmrun test: copied"' \
	'reset -s'
cp --sparse=always "$TMP/fill.img" "$SMALL/fill.img"
profile "$TMP/fill.ini" "$SMALL/fill.img"
: >"$TMP/fill.log"
"$VMRUN" "$TMP/fill.ini" >"$TMP/fill.log" 2>&1 &
VMPID=$!
PIDS+=("$VMPID")
want="QEMU could not write to [disk.boot] ($SMALL/fill.img): no space left on the host file system; the guest is paused so that nothing is lost: free space, then continue it with \`vmrun cont $NAME\`, or stop it with \`vmrun stop $NAME\`"
if wait_until 60 running "$TMP/fill.log"; then
	ok "full disk: the guest runs"
	PIDS+=("$QPID")
	check "full disk: vmrun names the disk and the way on" \
		wait_until 120 grep -qF "vmrun: error: $want" "$TMP/fill.log"
	check "full disk: status says paused (I/O error)" \
		status_has "$NAME: paused (I/O error)"
	mount -o remount,size=64M "$SMALL"
	out=$("$VMRUN" cont "$NAME" 2>&1)
	expect_eq "full disk: cont once space is freed" "$NAME: continued" "$out"
else
	not_ok "full disk: the guest runs"
	sed 's/^/#   /' "$TMP/fill.log"
fi
wait_rc "$VMPID" 120
expect_eq "full disk: the guest goes on and powers off (exit 0)" 0 $?
mcopy -i "$SMALL/fill.img" ::/big.bin ::/big2.bin "$TMP/" 2>/dev/null
check "full disk: the guest's copy is complete" cmp -s "$TMP/big.bin" \
	"$TMP/big2.bin"
restored "full disk"

# --- 2. the reader of vmrun's output goes away ---------------------------------
# `vmrun x.ini 2>&1 | grep -q running`: vmrun's later messages go to a pipe
# nobody reads. vmrun has SIGPIPE's default disposition, as from a shell.
nsh_disk "$TMP/later.img" 16M 'stall 5000000' 'reset -s'
profile "$TMP/pipe.ini" "$TMP/later.img"
rm -f "$TMP/pipe.rc"
{
	env --default-signal=PIPE "$VMRUN" "$TMP/pipe.ini" 2>&1
	echo $? >"$TMP/pipe.rc"
} | grep -q "VM '$NAME' is running" &
PIPEPID=$!
PIDS+=("$PIPEPID")
wait_rc "$PIPEPID" 120
wait_until 5 test -s "$TMP/pipe.rc"
expect_eq "reader gone: vmrun sees the guest power off (exit 0)" 0 \
	"$(cat "$TMP/pipe.rc" 2>/dev/null)"
restored "reader gone"

done_testing
