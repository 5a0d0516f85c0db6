/* cpuset.h: CPU isolation: host tasks confined to the host CPUs, QEMU in a
 * cgroup of its own, host IRQs steered off the guest's CPUs; all undone. */
#ifndef VMRUN_CPUSET_H
#define VMRUN_CPUSET_H

#include <stdbool.h>

#include "error.h"
#include "host.h"
#include "plan.h"
#include "profile.h"
#include "util.h"

/* Where QEMU's own cgroup lives (unrooted), under machine.slice as a
 * systemd host expects guests to be. */
#define CPUSET_CGROUP_ROOT   "/sys/fs/cgroup"
#define CPUSET_MACHINE_SLICE "/sys/fs/cgroup/machine.slice"

/* Check vcpu-pin and emulator-pin against the host (errors for CPUs it
 * does not have, warnings for pinning that hurts), and with [cpu] isolate
 * plan the cgroup, slice and IRQ ops (sets plan->paths.cgroup). */
int cpuset_plan(struct plan *plan, const struct profile *p,
		const struct host *h, struct vr_error *err);

/* The ops, for the engine's registry. */
extern const struct op_type cpuset_op_slice;	  /* "cpuset" */
extern const struct op_type cpuset_op_controller; /* "cgroup-controller" */
extern const struct op_type cpuset_op_cgroup;	  /* "cgroup" */
extern const struct op_type cpuset_op_irq;	  /* "irq-affinity" */

/* Pure set math on CPU lists, exposed for the unit tests. out is sorted
 * and owned by the caller. cpuset_online: the host's online CPUs. */
void cpuset_online(const struct host *h, struct cpulist *out);
void cpuset_minus(const struct cpulist *a, const struct cpulist *b,
		  struct cpulist *out);
void cpuset_union(const struct cpulist *a, const struct cpulist *b,
		  struct cpulist *out);
bool cpuset_intersects(const struct cpulist *a, const struct cpulist *b);
/* Same CPUs, in any order. */
bool cpuset_equal(const struct cpulist *a, const struct cpulist *b);
/* Same set, as kernel list text ("0-3,8"; "" is the empty set). */
bool cpuset_equal_text(const char *a, const char *b);
/* The kernel's hex mask syntax ("303", "1,00000003"); caller frees. */
char *cpuset_mask_format(const struct cpulist *cl);
/* Warnings about pinning that works but hurts (SMT cores split between
 * guest and host, guest SMT siblings on different host cores, emulator
 * CPUs shared with vCPUs); each one is added to warnings. */
void cpuset_pin_warnings(const struct profile *p, const struct host *h,
			 struct strv *warnings);

#endif
