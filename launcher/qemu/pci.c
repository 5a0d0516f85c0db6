/* pci.c: where each PCI device sits in the guest. As libvirt does on
 * q35, every device gets a PCIe root port of its own unless told else. */
#include "host/host.h"
#include "qemu/build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void qb_place_json(json_object *o, const struct qemu_place *pl)
{
	char addr[16];

	if (pl->bus)
		snprintf(addr, sizeof(addr), "pci.%u", pl->bus);
	else
		snprintf(addr, sizeof(addr), "pcie.0");
	json_object_object_add(o, "bus", json_object_new_string(addr));
	if (pl->multifunction)
		json_object_object_add(o, "multifunction",
				       json_object_new_boolean(true));
	if (pl->fn)
		snprintf(addr, sizeof(addr), "0x%x.0x%x", pl->slot, pl->fn);
	else
		snprintf(addr, sizeof(addr), "0x%x", pl->slot);
	json_object_object_add(o, "addr", json_object_new_string(addr));
}

/* The next free root port, 0 when q35 has no room left. */
static unsigned port_take(struct qemu_build *b)
{
	for (unsigned n = 1; n <= QEMU_PORTS_MAX; n++) {
		if (!b->port_taken[n]) {
			b->port_taken[n] = true;
			if (n > b->nports)
				b->nports = n;
			return n;
		}
	}
	return 0;
}

static int port_place(struct qemu_build *b, struct qemu_place *pl,
		      const char *what)
{
	memset(pl, 0, sizeof(*pl));
	pl->bus = port_take(b);
	if (!pl->bus)
		return vr_errorx(b->err, ENOSPC,
				 "%s: too many PCI devices: vmrun gives each "
				 "its own PCIe root port and q35 has room for "
				 "%d",
				 what, QEMU_PORTS_MAX);
	return 0;
}

static int place_explicit(struct qemu_build *b, size_t i)
{
	const struct profile_pci *d = &b->p->pci[i];
	const struct pci_addr *ga = &d->guest_address;
	struct qemu_place *pl = &b->pci[i];

	*pl = (struct qemu_place){ga->bus, ga->dev, ga->fn, d->multifunction};
	if (!ga->bus)
		return 0;
	if (ga->dev)
		return vr_errorx(b->err, EINVAL,
				 "[pci.%s] guest-address %02x:%02x.%x: bus "
				 "%02x is a PCIe root port, whose only slot "
				 "is 00; use %02x:00.%x",
				 d->name, ga->bus, ga->dev, ga->fn, ga->bus,
				 ga->bus, ga->fn);
	if (ga->bus > QEMU_PORTS_MAX)
		return vr_errorx(b->err, EINVAL,
				 "[pci.%s] guest-address %02x:00.%x: vmrun "
				 "makes buses 01 to %02x (one per root port)",
				 d->name, ga->bus, ga->fn, QEMU_PORTS_MAX);
	b->port_taken[ga->bus] = true;
	if (ga->bus > b->nports)
		b->nports = ga->bus;
	return 0;
}

/* The [pci] entry at function 0 of the same host slot as entry i. */
static int host_fn0_of(const struct profile *p, size_t i)
{
	const struct pci_addr *a = &p->pci[i].host;

	for (size_t j = 0; j < p->npci; j++) {
		const struct pci_addr *o = &p->pci[j].host;

		if (j != i && o->fn == 0 && o->domain == a->domain &&
		    o->bus == a->bus && o->dev == a->dev)
			return (int)j;
	}
	return -1;
}

/* Functions of one host device stay functions of one guest device (a
 * GPU's HDMI audio beside it), which drivers expect. */
static bool follows_fn0(const struct profile *p, size_t i)
{
	return !p->pci[i].has_guest_address && p->pci[i].host.fn &&
	       host_fn0_of(p, i) >= 0;
}

static int check_pci_pair(struct qemu_build *b, size_t i, size_t j)
{
	const struct qemu_place *x = &b->pci[i], *y = &b->pci[j];

	if (x->bus != y->bus || x->slot != y->slot)
		return 0;
	if (x->fn == y->fn)
		return vr_errorx(b->err, EEXIST,
				 "[pci.%s] and [pci.%s] both sit at guest "
				 "address %02x:%02x.%x: give one another "
				 "guest-address",
				 b->p->pci[i].name, b->p->pci[j].name, x->bus,
				 x->slot, x->fn);
	/* QEMU refuses a second function beside a single-function 0. */
	if (!x->fn)
		b->pci[i].multifunction = true;
	return 0;
}

static int check_pci_fn0(struct qemu_build *b, size_t i)
{
	const struct qemu_place *x = &b->pci[i];

	if (!x->fn)
		return 0;
	for (size_t j = 0; j < b->p->npci; j++)
		if (b->pci[j].bus == x->bus && b->pci[j].slot == x->slot &&
		    !b->pci[j].fn)
			return 0;
	return vr_errorx(b->err, EINVAL,
			 "[pci.%s] sits at guest address %02x:%02x.%x but "
			 "no device is at function 0 of that slot "
			 "(%02x:%02x.0); a guest finds no other function "
			 "without it",
			 b->p->pci[i].name, x->bus, x->slot, x->fn, x->bus,
			 x->slot);
}

/* Slots of pcie.0 that vmrun fills itself. */
static const char *pcie0_owner(const struct qemu_build *b, unsigned slot)
{
	unsigned last = QEMU_PORT_SLOT0 + (b->nports ? (b->nports - 1) / 8 : 0);

	if (slot == 0)
		return "the host bridge";
	if (slot == QEMU_VIDEO_SLOT && b->p->display.video != VIDEO_NONE)
		return "the video device";
	if (b->nports && slot >= QEMU_PORT_SLOT0 && slot <= last)
		return "vmrun's PCIe root ports";
	if (slot == QEMU_AUDIO_SLOT && b->p->audio.backend != AUDIO_NONE)
		return "the HD Audio controller";
	if (slot == QEMU_LPC_SLOT)
		return "the ICH9 LPC/SATA controller";
	return NULL;
}

static int check_pci(struct qemu_build *b)
{
	const struct profile *p = b->p;
	int r = 0;

	for (size_t i = 0; !r && i < p->npci; i++)
		for (size_t j = i + 1; !r && j < p->npci; j++) {
			r = check_pci_pair(b, i, j);
			if (!r)
				r = check_pci_pair(b, j, i);
		}
	for (size_t i = 0; !r && i < p->npci; i++)
		r = check_pci_fn0(b, i);
	for (size_t i = 0; !r && i < p->npci; i++) {
		const struct qemu_place *x = &b->pci[i];
		const char *owner = x->bus ? NULL : pcie0_owner(b, x->slot);

		if (owner)
			r = vr_errorx(b->err, EBUSY,
				      "[pci.%s] guest-address 00:%02x.%x is "
				      "taken by %s: use a free slot of bus 00 "
				      "or a root port of its own (01:00.0)",
				      p->pci[i].name, x->slot, x->fn, owner);
	}
	return r;
}

static int place_vfio(struct qemu_build *b)
{
	const struct profile *p = b->p;
	int r = 0;

	for (size_t i = 0; !r && i < p->npci; i++)
		if (p->pci[i].has_guest_address)
			r = place_explicit(b, i);
	for (size_t i = 0; !r && i < p->npci; i++) {
		cleanup_free char *what = xasprintf("[pci.%s]", p->pci[i].name);

		if (p->pci[i].has_guest_address || follows_fn0(p, i))
			continue;
		r = port_place(b, &b->pci[i], what);
		b->pci[i].multifunction = p->pci[i].multifunction;
	}
	for (size_t i = 0; !r && i < p->npci; i++) {
		if (!follows_fn0(p, i))
			continue;
		b->pci[i] = b->pci[host_fn0_of(p, i)];
		b->pci[i].fn = p->pci[i].host.fn;
		b->pci[i].multifunction = p->pci[i].multifunction;
	}
	return r;
}

int qemu_pci_place(struct qemu_build *b)
{
	const struct profile *p = b->p;
	bool scsi = false;
	int r = place_vfio(b);

	for (size_t i = 0; !r && i < p->ndisk; i++) {
		cleanup_free char *what =
			xasprintf("[disk.%s]", p->disk[i].name);

		scsi |= p->disk[i].iface == DISK_SCSI;
		if (p->disk[i].iface == DISK_VIRTIO ||
		    p->disk[i].iface == DISK_NVME)
			r = port_place(b, &b->disk[i], what);
	}
	if (!r && scsi)
		r = port_place(b, &b->scsi, "the SCSI controller");
	for (size_t i = 0; !r && i < p->nnet; i++) {
		cleanup_free char *what = xasprintf("[net.%s]", p->net[i].name);

		if (p->net[i].mode != NET_NONE)
			r = port_place(b, &b->net[i], what);
	}
	if (!r && p->nusb)
		r = port_place(b, &b->xhci, "the USB controller");
	if (!r && p->lg.enabled)
		r = port_place(b, &b->lg, "[looking-glass]");
	if (!r && p->memory.balloon)
		r = port_place(b, &b->balloon, "the balloon");
	return r ? r : check_pci(b);
}

/* libvirt's layout: ports 0x10 up, eight functions of one slot each,
 * chassis and id numbered from 1. */
void qemu_pci_add_ports(struct qemu_build *b)
{
	qb_from(b, "%s", "");
	for (unsigned n = 1; n <= b->nports; n++) {
		unsigned idx = n - 1, fn = idx % 8;
		char id[16];
		struct qemu_place pl = {
			.slot = QEMU_PORT_SLOT0 + idx / 8,
			.fn = fn,
			.multifunction = !fn && n < b->nports,
		};
		json_object *o = json_object_new_object();

		snprintf(id, sizeof(id), "pci.%u", n);
		json_object_object_add(
			o, "driver", json_object_new_string("pcie-root-port"));
		json_object_object_add(o, "port",
				       json_object_new_int(0x10 + (int)idx));
		json_object_object_add(o, "chassis",
				       json_object_new_int((int)n));
		json_object_object_add(o, "id", json_object_new_string(id));
		qb_place_json(o, &pl);
		qb_json(b, "-device", o);
	}
}

static void vfio_add_ids(json_object *o, const struct profile_pci *d)
{
	const struct {
		const char *key;
		int v;
	} ids[] = {
		{"x-pci-vendor-id", d->vendor_id},
		{"x-pci-device-id", d->device_id},
		{"x-pci-sub-vendor-id", d->sub_vendor_id},
		{"x-pci-sub-device-id", d->sub_device_id},
	};

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		if (ids[i].v >= 0)
			json_object_object_add(o, ids[i].key,
					       json_object_new_int(ids[i].v));
}

void qemu_pci_add_vfio(struct qemu_build *b)
{
	for (size_t i = 0; i < b->p->npci; i++) {
		const struct profile_pci *d = &b->p->pci[i];
		cleanup_free char *id = xasprintf("hostdev-%s", d->name);
		json_object *o = qb_device("vfio-pci", NULL);
		char host[16];

		qb_from(b, "pci.%s", d->name);
		pci_addr_format(&d->host, host, sizeof(host));
		json_object_object_add(o, "host", json_object_new_string(host));
		json_object_object_add(o, "id", json_object_new_string(id));
		qb_place_json(o, &b->pci[i]);
		if (d->romfile) {
			cleanup_free char *rom = hostfs_path(d->romfile);

			json_object_object_add(o, "romfile",
					       json_object_new_string(rom));
		}
		if (!d->rombar)
			json_object_object_add(o, "rombar",
					       json_object_new_int(0));
		if (d->x_vga)
			json_object_object_add(o, "x-vga",
					       json_object_new_boolean(true));
		vfio_add_ids(o, d);
		if (d->boot)
			json_object_object_add(
				o, "bootindex",
				json_object_new_int((int)d->boot));
		qb_json(b, "-device", o);
	}
}
