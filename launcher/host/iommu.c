/* iommu.c: the IOMMU group rules shared by the planner (vfio_plan.c) and
 * `vmrun devices` / `vmrun doctor`: who moves, who blocks, who is critical. */
#include "host/host.h"
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool iommu_fn_moves(const struct host_pci *d)
{
	return !d->is_bridge;
}

bool iommu_member_blocks(const struct host_pci *d, bool taken)
{
	return iommu_fn_moves(d) && !taken && d->driver[0] &&
	       strcmp(d->driver, "vfio-pci");
}

/* Classes the host cannot do without, most specific first. platform: part
 * of the machine itself, never a passthrough candidate even alone. */
static const struct critical_class {
	unsigned cls, mask;
	bool platform;
	const char *what;
} critical_classes[] = {
	{0x0600, 0xffff, true, "host bridge"},
	{0x0601, 0xffff, true, "ISA bridge"},
	{0x0600, 0xff00, true, "system bridge"},
	{0x0c05, 0xffff, true, "SMBus controller"},
	{0x0800, 0xff00, true, "system peripheral"},
	{0x1080, 0xffff, true, "security processor"},
	{0x1100, 0xff00, true, "signal processing controller"},
	{0x1300, 0xff00, true, "instrumentation function"},
	{0x0c03, 0xffff, false, "USB controller"},
	{0x0106, 0xffff, false, "SATA controller"},
	{0x0108, 0xffff, false, "NVMe controller"},
	{0x0100, 0xff00, false, "storage controller"},
	{0x0200, 0xffff, false, "Ethernet controller"},
	{0x0200, 0xff00, false, "network controller"},
};

static const struct critical_class *critical_find(unsigned cls)
{
	for (size_t i = 0; i < ARRAY_SIZE(critical_classes); i++)
		if ((cls & critical_classes[i].mask) == critical_classes[i].cls)
			return &critical_classes[i];
	return NULL;
}

bool iommu_fn_platform(const struct host_pci *d)
{
	const struct critical_class *c = critical_find(d->cls);

	return !d->is_bridge && c && c->platform;
}

static bool is_display(const struct host_pci *d)
{
	return d->cls >> 8 == PCI_CLASS_VGA >> 8;
}

static bool same_device(const struct pci_addr *a, const struct pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}

bool iommu_fn_display(const struct host_pci *d)
{
	return d->cls == PCI_CLASS_VGA || d->cls == 0x0380;
}

const struct host_pci *iommu_host_display(const struct host *h)
{
	const struct host_pci *only = NULL;
	size_t n = 0;

	for (size_t i = 0; i < h->npci; i++)
		if (iommu_fn_display(&h->pci[i]) && h->pci[i].boot_vga)
			return &h->pci[i];
	for (size_t i = 0; i < h->npci; i++)
		if (iommu_fn_display(&h->pci[i]) && h->pci[i].addr.fn == 0) {
			only = &h->pci[i];
			n++;
		}
	return n == 1 ? only : NULL;
}

/* The lowest function of d's device: what the card is (a GPU's audio and
 * USB-C functions sit behind its function 0). */
static const struct host_pci *device_head(const struct host *h,
					  const struct host_pci *d)
{
	for (size_t i = 0; i < h->npci; i++)
		if (same_device(&h->pci[i].addr, &d->addr))
			return &h->pci[i];
	return d;
}

const char *iommu_fn_critical(const struct host *h, const struct host_pci *d)
{
	const struct host_pci *disp = iommu_host_display(h);
	const struct host_pci *head = device_head(h, d);
	const struct critical_class *c = critical_find(d->cls);

	if (d->is_bridge)
		return NULL;
	if (d == disp)
		return "the host's display GPU";
	if (!c)
		return d->needs.n ? "in use by the host" : NULL;
	if (!c->platform && head != d && is_display(head) && head != disp &&
	    !d->needs.n)
		return NULL; /* part of a guest GPU */
	return c->what;
}

static void group_add(const struct host_pci ***v, size_t *n,
		      const struct host_pci *d)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = d;
}

/* Members that move, how many of them are platform, how many devices. */
static void group_count(const struct iommu_group *g, size_t *moving,
			size_t *platform, size_t *devices)
{
	const struct host_pci *prev = NULL;

	*moving = *platform = *devices = 0;
	for (size_t i = 0; i < g->nfn; i++) {
		const struct host_pci *d = g->fn[i];

		if (!iommu_fn_moves(d))
			continue;
		(*moving)++;
		*platform += iommu_fn_platform(d);
		/* members are in address order: a device's functions are
		 * next to each other */
		if (!prev || !same_device(&prev->addr, &d->addr))
			(*devices)++;
		prev = d;
	}
}

/* What the host runs on through d: its display, or its needs. */
static bool host_runs_on(const struct host *h, const struct host_pci *d)
{
	return d->needs.n || d == iommu_host_display(h);
}

static enum iommu_verdict group_verdict(const struct host *h,
					struct iommu_group *g)
{
	size_t moving, platform, devices;

	group_count(g, &moving, &platform, &devices);
	if (!moving)
		return IOMMU_BRIDGES_ONLY;
	if (platform == moving)
		return IOMMU_PLATFORM;
	if (devices == 1 && !platform) {
		for (size_t i = 0; i < g->nfn; i++)
			if (host_runs_on(h, g->fn[i]))
				group_add(&g->list, &g->nlist, g->fn[i]);
		return g->nlist ? IOMMU_HOST_NEEDS : IOMMU_READY;
	}
	for (size_t i = 0; i < g->nfn; i++)
		if (iommu_fn_critical(h, g->fn[i]))
			group_add(&g->list, &g->nlist, g->fn[i]);
	if (g->nlist)
		return IOMMU_SHARED;
	for (size_t i = 0; i < g->nfn; i++)
		if (iommu_fn_moves(g->fn[i]))
			group_add(&g->list, &g->nlist, g->fn[i]);
	return IOMMU_SIBLINGS;
}

void iommu_group_judge(const struct host *h, int id, struct iommu_group *g)
{
	memset(g, 0, sizeof(*g));
	g->id = id;
	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].iommu_group == id)
			group_add(&g->fn, &g->nfn, &h->pci[i]);
	g->verdict = group_verdict(h, g);
}

void iommu_group_free(struct iommu_group *g)
{
	free(g->fn);
	free(g->list);
	memset(g, 0, sizeof(*g));
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

size_t iommu_group_ids(const struct host *h, int **ids)
{
	size_t n = 0, out = 0;

	*ids = NULL;
	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].iommu_group >= 0)
			n++;
	if (!n)
		return 0;
	*ids = xcalloc(n, sizeof(**ids));
	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].iommu_group >= 0)
			(*ids)[out++] = h->pci[i].iommu_group;
	qsort(*ids, n, sizeof(**ids), int_cmp);
	out = 0;
	for (size_t i = 0; i < n; i++)
		if (!out || (*ids)[out - 1] != (*ids)[i])
			(*ids)[out++] = (*ids)[i];
	return out;
}

const char *iommu_verdict_key(enum iommu_verdict v)
{
	static const char *const keys[] = {
		[IOMMU_BRIDGES_ONLY] = "bridges",
		[IOMMU_PLATFORM] = "platform",
		[IOMMU_READY] = "ready",
		[IOMMU_SIBLINGS] = "siblings",
		[IOMMU_SHARED] = "shared",
		[IOMMU_HOST_NEEDS] = "host-critical",
	};

	return keys[v];
}

/* "NVMe controller: / (ext4 on /dev/nvme0n1p2)" (malloc'd) */
static char *needs_text(const struct host *h, const struct host_pci *d)
{
	cleanup_free char *needs = critical_text(d);
	const char *what = iommu_fn_critical(h, d);

	if (!*needs)
		return xstrdup(what ? what : "");
	return xasprintf("%s%s%s", what ? what : "", what ? ": " : "", needs);
}

/* "0000:02:00.0 (USB controller), 0000:02:00.1 (SATA controller)" */
static char *list_text(const struct host *h, const struct iommu_group *g)
{
	char *s = xstrdup(""), *t, bdf[16];

	for (size_t i = 0; i < g->nlist; i++) {
		const char *what = iommu_fn_critical(h, g->list[i]);

		pci_addr_format(&g->list[i]->addr, bdf, sizeof(bdf));
		if (g->verdict == IOMMU_HOST_NEEDS) {
			cleanup_free char *n = needs_text(h, g->list[i]);

			t = xasprintf("%s%s%s (%s)", s, i ? ", " : "", bdf, n);
		} else if (g->verdict == IOMMU_SHARED && what)
			t = xasprintf("%s%s%s (%s)", s, i ? ", " : "", bdf,
				      what);
		else
			t = xasprintf("%s%s%s", s, i ? ", " : "", bdf);
		free(s);
		s = t;
	}
	return s;
}

char *iommu_verdict_text(const struct host *h, const struct iommu_group *g)
{
	cleanup_free char *list = list_text(h, g);

	switch (g->verdict) {
	case IOMMU_BRIDGES_ONLY:
		return xstrdup("bridges only, nothing to pass through");
	case IOMMU_PLATFORM:
		return xstrdup("host platform devices, they stay with the "
			       "host");
	case IOMMU_READY:
		return xstrdup("ready to pass through alone");
	case IOMMU_HOST_NEEDS:
		return xasprintf("could go alone, but the host runs on it: %s",
				 list);
	case IOMMU_SIBLINGS:
		return xasprintf("needs its siblings too: %s (all of them go "
				 "to the guest together)",
				 list);
	case IOMMU_SHARED:
		break;
	}
	return xasprintf("shared with host-critical devices: %s", list);
}
