/* runas.h: what [vm] run-as needs. QEMU opens its devices and files as
 * root, then drops to the user (-runas); the host files it may open later
 * are handed to that user for the run and given back after (journaled
 * "chown" ops), and the VM's own persistent files become that user's. */
#ifndef VMRUN_RUNAS_H
#define VMRUN_RUNAS_H

#include "error.h"
#include "host.h"
#include "plan.h"
#include "profile.h"

/* Resolve [vm] run-as now (a missing user fails before any change) and
 * plan a chown of /dev/vfio/N of each passed-through group and of the
 * per-VM hugetlbfs folder. The Looking Glass shm file is left as lg.c
 * makes it: QEMU maps it before it drops privileges and keeps the fd. */
int runas_plan(struct plan *plan, const struct profile *p, const struct host *h,
	       struct vr_error *err);

/* Make a persistent VM file (abs, rooted) the run-as user's, and with
 * tree, the regular files directly in that folder too (swtpm's state).
 * Not undone: they are the VM's own files. Symlinks and files with other
 * hard links are refused, so a user who could write the folder cannot
 * have root chown something else. 0 without run-as. */
int runas_own(const struct profile *p, const char *abs, bool tree,
	      struct vr_error *err);

extern const struct op_type op_chown;

#endif
