/* claim.h: which VM uses which host PCI function. A claim is a file
 * /run/vmrun/claims/BDF holding "NAME PID", valid while that pid lives. */
#ifndef VMRUN_CLAIM_H
#define VMRUN_CLAIM_H

#include "error.h"
#include "plan.h"

/* 0 when bdf is free for VM vm (no claim, a stale one, or vm's own);
 * -EBUSY with "BDF is in use by VM 'other' (vmrun pid N): stop it first
 * (vmrun stop other)" when a live vmrun of another VM holds it. */
int claim_check(const char *bdf, const char *vm, struct vr_error *err);

/* Add the op that claims bdf for vm (journaled, released on undo). */
void claim_plan(struct plan *plan, const char *bdf, const char *vm);

extern const struct op_type op_claim;

#endif
