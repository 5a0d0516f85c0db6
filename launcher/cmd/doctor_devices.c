/* doctor_devices.c: the device lines of `vmrun doctor PROFILE`: each
 * [pci.*] function, its driver now, and its IOMMU group's verdict. */
#include "cmd/doctor_check.h"
#include "host/host.h"
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

static bool in_profile(const struct profile *p, const struct pci_addr *a)
{
	for (size_t i = 0; i < p->npci; i++)
		if (pci_addr_eq(&p->pci[i].host, a))
			return true;
	return false;
}

/* "0000:02:00.0 (xhci_hcd), 0000:02:00.1 (ahci)": the members the host
 * holds that keep the group from going (iommu_member_blocks, as the
 * planner decides). malloc'd, "" when none. */
static char *blockers(const struct profile *p, const struct iommu_group *g)
{
	char *s = xstrdup(""), *t, bdf[16];

	for (size_t i = 0; i < g->nfn; i++) {
		const struct host_pci *m = g->fn[i];

		if (!iommu_member_blocks(m, in_profile(p, &m->addr)))
			continue;
		pci_addr_format(&m->addr, bdf, sizeof(bdf));
		t = xasprintf("%s%s%s (%s)", s, *s ? ", " : "", bdf, m->driver);
		free(s);
		s = t;
	}
	return s;
}

static const char fix_shared[] =
	"the group holds devices the host needs: put the card in a slot "
	"with an IOMMU\ngroup of its own (`vmrun devices` shows them), or "
	"run a kernel with the ACS\noverride patch, which lets the group's "
	"devices reach each other's memory";
static const char fix_own[] =
	"add a [pci.NAME] section for each function listed: they are the "
	"card's own\n(its audio, USB-C), and go to the guest with it";
static const char fix_siblings[] =
	"pass the whole group through (a [pci.NAME] section for each "
	"function listed),\nor put the card in a slot with an IOMMU group of "
	"its own (`vmrun devices`)";

/* Whether every member the host holds is a function of the same card
 * as dev (a GPU whose audio was left out). */
static bool held_are_own(const struct profile *p, const struct iommu_group *g,
			 const struct host_pci *dev)
{
	for (size_t i = 0; i < g->nfn; i++) {
		const struct pci_addr *a = &g->fn[i]->addr;

		if (iommu_member_blocks(g->fn[i], in_profile(p, a)) &&
		    (a->domain != dev->addr.domain || a->bus != dev->addr.bus ||
		     a->dev != dev->addr.dev))
			return false;
	}
	return true;
}

static void device_group(struct doctor *d, const struct doctor_check *c,
			 const struct profile_pci *pp,
			 const struct host_pci *dev)
{
	struct iommu_group g;
	cleanup_free char *verdict = NULL, *held = NULL;
	char bdf[16];

	iommu_group_judge(d->h, dev->iommu_group, &g);
	verdict = iommu_verdict_text(d->h, &g);
	held = blockers(d->p, &g);
	pci_addr_format(&dev->addr, bdf, sizeof(bdf));
	doctor_report(
		d, c, *held ? DOCTOR_FAIL : DOCTOR_OK,
		held_are_own(d->p, &g, dev) ? fix_own
		: g.verdict == IOMMU_SHARED ? fix_shared
					    : fix_siblings,
		"[pci.%s] %s %s: driver %s now%s\nIOMMU group %d: %s%s%s",
		pp->name, bdf, dev->name, dev->driver[0] ? dev->driver : "none",
		dev->boot_vga ? ", the boot GPU (the host's console)" : "",
		g.id, verdict, *held ? "\nheld by the host: " : "", held);
	iommu_group_free(&g);
}

static void device_check(struct doctor *d, const struct doctor_check *c,
			 const struct profile_pci *pp)
{
	const struct host_pci *dev = host_pci_find(d->h, &pp->host);
	char bdf[16];

	pci_addr_format(&pp->host, bdf, sizeof(bdf));
	if (!dev)
		doctor_report(d, c, DOCTOR_FAIL,
			      "set host = an address `vmrun devices` lists",
			      "[pci.%s] %s: no such device on this host",
			      pp->name, bdf);
	else if (dev->is_bridge)
		doctor_report(d, c, DOCTOR_FAIL,
			      "pass the devices behind the bridge instead",
			      "[pci.%s] %s %s is a PCI bridge", pp->name, bdf,
			      dev->name);
	else if (dev->iommu_group < 0)
		doctor_report(d, c, DOCTOR_FAIL,
			      "turn the IOMMU on (see the IOMMU line above)",
			      "[pci.%s] %s %s: in no IOMMU group", pp->name,
			      bdf, dev->name);
	else
		device_group(d, c, pp, dev);
}

void doctor_check_devices(struct doctor *d, const struct doctor_check *c)
{
	if (!d->p || !d->h)
		return;
	for (size_t i = 0; i < d->p->npci; i++)
		device_check(d, c, &d->p->pci[i]);
}
