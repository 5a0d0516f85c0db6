/* vm.c: the commands on one VM: load, dry run, prepare. Supervision of a
 * running QEMU lives in supervise.c. */
#include "ops/ops.h"
#include "run/run.h"
#include "host/host.h"
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

/* What to read of the host beyond the plain view: device names with
 * passthrough, KVM itself with accel = kvm, QEMU's machine types for a
 * versioned one. */
static unsigned vm_probe_flags(const struct profile *p)
{
	unsigned f = p->npci ? HOST_PCI_NAMES : 0;

	if (p->vm.accel == ACCEL_KVM)
		f |= HOST_KVM;
	if (p->vm.machine && strcmp(p->vm.machine, "q35"))
		f |= HOST_QEMU_MACHINES;
	return f;
}

int vm_load(const char *profile_path, struct vm *vm, struct vr_error *err)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	/* A profile is code run as root: refuse one others can change
	 * (trust.h) before it is read, and the files it names before
	 * host_probe runs its QEMU binary. The same rule for every
	 * command: a dry run is what users run on a profile they were
	 * sent. */
	r = trust_check(profile_path, NULL, err);
	if (r)
		return r;
	r = profile_load(profile_path, &vm->profile, err);
	if (r)
		return r;
	r = trust_check(NULL, &vm->profile, err);
	if (r)
		goto fail_profile;
	r = host_probe(&vm->host, vm->profile.vm.qemu,
		       vm_probe_flags(&vm->profile), err);
	if (r)
		goto fail_profile;
	/* QEMU's own answer on the enlightenments KVM offers (hv_probe.c) */
	hv_probe_qemu(&vm->host, &vm->profile);
	r = planner_build(&vm->profile, &vm->host, &vm->plan, err);
	if (r)
		goto fail_host;
	return 0;
fail_host:
	host_free(&vm->host);
fail_profile:
	profile_free(&vm->profile);
	return r;
}

void vm_free(struct vm *vm)
{
	plan_free(&vm->plan);
	host_free(&vm->host);
	profile_free(&vm->profile);
}

void vm_print_dry_run(const struct vm *vm, FILE *out)
{
	const struct plan *plan = &vm->plan;

	fprintf(out, "# vmrun dry run of %s (VM '%s'): nothing is changed\n",
		vm->profile.path, vm->profile.vm.name);
	fprintf(out, "#\n# Host changes, applied in this order and undone in "
		     "reverse:\n");
	if (!plan->nops)
		fprintf(out, "#   (none)\n");
	for (size_t i = 0; i < plan->nops; i++)
		fprintf(out, "#   %zu. %s\n", i + 1, plan->ops[i].desc);
	if (plan->memlock)
		fprintf(out, "#   QEMU's locked-memory limit: %llu MiB\n",
			(unsigned long long)(plan->memlock / MIB));
	for (size_t i = 0; i < plan->warnings.n; i++)
		fprintf(out, "%s# warning: %s\n", i ? "" : "#\n",
			plan->warnings.v[i]);
	for (size_t i = 0; i < plan->env.n; i++)
		fprintf(out, "%s# QEMU's environment: %s\n", i ? "" : "#\n",
			plan->env.v[i]);
	fprintf(out, "#\n# QEMU command line:\n");
	for (size_t i = 0; i < plan->argv.n; i++) {
		cleanup_free char *q = shell_quote(plan->argv.v[i]);

		fprintf(out, "%s%s%s\n", i ? "    " : "", q,
			i + 1 < plan->argv.n ? " \\" : "");
	}
}

void vm_print_argv(const struct vm *vm, FILE *out)
{
	for (size_t i = 0; i < vm->plan.argv.n; i++)
		fprintf(out, "%s\n", vm->plan.argv.v[i]);
}

int vm_prepare(struct vm *vm, struct vr_error *err)
{
	const char *name = vm->profile.vm.name;
	int lock = -1, r = lock_take(name, &lock, err);

	if (r)
		return r;
	r = engine_restore(name, err);
	if (r)
		vr_error_prefix(err,
				"undo what an earlier vmrun of '%s' left "
				"behind",
				name);
	else
		r = engine_apply(&vm->plan, err);
	lock_release(name, lock);
	return r;
}
