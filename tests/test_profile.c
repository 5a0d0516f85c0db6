/* test_profile.c: valid profiles through the parser: every key's value and
 * default, derived values, paths, INI syntax corners, the schema docs.
 * Every error message is in test_profile_errors.c. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "profile/profile.h"
#include "profile/schema.h"

#define VM "[vm]\nname = t\nmemory = 1G\n"

static char cwd[PATH_MAX];

/* Load text that must be valid; the profile's folder is /prof. */
static void load_ok(const char *text, struct profile *p)
{
	struct vr_error err = {0};
	int r = profile_load_string(text, "t.ini", "/prof", p, &err);

	if (r)
		print_error("unexpected errors:\n%s\n", err.msg);
	assert_int_equal(r, 0);
}

static void load_fixture(const char *name, struct profile *p)
{
	struct vr_error err = {0};
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "tests/profiles/%s", name);
	r = profile_load(path, p, &err);
	if (r)
		print_error("%s:\n%s\n", path, err.msg);
	assert_int_equal(r, 0);
	assert_string_equal(p->path, path);
}

static void test_defaults(void **state)
{
	struct profile p;

	(void)state;
	load_ok(VM, &p);
	assert_string_equal(p.path, "t.ini");
	assert_string_equal(p.dir, "/prof");
	assert_string_equal(p.vm.name, "t");
	assert_true(p.vm.memory == GIB);
	assert_false(p.vm.has_uuid);
	assert_string_equal(p.vm.machine, "q35");
	assert_int_equal(p.vm.accel, ACCEL_KVM);
	assert_string_equal(p.vm.qemu, "qemu-system-x86_64");
	assert_null(p.vm.run_as);
	assert_string_equal(p.vm.state_dir, "/var/lib/vmrun/t");
	assert_int_equal(p.vm.shutdown_timeout, 120);
	assert_int_equal(p.firmware.type, FW_OVMF);
	assert_null(p.firmware.code);
	assert_null(p.firmware.vars_template);
	assert_string_equal(p.firmware.vars, "/var/lib/vmrun/t/OVMF_VARS.fd");
	assert_false(p.firmware.secure_boot);
	assert_string_equal(p.cpu.model, "host");
	assert_int_equal(p.cpu.sockets, 1);
	assert_int_equal(p.cpu.cores, 2);
	assert_int_equal(p.cpu.threads, 1);
	assert_int_equal(p.cpu.vcpus, 2);
	assert_false(p.cpu.hide_hypervisor);
	assert_int_equal(p.cpu.vcpu_pin.n, 0);
	assert_int_equal(p.cpu.emulator_pin.n, 0);
	assert_false(p.cpu.isolate);
	assert_int_equal(p.hyperv.nfeatures, 11);
	assert_null(p.hyperv.vendor_id);
	assert_int_equal(p.memory.hugepages, HUGEPAGES_NONE);
	assert_int_equal(p.memory.numa_node, -1);
	assert_false(p.memory.balloon);
	assert_int_equal(p.smbios.mode, SMBIOS_NONE);
	assert_null(p.smbios.system_serial);
	assert_int_equal(p.clock.base, CLOCK_LOCALTIME);
	assert_false(p.clock.hpet);
	assert_int_equal(p.npci + p.ndisk + p.nnet + p.nusb, 0);
	assert_false(p.lg.enabled);
	assert_int_equal(p.acpi.tables.n, 0);
	assert_false(p.acpi.fake_battery);
	assert_int_equal(p.input.evdev.n, 0);
	assert_null(p.input.grab_toggle);
	assert_int_equal(p.audio.backend, AUDIO_NONE);
	assert_int_equal(p.audio.model, AUDIO_ICH9_HDA);
	assert_int_equal(p.audio.codec, CODEC_DUPLEX);
	assert_int_equal(p.tpm.type, TPM_NONE);
	assert_string_equal(p.tpm.state, "/var/lib/vmrun/t/tpm");
	assert_int_equal(p.display.type, DISPLAY_NONE);
	assert_int_equal(p.display.video, VIDEO_STD);
	assert_string_equal(p.display.listen, "127.0.0.1");
	assert_int_equal(p.display.port, 5900);
	assert_int_equal(p.host.stop_units.n, 0);
	assert_int_equal(p.host.unbind_vtconsoles, TRI_AUTO);
	assert_int_equal(p.host.unbind_efifb, TRI_AUTO);
	assert_true(p.host.compact_memory);
	assert_true(p.host.irq_affinity);
	assert_int_equal(p.hooks.pre_start.n + p.hooks.post_stop.n, 0);
	assert_int_equal(p.qemu_args.n, 0);
	profile_free(&p);
	assert_null(p.path);
	profile_free(&p); /* a freed (zeroed) profile can be freed again */
}

static void test_instance_defaults(void **state)
{
	struct profile p;

	(void)state;
	load_ok(VM "[pci.gpu]\nhost = 01:00.0\n[disk.d]\nfile = d.img\n"
		   "[net.lan]\n[looking-glass]\n",
		&p);
	assert_int_equal(p.npci, 1);
	assert_string_equal(p.pci[0].name, "gpu");
	assert_int_equal(p.pci[0].line, 4);
	assert_int_equal(p.pci[0].host.bus, 1);
	assert_null(p.pci[0].romfile);
	assert_true(p.pci[0].rombar);
	assert_false(p.pci[0].has_guest_address);
	assert_false(p.pci[0].multifunction);
	assert_false(p.pci[0].x_vga);
	assert_int_equal(p.pci[0].vendor_id, -1);
	assert_int_equal(p.pci[0].device_id, -1);
	assert_int_equal(p.pci[0].sub_vendor_id, -1);
	assert_int_equal(p.pci[0].sub_device_id, -1);
	assert_int_equal(p.pci[0].reset, PCI_RESET_AUTO);
	assert_int_equal(p.pci[0].boot, 0);
	assert_int_equal(p.ndisk, 1);
	assert_string_equal(p.disk[0].name, "d");
	assert_int_equal(p.disk[0].line, 6);
	assert_string_equal(p.disk[0].file, "/prof/d.img");
	assert_int_equal(p.disk[0].format, DISK_FORMAT_AUTO);
	assert_int_equal(p.disk[0].iface, DISK_VIRTIO);
	assert_int_equal(p.disk[0].media, MEDIA_DISK);
	assert_int_equal(p.disk[0].cache, CACHE_NONE);
	assert_int_equal(p.disk[0].aio, AIO_IO_URING);
	assert_true(p.disk[0].discard);
	assert_false(p.disk[0].readonly);
	assert_int_equal(p.nnet, 1);
	assert_int_equal(p.net[0].mode, NET_USER);
	assert_int_equal(p.net[0].model, NIC_VIRTIO);
	assert_null(p.net[0].bridge);
	assert_null(p.net[0].tap);
	assert_false(p.net[0].has_mac);
	/* an empty [looking-glass] turns it on with every default: a file
	 * of this VM's own */
	assert_true(p.lg.enabled);
	assert_string_equal(p.lg.device, "/dev/shm/looking-glass-t");
	assert_false(p.lg.is_kvmfr);
	assert_int_equal(p.lg.width, 1920);
	assert_int_equal(p.lg.height, 1080);
	assert_false(p.lg.hdr);
	assert_true(p.lg.size == 32 * MIB);
	assert_null(p.lg.owner);
	assert_string_equal(p.lg.group, "kvm");
	profile_free(&p);
}

static void check_full_vm(const struct profile *p)
{
	char dir[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/tests/profiles", cwd);
	assert_string_equal(p->dir, dir);
	assert_string_equal(p->vm.name, "full-vm_1");
	assert_true(p->vm.memory == 8 * GIB);
	assert_true(p->vm.has_uuid);
	assert_string_equal(p->vm.uuid, "3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f8");
	assert_string_equal(p->vm.machine, "pc-q35-7.2");
	assert_int_equal(p->vm.accel, ACCEL_TCG);
	snprintf(dir, sizeof(dir), "%s/tests/profiles/bin/qemu-system-x86_64",
		 cwd);
	assert_string_equal(p->vm.qemu, dir);
	assert_string_equal(p->vm.run_as, "qemu");
	snprintf(dir, sizeof(dir), "%s/tests/profiles/state/full-vm_1", cwd);
	assert_string_equal(p->vm.state_dir, dir);
	assert_int_equal(p->vm.shutdown_timeout, 300);
	assert_int_equal(p->firmware.type, FW_OVMF);
	assert_string_equal(p->firmware.code,
			    "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd");
	assert_string_equal(p->firmware.vars_template,
			    "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
	strcat(dir, "/vars.fd");
	assert_string_equal(p->firmware.vars, dir);
	assert_true(p->firmware.secure_boot);
}

static void check_full_cpu(const struct profile *p)
{
	static const int pin[] = {4, 5, 6, 7, 12, 13, 14, 15};

	assert_string_equal(p->cpu.model, "EPYC-Rome");
	assert_int_equal(p->cpu.vcpus, 8);
	assert_true(p->cpu.hide_hypervisor);
	assert_int_equal(p->cpu.vcpu_pin.n, 8);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(p->cpu.vcpu_pin.cpu[i], pin[i]);
	assert_int_equal(p->cpu.emulator_pin.n, 2);
	assert_int_equal(p->cpu.emulator_pin.cpu[1], 8);
	assert_true(p->cpu.isolate);
	assert_int_equal(p->hyperv.nfeatures, 12);
	assert_string_equal(p->hyperv.features[11].name, "evmcs");
	assert_string_equal(p->hyperv.vendor_id, "AuthenticAMD");
	assert_int_equal(p->memory.hugepages, HUGEPAGES_2M);
	assert_int_equal(p->memory.numa_node, 1);
	assert_true(p->memory.balloon);
	assert_int_equal(p->smbios.mode, SMBIOS_CUSTOM);
	assert_string_equal(p->smbios.bios_vendor, "American Megatrends Inc.");
	assert_string_equal(p->smbios.system_version, "Rev 1.xx");
	assert_string_equal(p->smbios.board_product, "ROG STRIX B550-F");
	assert_string_equal(p->smbios.chassis_serial, "CSN-0001");
	assert_int_equal(p->clock.base, CLOCK_UTC);
	assert_true(p->clock.hpet);
}

static void check_full_devices(const struct profile *p)
{
	const struct profile_pci *g = &p->pci[0];

	assert_int_equal(p->npci, 2);
	assert_string_equal(g->name, "gpu");
	assert_int_equal(g->host.bus, 0x0a);
	assert_non_null(strstr(g->romfile, "/tests/profiles/data/vbios.rom"));
	assert_false(g->rombar);
	assert_true(g->has_guest_address);
	assert_int_equal(g->guest_address.bus, 1);
	assert_true(g->multifunction);
	assert_true(g->x_vga);
	assert_int_equal(g->vendor_id, 0x10de);
	assert_int_equal(g->device_id, 0x1c03);
	assert_int_equal(g->sub_vendor_id, 0x1043);
	assert_int_equal(g->sub_device_id, 0x85ae);
	assert_int_equal(g->reset, PCI_RESET_REMOVE_RESCAN);
	assert_int_equal(g->boot, 2);
	assert_int_equal(p->pci[1].guest_address.fn, 1);
	assert_int_equal(p->pci[1].reset, PCI_RESET_NONE);
	assert_int_equal(p->ndisk, 2);
	assert_string_equal(p->disk[0].file, "/dev/disk/by-id/nvme-full-vm_1");
	assert_int_equal(p->disk[0].format, DISK_FORMAT_RAW);
	assert_int_equal(p->disk[0].iface, DISK_NVME);
	assert_int_equal(p->disk[0].cache, CACHE_WRITEBACK);
	assert_int_equal(p->disk[0].aio, AIO_NATIVE);
	assert_false(p->disk[0].discard);
	assert_false(p->disk[0].readonly);
	assert_int_equal(p->disk[0].boot, 1);
	assert_non_null(strstr(p->disk[1].file, "/tests/images/win11.iso"));
	assert_int_equal(p->disk[1].media, MEDIA_CDROM);
	assert_true(p->disk[1].readonly);
	assert_int_equal(p->nnet, 2);
	assert_int_equal(p->net[0].mode, NET_BRIDGE);
	assert_string_equal(p->net[0].bridge, "br0");
	assert_int_equal(p->net[0].model, NIC_E1000E);
	assert_true(p->net[0].has_mac);
	assert_string_equal(p->net[0].mac, "52:54:00:ab:cd:ef");
	assert_int_equal(p->net[1].mode, NET_TAP);
	assert_string_equal(p->net[1].tap, "tap-full");
}

static void check_full_rest(const struct profile *p)
{
	assert_true(p->lg.enabled);
	assert_string_equal(p->lg.device, "/dev/kvmfr0");
	assert_true(p->lg.is_kvmfr);
	assert_true(p->lg.size == 256 * MIB);
	assert_string_equal(p->lg.owner, "alice");
	assert_string_equal(p->lg.group, "video");
	assert_int_equal(p->acpi.tables.n, 2);
	assert_string_equal(p->acpi.tables.v[0], p->acpi.tables.v[1]);
	assert_true(p->acpi.fake_battery);
	assert_int_equal(p->nusb, 2);
	assert_true(p->usb[0].by_id);
	assert_int_equal(p->usb[0].vendor, 0x046d);
	assert_int_equal(p->usb[0].product, 0xc52b);
	assert_false(p->usb[1].by_id);
	assert_int_equal(p->usb[1].bus, 1);
	assert_string_equal(p->usb[1].port, "2.3");
	assert_int_equal(p->input.evdev.n, 2);
	assert_string_equal(p->input.grab_toggle, "scrolllock");
	assert_int_equal(p->audio.backend, AUDIO_PIPEWIRE);
	assert_int_equal(p->audio.model, AUDIO_ICH6_HDA);
	assert_int_equal(p->audio.codec, CODEC_OUTPUT);
	assert_int_equal(p->tpm.type, TPM_SWTPM);
	assert_string_equal(p->tpm.state, "/var/lib/swtpm/full-vm_1");
	assert_int_equal(p->display.type, DISPLAY_VNC);
	assert_int_equal(p->display.video, VIDEO_VIRTIO); /* set: beats x-vga */
	assert_string_equal(p->display.listen, "::1");
	assert_int_equal(p->display.port, 5901);
	assert_int_equal(p->host.stop_units.n, 2);
	assert_string_equal(p->host.stop_units.v[1],
			    "nvidia-persistenced.service");
	assert_int_equal(p->host.unbind_vtconsoles, TRI_YES);
	assert_int_equal(p->host.unbind_efifb, TRI_NO);
	assert_false(p->host.compact_memory);
	assert_false(p->host.irq_affinity);
	assert_int_equal(p->hooks.pre_start.n, 2);
	assert_int_equal(p->hooks.post_start.n + p->hooks.pre_stop.n +
				 p->hooks.post_stop.n,
			 3);
	assert_int_equal(p->qemu_args.n, 2);
	assert_string_equal(p->qemu_args.v[0], "-global");
	assert_string_equal(p->qemu_args.v[1], "ICH9-LPC.disable_s3=1");
}

/* tests/profiles/full.ini sets every key to something not its default. */
static void test_full_fixture(void **state)
{
	struct profile p;

	(void)state;
	load_fixture("full.ini", &p);
	check_full_vm(&p);
	check_full_cpu(&p);
	check_full_devices(&p);
	check_full_rest(&p);
	profile_free(&p);
}

static void test_other_fixtures(void **state)
{
	struct profile p;

	(void)state;
	load_fixture("minimal.ini", &p);
	assert_string_equal(p.vm.name, "minimal");
	profile_free(&p);
	load_fixture("seabios.ini", &p);
	assert_int_equal(p.firmware.type, FW_SEABIOS);
	assert_null(p.firmware.vars); /* the default is OVMF's */
	assert_int_equal(p.hyperv.nfeatures, 0);
	assert_int_equal(p.disk[1].iface, DISK_SCSI);
	assert_true(p.disk[1].readonly);
	assert_int_equal(p.display.video, VIDEO_QXL);
	profile_free(&p);
}

/* The shipped example profiles must stay valid. */
static void test_shipped_profiles(void **state)
{
	glob_t g;

	(void)state;
	if (glob("profiles/*.ini", 0, NULL, &g))
		skip();
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct profile p;
		struct vr_error err = {0};
		int r = profile_load(g.gl_pathv[i], &p, &err);

		if (r)
			print_error("%s\n", err.msg);
		assert_int_equal(r, 0);
		profile_free(&p);
	}
	globfree(&g);
}

static void test_lg_auto_size(void **state)
{
	(void)state;
	assert_true(profile_lg_auto_size(1920, 1080, false) == 32 * MIB);
	assert_true(profile_lg_auto_size(2560, 1440, false) == 64 * MIB);
	assert_true(profile_lg_auto_size(3840, 2160, false) == 128 * MIB);
	assert_true(profile_lg_auto_size(3840, 2160, true) == 256 * MIB);
	assert_true(profile_lg_auto_size(1920, 1080, true) == 64 * MIB);
	assert_true(profile_lg_auto_size(7680, 4320, true) == 1024 * MIB);
	/* 22 MiB of frames + 10 = exactly 32: no rounding up past it */
	assert_true(profile_lg_auto_size(2048, 1408, false) == 32 * MIB);
	assert_true(profile_lg_auto_size(2048, 1409, false) == 64 * MIB);
	assert_true(profile_lg_auto_size(1, 1, false) == 16 * MIB);
}

static void test_lg_from_profile(void **state)
{
	struct profile p;

	(void)state;
	load_ok(VM "[looking-glass]\nresolution = 3840X2160\nhdr = yes\n"
		   "device = /dev/shm/lg-${name}\n",
		&p);
	assert_true(p.lg.size == 256 * MIB);
	assert_string_equal(p.lg.device, "/dev/shm/lg-t");
	assert_false(p.lg.is_kvmfr);
	profile_free(&p);
	load_ok(VM "[looking-glass]\nsize = 1M\ndevice = /dev/kvmfr12\n", &p);
	assert_true(p.lg.size == MIB);
	assert_true(p.lg.is_kvmfr);
	profile_free(&p);
}

static void test_mac_derived(void **state)
{
	struct profile a, b, c;

	(void)state;
	load_ok(VM "[net.lan]\n[net.wan]\n", &a);
	load_ok(VM "[net.lan]\n[net.wan]\n", &b);
	load_ok(VM "uuid = 3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f8\n[net.lan]\n",
		&c);
	/* stable from one load to the next, different per NIC and uuid */
	assert_string_equal(a.net[0].mac, b.net[0].mac);
	assert_string_equal(a.net[1].mac, b.net[1].mac);
	assert_string_not_equal(a.net[0].mac, a.net[1].mac);
	assert_string_not_equal(a.net[0].mac, c.net[0].mac);
	for (int i = 0; i < 2; i++) {
		const char *m = a.net[i].mac;

		assert_false(a.net[i].has_mac);
		assert_int_equal(strlen(m), 17);
		assert_int_equal(strncmp(m, "52:54:00:", 9), 0);
		assert_int_equal(strspn(m + 9, "0123456789abcdef:"), 8);
	}
	/* the documented hash: FNV-1a of name, uuid and NIC name */
	assert_string_equal(a.net[0].mac, "52:54:00:94:9a:71");
	profile_free(&a);
	profile_free(&b);
	profile_free(&c);
}

static void test_hyperv_lists(void **state)
{
	static const char *const def[] = {"relaxed",  "vapic",	 "spinlocks",
					  "vpindex",  "runtime", "synic",
					  "stimer",   "reset",	 "frequencies",
					  "tlbflush", "time"};
	struct profile p;

	(void)state;
	load_ok(VM, &p);
	assert_int_equal(p.hyperv.nfeatures, ARRAY_SIZE(def));
	for (size_t i = 0; i < ARRAY_SIZE(def); i++) {
		assert_string_equal(p.hyperv.features[i].name, def[i]);
		if (i == 2)
			assert_string_equal(p.hyperv.features[i].value, "8191");
		else
			assert_null(p.hyperv.features[i].value);
	}
	profile_free(&p);
	load_ok(VM "[hyperv]\nenlightenments = none\n", &p);
	assert_int_equal(p.hyperv.nfeatures, 0);
	assert_null(p.hyperv.features);
	profile_free(&p);
	load_ok(VM "[hyperv]\nenlightenments = hv-relaxed, hv_vapic ,"
		   "spinlocks=0x1fff,stimer-direct\n",
		&p);
	assert_int_equal(p.hyperv.nfeatures, 4);
	assert_string_equal(p.hyperv.features[0].name, "relaxed");
	assert_string_equal(p.hyperv.features[1].name, "vapic");
	assert_string_equal(p.hyperv.features[2].value, "0x1fff");
	assert_string_equal(p.hyperv.features[3].name, "stimer-direct");
	profile_free(&p);
}

static void test_values(void **state)
{
	struct profile p;

	(void)state;
	load_ok("[vm]\nname = t\nmemory = 16384M\nshutdown-timeout = 3600\n"
		"[memory]\nhugepages = 1g\nnuma-node = 0\n"
		"[cpu]\nsockets = 1\ncores = 288\n"
		"[pci.gpu]\nhost = ffff:ff:1f.7\nguest-address = 00:1e.0\n"
		"vendor-id = host\ndevice-id = 0\nsub-device-id = FFFF\n"
		"[usb]\ndevice = 1:2\ndevice = 255-1.2.3.4.5.6.7\n"
		"[display]\ntype = spice\nport = 1\n"
		"[host]\nunbind-vtconsoles = off\nunbind-efifb = TRUE\n",
		&p);
	assert_true(p.vm.memory == 16 * GIB);
	assert_int_equal(p.memory.hugepages, HUGEPAGES_1G);
	assert_int_equal(p.memory.numa_node, 0);
	assert_int_equal(p.cpu.vcpus, 288);
	assert_int_equal(p.pci[0].host.domain, 0xffff);
	assert_int_equal(p.pci[0].guest_address.dev, 0x1e);
	assert_int_equal(p.pci[0].vendor_id, -1);
	assert_int_equal(p.pci[0].device_id, 0);
	assert_int_equal(p.pci[0].sub_device_id, 0xffff);
	assert_int_equal(p.usb[0].vendor, 1);
	assert_int_equal(p.usb[0].product, 2);
	assert_int_equal(p.usb[1].bus, 255);
	assert_string_equal(p.usb[1].port, "1.2.3.4.5.6.7");
	assert_int_equal(p.display.port, 1); /* spice may use any port */
	assert_int_equal(p.host.unbind_vtconsoles, TRI_NO);
	assert_int_equal(p.host.unbind_efifb, TRI_YES);
	profile_free(&p);
}

static void test_derived(void **state)
{
	struct profile p;

	(void)state;
	/* x-vga: the passed GPU is the display, no emulated video */
	load_ok(VM "[pci.gpu]\nhost = 01:00.0\nx-vga = yes\n"
		   "[disk.cd]\nfile = a.iso\nmedia = cdrom\ninterface = sata\n"
		   "[disk.cd2]\nfile = b.iso\nmedia = cdrom\ninterface = scsi\n"
		   "readonly = no\n",
		&p);
	assert_int_equal(p.display.video, VIDEO_NONE);
	assert_true(p.disk[0].readonly);
	assert_false(p.disk[1].readonly); /* set: kept */
	profile_free(&p);
}

static void test_paths(void **state)
{
	struct profile p;

	(void)state;
	load_ok("[disk.a]\nfile = ${name}/a.img\n[disk.b]\nfile = ./b.img\n"
		"[disk.c]\nfile = ../../c.img\n[disk.d]\nfile = .\n"
		"[disk.e]\nfile = /abs/${name}-${state-dir}\n"
		"[vm]\nmemory = 1G\nstate-dir = st\nname = late\n"
		"qemu = /opt/qemu/bin/qemu-system-x86_64\n"
		"[firmware]\nvars-template = $HOME/x$\n",
		&p);
	/* ${name} works before the line that sets it */
	assert_string_equal(p.disk[0].file, "/prof/late/a.img");
	assert_string_equal(p.disk[1].file, "/prof/b.img");
	assert_string_equal(p.disk[2].file, "/c.img");
	assert_string_equal(p.disk[3].file, "/prof");
	assert_string_equal(p.disk[4].file, "/abs/late-/prof/st");
	assert_string_equal(p.vm.state_dir, "/prof/st");
	assert_string_equal(p.firmware.vars, "/prof/st/OVMF_VARS.fd");
	assert_string_equal(p.tpm.state, "/prof/st/tpm");
	assert_string_equal(p.vm.qemu, "/opt/qemu/bin/qemu-system-x86_64");
	/* only ${...} expands; a lone $ is literal */
	assert_string_equal(p.firmware.vars_template, "/prof/$HOME/x$");
	profile_free(&p);
}

/* How this inih build (Debian's 55) and vmrun's reader treat the corners
 * of INI syntax. */
static void test_ini_syntax(void **state)
{
	struct profile p;

	(void)state;
	load_ok("\xef\xbb\xbf; a BOM, then comments of both kinds\r\n"
		"# hash comment\r\n"
		"  ; indented comment\n"
		"[vm]   ; inline comment after a header\n"
		"name=t\n"
		"  memory   =   1G   # inline '#' comment after blanks\n"
		"[ smbios ]\n"
		"mode: custom\n"
		"system-product = Model#1;rev;2 ; a comment\n"
		"system-version = \"quoted\"\n"
		"\t[clock]\n"
		"hpet = YES\n"
		"base = UTC\n",
		&p);
	assert_true(p.vm.memory == GIB);
	/* '#' and ';' start a comment only after a blank */
	assert_string_equal(p.smbios.system_product, "Model#1;rev;2");
	/* quotes are not special: they are part of the value */
	assert_string_equal(p.smbios.system_version, "\"quoted\"");
	assert_int_equal(p.smbios.mode, SMBIOS_CUSTOM);
	assert_true(p.clock.hpet);
	assert_int_equal(p.clock.base, CLOCK_UTC);
	profile_free(&p);
}

static void test_file_dir(void **state)
{
	char tmpl[] = "/tmp/vmrun-profile.XXXXXX", path[64], real[PATH_MAX];
	struct profile p;
	struct vr_error err = {0};
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	snprintf(path, sizeof(path), "%s/x.ini", tmpl);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(VM "[disk.d]\nfile = d.img\n", f);
	fclose(f);
	assert_int_equal(profile_load(path, &p, &err), 0);
	assert_non_null(realpath(tmpl, real));
	assert_string_equal(p.dir, real);
	strcat(real, "/d.img");
	assert_string_equal(p.disk[0].file, real);
	profile_free(&p);
	unlink(path);
	rmdir(tmpl);
}

static const struct profile_key_doc *doc_find(const struct profile_key_doc *d,
					      size_t n, const char *sec,
					      const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(d[i].section, sec) && !strcmp(d[i].key, key))
			return &d[i];
	fail_msg("no doc for [%s] %s", sec, key);
	return NULL;
}

static void test_schema_doc(void **state)
{
	size_t n, required = 0;
	const struct profile_key_doc *d = profile_schema_doc(&n), *k;

	(void)state;
	assert_true(n > 90);
	for (size_t i = 0; i < n; i++) {
		assert_true(strlen(d[i].help) > 5);
		assert_true(strlen(d[i].values) > 0);
		required += d[i].required;
	}
	assert_int_equal(required, 4);
	k = doc_find(d, n, "vm", "memory");
	assert_true(k->required);
	assert_string_equal(k->values, "a size such as 16G");
	k = doc_find(d, n, "vm", "accel");
	assert_string_equal(k->values, "kvm, tcg");
	assert_string_equal(k->def, "kvm");
	k = doc_find(d, n, "vm", "shutdown-timeout");
	assert_string_equal(k->values, "1 to 3600");
	assert_string_equal(k->def, "120");
	k = doc_find(d, n, "vm", "state-dir");
	assert_string_equal(k->def, "/var/lib/vmrun/${name}");
	k = doc_find(d, n, "pci.NAME", "host");
	assert_true(k->required);
	k = doc_find(d, n, "disk.NAME", "readonly");
	assert_string_equal(k->def, "no (yes for cdrom)");
	k = doc_find(d, n, "qemu", "arg");
	assert_true(k->repeatable);
	assert_false(k->required);
	k = doc_find(d, n, "usb", "device");
	assert_true(k->repeatable);
	k = doc_find(d, n, "memory", "hugepages");
	assert_string_equal(k->values, "none, 2M, 1G");
	k = doc_find(d, n, "vm", "uuid");
	assert_string_equal(k->def, "");
}

/* Each section's keys fit the per-section table of lines. */
static void test_schema_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < profile_nkeys; i++) {
		const struct pkey *k = &profile_keys[i];

		assert_true(pkey_slot(k) < PSEC_KEYS_MAX);
		assert_ptr_equal(pkey_find(k->sec, k->name), k);
		assert_non_null(k->type->parse);
		/* enums name their values; numbers their range */
		if (k->type == &pt_enum || k->type == &pt_tristate ||
		    k->type == &pt_choice_str)
			assert_non_null(k->choices);
		if (k->type == &pt_uint || k->type == &pt_size)
			assert_true(k->max > 0 && k->min <= k->max);
	}
}

/* Every documented key is one the parser knows, in the section the docs
 * name: no key is in one place but not the other. */
static void test_schema_doc_matches_parser(void **state)
{
	size_t n;
	const struct profile_key_doc *d = profile_schema_doc(&n);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		char text[256], sec[32];
		struct profile p;
		struct vr_error err = {0};

		snprintf(sec, sizeof(sec), "%s", d[i].section);
		if (strstr(sec, ".NAME"))
			strcpy(strstr(sec, ".NAME"), ".x");
		snprintf(text, sizeof(text), "[%s]\n%s = @@@\n", sec, d[i].key);
		assert_int_equal(
			profile_load_string(text, "t.ini", "/", &p, &err),
			-EINVAL);
		if (strstr(err.msg, "unknown key") ||
		    strstr(err.msg, "unknown section"))
			fail_msg("[%s] %s: %s", sec, d[i].key, err.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_instance_defaults),
		cmocka_unit_test(test_full_fixture),
		cmocka_unit_test(test_other_fixtures),
		cmocka_unit_test(test_shipped_profiles),
		cmocka_unit_test(test_lg_auto_size),
		cmocka_unit_test(test_lg_from_profile),
		cmocka_unit_test(test_mac_derived),
		cmocka_unit_test(test_hyperv_lists),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_derived),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_ini_syntax),
		cmocka_unit_test(test_file_dir),
		cmocka_unit_test(test_schema_doc),
		cmocka_unit_test(test_schema_doc_matches_parser),
		cmocka_unit_test(test_schema_table),
	};

	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
