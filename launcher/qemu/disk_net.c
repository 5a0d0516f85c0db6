/* disk_net.c: the guest's disks and network cards on the QEMU command
 * line, as -blockdev/-netdev backends plus a -device front end each. */
#include "host/host.h"
#include "qemu/qemu.h"
#include "qemu/build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* format = auto: qcow2 images start with "QFI\xfb"; anything else is
 * raw. An image that cannot be read yet (a --dry-run before it exists)
 * is taken as raw, with a warning. */
static const char *disk_format(struct qemu_build *b,
			       const struct profile_disk *d)
{
	cleanup_free char *path = NULL;
	cleanup_close int fd = -1;
	unsigned char magic[4];

	if (d->format != DISK_FORMAT_AUTO)
		return d->format == DISK_FORMAT_QCOW2 ? "qcow2" : "raw";
	path = hostfs_path(d->file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, magic, sizeof(magic)) != sizeof(magic)) {
		strv_addf(b->warnings,
			  "[disk.%s] cannot read %s to find its format: "
			  "assuming raw (set format to be sure)",
			  d->name, d->file);
		return "raw";
	}
	return memcmp(magic, "QFI\xfb", 4) ? "raw" : "qcow2";
}

/* Block devices need QEMU's host_device (or host_cdrom) driver. */
static const char *disk_driver(const struct profile_disk *d)
{
	cleanup_free char *path = hostfs_path(d->file);
	struct stat st;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return "file";
	return d->media == MEDIA_CDROM ? "host_cdrom" : "host_device";
}

static json_object *disk_cache(const struct profile_disk *d)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "direct",
			       json_object_new_boolean(d->cache == CACHE_NONE));
	json_object_object_add(
		c, "no-flush",
		json_object_new_boolean(d->cache == CACHE_UNSAFE));
	return c;
}

/* libvirt's pair: a protocol node for the file and a format node on it. */
static void disk_add_blockdev(struct qemu_build *b, size_t i)
{
	const struct profile_disk *d = &b->p->disk[i];
	static const char *const aio[] = {[AIO_IO_URING] = "io_uring",
					  [AIO_NATIVE] = "native",
					  [AIO_THREADS] = "threads"};
	const char *discard = d->discard ? "unmap" : "ignore";
	cleanup_free char *path = hostfs_path(d->file);
	char storage[48], format[48];
	json_object *o = json_object_new_object();

	snprintf(storage, sizeof(storage), "disk%zu-storage", i);
	snprintf(format, sizeof(format), "disk%zu-format", i);
	qb_from(b, "disk.%s file", d->name);
	json_object_object_add(o, "driver",
			       json_object_new_string(disk_driver(d)));
	json_object_object_add(o, "filename", json_object_new_string(path));
	json_object_object_add(o, "node-name", json_object_new_string(storage));
	json_object_object_add(o, "auto-read-only",
			       json_object_new_boolean(true));
	json_object_object_add(o, "discard", json_object_new_string(discard));
	json_object_object_add(o, "cache", disk_cache(d));
	json_object_object_add(o, "aio", json_object_new_string(aio[d->aio]));
	qb_json(b, "-blockdev", o);
	qb_from(b, "disk.%s format", d->name);
	o = json_object_new_object();
	json_object_object_add(o, "node-name", json_object_new_string(format));
	json_object_object_add(o, "read-only",
			       json_object_new_boolean(d->readonly));
	json_object_object_add(o, "discard", json_object_new_string(discard));
	json_object_object_add(o, "cache", disk_cache(d));
	json_object_object_add(o, "driver",
			       json_object_new_string(disk_format(b, d)));
	json_object_object_add(o, "file", json_object_new_string(storage));
	qb_json(b, "-blockdev", o);
}

static int disk_check(struct qemu_build *b, const struct profile_disk *d,
		      unsigned nsata)
{
	bool cdrom = d->media == MEDIA_CDROM;

	if (cdrom && (d->iface == DISK_VIRTIO || d->iface == DISK_NVME))
		return vr_errorx(b->err, EINVAL,
				 "[disk.%s] media = cdrom needs interface = "
				 "sata or scsi",
				 d->name);
	if (d->aio == AIO_NATIVE && d->cache != CACHE_NONE)
		return vr_errorx(b->err, EINVAL,
				 "[disk.%s] aio = native needs cache = none "
				 "(QEMU opens the file with O_DIRECT for it); "
				 "use aio = io_uring or threads",
				 d->name);
	if (d->iface == DISK_SATA && nsata >= 6)
		return vr_errorx(b->err, ENOSPC,
				 "[disk.%s] is the 7th sata disk but q35's "
				 "SATA controller has 6 ports: use interface "
				 "= scsi or virtio",
				 d->name);
	return 0;
}

/* The front end: its driver and where it plugs in. */
static json_object *disk_device(struct qemu_build *b, size_t i, unsigned *nsata,
				unsigned *nscsi)
{
	const struct profile_disk *d = &b->p->disk[i];
	bool cdrom = d->media == MEDIA_CDROM;
	json_object *o;
	char bus[16];

	switch (d->iface) {
	case DISK_SATA:
		o = qb_device(cdrom ? "ide-cd" : "ide-hd", NULL);
		snprintf(bus, sizeof(bus), "ide.%u", (*nsata)++);
		json_object_object_add(o, "bus", json_object_new_string(bus));
		break;
	case DISK_SCSI:
		o = qb_device(cdrom ? "scsi-cd" : "scsi-hd", NULL);
		json_object_object_add(o, "bus",
				       json_object_new_string("scsi0.0"));
		json_object_object_add(o, "scsi-id", json_object_new_int(0));
		json_object_object_add(o, "lun",
				       json_object_new_int((int)(*nscsi)++));
		break;
	case DISK_NVME:
		o = qb_device("nvme", NULL);
		qb_place_json(o, &b->disk[i]);
		/* NVMe needs a serial; 20 characters at most. */
		json_object_object_add(
			o, "serial",
			json_object_new_string_len(d->name,
						   (int)strnlen(d->name, 20)));
		break;
	default:
		o = qb_device("virtio-blk-pci", NULL);
		qb_place_json(o, &b->disk[i]);
		break;
	}
	return o;
}

long qemu_disk_of_node(const struct profile *p, const char *node,
		       const char *device)
{
	unsigned long i;
	int n = -1;

	if (node && sscanf(node, "disk%lu-%*[a-z]%n", &i, &n) == 1 &&
	    n == (int)strlen(node) && i < p->ndisk)
		return (long)i;
	for (size_t j = 0; device && j < p->ndisk; j++) {
		cleanup_free char *id = xasprintf("disk-%s", p->disk[j].name);
		const char *at = strstr(device, id);
		size_t len = strlen(id);

		/* the id whole: "disk-a" is not in ".../disk-ab/..." */
		if (at && (at == device || at[-1] == '/') &&
		    (at[len] == '\0' || at[len] == '/'))
			return (long)j;
	}
	return -1;
}

int qemu_add_disks(struct qemu_build *b)
{
	const struct profile *p = b->p;
	unsigned nsata = 0, nscsi = 0;

	qb_from(b, "%s", "");
	if (b->scsi.bus) {
		json_object *o = qb_device("virtio-scsi-pci", "scsi0");

		qb_place_json(o, &b->scsi);
		qb_json(b, "-device", o);
	}
	for (size_t i = 0; i < p->ndisk; i++) {
		const struct profile_disk *d = &p->disk[i];
		cleanup_free char *id = xasprintf("disk-%s", d->name);
		char format[48];
		json_object *o;
		int r = disk_check(b, d, nsata);

		if (r)
			return r;
		disk_add_blockdev(b, i);
		qb_from(b, "disk.%s", d->name);
		o = disk_device(b, i, &nsata, &nscsi);
		snprintf(format, sizeof(format), "disk%zu-format", i);
		json_object_object_add(o, "drive",
				       json_object_new_string(format));
		json_object_object_add(o, "id", json_object_new_string(id));
		if (d->boot)
			json_object_object_add(
				o, "bootindex",
				json_object_new_int((int)d->boot));
		if (d->media != MEDIA_CDROM)
			json_object_object_add(o, "write-cache",
					       json_object_new_string("on"));
		qb_json(b, "-device", o);
	}
	return 0;
}

static json_object *net_backend(struct qemu_build *b,
				const struct profile_net *n, const char *id)
{
	json_object *o = json_object_new_object();
	cleanup_free char *tap = NULL;

	json_object_object_add(
		o, "type",
		json_object_new_string(n->mode == NET_USER ? "user" : "tap"));
	json_object_object_add(o, "id", json_object_new_string(id));
	if (n->mode == NET_USER)
		return o;
	/* vmrun makes (bridge) or the user made (tap) the device: QEMU
	 * only opens it and runs no scripts as root. */
	tap = n->mode == NET_BRIDGE ? qemu_tap_name(b->p, n) : xstrdup(n->tap);
	json_object_object_add(o, "ifname", json_object_new_string(tap));
	json_object_object_add(o, "script", json_object_new_string("no"));
	json_object_object_add(o, "downscript", json_object_new_string("no"));
	/* the in-kernel virtio-net backend: packets skip QEMU's loop */
	if (b->h->vhost_net && n->model == NIC_VIRTIO &&
	    b->p->vm.accel == ACCEL_KVM)
		json_object_object_add(o, "vhost",
				       json_object_new_boolean(true));
	return o;
}

int qemu_add_nets(struct qemu_build *b)
{
	for (size_t i = 0; i < b->p->nnet; i++) {
		const struct profile_net *n = &b->p->net[i];
		cleanup_free char *nd = xasprintf("netdev-%s", n->name);
		cleanup_free char *id = xasprintf("net-%s", n->name);
		json_object *o;

		if (n->mode == NET_NONE)
			continue;
		qb_from(b, "net.%s", n->name);
		if (n->mode == NET_TAP && (!n->tap || !*n->tap))
			return vr_errorx(b->err, EINVAL,
					 "[net.%s] mode = tap needs tap = "
					 "DEVICE",
					 n->name);
		qb_json(b, "-netdev", net_backend(b, n, nd));
		o = qb_device(n->model == NIC_E1000E ? "e1000e"
						     : "virtio-net-pci",
			      NULL);
		json_object_object_add(o, "netdev", json_object_new_string(nd));
		json_object_object_add(o, "id", json_object_new_string(id));
		if (n->mac[0])
			json_object_object_add(o, "mac",
					       json_object_new_string(n->mac));
		qb_place_json(o, &b->net[i]);
		qb_json(b, "-device", o);
	}
	return 0;
}
