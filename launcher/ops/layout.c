/* layout.c: the shape of a new guest around one GPU on this host (`vmrun
 * new`): the functions that go with it, whole cores on its NUMA node
 * sharing an L3, the host's share, memory and its hugepage size. Pure. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A core of the GPU's node: its CPUs (SMT siblings, ascending) and the
 * L3 cache it sits on (-1: unknown). */
struct lcore {
	int first;
	int l3;
	int cpu[8];
	size_t n;
};

static const struct host_node *node_of(const struct host *h, int id)
{
	for (size_t i = 0; i < h->nnodes; i++)
		if (h->nodes[i].id == id)
			return &h->nodes[i];
	return NULL;
}

/* The node's cores in CPU order, each with its siblings. */
static size_t cores_of(const struct host *h, const struct host_node *n,
		       struct lcore **out)
{
	struct lcore *c = xcalloc(n->cpus.n + 1, sizeof(*c));
	size_t nc = 0;

	for (int cpu = 0; cpu < h->ncpus; cpu++) {
		int core = h->core_of[cpu];
		size_t k;

		if (core < 0 || !cpulist_has(&n->cpus, cpu))
			continue;
		for (k = 0; k < nc && c[k].first != core; k++)
			;
		if (k == nc) {
			c[nc].first = core;
			c[nc].l3 = h->l3_of ? h->l3_of[cpu] : -1;
			nc++;
		}
		if (c[k].n < ARRAY_SIZE(c[k].cpu))
			c[k].cpu[c[k].n++] = cpu;
	}
	*out = c;
	return nc;
}

/* Only the cores with the most threads: on a hybrid CPU the guest gets
 * performance cores, all alike, and the efficiency cores stay with the
 * host. The count kept. */
static size_t full_cores(size_t nc, struct lcore *c)
{
	size_t most = 0, kept = 0;

	for (size_t i = 0; i < nc; i++)
		if (c[i].n > most)
			most = c[i].n;
	for (size_t i = 0; i < nc; i++)
		if (c[i].n == most)
			c[kept++] = c[i];
	return kept;
}

/* Cores the guest may take (after the host's share) on cache l3, or on
 * any cache with l3 -1. */
static size_t free_on(const struct lcore *c, size_t nc, size_t host, int l3)
{
	size_t n = 0;

	for (size_t i = host; i < nc; i++)
		n += l3 < 0 || c[i].l3 == l3;
	return n;
}

static bool l3_has_host(const struct lcore *c, size_t host, int l3)
{
	for (size_t i = 0; i < host; i++)
		if (c[i].l3 == l3)
			return true;
	return false;
}

/* The L3 cache to take want cores from (want 0: as many as one has):
 * caches without the host's cores first, then the fullest (want 0) or the
 * tightest that fits; -1 when none holds enough or the host shows none. */
static int pick_l3(const struct lcore *c, size_t nc, size_t host, size_t want)
{
	int best = -1;
	size_t best_free = 0;
	bool best_host = true;

	for (size_t i = host; i < nc; i++) {
		int l3 = c[i].l3;
		size_t f = free_on(c, nc, host, l3);
		bool with_host = l3_has_host(c, host, l3);
		bool better;

		if (l3 < 0 || (want && f < want))
			continue;
		if (best < 0 || with_host != best_host)
			better = best < 0 || !with_host;
		else
			better = want ? f < best_free : f > best_free;
		if (better) {
			best = l3;
			best_free = f;
			best_host = with_host;
		}
	}
	return best;
}

static void take_core(struct layout *l, const struct lcore *c)
{
	for (size_t k = 0; k < c->n; k++) {
		l->vcpu_pin.cpu = xrealloc(l->vcpu_pin.cpu,
					   (l->vcpu_pin.n + 1) * sizeof(int));
		l->vcpu_pin.cpu[l->vcpu_pin.n++] = c->cpu[k];
	}
	l->cores++;
}

static int pick_cores(const struct layout_req *req, struct layout *l,
		      const struct lcore *c, size_t nc, size_t host,
		      struct vr_error *err)
{
	size_t tpc = c[host].n, want = req->vcpus / tpc;
	int l3;

	if (req->vcpus % tpc)
		return vr_errorx(err, EINVAL,
				 "--vcpus %u: each guest core is a whole host "
				 "core of %zu threads; give a multiple of %zu",
				 req->vcpus, tpc, tpc);
	if (want > nc - host)
		return vr_errorx(err, ENOSPC,
				 "--vcpus %u: node %d has %zu cores (%zu "
				 "vCPUs) once the host keeps its first %zu; "
				 "ask for at most %zu",
				 req->vcpus, l->node, nc - host,
				 (nc - host) * tpc, host, (nc - host) * tpc);
	l3 = pick_l3(c, nc, host, want);
	if (!want)
		want = l3 >= 0 ? free_on(c, nc, host, l3) : nc - host;
	l->l3_shared = l3 >= 0;
	for (size_t i = host; i < nc && l->cores < want; i++)
		if (l3 < 0 || c[i].l3 == l3)
			take_core(l, &c[i]);
	for (size_t i = 0; i < host; i++)
		for (size_t k = 0; k < c[i].n; k++) {
			l->emulator_pin.cpu =
				xrealloc(l->emulator_pin.cpu,
					 (l->emulator_pin.n + 1) * sizeof(int));
			l->emulator_pin.cpu[l->emulator_pin.n++] = c[i].cpu[k];
		}
	l->threads = (unsigned)tpc;
	return 0;
}

static int layout_cpus(const struct host *h, const struct layout_req *req,
		       struct layout *l, struct vr_error *err)
{
	const struct host_node *n = node_of(h, l->node);
	struct lcore *c = NULL;
	size_t nc, host;
	int r;

	if (!n)
		return vr_errorx(err, ENOENT,
				 "the GPU is on NUMA node %d, which the host "
				 "does not list",
				 l->node);
	nc = cores_of(h, n, &c);
	l->small_cores = nc;
	nc = full_cores(nc, c);
	l->small_cores -= nc;
	/* One core for the host and QEMU's own threads, two on big nodes. */
	host = nc > 8 ? 2 : 1;
	if (nc <= host) {
		free(c);
		return vr_errorx(err, ENOSPC,
				 "node %d has %zu core%s: none is left for a "
				 "guest once the host keeps one",
				 l->node, nc, nc == 1 ? "" : "s");
	}
	l->host_cores = host;
	l->l3_known = h->l3_of != NULL;
	r = pick_cores(req, l, c, nc, host, err);
	free(c);
	return r;
}

static bool fits(const struct host *h, const struct host_node *n,
		 unsigned long size_kb, uint64_t mem)
{
	const struct host_hugepool *p = host_pool_find(h, n->id, size_kb);
	uint64_t page = size_kb * KIB;

	return p && !(mem % page) &&
	       (uint64_t)p->free * page + n->mem_free >= mem;
}

static int layout_memory(const struct host *h, const struct layout_req *req,
			 struct layout *l, struct vr_error *err)
{
	const struct host_node *n = node_of(h, l->node);
	uint64_t total = 0;
	char a[32], b[32];

	for (size_t i = 0; i < h->nnodes; i++)
		total += h->nodes[i].mem_total;
	l->memory = req->memory;
	if (!l->memory) {
		l->memory = n->mem_total / 2 / GIB * GIB;
		if (l->memory > 16 * GIB)
			l->memory = 16 * GIB;
		if (l->memory < GIB)
			l->memory = GIB;
	}
	hugepages_format_size(l->memory, a, sizeof(a));
	hugepages_format_size(n->mem_total, b, sizeof(b));
	if (l->memory % (2 * MIB) || l->memory < 128 * MIB)
		return vr_errorx(err, EINVAL,
				 "--memory %s: give at least 128M, in whole "
				 "MiB and a multiple of 2M",
				 a);
	if (l->memory > n->mem_total)
		return vr_errorx(err, ENOMEM,
				 "--memory %s: node %d, the GPU's, has %s; "
				 "guest memory comes from that node",
				 a, l->node, b);
	if (fits(h, n, 1048576, l->memory))
		l->hugepages = HUGEPAGES_1G;
	else if (fits(h, n, 2048, l->memory))
		l->hugepages = HUGEPAGES_2M;
	else
		l->hugepages = HUGEPAGES_NONE;
	l->host_left = total > l->memory ? total - l->memory : 0;
	return 0;
}

static bool same_device(const struct host_pci *a, const struct host_pci *b)
{
	return a->addr.domain == b->addr.domain && a->addr.bus == b->addr.bus &&
	       a->addr.dev == b->addr.dev;
}

/* What goes with the GPU: its group's members that move when the group may
 * go (READY, SIBLINGS), else the GPU's own functions, for the planner to
 * explain why not. The GPU comes first. */
static void layout_functions(const struct host *h, const struct host_pci *gpu,
			     struct layout *l)
{
	struct iommu_group g;
	bool whole;

	iommu_group_judge(h, gpu->iommu_group, &g);
	l->verdict = g.verdict;
	/* HOST_NEEDS: the host runs on the card (its display, say); the
	 * profile gives it up with the single-GPU settings, and the planner
	 * refuses what cannot be given up. */
	whole = gpu->iommu_group >= 0 &&
		(g.verdict == IOMMU_READY || g.verdict == IOMMU_SIBLINGS ||
		 g.verdict == IOMMU_HOST_NEEDS);
	l->fn = xcalloc(h->npci + 1, sizeof(*l->fn));
	l->fn[l->nfn++] = gpu;
	for (size_t i = 0; i < h->npci; i++) {
		const struct host_pci *d = &h->pci[i];

		if (d == gpu || !iommu_fn_moves(d))
			continue;
		if (whole ? d->iommu_group == gpu->iommu_group
			  : same_device(d, gpu))
			l->fn[l->nfn++] = d;
	}
	iommu_group_free(&g);
}

int layout_choose(const struct host *h, const struct layout_req *req,
		  struct layout *l, struct vr_error *err)
{
	const struct host_pci *gpu = req->gpu;
	int r;

	memset(l, 0, sizeof(*l));
	layout_functions(h, gpu, l);
	l->node = gpu->numa_node >= 0 ? gpu->numa_node
		  : h->nnodes	      ? h->nodes[0].id
				      : 0;
	r = layout_cpus(h, req, l, err);
	if (!r)
		r = layout_memory(h, req, l, err);
	if (r)
		layout_free(l);
	return r;
}

void layout_free(struct layout *l)
{
	free(l->fn);
	cpulist_free(&l->vcpu_pin);
	cpulist_free(&l->emulator_pin);
	memset(l, 0, sizeof(*l));
}
