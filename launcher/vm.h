/* vm.h: one VM as the commands see it: its profile, the host view and the
 * plan, loaded together; the commands main dispatches to live here. */
#ifndef VMRUN_VM_H
#define VMRUN_VM_H

#include <stdio.h>

#include "error.h"
#include "host.h"
#include "plan.h"
#include "profile.h"

struct vm {
	struct profile profile;
	struct host host;
	struct plan plan;
};

/* Parse the profile, read the host, build the plan. Touches nothing. */
int vm_load(const char *profile_path, struct vm *vm, struct vr_error *err);
void vm_free(struct vm *vm);

/* --dry-run: host changes, warnings and the argv, shell-quoted. */
void vm_print_dry_run(const struct vm *vm, FILE *out);
/* --print-argv: the argv, one argument per line, unquoted. */
void vm_print_argv(const struct vm *vm, FILE *out);

/* Restore leftovers of a dead vmrun for this VM, then apply the plan and
 * leave the host prepared (journal kept for `vmrun restore`). */
int vm_prepare(struct vm *vm, struct vr_error *err);

#endif
