/* test_layout.c: the guest shape `vmrun new` picks (ops/layout.c) on
 * hosts built here: whole cores, the host's share, L3 caches, NUMA nodes,
 * memory and hugepages, the functions that go with the GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A host of ncpus CPUs with tpc threads per core (CPU i and i + ncpus/tpc
 * are siblings), nodes split in equal halves when nnodes is 2, and L3
 * caches of l3 cores each (0: none shown). 32 GiB a node, 28 free. */
static void host_make(struct host *h, int ncpus, int tpc, int nnodes, int l3)
{
	int cores = ncpus / tpc;

	memset(h, 0, sizeof(*h));
	h->ncpus = ncpus;
	h->threads_per_core = tpc;
	h->core_of = xcalloc((size_t)ncpus, sizeof(int));
	if (l3)
		h->l3_of = xcalloc((size_t)ncpus, sizeof(int));
	for (int c = 0; c < ncpus; c++) {
		h->core_of[c] = c % cores;
		if (l3)
			h->l3_of[c] = c % cores / l3 * l3;
	}
	h->nnodes = (size_t)nnodes;
	h->nodes = xcalloc((size_t)nnodes, sizeof(*h->nodes));
	h->pools = xcalloc((size_t)nnodes * 2, sizeof(*h->pools));
	for (int n = 0; n < nnodes; n++) {
		struct host_node *nd = &h->nodes[n];

		nd->id = n;
		nd->mem_total = 32 * GIB;
		nd->mem_free = 28 * GIB;
		nd->cpus.cpu = xcalloc((size_t)ncpus, sizeof(int));
		for (int c = 0; c < ncpus; c++)
			if (c % cores / (cores / nnodes) == n)
				nd->cpus.cpu[nd->cpus.n++] = c;
		h->pools[h->npools++] = (struct host_hugepool){n, 2048, 0, 0};
		h->pools[h->npools++] =
			(struct host_hugepool){n, 1048576, 0, 0};
	}
	h->pci = xcalloc(4, sizeof(*h->pci));
}

/* A GPU (and its audio) at 01:00 in group 1 on node. */
static const struct host_pci *gpu_add(struct host *h, int node)
{
	struct host_pci *g = &h->pci[h->npci++], *a = &h->pci[h->npci++];

	*g = (struct host_pci){.addr = {0, 1, 0, 0},
			       .cls = 0x0300,
			       .vendor = 0x10de,
			       .iommu_group = 1,
			       .numa_node = node};
	*a = *g;
	a->addr.fn = 1;
	a->cls = 0x0403;
	return g;
}

static char *pins(const struct layout *l)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < l->vcpu_pin.n; i++) {
		char *t = xasprintf("%s%s%d", s, i ? "," : "",
				    l->vcpu_pin.cpu[i]);

		free(s);
		s = t;
	}
	return s;
}

static void expect_layout(struct host *h, unsigned vcpus, const char *want,
			  const char *emu)
{
	struct layout_req req = {.gpu = &h->pci[0], .vcpus = vcpus};
	struct vr_error err = {0};
	struct layout l;
	char *got, *e;

	assert_int_equal(layout_choose(h, &req, &l, &err), 0);
	got = pins(&l);
	e = cpulist_format(&l.emulator_pin);
	assert_string_equal(got, want);
	assert_string_equal(e, emu);
	assert_int_equal(l.cores * l.threads, l.vcpu_pin.n);
	free(got);
	free(e);
	layout_free(&l);
}

static void test_whole_cores(void **state)
{
	struct host h;

	(void)state;
	host_make(&h, 16, 2, 1, 0);
	gpu_add(&h, -1);
	/* the first core to the host, the rest core by core */
	expect_layout(&h, 0, "1,9,2,10,3,11,4,12,5,13,6,14,7,15", "0,8");
	expect_layout(&h, 4, "1,9,2,10", "0,8");
	host_free(&h);
	host_make(&h, 8, 1, 1, 0);
	gpu_add(&h, -1);
	expect_layout(&h, 0, "1,2,3,4,5,6,7", "0");
	host_free(&h);
}

static void test_hybrid(void **state)
{
	struct host h;

	(void)state;
	/* 8 performance cores with two threads (0-15), 8 efficiency cores
	 * with one (16-23), as Linux numbers an i9-12900K */
	host_make(&h, 24, 1, 1, 0);
	for (int c = 0; c < 16; c++)
		h.core_of[c] = c & ~1;
	gpu_add(&h, -1);
	expect_layout(&h, 0, "2,3,4,5,6,7,8,9,10,11,12,13,14,15", "0-1");
	host_free(&h);
}

static void test_hybrid_count(void **state)
{
	struct layout_req req = {0};
	struct vr_error err = {0};
	struct layout l;
	struct host h;

	(void)state;
	host_make(&h, 24, 1, 1, 0);
	for (int c = 0; c < 16; c++)
		h.core_of[c] = c & ~1;
	req.gpu = gpu_add(&h, -1);
	assert_int_equal(layout_choose(&h, &req, &l, &err), 0);
	assert_int_equal(l.small_cores, 8);
	assert_int_equal(l.threads, 2);
	layout_free(&l);
	host_free(&h);
}

static void test_l3(void **state)
{
	struct host h;

	(void)state;
	/* 4800H: two four-core L3s; the one without the host's core */
	host_make(&h, 16, 2, 1, 4);
	gpu_add(&h, -1);
	expect_layout(&h, 0, "4,12,5,13,6,14,7,15", "0,8");
	expect_layout(&h, 6, "4,12,5,13,6,14", "0,8");
	/* more than one L3 has free: over both, from the host's side */
	expect_layout(&h, 10, "1,9,2,10,3,11,4,12,5,13", "0,8");
	host_free(&h);
	/* 5950X: 16 cores, two kept by the host */
	host_make(&h, 32, 2, 1, 8);
	gpu_add(&h, -1);
	expect_layout(&h, 0, "8,24,9,25,10,26,11,27,12,28,13,29,14,30,15,31",
		      "0-1,16-17");
	host_free(&h);
}

static void test_node(void **state)
{
	struct host h;

	(void)state;
	host_make(&h, 32, 2, 2, 0);
	gpu_add(&h, 1);
	expect_layout(&h, 0, "9,25,10,26,11,27,12,28,13,29,14,30,15,31",
		      "8,24");
	host_free(&h);
}

static void test_errors(void **state)
{
	struct host h;
	struct layout l;
	struct vr_error err = {0};
	struct layout_req req = {.vcpus = 3};

	(void)state;
	host_make(&h, 16, 2, 1, 0);
	req.gpu = gpu_add(&h, -1);
	assert_int_equal(layout_choose(&h, &req, &l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "give a multiple of 2"));
	req.vcpus = 16;
	assert_int_equal(layout_choose(&h, &req, &l, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "ask for at most 14"));
	req.vcpus = 0;
	req.memory = 40 * GIB;
	assert_int_equal(layout_choose(&h, &req, &l, &err), -ENOMEM);
	host_free(&h);
	host_make(&h, 2, 2, 1, 0);
	req.gpu = gpu_add(&h, -1);
	req.memory = 0;
	assert_int_equal(layout_choose(&h, &req, &l, &err), -ENOSPC);
	host_free(&h);
}

static void test_memory(void **state)
{
	struct layout_req req = {0};
	struct vr_error err = {0};
	struct layout l;
	struct host h;

	(void)state;
	host_make(&h, 16, 2, 1, 0);
	req.gpu = gpu_add(&h, -1);
	assert_int_equal(layout_choose(&h, &req, &l, &err), 0);
	assert_int_equal(l.memory, 16 * GIB);
	assert_int_equal(l.hugepages, HUGEPAGES_1G);
	assert_int_equal(l.host_left, 16 * GIB);
	layout_free(&l);
	req.memory = 9 * GIB + 512 * MIB;
	assert_int_equal(layout_choose(&h, &req, &l, &err), 0);
	assert_int_equal(l.hugepages, HUGEPAGES_2M);
	layout_free(&l);
	h.nodes[0].mem_free = GIB;
	assert_int_equal(layout_choose(&h, &req, &l, &err), 0);
	assert_int_equal(l.hugepages, HUGEPAGES_NONE);
	layout_free(&l);
	h.pools[1].free = 16; /* 16 free 1 GiB pages reserved at boot */
	req.memory = 16 * GIB;
	assert_int_equal(layout_choose(&h, &req, &l, &err), 0);
	assert_int_equal(l.hugepages, HUGEPAGES_1G);
	layout_free(&l);
	host_free(&h);
}

static void test_functions(void **state)
{
	struct layout_req req = {0};
	struct vr_error err = {0};
	struct layout l;
	struct host h;

	(void)state;
	host_make(&h, 16, 2, 1, 0);
	req.gpu = gpu_add(&h, -1);
	assert_int_equal(layout_choose(&h, &req, &l, &err), 0);
	assert_int_equal(l.nfn, 2);
	assert_ptr_equal(l.fn[0], req.gpu);
	/* the host's only VGA card is its display: it goes all the same */
	assert_int_equal(l.verdict, IOMMU_HOST_NEEDS);
	layout_free(&l);
	/* a USB controller of the host in the group: only the card goes,
	 * for the planner to refuse with its reasons */
	h.pci[h.npci] = (struct host_pci){.addr = {0, 2, 0, 0},
					  .cls = 0x0c03,
					  .iommu_group = 1,
					  .numa_node = -1};
	snprintf(h.pci[h.npci++].driver, 16, "xhci_hcd");
	assert_int_equal(layout_choose(&h, &req, &l, &err), 0);
	assert_int_equal(l.verdict, IOMMU_SHARED);
	assert_int_equal(l.nfn, 2);
	layout_free(&l);
	host_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_cores),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_hybrid_count),
		cmocka_unit_test(test_l3),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_functions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
