/* host.c: the read-only host view: CPUs and SMT siblings, NUMA nodes,
 * hugepage pools, CPU vendor, kernel command line, cgroup2, DMI strings. */
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Read a kernel list file ("0-3,8") into cl. */
static int host_read_list(const char *abs, struct cpulist *cl,
			  struct vr_error *err)
{
	char buf[4096];
	const char *why;
	int r = hostfs_read(abs, buf, sizeof(buf), err);

	if (r)
		return r;
	if (cpulist_parse(buf, cl, &why))
		return vr_errorx(err, EINVAL, "%s: %s ('%s')", abs, why, buf);
	return 0;
}

/* core_of[i] is the lowest CPU among i's SMT siblings: equal for
 * siblings, distinct across cores and packages (core_id alone repeats
 * per package). */
static int host_probe_cpus(struct host *h, struct vr_error *err)
{
	struct cpulist online = {0};
	char path[96];
	int r = host_read_list("/sys/devices/system/cpu/online", &online, err);

	if (r)
		return vr_error_prefix(err, "reading the host's CPUs");
	if (!online.n)
		return vr_errorx(err, EINVAL, "no online CPU on this host");
	h->ncpus = online.cpu[online.n - 1] + 1;
	h->core_of = xcalloc((size_t)h->ncpus, sizeof(*h->core_of));
	for (int i = 0; i < h->ncpus; i++)
		h->core_of[i] = -1; /* offline */
	h->threads_per_core = 1;
	for (size_t i = 0; i < online.n && !r; i++) {
		struct cpulist sib = {0};
		int c = online.cpu[i];

		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/topology/"
			 "thread_siblings_list",
			 c);
		r = host_read_list(path, &sib, err);
		if (!r && sib.n) {
			h->core_of[c] = sib.cpu[0];
			if ((int)sib.n > h->threads_per_core)
				h->threads_per_core = (int)sib.n;
		} else if (!r) {
			h->core_of[c] = c;
		}
		cpulist_free(&sib);
	}
	cpulist_free(&online);
	return r;
}

long host_meminfo_kb(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;) {
		const char *p = line, *nl = strchr(line, '\n');

		/* Per-node files prefix every line with "Node N ". */
		if (!strncmp(p, "Node ", 5)) {
			p += 5;
			while (*p >= '0' && *p <= '9')
				p++;
			while (*p == ' ')
				p++;
		}
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return strtol(p + klen + 1, NULL, 10);
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

static uint64_t meminfo_bytes(const char *text, const char *key)
{
	long kb = host_meminfo_kb(text, key);

	return kb > 0 ? (uint64_t)kb * KIB : 0;
}

static int host_probe_node(struct host_node *n, int id, struct vr_error *err)
{
	char path[96], info[8192];
	int r;

	n->id = id;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 id);
	r = host_read_list(path, &n->cpus, err);
	if (r)
		return r;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo",
		 id);
	r = hostfs_read(path, info, sizeof(info), err);
	if (r)
		return r;
	n->mem_total = meminfo_bytes(info, "MemTotal");
	n->mem_free = meminfo_bytes(info, "MemFree");
	return 0;
}

/* Without NUMA in the kernel there is one node: every CPU, all memory. */
static int host_probe_one_node(struct host *h, struct vr_error *err)
{
	char info[8192];
	struct host_node *n;
	int r = hostfs_read("/proc/meminfo", info, sizeof(info), err);

	if (r)
		return r;
	h->nodes = n = xcalloc(1, sizeof(*n));
	h->nnodes = 1;
	n->cpus.cpu = xcalloc((size_t)h->ncpus, sizeof(int));
	for (int i = 0; i < h->ncpus; i++)
		if (h->core_of[i] >= 0)
			n->cpus.cpu[n->cpus.n++] = i;
	n->mem_total = meminfo_bytes(info, "MemTotal");
	n->mem_free = meminfo_bytes(info, "MemFree");
	return 0;
}

/* NUMA nodes come from sysfs under the host root, on the real host too:
 * libnuma reads the real /sys and cannot see a fake root, and one code
 * path is tested by both. libnuma only answers, on the real host, whether
 * the kernel has NUMA at all. */
static int host_probe_nodes(struct host *h, struct vr_error *err)
{
	struct cpulist online = {0};
	bool real = !strcmp(hostfs_root(), "/");
	int r;

	if ((real && numa_available() < 0) ||
	    !hostfs_exists("/sys/devices/system/node/online"))
		return host_probe_one_node(h, err);
	r = host_read_list("/sys/devices/system/node/online", &online, err);
	if (r)
		return vr_error_prefix(err, "reading NUMA nodes");
	h->nodes = xcalloc(online.n ? online.n : 1, sizeof(*h->nodes));
	for (size_t i = 0; i < online.n && !r; i++) {
		r = host_probe_node(&h->nodes[i], online.cpu[i], err);
		h->nnodes = i + 1;
	}
	cpulist_free(&online);
	return r ? vr_error_prefix(err, "reading NUMA nodes") : 0;
}

static void host_add_pool(struct host *h, int node, const char *dir,
			  const char *size_dir)
{
	char path[512], v[32];
	struct host_hugepool *p;
	struct vr_error ignored;
	unsigned long size_kb;

	if (sscanf(size_dir, "hugepages-%lukB", &size_kb) != 1)
		return;
	h->pools = xrealloc(h->pools, (h->npools + 1) * sizeof(*h->pools));
	p = &h->pools[h->npools++];
	p->node = node;
	p->size_kb = size_kb;
	snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir, size_dir);
	p->nr = hostfs_read(path, v, sizeof(v), &ignored) ? 0 : atol(v);
	snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir, size_dir);
	p->free = hostfs_read(path, v, sizeof(v), &ignored) ? 0 : atol(v);
}

static int host_size_cmp(const void *a, const void *b)
{
	const struct host_hugepool *x = a, *y = b;

	if (x->node != y->node)
		return x->node - y->node;
	return (x->size_kb > y->size_kb) - (x->size_kb < y->size_kb);
}

/* Pools per node; a kernel without NUMA has only the global ones, which
 * are then node 0's. */
static void host_probe_pools(struct host *h)
{
	for (size_t i = 0; i < h->nnodes; i++) {
		char dir[96];
		cleanup_free char *path = NULL;
		DIR *d;
		struct dirent *de;
		int id = h->nodes[i].id;

		snprintf(dir, sizeof(dir),
			 "/sys/devices/system/node/node%d/hugepages", id);
		if (!hostfs_exists(dir) && h->nnodes == 1)
			snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages");
		path = hostfs_path(dir);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d)))
			host_add_pool(h, id, dir, de->d_name);
		closedir(d);
	}
	if (h->npools)
		qsort(h->pools, h->npools, sizeof(*h->pools), host_size_cmp);
}

const struct host_hugepool *host_pool_find(const struct host *h, int node,
					   unsigned long size_kb)
{
	for (size_t i = 0; i < h->npools; i++)
		if (h->pools[i].node == node && h->pools[i].size_kb == size_kb)
			return &h->pools[i];
	return NULL;
}

/* Whether the first line of /proc/cpuinfo naming field has word in it. */
static bool cpuinfo_has(const char *field, const char *word)
{
	cleanup_free char *path = hostfs_path("/proc/cpuinfo");
	cleanup_fclose FILE *f = fopen(path, "re");
	char line[8192];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			return strstr(line, word) != NULL;
	return false;
}

bool host_cpu_is_amd(void)
{
	return cpuinfo_has("vendor_id", "AuthenticAMD");
}

bool host_cpu_is_vm(void)
{
	return cpuinfo_has("flags", " hypervisor");
}

static void host_probe_vendor(struct host *h)
{
	h->cpu_amd = host_cpu_is_amd();
}

/* The unified hierarchy is mounted at /sys/fs/cgroup (not the hybrid
 * layout's /sys/fs/cgroup/unified). */
static void host_probe_cgroup(struct host *h)
{
	cleanup_free char *path = hostfs_path("/proc/mounts");
	FILE *f = setmntent(path, "re");
	struct mntent *m;

	h->cgroup2 = false;
	if (!f)
		return;
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_dir, "/sys/fs/cgroup") &&
		    !strcmp(m->mnt_type, "cgroup2"))
			h->cgroup2 = true;
	endmntent(f);
}

static char *host_dmi(const char *field)
{
	char path[64], buf[256];
	struct vr_error ignored;

	snprintf(path, sizeof(path), "/sys/class/dmi/id/%s", field);
	/* Serials and the UUID are readable by root only: NULL otherwise. */
	if (hostfs_read(path, buf, sizeof(buf), &ignored))
		return NULL;
	return xstrdup(buf);
}

static void host_probe_dmi(struct host *h)
{
	h->dmi_bios_vendor = host_dmi("bios_vendor");
	h->dmi_bios_version = host_dmi("bios_version");
	h->dmi_bios_date = host_dmi("bios_date");
	h->dmi_sys_vendor = host_dmi("sys_vendor");
	h->dmi_product_name = host_dmi("product_name");
	h->dmi_product_version = host_dmi("product_version");
	h->dmi_product_serial = host_dmi("product_serial");
	h->dmi_product_uuid = host_dmi("product_uuid");
	h->dmi_product_sku = host_dmi("product_sku");
	h->dmi_product_family = host_dmi("product_family");
	h->dmi_board_vendor = host_dmi("board_vendor");
	h->dmi_board_name = host_dmi("board_name");
	h->dmi_board_version = host_dmi("board_version");
	h->dmi_board_serial = host_dmi("board_serial");
	h->dmi_chassis_vendor = host_dmi("chassis_vendor");
	h->dmi_chassis_version = host_dmi("chassis_version");
	h->dmi_chassis_serial = host_dmi("chassis_serial");
}

/* OVMF pairs (code, vars) as distributions install them; installed files,
 * not kernel interfaces, so plain paths outside the host root. */
static const char *const ovmf_pairs[][2] = {
	{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
	{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
	{"/usr/share/edk2/ovmf/OVMF_CODE.fd",
	 "/usr/share/edk2/ovmf/OVMF_VARS.fd"},
	{"/usr/share/edk2/x64/OVMF_CODE.4m.fd",
	 "/usr/share/edk2/x64/OVMF_VARS.4m.fd"},
	{"/usr/share/edk2-ovmf/x64/OVMF_CODE.fd",
	 "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd"},
	{"/usr/share/qemu/ovmf-x86_64-4m-code.bin",
	 "/usr/share/qemu/ovmf-x86_64-4m-vars.bin"},
	{"/usr/share/qemu/edk2-x86_64-code.fd",
	 "/usr/share/qemu/edk2-i386-vars.fd"},
};

/* Secure Boot builds, with vars holding Microsoft's keys where shipped. */
static const char *const ovmf_sb_pairs[][2] = {
	{"/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
	 "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"},
	{"/usr/share/OVMF/OVMF_CODE_4M.ms.fd",
	 "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"},
	{"/usr/share/OVMF/OVMF_CODE.secboot.fd",
	 "/usr/share/OVMF/OVMF_VARS.ms.fd"},
	{"/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd",
	 "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"},
	{"/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd",
	 "/usr/share/edk2/x64/OVMF_VARS.4m.fd"},
	{"/usr/share/qemu/ovmf-x86_64-ms-4m-code.bin",
	 "/usr/share/qemu/ovmf-x86_64-ms-4m-vars.bin"},
	{"/usr/share/qemu/edk2-x86_64-secure-code.fd",
	 "/usr/share/qemu/edk2-i386-vars.fd"},
};

static void host_find_pair(const char *const pairs[][2], size_t n, char **code,
			   char **vars)
{
	for (size_t i = 0; i < n; i++)
		if (!access(pairs[i][0], R_OK) && !access(pairs[i][1], R_OK)) {
			*code = xstrdup(pairs[i][0]);
			*vars = xstrdup(pairs[i][1]);
			return;
		}
}

static void host_probe_ovmf(struct host *h)
{
	host_find_pair(ovmf_pairs, ARRAY_SIZE(ovmf_pairs), &h->ovmf_code,
		       &h->ovmf_vars);
	host_find_pair(ovmf_sb_pairs, ARRAY_SIZE(ovmf_sb_pairs),
		       &h->ovmf_code_sb, &h->ovmf_vars_sb);
}

int host_probe(struct host *h, const char *qemu, unsigned flags,
	       struct vr_error *err)
{
	struct vr_error ignored;
	int r;

	memset(h, 0, sizeof(*h));
	r = host_probe_cpus(h, err);
	if (!r)
		r = host_probe_nodes(h, err);
	if (!r)
		r = host_pci_scan(h, flags, err);
	if (!r)
		r = host_probe_qemu(&h->qemu, qemu, err);
	if (!r && (flags & HOST_QEMU_MACHINES) && h->qemu.path)
		host_qemu_machines(&h->qemu);
	if (!r)
		critical_scan(h);
	if (!r && (flags & HOST_KVM))
		kvm_probe(&h->kvm);
	if (r) {
		host_free(h);
		return r;
	}
	host_probe_pools(h);
	host_probe_vendor(h);
	host_probe_cgroup(h);
	host_probe_dmi(h);
	host_probe_ovmf(h);
	if (flags & HOST_MACHINE)
		machine_probe(h);
	h->vhost_net = hostfs_exists("/dev/vhost-net");
	if (hostfs_read("/proc/cmdline", h->cmdline, sizeof(h->cmdline),
			&ignored))
		h->cmdline[0] = '\0';
	return 0;
}

void host_free(struct host *h)
{
	char **dmi[] = {
		&h->dmi_bios_vendor,	&h->dmi_bios_version,
		&h->dmi_bios_date,	&h->dmi_sys_vendor,
		&h->dmi_product_name,	&h->dmi_product_version,
		&h->dmi_product_serial, &h->dmi_product_uuid,
		&h->dmi_product_sku,	&h->dmi_product_family,
		&h->dmi_board_vendor,	&h->dmi_board_name,
		&h->dmi_board_version,	&h->dmi_board_serial,
		&h->dmi_chassis_vendor, &h->dmi_chassis_version,
		&h->dmi_chassis_serial,
	};

	for (size_t i = 0; i < h->nnodes; i++)
		cpulist_free(&h->nodes[i].cpus);
	for (size_t i = 0; i < h->npci; i++)
		strv_free(&h->pci[i].needs);
	for (size_t i = 0; i < ARRAY_SIZE(dmi); i++)
		free(*dmi[i]);
	free(h->pci);
	free(h->core_of);
	free(h->l3_of);
	free(h->nodes);
	free(h->pools);
	free(h->ovmf_code);
	free(h->ovmf_vars);
	free(h->ovmf_code_sb);
	free(h->ovmf_vars_sb);
	free(h->qemu.path);
	strv_free(&h->qemu.machines);
	hv_verdict_free(&h->hv_qemu);
	memset(h, 0, sizeof(*h));
}
