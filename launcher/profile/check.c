/* check.c: what no single value can say: defaults derived from
 * other keys, and checks across fields and sections. Still pure. */
#include "profile/schema.h"

#include <stdlib.h>
#include <string.h>

#define VCPUS_MAX 288 /* QEMU's q35 limit */

bool prec_isset(const struct psect_rec *r, const char *key)
{
	const struct pkey *k = pkey_find(r->sec, key);

	return k && r->keyline[pkey_slot(k)];
}

int prec_line(const struct psect_rec *r, const char *key)
{
	const struct pkey *k = pkey_find(r->sec, key);

	if (k && r->keyline[pkey_slot(k)])
		return r->keyline[pkey_slot(k)];
	return r->line;
}

static struct psect_rec *prec_instance(struct profile_ctx *c, const char *sec,
				       size_t index)
{
	for (size_t i = 0; i < c->nrecs; i++)
		if (c->recs[i].sec->instance &&
		    !strcmp(c->recs[i].sec->name, sec) &&
		    c->recs[i].index == index)
			return &c->recs[i];
	return NULL;
}

/* Keys that mean nothing unless another key has some value. */
static void only_with(struct profile_ctx *c, struct psect_rec *r,
		      const char *key, bool ok, const char *what)
{
	if (!ok && prec_isset(r, key))
		profile_errorf(c, prec_line(r, key),
			       "[%s] %s is only used with "
			       "%s",
			       r->label, key, what);
}

static void check_topology(struct profile_ctx *c, struct psect_rec *r)
{
	struct profile_cpu *cpu = &c->p->cpu;
	unsigned long long n =
		(unsigned long long)cpu->sockets * cpu->cores * cpu->threads;
	static const char *const keys[] = {"sockets", "cores", "threads"};
	int line = r->line;

	if (n <= VCPUS_MAX) {
		cpu->vcpus = (unsigned)n;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (prec_isset(r, keys[i]) && prec_line(r, keys[i]) > line)
			line = prec_line(r, keys[i]);
	profile_errorf(c, line,
		       "[cpu] sockets x cores x threads = %u x %u x "
		       "%u = %llu vCPUs; the q35 machine takes at "
		       "most %d",
		       cpu->sockets, cpu->cores, cpu->threads, n, VCPUS_MAX);
}

static void check_cpu(struct profile_ctx *c)
{
	struct psect_rec *r = prec_singleton(c, "cpu");
	struct profile_cpu *cpu = &c->p->cpu;
	struct cpulist both = {0};

	check_topology(c, r);
	if (cpu->vcpus && cpu->vcpu_pin.n && cpu->vcpu_pin.n != cpu->vcpus)
		profile_errorf(c, prec_line(r, "vcpu-pin"),
			       "[cpu] vcpu-pin lists %zu CPU%s but the guest "
			       "has %u vCPU%s",
			       cpu->vcpu_pin.n, cpu->vcpu_pin.n == 1 ? "" : "s",
			       cpu->vcpus, cpu->vcpus == 1 ? "" : "s");
	both.cpu = xcalloc(cpu->emulator_pin.n, sizeof(int));
	for (size_t i = 0; i < cpu->emulator_pin.n; i++)
		if (cpulist_has(&cpu->vcpu_pin, cpu->emulator_pin.cpu[i]))
			both.cpu[both.n++] = cpu->emulator_pin.cpu[i];
	if (both.n) {
		cleanup_free char *list = cpulist_format(&both);

		profile_errorf(c, prec_line(r, "emulator-pin"),
			       "[cpu] emulator-pin shares CPU%s %s with "
			       "vcpu-pin; give QEMU's other threads CPUs of "
			       "their own",
			       both.n == 1 ? "" : "s", list);
	}
	cpulist_free(&both);
	if (cpu->isolate && !cpu->vcpu_pin.n)
		profile_errorf(c, prec_line(r, "isolate"),
			       "[cpu] isolate = yes needs vcpu-pin: the guest "
			       "gets the CPUs in vcpu-pin, the host keeps the "
			       "others");
}

static void check_memory(struct profile_ctx *c)
{
	struct psect_rec *r = prec_singleton(c, "vm");
	uint64_t mem = c->p->vm.memory, page;
	const char *name;
	char size[32];

	switch (c->p->memory.hugepages) {
	case HUGEPAGES_1G:
		page = GIB;
		name = "1G";
		break;
	case HUGEPAGES_2M:
		page = 2 * MIB;
		name = "2M";
		break;
	default:
		return;
	}
	if (mem % page == 0)
		return;
	profile_size_format(mem, size, sizeof(size));
	profile_errorf(c, prec_line(r, "memory"),
		       "[vm] memory = %s is not a multiple of the %s huge page "
		       "size ([memory] hugepages = %s)",
		       size, name, name);
}

static void check_firmware(struct profile_ctx *c)
{
	struct psect_rec *r = prec_singleton(c, "firmware");
	struct profile_firmware *fw = &c->p->firmware;
	bool ovmf = fw->type == FW_OVMF;

	if (!ovmf && fw->secure_boot)
		profile_errorf(c, prec_line(r, "secure-boot"),
			       "[firmware] secure-boot = yes needs UEFI: use "
			       "type = ovmf (SeaBIOS has no Secure Boot)");
	only_with(c, r, "code", ovmf, "type = ovmf");
	only_with(c, r, "vars-template", ovmf, "type = ovmf");
	only_with(c, r, "vars", ovmf, "type = ovmf");
	if (!ovmf) {
		free(fw->vars); /* the ${state-dir} default is OVMF's */
		fw->vars = NULL;
	}
}

static void check_smbios(struct profile_ctx *c)
{
	struct psect_rec *r = prec_singleton(c, "smbios");
	bool custom = c->p->smbios.mode == SMBIOS_CUSTOM;

	for (size_t i = 0; i < profile_nkeys; i++)
		if (profile_keys[i].sec == r->sec &&
		    strcmp(profile_keys[i].name, "mode"))
			only_with(c, r, profile_keys[i].name, custom,
				  "mode = custom");
}

/* The first [pci.*] before index i with the same host (or guest
 * address), or -1: each clash is reported once. */
static long pci_first_clash(const struct profile *p, size_t i, bool guest)
{
	const struct profile_pci *a = &p->pci[i];

	for (size_t j = 0; j < i; j++) {
		const struct profile_pci *b = &p->pci[j];

		if (!guest && pci_addr_eq(&a->host, &b->host))
			return (long)j;
		if (guest && a->has_guest_address && b->has_guest_address &&
		    pci_addr_eq(&a->guest_address, &b->guest_address))
			return (long)j;
	}
	return -1;
}

static void check_pci(struct profile_ctx *c)
{
	struct profile *p = c->p;
	char buf[16];
	long j;

	for (size_t i = 0; i < p->npci; i++) {
		struct psect_rec *r = prec_instance(c, "pci", i);

		j = pci_first_clash(p, i, false);
		if (j >= 0)
			profile_errorf(c, prec_line(r, "host"),
				       "[%s] host %s is already passed through "
				       "by [pci.%s]",
				       r->label,
				       pci_addr_format(&p->pci[i].host, buf,
						       sizeof(buf)),
				       p->pci[j].name);
		j = pci_first_clash(p, i, true);
		if (j >= 0)
			profile_errorf(c, prec_line(r, "guest-address"),
				       "[%s] guest-address %02x:%02x.%x is "
				       "already used by [pci.%s]",
				       r->label, p->pci[i].guest_address.bus,
				       p->pci[i].guest_address.dev,
				       p->pci[i].guest_address.fn,
				       p->pci[j].name);
	}
}

/* Boot indexes are one namespace across devices and disks. */
static void check_boot(struct profile_ctx *c)
{
	struct profile *p = c->p;
	size_t n = p->npci + p->ndisk;

	for (size_t i = 0; i < n; i++) {
		bool pi = i < p->npci;
		unsigned bi = pi ? p->pci[i].boot : p->disk[i - p->npci].boot;
		struct psect_rec *r =
			pi ? prec_instance(c, "pci", i)
			   : prec_instance(c, "disk", i - p->npci);

		for (size_t j = 0; bi && j < i; j++) {
			bool pj = j < p->npci;
			unsigned bj =
				pj ? p->pci[j].boot : p->disk[j - p->npci].boot;

			if (bi != bj)
				continue;
			profile_errorf(c, prec_line(r, "boot"),
				       "[%s] boot = %u is already used by "
				       "[%s.%s]",
				       r->label, bi, pj ? "pci" : "disk",
				       pj ? p->pci[j].name
					  : p->disk[j - p->npci].name);
			break;
		}
	}
}

static void check_disks(struct profile_ctx *c)
{
	for (size_t i = 0; i < c->p->ndisk; i++) {
		struct profile_disk *d = &c->p->disk[i];
		struct psect_rec *r = prec_instance(c, "disk", i);

		if (d->media != MEDIA_CDROM)
			continue;
		if (d->iface == DISK_VIRTIO || d->iface == DISK_NVME)
			profile_errorf(c, prec_line(r, "media"),
				       "[%s] media = cdrom needs interface = "
				       "sata or scsi (%s disk cannot be a "
				       "CD-ROM)",
				       r->label,
				       d->iface == DISK_NVME ? "an nvme"
							     : "a virtio");
		if (!prec_isset(r, "readonly"))
			d->readonly = true;
	}
}

/* FNV-1a: small, and stable across versions, which is all a MAC needs. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h ^ 0xff) * 16777619u; /* a separator between strings */
}

/* 52:54:00 (QEMU's locally administered prefix) + 3 bytes of a hash of
 * VM name, uuid and NIC name: stable across starts, unique per NIC. */
static void mac_derive(const struct profile *p, struct profile_net *net)
{
	uint32_t h = 2166136261u;

	h = fnv1a(h, p->vm.name);
	h = fnv1a(h, p->vm.has_uuid ? p->vm.uuid : "");
	h = fnv1a(h, net->name);
	snprintf(net->mac, sizeof(net->mac), "52:54:00:%02x:%02x:%02x",
		 (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
}

static void check_nets(struct profile_ctx *c)
{
	for (size_t i = 0; i < c->p->nnet; i++) {
		struct profile_net *n = &c->p->net[i];
		struct psect_rec *r = prec_instance(c, "net", i);

		if (n->mode == NET_BRIDGE && !n->bridge)
			profile_errorf(c, prec_line(r, "mode"),
				       "[%s] mode = bridge needs bridge = NAME "
				       "(e.g. br0)",
				       r->label);
		if (n->mode == NET_TAP && !n->tap)
			profile_errorf(c, prec_line(r, "mode"),
				       "[%s] mode = tap needs tap = NAME (an "
				       "existing tap device)",
				       r->label);
		only_with(c, r, "bridge", n->mode == NET_BRIDGE,
			  "mode = bridge");
		only_with(c, r, "tap", n->mode == NET_TAP, "mode = tap");
		if (!n->has_mac)
			mac_derive(c->p, n);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(n->mac, c->p->net[j].mac))
				profile_errorf(c, prec_line(r, "mac"),
					       "[%s] mac %s is already used by "
					       "[net.%s]",
					       r->label, n->mac,
					       c->p->net[j].name);
	}
}

static void check_looking_glass(struct profile_ctx *c)
{
	struct psect_rec *r = prec_singleton(c, "looking-glass");
	struct profile_looking_glass *lg = &c->p->lg;
	bool automatic = !lg->size;

	lg->enabled = r->line > 0;
	only_with(c, r, "resolution", automatic, "size = auto");
	only_with(c, r, "hdr", automatic, "size = auto");
	if (automatic)
		lg->size = profile_lg_auto_size(lg->width, lg->height, lg->hdr);
}

static void check_display(struct profile_ctx *c)
{
	struct psect_rec *r = prec_singleton(c, "display");
	struct profile_display *d = &c->p->display;
	bool remote = d->type == DISPLAY_SPICE || d->type == DISPLAY_VNC;

	only_with(c, r, "listen", remote, "type = spice or vnc");
	only_with(c, r, "port", remote, "type = spice or vnc");
	if (d->type == DISPLAY_VNC && d->port < 5900)
		profile_errorf(c, prec_line(r, "port"),
			       "[display] port = %u: VNC ports start at 5900 "
			       "(display :0)",
			       d->port);
	if (!prec_isset(r, "video")) {
		d->video = VIDEO_STD;
		for (size_t i = 0; i < c->p->npci; i++)
			if (c->p->pci[i].x_vga)
				d->video = VIDEO_NONE;
	}
}

static void check_misc(struct profile_ctx *c)
{
	struct psect_rec *tpm = prec_singleton(c, "tpm");
	struct psect_rec *input = prec_singleton(c, "input");

	only_with(c, tpm, "state", c->p->tpm.type == TPM_SWTPM, "type = swtpm");
	only_with(c, input, "grab-toggle", c->p->input.evdev.n > 0,
		  "evdev devices");
}

/* QEMU puts hv-vendor-id into the Hyper-V CPUID leaves only when some
 * enlightenment is on: with none, the vendor the user wanted the guest to
 * see (the Code 43 workaround) silently never reaches it. */
static void check_hyperv(struct profile_ctx *c)
{
	struct psect_rec *r = prec_singleton(c, "hyperv");

	if (c->p->hyperv.vendor_id && !c->p->hyperv.nfeatures)
		profile_errorf(c, prec_line(r, "vendor-id"),
			       "[hyperv] vendor-id reaches the guest only "
			       "with some enlightenment on, and "
			       "enlightenments = none turns them all off: set "
			       "enlightenments = default (or a list), or "
			       "remove vendor-id");
}

void profile_check(struct profile_ctx *c)
{
	check_cpu(c);
	check_hyperv(c);
	check_memory(c);
	check_firmware(c);
	check_smbios(c);
	check_pci(c);
	check_boot(c);
	check_disks(c);
	check_nets(c);
	check_looking_glass(c);
	check_display(c);
	check_misc(c);
}
