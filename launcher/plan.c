/* plan.c: the pure planner: paths, host operations and the QEMU argv of
 * one VM. The engine that applies the operations is in engine.c. */
#include "plan.h"
#include "lg.h"
#include "net.h"
#include "acpi.h"
#include "console.h"
#include "cpuset.h"
#include "fileop.h"
#include "hostfs.h"
#include "hugepages.h"
#include "qemu_argv.h"
#include "runas.h"
#include "vfio.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void paths_build(const struct profile *p, struct vm_paths *vp)
{
	const char *n = p->vm.name;

	vp->run_dir = xstrdup("/run/vmrun");
	vp->journal = xasprintf("/run/vmrun/%s.json", n);
	vp->lock = xasprintf("/run/vmrun/%s.lock", n);
	vp->qmp = xasprintf("/run/vmrun/%s.qmp", n);
	vp->ctl = xasprintf("/run/vmrun/%s.sock", n);
	vp->battery = xasprintf("/run/vmrun/%s-battery.aml", n);
	vp->swtpm_sock = xasprintf("/run/vmrun/%s-swtpm.sock", n);
	vp->state_dir = xstrdup(p->vm.state_dir);
	vp->vars = p->firmware.vars ? xstrdup(p->firmware.vars) : NULL;
	vp->tpm_state = p->tpm.state ? xstrdup(p->tpm.state) : NULL;
	vp->log = xasprintf("%s/%s.log", p->vm.state_dir, n);
}

static void paths_free(struct vm_paths *vp)
{
	free(vp->run_dir);
	free(vp->journal);
	free(vp->lock);
	free(vp->qmp);
	free(vp->ctl);
	free(vp->battery);
	free(vp->swtpm_sock);
	free(vp->hugepage_dir);
	free(vp->cgroup);
	free(vp->state_dir);
	free(vp->vars);
	free(vp->tpm_state);
	free(vp->log);
	memset(vp, 0, sizeof(*vp));
}

void plan_add(struct plan *plan, const struct op_type *type, json_object *args,
	      const char *fmt, ...)
{
	struct op *op;
	va_list ap;

	plan->ops = xrealloc(plan->ops, (plan->nops + 1) * sizeof(*op));
	op = &plan->ops[plan->nops++];
	memset(op, 0, sizeof(*op));
	op->type = type;
	op->args = args ? args : json_object_new_object();
	va_start(ap, fmt);
	op->desc = xvasprintf(fmt, ap);
	va_end(ap);
}

void plan_warn(struct plan *plan, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	strv_add(&plan->warnings, s);
	free(s);
}

/* The fake-battery SSDT is a file QEMU reads with -acpitable; made for
 * the run and removed after like any other host change. */
static void battery_plan(struct plan *plan, const struct profile *p)
{
	cleanup_free uint8_t *aml = NULL;
	size_t len = 0;

	if (!p->acpi.fake_battery)
		return;
	aml = acpi_battery_ssdt(&len);
	fileop_plan(plan, plan->paths.battery, aml, len, 0644,
		    "fake-battery SSDT");
}

/* Host ops in the order they are applied (undone in reverse): the
 * desktop and console first, then the devices, then memory and CPUs,
 * then generated files. */
static int host_ops_plan(struct plan *plan, const struct profile *p,
			 const struct host *h, struct vr_error *err)
{
	int r = console_plan(plan, p, h, err);

	if (!r)
		r = vfio_plan(plan, p, h, err);
	if (!r)
		r = hugepages_plan(plan, p, h, err);
	if (!r)
		r = cpuset_plan(plan, p, h, err);
	if (r)
		return r;
	/* Devices pinned in RAM by the IOMMU: QEMU locks all guest memory
	 * plus room for its own (libvirt's rule). */
	if (p->npci)
		plan->memlock = p->vm.memory + GIB;
	battery_plan(plan, p);
	r = net_plan(plan, p, err);
	if (!r)
		r = lg_plan(plan, p, err);
	/* last: it hands over what the ops above made */
	return r ? r : runas_plan(plan, p, h, err);
}

int plan_build(const struct profile *p, const struct host *h, struct plan *plan,
	       struct vr_error *err)
{
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->profile = p;
	paths_build(p, &plan->paths);
	r = host_ops_plan(plan, p, h, err);
	if (!r)
		r = qemu_argv_build(p, h, &plan->paths, &plan->argv,
				    &plan->warnings, err);
	if (r)
		plan_free(plan);
	return r;
}

void plan_free(struct plan *plan)
{
	for (size_t i = 0; i < plan->nops; i++) {
		free(plan->ops[i].desc);
		json_object_put(plan->ops[i].args);
		json_object_put(plan->ops[i].saved);
	}
	free(plan->ops);
	paths_free(&plan->paths);
	strv_free(&plan->argv);
	strv_free(&plan->warnings);
	memset(plan, 0, sizeof(*plan));
}
