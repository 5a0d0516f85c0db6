/* console_plan.c: decides which console and desktop ops a profile needs
 * (boot GPU passed through, [host] stop-units, reset = remove-rescan). */
#include "ops/ops.h"
#include "host/host.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void unit_plan(struct plan *plan, const char *unit)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "unit", json_object_new_string(unit));
	plan_add(plan, &console_op_stop_unit, args,
		 "stop %s (started again after)", unit);
}

static int units_plan(struct plan *plan, const struct profile *p,
		      struct vr_error *err)
{
	cleanup_free char *tool = NULL;

	if (!p->host.stop_units.n)
		return 0;
	if (!hostfs_exists("/run/systemd/system"))
		return vr_errorx(err, ENOTSUP,
				 "[host] stop-units needs systemd, which does "
				 "not run on this host: stop %s yourself "
				 "(a pre-start hook) and remove stop-units",
				 p->host.stop_units.v[0]);
	tool = hostfs_find_tool("systemctl");
	if (!tool)
		return vr_errorx(err, ENOENT,
				 "[host] stop-units: systemctl not found");
	for (size_t i = 0; i < p->host.stop_units.n; i++)
		unit_plan(plan, p->host.stop_units.v[i]);
	return 0;
}

static int vtcon_filter(const struct dirent *d)
{
	return !strncmp(d->d_name, "vtcon", 5);
}

static void vtcon_plan(struct plan *plan, const char *vtcon, bool bound)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "vtcon", json_object_new_string(vtcon));
	if (bound)
		plan_add(plan, &console_op_vtconsole, args,
			 "unbind virtual console %s", vtcon);
	else
		plan_add(plan, &console_op_vtconsole, args,
			 "keep virtual console %s unbound (another VM "
			 "unbound it)",
			 vtcon);
}

/* The consoles bound now (unbinding is undone by binding again). When
 * another VM has unbound consoles already, the ones it holds instead:
 * bound again only once both VMs have ended (the dummy console that took
 * over meanwhile is not this VM's to unbind). */
static void vtcons_plan(struct plan *plan)
{
	cleanup_free char *dir = hostfs_path("/sys/class/vtconsole");
	struct dirent **names;
	int n = scandir(dir, &names, vtcon_filter, versionsort);
	bool held = false;

	for (int i = 0; i < n; i++) {
		cleanup_free char *key = console_vtcon_key(names[i]->d_name);

		held = held || share_held(key);
	}
	for (int i = 0; i < n; i++) {
		cleanup_free char *abs = xasprintf(
			"/sys/class/vtconsole/%s/bind", names[i]->d_name);
		cleanup_free char *key = console_vtcon_key(names[i]->d_name);
		struct vr_error e;
		char bind[16];
		bool bound = !hostfs_read(abs, bind, sizeof(bind), &e) &&
			     !strcmp(bind, "1");

		if (held ? share_held(key) : bound)
			vtcon_plan(plan, names[i]->d_name, bound);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static void fb_plan(struct plan *plan)
{
	static const char *const fbs[][2] = {
		{"efi-framebuffer", "efi-framebuffer.0"},
		{"simple-framebuffer", "simple-framebuffer.0"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(fbs); i++) {
		cleanup_free char *link =
			xasprintf("/sys/bus/platform/drivers/%s/%s", fbs[i][0],
				  fbs[i][1]);
		cleanup_free char *key = console_fb_key(fbs[i][1]);
		json_object *args;

		if (!hostfs_exists(link) && !share_held(key))
			continue;
		args = json_object_new_object();
		json_object_object_add(args, "driver",
				       json_object_new_string(fbs[i][0]));
		json_object_object_add(args, "device",
				       json_object_new_string(fbs[i][1]));
		plan_add(plan, &console_op_efifb, args,
			 "unbind the firmware framebuffer %s from %s",
			 fbs[i][1], fbs[i][0]);
	}
}

static bool want(enum tristate t, bool boot_gpu)
{
	return t == TRI_YES || (t == TRI_AUTO && boot_gpu);
}

/* The boot GPU warning; true when one is passed through. Romfile advice
 * is for NVIDIA cards, whose VBIOS a guest often cannot read once the
 * host has run it; the stop-units advice only when there are none. */
static bool boot_gpu_warn(struct plan *plan, const struct profile *p,
			  const struct host *h)
{
	bool any = false;
	char bdf[16];

	for (size_t i = 0; i < p->npci; i++) {
		const struct profile_pci *pp = &p->pci[i];
		const struct host_pci *d = host_pci_find(h, &pp->host);
		bool rom_hint = d && d->vendor == 0x10de && !pp->romfile;

		if (!d || !d->boot_vga)
			continue;
		any = true;
		pci_addr_format(&pp->host, bdf, sizeof(bdf));
		plan_warn(plan,
			  "[pci.%s] host = %s is the boot GPU: the host loses "
			  "its console while the guest runs%s%s",
			  pp->name, bdf,
			  p->host.stop_units.n ? ""
					       : " (stop the desktop with "
						 "[host] stop-units)",
			  rom_hint ? "; if the guest shows no picture, set "
				     "romfile = a clean dump of the card's "
				     "VBIOS, or reset = remove-rescan"
				   : "");
	}
	return any;
}

static bool in_profile(const struct profile *p, const struct pci_addr *a)
{
	for (size_t i = 0; i < p->npci; i++)
		if (pci_addr_eq(&p->pci[i].host, a))
			return true;
	return false;
}

/* Whether systemd runs a display manager now (false without systemd). */
static bool display_manager_active(void)
{
	const char *argv[] = {"systemctl", "is-active", "--quiet",
			      "display-manager.service", NULL};
	cleanup_free char *tool = hostfs_find_tool("systemctl");
	struct vr_error ignored;

	return hostfs_exists("/run/systemd/system") && tool &&
	       host_run(argv, NULL, 0, &ignored) == 0;
}

/* The host's only display GPU going to the guest while a display manager
 * runs the desktop on it, and nothing stops that desktop first. */
static int only_display_check(const struct profile *p, const struct host *h,
			      struct vr_error *err)
{
	const struct host_pci *disp = iommu_host_display(h);
	cleanup_free char *label = NULL, *at = NULL;
	const struct profile_pci *pp = NULL;
	char bdf[16];

	if (!disp || p->host.stop_units.n)
		return 0;
	for (size_t i = 0; i < p->npci; i++)
		if (pci_addr_eq(&p->pci[i].host, &disp->addr))
			pp = &p->pci[i];
	if (!pp)
		return 0;
	for (size_t i = 0; i < h->npci; i++)
		if (iommu_fn_display(&h->pci[i]) && &h->pci[i] != disp &&
		    !in_profile(p, &h->pci[i].addr) && h->pci[i].driver[0])
			return 0; /* the host keeps another GPU */
	if (!display_manager_active())
		return 0;
	label = xasprintf("pci.%s", pp->name);
	at = profile_where(p, label, "host");
	pci_addr_format(&pp->host, bdf, sizeof(bdf));
	return vr_errorx(err, EBUSY,
			 "%s: [pci.%s] host = %s is the host's only display "
			 "GPU, and display-manager.service runs the desktop "
			 "on it: the desktop would lose its GPU under it. "
			 "Stop it for the run: add stop-units = "
			 "display-manager.service to [host] (vmrun also "
			 "unbinds the consoles and the EFI framebuffer from "
			 "the card, and starts it all again after)",
			 at, pp->name, bdf);
}

int console_plan(struct plan *plan, const struct profile *p,
		 const struct host *h, struct vr_error *err)
{
	bool boot_gpu = boot_gpu_warn(plan, p, h);
	int r = only_display_check(p, h, err);

	if (!r)
		r = units_plan(plan, p, err);
	if (r)
		return r;
	if (want(p->host.unbind_vtconsoles, boot_gpu))
		vtcons_plan(plan);
	if (want(p->host.unbind_efifb, boot_gpu))
		fb_plan(plan);
	for (size_t i = 0; i < p->npci; i++) {
		json_object *args;
		char bdf[16];

		if (p->pci[i].reset != PCI_RESET_REMOVE_RESCAN ||
		    !host_pci_find(h, &p->pci[i].host))
			continue;
		pci_addr_format(&p->pci[i].host, bdf, sizeof(bdf));
		args = json_object_new_object();
		json_object_object_add(args, "bdf",
				       json_object_new_string(bdf));
		plan_add(plan, &console_op_remove_rescan, args,
			 "reset %s: remove it and rescan the PCI bus", bdf);
	}
	return 0;
}
