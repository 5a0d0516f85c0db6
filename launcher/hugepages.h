/* hugepages.h: guest RAM on hugepages: the planner that picks the NUMA node,
 * the pool and the hugetlbfs folder, and the ops that reserve and release. */
#ifndef VMRUN_HUGEPAGES_H
#define VMRUN_HUGEPAGES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "host.h"
#include "plan.h"
#include "profile.h"

/* The host NUMA node guest memory comes from: [memory] numa-node, or with
 * auto the node of the first passed-through device that has one, else 0.
 * qemu_argv uses the same node for host-nodes. */
int plan_memory_node(const struct profile *p, const struct host *h);
/* The same, but -1 when nothing names a node (auto without a device). */
int plan_memory_node_known(const struct profile *p, const struct host *h);

/* Plan the hugepage reservation, the hugetlbfs mount and the per-VM folder
 * (sets plan->paths.hugepage_dir). Nothing without [memory] hugepages.
 * Refuses what cannot work before anything changes: no such pool, no such
 * node, memory not a whole number of pages, more than the node holds. */
int hugepages_plan(struct plan *plan, const struct profile *p,
		   const struct host *h, struct vr_error *err);

/* Part of hugepages_plan: find or mount a hugetlbfs of size_kb pages and
 * plan the per-VM folder in it. */
int hugepages_plan_folder(struct plan *plan, const struct profile *p,
			  unsigned long size_kb, struct vr_error *err);

/* The ops, for the engine's registry. */
extern const struct op_type hugepages_op_reserve; /* "hugepages" */
extern const struct op_type hugepages_op_mount;	  /* "hugetlbfs-mount" */
extern const struct op_type hugepages_op_dir;	  /* "hugepage-dir" */

/* Pure parts, exposed for the unit tests. */

/* Mount point of a usable hugetlbfs mount of size_kb pages in a
 * /proc/mounts stream (a mount without pagesize= has default_kb pages;
 * read-only or size-limited mounts are skipped). malloc'd or NULL. */
char *hugepages_mount_find(FILE *mounts, unsigned long size_kb,
			   unsigned long default_kb);
/* A "KEY: N kB" field of /proc/meminfo or a node's meminfo ("Node 0 KEY:
 * N kB"), in kB; -1 when absent. */
long hugepages_meminfo_kb(const char *text, const char *key);
/* Pages to add to nr_hugepages so that need pages are free. */
long hugepages_shortfall(long free, long need);
/* "2 MiB", "1 GiB", "10.2 GiB" for messages. */
void hugepages_format_size(uint64_t bytes, char *buf, size_t len);
/* The message of a reservation that fell short; malloc'd. */
char *hugepages_short_message(int node, unsigned long size_kb, long need,
			      long got, long node_free_kb, long avail_kb);

#endif
