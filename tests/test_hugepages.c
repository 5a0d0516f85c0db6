/* test_hugepages.c: the pure parts of the hugepage planner (mount table,
 * meminfo, shortfall, messages) and its plan on hand-made hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host/host.h"
#include "ops/ops.h"
#include "testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- mount table ---- */

static char *find_in(const char *table, unsigned long kb, unsigned long def)
{
	FILE *f = fmemopen((void *)table, strlen(table), "r");
	char *m;

	assert_non_null(f);
	m = hugetlbfs_mount_find(f, kb, def);
	fclose(f);
	return m;
}

static void expect_mount(const char *table, unsigned long kb, unsigned long def,
			 const char *want)
{
	char *m = find_in(table, kb, def);

	if (want)
		assert_string_equal(m ? m : "(none)", want);
	else
		assert_null(m);
	free(m);
}

static void test_mount_pagesize(void **state)
{
	const char *t = "sysfs /sys sysfs rw,nosuid 0 0\n"
			"hugetlbfs /dev/hugepages hugetlbfs "
			"rw,relatime,pagesize=2M 0 0\n"
			"none /mnt/huge1g hugetlbfs rw,relatime,pagesize=1024M "
			"0 0\n";

	(void)state;
	expect_mount(t, 2048, 2048, "/dev/hugepages");
	expect_mount(t, 1048576, 2048, "/mnt/huge1g");
	expect_mount(t, 64, 2048, NULL);
	expect_mount("tmpfs /dev/hugepages tmpfs rw 0 0\n", 2048, 2048, NULL);
	expect_mount("", 2048, 2048, NULL);
}

static void test_mount_default_size(void **state)
{
	/* Older kernels print no pagesize= for the default size. */
	const char *t = "hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n";

	(void)state;
	expect_mount(t, 2048, 2048, "/dev/hugepages");
	expect_mount(t, 1048576, 2048, NULL);
	expect_mount(t, 1048576, 1048576, "/dev/hugepages");
	expect_mount("h /h hugetlbfs rw,pagesize=1G 0 0\n", 1048576, 2048,
		     "/h");
	expect_mount("h /h hugetlbfs rw,pagesize=2048k 0 0\n", 2048, 2048,
		     "/h");
	expect_mount("h /h hugetlbfs rw,pagesize=bogus 0 0\n", 2048, 2048,
		     NULL);
}

static void test_mount_skips_unusable(void **state)
{
	const char *t = "h /ro hugetlbfs ro,pagesize=2M 0 0\n"
			"h /capped hugetlbfs rw,pagesize=2M,size=1G 0 0\n"
			"h /min hugetlbfs rw,min_size=1G,pagesize=2M 0 0\n"
			"h /mnt/huge\\040pages hugetlbfs rw,pagesize=2M 0 0\n";

	(void)state;
	/* Escaped spaces in mount points come back as spaces. */
	expect_mount(t, 2048, 2048, "/mnt/huge pages");
	/* "rootcontext" and the like are not "ro". */
	expect_mount("h /x hugetlbfs rw,rootcontext=a,pagesize=2M 0 0\n", 2048,
		     2048, "/x");
}

/* ---- meminfo, shortfall, messages ---- */

static void test_meminfo(void **state)
{
	const char *proc = "MemTotal:       24684084 kB\n"
			   "MemFree:        24154916 kB\n"
			   "MemAvailable:   24322364 kB\n"
			   "Hugepagesize:       2048 kB\n";
	const char *node = "Node 0 MemTotal:       32768000 kB\n"
			   "Node 0 MemFree:        1048576 kB\n"
			   "Node 12 HugePages_Free:     7\n";

	(void)state;
	assert_int_equal(host_meminfo_kb(proc, "MemAvailable"), 24322364);
	assert_int_equal(host_meminfo_kb(proc, "Hugepagesize"), 2048);
	assert_int_equal(host_meminfo_kb(proc, "Mem"), -1);
	assert_int_equal(host_meminfo_kb(proc, "Cached"), -1);
	assert_int_equal(host_meminfo_kb(node, "MemFree"), 1048576);
	assert_int_equal(host_meminfo_kb(node, "HugePages_Free"), 7);
	assert_int_equal(host_meminfo_kb("", "MemFree"), -1);
}

static void test_shortfall(void **state)
{
	(void)state;
	assert_int_equal(hugepages_shortfall(0, 4096), 4096);
	assert_int_equal(hugepages_shortfall(1000, 4096), 3096);
	assert_int_equal(hugepages_shortfall(4096, 4096), 0);
	assert_int_equal(hugepages_shortfall(5000, 4096), 0);
}

static void test_format_size(void **state)
{
	char b[32];

	(void)state;
	hugepages_format_size(2 * MIB, b, sizeof(b));
	assert_string_equal(b, "2 MiB");
	hugepages_format_size(GIB, b, sizeof(b));
	assert_string_equal(b, "1 GiB");
	hugepages_format_size(10 * GIB + 200 * MIB, b, sizeof(b));
	assert_string_equal(b, "10.2 GiB");
	hugepages_format_size(512, b, sizeof(b));
	assert_string_equal(b, "512 B");
	hugepages_format_size(1536 * KIB, b, sizeof(b));
	assert_string_equal(b, "1.5 MiB");
}

static void test_short_message(void **state)
{
	char *m;

	(void)state;
	m = hugepages_short_message(0, 2048, 8192, 5120, 10695475, 11534336);
	assert_string_equal(
		m, "could not reserve 8192 x 2 MiB hugepages on node 0: got "
		   "5120 (free memory on the node 10.2 GiB, MemAvailable 11 "
		   "GiB); close programs or reserve them at boot "
		   "(hugepagesz=2M hugepages=8192 on the kernel command line)");
	free(m);
	m = hugepages_short_message(1, 1048576, 16, 3, -1, -1);
	assert_string_equal(
		m, "could not reserve 16 x 1 GiB hugepages on node 1: got 3 "
		   "(free memory on the node unknown, MemAvailable unknown); "
		   "close programs or reserve them at boot (hugepagesz=1G "
		   "hugepages=16 on the kernel command line)");
	free(m);
}

/* ---- the plan on hand-made hosts ---- */

struct fixture {
	struct host h;
	struct host_node nodes[2];
	struct host_hugepool pools[4];
	struct host_pci pci[1];
	struct profile p;
	struct profile_pci ppci[1];
	struct plan plan;
	struct vr_error err;
};

/* Two nodes of 32 GiB; 2M pools on both, a 1G pool on node 0 only;
 * /dev/hugepages mounted with 2M pages. */
static void fx_init(struct fixture *fx, enum hugepages hp, uint64_t mem)
{
	memset(fx, 0, sizeof(*fx));
	for (int i = 0; i < 2; i++) {
		fx->nodes[i].id = i;
		fx->nodes[i].mem_total = 32 * GIB;
	}
	fx->pools[0] = (struct host_hugepool){0, 2048, 0, 0};
	fx->pools[1] = (struct host_hugepool){1, 2048, 0, 0};
	fx->pools[2] = (struct host_hugepool){0, 1048576, 0, 0};
	fx->h.nodes = fx->nodes;
	fx->h.nnodes = 2;
	fx->h.pools = fx->pools;
	fx->h.npools = 3;
	fx->h.ncpus = 16;
	fx->pci[0].addr = (struct pci_addr){0, 0x41, 0, 0};
	fx->pci[0].numa_node = 1;
	fx->h.pci = fx->pci;
	fx->h.npci = 1;
	strcpy(fx->p.vm.name, "win");
	fx->p.vm.memory = mem;
	fx->p.memory.hugepages = hp;
	fx->p.memory.numa_node = -1;
	fx->p.host.compact_memory = true;
	fx->plan.paths.run_dir = xstrdup("/run/vmrun");
	tl_put("/proc/mounts",
	       "proc /proc proc rw 0 0\n"
	       "hugetlbfs /dev/hugepages hugetlbfs "
	       "rw,relatime,pagesize=2M 0 0\n",
	       0644);
	tl_put("/proc/meminfo",
	       "MemTotal: 67108864 kB\n"
	       "Hugepagesize:       2048 kB\n",
	       0644);
}

static int fx_plan(struct fixture *fx)
{
	return hugepages_plan(&fx->plan, &fx->p, &fx->h, &fx->err);
}

static long op_long(const struct op *op, const char *key)
{
	json_object *v;

	assert_true(json_object_object_get_ex(op->args, key, &v));
	return (long)json_object_get_int64(v);
}

static void test_plan_none(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, HUGEPAGES_NONE, 8 * GIB);
	assert_int_equal(fx_plan(&fx), 0);
	assert_int_equal(fx.plan.nops, 0);
	assert_null(fx.plan.paths.hugepage_dir);
	plan_free(&fx.plan);
}

static void test_plan_2m(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, HUGEPAGES_2M, 8 * GIB);
	assert_int_equal(fx_plan(&fx), 0);
	assert_int_equal(fx.plan.nops, 2);
	assert_string_equal(fx.plan.ops[0].type->name, "hugepages");
	assert_int_equal(op_long(&fx.plan.ops[0], "node"), 0);
	assert_int_equal(op_long(&fx.plan.ops[0], "size_kb"), 2048);
	assert_int_equal(op_long(&fx.plan.ops[0], "pages"), 4096);
	assert_string_equal(fx.plan.ops[0].desc,
			    "reserve 4096 x 2 MiB hugepages (8 GiB) on NUMA "
			    "node 0");
	assert_string_equal(fx.plan.ops[1].type->name, "hugepage-dir");
	assert_string_equal(fx.plan.paths.hugepage_dir,
			    "/dev/hugepages/vmrun-win");
	plan_free(&fx.plan);
}

static void test_plan_1g_mounts(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, HUGEPAGES_1G, 16 * GIB);
	assert_int_equal(fx_plan(&fx), 0);
	assert_int_equal(fx.plan.nops, 3);
	assert_int_equal(op_long(&fx.plan.ops[0], "pages"), 16);
	assert_string_equal(fx.plan.ops[1].type->name, "hugetlbfs-mount");
	assert_string_equal(fx.plan.ops[1].desc,
			    "mount hugetlbfs (pagesize=1G) at "
			    "/run/vmrun/hugepages-1G");
	assert_string_equal(fx.plan.paths.hugepage_dir,
			    "/run/vmrun/hugepages-1G/vmrun-win");
	plan_free(&fx.plan);
}

static void test_plan_node(void **state)
{
	struct fixture fx;

	(void)state;
	/* auto: the node of the first passed-through device. */
	fx_init(&fx, HUGEPAGES_2M, 4 * GIB);
	fx.ppci[0].host = fx.pci[0].addr;
	fx.p.pci = fx.ppci;
	fx.p.npci = 1;
	assert_int_equal(hugepages_node(&fx.p, &fx.h), 1);
	assert_int_equal(fx_plan(&fx), 0);
	assert_int_equal(op_long(&fx.plan.ops[0], "node"), 1);
	plan_free(&fx.plan);
	/* an explicit node wins; a device without a node gives 0 */
	fx.p.memory.numa_node = 0;
	assert_int_equal(hugepages_node(&fx.p, &fx.h), 0);
	fx.p.memory.numa_node = -1;
	fx.pci[0].numa_node = -1;
	assert_int_equal(hugepages_node(&fx.p, &fx.h), 0);
}

/* msg, at the profile's line (a profile made in memory has no file) */
static void expect_plan_error(struct fixture *fx, const char *msg)
{
	char *want = xasprintf("the profile: %s", msg);

	assert_true(fx_plan(fx) < 0);
	assert_string_equal(fx->err.msg, want);
	plan_free(&fx->plan);
	free(want);
}

static void test_plan_errors(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, HUGEPAGES_1G, 8 * GIB);
	fx.h.npools = 2; /* no 1G pool anywhere */
	expect_plan_error(&fx, "1G hugepages are not available on this host: "
			       "boot with hugepagesz=1G or use hugepages = "
			       "2M");
	fx_init(&fx, HUGEPAGES_1G, 8 * GIB);
	fx.p.memory.numa_node = 1; /* 1G pool on node 0 only */
	expect_plan_error(&fx, "NUMA node 1 has no 1G hugepage pool (a node "
			       "without memory?): set [memory] numa-node to "
			       "node 0");
	fx_init(&fx, HUGEPAGES_2M, 8 * GIB);
	fx.p.memory.numa_node = 3;
	expect_plan_error(&fx, "[memory] numa-node = 3: this host has no NUMA "
			       "node 3 (its nodes: 0-1)");
	fx_init(&fx, HUGEPAGES_1G, 1536 * MIB);
	expect_plan_error(&fx, "[vm] memory = 1.5 GiB is not a whole number "
			       "of 1G hugepages: use 1 GiB or 2 GiB, or "
			       "hugepages = 2M");
	fx_init(&fx, HUGEPAGES_2M, 33 * GIB);
	expect_plan_error(&fx, "[vm] memory = 33 GiB does not fit in NUMA node "
			       "0, which has 32 GiB in all: lower memory or "
			       "choose another [memory] numa-node");
	fx_init(&fx, HUGEPAGES_2M, 8 * GIB);
	fx.h.npools = 0;
	expect_plan_error(&fx, "2M hugepages are not available on this host (a "
			       "kernel without hugetlbfs?): use hugepages = "
			       "none");
}

/* ---- the ops on a temporary root (plain files: no kernel) ---- */

static struct op make_op(const struct op_type *t, int node, long pages)
{
	struct op op = {.type = t};

	op.args = json_object_new_object();
	json_object_object_add(op.args, "node", json_object_new_int(node));
	json_object_object_add(op.args, "size_kb", json_object_new_int64(2048));
	json_object_object_add(op.args, "pages", json_object_new_int64(pages));
	return op;
}

#define POOL "/sys/devices/system/node/node0/hugepages/hugepages-2048kB"

static void test_reserve_enough_free(void **state)
{
	struct op op = make_op(&hugepages_op_reserve, 0, 100);
	struct vr_error err = {0};
	char buf[32];

	(void)state;
	tl_put(POOL "/nr_hugepages", "300\n", 0644);
	tl_put(POOL "/free_hugepages", "120\n", 0644);
	assert_int_equal(op.type->save(&op, &err), 0);
	assert_string_equal(
		json_object_get_string(json_object_object_get(op.saved, "nr")),
		"300");
	/* Enough free pages: nothing is written. */
	tl_put(POOL "/nr_hugepages", "301\n", 0644);
	assert_int_equal(op.type->apply(&op, &err), 0);
	assert_int_equal(
		hostfs_read(POOL "/nr_hugepages", buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "301");
	/* Undo puts the saved count back, twice as safely as once. */
	assert_int_equal(op.type->undo(&op, &err), 0);
	assert_int_equal(op.type->undo(&op, &err), 0);
	assert_int_equal(
		hostfs_read(POOL "/nr_hugepages", buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "300");
	json_object_put(op.args);
	json_object_put(op.saved);
}

static void test_reserve_bad_args(void **state)
{
	struct op op = {.type = &hugepages_op_reserve};
	struct vr_error err = {0};

	(void)state;
	op.args = json_object_new_object();
	assert_int_equal(op.type->save(&op, &err), -EINVAL);
	assert_string_equal(err.msg, "hugepages: node, size_kb or pages "
				     "missing from the op's arguments");
	/* Undo of an op that was never saved does nothing. */
	assert_int_equal(op.type->undo(&op, &err), 0);
	json_object_put(op.args);
}

static void test_dir_op(void **state)
{
	struct op op = {.type = &hugetlbfs_op_dir};
	struct vr_error err = {0};
	char *dir = tl_path("/dev/hugepages/vmrun-t");
	struct stat st;

	(void)state;
	tl_put("/dev/hugepages/.keep", "", 0644);
	op.args = json_object_new_object();
	json_object_object_add(
		op.args, "path",
		json_object_new_string("/dev/hugepages/vmrun-t"));
	assert_int_equal(op.type->save(&op, &err), 0);
	assert_int_equal(op.type->apply(&op, &err), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	tl_put("/dev/hugepages/vmrun-t/qemu_back_mem.pc.ram.XYZ", "", 0644);
	assert_int_equal(op.type->undo(&op, &err), 0);
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(op.type->undo(&op, &err), 0);
	json_object_put(op.args);
	json_object_put(op.saved);
	free(dir);
}

static int setup(void **state)
{
	(void)state;
	tl_root_make("test_hugepages");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_root_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_pagesize),
		cmocka_unit_test(test_mount_default_size),
		cmocka_unit_test(test_mount_skips_unusable),
		cmocka_unit_test(test_meminfo),
		cmocka_unit_test(test_shortfall),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_short_message),
		cmocka_unit_test(test_plan_none),
		cmocka_unit_test(test_plan_2m),
		cmocka_unit_test(test_plan_1g_mounts),
		cmocka_unit_test(test_plan_node),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_reserve_enough_free),
		cmocka_unit_test(test_reserve_bad_args),
		cmocka_unit_test(test_dir_op),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
