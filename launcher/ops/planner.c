/* planner.c: the planner of a whole VM: every op planner in the order
 * the changes are applied, then the QEMU argv with what they decided. */
#include "engine/engine.h"
#include "ops/ops.h"
#include "qemu/qemu.h"

#include <errno.h>
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

/* The host devices the profile hands to QEMU by path: QEMU would stop at
 * the first it cannot open, after the host was prepared. */
static int host_devices_check(const struct profile *p, struct vr_error *err)
{
	for (size_t i = 0; i < p->input.evdev.n; i++) {
		if (hostfs_exists(p->input.evdev.v[i]))
			continue;
		vr_errorx(err, ENOENT,
			  "[input] evdev = %s: no such device on this host "
			  "(`ls -l /dev/input/by-id/` lists its keyboards and "
			  "mice)",
			  p->input.evdev.v[i]);
		return profile_error_at(p, "input", "evdev", err);
	}
	if (p->tpm.type == TPM_PASSTHROUGH && !hostfs_exists("/dev/tpm0")) {
		vr_errorx(
			err, ENODEV,
			"[tpm] type = passthrough hands the host's TPM, "
			"/dev/tpm0, to the guest, and this host has none: use "
			"type = swtpm (a software TPM)");
		return profile_error_at(p, "tpm", "type", err);
	}
	return 0;
}

/* Host ops in the order they are applied (undone in reverse): the
 * claims on devices and files first (no change before a VM knows they are
 * its own), the desktop and console, then the devices, then memory and
 * CPUs, then generated files. */
static int host_ops_plan(struct plan *plan, const struct profile *p,
			 const struct host *h, struct vr_error *err)
{
	int r = host_devices_check(p, err);

	if (!r) {
		claim_plan(plan, p);
		r = console_plan(plan, p, h, err);
	}
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
	struct qemu_placement place;
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->profile = p;
	paths_vm_build(p, &plan->paths);
	r = host_ops_plan(plan, p, h, err);
	if (!r) {
		placement_plan(p, h, &place);
		plan->prealloc_threads = place.prealloc_threads;
		place.sound_dir = sound_dir(p);
		sound_env(p, h, place.sound_dir, &plan->env);
		r = qemu_argv_build(p, h, &plan->paths, &place, &plan->argv,
				    &plan->argv_origin, &plan->warnings, err);
		placement_free(&place);
	}
	if (r)
		plan_free(plan);
	return r;
}
