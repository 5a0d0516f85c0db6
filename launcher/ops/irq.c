/* irq.c: the "irq-affinity" op: host IRQs that may land on the guest's
 * CPUs are steered to the host CPUs while the guest runs, then put back. */
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

/* IRQs whose affinity reaches a guest CPU, with their current lists. The
 * set is read at apply time: binding devices to vfio-pci earlier in the
 * plan changes which IRQs exist. */
static int irq_scan(const struct cpulist *guest, json_object *irqs,
		    struct vr_error *err)
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
		if (cpuset_intersects(&cur, guest))
			json_object_object_add(irqs, e->d_name,
					       json_object_new_string(list));
		cpulist_free(&cur);
	}
	closedir(d);
	return 0;
}

static int irq_save(struct op *op, struct vr_error *err)
{
	struct cpulist guest = {0};
	const char *host;
	json_object *irqs;
	char mask[512];
	int r = irq_args(op, &host, &guest, err);

	if (r)
		return r;
	irqs = json_object_new_object();
	r = irq_scan(&guest, irqs, err);
	if (!r)
		r = hostfs_read(IRQ_DEFAULT, mask, sizeof(mask), err);
	cpulist_free(&guest);
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

static int irq_apply(struct op *op, struct vr_error *err)
{
	json_object *irqs, *refused, *h;
	struct cpulist host;
	cleanup_free char *mask = NULL;
	const char *hostlist, *why;
	int r;

	if (!json_object_object_get_ex(op->args, "host", &h) || !op->saved ||
	    !json_object_object_get_ex(op->saved, "irqs", &irqs))
		return vr_errorx(err, EINVAL,
				 "irq-affinity: host CPUs or "
				 "saved IRQs missing");
	hostlist = json_object_get_string(h);
	if (cpulist_parse(hostlist, &host, &why))
		return vr_errorx(err, EINVAL, "irq-affinity: host CPUs: %s",
				 why);
	mask = cpuset_mask_format(&host);
	cpulist_free(&host);
	/* Noted for the log; undo tolerates the same refusals anyway. */
	refused = json_object_new_array();
	json_object_object_add(op->saved, "refused", refused);
	json_object_object_foreach(irqs, irq, val)
	{
		char abs[64];

		(void)val;
		snprintf(abs, sizeof(abs), "/proc/irq/%s/smp_affinity_list",
			 irq);
		r = host_write(abs, hostlist, err);
		if (irq_refusal(r))
			json_object_array_add(refused,
					      json_object_new_string(irq));
		else if (r)
			return r;
	}
	return host_write(IRQ_DEFAULT, mask, err);
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
		char abs[64];

		snprintf(abs, sizeof(abs), "/proc/irq/%s/smp_affinity_list",
			 irq);
		r = host_write(abs, json_object_get_string(val), err);
		if (r && !irq_refusal(r))
			return r;
	}
	return 0;
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
	.name = "irq-affinity",
	.save = irq_save,
	.apply = irq_apply,
	.undo = irq_undo,
	.check = irq_check,
};
OP_TYPE_REGISTER(irq_op_affinity);
