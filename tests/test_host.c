/* test_host.c: the host view against fake roots built from the host
 * fixtures (tests/fixtures/hosts/), and against the machine running it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"
#include "base/base.h"

#define NO_QEMU "/nonexistent/qemu-system-x86_64"

static char *fixture_path(const char *name)
{
	return xasprintf("tests/fixtures/hosts/%s", name);
}

/* Build a fake root from a fixture into a fresh folder; tests run from
 * the repository root (tests/run does so). */
static char *build_root(const char *fixture)
{
	char tmpl[] = "/tmp/test_host.XXXXXX";
	cleanup_free char *fx = fixture_path(fixture);
	cleanup_free char *cmd = NULL;
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	dir = xasprintf("%s/root", tmpl);
	cmd = xasprintf("tests/fakehost/fakehost build '%s' '%s'", fx, dir);
	assert_int_equal(system(cmd), 0);
	return dir;
}

static void remove_root(char *dir)
{
	char *cmd;

	*strrchr(dir, '/') = '\0'; /* the mkdtemp folder around it */
	cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
	hostfs_set_root("/");
}

static void probe_ok(const char *root, struct host *h, const char *qemu)
{
	struct vr_error err = {0};

	hostfs_set_root(root);
	if (host_probe(h, qemu, HOST_PCI_NAMES, &err))
		fail_msg("host_probe: %s", err.msg);
}

static const struct host_pci *find(const struct host *h, const char *bdf)
{
	struct pci_addr a;
	const struct host_pci *p;

	assert_int_equal(pci_addr_parse(bdf, &a), 0);
	p = host_pci_find(h, &a);
	if (!p)
		fail_msg("%s not found", bdf);
	return p;
}

/* "pci " lines of a fixture: the number of functions libpci must see. */
static size_t fixture_pci_count(const char *fixture)
{
	cleanup_free char *fx = fixture_path(fixture);
	cleanup_fclose FILE *f = fopen(fx, "r");
	char line[1024];
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "pci ", 4);
	return n;
}

static void test_b550(void **state)
{
	char *root = build_root("b550-gtx1060.host");
	const struct host_pci *gpu, *p;
	struct host h;

	(void)state;
	probe_ok(root, &h, NO_QEMU);
	assert_int_equal(h.ncpus, 16);
	assert_int_equal(h.threads_per_core, 2);
	assert_int_equal(h.core_of[0], h.core_of[8]);
	assert_int_not_equal(h.core_of[0], h.core_of[1]);
	assert_int_equal(h.core_of[7], h.core_of[15]);
	assert_true(h.cpu_amd);
	assert_int_equal(h.nnodes, 1);
	assert_int_equal(h.nodes[0].cpus.n, 16);
	assert_true(h.nodes[0].mem_total == 32 * GIB);
	assert_true(h.nodes[0].mem_free == 28 * GIB);
	assert_int_equal(h.npci, fixture_pci_count("b550-gtx1060.host"));
	gpu = find(&h, "0000:08:00.0");
	assert_int_equal(gpu->cls, 0x0300);
	assert_int_equal(gpu->vendor, 0x10de);
	assert_int_equal(gpu->device, 0x1c02);
	assert_string_equal(gpu->driver, "nvidia");
	assert_string_equal(gpu->driver_override, "");
	assert_int_equal(gpu->iommu_group, 16);
	assert_int_equal(gpu->numa_node, -1);
	assert_true(gpu->boot_vga);
	assert_false(gpu->is_bridge);
	assert_string_equal(gpu->name,
			    "NVIDIA Corporation GP106 [GeForce GTX 1060 3GB]");
	assert_string_equal(gpu->reset_method, "bus");
	p = find(&h, "00:01.1");
	assert_true(p->is_bridge);
	assert_string_equal(p->driver, "pcieport");
	p = find(&h, "0000:04:00.0");
	assert_false(p->boot_vga);
	assert_int_equal(p->iommu_group, 15);
	assert_string_equal(p->name, "Advanced Micro Devices, Inc. [AMD/ATI] "
				     "Baffin [Radeon RX 550 640SP / RX "
				     "560/560X]");
	p = find(&h, "0000:00:18.0");
	assert_string_equal(p->driver, "");
	assert_string_equal(p->reset_method, "");
	assert_true(pci_addr_eq(&h.pci[0].addr, &find(&h, "00:01.0")->addr));
	assert_non_null(host_pool_find(&h, 0, 2048));
	assert_int_equal(host_pool_find(&h, 0, 1048576)->nr, 0);
	assert_null(host_pool_find(&h, 1, 2048));
	assert_string_equal(h.cmdline, "BOOT_IMAGE=/vmlinuz-6.2.0 "
				       "root=UUID=0b5e quiet splash "
				       "amd_iommu=on iommu=pt");
	assert_true(h.cgroup2);
	assert_null(h.qemu.path);
	assert_string_equal(h.dmi_bios_vendor, "American Megatrends Inc.");
	assert_non_null(h.dmi_board_name);
	host_free(&h);
	remove_root(root);
}

static void test_ivybridge(void **state)
{
	char *root = build_root("ivybridge-gtx970.host");
	const struct host_pci *p;
	struct host h;

	(void)state;
	probe_ok(root, &h, NO_QEMU);
	assert_int_equal(h.ncpus, 8);
	assert_int_equal(h.core_of[0], h.core_of[4]);
	assert_int_not_equal(h.core_of[3], h.core_of[4]);
	assert_false(h.cpu_amd);
	assert_true(h.nodes[0].mem_total == 16 * GIB);
	assert_int_equal(h.npci, fixture_pci_count("ivybridge-gtx970.host"));
	p = find(&h, "0000:06:00.0");
	assert_string_equal(p->driver, "nouveau");
	assert_int_equal(p->iommu_group, 13);
	assert_false(p->boot_vga);
	assert_string_equal(p->name,
			    "NVIDIA Corporation GM204 [GeForce GTX 970]");
	p = find(&h, "0000:01:00.0");
	assert_true(p->boot_vga);
	assert_string_equal(p->driver, "amdgpu");
	assert_true(find(&h, "0000:00:01.0")->is_bridge);
	assert_false(find(&h, "0000:00:14.0")->is_bridge);
	assert_int_equal(find(&h, "0000:00:14.0")->cls, 0x0c03);
	host_free(&h);
	remove_root(root);
}

/* Two nodes, hybrid cgroups, a GPU on vfio-pci, subsystem IDs. */
static void test_dual_node(void **state)
{
	char *root = build_root("dual-node-hybrid.host");
	const struct host_pci *p;
	const struct host_hugepool *pool;
	cleanup_free char *list = NULL;
	struct host h;

	(void)state;
	probe_ok(root, &h, NO_QEMU);
	assert_int_equal(h.ncpus, 32);
	assert_int_equal(h.nnodes, 2);
	assert_int_equal(h.nodes[1].id, 1);
	list = cpulist_format(&h.nodes[1].cpus);
	assert_string_equal(list, "8-15,24-31");
	assert_int_equal(h.core_of[24], 8);
	pool = host_pool_find(&h, 0, 1048576);
	assert_non_null(pool);
	assert_int_equal(pool->nr, 4);
	assert_int_equal(pool->free, 4);
	assert_int_equal(host_pool_find(&h, 0, 2048)->nr, 512);
	assert_int_equal(host_pool_find(&h, 1, 2048)->nr, 0);
	/* 64 GiB - 4 GiB kept - 1 GiB of 2M pages - 4 GiB of 1G pages */
	assert_true(h.nodes[0].mem_free == 55 * GIB);
	assert_false(h.cgroup2);
	assert_false(h.cpu_amd);
	p = find(&h, "0000:81:00.0");
	assert_string_equal(p->driver, "vfio-pci");
	assert_int_equal(p->numa_node, 1);
	assert_int_equal(p->sub_vendor, 0x1462);
	assert_int_equal(p->sub_device, 0x3881);
	assert_string_equal(p->reset_method, "flr bus");
	assert_int_equal(find(&h, "0000:82:00.0")->iommu_group, 12);
	host_free(&h);
	remove_root(root);
}

static void test_override_and_unbound(void **state)
{
	char *root = build_root("b550-gtx1060.host");
	cleanup_free char *cmd =
		xasprintf("tests/fakehost/fakehost set '%s' "
			  "pci.0000:08:00.0.driver_override=vfio-pci "
			  "pci.0000:08:00.0.driver=-",
			  root);
	struct host h;

	(void)state;
	assert_int_equal(system(cmd), 0);
	probe_ok(root, &h, NO_QEMU);
	assert_string_equal(find(&h, "08:00.0")->driver_override, "vfio-pci");
	assert_string_equal(find(&h, "08:00.0")->driver, "");
	host_free(&h);
	remove_root(root);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void expect_probe_error(const char *root, const char *qemu,
			       const char *want)
{
	struct vr_error err = {0};
	struct host h;

	hostfs_set_root(root);
	assert_int_not_equal(host_probe(&h, qemu, HOST_PCI_NAMES, &err), 0);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static void test_errors(void **state)
{
	char *root = build_root("ivybridge-gtx970.host");
	cleanup_free char *online =
		xasprintf("%s/sys/devices/system/cpu/online", root);
	cleanup_free char *devices = xasprintf("%s/sys/bus/pci/devices", root);
	cleanup_free char *cmd = xasprintf("rm -rf '%s'", devices);

	(void)state;
	write_file(online, "0-x\n", 0644);
	expect_probe_error(root, NO_QEMU, "/sys/devices/system/cpu/online: ");
	assert_int_equal(unlink(online), 0);
	expect_probe_error(root, NO_QEMU, "reading the host's CPUs: read ");
	write_file(online, "0-7\n", 0644);
	/* libpci's fatal errors come back as errors, not exit(). */
	assert_int_equal(system(cmd), 0);
	write_file(devices, "", 0644);
	expect_probe_error(root, NO_QEMU, "reading PCI devices under ");
	expect_probe_error(root, NO_QEMU, "Cannot open ");
	remove_root(root);
}

static void test_qemu_version(void **state)
{
	struct host_qemu q;

	(void)state;
	assert_int_equal(
		host_qemu_parse_version("QEMU emulator version 7.2.22 (Debian "
					"1:7.2+dfsg-7+deb12u13)\nCopyright",
					&q),
		0);
	assert_int_equal(q.major, 7);
	assert_int_equal(q.minor, 2);
	assert_int_equal(q.micro, 22);
	assert_int_equal(
		host_qemu_parse_version("QEMU emulator version 8.1", &q), 0);
	assert_int_equal(q.major * 100 + q.minor * 10 + q.micro, 810);
	assert_int_equal(host_qemu_parse_version("qemu 9", &q), -EINVAL);
	assert_int_equal(host_qemu_parse_version("", &q), -EINVAL);
}

/* A stand-in QEMU binary: a script printing TEXT and exiting with RC. */
static void test_qemu_binary(void **state)
{
	char *root = build_root("ivybridge-gtx970.host");
	cleanup_free char *qemu = xasprintf("%s/qemu", root);
	struct host h;

	(void)state;
	write_file(qemu, "#!/bin/sh\necho 'QEMU emulator version 9.1.3'\n",
		   0755);
	probe_ok(root, &h, qemu);
	assert_string_equal(h.qemu.path, qemu);
	assert_int_equal(h.qemu.major, 9);
	assert_int_equal(h.qemu.micro, 3);
	host_free(&h);
	write_file(qemu, "#!/bin/sh\necho 'hello'\n", 0755);
	expect_probe_error(root, qemu, "printed 'hello', not 'QEMU emulator");
	write_file(qemu, "#!/bin/sh\nexit 3\n", 0755);
	expect_probe_error(root, qemu, "-version failed (status 3)");
	remove_root(root);
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The real machine: only what must hold on any Linux host. */
static void test_real_host(void **state)
{
	size_t cpus_in_nodes = 0;
	struct host h;

	(void)state;
	probe_ok("/", &h, NULL);
	assert_int_equal(h.ncpus, sysconf(_SC_NPROCESSORS_ONLN));
	assert_true(h.nnodes >= 1);
	for (size_t i = 0; i < h.nnodes; i++)
		cpus_in_nodes += h.nodes[i].cpus.n;
	assert_int_equal(cpus_in_nodes, h.ncpus);
	assert_true(h.nodes[0].mem_total > 0);
	assert_int_equal(h.npci, count_dir("/sys/bus/pci/devices"));
	for (size_t i = 0; i < h.npci; i++)
		assert_true(h.pci[i].vendor != 0 && h.pci[i].vendor != 0xffff);
	assert_int_equal(h.cgroup2, access("/sys/fs/cgroup/cgroup.controllers",
					   F_OK) == 0);
	assert_true(h.threads_per_core >= 1);
	if (!access("/usr/share/OVMF/OVMF_CODE_4M.fd", R_OK) &&
	    !access("/usr/share/OVMF/OVMF_VARS_4M.fd", R_OK))
		assert_string_equal(h.ovmf_code,
				    "/usr/share/OVMF/OVMF_CODE_4M.fd");
	if (h.qemu.path)
		assert_true(h.qemu.major >= 2);
	else
		assert_int_not_equal(system("command -v qemu-system-x86_64 "
					    ">/dev/null"),
				     0);
	assert_true(strlen(h.cmdline) > 0);
	host_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b550),
		cmocka_unit_test(test_ivybridge),
		cmocka_unit_test(test_dual_node),
		cmocka_unit_test(test_override_and_unbound),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_qemu_version),
		cmocka_unit_test(test_qemu_binary),
		cmocka_unit_test(test_real_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
