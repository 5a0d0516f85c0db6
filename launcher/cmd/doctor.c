/* doctor.c: `vmrun doctor`: the checks as a table (name, run, fix), the
 * context they share (profile, host view, plan) and the report. */
#include "cmd/cmd.h"
#include "cmd/doctor_check.h"
#include "host/host.h"
#include "ops/ops.h"
#include "base/base.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A path no QEMU is at: probing the host with it skips QEMU, so the other
 * checks still run when the profile's QEMU binary is broken. */
#define DOCTOR_NO_QEMU "/nonexistent/qemu-system-x86_64"

static const char *const status_word[] = {
	[DOCTOR_OK] = "ok",
	[DOCTOR_WARN] = "warn",
	[DOCTOR_FAIL] = "FAIL",
	[DOCTOR_SKIP] = "-",
};

/* "NAME: DETAIL" after the status; later lines of DETAIL and the fix are
 * indented under it. */
static void print_indented(FILE *out, const char *text)
{
	for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1)
		fprintf(out, "%.*s\n      ", (int)(nl - text), text);
	fprintf(out, "%s\n", text);
}

/* A fix under its line, wrapped at spaces to 80 columns (one written with
 * its own line breaks is printed as it is); later lines indented like
 * print_indented. */
static void print_wrapped(FILE *out, const char *text)
{
	size_t col = 11; /* "      fix: " */
	bool first = true;

	for (const char *w = text; *w;) {
		size_t n = strcspn(w, " \n");

		if (!first && col + 1 + n > 80) {
			fprintf(out, "\n      ");
			col = 6;
		} else if (!first) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)n, w);
		col += n;
		first = false;
		w += n;
		if (*w == '\n') {
			fprintf(out, "\n      ");
			col = 6;
			first = true;
		}
		if (*w)
			w++;
	}
	fputc('\n', out);
}

void doctor_report(struct doctor *d, const struct doctor_check *c,
		   enum doctor_status st, const char *fix, const char *fmt, ...)
{
	cleanup_free char *detail = NULL;
	va_list ap;

	va_start(ap, fmt);
	detail = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(d->out, "%-4s  %s: ", status_word[st], c->name);
	print_indented(d->out, detail);
	fix = fix ? fix : c->fix;
	/* a warning may carry its own advice: fix "" prints no fix line */
	if ((st == DOCTOR_WARN || st == DOCTOR_FAIL) && fix && *fix) {
		fprintf(d->out, "      fix: ");
		if (strchr(fix, '\n'))
			print_indented(d->out, fix);
		else
			print_wrapped(d->out, fix);
	}
	d->count[st]++;
}

/* The profile, the host view and the plan, each read once; what failed
 * is kept for the check that reports it. */
static void doctor_load(struct doctor *d, const char *path)
{
	unsigned flags = HOST_PCI_NAMES | HOST_KVM;
	const char *qemu = NULL;

	/* The trust rule of a run (trust.h): a profile others can change is
	 * not read, and one naming programs or files others can change is
	 * not used, so neither runs its QEMU to ask the version. */
	if (path) {
		d->profile_path = path;
		if (trust_check(path, NULL, &d->profile_err) == 0 &&
		    profile_load(path, &d->profile, &d->profile_err) == 0) {
			if (trust_check(NULL, &d->profile, &d->profile_err))
				profile_free(&d->profile);
			else
				d->p = &d->profile;
		}
		if (d->p) {
			qemu = d->p->vm.qemu;
			if (d->p->vm.machine && strcmp(d->p->vm.machine, "q35"))
				flags |= HOST_QEMU_MACHINES;
		}
	}
	if (host_probe(&d->host, qemu, flags, &d->qemu_err) == 0) {
		d->h = &d->host;
		vr_error_clear(&d->qemu_err);
		hv_probe_qemu(&d->host, d->p);
	} else if (host_probe(&d->host, DOCTOR_NO_QEMU, flags, &d->host_err) ==
		   0) {
		d->h = &d->host;
	} else {
		/* not QEMU's fault: the host view line says what failed */
		vr_error_clear(&d->qemu_err);
	}
	if (d->p && d->h && !d->qemu_err.code &&
	    planner_build(d->p, d->h, &d->plan, &d->plan_err) == 0)
		d->planned = true;
}

static void doctor_unload(struct doctor *d)
{
	if (d->planned)
		plan_free(&d->plan);
	if (d->h)
		host_free(&d->host);
	if (d->p)
		profile_free(&d->profile);
}

/* The checks in the order they print: the profile, the CPU and kernel,
 * memory and limits, the programs, then what the plan says. */
static const struct doctor_check checks[] = {
	{"profile", doctor_check_profile,
	 "correct the lines above; `man vmrun.ini` lists every key"},
	{"host view", doctor_check_host_view,
	 "the host's /sys and /proc must be readable: run vmrun as root"},
	{"virtualization", doctor_check_virt, NULL},
	{"/dev/kvm", doctor_check_kvm, NULL},
	{"vCPU", doctor_check_vcpu, NULL},
	{"Hyper-V", doctor_check_hyperv, NULL},
	{"IOMMU", doctor_check_iommu, NULL},
	{"kernel command line", doctor_check_cmdline, NULL},
	{"vfio-pci", doctor_check_vfio,
	 "install the kernel's modules package (vfio-pci ships with every "
	 "distribution kernel), or build the kernel with CONFIG_VFIO_PCI"},
	{"kvm.ignore_msrs", doctor_check_msrs,
	 "for Windows guests: echo Y > /sys/module/kvm/parameters/ignore_msrs,"
	 "\nand keep it with `options kvm ignore_msrs=1 report_ignored_msrs=0`"
	 " in\n/etc/modprobe.d/kvm.conf"},
	{"cgroup v2", doctor_check_cgroup,
	 "boot with systemd.unified_cgroup_hierarchy=1 on the kernel command "
	 "line\n(vmrun handles the v1 cpuset hierarchy, but v2 is what "
	 "systemd expects)"},
	{"hugepages", doctor_check_hugepages, NULL},
	{"memlock", doctor_check_memlock,
	 "run vmrun as root (sudo), or give it CAP_SYS_RESOURCE: devices "
	 "passed\nthrough pin all guest memory, and vmrun raises "
	 "RLIMIT_MEMLOCK for QEMU"},
	{"OVMF", doctor_check_ovmf,
	 "install OVMF: apt install ovmf (Debian, Ubuntu), dnf install "
	 "edk2-ovmf\n(Fedora), pacman -S edk2-ovmf (Arch); or set [firmware] "
	 "code and vars-template"},
	{"QEMU", doctor_check_qemu,
	 "install QEMU 7.0 or later: apt install qemu-system-x86 (Debian, "
	 "Ubuntu),\ndnf install qemu-kvm (Fedora), pacman -S qemu-full "
	 "(Arch); or set [vm] qemu"},
	{"swtpm", doctor_check_swtpm,
	 "install swtpm: apt install swtpm swtpm-tools (Debian, Ubuntu), dnf "
	 "install\nswtpm swtpm-tools (Fedora), pacman -S swtpm (Arch)"},
	{"audio", doctor_check_audio,
	 "set [audio] runtime-dir to the desktop user's runtime folder "
	 "(/run/user/UID),\nor run vmrun through sudo from that user's "
	 "session, or set [vm] run-as to that user"},
	{"kvmfr", doctor_check_kvmfr, NULL},
	{"plan", doctor_check_plan, "each message above says what to change"},
	{"device", doctor_check_devices, NULL},
};

unsigned doctor_run(const char *profile, FILE *out)
{
	struct doctor d = {.out = out};

	doctor_load(&d, profile);
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++)
		checks[i].run(&d, &checks[i]);
	fprintf(out, "\n%u ok, %u warning%s, %u failed", d.count[DOCTOR_OK],
		d.count[DOCTOR_WARN], d.count[DOCTOR_WARN] == 1 ? "" : "s",
		d.count[DOCTOR_FAIL]);
	if (!profile)
		fprintf(out, ": %s\n",
			d.count[DOCTOR_FAIL]
				? "this host is not ready for passthrough yet"
				: "this host is ready for passthrough");
	else
		fprintf(out, ": %s\n",
			d.count[DOCTOR_FAIL] ? "the profile cannot start"
					     : "the profile can start");
	doctor_unload(&d);
	return d.count[DOCTOR_FAIL];
}

int cmd_doctor(const char *profile, const struct cmd_opts *o,
	       struct vr_error *err)
{
	unsigned failed = doctor_run(profile, stdout);

	(void)o;
	if (!failed)
		return 0;
	fflush(stdout);
	vr_errorx(err, EINVAL, "doctor: %u check%s failed (fixes above)",
		  failed, failed == 1 ? "" : "s");
	return 1;
}
