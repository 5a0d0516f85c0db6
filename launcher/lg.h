/* lg.h: the Looking Glass shared memory: a /dev/shm file made with the
 * right size, owner, group and mode before QEMU starts and removed after,
 * or a kvmfr device checked for size. */
#ifndef VMRUN_LG_H
#define VMRUN_LG_H

#include "error.h"
#include "host.h"
#include "plan.h"
#include "profile.h"

/* Plan the shm file (or the kvmfr size check). Resolves owner and group
 * now, so a missing user or group fails before anything changes. */
int lg_plan(struct plan *plan, const struct profile *p, struct vr_error *err);

extern const struct op_type op_shm_file, op_kvmfr_check;

#endif
