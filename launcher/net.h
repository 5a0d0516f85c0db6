/* net.h: bridged networks: vmrun creates the guest's tap device, attaches
 * it to the bridge before QEMU starts, and deletes it after. */
#ifndef VMRUN_NET_H
#define VMRUN_NET_H

#include "error.h"
#include "plan.h"
#include "profile.h"

/* One "tap" op per [net.*] with mode = bridge; the bridge must exist. */
int net_plan(struct plan *plan, const struct profile *p, struct vr_error *err);

extern const struct op_type op_tap;

#endif
