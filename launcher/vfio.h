/* vfio.h: hand host PCI functions to vfio-pci for the guest and give them
 * back to their own drivers after; the IOMMU group checks that come first. */
#ifndef VMRUN_VFIO_H
#define VMRUN_VFIO_H

#include "error.h"
#include "host.h"
#include "plan.h"
#include "profile.h"

/* Check every [pci.*] device (exists, not a bridge, has an IOMMU group
 * whose other members the host is not using, claimed by no other running
 * VM), then add the ops: modprobe vfio-pci when it is not loaded, a claim
 * per device, a vfio-bind per device. Pure; all problems are reported
 * together. */
int vfio_plan(struct plan *plan, const struct profile *p, const struct host *h,
	      struct vr_error *err);

/* Wait (up to VMRUN_VFIO_TIMEOUT_MS, default 5000 ms) for the driver of
 * bdf to be want ("" = none). 0, or -ETIMEDOUT with the driver it has in
 * now (cur, "" for none). */
int vfio_wait_driver(const char *bdf, const char *want, char *cur,
		     size_t curlen);

extern const struct op_type op_vfio_bind, op_modprobe;

#endif
