/* placement.c: where guest RAM goes and who touches it first. The memory
 * node is decided once here, for the hugepage reservation and the argv
 * alike; hugepage-backed RAM is preallocated by as many threads as there
 * are CPUs idle while QEMU starts (no guest code runs before `cont`), on
 * the node that holds the memory. QEMU's own default is one thread, and a
 * 32 GiB guest then waits seconds before its first instruction. */
#include "ops/ops.h"

#include <stdlib.h>
#include <string.h>

/* The CPUs idle while QEMU preallocates: the guest's and the emulator's
 * when pinned, else every online CPU; only those of the memory's node
 * when the host has several (all of the node's if none of them is). */
static void idle_cpus(const struct profile *p, const struct host *h, int node,
		      struct cpulist *out)
{
	const struct cpulist *node_cpus = NULL;
	struct cpulist all = {0}, outside = {0};

	if (p->cpu.vcpu_pin.n)
		cpuset_union(&p->cpu.vcpu_pin, &p->cpu.emulator_pin, &all);
	else
		cpuset_online(h, &all);
	for (size_t i = 0; node >= 0 && h->nnodes > 1 && i < h->nnodes; i++)
		if (h->nodes[i].id == node)
			node_cpus = &h->nodes[i].cpus;
	if (!node_cpus) {
		*out = all;
		return;
	}
	cpuset_minus(&all, node_cpus, &outside);
	cpuset_minus(&all, &outside, out);
	if (!out->n)
		cpuset_union(node_cpus, node_cpus, out);
	cpulist_free(&all);
	cpulist_free(&outside);
}

void placement_plan(const struct profile *p, const struct host *h,
		    struct qemu_placement *pl)
{
	struct cpulist cpus = {0};
	unsigned max = p->memory.prealloc_threads;

	memset(pl, 0, sizeof(*pl));
	pl->mem_node = hugepages_guest_node(p, h);
	if (p->memory.hugepages == HUGEPAGES_NONE)
		return;
	idle_cpus(p, h, pl->mem_node, &cpus);
	pl->prealloc_threads = cpus.n ? (unsigned)cpus.n : 1;
	if (max && pl->prealloc_threads > max)
		pl->prealloc_threads = max;
	/* Pinned: the threads go where the guest will run, which planning
	 * keeps free of host work. Unpinned: the node is enough. */
	if (p->cpu.vcpu_pin.n)
		pl->prealloc_cpus = cpus;
	else
		cpulist_free(&cpus);
}

void placement_free(struct qemu_placement *pl)
{
	cpulist_free(&pl->prealloc_cpus);
	free(pl->sound_dir);
}
