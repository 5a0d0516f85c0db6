/* irq.c: the "irq-affinity" op: host IRQs that may land on the guest's
 * CPUs are steered to the host CPUs while the guest runs, then put back;
 * shared by every VM that isolates (share.c). */
#include "ops/ops.h"
#include "host/host.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IRQ_DEFAULT "/proc/irq/default_smp_affinity"

static int irq_args(const struct op *op, const char **host,
		    struct cpulist *guest, struct vr_error *err)
{
	json_object *h, *g;
	const char *why;

	if (!json_object_object_get_ex(op->args, "host", &h) ||
	    !json_object_object_get_ex(op->args, "guest", &g))
		return vr_errorx(err, EINVAL,
				 "irq-affinity: host or guest "
				 "CPUs missing from the op's "
				 "arguments");
	*host = json_object_get_string(h);
	if (cpulist_parse(json_object_get_string(g), guest, &why))
		return vr_errorx(err, EINVAL, "irq-affinity: guest CPUs: %s",
				 why);
	return 0;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Every IRQ with its current list: the original of all of them, so that
 * a VM joining later, with other guest CPUs, finds the value to put back
 * for the IRQs it moves too. Read at save time: binding devices to
 * vfio-pci earlier in the plan changes which IRQs exist. */
static int irq_scan(json_object *irqs, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path("/proc/irq");
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		return vr_error(err, errno, "open /proc/irq");
	while ((e = readdir(d))) {
		char abs[64], list[1024];
		struct cpulist cur;
		struct vr_error scratch;
		const char *why;

		if (!is_number(e->d_name) || strlen(e->d_name) > 16)
			continue;
		snprintf(abs, sizeof(abs), "/proc/irq/%s/smp_affinity_list",
			 e->d_name);
		/* IRQs without the file (e.g. IRQ 0 on some hosts) or with an
		 * odd value cannot be moved; skip them. */
		if (hostfs_read(abs, list, sizeof(list), &scratch) ||
		    cpulist_parse(list, &cur, &why))
			continue;
		json_object_object_add(irqs, e->d_name,
				       json_object_new_string(list));
		cpulist_free(&cur);
	}
	closedir(d);
	return 0;
}

static int irq_save(struct op *op, struct vr_error *err)
{
	json_object *irqs = json_object_new_object();
	char mask[512];
	int r = irq_scan(irqs, err);

	if (!r)
		r = hostfs_read(IRQ_DEFAULT, mask, sizeof(mask), err);
	if (r) {
		json_object_put(irqs);
		return r;
	}
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "irqs", irqs);
	json_object_object_add(op->saved, "default",
			       json_object_new_string(mask));
	return 0;
}

/* Managed IRQs (per-queue NVMe, ...) have a kernel-chosen affinity and
 * refuse with EIO; EINVAL/ENOSPC when no vector fits the new set; ENOENT
 * when the IRQ went away. None of these stop isolation. */
static bool irq_refusal(int r)
{
	return r == -EIO || r == -EINVAL || r == -ENOSPC || r == -ENOENT;
}

/* From the originals in op->saved: every IRQ that reaches a guest CPU
 * goes to hostlist, every other one keeps (or gets back) its own list. */
static int irq_set(struct op *op, const struct cpulist *guest,
		   const char *hostlist, struct vr_error *err)
{
	json_object *irqs, *refused = json_object_new_array();
	struct cpulist host, orig;
	cleanup_free char *mask = NULL;
	const char *why, *want;
	int r;

	if (!op->saved || !json_object_object_get_ex(op->saved, "irqs", &irqs))
		return vr_errorx(err, EINVAL,
				 "irq-affinity: saved IRQs missing");
	if (cpulist_parse(hostlist, &host, &why))
		return vr_errorx(err, EINVAL, "irq-affinity: host CPUs: %s",
				 why);
	mask = cpuset_mask_format(&host);
	cpulist_free(&host);
	/* Noted for the log; undo tolerates the same refusals anyway. */
	json_object_object_add(op->saved, "refused", refused);
	json_object_object_foreach(irqs, irq, val)
	{
		char abs[64], cur[1024];
		struct vr_error scratch;

		want = json_object_get_string(val);
		if (!cpulist_parse(want, &orig, &why)) {
			if (cpuset_intersects(&orig, guest))
				want = hostlist;
			cpulist_free(&orig);
		}
		snprintf(abs, sizeof(abs), "/proc/irq/%s/smp_affinity_list",
			 irq);
		/* only what has to change: most IRQs stay as they are */
		if (!hostfs_read(abs, cur, sizeof(cur), &scratch) &&
		    cpuset_equal_text(cur, want))
			continue;
		r = host_write(abs, want, err);
		if (irq_refusal(r))
			json_object_array_add(refused,
					      json_object_new_string(irq));
		else if (r)
			return r;
	}
	return host_write(IRQ_DEFAULT, mask, err);
}

static int irq_apply(struct op *op, struct vr_error *err)
{
	struct cpulist guest = {0};
	const char *host = NULL;
	int r = irq_args(op, &host, &guest, err);

	if (!r)
		r = irq_set(op, &guest, host, err);
	cpulist_free(&guest);
	return r;
}

static int irq_undo(struct op *op, struct vr_error *err)
{
	json_object *irqs, *def;
	int r = 0;

	if (!op->saved)
		return 0;
	if (json_object_object_get_ex(op->saved, "default", &def))
		r = host_write(IRQ_DEFAULT, json_object_get_string(def), err);
	if (r || !json_object_object_get_ex(op->saved, "irqs", &irqs))
		return r;
	json_object_object_foreach(irqs, irq, val)
	{
		char abs[64], cur[1024];
		struct vr_error scratch;

		snprintf(abs, sizeof(abs), "/proc/irq/%s/smp_affinity_list",
			 irq);
		if (!hostfs_read(abs, cur, sizeof(cur), &scratch) &&
		    cpuset_equal_text(cur, json_object_get_string(val)))
			continue;
		r = host_write(abs, json_object_get_string(val), err);
		if (r && !irq_refusal(r))
			return r;
	}
	return 0;
}

static char *irq_key(const struct op *op)
{
	(void)op;
	return xstrdup("irq-affinity");
}

/* One holder's guest and host CPUs; -EINVAL when they do not parse. */
static int holder_cpus(json_object *args, struct cpulist *g, struct cpulist *h)
{
	json_object *hv, *gv;
	const char *why;

	if (!json_object_object_get_ex(args, "host", &hv) ||
	    !json_object_object_get_ex(args, "guest", &gv) ||
	    cpulist_parse(json_object_get_string(gv), g, &why))
		return -EINVAL;
	if (cpulist_parse(json_object_get_string(hv), h, &why)) {
		cpulist_free(g);
		return -EINVAL;
	}
	return 0;
}

/* With several VMs: off every VM's guest CPUs, onto the CPUs they all
 * leave to the host (in guest and host, taken over). */
static int irq_refresh_sets(json_object *holders, struct cpulist *guest,
			    struct cpulist *host, struct vr_error *err)
{
	struct cpulist g, h, u, rest;
	bool first = true;

	json_object_object_foreach(holders, vm, args)
	{
		if (holder_cpus(args, &g, &h))
			return vr_errorx(err, EINVAL,
					 "irq-affinity: VM '%s': bad CPUs", vm);
		cpuset_union(guest, &g, &u);
		cpulist_free(guest);
		cpulist_free(&g);
		*guest = u;
		if (first) {
			*host = h;
			first = false;
			continue;
		}
		cpuset_minus(host, &h, &rest);
		cpulist_free(&h);
		cpuset_minus(host, &rest, &h);
		cpulist_free(&rest);
		cpulist_free(host);
		*host = h;
	}
	if (!host->n)
		return vr_errorx(err, EBUSY,
				 "the VMs running together leave the host no "
				 "CPU for its IRQs");
	return 0;
}

static int irq_refresh(struct op *op, json_object *holders,
		       struct vr_error *err)
{
	struct cpulist guest = {0}, host = {0};
	cleanup_free char *hostlist = NULL;
	int r = irq_refresh_sets(holders, &guest, &host, err);

	if (!r) {
		hostlist = cpulist_format(&host);
		r = irq_set(op, &guest, hostlist, err);
	}
	cpulist_free(&guest);
	cpulist_free(&host);
	return r;
}

/* Undo writes /proc/irq/N/smp_affinity_list and default_smp_affinity:
 * IRQ numbers, CPU lists and a hex mask, nothing else. */
static int irq_check(const struct op *op, const char *vm, struct vr_error *err)
{
	json_object *irqs, *def;

	(void)vm;
	if (!op->saved)
		return 0;
	if (json_object_object_get_ex(op->saved, "default", &def) &&
	    (!json_object_is_type(def, json_type_string) ||
	     strspn(json_object_get_string(def), "0123456789abcdefABCDEF,") !=
		     strlen(json_object_get_string(def))))
		return op_refuse(op, err, "writes '%s' as the default mask",
				 json_object_get_string(def));
	if (!json_object_object_get_ex(op->saved, "irqs", &irqs))
		return 0;
	if (!json_object_is_type(irqs, json_type_object))
		return op_refuse(op, err, "has no IRQ list");
	json_object_object_foreach(irqs, irq, val)
	{
		struct cpulist cl = {0};
		const char *why;
		int bad = !is_number(irq) || strlen(irq) > 9 ||
			  !json_object_is_type(val, json_type_string) ||
			  cpulist_parse(json_object_get_string(val), &cl, &why);

		cpulist_free(&cl);
		if (bad)
			return op_refuse(op, err, "sets IRQ '%s' to '%s'", irq,
					 json_object_get_string(val));
	}
	return 0;
}

const struct op_type irq_op_affinity = {
	.check = irq_check,
	.name = "irq-affinity",
	.save = irq_save,
	.apply = irq_apply,
	.undo = irq_undo,
	.share_key = irq_key,
	.share_refresh = irq_refresh,
};
OP_TYPE_REGISTER(irq_op_affinity);
