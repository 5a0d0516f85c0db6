#!/usr/bin/env bash
# t_new.sh: `vmrun new NAME --gpu BDF` on every host fixture, for every GPU
# it has. A GPU whose IOMMU group can go gets a profile that `vmrun
# doctor` accepts on that host, whose [pci.*] are exactly the group's
# functions, and whose vcpu-pin is whole cores (a core's threads next to
# each other) on the GPU's NUMA node, one L3 cache where the fixture shows
# them, the host's first core(s) left out and given to emulator-pin;
# checked against the fixture file itself (tests/fakehost/fh_hostfile.py),
# not against vmrun's reading of it. A GPU whose group cannot go gets the
# planner's explanation and no file. Then the options and their errors.
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/bin"
printf '#!/bin/sh\necho "QEMU emulator version 7.2.0 (vmrun test stand-in)"\n' \
	>"$TMP/bin/qemu-system-x86_64"
printf '#!/bin/sh\necho "swtpm stand-in"\n' >"$TMP/bin/swtpm"
chmod +x "$TMP/bin/"*
export PATH="$TMP/bin:$PATH"

# Every fixture once by name, wherever this tree keeps them.
fixtures() {
	for f in "$FIXTURES"/*.host "$TOP"/tests/fixtures/*.host \
		"$TOP"/tests/fixtures/hosts/*.host; do
		[ -f "$f" ] && echo "$f"
	done | awk -F/ '!seen[$NF]++'
}

# build FIXTURE: a fake host at $ROOT with vmrun's /proc/self staged as
# doctor reads it (full capabilities, as root has).
build() {
	ROOT=$TMP/root-$(basename "$1" .host)
	rm -rf "$ROOT"
	"$FAKEHOST" build "$1" "$ROOT" >/dev/null || return 1
	mkdir -p "$ROOT/proc/self"
	printf 'Name:\tvmrun\nCapEff:\t000001ffffffffff\n' \
		>"$ROOT/proc/self/status"
	printf 'Max locked memory         8388608 8388608 bytes\n' \
		>"$ROOT/proc/self/limits"
}

# The fixture's GPUs: "BDF VERDICT MEMBERS" (members: the group's
# functions that move, comma-separated).
gpus() {
	vm devices --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for g in d["groups"]:
    moving = [f["address"] for f in g["functions"] if not f["bridge"]]
    for f in g["functions"]:
        if f["class"].startswith("03"):
            print(f["address"], g["verdict"], ",".join(moving))'
}

# check_profile FIXTURE GPU INI: the shape of the profile, from the fixture.
check_profile() {
	python3 - "$TOP/tests/fakehost" "$@" <<'EOF'
import configparser, sys
sys.path.insert(0, sys.argv[1])
import fh_hostfile
host = fh_hostfile.parse_file(sys.argv[2])
gpu, ini = sys.argv[3], sys.argv[4]
cp = configparser.ConfigParser(inline_comment_prefixes=(";",), strict=False)
cp.read(ini)
bad = []
cores = host.cpus // host.tpc
def core(c):
    return c % cores
def siblings(c):
    return [core(c) + k * cores for k in range(host.tpc)]
dev = [p for p in host.pci if p.bdf == gpu][0]
node = dev.node if dev.node >= 0 else host.nodes[0][0]
node_cpus = [n[1] for n in host.nodes if n[0] == node][0]
pins = [int(x) for x in cp["cpu"]["vcpu-pin"].split(",")]
emu = set()
for part in cp["cpu"]["emulator-pin"].split(","):
    lo, _, hi = part.partition("-")
    emu.update(range(int(lo), int(hi or lo) + 1))
t = int(cp["cpu"]["threads"])
if t != host.tpc:
    bad.append("threads = %d, the host has %d per core" % (t, host.tpc))
if int(cp["cpu"]["cores"]) * t * int(cp["cpu"]["sockets"]) != len(pins):
    bad.append("topology is not %d vCPUs" % len(pins))
for i in range(0, len(pins), host.tpc):
    group = pins[i:i + host.tpc]
    if sorted(group) != siblings(group[0]):
        bad.append("vCPUs %d-%d (%s) are not one whole core" %
                   (i, i + host.tpc - 1, group))
if any(p not in node_cpus for p in pins):
    bad.append("vCPUs off node %d: %s" % (node, pins))
if len(set(pins)) != len(pins):
    bad.append("a host CPU pinned twice")
if emu & set(pins) or not emu or any(e not in node_cpus for e in emu):
    bad.append("emulator-pin %s is not the host's share of node %d" %
               (sorted(emu), node))
first = min(node_cpus, key=core)
if first in pins or first not in emu:
    bad.append("the node's first core (CPU %d) is not the host's" % first)
if host.l3:
    caches = {c: i for i, (cpus, _) in enumerate(host.l3) for c in cpus}
    if len({caches[p] for p in pins}) != 1:
        bad.append("vCPUs on more than one L3: %s" % pins)
if cp["memory"]["numa-node"] != str(node):
    bad.append("numa-node %s, the GPU is on %d" % (cp["memory"]["numa-node"],
                                                   node))
for b in bad:
    print("# " + b)
sys.exit(1 if bad else 0)
EOF
}

# quit_users LABEL: a user's program that holds the card now (a fixture's
# PipeWire) is named in new's warning with the fix; it quits, as the user
# would before the start (its /proc entry goes).
quit_users() {
	local pid
	grep -q "the card is in use now: " "$TMP/err" || return 0
	check "$1: says to quit the card's holders first" grep -q \
		"so quit them .* before you start the VM; .vmrun doctor" \
		"$TMP/err"
	for pid in $(grep -o '(pid [0-9]*' "$TMP/err" | grep -o '[0-9]*'); do
		rm -rf "${ROOT:?}/proc/$pid"
	done
}

# pci_hosts INI: the [pci.*] host addresses, sorted, comma-separated.
pci_hosts() {
	sed -n 's/^host = //p' "$1" | sort | paste -sd,
}

while read -r host; do
	fx=$(basename "$host" .host)
	build "$host" || { not_ok "$fx: build the fake host"; continue; }
	while read -r gpu verdict members; do
		out=$TMP/$fx-${gpu//:/-}.ini
		vm new vm1 --gpu "$gpu" --out "$out" >"$TMP/out" 2>"$TMP/err"
		rc=$?
		# host-critical: the host runs on the card (its display, a
		# daemon holding it); the profile gives it up with the
		# single-GPU settings, so it is written like a ready one
		if [ "$verdict" != ready ] && [ "$verdict" != siblings ] &&
			[ "$verdict" != host-critical ]; then
			expect_eq "$fx $gpu ($verdict): refused" 1 "$rc"
			check "$fx $gpu: no file" test ! -e "$out"
			check "$fx $gpu: the planner's explanation" grep -q \
				"no profile written: .*\[pci.gpu\] host = $gpu: IOMMU group .* also holds" \
				"$TMP/err"
			continue
		fi
		if [ $rc -ne 0 ]; then
			not_ok "$fx $gpu: vmrun new"
			sed 's/^/#   /' "$TMP/err"
			continue
		fi
		ok "$fx $gpu: vmrun new wrote $(basename "$out")"
		quit_users "$fx $gpu"
		if vm doctor "$out" >"$TMP/doctor" 2>&1; then
			ok "$fx $gpu: vmrun doctor accepts the profile"
		else
			not_ok "$fx $gpu: vmrun doctor accepts the profile"
			grep -E '^(FAIL|      )' "$TMP/doctor" | sed 's/^/#   /'
		fi
		check "$fx $gpu: no pinning warning from doctor" \
			bash -c "! grep -qiE 'SMT|sibling|emulator CPUs' '$TMP/doctor'"
		expect_eq "$fx $gpu: [pci.*] is IOMMU group's functions" \
			"$(tr , '\n' <<<"$members" | sort | paste -sd,)" \
			"$(pci_hosts "$out")"
		if check_profile "$host" "$gpu" "$out" >"$TMP/shape"; then
			ok "$fx $gpu: whole cores on the GPU's node, host's share"
		else
			not_ok "$fx $gpu: whole cores on the GPU's node, host's share"
			cat "$TMP/shape"
		fi
	done < <(gpus)
done < <(fixtures)

# ---- what kind of machine: one fixture each ----
fxfile() { fixtures | grep "/$1.host$"; }

# The RTX 3080 is held by nvidia-persistenced (a system service) and its
# HDMI audio by a user's PipeWire: the service goes in stop-units, the
# user's program is named, and the profile is written all the same.
build "$(fxfile x570-rtx3080-rx580)"
vm new held --gpu 08:00.0 --out "$TMP/held.ini" 2>"$TMP/err"
expect_eq "held card: a profile is written" 0 $?
check "held card: the service holding it is stopped first" \
	grep -qxF "stop-units = nvidia-persistenced.service" "$TMP/held.ini"
check "held card: why, in a comment" grep -q \
	"^; nvidia-persistenced (nvidia-persistenced.service) has /dev/nvidiactl open" \
	"$TMP/held.ini"
check "held card: the user's program is named, not stopped" grep -q \
	"warning: the card is in use now: pipewire (pid 2211) has /dev/snd/controlC1 open" \
	"$TMP/err"
check "held card: no stop-units for the user's program" \
	bash -c "! grep -q '^stop-units = .*pipewire' '$TMP/held.ini'"
vm doctor "$TMP/held.ini" >"$TMP/doctor" 2>&1
check "held card: doctor fails on PipeWire while it runs" grep -q \
	"FAIL  plan: .*host = 0000:08:00.1 is in use: pipewire (pid 2211)" \
	"$TMP/doctor"
check "held card: and on nothing else" \
	test "$(grep -c '^FAIL' "$TMP/doctor")" = 1
rm -rf "${ROOT:?}/proc/2211"
check "held card: PipeWire quit, doctor accepts" vm doctor "$TMP/held.ini"

build "$(fxfile legion5-1660ti)"
vm new lap --gpu 01:00.0 --out "$TMP/lap.ini" 2>/dev/null
for line in "fake-battery = yes" "guest-address = 01:00.0" \
	"guest-address = 01:00.3" "hide-hypervisor = yes" \
	"vendor-id = 1234567890ab" "resolution = 1920x1080" \
	"vcpu-pin = 4,12,5,13,6,14,7,15"; do
	check "laptop dGPU: $line" grep -qxF "$line" "$TMP/lap.ini"
done
check "laptop dGPU: not the host's console" \
	bash -c "! grep -q '^stop-units' '$TMP/lap.ini'"
vm new igpu --gpu 05:00.0 --out "$TMP/igpu.ini" 2>/dev/null
for line in "stop-units = display-manager.service" \
	"unbind-vtconsoles = yes" "unbind-efifb = yes"; do
	check "laptop boot iGPU: $line" grep -qxF "$line" "$TMP/igpu.ini"
done
check "laptop boot iGPU: no guest address, no battery" \
	bash -c "! grep -qE '^(guest-address|fake-battery)' '$TMP/igpu.ini'"
check "AMD GPU: no hidden hypervisor" \
	bash -c "! grep -q '^hide-hypervisor' '$TMP/igpu.ini'"

build "$(fxfile x570-5950x-rtx3080)"
new_line() { # NAME WANT-LINE ARGS...: vmrun new ARGS has WANT-LINE
	local name=$1 want=$2
	shift 2
	rm -f "$TMP/x.ini"
	vm new x --gpu 03:00.0 --out "$TMP/x.ini" "$@" >/dev/null \
		2>"$TMP/err"
	if grep -qxF "$want" "$TMP/x.ini" 2>/dev/null; then
		ok "$name"
	else
		not_ok "$name"
		sed 's/^/#   /' "$TMP/err"
		grep -E "^${want%% *} " "$TMP/x.ini" | sed 's/^/#   got: /'
	fi
}
new_line "two CCDs: the second CCD, whole (the host keeps 2 cores)" \
	"vcpu-pin = 8,24,9,25,10,26,11,27,12,28,13,29,14,30,15,31"
new_line "two CCDs: QEMU's threads on the host's two cores" \
	"emulator-pin = 0-1,16-17"
new_line "--vcpus 4: two cores of the CCD without the host's" \
	"vcpu-pin = 8,24,9,25" --vcpus 4
new_line "--vcpus 24: more than a CCD holds, over both" \
	"cores = 12" --vcpus 24
new_line "64 GiB host: 16G by default" "memory = 16G"
new_line "1 GiB pages when the size is whole GiB" "hugepages = 1G"
new_line "--memory 9218M: 2 MiB pages" "hugepages = 2M" --memory 9218M
new_line "--looking-glass 2560x1440" "resolution = 2560x1440" \
	--looking-glass 2560x1440
comments() { sed -n 's/^; //p' "$1" | tr '\n' ' '; }
check "--looking-glass: the size in the comment" \
	grep -q "2560x1440 needs 64M of shared memory" <(comments "$TMP/x.ini")
new_line "--memory 62G: the host is left short" "memory = 62G" --memory 62G
check "--memory 62G: a warning says so" \
	grep -q "the guest leaves the host 2 GiB of memory" "$TMP/err"
"$FAKEHOST" set "$ROOT" node0.free_kb=1G
new_line "no room for hugepages: none" "hugepages = none" --memory 8G
check "no room for hugepages: a warning says so" \
	grep -q "too little free memory for the guest's 8 GiB" "$TMP/err"

build "$(fxfile dual-node-hybrid)"
new_line_d() {
	rm -f "$TMP/d.ini"
	vm new d --gpu 81:00.0 --out "$TMP/d.ini" >/dev/null 2>&1
	check "$1" grep -qxF "$2" "$TMP/d.ini"
}
new_line_d "GPU on node 1: memory there" "numa-node = 1"
new_line_d "GPU on node 1: the node's first core to the host" \
	"emulator-pin = 8,24"
new_line_d "cgroup v1 host: isolate off, with the reason" "isolate = no"

# ---- errors: a message, exit status, and no file ----
build "$(fxfile x570-5950x-rtx3080)"
refuse() { # NAME WANT ARGS...
	local name=$1 want=$2
	shift 2
	rm -f "$TMP/e.ini"
	vm new "$@" --out "$TMP/e.ini" >/dev/null 2>"$TMP/err"
	local rc=$?
	if [ $rc -ne 0 ] && [ ! -e "$TMP/e.ini" ] &&
		grep -qF -- "$want" "$TMP/err"; then
		ok "$name"
	else
		not_ok "$name (exit $rc)"
		sed 's/^/#   /' "$TMP/err"
	fi
}
refuse "no --gpu" "--gpu BDF is required" x
refuse "--gpu of no device" "--gpu 0000:0f:00.0: no such PCI device" \
	x --gpu 0f:00.0
refuse "--gpu of a USB controller" "is a USB controller (class 0c03), not a GPU" \
	x --gpu 02:00.0
refuse "--vcpus not whole cores" "give a multiple of 2" x --gpu 03:00.0 --vcpus 3
refuse "--vcpus more than the node" "ask for at most 28" x --gpu 03:00.0 \
	--vcpus 30
refuse "--memory more than the node" "node 0, the GPU's, has 64 GiB" \
	x --gpu 03:00.0 --memory 80G
refuse "--memory not a size" "--memory lots: not a size" x --gpu 03:00.0 \
	--memory lots
refuse "--looking-glass not WxH" "as WIDTHxHEIGHT" x --gpu 03:00.0 \
	--looking-glass big
refuse "a bad VM name" "'a b' is not a VM name" "a b" --gpu 03:00.0
echo "keep" >"$TMP/e.ini"
vm new x --gpu 03:00.0 --out "$TMP/e.ini" >/dev/null 2>"$TMP/err"
expect_eq "--out never overwrites" "keep" "$(cat "$TMP/e.ini")"
check "--out: says it exists" grep -q "it exists" "$TMP/err"
vm devices --gpu 03:00.0 >/dev/null 2>"$TMP/err"
expect_eq "--gpu with another command: usage error" \
	"vmrun: --gpu, --memory, --vcpus and --looking-glass go with \`vmrun new\` only" \
	"$(cat "$TMP/err")"
vm new x --gpu 03:00.0 >"$TMP/stdout" 2>/dev/null
check "no --out: the profile on stdout" grep -qx "\[pci.gpu\]" "$TMP/stdout"
done_testing
