/* domxml_dev.c: a libvirt domain's disks, network cards, passed-through
 * devices, shared memory and TPM: [disk.*], [net.*], [pci.*], [usb],
 * [looking-glass], [tpm]. */
#include "profile/domxml.h"

#include <stdlib.h>
#include <string.h>

/* "vda" when it is a name a section may carry, else kind + index. */
static char *dx_section(const char *kind, const char *name, unsigned i)
{
	if (*name && profile_name_valid(name))
		return xasprintf("%s.%s", kind, name);
	return xasprintf("%s.%s%u", kind, kind, i);
}

static void disk_driver(struct dx *x, const xmlNode *drv, const char *sec)
{
	char type[32] = "", cache[32] = "", io[32] = "";

	if (drv) {
		dx_attr(drv, "type", type, sizeof(type));
		dx_attr(drv, "cache", cache, sizeof(cache));
		dx_attr(drv, "io", io, sizeof(io));
	}
	pdoc_set(x->d, sec, "format", "%s",
		 !strcmp(type, "qcow2") ? "qcow2" : "raw");
	/* no cache or io: QEMU's defaults, which libvirt leaves alone */
	if (!*cache || !strcmp(cache, "writethrough"))
		pdoc_set(x->d, sec, "cache", "writeback");
	else if (!strcmp(cache, "directsync"))
		pdoc_set(x->d, sec, "cache", "none");
	else
		dx_set(x, drv, sec, "cache", "%s", cache);
	if (!strcmp(cache, "writethrough") || !strcmp(cache, "directsync"))
		dx_drop(x, drv,
			"cache='%s' (a flush after every write): vmrun has "
			"none, writeback and unsafe; cache = %s",
			cache,
			!strcmp(cache, "directsync") ? "none" : "writeback");
	pdoc_set(x->d, sec, "aio", "%s", *io ? io : "threads");
	pdoc_set(x->d, sec, "discard", "%s",
		 drv && dx_attr_is(drv, "discard", "unmap") ? "yes" : "no");
	if (drv && dx_attr(drv, "detect_zeroes", type, sizeof(type)))
		dx_drop(x, drv,
			"detect_zeroes='%s': vmrun leaves QEMU's "
			"default",
			type);
}

static const char *disk_bus(struct dx *x, const xmlNode *tgt)
{
	char bus[32];

	dx_attr(tgt, "bus", bus, sizeof(bus));
	if (!strcmp(bus, "virtio") || !strcmp(bus, "sata") ||
	    !strcmp(bus, "nvme"))
		return !strcmp(bus, "virtio") ? "virtio"
		       : !strcmp(bus, "sata") ? "sata"
					      : "nvme";
	if (!strcmp(bus, "scsi")) {
		if (!x->virtio_scsi)
			dx_drop(x, tgt,
				"libvirt's SCSI controller here is not "
				"virtio-scsi; vmrun's is");
		return "scsi";
	}
	return NULL;
}

static void dx_disk(struct dx *x, const xmlNode *n, unsigned i)
{
	static const char *const known[] = {"driver", "source",	      "target",
					    "boot",   "readonly",     "address",
					    "alias",  "backingStore", NULL};
	const xmlNode *src = dx_child(n, "source"),
		      *tgt = dx_child(n, "target");
	bool cdrom = dx_attr_is(n, "device", "cdrom");
	cleanup_free char *sec = NULL;
	char file[1024] = "", dev[32] = "", type[32];
	unsigned long long order;
	const char *bus;

	dx_attr(n, "type", type, sizeof(type));
	if (src)
		dx_attr(src, !strcmp(type, "block") ? "dev" : "file", file,
			sizeof(file));
	if (tgt)
		dx_attr(tgt, "dev", dev, sizeof(dev));
	if ((strcmp(type, "file") && strcmp(type, "block")) || !*file) {
		dx_drop(x, n,
			"vmrun's disks are an image file or a block "
			"device");
		return;
	}
	if (!cdrom && !dx_attr_is(n, "device", "disk")) {
		dx_drop(x, n, "vmrun's drives are disks and CD-ROMs");
		return;
	}
	if (!tgt || !(bus = disk_bus(x, tgt))) {
		dx_drop(x, n,
			"its bus: vmrun's disks are virtio, sata, scsi "
			"or nvme");
		return;
	}
	sec = dx_section("disk", dev, i);
	dx_set(x, src, sec, "file", "%s", file);
	pdoc_set(x->d, sec, "interface", "%s", bus);
	if (cdrom)
		pdoc_set(x->d, sec, "media", "cdrom");
	disk_driver(x, dx_child(n, "driver"), sec);
	if (!cdrom && dx_child(n, "readonly"))
		pdoc_set(x->d, sec, "readonly", "yes");
	if (dx_num(dx_child(n, "boot"), "order", &order)) {
		pdoc_set(x->d, sec, "boot", "%llu", order);
		x->boot_orders = true;
	}
	if (!*(cdrom ? x->boot_cdrom : x->boot_disk))
		snprintf(cdrom ? x->boot_cdrom : x->boot_disk,
			 sizeof(x->boot_disk), "%s", sec);
	dx_others(x, n, known, "a disk setting vmrun does not make");
}

static void dx_interface(struct dx *x, const xmlNode *n, unsigned i)
{
	static const char *const known[] = {
		"mac", "source", "model", "target", "address", "alias", NULL};
	const xmlNode *src = dx_child(n, "source");
	cleanup_free char *sec = xasprintf("net.net%u", i);
	char type[32], v[64];

	dx_attr(n, "type", type, sizeof(type));
	if (!strcmp(type, "bridge") && dx_attr(src, "bridge", v, sizeof(v))) {
		pdoc_set(x->d, sec, "mode", "bridge");
		dx_set(x, src, sec, "bridge", "%s", v);
	} else if (!strcmp(type, "ethernet") &&
		   dx_attr(dx_child(n, "target"), "dev", v, sizeof(v))) {
		pdoc_set(x->d, sec, "mode", "tap");
		dx_set(x, n, sec, "tap", "%s", v);
	} else if (!strcmp(type, "user") || !strcmp(type, "network")) {
		pdoc_set(x->d, sec, "mode", "user");
		if (!strcmp(type, "network"))
			dx_drop(x, n,
				"libvirt's network '%s' (NAT through its own "
				"bridge): vmrun runs no libvirt network; "
				"mode = user (QEMU's NAT) instead, or mode = "
				"bridge with bridge = virbr0 while libvirt's "
				"network is up",
				dx_attr(src, "network", v, sizeof(v)) ? v : "");
	} else {
		dx_drop(x, n, "vmrun's NICs are user, bridge or tap");
		return;
	}
	dx_attr(dx_child(n, "model"), "type", v, sizeof(v));
	if (!strcmp(v, "virtio") || !strcmp(v, "e1000e"))
		pdoc_set(x->d, sec, "model", "%s", v);
	else
		pdoc_set(x->d, sec, "model", "e1000e");
	if (*v && strcmp(v, "virtio") && strcmp(v, "e1000e"))
		dx_drop(x, dx_child(n, "model"),
			"vmrun's NICs are virtio or e1000e; e1000e");
	if (dx_attr(dx_child(n, "mac"), "address", v, sizeof(v)))
		dx_set(x, n, sec, "mac", "%s", v);
	dx_others(x, n, known, "a NIC setting vmrun does not make");
}

/* <address type='pci'> of a hostdev: its guest-address and function. */
static void hostdev_guest(struct dx *x, const xmlNode *a, const char *sec)
{
	unsigned long long dom = 0, bus, slot, fn;

	if (!a || !dx_attr_is(a, "type", "pci"))
		return;
	if (!dx_num(a, "bus", &bus) || !dx_num(a, "slot", &slot) ||
	    !dx_num(a, "function", &fn) || (dx_num(a, "domain", &dom) && dom) ||
	    bus > 0xff || slot > 0x1f || fn > 7) {
		dx_drop(x, a, "not a guest address vmrun can give");
		return;
	}
	pdoc_set(x->d, sec, "guest-address", "%02llx:%02llx.%llx", bus, slot,
		 fn);
	if (dx_attr_is(a, "multifunction", "on"))
		pdoc_set(x->d, sec, "multifunction", "yes");
}

static void hostdev_pci(struct dx *x, const xmlNode *n, const char *sec)
{
	static const char *const known[] = {
		"source", "rom", "address", "driver", "boot", "alias", NULL};
	const xmlNode *a = dx_child(dx_child(n, "source"), "address");
	const xmlNode *rom = dx_child(n, "rom");
	unsigned long long dom = 0, bus, slot, fn, order;
	char file[1024];

	if (!a || !dx_num(a, "bus", &bus) || !dx_num(a, "slot", &slot) ||
	    !dx_num(a, "function", &fn)) {
		dx_fail(x, n, "<hostdev type='pci'> without a source address");
		return;
	}
	dx_num(a, "domain", &dom);
	pdoc_set(x->d, sec, "host", "%04llx:%02llx:%02llx.%llx", dom, bus, slot,
		 fn);
	hostdev_guest(x, dx_child(n, "address"), sec);
	if (rom && dx_attr_is(rom, "bar", "off"))
		pdoc_set(x->d, sec, "rombar", "no");
	if (rom && dx_attr(rom, "file", file, sizeof(file)))
		dx_set(x, rom, sec, "romfile", "%s", file);
	if (rom && dx_attr_is(rom, "enabled", "no"))
		dx_drop(x, rom,
			"no option ROM at all: vmrun always offers "
			"one (rombar = no hides its BAR)");
	if (dx_num(dx_child(n, "boot"), "order", &order)) {
		pdoc_set(x->d, sec, "boot", "%llu", order);
		x->boot_orders = true;
	}
	if (dx_child(n, "driver") &&
	    !dx_attr_is(dx_child(n, "driver"), "name", "vfio"))
		dx_drop(x, dx_child(n, "driver"), "vmrun uses vfio-pci");
	dx_others(x, n, known, NULL);
}

static void hostdev_usb(struct dx *x, const xmlNode *n)
{
	const xmlNode *src = dx_child(n, "source");
	unsigned long long v, p;

	if (dx_num(dx_child(src, "vendor"), "id", &v) &&
	    dx_num(dx_child(src, "product"), "id", &p) && v <= 0xffff &&
	    p <= 0xffff)
		pdoc_set(x->d, "usb", "device", "%04llx:%04llx", v, p);
	else
		dx_drop(x, n,
			"a USB device by bus and device number, which "
			"change when it is plugged again: give [usb] "
			"device = VENDOR:PRODUCT or BUS-PORT");
}

static void dx_hostdev(struct dx *x, const xmlNode *n)
{
	unsigned i = x->nhostdev++; /* libvirt's alias: hostdevN */
	char *sec;

	if (!dx_attr_is(n, "mode", "subsystem")) {
		dx_drop(x, n, "vmrun passes PCI and USB devices");
		return;
	}
	if (dx_attr_is(n, "type", "usb")) {
		hostdev_usb(x, n);
		return;
	}
	if (!dx_attr_is(n, "type", "pci")) {
		dx_drop(x, n, "vmrun passes PCI and USB devices");
		return;
	}
	sec = xasprintf("pci.hostdev%u", i);
	hostdev_pci(x, n, sec);
	if (i < ARRAY_SIZE(x->hostdev))
		x->hostdev[i] = sec;
	else
		free(sec);
}

static void dx_shmem(struct dx *x, const xmlNode *n)
{
	const xmlNode *size = dx_child(n, "size");
	char name[256], sz[32];
	uint64_t bytes = 4 * MIB; /* libvirt's default */

	dx_attr(n, "name", name, sizeof(name));
	if (x->lg ||
	    (dx_child(n, "model") &&
	     !dx_attr_is(dx_child(n, "model"), "type", "ivshmem-plain"))) {
		dx_drop(x, n,
			"vmrun gives the guest one ivshmem-plain region "
			"(Looking Glass)");
		return;
	}
	if (size && dx_size(x, size, "b", &bytes))
		return;
	x->lg = true;
	dx_set(x, n, "looking-glass", "device", "/dev/shm/%s", name);
	pdoc_size(bytes, sz, sizeof(sz));
	pdoc_set(x->d, "looking-glass", "size", "%s", sz);
	if (dx_child(n, "server"))
		dx_drop(x, dx_child(n, "server"), "no ivshmem doorbell server");
}

static void dx_tpm(struct dx *x, const xmlNode *n)
{
	const xmlNode *b = dx_child(n, "backend");
	char path[256];

	if (!dx_attr_is(n, "model", "tpm-crb"))
		dx_drop(x, n, "vmrun gives the guest a CRB TPM (tpm-crb)");
	if (dx_attr_is(b, "type", "passthrough")) {
		pdoc_set(x->d, "tpm", "type", "passthrough");
		if (dx_attr(dx_child(b, "device"), "path", path,
			    sizeof(path)) &&
		    strcmp(path, "/dev/tpm0"))
			dx_drop(x, b, "vmrun passes /dev/tpm0");
		return;
	}
	if (!dx_attr_is(b, "type", "emulator")) {
		dx_drop(x, n, "vmrun's TPMs are swtpm or passthrough");
		return;
	}
	pdoc_set(x->d, "tpm", "type", "swtpm");
	if (dx_attr(b, "version", path, sizeof(path)) && strcmp(path, "2.0"))
		dx_drop(x, b, "TPM %s: vmrun's swtpm is a TPM 2.0", path);
	if (*x->uuid) {
		pdoc_comment(x->d, "tpm",
			     "The TPM state libvirt kept for this VM (its "
			     "keys: BitLocker, Windows Hello).");
		pdoc_set(x->d, "tpm", "state", "/var/lib/libvirt/swtpm/%s/tpm2",
			 x->uuid);
	}
}

void domxml_devices_main(struct dx *x, const xmlNode *n, unsigned *ndisk,
			 unsigned *nnet)
{
	if (dx_is(n, "disk"))
		dx_disk(x, n, (*ndisk)++);
	else if (dx_is(n, "interface"))
		dx_interface(x, n, (*nnet)++);
	else if (dx_is(n, "hostdev"))
		dx_hostdev(x, n);
	else if (dx_is(n, "shmem"))
		dx_shmem(x, n);
	else if (dx_is(n, "tpm"))
		dx_tpm(x, n);
}
