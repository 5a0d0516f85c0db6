/* capture.c: `vmrun capture [FILE]`: this host written in the host fixture
 * format (tests/fixtures/hosts), so a bug report carries the machine and
 * the test suite can rebuild it as a fake host. It only reads. */
#include "cmd/cmd.h"
#include "cmd/capture.h"
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A path no QEMU is at: the capture needs no QEMU, and a broken one must
 * not stop it. */
#define CAPTURE_NO_QEMU "/nonexistent/qemu-system-x86_64"

void capture_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

bool capture_owner(const char *abs, char *bdf, size_t len)
{
	cleanup_free char *path = hostfs_path(abs);
	char real[4096];
	struct pci_addr a;

	if (!realpath(path, real) || !host_pci_path_owner(real, &a))
		return false;
	pci_addr_format(&a, bdf, len);
	return true;
}

/* The kernel's host name, as the format allows it. */
static void capture_name(FILE *out)
{
	char name[256];
	struct vr_error ignored;

	if (hostfs_read("/proc/sys/kernel/hostname", name, sizeof(name),
			&ignored) ||
	    !*name)
		snprintf(name, sizeof(name), "host");
	for (char *c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			    "YZ"
			    "0123456789._-",
			    *c))
			*c = '-';
	fprintf(out, "host %s\n", name);
}

/* "64G", "16384M", "16777216K": the shortest exact way. */
static void capture_size(FILE *out, uint64_t bytes)
{
	uint64_t kb = bytes / KIB;

	if (kb && kb % (1024 * 1024) == 0)
		fprintf(out, "%lluG", (unsigned long long)(kb / 1024 / 1024));
	else if (kb && kb % 1024 == 0)
		fprintf(out, "%lluM", (unsigned long long)(kb / 1024));
	else
		fprintf(out, "%lluK", (unsigned long long)kb);
}

/* CPU i and i + N/T siblings, as the format describes SMT. */
static bool smt_as_format(const struct host *h)
{
	int cores = h->ncpus / h->threads_per_core;

	for (int i = 0; i < h->ncpus; i++)
		if (h->core_of[i] >= 0 && h->core_of[i] != i % cores)
			return false;
	return true;
}

static void capture_cpus(FILE *out, const struct host *h)
{
	unsigned long sizes[] = {2048, 1048576};

	fprintf(out, "cpus %d\n", h->ncpus);
	if (h->threads_per_core > 1) {
		if (!smt_as_format(h))
			fprintf(out,
				"# SMT siblings are numbered otherwise "
				"here; the format has CPU i and i + N/T\n");
		fprintf(out, "threads-per-core %d\n", h->threads_per_core);
	}
	for (size_t i = 0; i < h->nnodes; i++) {
		cleanup_free char *cpus = cpulist_format(&h->nodes[i].cpus);

		fprintf(out, "node %d cpus %s memory ", h->nodes[i].id, cpus);
		capture_size(out, h->nodes[i].mem_total);
		fputc('\n', out);
	}
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		long nr = 0;
		bool any = false;

		for (size_t i = 0; i < h->npools; i++)
			if (h->pools[i].size_kb == sizes[s]) {
				nr += h->pools[i].nr;
				any = true;
			}
		if (any)
			fprintf(out, "hugepages %lukB free %ld\n", sizes[s],
				nr);
	}
	fprintf(out, "cmdline ");
	capture_quoted(out, h->cmdline);
	fprintf(out, "\ncgroup %s\n", h->cgroup2 ? "v2" : "hybrid");
}

static bool cpu_flag(const char *flag)
{
	cleanup_free char *path = hostfs_path("/proc/cpuinfo");
	cleanup_fclose FILE *f = fopen(path, "re");
	char line[8192];
	size_t n = strlen(flag);

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		for (char *s = strstr(line, flag); s; s = strstr(s + 1, flag))
			if (s[-1] == ' ' && strchr(" \n", s[n]))
				return true;
		return false;
	}
	return false;
}

static void capture_machine(FILE *out, const struct host *h)
{
	static const char *const loaders[] = {
		[BOOT_GRUB] = "grub",
		[BOOT_SYSTEMD_BOOT] = "systemd-boot",
		[BOOT_REFIND] = "refind",
		[BOOT_NIXOS] = "nixos",
		[BOOT_UNKNOWN] = "unknown",
	};
	const struct host_kvm *k = &h->kvm;
	bool all = true;

	fprintf(out, "processor %s%s%s\n", h->cpu_amd ? "amd" : "intel",
		cpu_flag("vmx") || cpu_flag("svm") ? "" : " novirt",
		cpu_flag("hypervisor") ? " hypervisor" : "");
	fprintf(out, "kvm %s",
		k->state == KVM_OK	 ? "yes"
		: k->state == KVM_ABSENT ? "no"
					 : "broken");
	for (size_t i = 0; k->state == KVM_OK && k->hv_known && kvm_hv_name(i);
	     i++)
		all &= kvm_hv_offered(k, kvm_hv_name(i));
	for (size_t i = 0, n = 0; !all && kvm_hv_name(i); i++)
		if (kvm_hv_offered(k, kvm_hv_name(i)))
			fprintf(out, "%s%s",
				n++ ? "," : " hv=", kvm_hv_name(i));
	fprintf(out, "\nsystemd %s\npci-ids %s\nbootloader %s\n",
		hostfs_exists("/run/systemd/system") ? "yes" : "no",
		host_pci_ids_present() ? "yes" : "no",
		loaders[boot_loader_detect()]);
}

/* The reset methods the format knows, comma-separated. */
static void capture_reset(FILE *out, const char *methods)
{
	static const char *const known[] = {"flr",
					    "bus",
					    "pm",
					    "af_flr",
					    "acpi",
					    "cxl_bus",
					    "device_specific"};
	cleanup_free char *copy = xstrdup(methods);
	char *save = NULL;
	size_t n = 0;

	for (char *m = strtok_r(copy, " ", &save); m;
	     m = strtok_r(NULL, " ", &save))
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			if (!strcmp(m, known[i]))
				fprintf(out, "%s%s", n++ ? "," : " reset=", m);
}

static void capture_pci_one(FILE *out, const struct host_pci *d)
{
	char bdf[16], cls[32] = "", path[96];
	struct vr_error ignored;

	pci_addr_format(&d->addr, bdf, sizeof(bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", bdf);
	/* with the programming interface: the format keeps it */
	if (hostfs_read(path, cls, sizeof(cls), &ignored) || strlen(cls) != 8)
		snprintf(cls, sizeof(cls), "0x%04x00", d->cls);
	fprintf(out, "pci %s %s %04x:%04x ", bdf, cls + 2, d->vendor,
		d->device);
	if (d->iommu_group >= 0)
		fprintf(out, "%d", d->iommu_group);
	else
		fputc('-', out);
	fprintf(out, " %s", d->driver[0] ? d->driver : "-");
	if (d->is_bridge)
		fprintf(out, " bridge");
	if (d->boot_vga && d->cls == PCI_CLASS_VGA)
		fprintf(out, " boot_vga");
	if (d->numa_node >= 0)
		fprintf(out, " node=%d", d->numa_node);
	capture_reset(out, d->reset_method);
	if (d->sub_vendor || d->sub_device)
		fprintf(out, " subsys=%04x:%04x", d->sub_vendor, d->sub_device);
	fputc(' ', out);
	capture_quoted(out, d->device_name);
	fputc('\n', out);
}

/* Every part of the fixture, in the order the format lists them. */
static void capture_write(FILE *out, const struct host *h)
{
	fprintf(out, "# captured by vmrun capture: this machine in the host "
		     "fixture format\n# (tests/fixtures/hosts); `fakehost "
		     "build` makes a fake host of it.\n");
	capture_name(out);
	capture_cpus(out, h);
	capture_machine(out, h);
	for (size_t i = 0; i < h->npci; i++)
		capture_pci_one(out, &h->pci[i]);
	capture_blocks(out);
	capture_nets(out);
	capture_consoles(out);
	capture_holders(out, h);
}

int cmd_capture(const char *file, const struct cmd_opts *o,
		struct vr_error *err)
{
	struct host h;
	FILE *out = stdout;
	int r;

	(void)o;
	r = host_probe(&h, CAPTURE_NO_QEMU, HOST_PCI_NAMES | HOST_KVM, err);
	if (r)
		return 1;
	if (file && !(out = fopen(file, "we"))) {
		vr_error(err, errno, "cannot write %s", file);
		host_free(&h);
		return 1;
	}
	capture_write(out, &h);
	host_free(&h);
	if (out != stdout && fclose(out)) {
		vr_error(err, errno, "write %s", file);
		return 1;
	}
	if (file)
		printf("this host is in %s (the host fixture format)\n", file);
	return 0;
}
