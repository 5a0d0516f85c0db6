/* cpuset.c: the CPU isolation planner: checks the pinning against the host,
 * and plans QEMU's cgroup, the slices' AllowedCPUs and the IRQ moves. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void cl_add(struct cpulist *cl, int cpu)
{
	cl->cpu = xrealloc(cl->cpu, (cl->n + 1) * sizeof(int));
	cl->cpu[cl->n++] = cpu;
}

static void cl_sort(struct cpulist *cl)
{
	if (cl->n)
		qsort(cl->cpu, cl->n, sizeof(int), cmp_int);
}

void cpuset_online(const struct host *h, struct cpulist *out)
{
	memset(out, 0, sizeof(*out));
	/* core_of is -1 for an offline CPU. */
	for (int c = 0; c < h->ncpus; c++)
		if (!h->core_of || h->core_of[c] >= 0)
			cl_add(out, c);
}

void cpuset_minus(const struct cpulist *a, const struct cpulist *b,
		  struct cpulist *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < a->n; i++)
		if (!cpulist_has(b, a->cpu[i]) && !cpulist_has(out, a->cpu[i]))
			cl_add(out, a->cpu[i]);
	cl_sort(out);
}

void cpuset_union(const struct cpulist *a, const struct cpulist *b,
		  struct cpulist *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < a->n; i++)
		if (!cpulist_has(out, a->cpu[i]))
			cl_add(out, a->cpu[i]);
	for (size_t i = 0; i < b->n; i++)
		if (!cpulist_has(out, b->cpu[i]))
			cl_add(out, b->cpu[i]);
	cl_sort(out);
}

bool cpuset_intersects(const struct cpulist *a, const struct cpulist *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (cpulist_has(b, a->cpu[i]))
			return true;
	return false;
}

bool cpuset_equal(const struct cpulist *a, const struct cpulist *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!cpulist_has(b, a->cpu[i]))
			return false;
	for (size_t i = 0; i < b->n; i++)
		if (!cpulist_has(a, b->cpu[i]))
			return false;
	return true;
}

/* A copy without the newline and blanks the kernel prints around it. */
static char *trim(const char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\n')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		n--;
	return strndup(s, n);
}

bool cpuset_equal_text(const char *a, const char *b)
{
	struct cpulist la = {0}, lb = {0};
	cleanup_free char *ta = trim(a), *tb = trim(b);
	const char *why;
	bool eq;

	if (!ta || !tb)
		return false;
	if (!*ta || !*tb)
		return !*ta && !*tb;
	if (cpulist_parse(ta, &la, &why) || cpulist_parse(tb, &lb, &why)) {
		cpulist_free(&la);
		return false;
	}
	eq = cpuset_equal(&la, &lb);
	cpulist_free(&la);
	cpulist_free(&lb);
	return eq;
}

char *cpuset_mask_format(const struct cpulist *cl)
{
	int max = -1, words;
	unsigned *w;
	char *s, *o;

	for (size_t i = 0; i < cl->n; i++)
		if (cl->cpu[i] > max)
			max = cl->cpu[i];
	words = max < 0 ? 1 : max / 32 + 1;
	w = xcalloc((size_t)words, sizeof(*w));
	for (size_t i = 0; i < cl->n; i++)
		w[cl->cpu[i] / 32] |= 1u << (cl->cpu[i] % 32);
	s = o = xmalloc((size_t)words * 9 + 1);
	/* Most significant word first, unpadded; the rest 8 digits each. */
	o += sprintf(o, "%x", w[words - 1]);
	for (int i = words - 2; i >= 0; i--)
		o += sprintf(o, ",%08x", w[i]);
	free(w);
	return s;
}

/* ---- checks and warnings ---- */

static int pin_check(const struct profile *p, const char *key,
		     const struct cpulist *pin, const struct host *h,
		     struct vr_error *err)
{
	struct cpulist online;
	cleanup_free char *have = NULL;

	cpuset_online(h, &online);
	for (size_t i = 0; i < pin->n; i++) {
		if (cpulist_has(&online, pin->cpu[i]))
			continue;
		have = cpulist_format(&online);
		cpulist_free(&online);
		vr_errorx(err, EINVAL,
			  "[cpu] %s names CPU %d, but this host has CPUs %s",
			  key, pin->cpu[i], have);
		return profile_error_at(p, "cpu", key, err);
	}
	cpulist_free(&online);
	return 0;
}

/* The core of a CPU; unique negative values for CPUs without one. */
static int core_of(const struct host *h, int cpu)
{
	if (h->core_of && cpu >= 0 && cpu < h->ncpus && h->core_of[cpu] >= 0)
		return h->core_of[cpu];
	return -1 - cpu;
}

/* Host CPUs that share a core with a guest CPU but stay with the host. */
static void warn_split_cores(const struct profile *p, const struct host *h,
			     struct strv *warnings)
{
	const struct cpulist *pin = &p->cpu.vcpu_pin;
	struct strv pairs = {0};
	char *joined;
	size_t len = 1;

	for (size_t i = 0; i < pin->n; i++)
		for (int c = 0; c < h->ncpus; c++)
			if (c != pin->cpu[i] && !cpulist_has(pin, c) &&
			    core_of(h, c) == core_of(h, pin->cpu[i]))
				strv_addf(&pairs, "%d with %d", pin->cpu[i], c);
	if (!pairs.n)
		return;
	for (size_t i = 0; i < pairs.n; i++)
		len += strlen(pairs.v[i]) + 2;
	joined = xcalloc(1, len);
	for (size_t i = 0; i < pairs.n; i++) {
		if (i)
			strcat(joined, ", ");
		strcat(joined, pairs.v[i]);
	}
	strv_addf(warnings,
		  "[cpu] vcpu-pin splits SMT cores between the guest and the "
		  "host (CPU %s): host work on a sibling slows the guest's "
		  "vCPU; pin whole cores (see thread_siblings_list)",
		  joined);
	free(joined);
	strv_free(&pairs);
}

/* With threads > 1 the guest sees vCPUs t*k .. t*k+t-1 as one core; they
 * should sit on one host core too. */
static void warn_guest_smt(const struct profile *p, const struct host *h,
			   struct strv *warnings)
{
	const struct cpulist *pin = &p->cpu.vcpu_pin;
	unsigned t = p->cpu.threads;

	if (t < 2 || h->threads_per_core < 2)
		return;
	for (size_t k = 0; k + t <= pin->n; k += t)
		for (size_t j = k + 1; j < k + t; j++)
			if (core_of(h, pin->cpu[j]) !=
			    core_of(h, pin->cpu[k])) {
				strv_addf(warnings,
					  "[cpu] vcpu-pin puts vCPUs %zu and "
					  "%zu, one core in the guest, on host "
					  "CPUs %d and %d, which are different "
					  "cores: list SMT siblings next to "
					  "each other",
					  k, j, pin->cpu[k], pin->cpu[j]);
				return;
			}
}

void cpuset_pin_warnings(const struct profile *p, const struct host *h,
			 struct strv *warnings)
{
	const struct cpulist *pin = &p->cpu.vcpu_pin;
	const struct cpulist *emu = &p->cpu.emulator_pin;

	if (p->cpu.isolate)
		warn_split_cores(p, h, warnings);
	warn_guest_smt(p, h, warnings);
	for (size_t i = 0; i < emu->n; i++)
		if (cpulist_has(pin, emu->cpu[i])) {
			strv_addf(warnings,
				  "[cpu] emulator-pin CPU %d is also in "
				  "vcpu-pin: QEMU's I/O work will compete with "
				  "a vCPU there",
				  emu->cpu[i]);
			break;
		}
}

static int isolate_check(const struct profile *p, const struct host *h,
			 const struct cpulist *hostcpus, struct vr_error *err)
{
	cleanup_free char *all = NULL;

	if (!p->cpu.vcpu_pin.n)
		return vr_errorx(err, EINVAL,
				 "[cpu] isolate = yes needs vcpu-pin: the "
				 "guest's CPUs are the ones taken from the "
				 "host");
	if (!hostcpus->n) {
		all = cpulist_format(&p->cpu.vcpu_pin);
		vr_errorx(err, EINVAL,
			  "[cpu] isolate = yes would leave the host no CPU: "
			  "vcpu-pin takes all of %s; leave at least one out",
			  all);
		return profile_error_at(p, "cpu", "vcpu-pin", err);
	}
	if (!h->cgroup2) {
		vr_errorx(err, ENOTSUP,
			  "[cpu] isolate = yes needs the unified cgroup "
			  "hierarchy (cgroup v2), but this host runs cpuset "
			  "on cgroup v1: boot with "
			  "systemd.unified_cgroup_hierarchy=1 or set isolate = "
			  "no");
		return profile_error_at(p, "cpu", "isolate", err);
	}
	return 0;
}

/* ---- the plan ---- */

/* The node of cpuset.mems: only when guest memory is bound to one. */
static int mems_node(const struct profile *p, const struct host *h)
{
	if (!h->nnodes)
		return -1;
	if (p->memory.numa_node >= 0 || p->memory.hugepages != HUGEPAGES_NONE)
		return hugepages_node(p, h);
	for (size_t i = 0; i < p->npci; i++) {
		const struct host_pci *d = host_pci_find(h, &p->pci[i].host);

		if (d && d->numa_node >= 0)
			return d->numa_node;
	}
	return -1;
}

static void plan_controller(struct plan *plan, const char *cgroup)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "cgroup", json_object_new_string(cgroup));
	json_object_object_add(args, "controller",
			       json_object_new_string("cpuset"));
	plan_add(plan, &cgroup_op_controller, args,
		 "enable the cpuset controller for the children of %s "
		 "(cgroup.subtree_control)",
		 cgroup);
}

/* QEMU's cgroup may use the guest's and the emulator's CPUs, which the
 * slices no longer may (vfio-isolate #5: otherwise its threads cannot be
 * pinned there). */
static void plan_qemu_cgroup(struct plan *plan, const struct profile *p,
			     const struct host *h)
{
	struct cpulist cpus;
	cleanup_free char *list = NULL;
	json_object *args;
	int node = mems_node(p, h);
	char mems[16] = "";

	cpuset_union(&p->cpu.vcpu_pin, &p->cpu.emulator_pin, &cpus);
	list = cpulist_format(&cpus);
	cpulist_free(&cpus);
	plan_controller(plan, CPUSET_CGROUP_ROOT);
	args = json_object_new_object();
	json_object_object_add(args, "path",
			       json_object_new_string(CPUSET_MACHINE_SLICE));
	/* every VM's: removed when the last one ends */
	json_object_object_add(args, "shared", json_object_new_boolean(true));
	plan_add(plan, &cgroup_op_qemu, args, "create the cgroup %s if missing",
		 CPUSET_MACHINE_SLICE);
	plan_controller(plan, CPUSET_MACHINE_SLICE);
	free(plan->paths.cgroup);
	plan->paths.cgroup = xasprintf("%s/vmrun-%s.scope",
				       CPUSET_MACHINE_SLICE, p->vm.name);
	args = json_object_new_object();
	json_object_object_add(args, "path",
			       json_object_new_string(plan->paths.cgroup));
	json_object_object_add(args, "cpus", json_object_new_string(list));
	if (node >= 0) {
		snprintf(mems, sizeof(mems), "%d", node);
		json_object_object_add(args, "mems",
				       json_object_new_string(mems));
	}
	plan_add(plan, &cgroup_op_qemu, args,
		 "create QEMU's cgroup %s (cpuset.cpus %s%s%s)",
		 plan->paths.cgroup, list, node >= 0 ? ", cpuset.mems " : "",
		 mems);
}

static int plan_slices(struct plan *plan, const char *hostlist,
		       struct vr_error *err)
{
	static const char *const units[] = {"system.slice", "user.slice",
					    "init.scope"};
	bool systemd = hostfs_exists("/run/systemd/system");
	cleanup_free char *tool = NULL;

	if (systemd && !(tool = hostfs_find_tool("systemctl")))
		return vr_errorx(err, ENOENT,
				 "systemd runs on this host but systemctl was "
				 "not found: [cpu] isolate sets AllowedCPUs "
				 "through it");
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		cleanup_free char *dir =
			xasprintf("%s/%s", CPUSET_CGROUP_ROOT, units[i]);
		json_object *args;

		if (!hostfs_exists(dir))
			continue;
		args = json_object_new_object();
		json_object_object_add(args, "unit",
				       json_object_new_string(units[i]));
		json_object_object_add(args, "cpus",
				       json_object_new_string(hostlist));
		json_object_object_add(args, "systemd",
				       json_object_new_boolean(systemd));
		plan_add(plan, &cgroup_op_slice, args,
			 "confine %s to CPUs %s (%s)", units[i], hostlist,
			 systemd ? "systemctl set-property --runtime "
				   "AllowedCPUs"
				 : "cpuset.cpus");
	}
	return 0;
}

static void plan_irqs(struct plan *plan, const char *hostlist,
		      const char *guestlist)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "host", json_object_new_string(hostlist));
	json_object_object_add(args, "guest",
			       json_object_new_string(guestlist));
	plan_add(plan, &irq_op_affinity, args,
		 "move host IRQs off CPUs %s to CPUs %s (smp_affinity_list, "
		 "default_smp_affinity)",
		 guestlist, hostlist);
}

int cpuset_plan(struct plan *plan, const struct profile *p,
		const struct host *h, struct vr_error *err)
{
	struct cpulist online, hostcpus;
	cleanup_free char *hostlist = NULL, *guestlist = NULL;
	int r;

	r = pin_check(p, "vcpu-pin", &p->cpu.vcpu_pin, h, err);
	if (!r)
		r = pin_check(p, "emulator-pin", &p->cpu.emulator_pin, h, err);
	if (r)
		return r;
	cpuset_pin_warnings(p, h, &plan->warnings);
	if (!p->cpu.isolate)
		return 0;
	cpuset_online(h, &online);
	cpuset_minus(&online, &p->cpu.vcpu_pin, &hostcpus);
	cpulist_free(&online);
	r = isolate_check(p, h, &hostcpus, err);
	if (r)
		goto out;
	hostlist = cpulist_format(&hostcpus);
	guestlist = cpulist_format(&p->cpu.vcpu_pin);
	plan_qemu_cgroup(plan, p, h);
	r = plan_slices(plan, hostlist, err);
	if (!r && p->host.irq_affinity)
		plan_irqs(plan, hostlist, guestlist);
out:
	cpulist_free(&hostcpus);
	return r;
}
