/* iommu.h: IOMMU groups as passthrough sees them: which functions move
 * with their group, which ones the host cannot spare, a verdict per group. */
#ifndef VMRUN_IOMMU_H
#define VMRUN_IOMMU_H

#include <stdbool.h>
#include <stddef.h>

#include "host.h"

/* Bridges never leave the host; every other function goes to a guest with
 * its group or not at all. */
bool iommu_fn_moves(const struct host_pci *d);
/* A member that keeps its group from going to a guest: it moves with the
 * group, the guest does not get it (!taken), and a host driver other than
 * vfio-pci holds it now. The planner's rule (vfio_plan.c). */
bool iommu_member_blocks(const struct host_pci *d, bool taken);

/* The GPU that shows the host's console: the boot_vga one, else the only
 * display controller; NULL when there is none or no way to tell. */
const struct host_pci *iommu_host_display(const struct host *h);
/* What the host loses when d goes to a guest ("USB controller", "the
 * host's display GPU"), or NULL when it is an ordinary endpoint. The
 * extra functions of a guest GPU (its USB-C port, audio) go with the card
 * and are not counted. */
const char *iommu_fn_critical(const struct host *h, const struct host_pci *d);
/* Part of the machine itself (host and ISA bridges, SMBus, platform
 * peripherals): never a passthrough candidate. */
bool iommu_fn_platform(const struct host_pci *d);

enum iommu_verdict {
	IOMMU_BRIDGES_ONLY, /* nothing but bridges: nothing to pass */
	IOMMU_PLATFORM,	    /* only platform functions: stays with the host */
	IOMMU_READY,	    /* one device (all its functions): goes alone */
	IOMMU_SIBLINGS,	    /* several devices, all of which must go along */
	IOMMU_SHARED,	    /* also holds devices the host needs */
};

struct iommu_group {
	int id;
	enum iommu_verdict verdict;
	const struct host_pci **fn; /* members, bridges too, address order */
	size_t nfn;
	/* SIBLINGS: every member that moves; SHARED: the host-critical ones */
	const struct host_pci **list;
	size_t nlist;
};

/* Judge group id of h (members are pointers into h). */
void iommu_group_judge(const struct host *h, int id, struct iommu_group *g);
void iommu_group_free(struct iommu_group *g);
/* The distinct group ids of h, ascending (malloc'd, NULL when none). */
size_t iommu_group_ids(const struct host *h, int **ids);

/* "ready", "siblings", "shared", "platform", "bridges" (JSON). */
const char *iommu_verdict_key(enum iommu_verdict v);
/* The verdict as a sentence: "ready to pass through alone", "shared with
 * host-critical devices: 0000:02:00.0 (USB controller), ..." (malloc'd). */
char *iommu_verdict_text(const struct host *h, const struct iommu_group *g);

#endif
