/* doctor_host.c: the host checks of `vmrun doctor`: CPU virtualization,
 * KVM, the IOMMU and its kernel options, vfio-pci, MSRs, cgroups, memlock. */
#include "cmd/doctor_check.h"
#include "host/host.h"
#include "ops/ops.h"
#include "base/base.h"

#include <dirent.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

bool doctor_needs_kvm(const struct doctor *d)
{
	return !d->p || d->p->vm.accel == ACCEL_KVM;
}

bool doctor_needs_passthrough(const struct doctor *d)
{
	return !d->p || d->p->npci > 0;
}

/* A whole word in a space-separated list ("flags : fpu vme ... svm"). */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *s = strstr(list, word); s; s = strstr(s + 1, word))
		if ((s == list || s[-1] == ' ' || s[-1] == '\t') &&
		    (s[n] == ' ' || s[n] == '\n' || s[n] == '\0'))
			return true;
	return false;
}

/* The first "flags" line of /proc/cpuinfo ("" when unreadable). */
static void cpu_flags(char *buf, size_t len)
{
	cleanup_free char *path = hostfs_path("/proc/cpuinfo");
	cleanup_fclose FILE *f = fopen(path, "re");

	buf[0] = '\0';
	while (f && fgets(buf, (int)len, f))
		if (!strncmp(buf, "flags", 5))
			return;
	buf[0] = '\0';
}

/* The host view knows the vendor; without one, /proc/cpuinfo still may. */
static bool cpu_amd(const struct doctor *d)
{
	cleanup_free char *path = NULL;
	cleanup_fclose FILE *f = NULL;
	char line[256];

	if (d->h)
		return d->h->cpu_amd;
	path = hostfs_path("/proc/cpuinfo");
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "vendor_id", 9))
			return strstr(line, "AuthenticAMD") != NULL;
	return false;
}

void doctor_check_host_view(struct doctor *d, const struct doctor_check *c)
{
	if (!d->h)
		doctor_report(d, c, DOCTOR_FAIL, NULL,
			      "%s\nthe checks that need it are left out",
			      d->host_err.msg);
}

/* KVM as QEMU will use it: the host view's probe, or one of our own when
 * the host view could not be read. */
static const struct host_kvm *doctor_kvm(struct doctor *d)
{
	static struct host_kvm own;

	if (d->h && d->h->kvm.probed)
		return &d->h->kvm;
	if (!own.probed)
		kvm_probe(&own);
	return &own;
}

/* KVM decides: a nested KVM works without vmx/svm in /proc/cpuinfo. The
 * flags only say what to turn on in the firmware when it does not. */
void doctor_check_virt(struct doctor *d, const struct doctor_check *c)
{
	const struct host_kvm *k = doctor_kvm(d);
	char flags[8192];
	bool svm, vmx;

	cpu_flags(flags, sizeof(flags));
	svm = has_word(flags, "svm");
	vmx = has_word(flags, "vmx");
	if (k->state == KVM_OK && !svm && !vmx)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "KVM works (a VM on /dev/kvm could be created), "
			      "though /proc/cpuinfo has no vmx or svm flag: "
			      "this host is itself a VM with nested "
			      "virtualization");
	else if (svm)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "AMD-V (svm in /proc/cpuinfo)");
	else if (vmx)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "Intel VT-x (vmx in /proc/cpuinfo)");
	else
		doctor_report(d, c,
			      doctor_needs_kvm(d) ? DOCTOR_FAIL : DOCTOR_SKIP,
			      cpu_amd(d) ? "enable SVM (AMD-V) in the firmware "
					   "setup, then reboot"
					 : "enable Intel VT-x (Intel "
					   "Virtualization Technology) in the "
					   "firmware setup, then reboot",
			      "off: no vmx or svm flag in /proc/cpuinfo%s",
			      doctor_needs_kvm(d) ? ""
						  : "; not needed with accel = "
						    "tcg");
}

void doctor_check_kvm(struct doctor *d, const struct doctor_check *c)
{
	const struct host_kvm *k = doctor_kvm(d);

	if (!doctor_needs_kvm(d))
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not needed: [vm] accel = tcg");
	else if (k->state == KVM_OK)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "works: API version %d, a VM can be created",
			      k->api);
	else if (k->state == KVM_ABSENT)
		doctor_report(d, c, DOCTOR_FAIL,
			      cpu_amd(d) ? "modprobe kvm_amd (after turning "
					   "SVM on in the firmware), or set "
					   "[vm] accel = tcg (slow)"
					 : "modprobe kvm_intel (after turning "
					   "VT-x on in the firmware), or set "
					   "[vm] accel = tcg (slow)",
			      "missing: KVM is not loaded");
	else
		doctor_report(d, c, DOCTOR_FAIL,
			      "run vmrun as root; close any other hypervisor "
			      "(VirtualBox, VMware) that holds the CPU's "
			      "virtualization; check dmesg for kvm messages",
			      "present, but unusable: %s", k->why);
}

/* QEMU's answer on a vCPU of the profile's [cpu] model (hv_probe.c): a
 * line only when QEMU was asked and answered, so a profile or host where
 * the probe does not run (accel = tcg, no KVM, an untrusted QEMU) shows
 * nothing new. */
void doctor_check_vcpu(struct doctor *d, const struct doctor_check *c)
{
	const struct host_hv_qemu *q = d->h ? &d->h->hv_qemu : NULL;
	const char *model = d->p && d->p->cpu.model ? d->p->cpu.model : "host";
	cleanup_free char *at = NULL, *why = NULL, *fix = NULL;

	if (!doctor_needs_kvm(d) || !q ||
	    (q->state != HV_QEMU_OK && q->state != HV_QEMU_REFUSED &&
	     q->state != HV_QEMU_NO_VCPU))
		return;
	if (q->state != HV_QEMU_NO_VCPU) {
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "QEMU starts a vCPU of [cpu] model = %s on KVM",
			      model);
		return;
	}
	why = hv_verdict_no_vcpu(q, &d->h->qemu, model);
	fix = hv_verdict_no_vcpu_fix(q, &d->h->qemu);
	if (d->p) {
		at = profile_where(d->p, "cpu", "model");
		doctor_report(d, c, DOCTOR_FAIL, fix,
			      "%s: [cpu] model = %s: %s", at, model, why);
	} else {
		doctor_report(d, c, DOCTOR_FAIL, fix,
			      "[cpu] model = host (the default): %s", why);
	}
}

/* The profile's list of enlightenments (without a profile, the default
 * one), by name. */
static void hv_names(const struct doctor *d, struct strv *out)
{
	cleanup_free char *list = xstrdup(PROFILE_HV_DEFAULT);
	char *save = NULL;

	for (size_t i = 0; d->p && i < d->p->hyperv.nfeatures; i++)
		strv_add(out, d->p->hyperv.features[i].name);
	for (char *t = d->p ? NULL : strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		t[strcspn(t, "=")] = '\0';
		strv_add(out, t);
	}
}

/* "vapic, time" of names that KVM does not offer; malloc'd, "" for none. */
static char *hv_missing(const struct strv *names, const struct host_kvm *k)
{
	char *s = xstrdup(""), *t;

	for (size_t i = 0; i < names->n; i++) {
		if (kvm_hv_offered(k, names->v[i]))
			continue;
		t = xasprintf("%s%s%s", s, *s ? ", " : "", names->v[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Why QEMU cannot start a vCPU with some of names (hv_probe.c), or NULL. */
static char *hv_qemu_why(const struct doctor *d, const struct strv *names)
{
	const struct host_hv_qemu *q = d->h ? &d->h->hv_qemu : NULL;

	for (size_t i = 0; q && i < names->n; i++)
		if (hv_verdict_refused(q, names->v[i]))
			return hv_verdict_text(q, &d->h->qemu, names);
	return NULL;
}

static void hv_report(struct doctor *d, const struct doctor_check *c,
		      const char *missing, const char *qemu_why)
{
	bool refuse = d->p && d->p->hyperv.unsupported == HV_UNSUPPORTED_REFUSE;
	cleanup_free char *kvm = NULL;
	const char *sep = qemu_why ? "; so " : ": ";

	if (*missing)
		kvm = xasprintf(d->p ? "KVM does not offer %s, which [hyperv] "
				       "enlightenments asks for"
				     : "KVM does not offer %s of "
				       "enlightenments = default",
				missing);
	if (!d->p)
		doctor_report(d, c, DOCTOR_WARN, "",
			      "%s%s%s%svmrun leaves them out of a profile "
			      "that asks for them, with a warning",
			      kvm ? kvm : "", kvm && qemu_why ? "; " : "",
			      qemu_why ? qemu_why : "", sep);
	else
		doctor_report(d, c, refuse ? DOCTOR_FAIL : DOCTOR_WARN,
			      "remove them from [hyperv] enlightenments",
			      "%s%s%s%s%s", kvm ? kvm : "",
			      kvm && qemu_why ? "; " : "",
			      qemu_why ? qemu_why : "", sep,
			      refuse ? "with unsupported = refuse the start "
				       "is refused"
				     : "a run leaves them out (unsupported = "
				       "drop)");
}

void doctor_check_hyperv(struct doctor *d, const struct doctor_check *c)
{
	const struct host_kvm *k = doctor_kvm(d);
	cleanup_free char *missing = NULL, *qemu_why = NULL;
	struct strv names = {0};

	if (!doctor_needs_kvm(d) || (d->p && !d->p->hyperv.nfeatures)) {
		doctor_report(d, c, DOCTOR_SKIP, NULL, "not used: %s",
			      doctor_needs_kvm(d)
				      ? "[hyperv] enlightenments = none"
				      : "[vm] accel = tcg (vmrun leaves out "
					"what TCG cannot give)");
		return;
	}
	hv_names(d, &names);
	qemu_why = k->state == KVM_OK ? hv_qemu_why(d, &names) : NULL;
	if (k->state != KVM_OK || (!k->hv_known && !qemu_why)) {
		doctor_report(d, c, DOCTOR_SKIP, NULL, "cannot tell: %s",
			      k->state != KVM_OK
				      ? "KVM is not usable (see above)"
				      : "this kernel's KVM does not answer "
					"KVM_GET_SUPPORTED_HV_CPUID");
		strv_free(&names);
		return;
	}
	missing = hv_missing(&names, k);
	strv_free(&names);
	if (!*missing && !qemu_why)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "KVM offers every enlightenment %s",
			      d->p ? "the profile asks for"
				   : "of enlightenments = default");
	else
		hv_report(d, c, missing, qemu_why);
}

static size_t iommu_group_count(void)
{
	cleanup_free char *path = hostfs_path("/sys/kernel/iommu_groups");
	DIR *dir = opendir(path);
	struct dirent *de;
	size_t n = 0;

	while (dir && (de = readdir(dir)))
		n += de->d_name[0] != '.';
	if (dir)
		closedir(dir);
	return n;
}

void doctor_check_iommu(struct doctor *d, const struct doctor_check *c)
{
	size_t n = iommu_group_count();
	cleanup_free char *fix = boot_iommu_fix(cpu_amd(d));

	if (n)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "on: %zu groups in /sys/kernel/iommu_groups", n);
	else
		doctor_report(
			d, c,
			doctor_needs_passthrough(d) ? DOCTOR_FAIL : DOCTOR_SKIP,
			fix, "off: no groups in /sys/kernel/iommu_groups%s",
			doctor_needs_passthrough(d)
				? ""
				: "; not needed: the profile passes no "
				  "PCI device");
}

/* Intel's IOMMU needs intel_iommu=on on most kernels; AMD's is on by
 * default (amd_iommu has no "on" value). iommu=pt keeps the host's own
 * devices out of translation. */
void doctor_check_cmdline(struct doctor *d, const struct doctor_check *c)
{
	const char *want[] = {"intel_iommu=on", "iommu=pt"};
	size_t first = cpu_amd(d) ? 1 : 0;
	char missing[64] = "", have[64] = "";
	cleanup_free char *fix = NULL, *how = NULL;

	if (!d->h)
		return;
	if (!doctor_needs_passthrough(d)) {
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not needed: the profile passes no PCI device");
		return;
	}
	for (size_t i = first; i < ARRAY_SIZE(want); i++) {
		char *buf = has_word(d->h->cmdline, want[i]) ? have : missing;

		snprintf(buf + strlen(buf), sizeof(missing) - strlen(buf),
			 "%s%s", buf[0] ? " " : "", want[i]);
	}
	if (!missing[0]) {
		doctor_report(d, c, DOCTOR_OK, NULL, "has %s", have);
		return;
	}
	how = boot_cmdline_fix(missing);
	/* what iommu=pt is for, only while it is missing */
	fix = xasprintf("%s%s", how,
			has_word(missing, "iommu=pt")
				? " (iommu=pt: the host's own devices skip "
				  "IOMMU translation)"
				: "");
	doctor_report(d, c, DOCTOR_WARN, fix, "%s missing from /proc/cmdline",
		      missing);
}

/* vfio-pci.ko under /lib/modules/RELEASE, or built in. A fake root has no
 * modules tree: there the modprobe it holds stands for one. */
static bool vfio_module_available(void)
{
	static const char *const files[] = {
		"kernel/drivers/vfio/pci/vfio-pci.ko",
		"kernel/drivers/vfio/pci/vfio-pci.ko.xz",
		"kernel/drivers/vfio/pci/vfio-pci.ko.zst",
		"kernel/drivers/vfio/pci/vfio-pci.ko.gz",
	};
	struct utsname u;
	char buf[1 << 16];
	struct vr_error ignored;
	cleanup_free char *tool = NULL, *builtin = NULL;

	if (strcmp(hostfs_root(), "/")) {
		tool = hostfs_find_tool("modprobe");
		return tool != NULL;
	}
	if (uname(&u))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		cleanup_free char *p =
			xasprintf("/lib/modules/%s/%s", u.release, files[i]);

		if (!access(p, R_OK))
			return true;
	}
	builtin = xasprintf("/lib/modules/%s/modules.builtin", u.release);
	if (hostfs_read(builtin, buf, sizeof(buf), &ignored))
		return false;
	return strstr(buf, "/vfio-pci.ko") != NULL;
}

void doctor_check_vfio(struct doctor *d, const struct doctor_check *c)
{
	if (!doctor_needs_passthrough(d))
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not needed: the profile passes no PCI device");
	else if (hostfs_exists("/sys/bus/pci/drivers/vfio-pci"))
		doctor_report(d, c, DOCTOR_OK, NULL, "loaded");
	else if (vfio_module_available())
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "not loaded yet; vmrun loads it (modprobe "
			      "vfio-pci)");
	else
		doctor_report(d, c, DOCTOR_FAIL, NULL,
			      "no vfio-pci driver loaded and no module to "
			      "load");
}

void doctor_check_msrs(struct doctor *d, const struct doctor_check *c)
{
	static const char path[] = "/sys/module/kvm/parameters/ignore_msrs";
	struct vr_error ignored;
	char v[16];

	if (!doctor_needs_kvm(d))
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not needed: [vm] accel = tcg");
	else if (hostfs_read(path, v, sizeof(v), &ignored))
		doctor_report(d, c, DOCTOR_WARN, NULL,
			      "%s is not there (kvm not loaded?); Windows "
			      "guests may crash on MSRs KVM does not know",
			      path);
	else if (!strcmp(v, "Y") || !strcmp(v, "1"))
		doctor_report(d, c, DOCTOR_OK, NULL, "Y");
	else
		doctor_report(d, c, DOCTOR_WARN, NULL,
			      "%s: Windows guests may crash on MSRs KVM does "
			      "not know",
			      v);
}

void doctor_check_cgroup(struct doctor *d, const struct doctor_check *c)
{
	if (!d->h)
		return;
	if (d->h->cgroup2)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "unified hierarchy at /sys/fs/cgroup");
	else
		doctor_report(d, c, DOCTOR_WARN, NULL,
			      "no cgroup2 at /sys/fs/cgroup (a v1 or hybrid "
			      "hierarchy)");
}

/* CAP_SYS_RESOURCE in CapEff of /proc/self/status: read through the host
 * root like every /proc file, so a test can stage it. -1 if unreadable. */
static int has_cap_sys_resource(void)
{
	char buf[4096];
	struct vr_error ignored;
	const char *cap;

	if (hostfs_read("/proc/self/status", buf, sizeof(buf), &ignored))
		return -1;
	cap = strstr(buf, "CapEff:");
	if (!cap)
		return -1;
	return (int)(strtoull(cap + 7, NULL, 16) >> CAP_SYS_RESOURCE & 1);
}

/* The hard RLIMIT_MEMLOCK from /proc/self/limits, in bytes: UINT64_MAX
 * for unlimited, 0 when unreadable. */
static uint64_t memlock_hard(void)
{
	static const char key[] = "Max locked memory";
	char buf[4096], soft[32], hard[32];
	struct vr_error ignored;
	const char *line;

	if (hostfs_read("/proc/self/limits", buf, sizeof(buf), &ignored))
		return 0;
	line = strstr(buf, key);
	if (!line || sscanf(line + strlen(key), "%31s %31s", soft, hard) != 2)
		return 0;
	return strcmp(hard, "unlimited") ? strtoull(hard, NULL, 10)
					 : UINT64_MAX;
}

void doctor_check_memlock(struct doctor *d, const struct doctor_check *c)
{
	/* without a profile: at least a guest of 1 GiB */
	uint64_t need = (d->p ? d->p->vm.memory : 0) + GIB, hard;
	int cap = has_cap_sys_resource();
	char size[32];

	if (!doctor_needs_passthrough(d)) {
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not needed: the profile passes no PCI device");
		return;
	}
	if (cap > 0) {
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "vmrun can raise RLIMIT_MEMLOCK for QEMU (it "
			      "has CAP_SYS_RESOURCE)");
		return;
	}
	hard = memlock_hard();
	if (hard >= need) {
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "the hard RLIMIT_MEMLOCK already covers guest "
			      "memory + 1 GiB");
		return;
	}
	hugepages_format_size(hard, size, sizeof(size));
	doctor_report(d, c, DOCTOR_FAIL, NULL,
		      "vmrun cannot raise RLIMIT_MEMLOCK: %s, and the hard "
		      "limit is %s",
		      cap < 0 ? "cannot read CapEff in /proc/self/status"
			      : "no CAP_SYS_RESOURCE",
		      hard ? size : "unknown");
}
