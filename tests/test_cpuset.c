/* test_cpuset.c: CPU set math, the pinning checks and warnings, the ops
 * planned for [cpu] isolate, and the IRQ op on a temporary root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static struct cpulist cl(const char *s)
{
	struct cpulist l = {0};
	const char *why;

	if (*s)
		assert_int_equal(cpulist_parse(s, &l, &why), 0);
	return l;
}

static void expect_list(struct cpulist *l, const char *want)
{
	char *s = cpulist_format(l);

	assert_string_equal(s, want);
	free(s);
	cpulist_free(l);
}

/* ---- set math ---- */

static void test_minus_union(void **state)
{
	struct cpulist a = cl("0-15"), b = cl("2-5,10-13"), c = cl("0-1"), out;

	(void)state;
	cpuset_minus(&a, &b, &out);
	expect_list(&out, "0-1,6-9,14-15");
	cpuset_minus(&b, &a, &out);
	assert_int_equal(out.n, 0);
	cpulist_free(&out);
	cpuset_union(&b, &c, &out);
	expect_list(&out, "0-5,10-13");
	cpuset_union(&c, &c, &out);
	expect_list(&out, "0-1");
	cpulist_free(&a);
	cpulist_free(&b);
	cpulist_free(&c);
}

static void test_intersects_equal(void **state)
{
	struct cpulist a = cl("0-3"), b = cl("3,8"), c = cl("8-9"),
		       d = cl("3,2,1,0");

	(void)state;
	assert_true(cpuset_intersects(&a, &b));
	assert_false(cpuset_intersects(&a, &c));
	assert_true(cpuset_equal(&a, &d));
	assert_false(cpuset_equal(&a, &b));
	assert_true(cpuset_equal_text("0-3\n", "0,1,2,3"));
	assert_true(cpuset_equal_text("", "\n"));
	assert_false(cpuset_equal_text("", "0"));
	assert_false(cpuset_equal_text("0-3", "0-4"));
	assert_false(cpuset_equal_text("x", "x"));
	cpulist_free(&a);
	cpulist_free(&b);
	cpulist_free(&c);
	cpulist_free(&d);
}

static void test_mask_format(void **state)
{
	struct cpulist l;
	char *m;

	(void)state;
	l = cl("0-1,8-9");
	m = cpuset_mask_format(&l);
	assert_string_equal(m, "303");
	free(m);
	cpulist_free(&l);
	l = cl("0-1,32");
	m = cpuset_mask_format(&l);
	assert_string_equal(m, "1,00000003");
	free(m);
	cpulist_free(&l);
	l = cl("0-15");
	m = cpuset_mask_format(&l);
	assert_string_equal(m, "ffff");
	free(m);
	cpulist_free(&l);
	l = cl("");
	m = cpuset_mask_format(&l);
	assert_string_equal(m, "0");
	free(m);
}

/* ---- checks and warnings on a 16-CPU host with 2 threads per core ---- */

struct fixture {
	struct host h;
	int core_of[16];
	struct host_node node;
	struct profile p;
	struct plan plan;
	struct vr_error err;
};

static void fx_init(struct fixture *fx, const char *vpin, const char *epin,
		    bool isolate)
{
	memset(fx, 0, sizeof(*fx));
	for (int i = 0; i < 16; i++)
		fx->core_of[i] = i % 8; /* CPU i and i + 8 are siblings */
	fx->h.ncpus = 16;
	fx->h.core_of = fx->core_of;
	fx->h.threads_per_core = 2;
	fx->h.cgroup2 = true;
	fx->node.id = 0;
	fx->node.mem_total = 32 * GIB;
	fx->h.nodes = &fx->node;
	fx->h.nnodes = 1;
	strcpy(fx->p.vm.name, "win");
	fx->p.vm.memory = 8 * GIB;
	fx->p.cpu.threads = 1;
	fx->p.cpu.vcpu_pin = cl(vpin);
	fx->p.cpu.emulator_pin = cl(epin);
	fx->p.cpu.isolate = isolate;
	fx->p.memory.numa_node = -1;
	fx->p.host.irq_affinity = true;
}

static void fx_free(struct fixture *fx)
{
	plan_free(&fx->plan);
	cpulist_free(&fx->p.cpu.vcpu_pin);
	cpulist_free(&fx->p.cpu.emulator_pin);
}

static void expect_error(const char *vpin, const char *epin, bool isolate,
			 const char *msg)
{
	struct fixture fx;

	fx_init(&fx, vpin, epin, isolate);
	assert_true(cpuset_plan(&fx.plan, &fx.p, &fx.h, &fx.err) < 0);
	assert_string_equal(fx.err.msg, msg);
	fx_free(&fx);
}

static void test_pin_errors(void **state)
{
	struct fixture fx;

	(void)state;
	expect_error("2-5,16", "", false,
		     "the profile: [cpu] vcpu-pin names CPU 16, but this host "
		     "has CPUs 0-15");
	expect_error("2-5", "0,20", false,
		     "the profile: [cpu] emulator-pin names CPU 20, but this "
		     "host has CPUs 0-15");
	expect_error("", "", true,
		     "[cpu] isolate = yes needs vcpu-pin: the guest's CPUs are "
		     "the ones taken from the host");
	expect_error("0-15", "", true,
		     "the profile: [cpu] isolate = yes would leave the host no "
		     "CPU: vcpu-pin takes all of 0-15; leave at least one "
		     "out");
	/* An offline CPU is not the host's to give. */
	fx_init(&fx, "12-15", "", false);
	fx.core_of[15] = -1;
	assert_int_equal(cpuset_plan(&fx.plan, &fx.p, &fx.h, &fx.err), -EINVAL);
	assert_string_equal(fx.err.msg, "the profile: [cpu] vcpu-pin names CPU "
					"15, but this host has CPUs 0-14");
	fx_free(&fx);
	fx_init(&fx, "2-5", "", true);
	fx.h.cgroup2 = false;
	assert_int_equal(cpuset_plan(&fx.plan, &fx.p, &fx.h, &fx.err),
			 -ENOTSUP);
	assert_string_equal(fx.err.msg,
			    "the profile: [cpu] isolate = yes needs the "
			    "unified cgroup hierarchy (cgroup v2), but this "
			    "host runs cpuset "
			    "on cgroup v1: boot with "
			    "systemd.unified_cgroup_hierarchy=1 or set "
			    "isolate = no");
	fx_free(&fx);
}

static void warnings_of(const char *vpin, const char *epin, bool isolate,
			unsigned threads, struct strv *w)
{
	struct fixture fx;

	fx_init(&fx, vpin, epin, isolate);
	fx.p.cpu.threads = threads;
	memset(w, 0, sizeof(*w));
	cpuset_pin_warnings(&fx.p, &fx.h, w);
	fx_free(&fx);
}

static void test_warnings(void **state)
{
	struct strv w;

	(void)state;
	/* Whole cores (2,10 and 3,11) given to the guest: nothing to say. */
	warnings_of("2,10,3,11", "0", true, 2, &w);
	assert_int_equal(w.n, 0);
	strv_free(&w);
	/* Half cores kept by the host, with isolate. */
	warnings_of("2-3", "", true, 1, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.v[0],
			    "[cpu] vcpu-pin splits SMT cores between the guest "
			    "and the host (CPU 2 with 10, 3 with 11): host "
			    "work on a sibling slows the guest's vCPU; pin "
			    "whole cores (see thread_siblings_list)");
	strv_free(&w);
	/* Without isolate the host uses every CPU anyway. */
	warnings_of("2-3", "", false, 1, &w);
	assert_int_equal(w.n, 0);
	strv_free(&w);
	/* Guest SMT pairs on different host cores. */
	warnings_of("2-5", "", false, 2, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.v[0],
			    "[cpu] vcpu-pin puts vCPUs 0 and 1, one core in "
			    "the guest, on host CPUs 2 and 3, which are "
			    "different cores: list SMT siblings next to each "
			    "other");
	strv_free(&w);
	warnings_of("2-5", "1,3", false, 1, &w);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.v[0], "[cpu] emulator-pin CPU 3 is also in "
				    "vcpu-pin: QEMU's I/O work will compete "
				    "with a vCPU there");
	strv_free(&w);
}

/* ---- the ops planned for isolate ---- */

static void put_file(const char *rel, const char *text, mode_t mode)
{
	char *path = xasprintf("%s%s", root, rel);
	char *dir = xstrdup(path);
	FILE *f;

	for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(dir, 0755);
		*s = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	free(dir);
	free(path);
}

static const char *arg(const struct op *op, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(op->args, key, &v))
		return "(none)";
	return json_object_get_string(v);
}

static void test_plan_isolate(void **state)
{
	static const char *const types[] = {"cgroup-controller",
					    "cgroup",
					    "cgroup-controller",
					    "cgroup",
					    "cpuset",
					    "cpuset",
					    "irq-affinity"};
	struct fixture fx;

	(void)state;
	put_file("/sys/fs/cgroup/system.slice/cpuset.cpus", "", 0644);
	put_file("/sys/fs/cgroup/user.slice/cpuset.cpus", "", 0644);
	put_file("/run/systemd/system/.keep", "", 0644);
	put_file("/usr/bin/systemctl", "#!/bin/sh\n", 0755);
	fx_init(&fx, "2-5,10-13", "0", true);
	assert_int_equal(cpuset_plan(&fx.plan, &fx.p, &fx.h, &fx.err), 0);
	assert_int_equal(fx.plan.nops, ARRAY_SIZE(types));
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		assert_string_equal(fx.plan.ops[i].type->name, types[i]);
	assert_string_equal(arg(&fx.plan.ops[0], "cgroup"), "/sys/fs/cgroup");
	assert_string_equal(arg(&fx.plan.ops[1], "path"),
			    "/sys/fs/cgroup/machine.slice");
	assert_string_equal(arg(&fx.plan.ops[3], "path"),
			    "/sys/fs/cgroup/machine.slice/vmrun-win.scope");
	assert_string_equal(arg(&fx.plan.ops[3], "cpus"), "0,2-5,10-13");
	/* No hugepages, no device, numa-node auto: memory is not bound. */
	assert_string_equal(arg(&fx.plan.ops[3], "mems"), "(none)");
	assert_string_equal(fx.plan.paths.cgroup,
			    "/sys/fs/cgroup/machine.slice/vmrun-win.scope");
	/* init.scope is absent from this root: only two slices. */
	assert_string_equal(arg(&fx.plan.ops[4], "unit"), "system.slice");
	assert_string_equal(arg(&fx.plan.ops[5], "unit"), "user.slice");
	assert_string_equal(arg(&fx.plan.ops[4], "cpus"), "0-1,6-9,14-15");
	assert_string_equal(arg(&fx.plan.ops[4], "systemd"), "true");
	assert_string_equal(fx.plan.ops[4].desc,
			    "confine system.slice to CPUs 0-1,6-9,14-15 "
			    "(systemctl set-property --runtime AllowedCPUs)");
	assert_string_equal(arg(&fx.plan.ops[6], "guest"), "2-5,10-13");
	assert_string_equal(arg(&fx.plan.ops[6], "host"), "0-1,6-9,14-15");
	fx_free(&fx);
}

static void test_plan_isolate_cgroupfs(void **state)
{
	struct fixture fx;
	char *sd = xasprintf("%s/run/systemd/system/.keep", root);
	char *sdd = xasprintf("%s/run/systemd/system", root);

	(void)state;
	unlink(sd);
	rmdir(sdd);
	put_file("/sys/fs/cgroup/init.scope/cpuset.cpus", "", 0644);
	fx_init(&fx, "2-5", "", true);
	fx.p.host.irq_affinity = false;
	fx.p.memory.numa_node = 0;
	assert_int_equal(cpuset_plan(&fx.plan, &fx.p, &fx.h, &fx.err), 0);
	/* 4 cgroup ops, 3 slices, no IRQ op */
	assert_int_equal(fx.plan.nops, 7);
	assert_string_equal(arg(&fx.plan.ops[3], "mems"), "0");
	assert_string_equal(arg(&fx.plan.ops[6], "unit"), "init.scope");
	assert_string_equal(arg(&fx.plan.ops[6], "systemd"), "false");
	assert_string_equal(fx.plan.ops[6].desc,
			    "confine init.scope to CPUs 0-1,6-15 "
			    "(cpuset.cpus)");
	/* Not isolating: checks only, no ops. */
	fx_free(&fx);
	fx_init(&fx, "2-5", "", false);
	assert_int_equal(cpuset_plan(&fx.plan, &fx.p, &fx.h, &fx.err), 0);
	assert_int_equal(fx.plan.nops, 0);
	assert_null(fx.plan.paths.cgroup);
	fx_free(&fx);
	free(sd);
	free(sdd);
}

/* ---- the IRQ op on plain files ---- */

static char *read_rel(const char *rel)
{
	char buf[256];
	struct vr_error err;

	assert_int_equal(hostfs_read(rel, buf, sizeof(buf), &err), 0);
	return xstrdup(buf);
}

static void expect_file(const char *rel, const char *want)
{
	char *got = read_rel(rel);
	bool same = !strcmp(got, want);

	if (!same)
		print_error("%s: '%s' != '%s'\n", rel, got, want);
	free(got);
	assert_true(same);
}

static void truncate_rel(const char *rel)
{
	char *path = hostfs_path(rel);

	assert_int_equal(truncate(path, 0), 0);
	free(path);
}

static void test_irq_op(void **state)
{
	struct op op = {.type = &irq_op_affinity};
	struct vr_error err = {0};
	char *full = xasprintf("%s/proc/irq/26/smp_affinity_list", root);
	json_object *refused;

	(void)state;
	put_file("/proc/irq/default_smp_affinity", "ffff\n", 0644);
	put_file("/proc/irq/0/smp_affinity_list", "0\n", 0644);
	put_file("/proc/irq/24/smp_affinity_list", "0-15\n", 0644);
	put_file("/proc/irq/25/smp_affinity_list", "3\n", 0644);
	put_file("/proc/irq/26/.keep", "", 0644);
	/* A write the kernel refuses (here ENOSPC, as when no vector fits). */
	assert_int_equal(symlink("/dev/full", full), 0);
	op.args = json_object_new_object();
	json_object_object_add(op.args, "host",
			       json_object_new_string("0-1,6-15"));
	json_object_object_add(op.args, "guest", json_object_new_string("2-5"));
	assert_int_equal(op.type->save(&op, &err), 0);
	/* 26 reads as zeros: not a list, so it is not touched. Add it to the
	 * saved set by hand to see a refusal. */
	json_object_object_add(json_object_object_get(op.saved, "irqs"), "26",
			       json_object_new_string("0-15"));
	assert_int_equal(op.type->apply(&op, &err), 0);
	expect_file("/proc/irq/0/smp_affinity_list", "0");
	expect_file("/proc/irq/24/smp_affinity_list", "0-1,6-15");
	expect_file("/proc/irq/25/smp_affinity_list", "0-1,6-15");
	expect_file("/proc/irq/default_smp_affinity", "ffc3");
	refused = json_object_object_get(op.saved, "refused");
	assert_int_equal(json_object_array_length(refused), 1);
	assert_string_equal(
		json_object_get_string(json_object_array_get_idx(refused, 0)),
		"26");
	/* A kernel attribute takes the whole new value; plain files keep
	 * the tail of a longer old one, so empty them first. */
	truncate_rel("/proc/irq/24/smp_affinity_list");
	truncate_rel("/proc/irq/25/smp_affinity_list");
	assert_int_equal(op.type->undo(&op, &err), 0);
	assert_int_equal(op.type->undo(&op, &err), 0);
	expect_file("/proc/irq/24/smp_affinity_list", "0-15");
	expect_file("/proc/irq/25/smp_affinity_list", "3");
	expect_file("/proc/irq/default_smp_affinity", "ffff");
	json_object_put(op.args);
	json_object_put(op.saved);
	free(full);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_cpuset.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	hostfs_set_root(root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minus_union),
		cmocka_unit_test(test_intersects_equal),
		cmocka_unit_test(test_mask_format),
		cmocka_unit_test(test_pin_errors),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_plan_isolate),
		cmocka_unit_test(test_plan_isolate_cgroupfs),
		cmocka_unit_test(test_irq_op),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
