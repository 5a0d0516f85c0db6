/* vfio_plan.c: what must hold before any PCI function leaves the host
 * (it exists, is no bridge, its IOMMU group can go whole), and the ops. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool in_profile(const struct profile *p, const struct pci_addr *a)
{
	for (size_t i = 0; i < p->npci; i++)
		if (pci_addr_eq(&p->pci[i].host, a))
			return true;
	return false;
}

/* A member the host still uses (iommu.c has the rule, shared with
 * `vmrun doctor`): not a bridge, not ours, bound to a host driver. */
static bool member_blocks(const struct profile *p, const struct host_pci *d)
{
	return iommu_member_blocks(d, in_profile(p, &d->addr));
}

static void member_line(const struct profile *p, const struct host_pci *d,
			struct vr_error *e)
{
	char bdf[16];

	pci_addr_format(&d->addr, bdf, sizeof(bdf));
	if (in_profile(p, &d->addr))
		vr_error_append(e, "  %s %s (in this profile)", bdf, d->name);
	else if (!iommu_fn_moves(d))
		vr_error_append(e, "  %s %s (bridge, stays with the host)", bdf,
				d->name);
	else
		vr_error_append(e, "  %s %s (driver %s)", bdf, d->name,
				d->driver[0] ? d->driver : "none");
}

/* The whole group goes to the guest or nothing of it does. */
static void group_check(const struct profile *p, const struct host *h,
			const struct profile_pci *pp, const char *bdf, int grp,
			struct vr_error *e)
{
	size_t nblock = 0;

	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].iommu_group == grp &&
		    member_blocks(p, &h->pci[i]))
			nblock++;
	if (!nblock)
		return;
	vr_error_append(e,
			"[pci.%s] host = %s: IOMMU group %d also holds %zu "
			"device%s the host is using, and a group can only go "
			"to a guest whole. The group:",
			pp->name, bdf, grp, nblock, nblock == 1 ? "" : "s");
	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].iommu_group == grp)
			member_line(p, &h->pci[i], e);
	vr_error_append(e,
			"  Either pass all of them through (a [pci.NAME] "
			"section each), move the card to a slot with its own "
			"IOMMU group, or run a kernel with the ACS override "
			"patch (pcie_acs_override=downstream,multifunction), "
			"which splits the group but lets its devices reach "
			"each other's memory behind the IOMMU's back");
}

/* Each group once, at its first device in the profile. */
static bool group_seen(const struct profile *p, const struct host *h,
		       size_t upto, int grp)
{
	for (size_t i = 0; i < upto; i++) {
		const struct host_pci *d = host_pci_find(h, &p->pci[i].host);

		if (d && !d->is_bridge && d->iommu_group == grp)
			return true;
	}
	return false;
}

static void claims_check(const struct profile *p, const struct host *h, int grp,
			 struct vr_error *e)
{
	struct vr_error ce = {0};
	char bdf[16];

	for (size_t i = 0; i < h->npci; i++) {
		if (h->pci[i].iommu_group != grp)
			continue;
		pci_addr_format(&h->pci[i].addr, bdf, sizeof(bdf));
		if (claim_check(bdf, p->vm.name, &ce))
			vr_error_append(e, "%s", ce.msg);
	}
}

static const struct host_pci *device_check(const struct profile *p,
					   const struct host *h, size_t i,
					   struct vr_error *e)
{
	const struct profile_pci *pp = &p->pci[i];
	const struct host_pci *d = host_pci_find(h, &pp->host);
	char bdf[16];

	pci_addr_format(&pp->host, bdf, sizeof(bdf));
	if (!d) {
		vr_error_append(e,
				"[pci.%s] host = %s: no such PCI device on "
				"this host; see `lspci -D` or `vmrun devices`",
				pp->name, bdf);
	} else if (d->is_bridge) {
		vr_error_append(e,
				"[pci.%s] host = %s is a PCI bridge (class "
				"%04x); pass the devices behind it instead",
				pp->name, bdf, d->cls);
	} else if (d->iommu_group < 0) {
		vr_error_append(e,
				"[pci.%s] host = %s has no IOMMU group: enable "
				"the IOMMU (intel_iommu=on or amd_iommu=on on "
				"the kernel command line) and VT-d/AMD-Vi in "
				"the firmware",
				pp->name, bdf);
	} else {
		return d;
	}
	return NULL;
}

static int checks_run(const struct profile *p, const struct host *h,
		      struct vr_error *err)
{
	struct vr_error e = {0};

	for (size_t i = 0; i < p->npci; i++) {
		const struct host_pci *d = device_check(p, h, i, &e);
		char bdf[16];

		if (!d || group_seen(p, h, i, d->iommu_group))
			continue;
		pci_addr_format(&d->addr, bdf, sizeof(bdf));
		group_check(p, h, &p->pci[i], bdf, d->iommu_group, &e);
		claims_check(p, h, d->iommu_group, &e);
	}
	if (!e.code)
		return 0;
	*err = e;
	return -err->code;
}

static void bind_plan(struct plan *plan, const struct host_pci *d,
		      const char *vm)
{
	json_object *args = json_object_new_object();
	char bdf[16];

	pci_addr_format(&d->addr, bdf, sizeof(bdf));
	json_object_object_add(args, "bdf", json_object_new_string(bdf));
	json_object_object_add(args, "vm", json_object_new_string(vm));
	if (!strcmp(d->driver, "vfio-pci"))
		plan_add(plan, &vfio_op_bind, args,
			 "keep %s (%s) on vfio-pci, where it already is", bdf,
			 d->name);
	else
		plan_add(plan, &vfio_op_bind, args,
			 "bind %s (%s) to vfio-pci (driver now: %s)", bdf,
			 d->name, d->driver[0] ? d->driver : "none");
}

static void modprobe_plan(struct plan *plan)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "module",
			       json_object_new_string("vfio-pci"));
	json_object_object_add(args, "driver",
			       json_object_new_string("vfio-pci"));
	plan_add(plan, &vfio_op_modprobe, args,
		 "load the vfio-pci module (it stays loaded after)");
}

int vfio_plan(struct plan *plan, const struct profile *p, const struct host *h,
	      struct vr_error *err)
{
	int r;

	if (!p->npci)
		return 0;
	r = checks_run(p, h, err);
	if (r)
		return r;
	if (!hostfs_exists("/sys/bus/pci/drivers/vfio-pci"))
		modprobe_plan(plan);
	for (size_t i = 0; i < p->npci; i++)
		bind_plan(plan, host_pci_find(h, &p->pci[i].host), p->vm.name);
	return 0;
}
