/* hooks.h: the profile's [hooks] programs, run at fixed phases of a VM's
 * life with the VM name, the phase and the exit reason. */
#ifndef VMRUN_HOOKS_H
#define VMRUN_HOOKS_H

#include "error.h"
#include "profile.h"

/* Run every hook of the phase ("pre-start", "post-start", "pre-stop",
 * "post-stop") in order: argv is HOOK NAME PHASE [REASON], environment
 * VMRUN_NAME, VMRUN_PHASE, VMRUN_REASON, VMRUN_PROFILE. The first hook
 * that fails stops the walk with an error. */
int hooks_run(const struct profile *p, const char *phase, const char *reason,
	      struct vr_error *err);

#endif
