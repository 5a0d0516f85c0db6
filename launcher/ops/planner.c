/* planner.c: the planner of a whole VM: every op planner in the order
 * the changes are applied, then the QEMU argv with what they decided. */
#include "engine/engine.h"
#include "ops/ops.h"
#include "qemu/qemu.h"

#include <stdlib.h>
#include <string.h>

/* The fake-battery SSDT is a file QEMU reads with -acpitable; made for
 * the run and removed after like any other host change. */
static void battery_plan(struct plan *plan, const struct profile *p)
{
	cleanup_free uint8_t *aml = NULL;
	size_t len = 0;

	if (!p->acpi.fake_battery)
		return;
	aml = acpi_battery_ssdt(&len);
	file_plan(plan, plan->paths.battery, aml, len, 0644,
		  "fake-battery SSDT");
}

/* Host ops in the order they are applied (undone in reverse): the
 * claims on devices and files first (no change before a VM knows they are
 * its own), the desktop and console, then the devices, then memory and
 * CPUs, then generated files. */
static int host_ops_plan(struct plan *plan, const struct profile *p,
			 const struct host *h, struct vr_error *err)
{
	int r;

	claim_plan(plan, p);
	r = console_plan(plan, p, h, err);

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
		r = looking_glass_plan(plan, p, err);
	/* last: it hands over what the ops above made */
	return r ? r : runas_plan(plan, p, h, err);
}

int planner_build(const struct profile *p, const struct host *h,
		  struct plan *plan, struct vr_error *err)
{
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->profile = p;
	paths_vm_build(p, &plan->paths);
	r = host_ops_plan(plan, p, h, err);
	if (!r)
		r = qemu_argv_build(p, h, &plan->paths,
				    hugepages_guest_node(p, h), &plan->argv,
				    &plan->warnings, err);
	if (r)
		plan_free(plan);
	return r;
}
