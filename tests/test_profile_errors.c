/* test_profile_errors.c: every error message the profile parser can give,
 * each asserted word for word with its file:line, one test per case. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "profile/profile.h"

/* Three lines of a valid [vm]: the lines under test start at 4. */
#define VM "[vm]\nname = t\nmemory = 1G\n"
/* "@D" in a case stands for the test's folder (the profile's folder). */
static char tmpdir[64];

struct ecase {
	const char *name;
	const char *text;
	const char *want; /* the whole message, lines joined with \n */
};

static const struct ecase ecases[] = {
	/* the INI layer: sections */
	{"unknown section suggests the closest", VM "[vmm]\n",
	 "t.ini:4: unknown section [vmm], did you mean [vm]?"},
	{"section names are lower case", VM "[CPU]\n",
	 "t.ini:4: unknown section [CPU], did you mean [cpu]?"},
	{"unknown instance kind suggests with the name",
	 VM "[pcie.gpu]\nhost = 01:00.0\n",
	 "t.ini:4: unknown section [pcie.gpu], did you mean [pci.gpu]?"},
	{"unknown section lists the known ones", VM "[zzzzzz]\n",
	 "t.ini:4: unknown section [zzzzzz]; known sections: [vm], [firmware], "
	 "[cpu], [hyperv], [memory], [smbios], [clock], [pci.NAME], "
	 "[disk.NAME], [net.NAME], [looking-glass], [acpi], [usb], [input], "
	 "[audio], [tpm], [display], [host], [hooks], [qemu]"},
	{"singleton section with a name", VM "[vm.x]\n",
	 "t.ini:4: [vm] takes no name; write [vm]"},
	{"singleton section twice", VM "[cpu]\ncores = 2\n[cpu]\nthreads = 1\n",
	 "t.ini:6: [cpu] is already defined on line 4; keep each section in "
	 "one place"},
	{"instance section twice", VM "[disk.a]\nfile = x\n[disk.a]\n",
	 "t.ini:6: [disk.a] is already defined on line 4; keep each section "
	 "in one place"},
	{"instance sections without a name", VM "[pci]\n[disk]\n[net]\n",
	 "t.ini:4: [pci] needs a name: write [pci.NAME], e.g. [pci.gpu]\n"
	 "t.ini:5: [disk] needs a name: write [disk.NAME], e.g. "
	 "[disk.system]\n"
	 "t.ini:6: [net] needs a name: write [net.NAME], e.g. [net.lan]"},
	{"instance name with a space", VM "[pci.a b]\n",
	 "t.ini:4: [pci.a b]: 'a b' is not a valid name; use 1 to 32 letters, "
	 "digits, '_' or '-'"},
	{"instance name too long",
	 VM "[net.abcdefghijklmnopqrstuvwxyz0123456]\n",
	 "t.ini:4: [net.abcdefghijklmnopqrstuvwxyz0123456]: "
	 "'abcdefghijklmnopqrstuvwxyz0123456' is not a valid name; use 1 to "
	 "32 letters, digits, '_' or '-'"},
	{"instance name empty", VM "[pci.]\n",
	 "t.ini:4: [pci.]: '' is not a valid name; use 1 to 32 letters, "
	 "digits, '_' or '-'"},
	{"header without ]: its keys are skipped", VM "[cpu\ncores = x\n",
	 "t.ini:4: '[cpu' has no closing ']'"},
	{"text after a header", VM "[cpu] x\n",
	 "t.ini:4: unexpected text ' x' after the section header"},
	{"empty headers", VM "[]\n[ ]\n",
	 "t.ini:4: empty section header []\n"
	 "t.ini:5: empty section header []"},

	/* the INI layer: keys */
	{"unknown key suggests the closest", VM "memroy = 1G\n",
	 "t.ini:4: unknown key 'memroy' in [vm], did you mean 'memory'?"},
	{"unknown key in an instance section", VM "[net.lan]\nmdoe = user\n",
	 "t.ini:5: unknown key 'mdoe' in [net.lan], did you mean 'mode'?"},
	{"unknown key lists the known ones", VM "[clock]\nfoo = 1\n",
	 "t.ini:5: unknown key 'foo' in [clock]; known keys: base, hpet"},
	{"key before any section", "x = 1\n" VM,
	 "t.ini:1: 'x' is outside any section; put it under a header such as "
	 "[vm]"},
	{"duplicate key", VM "memory = 2G\n",
	 "t.ini:4: duplicate key 'memory' in [vm]; it is already set on line "
	 "3"},
	{"key without a value", VM "[cpu]\ncores =\n",
	 "t.ini:5: [cpu] cores has no value; remove the line to get the "
	 "default"},
	{"line without =", VM "[cpu]\ncores 4\n",
	 "t.ini:5: expected 'key = value', a [section] or a comment, not "
	 "'cores 4'"},
	{"an indented line does not continue a value",
	 VM "[qemu]\narg = -a\n  -b\n",
	 "t.ini:6: expected 'key = value', a [section] or a comment, not "
	 "'-b'"},
	{"line without a key", VM "[cpu]\n= 4\n: 4\n",
	 "t.ini:5: '= 4' has no key before '='\n"
	 "t.ini:6: ': 4' has no key before ':'"},

	/* whole profile */
	{"no [vm]", "[cpu]\ncores = 2\n",
	 "t.ini: there is no [vm] section; a profile needs at least [vm] name "
	 "and memory"},
	{"empty profile", "",
	 "t.ini: there is no [vm] section; a profile needs at least [vm] name "
	 "and memory"},
	{"required [vm] keys", "; x\n[vm]\n",
	 "t.ini:2: [vm] needs 'name' ([A-Za-z0-9_-]{1,32})\n"
	 "t.ini:2: [vm] needs 'memory' (a size such as 16G)"},
	{"required instance keys", VM "[pci.gpu]\nrombar = no\n[disk.d]\n",
	 "t.ini:4: [pci.gpu] needs 'host' (DDDD:BB:DD.F or BB:DD.F)\n"
	 "t.ini:6: [disk.d] needs 'file' (a path)"},
	{"errors come in line order", "[vm]\nmemory = lots\nname = a b\n",
	 "t.ini:2: [vm] memory: 'lots' is not a size; expected a number with "
	 "an optional K, M, G or T suffix, such as 16G\n"
	 "t.ini:3: [vm] name: 'a b' is not a valid name; use 1 to 32 letters, "
	 "digits, '_' or '-'"},

	/* values */
	{"control characters",
	 VM "[smbios]\nmode = custom\nbios-vendor = a\tb\n",
	 "t.ini:6: [smbios] bios-vendor: control characters are not allowed"},
	{"string too long", VM "[hyperv]\nvendor-id = GenuineIntel1\n",
	 "t.ini:5: [hyperv] vendor-id: 'GenuineIntel1' is 13 characters long; "
	 "the limit is 12"},
	{"CPU model with a comma", VM "[cpu]\nmodel = host,+x\n",
	 "t.ini:5: [cpu] model: 'host,+x' is not a valid name; use letters, "
	 "digits, '.', '_' and '-'"},
	{"user name", VM "run-as = -root\n",
	 "t.ini:4: [vm] run-as: '-root' is not a user or group name"},
	{"group name", VM "[looking-glass]\ngroup = k v m\n",
	 "t.ini:5: [looking-glass] group: 'k v m' is not a user or group "
	 "name"},
	{"interface name",
	 VM "[net.lan]\nmode = tap\ntap = tap-name-too-long\n",
	 "t.ini:6: [net.lan] tap: 'tap-name-too-long' is not a network "
	 "interface name; use up to 15 letters, digits, '.', '_' or '-'"},
	{"systemd unit", VM "[host]\nstop-units = gdm.service!\n",
	 "t.ini:5: [host] stop-units: 'gdm.service!' is not a systemd unit "
	 "name, such as display-manager.service"},
	{"boolean", VM "[cpu]\nisolate = maybe\n",
	 "t.ini:5: [cpu] isolate: 'maybe' is not a boolean; use yes/no, "
	 "on/off, true/false or 1/0"},
	{"number", VM "[cpu]\ncores = four\n",
	 "t.ini:5: [cpu] cores: 'four' is not a whole number; expected 1 to "
	 "288"},
	{"number out of range",
	 VM "shutdown-timeout = 0\n[display]\ntype = "
	    "vnc\nport = 65536\n",
	 "t.ini:4: [vm] shutdown-timeout: 0 is out of range; expected 1 to "
	 "3600\n"
	 "t.ini:7: [display] port: 65536 is out of range; expected 1 to "
	 "65535"},
	{"boot index 0", VM "[disk.d]\nfile = /x\nboot = 0\n",
	 "t.ini:6: [disk.d] boot: 0 is out of range; expected 1 to 999"},
	{"enum", VM "accel = kbm\n",
	 "t.ini:4: [vm] accel: 'kbm' is not allowed; use one of: kvm, tcg"},
	{"tristate", VM "[host]\nunbind-efifb = sometimes\n",
	 "t.ini:5: [host] unbind-efifb: 'sometimes' is not allowed; use one "
	 "of: auto, yes, no"},
	{"grab-toggle",
	 VM "[input]\nevdev = /dev/input/x\ngrab-toggle = "
	    "ctrl-alt\n",
	 "t.ini:6: [input] grab-toggle: 'ctrl-alt' is not allowed; use one "
	 "of: ctrl-ctrl, alt-alt, shift-shift, meta-meta, scrolllock, "
	 "ctrl-scrolllock"},
	{"size", "[vm]\nname = t\nmemory = 16Q\n",
	 "t.ini:3: [vm] memory: '16Q' is not a size; expected a number with "
	 "an optional K, M, G or T suffix, such as 16G"},
	{"size too small", "[vm]\nname = t\nmemory = 64M\n",
	 "t.ini:3: [vm] memory: 64M is too small; the minimum is 128M"},
	{"size too large", "[vm]\nname = t\nmemory = 17T\n",
	 "t.ini:3: [vm] memory: 17T is too large; the maximum is 16T"},
	{"size overflow", "[vm]\nname = t\nmemory = 99999999999T\n",
	 "t.ini:3: [vm] memory: 99999999999T is too large; the maximum is 16T"},
	{"size overflow, the issue's value",
	 "[vm]\nname = t\nmemory = 99999999T\n",
	 "t.ini:3: [vm] memory: 99999999T is too large; the maximum is 16T"},
	{"size overflow without a suffix",
	 "[vm]\nname = t\nmemory = 99999999999999999999\n",
	 "t.ini:3: [vm] memory: 99999999999999999999 is too large; the "
	 "maximum is 16T"},
	{"CPU list", VM "[cpu]\nvcpu-pin = 0-3,x\nemulator-pin = 3-1\n",
	 "t.ini:5: [cpu] vcpu-pin: '0-3,x' is not a CPU list: expected the "
	 "kernel's list syntax, e.g. 0-3,8\n"
	 "t.ini:6: [cpu] emulator-pin: '3-1' is not a CPU list: a range must "
	 "go upwards (e.g. 2-5)"},
	{"VM name too long",
	 "[vm]\nname = abcdefghijklmnopqrstuvwxyz0123456\n"
	 "memory = 1G\n",
	 "t.ini:2: [vm] name: 'abcdefghijklmnopqrstuvwxyz0123456' is not a "
	 "valid name; use 1 to 32 letters, digits, '_' or '-'"},
	{"UUID", VM "uuid = 3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f\n",
	 "t.ini:4: [vm] uuid: '3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f' is not a "
	 "UUID; expected the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex "
	 "digits), e.g. from uuidgen"},
	{"UUID with braces",
	 VM "uuid = {3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f8}\n",
	 "t.ini:4: [vm] uuid: '{3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f8}' is not "
	 "a UUID; expected the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex "
	 "digits), e.g. from uuidgen"},
	{"machine", VM "machine = pc\n",
	 "t.ini:4: [vm] machine: 'pc' is not supported; use q35 or a "
	 "versioned pc-q35-X.Y such as pc-q35-7.2 (PCIe passthrough needs the "
	 "Q35 chipset)"},
	{"machine without a minor version", VM "machine = pc-q35-7\n",
	 "t.ini:4: [vm] machine: 'pc-q35-7' is not supported; use q35 or a "
	 "versioned pc-q35-X.Y such as pc-q35-7.2 (PCIe passthrough needs the "
	 "Q35 chipset)"},
	{"machine with trailing text", VM "machine = pc-q35-7.2x\n",
	 "t.ini:4: [vm] machine: 'pc-q35-7.2x' is not supported; use q35 or a "
	 "versioned pc-q35-X.Y such as pc-q35-7.2 (PCIe passthrough needs the "
	 "Q35 chipset)"},
	{"NUMA node", VM "[memory]\nnuma-node = 1024\n",
	 "t.ini:5: [memory] numa-node: '1024' is not a NUMA node; use auto or "
	 "a node number from 0 to 1023"},
	{"no prealloc threads", VM "[memory]\nprealloc-threads = 0\n",
	 "t.ini:5: [memory] prealloc-threads: '0' is not a count; use auto or "
	 "a number from 1 to 256"},
	{"too many prealloc threads", VM "[memory]\nprealloc-threads = 257\n",
	 "t.ini:5: [memory] prealloc-threads: '257' is not a count; use auto "
	 "or a number from 1 to 256"},
	{"host PCI address", VM "[pci.gpu]\nhost = 1:2:3\n",
	 "t.ini:5: [pci.gpu] host: '1:2:3' is not a PCI address; expected "
	 "DDDD:BB:DD.F or BB:DD.F such as 01:00.0 (see lspci -D)"},
	{"guest address with a domain",
	 VM "[pci.gpu]\nhost = 01:00.0\n"
	    "guest-address = 0001:01:00.0\n",
	 "t.ini:6: [pci.gpu] guest-address: '0001:01:00.0' is not a guest PCI "
	 "address; expected BB:DD.F such as 01:00.0"},
	{"guest address of the host bridge",
	 VM "[pci.gpu]\nhost = 01:00.0\n"
	    "guest-address = 00:00.1\n",
	 "t.ini:6: [pci.gpu] guest-address: 00:00.1 is the guest's host "
	 "bridge (slot 00:00); use another address, e.g. 01:00.0"},
	{"guest address of the ICH9 functions",
	 VM "[pci.gpu]\nhost = 01:00.0\nguest-address = 00:1f.3\n",
	 "t.ini:6: [pci.gpu] guest-address: 00:1f.3 is taken by the ICH9 "
	 "LPC/SATA/SMBus functions (slot 00:1f); use another address, e.g. "
	 "01:00.0"},
	{"16-bit IDs",
	 VM "[pci.gpu]\nhost = 01:00.0\nvendor-id = 10ZE\n"
	    "device-id = 0x12345\nsub-vendor-id = 0x\n",
	 "t.ini:6: [pci.gpu] vendor-id: '10ZE' is not a 16-bit hex ID; "
	 "expected e.g. 10de or 0x10de (or host)\n"
	 "t.ini:7: [pci.gpu] device-id: '0x12345' is not a 16-bit hex ID; "
	 "expected e.g. 10de or 0x10de (or host)\n"
	 "t.ini:8: [pci.gpu] sub-vendor-id: '0x' is not a 16-bit hex ID; "
	 "expected e.g. 10de or 0x10de (or host)"},
	{"MAC syntax",
	 VM "[net.a]\nmac = 52:54:00:12:34\n[net.b]\n"
	    "mac = 52-54-00-12-34-56\n[net.c]\n"
	    "mac = 52:54:00:12:34:5g\n",
	 "t.ini:5: [net.a] mac: '52:54:00:12:34' is not a MAC address; "
	 "expected six hex bytes such as 52:54:00:12:34:56\n"
	 "t.ini:7: [net.b] mac: '52-54-00-12-34-56' is not a MAC address; "
	 "expected six hex bytes such as 52:54:00:12:34:56\n"
	 "t.ini:9: [net.c] mac: '52:54:00:12:34:5g' is not a MAC address; "
	 "expected six hex bytes such as 52:54:00:12:34:56"},
	{"multicast MAC", VM "[net.lan]\nmac = 01:00:5e:00:00:01\n",
	 "t.ini:5: [net.lan] mac: 01:00:5e:00:00:01 is a multicast address; "
	 "the first byte must be even (e.g. 52:54:00:...)"},
	{"zero MAC", VM "[net.lan]\nmac = 00:00:00:00:00:00\n",
	 "t.ini:5: [net.lan] mac: 00:00:00:00:00:00 is not a usable MAC "
	 "address"},
	{"USB device", VM "[usb]\ndevice = 046d\n",
	 "t.ini:5: [usb] device: '046d' is not a USB device; expected "
	 "VENDOR:PRODUCT in hex (see lsusb, e.g. 046d:c52b) or BUS-PORT (e.g. "
	 "1-2.3)"},
	{"USB device twice",
	 VM "[usb]\ndevice = 046d:c52b\ndevice = 1-2\n"
	    "device = 046D:C52B\ndevice = 1-2\n",
	 "t.ini:7: [usb] device: 046D:C52B is listed twice\n"
	 "t.ini:8: [usb] device: 1-2 is listed twice"},
	{"listen address", VM "[display]\ntype = vnc\nlisten = localhost\n",
	 "t.ini:6: [display] listen: 'localhost' is not an IP address; use "
	 "e.g. 127.0.0.1, 0.0.0.0 or ::1"},

	/* paths */
	{"${name} without a valid name",
	 "[vm]\nname = a b\nmemory = 1G\n"
	 "[disk.d]\nfile = ${name}.img\n",
	 "t.ini:2: [vm] name: 'a b' is not a valid name; use 1 to 32 letters, "
	 "digits, '_' or '-'\n"
	 "t.ini:5: [disk.d] file: '${name}.img' uses ${name} but [vm] name is "
	 "missing or invalid"},
	{"${state-dir} in state-dir", VM "state-dir = ${state-dir}/x\n",
	 "t.ini:4: [vm] state-dir: ${state-dir} cannot be used in [vm] "
	 "state-dir itself"},
	{"unknown variable", VM "[disk.d]\nfile = ${home}/x.img\n",
	 "t.ini:5: [disk.d] file: unknown variable ${home} in '${home}/x.img'; "
	 "paths may use ${name} and ${state-dir}"},
	{"unterminated variable", VM "[disk.d]\nfile = ${name.img\n",
	 "t.ini:5: [disk.d] file: '${name.img' has a '${' without its '}'"},
	{"QEMU program name", VM "qemu = qemu system\n",
	 "t.ini:4: [vm] qemu: 'qemu system' is not a program name or path"},
	{"romfile missing", VM "[pci.gpu]\nhost = 01:00.0\nromfile = no.rom\n",
	 "t.ini:6: [pci.gpu] romfile: @D/no.rom does not exist"},
	{"romfile under a file",
	 VM "[pci.gpu]\nhost = 01:00.0\n"
	    "romfile = good.rom/x\n",
	 "t.ini:6: [pci.gpu] romfile: cannot access @D/good.rom/x: Not a "
	 "directory"},
	{"romfile is a folder", VM "[pci.gpu]\nhost = 01:00.0\nromfile = sub\n",
	 "t.ini:6: [pci.gpu] romfile: @D/sub is not a regular file"},
	{"romfile too short",
	 VM "[pci.gpu]\nhost = 01:00.0\n"
	    "romfile = short.rom\n",
	 "t.ini:6: [pci.gpu] romfile: @D/short.rom is too short to be an "
	 "option ROM; dump the vBIOS again or leave romfile out"},
	{"romfile without 0x55AA",
	 VM "[pci.gpu]\nhost = 01:00.0\n"
	    "romfile = ${name}.exe\n",
	 "t.ini:6: [pci.gpu] romfile: @D/t.exe does not start with the option "
	 "ROM signature 0x55AA (it starts with 0x4D5A); dump the vBIOS again "
	 "or leave romfile out"},
	{"ACPI table missing", VM "[acpi]\ntable = ssdt.aml\ntable = no.aml\n",
	 "t.ini:6: [acpi] table: @D/no.aml does not exist"},
	{"ACPI table is a folder", VM "[acpi]\ntable = ./sub\n",
	 "t.ini:5: [acpi] table: @D/sub is not a regular file"},
	{"hook not executable", VM "[hooks]\npre-start = noexec.sh\n",
	 "t.ini:5: [hooks] pre-start: @D/noexec.sh is not executable; run "
	 "chmod +x on it"},
	{"hook missing", VM "[hooks]\npost-stop = /nonexistent/hook\n",
	 "t.ini:5: [hooks] post-stop: /nonexistent/hook does not exist"},
	{"Looking Glass device", VM "[looking-glass]\ndevice = /tmp/lg\n",
	 "t.ini:5: [looking-glass] device: '/tmp/lg' is neither a file in "
	 "/dev/shm (/dev/shm/NAME) nor a kvmfr device (/dev/kvmfrN)"},
	{"Looking Glass kvmfr without a number",
	 VM "[looking-glass]\n"
	    "device = /dev/kvmfr\n",
	 "t.ini:5: [looking-glass] device: '/dev/kvmfr' is neither a file in "
	 "/dev/shm (/dev/shm/NAME) nor a kvmfr device (/dev/kvmfrN)"},
	{"Looking Glass shm without a name",
	 VM "[looking-glass]\n"
	    "device = /dev/shm/\n",
	 "t.ini:5: [looking-glass] device: '/dev/shm/' is neither a file in "
	 "/dev/shm (/dev/shm/NAME) nor a kvmfr device (/dev/kvmfrN)"},
	{"Looking Glass shm in a folder",
	 VM "[looking-glass]\n"
	    "device = /dev/shm/a/b\n",
	 "t.ini:5: [looking-glass] device: '/dev/shm/a/b' is neither a file in "
	 "/dev/shm (/dev/shm/NAME) nor a kvmfr device (/dev/kvmfrN)"},

	/* Hyper-V */
	{"enlightenment typo", VM "[hyperv]\nenlightenments = relaxd\n",
	 "t.ini:5: [hyperv] enlightenments: unknown enlightenment 'relaxd', "
	 "did you mean 'relaxed'?"},
	{"unknown enlightenment", VM "[hyperv]\nenlightenments = vapic,foo\n",
	 "t.ini:5: [hyperv] enlightenments: unknown enlightenment 'foo'; "
	 "known: relaxed, vapic, spinlocks=N, vpindex, runtime, crash, time, "
	 "synic, stimer, stimer-direct, tlbflush, tlbflush-ext, "
	 "tlbflush-direct, ipi, reset, frequencies, reenlightenment, evmcs, "
	 "avic, xmm-input, emsr-bitmap, syndbg"},
	{"enlightenment with a value",
	 VM "[hyperv]\nenlightenments = "
	    "relaxed=on\n",
	 "t.ini:5: [hyperv] enlightenments: 'relaxed' takes no value"},
	{"spinlocks without a value",
	 VM "[hyperv]\nenlightenments = "
	    "spinlocks\n",
	 "t.ini:5: [hyperv] enlightenments: spinlocks needs a retry count, "
	 "e.g. spinlocks=8191"},
	{"spinlocks below 0xfff",
	 VM "[hyperv]\nenlightenments = "
	    "spinlocks=4094\n",
	 "t.ini:5: [hyperv] enlightenments: spinlocks=4094: expected a number "
	 "from 4095 (0xfff) to 4294967295"},
	{"enlightenment twice", VM "[hyperv]\nenlightenments = default,vapic\n",
	 "t.ini:5: [hyperv] enlightenments: 'vapic' is listed twice"},
	{"empty enlightenment",
	 VM "[hyperv]\nenlightenments = relaxed,,vapic\n",
	 "t.ini:5: [hyperv] enlightenments: 'relaxed,,vapic' has an empty "
	 "item"},
	{"bare hv- prefix", VM "[hyperv]\nenlightenments = relaxed,hv-\n",
	 "t.ini:5: [hyperv] enlightenments: 'relaxed,hv-' has an empty item"},
	{"none in a list", VM "[hyperv]\nenlightenments = relaxed,none\n",
	 "t.ini:5: [hyperv] enlightenments: 'none' cannot be combined with "
	 "other enlightenments"},

	/* Looking Glass sizes */
	{"LG size", VM "[looking-glass]\nsize = big\n",
	 "t.ini:5: [looking-glass] size: 'big' is neither auto nor a size such "
	 "as 64M"},
	{"LG size too small", VM "[looking-glass]\nsize = 512K\n",
	 "t.ini:5: [looking-glass] size: 512K is too small; the minimum is 1M"},
	{"the same host thrice: each clash once",
	 VM "[pci.a]\nhost = 01:00.0\n[pci.b]\nhost = 01:00.0\n"
	    "[pci.c]\nhost = 01:00.0\n",
	 "t.ini:7: [pci.b] host 0000:01:00.0 is already passed through by "
	 "[pci.a]\n"
	 "t.ini:9: [pci.c] host 0000:01:00.0 is already passed through by "
	 "[pci.a]"},
	{"LG size past 2^64 bytes", VM "[looking-glass]\nsize = 99999999T\n",
	 "t.ini:5: [looking-glass] size: 99999999T is too large; the maximum "
	 "is 4G"},
	{"LG size too large", VM "[looking-glass]\nsize = 8G\n",
	 "t.ini:5: [looking-glass] size: 8G is too large; the maximum is 4G"},
	{"LG size not a power of two", VM "[looking-glass]\nsize = 48M\n",
	 "t.ini:5: [looking-glass] size: 48M is not a power of two, which "
	 "Looking Glass needs (e.g. 32M, 64M, 128M), or use auto"},
	{"LG resolution", VM "[looking-glass]\nresolution = 1920*1080\n",
	 "t.ini:5: [looking-glass] resolution: '1920*1080' is not a "
	 "resolution; expected WIDTHxHEIGHT such as 2560x1440"},
	{"LG resolution range", VM "[looking-glass]\nresolution = 0x1080\n",
	 "t.ini:5: [looking-glass] resolution: 0x1080 is out of range; width "
	 "and height go from 1 to 16384"},

	{"LG resolution without a height",
	 VM "[looking-glass]\n"
	    "resolution = 1920x\n",
	 "t.ini:5: [looking-glass] resolution: '1920x' is not a resolution; "
	 "expected WIDTHxHEIGHT such as 2560x1440"},

	/* across fields */
	{"too many vCPUs", VM "[cpu]\nsockets = 16\ncores = 20\n",
	 "t.ini:6: [cpu] sockets x cores x threads = 16 x 20 x 1 = 320 vCPUs; "
	 "the q35 machine takes at most 288"},
	{"vcpu-pin shorter than the vCPUs",
	 VM "[cpu]\ncores = 8\nthreads = 2\n"
	    "vcpu-pin = 0-14\n",
	 "t.ini:7: [cpu] vcpu-pin lists 15 CPUs but the guest has 16 vCPUs"},
	{"vcpu-pin longer than the vCPUs",
	 VM "[cpu]\ncores = 1\n"
	    "vcpu-pin = 0-1\n",
	 "t.ini:6: [cpu] vcpu-pin lists 2 CPUs but the guest has 1 vCPU"},
	{"vcpu-pin of one CPU", VM "[cpu]\nvcpu-pin = 3\n",
	 "t.ini:5: [cpu] vcpu-pin lists 1 CPU but the guest has 2 vCPUs"},
	{"emulator-pin overlaps",
	 VM "[cpu]\ncores = 4\nvcpu-pin = 2-5\n"
	    "emulator-pin = 0-3\n",
	 "t.ini:7: [cpu] emulator-pin shares CPUs 2-3 with vcpu-pin; give "
	 "QEMU's other threads CPUs of their own"},
	{"emulator-pin overlaps by one",
	 VM "[cpu]\nvcpu-pin = 2,5\n"
	    "emulator-pin = 5\n",
	 "t.ini:6: [cpu] emulator-pin shares CPU 5 with vcpu-pin; give QEMU's "
	 "other threads CPUs of their own"},
	{"isolate without vcpu-pin", VM "[cpu]\nisolate = yes\n",
	 "t.ini:5: [cpu] isolate = yes needs vcpu-pin: the guest gets the CPUs "
	 "in vcpu-pin, the host keeps the others"},
	{"1G pages",
	 "[vm]\nname = t\nmemory = 1536M\n[memory]\nhugepages = 1G\n",
	 "t.ini:3: [vm] memory = 1536M is not a multiple of the 1G huge page "
	 "size ([memory] hugepages = 1G)"},
	{"2M pages",
	 "[vm]\nname = t\nmemory = 1048577K\n[memory]\n"
	 "hugepages = 2m\n",
	 "t.ini:3: [vm] memory = 1048577K is not a multiple of the 2M huge "
	 "page size ([memory] hugepages = 2M)"},
	{"2M pages, memory in bytes",
	 "[vm]\nname = t\nmemory = 1073741825\n"
	 "[memory]\nhugepages = 2M\n",
	 "t.ini:3: [vm] memory = 1073741825 is not a multiple of the 2M huge "
	 "page size ([memory] hugepages = 2M)"},
	{"SeaBIOS with OVMF keys",
	 VM "[firmware]\ntype = seabios\n"
	    "secure-boot = yes\ncode = /c.fd\n"
	    "vars-template = /t.fd\nvars = /v.fd\n",
	 "t.ini:6: [firmware] secure-boot = yes needs UEFI: use type = ovmf "
	 "(SeaBIOS has no Secure Boot)\n"
	 "t.ini:7: [firmware] code is only used with type = ovmf\n"
	 "t.ini:8: [firmware] vars-template is only used with type = ovmf\n"
	 "t.ini:9: [firmware] vars is only used with type = ovmf"},
	{"SMBIOS strings without custom",
	 VM "[smbios]\nmode = host\n"
	    "system-serial = 1234\n",
	 "t.ini:6: [smbios] system-serial is only used with mode = custom"},
	{"same host device twice",
	 VM "[pci.a]\nhost = 01:00.0\n[pci.b]\n"
	    "host = 0000:01:00.0\n",
	 "t.ini:7: [pci.b] host 0000:01:00.0 is already passed through by "
	 "[pci.a]"},
	{"same guest address twice",
	 VM "[pci.a]\nhost = 01:00.0\n"
	    "guest-address = 01:00.0\n[pci.b]\n"
	    "host = 02:00.0\n"
	    "guest-address = 1:0.0\n",
	 "t.ini:9: [pci.b] guest-address 01:00.0 is already used by [pci.a]"},
	{"same boot index twice",
	 VM "[pci.gpu]\nhost = 01:00.0\nboot = 1\n"
	    "[disk.d]\nfile = /x.img\nboot = 1\n"
	    "[disk.e]\nfile = /y.img\nboot = 1\n",
	 "t.ini:9: [disk.d] boot = 1 is already used by [pci.gpu]\n"
	 "t.ini:12: [disk.e] boot = 1 is already used by [pci.gpu]"},
	{"same boot index on two disks",
	 VM "[disk.d]\nfile = /x.img\nboot = 3\n"
	    "[disk.e]\nfile = /y.img\nboot = 3\n",
	 "t.ini:9: [disk.e] boot = 3 is already used by [disk.d]"},
	{"virtio CD-ROM", VM "[disk.cd]\nfile = /x.iso\nmedia = cdrom\n",
	 "t.ini:6: [disk.cd] media = cdrom needs interface = sata or scsi (a "
	 "virtio disk cannot be a CD-ROM)"},
	{"NVMe CD-ROM",
	 VM "[disk.cd]\nfile = /x.iso\ninterface = nvme\n"
	    "media = cdrom\n",
	 "t.ini:7: [disk.cd] media = cdrom needs interface = sata or scsi (an "
	 "nvme disk cannot be a CD-ROM)"},
	{"bridge mode without a bridge", VM "[net.lan]\nmode = bridge\n",
	 "t.ini:5: [net.lan] mode = bridge needs bridge = NAME (e.g. br0)"},
	{"tap mode without a tap", VM "[net.lan]\nmode = tap\n",
	 "t.ini:5: [net.lan] mode = tap needs tap = NAME (an existing tap "
	 "device)"},
	{"bridge and tap in other modes",
	 VM "[net.lan]\nbridge = br0\n"
	    "tap = tap0\n",
	 "t.ini:5: [net.lan] bridge is only used with mode = bridge\n"
	 "t.ini:6: [net.lan] tap is only used with mode = tap"},
	{"same MAC twice",
	 VM "[net.a]\nmac = 52:54:00:00:00:01\n[net.b]\n"
	    "mac = 52:54:00:00:00:01\n",
	 "t.ini:7: [net.b] mac 52:54:00:00:00:01 is already used by [net.a]"},
	{"LG resolution with a fixed size",
	 VM "[looking-glass]\nsize = 64M\n"
	    "resolution = 3840x2160\n"
	    "hdr = yes\n",
	 "t.ini:6: [looking-glass] resolution is only used with size = auto\n"
	 "t.ini:7: [looking-glass] hdr is only used with size = auto"},
	{"listen and port without spice or vnc",
	 VM "[display]\n"
	    "listen = 0.0.0.0\n"
	    "port = 5901\n",
	 "t.ini:5: [display] listen is only used with type = spice or vnc\n"
	 "t.ini:6: [display] port is only used with type = spice or vnc"},
	{"VNC port below 5900", VM "[display]\ntype = vnc\nport = 5800\n",
	 "t.ini:6: [display] port = 5800: VNC ports start at 5900 (display "
	 ":0)"},
	{"TPM state without swtpm", VM "[tpm]\nstate = /x\n",
	 "t.ini:5: [tpm] state is only used with type = swtpm"},
	{"grab-toggle without evdev", VM "[input]\ngrab-toggle = alt-alt\n",
	 "t.ini:5: [input] grab-toggle is only used with evdev devices"},
};

/* want with "@D" replaced by the test folder; caller frees. */
static char *subst(const char *s)
{
	size_t n = strlen(s) + 1;
	char *out, *o;

	for (const char *p = strstr(s, "@D"); p; p = strstr(p + 2, "@D"))
		n += strlen(tmpdir);
	out = o = malloc(n);
	assert_non_null(out);
	while (*s) {
		if (s[0] == '@' && s[1] == 'D') {
			o = stpcpy(o, tmpdir);
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static void expect_errors(const char *text, const char *want)
{
	struct profile p;
	struct vr_error err = {0};
	char *w = subst(want);

	assert_int_equal(profile_load_string(text, "t.ini", tmpdir, &p, &err),
			 -EINVAL);
	assert_string_equal(err.msg, w);
	assert_int_equal(err.code, EINVAL);
	/* nothing is left behind on failure */
	assert_null(p.path);
	assert_null(p.pci);
	profile_free(&p);
	free(w);
}

static void run_case(void **state)
{
	const struct ecase *c = *state;

	expect_errors(c->text, c->want);
}

static void write_file(const char *name, const void *data, size_t len,
		       mode_t mode)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int setup(void **state)
{
	char sub[96];

	(void)state;
	strcpy(tmpdir, "/tmp/vmrun-profile-errors.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	write_file("good.rom", "\x55\xaa\x10\x00", 4, 0644);
	write_file("short.rom", "\x55", 1, 0644);
	write_file("t.exe", "MZ\x90\x00", 4, 0644);
	write_file("ssdt.aml", "SSDT", 4, 0644);
	write_file("noexec.sh", "#!/bin/sh\n", 10, 0644);
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	return mkdir(sub, 0755);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

/* A line longer than inih's buffer is reported, not split in two. */
static void test_long_line(void **state)
{
	char text[400], want[128];

	(void)state;
	snprintf(text, sizeof(text), VM "[qemu]\narg = %0200d\n", 7);
	snprintf(want, sizeof(want),
		 "t.ini:5: the line is %zu characters long; the limit is 198",
		 strlen("arg = ") + 200);
	expect_errors(text, want);
}

/* A read error in the middle of a romfile: /proc/self/mem has no page at
 * offset 0, so read() fails with EIO even for root. */
static void test_romfile_unreadable(void **state)
{
	(void)state;
	if (access("/proc/self/mem", F_OK))
		skip();
	expect_errors(VM
		      "[pci.gpu]\nhost = 01:00.0\nromfile = /proc/self/mem\n",
		      "t.ini:6: [pci.gpu] romfile: cannot read /proc/self/mem: "
		      "Input/output error");
}

/* open() refused: a mode 000 file for users, a write-only sysctl for root
 * (root passes file modes, not sysctl ones). */
static void test_acpi_table_unreadable(void **state)
{
	const char *path = "/proc/sys/vm/compact_memory";
	char text[256], want[256], own[128];

	(void)state;
	if (geteuid()) {
		write_file("secret.aml", "x", 1, 0);
		snprintf(own, sizeof(own), "%s/secret.aml", tmpdir);
		path = own;
	} else if (access(path, F_OK)) {
		skip();
	}
	snprintf(text, sizeof(text), VM "[acpi]\ntable = %s\n", path);
	snprintf(want, sizeof(want),
		 "t.ini:5: [acpi] table: cannot read %s: Permission denied",
		 path);
	expect_errors(text, want);
}

/* Every malformed [usb] device gets the same explanation. */
static void test_usb_forms(void **state)
{
	static const char *const bad[] = {
		"1-",
		"0-1",
		"256-1",
		"1-0",
		"1-256",
		"1-2..3",
		"1-2.3.",
		"-1",
		"a-1",
		"1-a",
		"1:",
		":1",
		"12345:1",
		"1:12345",
		"x:1",
		"1:2:3",
		"1-2-3",
		"1-1.2.3.4.5.6.7.8",
		"1-1.2.3.4.5.6.7.8.9.10.11.12.13.14.15",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[160], want[256];

		snprintf(text, sizeof(text), VM "[usb]\ndevice = %s\n", bad[i]);
		snprintf(want, sizeof(want),
			 "t.ini:5: [usb] device: '%s' is not a USB device; "
			 "expected VENDOR:PRODUCT in hex (see lsusb, e.g. "
			 "046d:c52b) or BUS-PORT (e.g. 1-2.3)",
			 bad[i]);
		expect_errors(text, want);
	}
}

/* 10000 [pci.*] sections passing the same function: sections past the
 * limit are refused, in a moment, not the 45 s of a quadratic walk that
 * reported 50 million clashes. */
static void test_many_pci_sections(void **state)
{
	size_t len = 0, cap = 512 * 1024;
	char *text = malloc(cap);
	struct profile p;
	struct vr_error err = {0};
	struct timespec t0, t1;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text, cap, VM);
	for (int i = 0; i < 10000; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"[pci.g%d]\nhost = 01:00.0\n", i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(profile_load_string(text, "t.ini", tmpdir, &p, &err),
			 -EINVAL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_int_equal(strncmp(err.msg,
				 "t.ini:132: [pci.g64]: a profile holds at "
				 "most 64 [pci.*] sections\n",
				 66),
			 0);
	profile_free(&p);
	free(text);
}

/* More problems than fit in one struct vr_error: the rest are counted. */
static void test_too_many_errors(void **state)
{
	size_t len = 0, cap = 64 * 1024;
	char *text = malloc(cap);
	struct profile p;
	struct vr_error err = {0};
	const char *last;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text, cap, VM);
	for (int i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, cap - len, "bad%d = 1\n",
					i);
	assert_int_equal(profile_load_string(text, "t.ini", tmpdir, &p, &err),
			 -EINVAL);
	assert_true(strlen(err.msg) < sizeof(err.msg) - 1);
	assert_non_null(strstr(err.msg, "t.ini:4: unknown key 'bad0' in [vm]"));
	last = strrchr(err.msg, '\n') + 1;
	assert_non_null(strstr(last, "more errors not shown"));
	assert_int_equal(strncmp(last, "t.ini: ", 7), 0);
	/* every line shown plus the count is the 300 errors */
	{
		size_t lines = 0, more = strtoul(last + 7, NULL, 10);

		for (const char *s = err.msg; s < last; s++)
			lines += *s == '\n';
		assert_int_equal(lines + more, 300);
	}
	free(text);
}

static void test_file_errors(void **state)
{
	struct profile p;
	struct vr_error err = {0};
	char path[128], want[256], big[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.ini", tmpdir);
	assert_int_equal(profile_load(path, &p, &err), -ENOENT);
	snprintf(want, sizeof(want),
		 "cannot read profile %s: No such file or directory", path);
	assert_string_equal(err.msg, want);

	snprintf(path, sizeof(path), "%s/sub", tmpdir);
	assert_int_equal(profile_load(path, &p, &err), -EISDIR);
	snprintf(want, sizeof(want), "cannot read profile %s: Is a directory",
		 path);
	assert_string_equal(err.msg, want);

	write_file("nul.ini", "[vm]\nname = a\0b\nmemory = 1G\n", 27, 0644);
	snprintf(path, sizeof(path), "%s/nul.ini", tmpdir);
	assert_int_equal(profile_load(path, &p, &err), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: contains a NUL byte; a profile is a text file", path);
	assert_string_equal(err.msg, want);

	memset(big, ';', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	snprintf(path, sizeof(path), "%s/big.ini", tmpdir);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		for (int i = 0; i < 257; i++)
			assert_int_equal(fwrite(big, 1, sizeof(big), f),
					 sizeof(big));
		fclose(f);
	}
	assert_int_equal(profile_load(path, &p, &err), -EFBIG);
	snprintf(want, sizeof(want),
		 "%s: larger than 1 MiB; is it really a profile?", path);
	assert_string_equal(err.msg, want);
	assert_null(p.path);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_usb_forms),
		cmocka_unit_test(test_romfile_unreadable),
		cmocka_unit_test(test_acpi_table_unreadable),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_many_pci_sections),
		cmocka_unit_test(test_file_errors),
	};
	size_t n = ARRAY_SIZE(ecases) + ARRAY_SIZE(fixed);
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int r;

	if (!tests)
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(ecases); i++)
		tests[i] = (struct CMUnitTest){.name = ecases[i].name,
					       .test_func = run_case,
					       .initial_state =
						       (void *)&ecases[i]};
	memcpy(tests + ARRAY_SIZE(ecases), fixed, sizeof(fixed));
	r = _cmocka_run_group_tests("profile_errors", tests, n, setup,
				    teardown);
	free(tests);
	return r;
}
