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

static bool same_device(const struct pci_addr *a, const struct pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}

/* "FILE:LINE: [pci.NAME] host = BDF" of a profile device (malloc'd). */
static char *pci_at(const struct profile *p, const struct profile_pci *pp)
{
	cleanup_free char *label = xasprintf("pci.%s", pp->name);
	cleanup_free char *at = profile_where(p, label, "host");
	char bdf[16];

	pci_addr_format(&pp->host, bdf, sizeof(bdf));
	return xasprintf("%s: [pci.%s] host = %s", at, pp->name, bdf);
}

/* Only functions of the profile's own cards block the group (a GPU whose
 * audio was left out): the plain fix is a section for each. */
static bool only_own_functions(const struct profile *p, const struct host *h,
			       int grp)
{
	for (size_t i = 0; i < h->npci; i++) {
		bool own = false;

		if (h->pci[i].iommu_group != grp ||
		    !member_blocks(p, &h->pci[i]))
			continue;
		for (size_t j = 0; j < p->npci; j++)
			own |= same_device(&p->pci[j].host, &h->pci[i].addr);
		if (!own)
			return false;
	}
	return true;
}

static void own_functions_error(const struct profile *p, const struct host *h,
				const struct profile_pci *pp, int grp,
				struct vr_error *e)
{
	cleanup_free char *at = pci_at(p, pp);
	char bdf[16];

	vr_error_append(e,
			"%s: the other functions of this card share its "
			"IOMMU group %d and go to the guest with it; add a "
			"[pci.NAME] section for each:",
			at, grp);
	for (size_t i = 0; i < h->npci; i++) {
		const struct host_pci *d = &h->pci[i];

		if (d->iommu_group != grp || !member_blocks(p, d))
			continue;
		pci_addr_format(&d->addr, bdf, sizeof(bdf));
		vr_error_append(e,
				"  [pci.%s-%u]\n  host = %s   # %s (driver %s)",
				pp->name, d->addr.fn, bdf, d->name, d->driver);
	}
}

/* The whole group goes to the guest or nothing of it does. */
static void group_check(const struct profile *p, const struct host *h,
			const struct profile_pci *pp, int grp,
			struct vr_error *e)
{
	cleanup_free char *at = NULL;
	size_t nblock = 0;

	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].iommu_group == grp &&
		    member_blocks(p, &h->pci[i]))
			nblock++;
	if (!nblock)
		return;
	if (only_own_functions(p, h, grp)) {
		own_functions_error(p, h, pp, grp, e);
		return;
	}
	at = pci_at(p, pp);
	vr_error_append(e,
			"%s: IOMMU group %d also holds %zu device%s the host "
			"is using, and a group can only go to a guest whole. "
			"The group:",
			at, grp, nblock, nblock == 1 ? "" : "s");
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

/* What the host runs on (critical.c): refused unless the profile says
 * take-host-critical, and then said out loud. */
static void needs_check(struct plan *plan, const struct profile *p,
			const struct profile_pci *pp, const struct host_pci *d,
			struct vr_error *e)
{
	cleanup_free char *at = NULL, *needs = NULL;

	if (!d->needs.n)
		return;
	at = pci_at(p, pp);
	needs = critical_text(d);
	if (pp->take_host_critical)
		plan_warn(plan,
			  "%s (%s) is what the host runs on: %s; taken anyway "
			  "(take-host-critical = yes): the host loses them "
			  "while the guest runs",
			  at, d->name, needs);
	else
		vr_error_append(e,
				"%s (%s) is what the host runs on: %s. Passing "
				"it through would pull them from under the "
				"running host. Pass another device; if you "
				"mean it, set take-host-critical = yes in "
				"[pci.%s]",
				at, d->name, needs, pp->name);
}

/* "a 3D controller (class 0302)" for messages. */
static char *class_text(const struct host_pci *d)
{
	if (d->cls == 0x0302)
		return xstrdup("a 3D controller (class 0302)");
	if (d->cls == 0x0380)
		return xstrdup("a display controller (class 0380)");
	return xasprintf("a class %04x function", d->cls);
}

/* What QEMU or the guest's firmware would refuse about the device only
 * once the VM starts: x-vga on a function that is not VGA, a romfile made
 * for another card. */
static void props_check(const struct profile *p, const struct profile_pci *pp,
			const struct host_pci *d, struct vr_error *e)
{
	cleanup_free char *label = xasprintf("pci.%s", pp->name);
	unsigned ven = pp->vendor_id >= 0 ? (unsigned)pp->vendor_id : d->vendor;
	unsigned dev = pp->device_id >= 0 ? (unsigned)pp->device_id : d->device;
	struct rom_info ri;
	char bdf[16];

	pci_addr_format(&pp->host, bdf, sizeof(bdf));
	if (pp->x_vga && d->cls != PCI_CLASS_VGA) {
		cleanup_free char *at = profile_where(p, label, "x-vga");
		cleanup_free char *what = class_text(d);

		vr_error_append(e,
				"%s: [pci.%s] x-vga = yes, but %s is %s, not "
				"a VGA device: QEMU refuses it (\"Device does "
				"not support requested feature x-vga\"); "
				"remove x-vga",
				at, pp->name, bdf, what);
	}
	if (pp->romfile && !rom_read(pp->romfile, &ri) &&
	    !rom_matches(&ri, ven, dev)) {
		cleanup_free char *at = profile_where(p, label, "romfile");

		vr_error_append(e,
				"%s: [pci.%s] romfile = %s is the vBIOS of a "
				"%04x:%04x card (its PCI data structure says "
				"so), but the guest sees %s as %04x:%04x: its "
				"firmware would not run it. Dump this card's "
				"own vBIOS",
				at, pp->name, pp->romfile, ri.vendor, ri.device,
				bdf, ven, dev);
	}
}

static bool stopped_first(const struct profile *p, const struct holder *hd)
{
	for (size_t i = 0; !hd->user_unit && i < p->host.stop_units.n; i++)
		if (!strcmp(p->host.stop_units.v[i], hd->unit))
			return true;
	return false;
}

/* Processes with the device's nodes open: its driver's unbind would wait
 * for them. Those of units [host] stop-units stops first are fine. */
static void holders_check(const struct profile *p, const struct profile_pci *pp,
			  const struct host_pci *d, struct vr_error *e)
{
	struct holder *hs = NULL;
	size_t n = holders_find(d, &hs), left = 0;
	cleanup_free char *at = NULL, *text = NULL, *units = xstrdup("");
	cleanup_free char *progs = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		bool unit = hs[i].unit[0] && !hs[i].user_unit;
		char **list = unit ? &units : &progs;
		char *t;

		if (stopped_first(p, &hs[i]))
			continue;
		hs[left++] = hs[i];
		if (unit)
			t = xasprintf("%s%s%s", *list, **list ? ", " : "",
				      hs[i].unit);
		else
			t = xasprintf("%s%s%s (pid %d)", *list,
				      **list ? ", " : "", hs[i].comm,
				      (int)hs[i].pid);
		free(*list);
		*list = t;
	}
	if (left) {
		at = pci_at(p, pp);
		text = holders_text(hs, left);
		vr_error_append(e,
				"%s is in use: %s. Its driver (%s) would not "
				"let go of it while they do. Stop them "
				"first:%s%s%s%s%s",
				at, text, d->driver,
				*units ? " add stop-units = " : "", units,
				*units ? " to [host] (vmrun stops the units "
					 "and starts them again after)"
				       : "",
				*progs ? (*units ? "; quit " : " quit ") : "",
				progs);
	}
	free(hs);
}

static const struct host_pci *device_check(struct plan *plan,
					   const struct profile *p,
					   const struct host *h, size_t i,
					   struct vr_error *e)
{
	const struct profile_pci *pp = &p->pci[i];
	const struct host_pci *d = host_pci_find(h, &pp->host);
	cleanup_free char *at = pci_at(p, pp);

	if (!d) {
		vr_error_append(e,
				"%s: no such PCI device on this host; see "
				"`lspci -D` or `vmrun devices`",
				at);
	} else if (d->is_bridge) {
		vr_error_append(e,
				"%s is a PCI bridge (class %04x); pass the "
				"devices behind it instead",
				at, d->cls);
	} else if (d->iommu_group < 0) {
		vr_error_append(e,
				"%s has no IOMMU group: this host's IOMMU is "
				"off, and without it no device can be passed "
				"through (`vmrun doctor` says how to turn it "
				"on)",
				at);
	} else {
		needs_check(plan, p, pp, d, e);
		props_check(p, pp, d, e);
		if (strcmp(d->driver, "vfio-pci") && !h->holders_later)
			holders_check(p, pp, d, e);
		return d;
	}
	return NULL;
}

static int checks_run(struct plan *plan, const struct profile *p,
		      const struct host *h, struct vr_error *err)
{
	struct vr_error e = {0};

	for (size_t i = 0; i < p->npci; i++) {
		const struct host_pci *d = device_check(plan, p, h, i, &e);

		if (!d || group_seen(p, h, i, d->iommu_group))
			continue;
		group_check(p, h, &p->pci[i], d->iommu_group, &e);
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
	r = checks_run(plan, p, h, err);
	if (r)
		return r;
	if (!hostfs_exists("/sys/bus/pci/drivers/vfio-pci"))
		modprobe_plan(plan);
	for (size_t i = 0; i < p->npci; i++)
		bind_plan(plan, host_pci_find(h, &p->pci[i].host), p->vm.name);
	return 0;
}
