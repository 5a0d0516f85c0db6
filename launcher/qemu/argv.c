/* argv.c: the QEMU command line for a profile, modelled on what
 * libvirt generates for the same VM: machine, firmware, CPU, memory. */
#include "qemu/qemu.h"
#include "host/host.h"
#include "qemu/build.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int add_name(struct qemu_build *b)
{
	const struct profile *p = b->p;
	cleanup_free char *name = qemu_opt_escape(p->vm.name);
	int r = qb_check_text(b, "[vm] name", p->vm.name);

	if (r)
		return r;
	if (b->h->qemu.major && b->h->qemu.major < 7)
		return vr_errorx(b->err, ENOTSUP,
				 "QEMU %d.%d is too old: vmrun needs QEMU 7.0 "
				 "or later (JSON -device and -netdev)",
				 b->h->qemu.major, b->h->qemu.minor);
	/* debug-threads names vCPU threads, which pinning looks for. */
	qb_from(b, "vm name");
	qb_addf(b, "-name", "guest=%s,debug-threads=on", name);
	qb_from(b, "%s", "");
	strv_add(b->argv, "-S");
	qb_add(b, "-msg", "timestamp=on");
	return 0;
}

static void add_pflash(struct qemu_build *b, int unit, const char *file,
		       bool ro)
{
	cleanup_free char *rooted = hostfs_path(file);
	char storage[32], format[32];
	json_object *o;

	snprintf(storage, sizeof(storage), "pflash%d-storage", unit);
	snprintf(format, sizeof(format), "pflash%d-format", unit);
	o = json_object_new_object();
	json_object_object_add(o, "driver", json_object_new_string("file"));
	json_object_object_add(o, "filename", json_object_new_string(rooted));
	json_object_object_add(o, "node-name", json_object_new_string(storage));
	json_object_object_add(o, "read-only", json_object_new_boolean(ro));
	qb_json(b, "-blockdev", o);
	o = json_object_new_object();
	json_object_object_add(o, "node-name", json_object_new_string(format));
	json_object_object_add(o, "read-only", json_object_new_boolean(ro));
	json_object_object_add(o, "driver", json_object_new_string("raw"));
	json_object_object_add(o, "file", json_object_new_string(storage));
	qb_json(b, "-blockdev", o);
}

static int add_firmware(struct qemu_build *b)
{
	const struct profile_firmware *fw = &b->p->firmware;
	const char *code = fw->code;

	if (fw->type != FW_OVMF)
		return 0;
	if (!code)
		code = fw->secure_boot ? b->h->ovmf_code_sb : b->h->ovmf_code;
	if (!code)
		return vr_errorx(b->err, ENOENT,
				 "no OVMF firmware found: install the ovmf "
				 "package or set [firmware] code");
	if (!b->paths->vars)
		return vr_errorx(b->err, EINVAL,
				 "no OVMF vars file: set [firmware] vars");
	qb_from(b, "firmware code");
	add_pflash(b, 0, code, true);
	qb_from(b, "firmware vars");
	add_pflash(b, 1, b->paths->vars, false);
	return 0;
}

/* A versioned machine type (pc-q35-8.0, copied from a libvirt XML) the
 * installed QEMU does not have would stop it at start. */
static int machine_check(struct qemu_build *b, const char *m)
{
	const struct strv *ms = &b->h->qemu.machines;
	const struct host_qemu *q = &b->h->qemu;
	const char *newest = NULL, *oldest = NULL;
	cleanup_free char *at = NULL;

	for (size_t i = 0; i < ms->n; i++) {
		if (!strcmp(ms->v[i], m))
			return 0;
		if (strncmp(ms->v[i], "pc-q35-", 7))
			continue;
		/* QEMU lists them newest first */
		newest = newest ? newest : ms->v[i];
		oldest = ms->v[i];
	}
	if (!ms->n)
		return 0; /* not asked, or QEMU did not say */
	at = profile_where(b->p, "vm", "machine");
	return vr_errorx(b->err, ENOENT,
			 "%s: [vm] machine = %s: QEMU %d.%d.%d (%s) has no "
			 "such machine type; use q35 (the newest it has, %s), "
			 "or one from %s to %s (`%s -machine help`)",
			 at, m, q->major, q->minor, q->micro, q->path,
			 newest ? newest : "?", oldest ? oldest : "?",
			 newest ? newest : "?", q->path);
}

static int add_machine(struct qemu_build *b)
{
	const struct profile *p = b->p;
	const char *m = p->vm.machine ? p->vm.machine : "q35";
	bool ovmf = p->firmware.type == FW_OVMF;
	bool sb = ovmf && p->firmware.secure_boot;
	int r = qb_check_token(b, "[vm] machine", m, "");

	if (!r)
		r = machine_check(b, m);
	if (r)
		return r;
	qb_from(b, "vm machine");
	qb_addf(b, "-machine",
		"%s,usb=off,vmport=off,%sdump-guest-core=off,"
		"memory-backend=pc.ram%s,hpet=%s",
		m, sb ? "smm=on," : "",
		ovmf ? ",pflash0=pflash0-format,pflash1=pflash1-format" : "",
		p->clock.hpet ? "on" : "off");
	qb_from(b, "vm accel");
	qb_add(b, "-accel", p->vm.accel == ACCEL_KVM ? "kvm" : "tcg");
	return 0;
}

/* QEMU on this host's KVM cannot start a vCPU of the model at all
 * (hv_probe.c asked it): refused here, before the host is changed. */
static int cpu_no_vcpu(struct qemu_build *b, const char *model)
{
	cleanup_free char *why =
		hv_verdict_no_vcpu(&b->h->hv_qemu, &b->h->qemu, model);
	cleanup_free char *fix =
		hv_verdict_no_vcpu_fix(&b->h->hv_qemu, &b->h->qemu);
	cleanup_free char *at = profile_where(b->p, "cpu", "model");

	return vr_errorx(b->err, ENOTSUP, "%s: [cpu] model = %s: %s; %s", at,
			 model, why, fix);
}

static int add_cpu(struct qemu_build *b)
{
	const struct profile_cpu *c = &b->p->cpu;
	bool tcg = b->p->vm.accel == ACCEL_TCG;
	const char *model = c->model ? c->model : "host";
	struct strv f = {0};
	cleanup_free char *joined = NULL;
	int r = qb_check_token(b, "[cpu] model", model, "");

	if (r)
		return r;
	if (!tcg && b->h->hv_qemu.state == HV_QEMU_NO_VCPU)
		return cpu_no_vcpu(b, model);
	if (tcg && !strcmp(model, "host")) {
		strv_add(b->warnings, "accel = tcg cannot run [cpu] model = "
				      "host: using 'max'");
		model = "max";
	}
	strv_add(&f, model);
	/* AMD hosts report SMT siblings to the guest only with topoext;
	 * TCG does not implement it. */
	if (b->h->cpu_amd && c->threads > 1 && !tcg)
		strv_add(&f, "topoext=on");
	r = qemu_cpu_hyperv(b, &f);
	if (!r && c->hide_hypervisor) {
		strv_add(&f, "kvm=off");
		strv_add(&f, "hypervisor=off");
	}
	joined = xstrdup(f.v[0]);
	for (size_t i = 1; !r && i < f.n; i++) {
		char *s = xasprintf("%s,%s", joined, f.v[i]);

		free(joined);
		joined = s;
	}
	strv_free(&f);
	if (r)
		return r;
	qb_from(b, "cpu");
	qb_add(b, "-cpu", joined);
	qb_from(b, "firmware secure-boot");
	if (b->p->firmware.type == FW_OVMF && b->p->firmware.secure_boot)
		qb_add(b, "-global",
		       "driver=cfi.pflash01,property=secure,"
		       "value=on");
	return 0;
}

/* The node guest RAM is bound to, or -1, as the planner decided it
 * (hugepages_guest_node()); it must be one the host has. */
static int memory_node(struct qemu_build *b, int *node)
{
	*node = b->place->mem_node;
	if (*node < 0 || !b->h->nnodes)
		return 0;
	for (size_t i = 0; i < b->h->nnodes; i++)
		if (b->h->nodes[i].id == *node)
			return 0;
	vr_errorx(b->err, ENOENT,
		  "[memory] numa-node %d: the host has no such NUMA node (it "
		  "has %zu); pick one of its nodes or auto",
		  *node, b->h->nnodes);
	return profile_error_at(b->p, "memory", "numa-node", b->err);
}

static json_object *memory_backend(struct qemu_build *b)
{
	const struct profile *p = b->p;
	enum hugepages hp = p->memory.hugepages;
	uint64_t page = hp == HUGEPAGES_1G ? GIB : 2 * MIB;
	json_object *o = json_object_new_object();
	const char *type = "memory-backend-ram";
	cleanup_free char *dir = NULL;

	if (hp != HUGEPAGES_NONE)
		type = b->paths->hugepage_dir ? "memory-backend-file"
					      : "memory-backend-memfd";
	json_object_object_add(o, "qom-type", json_object_new_string(type));
	json_object_object_add(o, "id", json_object_new_string("pc.ram"));
	if (hp != HUGEPAGES_NONE && b->paths->hugepage_dir) {
		dir = hostfs_path(b->paths->hugepage_dir);
		json_object_object_add(o, "mem-path",
				       json_object_new_string(dir));
	} else if (hp != HUGEPAGES_NONE) {
		json_object_object_add(o, "hugetlb",
				       json_object_new_boolean(true));
		json_object_object_add(o, "hugetlbsize",
				       json_object_new_int64((int64_t)page));
	}
	if (hp != HUGEPAGES_NONE) {
		json_object_object_add(o, "prealloc",
				       json_object_new_boolean(true));
		json_object_object_add(
			o, "prealloc-threads",
			json_object_new_int((int)b->place->prealloc_threads));
	}
	json_object_object_add(o, "size",
			       json_object_new_int64((int64_t)p->vm.memory));
	return o;
}

/* QEMU 7.2 runs the preallocation threads in a thread-context: on the
 * planner's CPUs, or on the CPUs of the node that holds the memory, so
 * every page is touched from where it lives. NULL when neither applies
 * (one node, no pinning) or QEMU is older. */
static json_object *prealloc_context(struct qemu_build *b, int node)
{
	const struct qemu_placement *pl = b->place;
	const struct host_qemu *q = &b->h->qemu;
	json_object *o, *list = json_object_new_array();

	if (!pl->prealloc_threads || q->major * 100 + q->minor < 702)
		goto none;
	if (pl->prealloc_cpus.n) {
		for (size_t i = 0; i < pl->prealloc_cpus.n; i++)
			json_object_array_add(
				list,
				json_object_new_int(pl->prealloc_cpus.cpu[i]));
	} else if (node >= 0 && b->h->nnodes > 1) {
		json_object_array_add(list, json_object_new_int(node));
	} else {
		goto none;
	}
	o = json_object_new_object();
	json_object_object_add(o, "qom-type",
			       json_object_new_string("thread-context"));
	json_object_object_add(o, "id", json_object_new_string("tc-pc.ram"));
	json_object_object_add(
		o, pl->prealloc_cpus.n ? "cpu-affinity" : "node-affinity",
		list);
	return o;
none:
	json_object_put(list);
	return NULL;
}

static int add_memory(struct qemu_build *b)
{
	const struct profile *p = b->p;
	enum hugepages hp = p->memory.hugepages;
	uint64_t page = hp == HUGEPAGES_1G   ? GIB
			: hp == HUGEPAGES_2M ? 2 * MIB
					     : MIB;
	json_object *o, *tc;
	int node, r;

	if (!p->vm.memory || p->vm.memory % page)
		return vr_errorx(b->err, EINVAL,
				 "[vm] memory = %llu bytes is not a multiple "
				 "of %s: round it",
				 (unsigned long long)p->vm.memory,
				 hp == HUGEPAGES_1G   ? "the 1G hugepage size"
				 : hp == HUGEPAGES_2M ? "the 2M hugepage size"
						      : "1M");
	r = memory_node(b, &node);
	if (r)
		return r;
	qb_from(b, "memory");
	qb_addf(b, "-m", "size=%lluk",
		(unsigned long long)(p->vm.memory / KIB));
	tc = prealloc_context(b, node);
	if (tc)
		qb_json(b, "-object", tc);
	o = memory_backend(b);
	if (tc)
		json_object_object_add(o, "prealloc-context",
				       json_object_new_string("tc-pc.ram"));
	/* Binding only means something where there is a choice. */
	if (node >= 0 && b->h->nnodes > 1) {
		json_object *nodes = json_object_new_array();

		json_object_array_add(nodes, json_object_new_int(node));
		json_object_object_add(o, "host-nodes", nodes);
		json_object_object_add(o, "policy",
				       json_object_new_string("bind"));
	}
	qb_json(b, "-object", o);
	qb_from(b, "cpu");
	qb_addf(b, "-smp", "%u,sockets=%u,dies=1,cores=%u,threads=%u",
		p->cpu.vcpus, p->cpu.sockets, p->cpu.cores, p->cpu.threads);
	return 0;
}

static bool any_boot_index(const struct profile *p)
{
	for (size_t i = 0; i < p->npci; i++)
		if (p->pci[i].boot)
			return true;
	for (size_t i = 0; i < p->ndisk; i++)
		if (p->disk[i].boot)
			return true;
	return false;
}

/* The fixed part libvirt always emits, and vmrun's QMP monitor. */
static void add_defaults(struct qemu_build *b)
{
	const struct profile *p = b->p;
	cleanup_free char *qmp = qemu_argv_qmp_chardev(b->paths, -1);

	qb_from(b, "vm uuid");
	if (p->vm.has_uuid)
		qb_add(b, "-uuid", p->vm.uuid);
	qb_from(b, "%s", "");
	strv_add(b->argv, "-no-user-config");
	strv_add(b->argv, "-nodefaults");
	qb_add(b, "-chardev", qmp);
	qb_add(b, "-mon", "chardev=qmp,mode=control");
	qb_from(b, "clock base");
	qb_addf(b, "-rtc", "base=%s,driftfix=slew",
		p->clock.base == CLOCK_UTC ? "utc" : "localtime");
	qb_from(b, "%s", "");
	if (p->vm.accel == ACCEL_KVM)
		qb_add(b, "-global", "kvm-pit.lost_tick_policy=delay");
	strv_add(b->argv, "-no-shutdown");
	qb_add(b, "-global", "ICH9-LPC.disable_s3=1");
	qb_add(b, "-global", "ICH9-LPC.disable_s4=1");
	if (any_boot_index(p))
		qb_add(b, "-boot", "strict=on");
}

static int add_run_as(struct qemu_build *b)
{
	const char *user = b->p->vm.run_as;
	const struct host_qemu *q = &b->h->qemu;
	cleanup_free char *esc = NULL;
	int r;

	if (!user)
		return 0;
	r = qb_check_text(b, "[vm] run-as", user);
	if (r)
		return r;
	qb_from(b, "vm run-as");
	/* -runas is deprecated from 9.1 in favour of -run-with user=. */
	if (q->major > 9 || (q->major == 9 && q->minor >= 1)) {
		esc = qemu_opt_escape(user);
		qb_addf(b, "-run-with", "user=%s", esc);
	} else {
		qb_add(b, "-runas", user);
	}
	return 0;
}

/* QEMU's seccomp filter, as libvirt sets it: no obsolete system calls,
 * no new processes (networks use script=no), no scheduler or priority
 * changes (vmrun pins from outside). QEMU installs it before -runas drops
 * privileges, so with run-as set*uid must stay allowed (with
 * elevateprivileges=deny QEMU dies of SIGSYS at the switch); once QEMU is
 * that user it has nothing left to raise. */
static void add_sandbox(struct qemu_build *b)
{
	if (!b->p->qemu_sandbox)
		return;
	qb_from(b, "qemu sandbox");
	qb_add(b, "-sandbox",
	       b->p->vm.run_as
		       ? "on,obsolete=deny,spawn=deny,resourcecontrol=deny"
		       : "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
			 "resourcecontrol=deny");
}

static int add_devices(struct qemu_build *b)
{
	int r = qemu_pci_place(b);

	if (r)
		return r;
	qemu_pci_add_ports(b);
	qb_from(b, "display video");
	qemu_add_video(b);
	qemu_add_usb(b);
	r = qemu_add_disks(b);
	if (!r)
		r = qemu_add_nets(b);
	qb_from(b, "audio");
	if (!r)
		r = qemu_add_audio(b);
	if (r)
		return r;
	qemu_pci_add_vfio(b);
	qb_from(b, "looking-glass");
	qemu_add_looking_glass(b);
	qb_from(b, "memory balloon");
	qemu_add_balloon(b);
	qb_from(b, "input evdev");
	qemu_add_input(b);
	qb_from(b, "tpm");
	r = qemu_add_tpm(b);
	qb_from(b, "acpi");
	if (!r)
		r = qemu_add_acpi(b);
	qb_from(b, "display");
	if (!r)
		r = qemu_add_display(b);
	return r;
}

int qemu_argv_build(const struct profile *p, const struct host *h,
		    const struct vm_paths *paths,
		    const struct qemu_placement *place, struct strv *argv,
		    struct strv *origin, struct strv *warnings,
		    struct vr_error *err)
{
	struct qemu_build b = {.p = p,
			       .h = h,
			       .paths = paths,
			       .place = place,
			       .argv = argv,
			       .warnings = warnings,
			       .err = err};
	int r;

	b.pci = xcalloc(p->npci + 1, sizeof(*b.pci));
	b.disk = xcalloc(p->ndisk + 1, sizeof(*b.disk));
	b.net = xcalloc(p->nnet + 1, sizeof(*b.net));
	b.origin = origin;
	qb_from(&b, "vm qemu");
	strv_add(argv, h->qemu.path ? h->qemu.path
		       : p->vm.qemu ? p->vm.qemu
				    : "qemu-system-x86_64");
	r = add_name(&b);
	if (!r)
		r = add_firmware(&b);
	if (!r)
		r = add_machine(&b);
	if (!r)
		r = add_cpu(&b);
	if (!r)
		r = add_memory(&b);
	qb_from(&b, "smbios");
	if (!r)
		r = qemu_add_smbios(&b);
	if (!r) {
		add_defaults(&b);
		r = add_devices(&b);
	}
	if (!r)
		r = add_run_as(&b);
	if (!r)
		add_sandbox(&b);
	qb_from(&b, "qemu arg");
	for (size_t i = 0; !r && i < p->qemu_args.n; i++)
		strv_add(argv, p->qemu_args.v[i]);
	qb_sync_origin(&b);
	free(b.pci);
	free(b.disk);
	free(b.net);
	return r;
}

/* FNV-1a: a short stable tag for names too long for an interface. */
static uint32_t name_hash(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (const char *s = a; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *s = b; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

char *qemu_tap_name(const struct profile *p, const struct profile_net *n)
{
	size_t bridged = 0;
	char *s;

	for (size_t i = 0; i < p->nnet; i++)
		bridged += p->net[i].mode == NET_BRIDGE;
	if (bridged <= 1)
		s = xasprintf("vmrun-%s", p->vm.name);
	else
		s = xasprintf("vmrun-%s-%s", p->vm.name, n->name);
	if (strlen(s) <= 15)
		return s;
	free(s);
	return xasprintf("vmrun-%08x", name_hash(p->vm.name, n->name));
}

/* vmrun's own QMP monitor on the command line: the dry run shows a socket
 * path; a run swaps in the socketpair's fd. */
char *qemu_argv_qmp_chardev(const struct vm_paths *paths, int fd)
{
	cleanup_free char *path = NULL, *esc = NULL;

	if (fd >= 0)
		return xasprintf("socket,id=qmp,fd=%d", fd);
	path = hostfs_path(paths->qmp);
	esc = qemu_opt_escape(path);
	return xasprintf("socket,id=qmp,path=%s,server=on,wait=off", esc);
}
