/* schema.c: the one table of every section and key of PROFILE.md.
 * Parsing, defaults, required keys and the docs (--help, man page) use it. */
#include "profile/schema.h"

#include <stdio.h>
#include <string.h>

enum {
	SEC_VM,
	SEC_FIRMWARE,
	SEC_CPU,
	SEC_HYPERV,
	SEC_MEMORY,
	SEC_SMBIOS,
	SEC_CLOCK,
	SEC_PCI,
	SEC_DISK,
	SEC_NET,
	SEC_LG,
	SEC_ACPI,
	SEC_USB,
	SEC_INPUT,
	SEC_AUDIO,
	SEC_TPM,
	SEC_DISPLAY,
	SEC_HOST,
	SEC_HOOKS,
	SEC_QEMU,
};

#define ONE(n, member)                                                         \
	{                                                                      \
		.name = n, .offset = offsetof(struct profile, member)          \
	}
#define MANY(n, arr, cnt, st)                                                  \
	{                                                                      \
		.name = n, .instance = true,                                   \
		.offset = offsetof(struct profile, arr),                       \
		.count_offset = offsetof(struct profile, cnt),                 \
		.size = sizeof(struct st),                                     \
		.name_offset = offsetof(struct st, name),                      \
		.line_offset = offsetof(struct st, line)                       \
	}

/* [usb] and [qemu] have no struct of their own: their keys are fields of
 * struct profile itself (offset 0). */
const struct psection profile_sections[] = {
	[SEC_VM] = ONE("vm", vm),
	[SEC_FIRMWARE] = ONE("firmware", firmware),
	[SEC_CPU] = ONE("cpu", cpu),
	[SEC_HYPERV] = ONE("hyperv", hyperv),
	[SEC_MEMORY] = ONE("memory", memory),
	[SEC_SMBIOS] = ONE("smbios", smbios),
	[SEC_CLOCK] = ONE("clock", clock),
	[SEC_PCI] = MANY("pci", pci, npci, profile_pci),
	[SEC_DISK] = MANY("disk", disk, ndisk, profile_disk),
	[SEC_NET] = MANY("net", net, nnet, profile_net),
	[SEC_LG] = ONE("looking-glass", lg),
	[SEC_ACPI] = ONE("acpi", acpi),
	[SEC_USB] = {.name = "usb"},
	[SEC_INPUT] = ONE("input", input),
	[SEC_AUDIO] = ONE("audio", audio),
	[SEC_TPM] = ONE("tpm", tpm),
	[SEC_DISPLAY] = ONE("display", display),
	[SEC_HOST] = ONE("host", host),
	[SEC_HOOKS] = ONE("hooks", hooks),
	[SEC_QEMU] = {.name = "qemu"},
};
const size_t profile_nsections = ARRAY_SIZE(profile_sections);

static const struct enum_val accel_vals[] = {
	{"kvm", ACCEL_KVM}, {"tcg", ACCEL_TCG}, {NULL, 0}};
static const struct enum_val fw_vals[] = {
	{"ovmf", FW_OVMF}, {"seabios", FW_SEABIOS}, {NULL, 0}};
static const struct enum_val hugepage_vals[] = {{"none", HUGEPAGES_NONE},
						{"2M", HUGEPAGES_2M},
						{"1G", HUGEPAGES_1G},
						{NULL, 0}};
static const struct enum_val hv_unsupported_vals[] = {
	{"drop", HV_UNSUPPORTED_DROP},
	{"refuse", HV_UNSUPPORTED_REFUSE},
	{NULL, 0}};
static const struct enum_val smbios_vals[] = {{"none", SMBIOS_NONE},
					      {"host", SMBIOS_HOST},
					      {"custom", SMBIOS_CUSTOM},
					      {NULL, 0}};
static const struct enum_val clock_vals[] = {
	{"localtime", CLOCK_LOCALTIME}, {"utc", CLOCK_UTC}, {NULL, 0}};
static const struct enum_val reset_vals[] = {
	{"auto", PCI_RESET_AUTO},
	{"remove-rescan", PCI_RESET_REMOVE_RESCAN},
	{"none", PCI_RESET_NONE},
	{NULL, 0}};
static const struct enum_val format_vals[] = {
	{"raw", DISK_FORMAT_RAW}, {"qcow2", DISK_FORMAT_QCOW2}, {NULL, 0}};
static const struct enum_val iface_vals[] = {{"virtio", DISK_VIRTIO},
					     {"scsi", DISK_SCSI},
					     {"sata", DISK_SATA},
					     {"nvme", DISK_NVME},
					     {NULL, 0}};
static const struct enum_val media_vals[] = {
	{"disk", MEDIA_DISK}, {"cdrom", MEDIA_CDROM}, {NULL, 0}};
static const struct enum_val cache_vals[] = {{"none", CACHE_NONE},
					     {"writeback", CACHE_WRITEBACK},
					     {"unsafe", CACHE_UNSAFE},
					     {NULL, 0}};
static const struct enum_val aio_vals[] = {{"io_uring", AIO_IO_URING},
					   {"native", AIO_NATIVE},
					   {"threads", AIO_THREADS},
					   {NULL, 0}};
static const struct enum_val netmode_vals[] = {{"user", NET_USER},
					       {"bridge", NET_BRIDGE},
					       {"tap", NET_TAP},
					       {"none", NET_NONE},
					       {NULL, 0}};
static const struct enum_val nic_vals[] = {
	{"virtio", NIC_VIRTIO}, {"e1000e", NIC_E1000E}, {NULL, 0}};
static const struct enum_val audio_backend_vals[] = {
	{"pipewire", AUDIO_PIPEWIRE}, {"pa", AUDIO_PA},
	{"alsa", AUDIO_ALSA},	      {"spice", AUDIO_SPICE},
	{"none", AUDIO_NONE},	      {NULL, 0}};
static const struct enum_val audio_model_vals[] = {
	{"ich9-hda", AUDIO_ICH9_HDA}, {"ich6-hda", AUDIO_ICH6_HDA}, {NULL, 0}};
static const struct enum_val codec_vals[] = {{"duplex", CODEC_DUPLEX},
					     {"micro", CODEC_MICRO},
					     {"output", CODEC_OUTPUT},
					     {NULL, 0}};
static const struct enum_val tpm_vals[] = {{"none", TPM_NONE},
					   {"swtpm", TPM_SWTPM},
					   {"passthrough", TPM_PASSTHROUGH},
					   {NULL, 0}};
static const struct enum_val display_vals[] = {
	{"none", DISPLAY_NONE},	  {"gtk", DISPLAY_GTK}, {"sdl", DISPLAY_SDL},
	{"spice", DISPLAY_SPICE}, {"vnc", DISPLAY_VNC}, {NULL, 0}};
static const struct enum_val video_vals[] = {{"none", VIDEO_NONE},
					     {"std", VIDEO_STD},
					     {"qxl", VIDEO_QXL},
					     {"virtio", VIDEO_VIRTIO},
					     {NULL, 0}};
static const struct enum_val tristate_vals[] = {
	{"auto", TRI_AUTO}, {"yes", TRI_YES}, {"no", TRI_NO}, {NULL, 0}};
/* QEMU's -object input-linux grab-toggle values */
static const struct enum_val grab_vals[] = {
	{"ctrl-ctrl", 0}, {"alt-alt", 0},    {"shift-shift", 0},
	{"meta-meta", 0}, {"scrolllock", 0}, {"ctrl-scrolllock", 0},
	{NULL, 0}};

#define S(id)	 (&profile_sections[id])
#define O(st, f) offsetof(struct st, f)

#define SMBIOS(k, f)                                                           \
	{                                                                      \
		S(SEC_SMBIOS), k, &pt_str, O(profile_smbios, f),               \
			.max = 64,                                             \
			.help = "SMBIOS string shown to the guest (mode = "    \
				"custom)"                                      \
	}
#define HOOK(k, f, when)                                                       \
	{                                                                      \
		S(SEC_HOOKS), k, &pt_hook, O(profile_hooks, f),                \
			.flags = PK_REPEAT,                                    \
			.help = "program run with the VM name and the "        \
				"phase " when                                  \
	}

const struct pkey profile_keys[] = {
	/* [vm] */
	{S(SEC_VM), "name", &pt_vmname, O(profile_vm, name),
	 .flags = PK_REQUIRED | PK_FIRST,
	 .help = "the VM's name: QEMU's -name, file names, vmrun stop NAME"},
	{S(SEC_VM), "memory", &pt_size, O(profile_vm, memory),
	 .flags = PK_REQUIRED, .min = 128 * MIB, .max = 16 * GIB * 1024,
	 .help = "guest RAM"},
	{S(SEC_VM), "uuid", &pt_uuid, 0, .help = "SMBIOS system UUID"},
	{S(SEC_VM), "machine", &pt_machine, O(profile_vm, machine), "q35",
	 .help = "QEMU machine type (the Q35 chipset, for PCIe)"},
	{S(SEC_VM), "accel", &pt_enum, O(profile_vm, accel), "kvm",
	 .choices = accel_vals, .help = "accelerator (tcg: no KVM, slow)"},
	{S(SEC_VM), "qemu", &pt_program, O(profile_vm, qemu),
	 "qemu-system-x86_64", "qemu-system-x86_64 on PATH",
	 .help = "the QEMU binary"},
	{S(SEC_VM), "run-as", &pt_user, O(profile_vm, run_as),
	 .def_doc = "none (root)", .max = 32,
	 .help = "user QEMU runs as once the host is set up"},
	{S(SEC_VM), "state-dir", &pt_path, O(profile_vm, state_dir),
	 "/var/lib/vmrun/${name}", .flags = PK_LATE | PK_SECOND,
	 .help = "folder for the VM's own files (NVRAM copy, TPM state)"},
	{S(SEC_VM), "shutdown-timeout", &pt_uint,
	 O(profile_vm, shutdown_timeout), "120", .min = 1, .max = 3600,
	 .help = "seconds the guest gets to power off before QEMU is quit"},

	/* [firmware] */
	{S(SEC_FIRMWARE), "type", &pt_enum, O(profile_firmware, type), "ovmf",
	 .choices = fw_vals, .help = "UEFI (ovmf) or legacy BIOS (seabios)"},
	{S(SEC_FIRMWARE), "code", &pt_path, O(profile_firmware, code),
	 .def_doc = "first found of the usual distro paths",
	 .help = "OVMF code image"},
	{S(SEC_FIRMWARE), "vars-template", &pt_path,
	 O(profile_firmware, vars_template), .def_doc = "matched to code",
	 .help = "OVMF vars template"},
	{S(SEC_FIRMWARE), "vars", &pt_path, O(profile_firmware, vars),
	 "${state-dir}/OVMF_VARS.fd", .flags = PK_LATE,
	 .help = "this VM's vars file, copied from the template on first "
		 "start"},
	{S(SEC_FIRMWARE), "secure-boot", &pt_bool,
	 O(profile_firmware, secure_boot), "no", .help = "UEFI Secure Boot"},

	/* [cpu] */
	{S(SEC_CPU), "model", &pt_word, O(profile_cpu, model), "host",
	 .max = 64, .values = "a QEMU CPU model", .help = "QEMU CPU model"},
	{S(SEC_CPU), "sockets", &pt_uint, O(profile_cpu, sockets), "1",
	 .min = 1, .max = 16, .help = "topology: vCPUs = product"},
	{S(SEC_CPU), "cores", &pt_uint, O(profile_cpu, cores), "2", .min = 1,
	 .max = 288, .help = "topology: vCPUs = product"},
	{S(SEC_CPU), "threads", &pt_uint, O(profile_cpu, threads), "1",
	 .min = 1, .max = 8, .help = "topology: vCPUs = product"},
	{S(SEC_CPU), "hide-hypervisor", &pt_bool,
	 O(profile_cpu, hide_hypervisor), "no",
	 .help = "clear the hypervisor CPUID bit and KVM signature (kvm=off)"},
	{S(SEC_CPU), "vcpu-pin", &pt_cpulist, O(profile_cpu, vcpu_pin),
	 .def_doc = "none (no pinning)",
	 .help = "one host CPU per vCPU, in vCPU order"},
	{S(SEC_CPU), "emulator-pin", &pt_cpulist, O(profile_cpu, emulator_pin),
	 .def_doc = "none", .help = "host CPUs for QEMU's other threads"},
	{S(SEC_CPU), "isolate", &pt_bool, O(profile_cpu, isolate), "no",
	 .help = "while the guest runs, host tasks only use CPUs outside "
		 "vcpu-pin"},

	/* [hyperv] */
	{S(SEC_HYPERV), "enlightenments", &pt_hv, O(profile_hyperv, features),
	 "default",
	 .help = "Hyper-V enlightenments; default: relaxed,vapic,"
		 "spinlocks=8191,vpindex,runtime,synic,stimer,reset,"
		 "frequencies,tlbflush,time"},
	{S(SEC_HYPERV), "vendor-id", &pt_str, O(profile_hyperv, vendor_id),
	 .def_doc = "none", .min = 1, .max = 12,
	 .values = "up to 12 characters", .help = "hv-vendor-id"},
	{S(SEC_HYPERV), "unsupported", &pt_enum, O(profile_hyperv, unsupported),
	 "drop", .choices = hv_unsupported_vals,
	 .help = "enlightenments this host's KVM does not offer, or that its "
		 "QEMU cannot start a vCPU with (it is asked, with -cpu "
		 "host,hv-...): drop (left out, with a warning naming "
		 "QEMU's message) or refuse (the start is refused)"},

	/* [memory] */
	{S(SEC_MEMORY), "hugepages", &pt_enum, O(profile_memory, hugepages),
	 "none", .choices = hugepage_vals,
	 .help = "back guest RAM with huge pages of this size"},
	{S(SEC_MEMORY), "numa-node", &pt_numa, O(profile_memory, numa_node),
	 "auto", .max = 1023,
	 .help = "host node for guest memory; auto: the node of the first "
		 "passed-through device"},
	{S(SEC_MEMORY), "prealloc-threads", &pt_auto_count,
	 O(profile_memory, prealloc_threads), "auto", .max = 256,
	 .help = "threads QEMU touches hugepage-backed guest RAM with before "
		 "the guest starts; auto: one per CPU that is idle then (the "
		 "vCPU and emulator CPUs, or every CPU without pinning) on "
		 "the node that holds the memory; a number caps it"},
	{S(SEC_MEMORY), "balloon", &pt_bool, O(profile_memory, balloon), "no",
	 .help = "add a virtio balloon device"},

	/* [smbios] */
	{S(SEC_SMBIOS), "mode", &pt_enum, O(profile_smbios, mode), "none",
	 .choices = smbios_vals,
	 .help = "host: copy the host's DMI tables; custom: the strings "
		 "below"},
	SMBIOS("bios-vendor", bios_vendor),
	SMBIOS("bios-version", bios_version),
	SMBIOS("bios-date", bios_date),
	SMBIOS("system-manufacturer", system_manufacturer),
	SMBIOS("system-product", system_product),
	SMBIOS("system-version", system_version),
	SMBIOS("system-serial", system_serial),
	SMBIOS("system-sku", system_sku),
	SMBIOS("system-family", system_family),
	SMBIOS("board-manufacturer", board_manufacturer),
	SMBIOS("board-product", board_product),
	SMBIOS("board-version", board_version),
	SMBIOS("board-serial", board_serial),
	SMBIOS("chassis-manufacturer", chassis_manufacturer),
	SMBIOS("chassis-version", chassis_version),
	SMBIOS("chassis-serial", chassis_serial),

	/* [clock] */
	{S(SEC_CLOCK), "base", &pt_enum, O(profile_clock, base), "localtime",
	 .choices = clock_vals, .help = "RTC base (Windows wants localtime)"},
	{S(SEC_CLOCK), "hpet", &pt_bool, O(profile_clock, hpet), "no",
	 .help = "emulate an HPET"},

	/* [pci.NAME] */
	{S(SEC_PCI), "host", &pt_pci_host, O(profile_pci, host),
	 .flags = PK_REQUIRED, .help = "the host PCI function to pass through"},
	{S(SEC_PCI), "romfile", &pt_romfile, O(profile_pci, romfile),
	 .def_doc = "none",
	 .help = "vBIOS image (checked: the 0x55AA signature, the length its "
		 "header declares, the PCI IDs it is for)"},
	{S(SEC_PCI), "rombar", &pt_bool, O(profile_pci, rombar), "yes",
	 .help = "expose the device's option ROM BAR"},
	{S(SEC_PCI), "guest-address", &pt_pci_guest, 0, .def_doc = "allocated",
	 .help = "address in the guest (laptop GPUs need 01:00.0)"},
	{S(SEC_PCI), "multifunction", &pt_bool, O(profile_pci, multifunction),
	 "no", .help = "the guest device is multifunction"},
	{S(SEC_PCI), "x-vga", &pt_bool, O(profile_pci, x_vga), "no",
	 .help = "legacy VGA for this GPU (no emulated video then)"},
	{S(SEC_PCI), "vendor-id", &pt_hex16, O(profile_pci, vendor_id), "host",
	 .help = "PCI vendor ID shown to the guest"},
	{S(SEC_PCI), "device-id", &pt_hex16, O(profile_pci, device_id), "host",
	 .help = "PCI device ID shown to the guest"},
	{S(SEC_PCI), "sub-vendor-id", &pt_hex16, O(profile_pci, sub_vendor_id),
	 "host", .help = "PCI subsystem vendor ID shown to the guest"},
	{S(SEC_PCI), "sub-device-id", &pt_hex16, O(profile_pci, sub_device_id),
	 "host", .help = "PCI subsystem ID shown to the guest"},
	{S(SEC_PCI), "reset", &pt_enum, O(profile_pci, reset), "auto",
	 .choices = reset_vals,
	 .help = "remove-rescan: remove and rescan the device before start"},
	{S(SEC_PCI), "boot", &pt_uint, O(profile_pci, boot), .def_doc = "none",
	 .min = 1, .max = 999, .help = "boot order index"},
	{S(SEC_PCI), "take-host-critical", &pt_bool,
	 O(profile_pci, take_host_critical), "no",
	 .help = "pass it through even though the host runs on it: file "
		 "systems mounted from its disks, swap, the default route, a "
		 "console (refused otherwise)"},

	/* [disk.NAME] */
	{S(SEC_DISK), "file", &pt_path, O(profile_disk, file),
	 .flags = PK_REQUIRED, .values = "a path",
	 .help = "image file or block device"},
	{S(SEC_DISK), "format", &pt_enum, O(profile_disk, format),
	 .def_doc = "from the file", .choices = format_vals,
	 .help = "image format"},
	{S(SEC_DISK), "interface", &pt_enum, O(profile_disk, iface), "virtio",
	 .choices = iface_vals, .help = "guest controller"},
	{S(SEC_DISK), "media", &pt_enum, O(profile_disk, media), "disk",
	 .choices = media_vals, .help = "disk or CD-ROM"},
	{S(SEC_DISK), "cache", &pt_enum, O(profile_disk, cache), "none",
	 .choices = cache_vals, .help = "host page cache use"},
	{S(SEC_DISK), "aio", &pt_enum, O(profile_disk, aio), "io_uring",
	 .choices = aio_vals, .help = "host I/O interface"},
	{S(SEC_DISK), "discard", &pt_bool, O(profile_disk, discard), "yes",
	 .help = "pass TRIM/discard through"},
	{S(SEC_DISK), "readonly", &pt_bool, O(profile_disk, readonly),
	 .def_doc = "no (yes for cdrom)", .help = "read-only"},
	{S(SEC_DISK), "boot", &pt_uint, O(profile_disk, boot),
	 .def_doc = "none", .min = 1, .max = 999, .help = "boot order index"},

	/* [net.NAME] */
	{S(SEC_NET), "mode", &pt_enum, O(profile_net, mode), "user",
	 .choices = netmode_vals, .help = "how the NIC reaches the host"},
	{S(SEC_NET), "bridge", &pt_ifname, O(profile_net, bridge),
	 .help = "bridge to attach a new tap to (mode = bridge)"},
	{S(SEC_NET), "tap", &pt_ifname, O(profile_net, tap),
	 .help = "existing tap device (mode = tap)"},
	{S(SEC_NET), "model", &pt_enum, O(profile_net, model), "virtio",
	 .choices = nic_vals, .help = "guest NIC"},
	{S(SEC_NET), "mac", &pt_mac, 0,
	 .def_doc = "52:54:00 + 3 bytes of a hash of VM name, uuid, NIC name",
	 .help = "MAC address"},

	/* [looking-glass] */
	{S(SEC_LG), "device", &pt_lg_device, O(profile_looking_glass, device),
	 "/dev/shm/looking-glass-${name}", .flags = PK_LATE,
	 .help = "shared memory file or kvmfr device (one VM's own: two "
		 "VMs cannot share one)"},
	{S(SEC_LG), "size", &pt_lg_size, O(profile_looking_glass, size), "auto",
	 .help = "shared memory size (a power of two)"},
	{S(SEC_LG), "resolution", &pt_resolution, 0, "1920x1080",
	 .help = "guest resolution, for size = auto"},
	{S(SEC_LG), "hdr", &pt_bool, O(profile_looking_glass, hdr), "no",
	 .help = "HDR (8 bytes per pixel), for size = auto"},
	{S(SEC_LG), "owner", &pt_user, O(profile_looking_glass, owner),
	 .def_doc = "invoking user", .max = 32,
	 .help = "owner of the shared memory on the host"},
	{S(SEC_LG), "group", &pt_user, O(profile_looking_glass, group), "kvm",
	 .max = 32, .help = "group of the shared memory on the host"},

	/* [acpi] */
	{S(SEC_ACPI), "table", &pt_acpi_table, O(profile_acpi, tables),
	 .flags = PK_REPEAT, .help = "extra ACPI table file"},
	{S(SEC_ACPI), "fake-battery", &pt_bool, O(profile_acpi, fake_battery),
	 "no", .help = "add vmrun's SSDT with a full battery (laptop GPUs)"},

	/* [usb] */
	{S(SEC_USB), "device", &pt_usb, offsetof(struct profile, usb),
	 .flags = PK_REPEAT, .help = "host USB device passed through"},

	/* [input] */
	{S(SEC_INPUT), "evdev", &pt_pathlist, O(profile_input, evdev),
	 .flags = PK_REPEAT, .values = "/dev/input/...",
	 .help = "host input device passed through with evdev"},
	{S(SEC_INPUT), "grab-toggle", &pt_choice_str,
	 O(profile_input, grab_toggle), .def_doc = "QEMU's (ctrl-ctrl)",
	 .choices = grab_vals, .help = "keys that switch evdev input"},

	/* [audio] */
	{S(SEC_AUDIO), "backend", &pt_enum, O(profile_audio, backend), "none",
	 .choices = audio_backend_vals, .help = "host audio backend"},
	{S(SEC_AUDIO), "model", &pt_enum, O(profile_audio, model), "ich9-hda",
	 .choices = audio_model_vals, .help = "guest HDA controller"},
	{S(SEC_AUDIO), "codec", &pt_enum, O(profile_audio, codec), "duplex",
	 .choices = codec_vals, .help = "guest HDA codec"},
	{S(SEC_AUDIO), "runtime-dir", &pt_path, O(profile_audio, runtime_dir),
	 .def_doc = "/run/user/UID of [vm] run-as, else of the user who ran "
		    "vmrun (sudo, pkexec), when that folder is theirs",
	 .help = "the folder of the sound server QEMU plays to (its user's "
		 "XDG_RUNTIME_DIR)"},

	/* [tpm] */
	{S(SEC_TPM), "type", &pt_enum, O(profile_tpm, type), "none",
	 .choices = tpm_vals, .help = "swtpm: vmrun starts and supervises it"},
	{S(SEC_TPM), "state", &pt_path, O(profile_tpm, state),
	 "${state-dir}/tpm", .flags = PK_LATE, .help = "swtpm state folder"},

	/* [display] */
	{S(SEC_DISPLAY), "type", &pt_enum, O(profile_display, type), "none",
	 .choices = display_vals, .help = "where the emulated display goes"},
	{S(SEC_DISPLAY), "video", &pt_enum, O(profile_display, video),
	 .def_doc = "std, none with x-vga", .choices = video_vals,
	 .help = "emulated video card"},
	{S(SEC_DISPLAY), "listen", &pt_address, O(profile_display, listen),
	 "127.0.0.1", .help = "address for spice/vnc"},
	{S(SEC_DISPLAY), "port", &pt_uint, O(profile_display, port), "5900",
	 .min = 1, .max = 65535, .help = "port for spice/vnc"},

	/* [host] */
	{S(SEC_HOST), "stop-units", &pt_unit, O(profile_host, stop_units),
	 .flags = PK_REPEAT, .max = 255,
	 .help = "systemd units stopped before start, started after"},
	{S(SEC_HOST), "unbind-vtconsoles", &pt_tristate,
	 O(profile_host, unbind_vtconsoles), "auto", .choices = tristate_vals,
	 .help = "unbind the VT consoles from the boot GPU"},
	{S(SEC_HOST), "unbind-efifb", &pt_tristate,
	 O(profile_host, unbind_efifb), "auto", .choices = tristate_vals,
	 .help = "unbind the EFI framebuffer from the boot GPU"},
	{S(SEC_HOST), "compact-memory", &pt_bool,
	 O(profile_host, compact_memory), "yes",
	 .help = "compact memory (then drop caches) before taking huge pages"},
	{S(SEC_HOST), "irq-affinity", &pt_bool, O(profile_host, irq_affinity),
	 "yes", .help = "with [cpu] isolate, steer host IRQs off guest CPUs"},

	/* [hooks] */
	HOOK("pre-start", pre_start, "before start (failure aborts)"),
	HOOK("post-start", post_start, "after start"),
	HOOK("pre-stop", pre_stop, "before stop"),
	HOOK("post-stop", post_stop, "after stop"),
	{S(SEC_HOOKS), "timeout", &pt_uint, O(profile_hooks, timeout), "60",
	 .min = 1, .max = 3600,
	 .help = "seconds a hook may run; then it is stopped with what it "
		 "started in its process group (a pre-start hook that times "
		 "out stops the start)"},

	/* [qemu] */
	{S(SEC_QEMU), "arg", &pt_strlist, offsetof(struct profile, qemu_args),
	 .flags = PK_REPEAT, .max = 4096,
	 .help = "extra QEMU argument, appended as-is"},
	{S(SEC_QEMU), "sandbox", &pt_bool,
	 offsetof(struct profile, qemu_sandbox), "yes",
	 .help = "QEMU's seccomp sandbox (-sandbox on: no obsolete system "
		 "calls, no new processes, no scheduler changes, no setuid "
		 "unless for [vm] run-as)"},
};
const size_t profile_nkeys = ARRAY_SIZE(profile_keys);

size_t pkey_slot(const struct pkey *k)
{
	size_t slot = 0;

	for (const struct pkey *q = profile_keys; q < k; q++)
		if (q->sec == k->sec)
			slot++;
	return slot;
}

const struct pkey *pkey_find(const struct psection *sec, const char *name)
{
	for (size_t i = 0; i < profile_nkeys; i++)
		if (profile_keys[i].sec == sec &&
		    !strcmp(profile_keys[i].name, name))
			return &profile_keys[i];
	return NULL;
}

/* Doc text of what a key allows: its own words, the enum's values, the
 * numeric range, or the type's words. */
static const char *doc_values(const struct pkey *k, char *buf, size_t len)
{
	size_t n = 0;

	if (k->values)
		return k->values;
	if (k->choices) {
		buf[0] = '\0';
		for (const struct enum_val *e = k->choices; e->name; e++)
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
					      "%s%s", n ? ", " : "", e->name);
		return buf;
	}
	if (k->type == &pt_uint) {
		snprintf(buf, len, "%llu to %llu", k->min, k->max);
		return buf;
	}
	return k->type->values;
}

const struct profile_key_doc *profile_schema_doc(size_t *n)
{
	static struct profile_key_doc docs[ARRAY_SIZE(profile_keys)];
	static char sections[ARRAY_SIZE(profile_keys)][24];
	static char values[ARRAY_SIZE(profile_keys)][160];

	for (size_t i = 0; i < profile_nkeys; i++) {
		const struct pkey *k = &profile_keys[i];
		const char *def = k->def_doc ? k->def_doc : k->def;

		snprintf(sections[i], sizeof(sections[i]), "%s%s", k->sec->name,
			 k->sec->instance ? ".NAME" : "");
		docs[i] = (struct profile_key_doc){
			.section = sections[i],
			.key = k->name,
			.values = doc_values(k, values[i], sizeof(values[i])),
			.def = def ? def : "",
			.help = k->help,
			.repeatable = k->flags & PK_REPEAT,
			.required = k->flags & PK_REQUIRED,
		};
	}
	*n = profile_nkeys;
	return docs;
}
