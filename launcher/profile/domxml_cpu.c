/* domxml_cpu.c: a libvirt domain's CPUs, memory backing, Hyper-V and KVM
 * features, clock: [cpu], [memory], [hyperv], [clock]. */
#include "profile/domxml.h"

#include <stdlib.h>
#include <string.h>

/* <cpu><topology>, or libvirt's default of one socket per vCPU. */
static void dx_topology(struct dx *x, const xmlNode *cpu)
{
	const xmlNode *t = cpu ? dx_child(cpu, "topology") : NULL;
	unsigned long long s = x->vcpus, dies = 1, c = 1, th = 1;

	if (t && (!dx_num(t, "sockets", &s) || !dx_num(t, "cores", &c) ||
		  !dx_num(t, "threads", &th))) {
		dx_fail(x, t, "<topology> needs sockets, cores and threads");
		return;
	}
	if (t && dx_num(t, "dies", &dies) && dies != 1)
		dx_drop(x, t,
			"dies='%llu': vmrun's guests have one die per "
			"socket (%llu sockets of %llu cores instead)",
			dies, s * dies, c);
	pdoc_set(x->d, "cpu", "sockets", "%llu", s * dies);
	pdoc_set(x->d, "cpu", "cores", "%llu", c);
	pdoc_set(x->d, "cpu", "threads", "%llu", th);
}

static void dx_cpu_features(struct dx *x, const xmlNode *cpu, bool *hidden)
{
	char name[64], policy[32];

	for (xmlNode *f = dx_first(cpu); f; f = dx_next(f)) {
		if (!dx_is(f, "feature"))
			continue;
		dx_attr(f, "name", name, sizeof(name));
		dx_attr(f, "policy", policy, sizeof(policy));
		if (!strcmp(name, "hypervisor") && !strcmp(policy, "disable"))
			*hidden = true;
		else if (!strcmp(name, "topoext") &&
			 (!strcmp(policy, "require") ||
			  !strcmp(policy, "force")))
			; /* vmrun adds it on AMD hosts for SMT guests */
		else
			dx_drop(x, f,
				"CPU flag %s (%s): a profile has no CPU flag "
				"list, only [cpu] model",
				name, policy);
	}
}

static void dx_cpu_mode(struct dx *x, const xmlNode *cpu)
{
	const xmlNode *m = cpu ? dx_child(cpu, "model") : NULL;
	char mode[32] = "", model[64];

	if (cpu)
		dx_attr(cpu, "mode", mode, sizeof(mode));
	if (!cpu || !strcmp(mode, "host-passthrough"))
		pdoc_set(x->d, "cpu", "model", "host");
	else if (!strcmp(mode, "host-model") || !strcmp(mode, "maximum")) {
		pdoc_set(x->d, "cpu", "model", "host");
		dx_drop(x, cpu,
			"mode '%s' (libvirt picks a named model like the "
			"host's): the host CPU is passed as it is (model = "
			"host)",
			mode);
	} else if (m) {
		dx_text(m, model, sizeof(model));
		dx_set(x, m, "cpu", "model", "%s", model);
	} else {
		pdoc_set(x->d, "cpu", "model", "host");
	}
	if (cpu && dx_attr_is(cpu, "migratable", "off"))
		dx_drop(x, cpu,
			"migratable='off' (-cpu migratable=off): "
			"vmrun leaves QEMU's default");
}

static void dx_cpu(struct dx *x, const xmlNode *dom)
{
	static const char *const known[] = {"topology", "feature", "model",
					    "vendor", NULL};
	const xmlNode *cpu = dx_child(dom, "cpu");
	const xmlNode *kvm = dx_child(dom, "features");
	bool flag = false, hidden = false;

	kvm = kvm ? dx_child(kvm, "kvm") : NULL;
	hidden = kvm && dx_child(kvm, "hidden") &&
		 dx_attr_is(dx_child(kvm, "hidden"), "state", "on");
	dx_cpu_mode(x, cpu);
	dx_topology(x, cpu);
	if (cpu) {
		dx_cpu_features(x, cpu, &flag);
		dx_others(x, cpu, known,
			  "vmrun's guests get no cache, NUMA or CPU "
			  "timing settings");
	}
	if (!hidden && !flag)
		return;
	pdoc_set(x->d, "cpu", "hide-hypervisor", "yes");
	if (hidden != flag)
		dx_drop(x, hidden ? kvm : cpu,
			"%s alone: vmrun's hide-hypervisor also %s",
			hidden ? "<kvm><hidden>" : "hypervisor disabled",
			hidden ? "clears the hypervisor CPUID bit"
			       : "hides KVM's signature (kvm=off)");
}

/* vcpupin of every vCPU, one host CPU each, in vCPU order. */
static void dx_vcpupin(struct dx *x, const xmlNode *tune)
{
	int *pin = xcalloc(x->vcpus + 1, sizeof(*pin));
	cleanup_free char *list = xstrdup("");
	unsigned npin = 0;

	for (unsigned i = 0; i < x->vcpus; i++)
		pin[i] = -1;
	for (xmlNode *p = dx_first(tune); p; p = dx_next(p)) {
		unsigned long long v, c;

		if (!dx_is(p, "vcpupin"))
			continue;
		if (!dx_num(p, "vcpu", &v) || v >= x->vcpus ||
		    !dx_num(p, "cpuset", &c)) {
			dx_drop(x, p,
				"not one vCPU on one host CPU: vmrun pins "
				"each vCPU to a single CPU; no vcpu-pin");
			free(pin);
			return;
		}
		pin[v] = (int)c;
		npin++;
	}
	for (unsigned i = 0; npin && i < x->vcpus; i++) {
		char *t = xasprintf("%s%s%d", list, i ? "," : "", pin[i]);

		free(list);
		list = t;
		if (pin[i] < 0) {
			dx_drop(x, tune,
				"vCPU %u is not pinned: vmrun pins all or "
				"none; no vcpu-pin",
				i);
			npin = 0;
		}
	}
	if (npin)
		pdoc_set(x->d, "cpu", "vcpu-pin", "%s", list);
	free(pin);
}

static void dx_cputune(struct dx *x, const xmlNode *dom)
{
	static const char *const known[] = {"vcpupin", "emulatorpin", NULL};
	const xmlNode *tune = dx_child(dom, "cputune"), *e;
	char set[256];

	if (!tune)
		return;
	dx_vcpupin(x, tune);
	if ((e = dx_child(tune, "emulatorpin"))) {
		dx_attr(e, "cpuset", set, sizeof(set));
		dx_set(x, e, "cpu", "emulator-pin", "%s", set);
	}
	dx_others(x, tune, known,
		  "vmrun pins vCPUs and QEMU's threads only (no I/O threads, "
		  "shares or quotas)");
}

/* <numatune><memory mode='strict' nodeset='N'>: [memory] numa-node. */
static void dx_numatune(struct dx *x, const xmlNode *dom)
{
	static const char *const known[] = {"memory", NULL};
	const xmlNode *nt = dx_child(dom, "numatune"), *m;
	char mode[32], set[64];
	unsigned long long node;

	if (!nt)
		return;
	dx_others(x, nt, known, "vmrun binds all guest memory to one node");
	if (!(m = dx_child(nt, "memory")))
		return;
	dx_attr(m, "nodeset", set, sizeof(set));
	if (parse_uint(set, 1023, &node)) {
		dx_drop(x, m,
			"nodeset '%s': vmrun binds guest memory to one "
			"node; numa-node = auto (the GPU's)",
			set);
		return;
	}
	pdoc_set(x->d, "memory", "numa-node", "%llu", node);
	if (dx_attr(m, "mode", mode, sizeof(mode)) && strcmp(mode, "strict"))
		dx_drop(x, m, "mode '%s': vmrun binds strictly (policy=bind)",
			mode);
}

static void dx_backing(struct dx *x, const xmlNode *dom)
{
	static const char *const known[] = {"hugepages", NULL};
	const xmlNode *mb = dx_child(dom, "memoryBacking"), *hp, *page;
	uint64_t size = 2 * MIB;
	char buf[32];

	if (!mb)
		return;
	dx_others(x, mb, known,
		  "vmrun backs guest memory with hugepages or plain memory "
		  "only");
	if (!(hp = dx_child(mb, "hugepages")))
		return;
	if ((page = dx_child(hp, "page"))) {
		unsigned long long v;

		dx_attr(page, "unit", buf, sizeof(buf));
		if (!dx_num(page, "size", &v))
			v = 0;
		size = !strcmp(buf, "G") || !strcmp(buf, "GiB")	  ? v * GIB
		       : !strcmp(buf, "M") || !strcmp(buf, "MiB") ? v * MIB
								  : v * KIB;
		if (dx_next(page) && dx_is(dx_next(page), "page"))
			dx_drop(x, dx_next(page),
				"pages of several sizes per guest node: "
				"vmrun takes the first size for all memory");
	}
	if (size != 2 * MIB && size != GIB) {
		dx_drop(x, page, "only 2 MiB and 1 GiB pages: hugepages = 2M");
		size = 2 * MIB;
	}
	pdoc_set(x->d, "memory", "hugepages", "%s", size == GIB ? "1G" : "2M");
}

void domxml_cpu(struct dx *x, const xmlNode *dom)
{
	const xmlNode *v = dx_child(dom, "vcpu");
	unsigned long long n = 1;
	char buf[64];

	if (v) {
		dx_text(v, buf, sizeof(buf));
		if (parse_uint(buf, 4096, &n) || !n) {
			dx_fail(x, v, "<vcpu>%s</vcpu>: not a vCPU count", buf);
			return;
		}
		if (dx_attr(v, "current", buf, sizeof(buf)) &&
		    strtoull(buf, NULL, 10) != n)
			dx_drop(x, v, "current='%s': vmrun starts every vCPU",
				buf);
		if (dx_attr(v, "cpuset", buf, sizeof(buf)))
			dx_drop(x, v, "cpuset='%s': use [cpu] vcpu-pin", buf);
	}
	x->vcpus = (unsigned)n;
	dx_cpu(x, dom);
	dx_cputune(x, dom);
	dx_numatune(x, dom);
	dx_backing(x, dom);
}
