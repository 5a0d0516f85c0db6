/* test_qemu_argv.c: the QEMU command line for hand-built profiles: each
 * key's effect as exact argv elements, and profile values that try to add
 * options of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host/host.h"
#include "ops/ops.h"
#include "qemu/qemu.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
	struct profile p;
	struct host h;
	struct vm_paths paths;
	struct host_pci pci[3];
	struct host_node nodes[2];
	struct profile_pci ppci[3];
	struct profile_disk disk[8];
	struct profile_net net[3];
	struct usb_dev usb[2];
	struct hv_feature hv[12];
	struct strv argv, origin, warnings;
	struct vr_error err;
};

static struct fixture *fx;

/* The smallest valid VM: 1 GiB, 2 vCPUs, OVMF, KVM, nothing else. */
static int setup(void **state)
{
	(void)state;
	hostfs_set_root("/");
	fx = calloc(1, sizeof(*fx));
	strcpy(fx->p.vm.name, "t");
	fx->p.vm.memory = GIB;
	fx->p.cpu.sockets = 1;
	fx->p.cpu.cores = 2;
	fx->p.cpu.threads = 1;
	fx->p.cpu.vcpus = 2;
	fx->p.memory.numa_node = -1;
	fx->p.display.port = 5900;
	fx->h.qemu.major = 7;
	fx->h.qemu.minor = 2;
	fx->h.ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
	fx->h.ovmf_code_sb = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
	fx->paths.qmp = "/run/vmrun/t.qmp";
	fx->paths.battery = "/run/vmrun/t-battery.aml";
	fx->paths.swtpm_sock = "/run/vmrun/t-swtpm.sock";
	fx->paths.vars = "/var/lib/vmrun/t/OVMF_VARS.fd";
	return 0;
}

/* VMRUN_ARGV_DUMP=FILE: append every argv built (one argument a line,
 * a blank line after each) for tests/t_argv_lint.sh to check against the
 * installed QEMU. */
static void dump_to_file(void)
{
	const char *path = getenv("VMRUN_ARGV_DUMP");
	FILE *f;

	if (!path || !fx->argv.n)
		return;
	f = fopen(path, "a");
	assert_non_null(f);
	for (size_t i = 0; i < fx->argv.n; i++)
		fprintf(f, "%s\n", fx->argv.v[i]);
	fputs("\n", f);
	fclose(f);
}

static int teardown(void **state)
{
	(void)state;
	dump_to_file();
	strv_free(&fx->argv);
	strv_free(&fx->origin);
	strv_free(&fx->warnings);
	free(fx);
	hostfs_set_root("/");
	return 0;
}

static void dump(void)
{
	for (size_t i = 0; i < fx->argv.n; i++)
		print_message("#   argv[%zu] %s\n", i, fx->argv.v[i]);
}

static void build(void)
{
	struct qemu_placement pl;
	int r;

	placement_plan(&fx->p, &fx->h, &pl);
	pl.sound_dir = sound_dir(&fx->p); /* as planner_build() does */
	r = qemu_argv_build(&fx->p, &fx->h, &fx->paths, &pl, &fx->argv,
			    &fx->origin, &fx->warnings, &fx->err);
	placement_free(&pl);
	if (r)
		print_message("# error: %s\n", fx->err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(fx->origin.n, fx->argv.n);
}

static void build_fails(const char *msg)
{
	struct qemu_placement pl;
	int r;

	placement_plan(&fx->p, &fx->h, &pl);
	r = qemu_argv_build(&fx->p, &fx->h, &fx->paths, &pl, &fx->argv,
			    &fx->origin, &fx->warnings, &fx->err);
	placement_free(&pl);
	assert_true(r < 0);
	assert_string_equal(fx->err.msg, msg);
}

/* Index of the value after opt equal to val, or -1. */
static int find(const char *opt, const char *val)
{
	for (size_t i = 0; i + 1 < fx->argv.n; i++)
		if (!strcmp(fx->argv.v[i], opt) &&
		    !strcmp(fx->argv.v[i + 1], val))
			return (int)i + 1;
	return -1;
}

/* Index of the value after opt that starts with prefix, or -1. */
static int find_prefix(const char *opt, const char *prefix)
{
	for (size_t i = 0; i + 1 < fx->argv.n; i++)
		if (!strcmp(fx->argv.v[i], opt) &&
		    !strncmp(fx->argv.v[i + 1], prefix, strlen(prefix)))
			return (int)i + 1;
	return -1;
}

static void expect(const char *opt, const char *val)
{
	if (find(opt, val) < 0) {
		dump();
		fail_msg("missing: %s %s", opt, val);
	}
}

static void expect_not(const char *opt, const char *val)
{
	if (find(opt, val) >= 0)
		fail_msg("unexpected: %s %s", opt, val);
}

/* How many times an option appears (with any value). */
static int count(const char *opt)
{
	int n = 0;

	for (size_t i = 0; i < fx->argv.n; i++)
		n += !strcmp(fx->argv.v[i], opt);
	return n;
}

static void expect_warning(const char *w)
{
	for (size_t i = 0; i < fx->warnings.n; i++)
		if (!strcmp(fx->warnings.v[i], w))
			return;
	for (size_t i = 0; i < fx->warnings.n; i++)
		print_message("#   warning: %s\n", fx->warnings.v[i]);
	fail_msg("missing warning: %s", w);
}

static void test_minimal(void **state)
{
	static const char *const want[] = {
		"qemu-system-x86_64",
		"-name",
		"guest=t,debug-threads=on",
		"-S",
		"-msg",
		"timestamp=on",
		"-blockdev",
		"{\"driver\":\"file\",\"filename\":\"/usr/share/OVMF/"
		"OVMF_CODE_4M.fd\",\"node-name\":\"pflash0-storage\","
		"\"read-only\":true}",
		"-blockdev",
		"{\"node-name\":\"pflash0-format\",\"read-only\":true,"
		"\"driver\":\"raw\",\"file\":\"pflash0-storage\"}",
		"-blockdev",
		"{\"driver\":\"file\",\"filename\":\"/var/lib/vmrun/t/"
		"OVMF_VARS.fd\",\"node-name\":\"pflash1-storage\","
		"\"read-only\":false}",
		"-blockdev",
		"{\"node-name\":\"pflash1-format\",\"read-only\":false,"
		"\"driver\":\"raw\",\"file\":\"pflash1-storage\"}",
		"-machine",
		"q35,usb=off,vmport=off,dump-guest-core=off,memory-backend="
		"pc.ram,pflash0=pflash0-format,pflash1=pflash1-format,hpet=off",
		"-accel",
		"kvm",
		"-cpu",
		"host",
		"-m",
		"size=1048576k",
		"-object",
		"{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\","
		"\"size\":1073741824}",
		"-smp",
		"2,sockets=1,dies=1,cores=2,threads=1",
		"-no-user-config",
		"-nodefaults",
		"-chardev",
		"socket,id=qmp,path=/run/vmrun/t.qmp,server=on,"
		"wait=off",
		"-mon",
		"chardev=qmp,mode=control",
		"-rtc",
		"base=localtime,driftfix=slew",
		"-global",
		"kvm-pit.lost_tick_policy=delay",
		"-no-shutdown",
		"-global",
		"ICH9-LPC.disable_s3=1",
		"-global",
		"ICH9-LPC.disable_s4=1",
		"-display",
		"none",
	};

	(void)state;
	build();
	if (fx->argv.n != ARRAY_SIZE(want))
		dump();
	assert_int_equal(fx->argv.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(fx->argv.v[i], want[i]);
	assert_int_equal(fx->warnings.n, 0);
}

static void test_binary_uuid_args(void **state)
{
	(void)state;
	fx->h.qemu.path = "/opt/qemu/bin/qemu-system-x86_64";
	fx->p.vm.has_uuid = true;
	strcpy(fx->p.vm.uuid, "3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f8");
	strv_add(&fx->p.qemu_args, "-device");
	strv_add(&fx->p.qemu_args, "usb-tablet,bus=usb.0");
	build();
	strv_free(&fx->p.qemu_args);
	assert_string_equal(fx->argv.v[0], "/opt/qemu/bin/qemu-system-x86_64");
	expect("-uuid", "3f1a2b4c-5d6e-4f70-8192-a3b4c5d6e7f8");
	/* [qemu] arg comes last, as given. */
	assert_string_equal(fx->argv.v[fx->argv.n - 2], "-device");
	assert_string_equal(fx->argv.v[fx->argv.n - 1], "usb-tablet,bus=usb.0");
}

static void test_profile_qemu_binary(void **state)
{
	(void)state;
	fx->p.vm.qemu = "/usr/local/bin/qemu-system-x86_64";
	build();
	assert_string_equal(fx->argv.v[0], "/usr/local/bin/qemu-system-x86_64");
}

static void test_name_injection(void **state)
{
	(void)state;
	strcpy(fx->p.vm.name, "a,b=c,,");
	build();
	expect("-name", "guest=a,,b=c,,,,,debug-threads=on");
}

static void test_old_qemu(void **state)
{
	(void)state;
	fx->h.qemu.major = 6;
	fx->h.qemu.minor = 1;
	build_fails("QEMU 6.1 is too old: vmrun needs QEMU 7.0 or later (JSON "
		    "-device and -netdev)");
}

static void test_firmware_missing(void **state)
{
	(void)state;
	fx->h.ovmf_code = NULL;
	build_fails("no OVMF firmware found: install the ovmf package or set "
		    "[firmware] code");
}

static void test_firmware_profile_code(void **state)
{
	(void)state;
	fx->h.ovmf_code = NULL;
	fx->p.firmware.code = "/srv/fw/CODE,readonly=off.fd";
	build();
	expect("-blockdev",
	       "{\"driver\":\"file\",\"filename\":\"/srv/fw/CODE,"
	       "readonly=off.fd\",\"node-name\":\"pflash0-storage\","
	       "\"read-only\":true}");
}

static void test_firmware_seabios(void **state)
{
	(void)state;
	fx->p.firmware.type = FW_SEABIOS;
	fx->h.ovmf_code = NULL;
	build();
	assert_int_equal(count("-blockdev"), 0);
	expect("-machine", "q35,usb=off,vmport=off,dump-guest-core=off,"
			   "memory-backend=pc.ram,hpet=off");
}

static void test_firmware_secure_boot(void **state)
{
	(void)state;
	fx->p.firmware.secure_boot = true;
	fx->p.vm.machine = "pc-q35-7.1";
	build();
	expect("-blockdev", "{\"driver\":\"file\",\"filename\":\"/usr/share/"
			    "OVMF/OVMF_CODE_4M.secboot.fd\",\"node-name\":"
			    "\"pflash0-storage\",\"read-only\":true}");
	expect("-machine", "pc-q35-7.1,usb=off,vmport=off,smm=on,"
			   "dump-guest-core=off,memory-backend=pc.ram,"
			   "pflash0=pflash0-format,pflash1=pflash1-format,"
			   "hpet=off");
	expect("-global", "driver=cfi.pflash01,property=secure,value=on");
}

static void test_machine_injection(void **state)
{
	(void)state;
	fx->p.vm.machine = "q35,accel=tcg";
	build_fails("[vm] machine 'q35,accel=tcg' contains ',', which QEMU's "
		    "-cpu option cannot carry");
}

static void test_cpu_topology_hide(void **state)
{
	(void)state;
	fx->p.cpu.sockets = 2;
	fx->p.cpu.cores = 4;
	fx->p.cpu.threads = 2;
	fx->p.cpu.vcpus = 16;
	fx->p.cpu.hide_hypervisor = true;
	fx->h.cpu_amd = true;
	fx->hv[0] = (struct hv_feature){"relaxed", NULL};
	fx->hv[1] = (struct hv_feature){"spinlocks", "8191"};
	fx->hv[2] = (struct hv_feature){"vpindex", NULL};
	fx->hv[3] = (struct hv_feature){"synic", NULL};
	fx->p.hyperv.features = fx->hv;
	fx->p.hyperv.nfeatures = 4;
	fx->p.hyperv.vendor_id = "GenuineIntel";
	build();
	expect("-cpu", "host,topoext=on,hv-relaxed=on,hv-spinlocks=8191,"
		       "hv-vpindex=on,hv-synic=on,hv-vendor-id=GenuineIntel,"
		       "kvm=off,hypervisor=off");
	expect("-smp", "16,sockets=2,dies=1,cores=4,threads=2");
	assert_int_equal(fx->warnings.n, 0);
}

static void test_cpu_no_topoext(void **state)
{
	(void)state;
	fx->h.cpu_amd = true; /* but no SMT in the guest */
	fx->p.cpu.model = "EPYC";
	build();
	expect("-cpu", "EPYC");
}

static void test_cpu_tcg(void **state)
{
	static const char *const names[] = {
		"relaxed",  "vapic", "vpindex", "synic", "stimer",     "ipi",
		"tlbflush", "evmcs", "time",	"reset", "frequencies"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		fx->hv[i] = (struct hv_feature){(char *)names[i], NULL};
	fx->p.hyperv.features = fx->hv;
	fx->p.hyperv.nfeatures = ARRAY_SIZE(names);
	fx->p.hyperv.vendor_id = "AuthenticAMD";
	fx->p.vm.accel = ACCEL_TCG;
	fx->p.cpu.threads = 2;
	fx->p.cpu.hide_hypervisor = true;
	fx->h.cpu_amd = true;
	build();
	expect("-accel", "tcg");
	expect("-cpu", "max,hv-relaxed=on,hv-vapic=on,hv-time=on,hv-reset=on,"
		       "hv-frequencies=on,hv-vendor-id=AuthenticAMD,kvm=off,"
		       "hypervisor=off");
	expect_warning(
		"accel = tcg cannot run [cpu] model = host: using 'max'");
	expect_warning("accel = tcg: Hyper-V enlightenments vpindex,synic,"
		       "stimer,ipi,tlbflush,evmcs left out (TCG cannot "
		       "provide them)");
	/* No PIT tick policy: kvm-pit exists only under KVM. */
	expect_not("-global", "kvm-pit.lost_tick_policy=delay");
}

/* A KVM that does not offer vpindex (KVM_GET_SUPPORTED_HV_CPUID): it goes,
 * and so do synic, stimer and tlbflush, which need it; vapic, which it
 * offers, stays. With unsupported = refuse, the start is refused. */
static void test_cpu_kvm_lacks(void **state)
{
	static const char *const names[] = {"relaxed", "vapic",	   "vpindex",
					    "synic",   "stimer",   "tlbflush",
					    "time",    "spinlocks"};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		fx->hv[i] = (struct hv_feature){(char *)names[i], NULL};
	fx->hv[7].value = "8191";
	fx->p.hyperv.features = fx->hv;
	fx->p.hyperv.nfeatures = ARRAY_SIZE(names);
	fx->h.kvm.hv_known = true;
	/* everything but vpindex (eax bit 6) */
	fx->h.kvm.hv_features_eax = 0x3fff & ~(1u << 6);
	fx->h.kvm.hv_features_edx = 0xffffffff;
	fx->h.kvm.hv_recommend_eax = 0xffffffff;
	build();
	expect("-cpu", "host,hv-relaxed=on,hv-vapic=on,hv-time=on,"
		       "hv-spinlocks=8191");
	expect_warning("this host's KVM does not offer the Hyper-V "
		       "enlightenments vpindex: left out (and synic,stimer,"
		       "tlbflush, which need them)");
	strv_free(&fx->argv);
	strv_free(&fx->origin);
	strv_free(&fx->warnings);
	fx->p.hyperv.unsupported = HV_UNSUPPORTED_REFUSE;
	build_fails("the profile: [hyperv] enlightenments asks for vpindex, "
		    "which this host's KVM does not offer "
		    "(KVM_GET_SUPPORTED_HV_CPUID): QEMU would refuse to start "
		    "or abort. Remove them (and synic,stimer,tlbflush, which "
		    "need them), or set [hyperv] unsupported = drop to leave "
		    "them out with a warning");
}

static void test_cpu_injection(void **state)
{
	(void)state;
	fx->p.cpu.model = "host,kvm=on";
	build_fails("[cpu] model 'host,kvm=on' contains ',', which QEMU's -cpu "
		    "option cannot carry");
}

static void test_hv_vendor_injection(void **state)
{
	(void)state;
	fx->p.hyperv.vendor_id = "Gen,kvm=on";
	build_fails("[hyperv] vendor-id 'Gen,kvm=on' contains ',', which "
		    "QEMU's -cpu option cannot carry");
}

static void test_hv_value_injection(void **state)
{
	(void)state;
	fx->hv[0] = (struct hv_feature){"spinlocks", "1,kvm=on"};
	fx->p.hyperv.features = fx->hv;
	fx->p.hyperv.nfeatures = 1;
	build_fails("[hyperv] enlightenment value '1,kvm=on' contains ',', "
		    "which QEMU's -cpu option cannot carry");
}

static void test_memory_hugepages_file(void **state)
{
	(void)state;
	fx->p.vm.memory = 4 * GIB;
	fx->p.memory.hugepages = HUGEPAGES_1G;
	fx->paths.hugepage_dir = "/dev/hugepages1G/vmrun-t";
	build();
	expect("-m", "size=4194304k");
	expect("-object",
	       "{\"qom-type\":\"memory-backend-file\",\"id\":"
	       "\"pc.ram\",\"mem-path\":\"/dev/hugepages1G/vmrun-t\","
	       "\"prealloc\":true,\"prealloc-threads\":1,\"size\":4294967296}");
}

static void test_memory_hugepages_memfd(void **state)
{
	(void)state;
	fx->p.memory.hugepages = HUGEPAGES_2M;
	build();
	expect("-object", "{\"qom-type\":\"memory-backend-memfd\",\"id\":"
			  "\"pc.ram\",\"hugetlb\":true,\"hugetlbsize\":2097152,"
			  "\"prealloc\":true,\"prealloc-threads\":1,"
			  "\"size\":1073741824}");
}

static void test_memory_not_multiple(void **state)
{
	(void)state;
	fx->p.vm.memory = 3 * GIB + 512 * MIB;
	fx->p.memory.hugepages = HUGEPAGES_1G;
	build_fails("[vm] memory = 3758096384 bytes is not a multiple of the "
		    "1G hugepage size: round it");
}

static void two_nodes(void)
{
	fx->nodes[0].id = 0;
	fx->nodes[1].id = 1;
	fx->h.nodes = fx->nodes;
	fx->h.nnodes = 2;
}

static void add_pci(size_t i, const char *name, const char *host)
{
	struct profile_pci *d = &fx->ppci[i];

	memset(d, 0, sizeof(*d));
	d->name = (char *)name;
	assert_int_equal(pci_addr_parse(host, &d->host), 0);
	d->rombar = true;
	d->vendor_id = d->device_id = d->sub_vendor_id = d->sub_device_id = -1;
	fx->p.pci = fx->ppci;
	fx->p.npci = i + 1;
}

static void test_memory_numa_auto(void **state)
{
	(void)state;
	two_nodes();
	add_pci(0, "gpu", "0000:41:00.0");
	fx->pci[0].addr = fx->ppci[0].host;
	fx->pci[0].numa_node = 1;
	fx->h.pci = fx->pci;
	fx->h.npci = 1;
	build();
	expect("-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":"
			  "\"pc.ram\",\"size\":1073741824,\"host-nodes\":[1],"
			  "\"policy\":\"bind\"}");
}

static void test_memory_numa_single_node(void **state)
{
	(void)state;
	fx->h.nodes = fx->nodes;
	fx->h.nnodes = 1;
	fx->p.memory.numa_node = 0;
	build();
	expect("-object", "{\"qom-type\":\"memory-backend-ram\",\"id\":"
			  "\"pc.ram\",\"size\":1073741824}");
}

static void test_memory_numa_bad(void **state)
{
	(void)state;
	two_nodes();
	fx->p.memory.numa_node = 3;
	build_fails("the profile: [memory] numa-node 3: the host has no such "
		    "NUMA node (it "
		    "has 2); pick one of its nodes or auto");
}

static struct cpulist cpus(const char *list)
{
	struct cpulist cl = {0};
	const char *why;

	assert_int_equal(cpulist_parse(list, &cl, &why), 0);
	return cl;
}

/* Preallocation runs on the CPUs idle while QEMU starts: the vCPU and
 * emulator CPUs, in a thread-context pinned to them. */
static void test_prealloc_follows_pinning(void **state)
{
	(void)state;
	fx->h.ncpus = 16;
	fx->p.memory.hugepages = HUGEPAGES_2M;
	fx->p.cpu.vcpu_pin = cpus("4-7");
	fx->p.cpu.emulator_pin = cpus("1");
	build();
	expect("-object", "{\"qom-type\":\"thread-context\",\"id\":"
			  "\"tc-pc.ram\",\"cpu-affinity\":[1,4,5,6,7]}");
	expect("-object", "{\"qom-type\":\"memory-backend-memfd\",\"id\":"
			  "\"pc.ram\",\"hugetlb\":true,\"hugetlbsize\":2097152,"
			  "\"prealloc\":true,\"prealloc-threads\":5,"
			  "\"size\":1073741824,\"prealloc-context\":"
			  "\"tc-pc.ram\"}");
	cpulist_free(&fx->p.cpu.vcpu_pin);
	cpulist_free(&fx->p.cpu.emulator_pin);
}

/* Unpinned on a two-node host: every CPU of the memory's node, and the
 * thread-context by node; [memory] prealloc-threads caps the count. */
static void test_prealloc_node(void **state)
{
	(void)state;
	two_nodes();
	fx->nodes[0].cpus = cpus("0-7");
	fx->nodes[1].cpus = cpus("8-15");
	fx->h.ncpus = 16;
	fx->p.memory.hugepages = HUGEPAGES_2M;
	fx->p.memory.numa_node = 1;
	build();
	expect("-object", "{\"qom-type\":\"thread-context\",\"id\":"
			  "\"tc-pc.ram\",\"node-affinity\":[1]}");
	assert_non_null(strstr(
		fx->argv.v[find_prefix(
			"-object", "{\"qom-type\":\"memory-backend-memfd\"")],
		"\"prealloc-threads\":8,"));
	strv_free(&fx->argv);
	fx->p.memory.prealloc_threads = 3;
	build();
	assert_non_null(strstr(
		fx->argv.v[find_prefix(
			"-object", "{\"qom-type\":\"memory-backend-memfd\"")],
		"\"prealloc-threads\":3,"));
	cpulist_free(&fx->nodes[0].cpus);
	cpulist_free(&fx->nodes[1].cpus);
}

/* One node, no pinning: nothing to steer; QEMU before 7.2: no
 * thread-context object at all; plain RAM: no preallocation. */
static void test_prealloc_no_context(void **state)
{
	(void)state;
	fx->h.ncpus = 4;
	fx->p.memory.hugepages = HUGEPAGES_2M;
	build();
	assert_int_equal(
		find_prefix("-object", "{\"qom-type\":\"thread-context\""), -1);
	assert_non_null(strstr(
		fx->argv.v[find_prefix(
			"-object", "{\"qom-type\":\"memory-backend-memfd\"")],
		"\"prealloc-threads\":4,"));
	strv_free(&fx->argv);
	fx->h.qemu.minor = 1;
	fx->p.cpu.vcpu_pin = cpus("2-3");
	build();
	assert_int_equal(
		find_prefix("-object", "{\"qom-type\":\"thread-context\""), -1);
	assert_null(strstr(
		fx->argv.v[find_prefix(
			"-object", "{\"qom-type\":\"memory-backend-memfd\"")],
		"prealloc-context"));
	strv_free(&fx->argv);
	fx->p.memory.hugepages = HUGEPAGES_NONE;
	build();
	assert_null(strstr(
		fx->argv.v[find_prefix("-object",
				       "{\"qom-type\":\"memory-backend-ram\"")],
		"prealloc"));
	cpulist_free(&fx->p.cpu.vcpu_pin);
}

static void test_balloon(void **state)
{
	(void)state;
	fx->p.memory.balloon = true;
	build();
	expect("-device", "{\"driver\":\"pcie-root-port\",\"port\":16,"
			  "\"chassis\":1,\"id\":\"pci.1\",\"bus\":\"pcie.0\","
			  "\"addr\":\"0x2\"}");
	expect("-device", "{\"driver\":\"virtio-balloon-pci\",\"id\":"
			  "\"balloon0\",\"bus\":\"pci.1\",\"addr\":\"0x0\"}");
}

static void test_smbios_custom(void **state)
{
	struct profile_smbios *s = &fx->p.smbios;

	(void)state;
	s->mode = SMBIOS_CUSTOM;
	s->bios_vendor = "American Megatrends, Inc.";
	s->system_manufacturer = "ASUS,type=1";
	s->system_serial = "S,,N";
	s->board_product = "TUF B550M";
	s->chassis_manufacturer = "x";
	build();
	expect("-smbios", "type=0,vendor=American Megatrends,, Inc.");
	expect("-smbios", "type=1,manufacturer=ASUS,,type=1,serial=S,,,,N");
	expect("-smbios", "type=2,product=TUF B550M");
	expect("-smbios", "type=3,manufacturer=x");
	assert_int_equal(count("-smbios"), 4);
}

static void test_smbios_newline(void **state)
{
	(void)state;
	fx->p.smbios.mode = SMBIOS_CUSTOM;
	fx->p.smbios.board_serial = "A\nB";
	build_fails("[smbios] type 2 serial contains a control character "
		    "(0x0a); QEMU options cannot carry it: remove it");
}

static void test_smbios_host(void **state)
{
	struct host *h = &fx->h;

	(void)state;
	fx->p.smbios.mode = SMBIOS_HOST;
	fx->p.smbios.system_serial = "ignored in host mode";
	h->dmi_bios_vendor = "American Megatrends Inc.";
	h->dmi_bios_version = "3405";
	h->dmi_bios_date = "02/15/2023";
	h->dmi_sys_vendor = "ASUSTeK COMPUTER INC.";
	h->dmi_product_name = "System Product Name";
	h->dmi_product_serial = "System Serial Number";
	h->dmi_product_family = "To be filled by O.E.M.";
	h->dmi_board_vendor = "ASUSTeK COMPUTER INC.";
	h->dmi_board_name = "TUF GAMING B550M-PLUS (WI-FI)";
	h->dmi_chassis_vendor = "Default string";
	h->dmi_chassis_version = "";
	build();
	expect("-smbios", "type=0,vendor=American Megatrends Inc.,version=3405,"
			  "date=02/15/2023");
	expect("-smbios", "type=1,manufacturer=ASUSTeK COMPUTER INC.,product="
			  "System Product Name,serial=System Serial Number,"
			  "family=To be filled by O.E.M.");
	expect("-smbios", "type=2,manufacturer=ASUSTeK COMPUTER INC.,product="
			  "TUF GAMING B550M-PLUS (WI-FI)");
	expect("-smbios", "type=3,manufacturer=Default string");
}

static void test_clock(void **state)
{
	(void)state;
	fx->p.clock.base = CLOCK_UTC;
	fx->p.clock.hpet = true;
	build();
	expect("-rtc", "base=utc,driftfix=slew");
	expect("-machine", "q35,usb=off,vmport=off,dump-guest-core=off,"
			   "memory-backend=pc.ram,pflash0=pflash0-format,"
			   "pflash1=pflash1-format,hpet=on");
}

/* A desktop GPU and its HDMI audio, placed by vmrun. */
static void test_pci_gpu_pair(void **state)
{
	(void)state;
	add_pci(0, "gpu", "0000:08:00.0");
	add_pci(1, "nic", "0000:07:00.0");
	add_pci(2, "gpu-audio", "08:00.1");
	fx->ppci[0].romfile = "/srv/GP106,x-vga=on.rom";
	fx->ppci[0].x_vga = true;
	fx->ppci[0].boot = 2;
	fx->ppci[1].rombar = false;
	fx->ppci[1].vendor_id = 0x8086;
	fx->ppci[1].device_id = 0x10d3;
	fx->ppci[1].sub_vendor_id = 0x17aa;
	fx->ppci[1].sub_device_id = 0x3a47;
	build();
	expect("-device", "{\"driver\":\"pcie-root-port\",\"port\":16,"
			  "\"chassis\":1,\"id\":\"pci.1\",\"bus\":\"pcie.0\","
			  "\"multifunction\":true,\"addr\":\"0x2\"}");
	expect("-device", "{\"driver\":\"pcie-root-port\",\"port\":17,"
			  "\"chassis\":2,\"id\":\"pci.2\",\"bus\":\"pcie.0\","
			  "\"addr\":\"0x2.0x1\"}");
	assert_int_equal(count("-device"), 5);
	expect("-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:08:00.0\","
			  "\"id\":\"hostdev-gpu\",\"bus\":\"pci.1\","
			  "\"multifunction\":true,\"addr\":\"0x0\",\"romfile\":"
			  "\"/srv/GP106,x-vga=on.rom\",\"x-vga\":true,"
			  "\"bootindex\":2}");
	expect("-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:07:00.0\","
			  "\"id\":\"hostdev-nic\",\"bus\":\"pci.2\",\"addr\":"
			  "\"0x0\",\"rombar\":0,\"x-pci-vendor-id\":32902,"
			  "\"x-pci-device-id\":4307,\"x-pci-sub-vendor-id\":"
			  "6058,\"x-pci-sub-device-id\":14919}");
	expect("-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:08:00.1\","
			  "\"id\":\"hostdev-gpu-audio\",\"bus\":\"pci.1\","
			  "\"addr\":\"0x0.0x1\"}");
	expect("-boot", "strict=on");
}

/* A laptop GPU must be 01:00.0; the next device skips that port. */
static void test_pci_guest_address(void **state)
{
	(void)state;
	fx->p.display.video = VIDEO_STD;
	add_pci(0, "wifi", "0000:03:00.0");
	add_pci(1, "dgpu", "0000:01:00.0");
	fx->ppci[1].has_guest_address = true;
	pci_addr_parse("01:00.0", &fx->ppci[1].guest_address);
	add_pci(2, "dgpu-audio", "0000:01:00.1");
	fx->ppci[2].has_guest_address = true;
	pci_addr_parse("01:00.1", &fx->ppci[2].guest_address);
	build();
	expect("-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.0\","
			  "\"id\":\"hostdev-dgpu\",\"bus\":\"pci.1\","
			  "\"multifunction\":true,\"addr\":\"0x0\"}");
	expect("-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.1\","
			  "\"id\":\"hostdev-dgpu-audio\",\"bus\":\"pci.1\","
			  "\"addr\":\"0x0.0x1\"}");
	expect("-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:03:00.0\","
			  "\"id\":\"hostdev-wifi\",\"bus\":\"pci.2\",\"addr\":"
			  "\"0x0\"}");
	expect("-device", "{\"driver\":\"VGA\",\"id\":\"video0\",\"bus\":"
			  "\"pcie.0\",\"addr\":\"0x1\"}");
}

static void test_pci_guest_bus0(void **state)
{
	(void)state;
	add_pci(0, "igd", "0000:00:02.0");
	fx->ppci[0].has_guest_address = true;
	pci_addr_parse("00:10.0", &fx->ppci[0].guest_address);
	build();
	expect("-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:00:02.0\","
			  "\"id\":\"hostdev-igd\",\"bus\":\"pcie.0\",\"addr\":"
			  "\"0x10\"}");
	assert_int_equal(count("-device"), 1);
}

static void test_pci_errors(void **state)
{
	(void)state;
	add_pci(0, "a", "0000:01:00.0");
	fx->ppci[0].has_guest_address = true;
	pci_addr_parse("01:02.0", &fx->ppci[0].guest_address);
	build_fails(
		"[pci.a] guest-address 01:02.0: bus 01 is a PCIe root port, "
		"whose only slot is 00; use 01:00.0");

	pci_addr_parse("00:02.0", &fx->ppci[0].guest_address);
	add_pci(1, "b", "0000:02:00.0");
	build_fails("[pci.a] guest-address 00:02.0 is taken by vmrun's PCIe "
		    "root ports: use a free slot of bus 00 or a root port of "
		    "its own (01:00.0)");

	pci_addr_parse("01:00.1", &fx->ppci[0].guest_address);
	build_fails("[pci.a] sits at guest address 01:00.1 but no device is at "
		    "function 0 of that slot (01:00.0); a guest finds no other "
		    "function without it");

	fx->ppci[1].has_guest_address = true;
	pci_addr_parse("01:00.1", &fx->ppci[1].guest_address);
	build_fails("[pci.a] and [pci.b] both sit at guest address 01:00.1: "
		    "give one another guest-address");
}

static void add_disk(size_t i, const char *name, const char *file)
{
	struct profile_disk *d = &fx->disk[i];

	memset(d, 0, sizeof(*d));
	d->name = (char *)name;
	d->file = (char *)file;
	d->format = DISK_FORMAT_RAW;
	d->discard = true;
	fx->p.disk = fx->disk;
	fx->p.ndisk = i + 1;
}

static void test_disk_virtio_injection(void **state)
{
	(void)state;
	add_disk(0, "sys",
		 "/srv/img/a.raw,readonly=off,file.filename=/etc/"
		 "shadow");
	fx->disk[0].boot = 1;
	build();
	expect("-blockdev",
	       "{\"driver\":\"file\",\"filename\":\"/srv/img/a."
	       "raw,readonly=off,file.filename=/etc/shadow\","
	       "\"node-name\":\"disk0-storage\",\"auto-read-only\":"
	       "true,\"discard\":\"unmap\",\"cache\":{\"direct\":"
	       "true,\"no-flush\":false},\"aio\":\"io_uring\"}");
	expect("-blockdev", "{\"node-name\":\"disk0-format\",\"read-only\":"
			    "false,\"discard\":\"unmap\",\"cache\":{\"direct\":"
			    "true,\"no-flush\":false},\"driver\":\"raw\","
			    "\"file\":\"disk0-storage\"}");
	expect("-device", "{\"driver\":\"virtio-blk-pci\",\"bus\":\"pci.1\","
			  "\"addr\":\"0x0\",\"drive\":\"disk0-format\",\"id\":"
			  "\"disk-sys\",\"bootindex\":1,\"write-cache\":"
			  "\"on\"}");
}

static void test_disk_cache_modes(void **state)
{
	(void)state;
	add_disk(0, "a", "/srv/a.qcow2");
	fx->disk[0].format = DISK_FORMAT_QCOW2;
	fx->disk[0].cache = CACHE_UNSAFE;
	fx->disk[0].aio = AIO_THREADS;
	fx->disk[0].discard = false;
	fx->disk[0].readonly = true;
	build();
	expect("-blockdev",
	       "{\"driver\":\"file\",\"filename\":\"/srv/a.qcow2\","
	       "\"node-name\":\"disk0-storage\",\"auto-read-only\":"
	       "true,\"discard\":\"ignore\",\"cache\":{\"direct\":"
	       "false,\"no-flush\":true},\"aio\":\"threads\"}");
	expect("-blockdev", "{\"node-name\":\"disk0-format\",\"read-only\":"
			    "true,\"discard\":\"ignore\",\"cache\":{\"direct\":"
			    "false,\"no-flush\":true},\"driver\":\"qcow2\","
			    "\"file\":\"disk0-storage\"}");
}

/* BLOCK_IO_ERROR names the node or the device; either leads back to the
 * [disk.*] section, and nothing else does. */
static void test_disk_of_node(void **state)
{
	(void)state;
	add_disk(0, "a", "/srv/a.raw");
	add_disk(1, "ab", "/srv/ab.raw");
	assert_int_equal(qemu_disk_of_node(&fx->p, "disk1-format", NULL), 1);
	assert_int_equal(qemu_disk_of_node(&fx->p, "disk0-storage", ""), 0);
	assert_int_equal(qemu_disk_of_node(&fx->p, "disk2-format", NULL), -1);
	assert_int_equal(qemu_disk_of_node(&fx->p, "disk1-format-x", NULL), -1);
	assert_int_equal(qemu_disk_of_node(&fx->p, "", "disk-ab"), 1);
	assert_int_equal(
		qemu_disk_of_node(&fx->p, NULL,
				  "/machine/peripheral/disk-a/virtio-backend"),
		0);
	assert_int_equal(qemu_disk_of_node(&fx->p, NULL, "/x/disk-abc/y"), -1);
	assert_int_equal(qemu_disk_of_node(&fx->p, NULL, NULL), -1);
}

static void test_disk_interfaces(void **state)
{
	(void)state;
	add_disk(0, "iso", "/srv/win.iso");
	fx->disk[0].iface = DISK_SATA;
	fx->disk[0].media = MEDIA_CDROM;
	fx->disk[0].readonly = true;
	add_disk(1, "data", "/srv/data.raw");
	fx->disk[1].iface = DISK_SATA;
	add_disk(2, "s0", "/srv/s0.raw");
	fx->disk[2].iface = DISK_SCSI;
	add_disk(3, "s1", "/srv/s1.iso");
	fx->disk[3].iface = DISK_SCSI;
	fx->disk[3].media = MEDIA_CDROM;
	add_disk(4, "a-very-long-nvme-disk-name", "/srv/n.raw");
	fx->disk[4].iface = DISK_NVME;
	fx->disk[4].aio = AIO_NATIVE;
	build();
	expect("-device", "{\"driver\":\"ide-cd\",\"bus\":\"ide.0\",\"drive\":"
			  "\"disk0-format\",\"id\":\"disk-iso\"}");
	expect("-device", "{\"driver\":\"ide-hd\",\"bus\":\"ide.1\",\"drive\":"
			  "\"disk1-format\",\"id\":\"disk-data\","
			  "\"write-cache\":\"on\"}");
	expect("-device", "{\"driver\":\"virtio-scsi-pci\",\"id\":\"scsi0\","
			  "\"bus\":\"pci.2\",\"addr\":\"0x0\"}");
	expect("-device", "{\"driver\":\"scsi-hd\",\"bus\":\"scsi0.0\","
			  "\"scsi-id\":0,\"lun\":0,\"drive\":\"disk2-format\","
			  "\"id\":\"disk-s0\",\"write-cache\":\"on\"}");
	expect("-device", "{\"driver\":\"scsi-cd\",\"bus\":\"scsi0.0\","
			  "\"scsi-id\":0,\"lun\":1,\"drive\":\"disk3-format\","
			  "\"id\":\"disk-s1\"}");
	expect("-device", "{\"driver\":\"nvme\",\"bus\":\"pci.1\",\"addr\":"
			  "\"0x0\",\"serial\":\"a-very-long-nvme-dis\","
			  "\"drive\":\"disk4-format\",\"id\":"
			  "\"disk-a-very-long-nvme-disk-name\",\"write-cache\":"
			  "\"on\"}");
}

static void test_disk_errors(void **state)
{
	(void)state;
	add_disk(0, "cd", "/srv/x.iso");
	fx->disk[0].media = MEDIA_CDROM;
	build_fails("[disk.cd] media = cdrom needs interface = sata or scsi");
	fx->disk[0].media = MEDIA_DISK;
	fx->disk[0].aio = AIO_NATIVE;
	fx->disk[0].cache = CACHE_WRITEBACK;
	build_fails(
		"[disk.cd] aio = native needs cache = none (QEMU opens the "
		"file with O_DIRECT for it); use aio = io_uring or threads");
	for (size_t i = 0; i < 7; i++) {
		add_disk(i, i == 6 ? "seventh" : "s", "/srv/s.raw");
		fx->disk[i].iface = DISK_SATA;
	}
	build_fails("[disk.seventh] is the 7th sata disk but q35's SATA "
		    "controller has 6 ports: use interface = scsi or virtio");
}

static void test_disk_format_auto(void **state)
{
	char qcow[] = "/tmp/vmrun-qcow.XXXXXX";
	int fd = mkstemp(qcow);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "QFI\xfb\0\0\0\3", 8), 8);
	close(fd);
	add_disk(0, "q", qcow);
	fx->disk[0].format = DISK_FORMAT_AUTO;
	add_disk(1, "missing", "/nonexistent/vmrun.img");
	fx->disk[1].format = DISK_FORMAT_AUTO;
	build();
	unlink(qcow);
	expect("-blockdev", "{\"node-name\":\"disk0-format\",\"read-only\":"
			    "false,\"discard\":\"unmap\",\"cache\":{\"direct\":"
			    "true,\"no-flush\":false},\"driver\":\"qcow2\","
			    "\"file\":\"disk0-storage\"}");
	expect("-blockdev", "{\"node-name\":\"disk1-format\",\"read-only\":"
			    "false,\"discard\":\"unmap\",\"cache\":{\"direct\":"
			    "true,\"no-flush\":false},\"driver\":\"raw\","
			    "\"file\":\"disk1-storage\"}");
	expect_warning("[disk.missing] cannot read /nonexistent/vmrun.img to "
		       "find its format: assuming raw (set format to be sure)");
}

static void add_net(size_t i, const char *name, enum net_mode mode)
{
	struct profile_net *n = &fx->net[i];

	memset(n, 0, sizeof(*n));
	n->name = (char *)name;
	n->mode = mode;
	snprintf(n->mac, sizeof(n->mac), "52:54:00:00:00:%02zx", i);
	fx->p.net = fx->net;
	fx->p.nnet = i + 1;
}

static void test_nets(void **state)
{
	(void)state;
	add_net(0, "lan", NET_USER);
	add_net(1, "br", NET_BRIDGE);
	fx->net[1].bridge = "br0";
	fx->net[1].model = NIC_E1000E;
	add_net(2, "off", NET_NONE);
	build();
	expect("-netdev", "{\"type\":\"user\",\"id\":\"netdev-lan\"}");
	expect("-device", "{\"driver\":\"virtio-net-pci\",\"netdev\":"
			  "\"netdev-lan\",\"id\":\"net-lan\",\"mac\":"
			  "\"52:54:00:00:00:00\",\"bus\":\"pci.1\",\"addr\":"
			  "\"0x0\"}");
	expect("-netdev", "{\"type\":\"tap\",\"id\":\"netdev-br\",\"ifname\":"
			  "\"vmrun-t\",\"script\":\"no\",\"downscript\":"
			  "\"no\"}");
	expect("-device", "{\"driver\":\"e1000e\",\"netdev\":\"netdev-br\","
			  "\"id\":\"net-br\",\"mac\":\"52:54:00:00:00:01\","
			  "\"bus\":\"pci.2\",\"addr\":\"0x0\"}");
	assert_int_equal(count("-netdev"), 2);
}

static void test_net_tap_injection(void **state)
{
	(void)state;
	add_net(0, "t", NET_TAP);
	fx->net[0].tap = "tap0,script=/tmp/evil";
	build();
	expect("-netdev", "{\"type\":\"tap\",\"id\":\"netdev-t\",\"ifname\":"
			  "\"tap0,script=/tmp/evil\",\"script\":\"no\","
			  "\"downscript\":\"no\"}");
}

/* With /dev/vhost-net, a virtio NIC on a tap gets the kernel's backend;
 * e1000e and TCG do not use it. */
static void test_net_vhost(void **state)
{
	(void)state;
	fx->h.vhost_net = true;
	add_net(0, "t", NET_TAP);
	fx->net[0].tap = "tap0";
	add_net(1, "e", NET_TAP);
	fx->net[1].tap = "tap1";
	fx->net[1].model = NIC_E1000E;
	build();
	expect("-netdev", "{\"type\":\"tap\",\"id\":\"netdev-t\",\"ifname\":"
			  "\"tap0\",\"script\":\"no\",\"downscript\":"
			  "\"no\",\"vhost\":true}");
	expect("-netdev", "{\"type\":\"tap\",\"id\":\"netdev-e\",\"ifname\":"
			  "\"tap1\",\"script\":\"no\",\"downscript\":"
			  "\"no\"}");
	strv_free(&fx->argv);
	strv_free(&fx->origin);
	strv_free(&fx->warnings);
	fx->p.vm.accel = ACCEL_TCG;
	build();
	expect("-netdev", "{\"type\":\"tap\",\"id\":\"netdev-t\",\"ifname\":"
			  "\"tap0\",\"script\":\"no\",\"downscript\":"
			  "\"no\"}");
}

static void test_tap_names(void **state)
{
	char *s;

	(void)state;
	add_net(0, "lan", NET_BRIDGE);
	s = qemu_tap_name(&fx->p, &fx->net[0]);
	assert_string_equal(s, "vmrun-t");
	free(s);
	add_net(1, "wan", NET_BRIDGE);
	s = qemu_tap_name(&fx->p, &fx->net[1]);
	assert_string_equal(s, "vmrun-t-wan");
	free(s);
	strcpy(fx->p.vm.name, "a-long-vm-name");
	s = qemu_tap_name(&fx->p, &fx->net[1]);
	assert_int_equal(strlen(s), 14);
	assert_memory_equal(s, "vmrun-", 6);
	/* Stable, and different for the other net. */
	{
		char *again = qemu_tap_name(&fx->p, &fx->net[1]);
		char *other = qemu_tap_name(&fx->p, &fx->net[0]);

		assert_string_equal(s, again);
		assert_string_not_equal(s, other);
		free(again);
		free(other);
	}
	free(s);
}

static void test_looking_glass(void **state)
{
	(void)state;
	fx->p.lg.enabled = true;
	fx->p.lg.device = "/dev/shm/looking-glass";
	fx->p.lg.size = 64 * MIB;
	build();
	expect("-object", "{\"qom-type\":\"memory-backend-file\",\"id\":"
			  "\"looking-glass\",\"mem-path\":\"/dev/shm/looking-"
			  "glass\",\"size\":67108864,\"share\":true}");
	expect("-device", "{\"driver\":\"ivshmem-plain\",\"id\":\"shmem0\","
			  "\"memdev\":\"looking-glass\",\"bus\":\"pci.1\","
			  "\"addr\":\"0x0\"}");
}

/* Host paths are rooted for tests; user files are not. */
static void test_rooted_paths(void **state)
{
	(void)state;
	hostfs_set_root("/tmp/fake,root");
	fx->p.lg.enabled = true;
	fx->p.lg.device = "/dev/kvmfr0";
	fx->p.lg.is_kvmfr = true;
	fx->p.lg.size = 32 * MIB;
	fx->p.acpi.fake_battery = true;
	strv_add(&fx->p.acpi.tables, "/srv/acpi/SLIC,x=1.bin");
	fx->p.tpm.type = TPM_SWTPM;
	build();
	strv_free(&fx->p.acpi.tables);
	expect("-object", "{\"qom-type\":\"memory-backend-file\",\"id\":"
			  "\"looking-glass\",\"mem-path\":\"/tmp/fake,root/dev/"
			  "kvmfr0\",\"size\":33554432,\"share\":true}");
	expect("-chardev", "socket,id=qmp,path=/tmp/fake,,root/run/vmrun/t.qmp,"
			   "server=on,wait=off");
	expect("-acpitable", "file=/srv/acpi/SLIC,,x=1.bin");
	expect("-acpitable", "file=/tmp/fake,,root/run/vmrun/t-battery.aml");
	expect("-chardev", "socket,id=chrtpm,path=/tmp/fake,,root/run/vmrun/"
			   "t-swtpm.sock");
	expect("-tpmdev", "emulator,id=tpm-tpm0,chardev=chrtpm");
	expect("-device", "{\"driver\":\"tpm-crb\",\"id\":\"tpm0\",\"tpmdev\":"
			  "\"tpm-tpm0\"}");
	expect("-blockdev", "{\"driver\":\"file\",\"filename\":\"/var/lib/"
			    "vmrun/t/OVMF_VARS.fd\",\"node-name\":\"pflash1-"
			    "storage\",\"read-only\":false}");
}

static void test_acpi_newline(void **state)
{
	(void)state;
	strv_add(&fx->p.acpi.tables, "/srv/a\nb");
	build_fails("[acpi] table contains a control character (0x0a); QEMU "
		    "options cannot carry it: remove it");
	strv_free(&fx->p.acpi.tables);
}

static void test_tpm_passthrough(void **state)
{
	(void)state;
	fx->p.tpm.type = TPM_PASSTHROUGH;
	build();
	expect("-tpmdev", "passthrough,id=tpm-tpm0,path=/dev/tpm0");
	expect("-device", "{\"driver\":\"tpm-crb\",\"id\":\"tpm0\",\"tpmdev\":"
			  "\"tpm-tpm0\"}");
}

static void test_usb(void **state)
{
	(void)state;
	fx->usb[0] = (struct usb_dev){
		.by_id = true, .vendor = 0x046d, .product = 0xc52b};
	fx->usb[1] = (struct usb_dev){.bus = 3, .port = "1.2"};
	fx->p.usb = fx->usb;
	fx->p.nusb = 2;
	build();
	expect("-device", "{\"driver\":\"qemu-xhci\",\"id\":\"usb\",\"p2\":15,"
			  "\"p3\":15,\"bus\":\"pci.1\",\"addr\":\"0x0\"}");
	expect("-device", "{\"driver\":\"usb-host\",\"id\":\"usb-host-0\","
			  "\"bus\":\"usb.0\",\"vendorid\":1133,\"productid\":"
			  "50475}");
	expect("-device", "{\"driver\":\"usb-host\",\"id\":\"usb-host-1\","
			  "\"bus\":\"usb.0\",\"hostbus\":3,\"hostport\":"
			  "\"1.2\"}");
}

static void test_input(void **state)
{
	(void)state;
	strv_add(&fx->p.input.evdev, "/dev/input/by-id/usb-Logi-event-mouse");
	strv_add(&fx->p.input.evdev, "/dev/input/by-id/usb-Logi-event-kbd");
	fx->p.input.grab_toggle = "ctrl-ctrl";
	build();
	strv_free(&fx->p.input.evdev);
	expect("-object", "{\"qom-type\":\"input-linux\",\"id\":\"input0\","
			  "\"evdev\":\"/dev/input/by-id/usb-Logi-event-mouse\","
			  "\"grab-toggle\":\"ctrl-ctrl\"}");
	expect("-object", "{\"qom-type\":\"input-linux\",\"id\":\"input1\","
			  "\"evdev\":\"/dev/input/by-id/usb-Logi-event-kbd\","
			  "\"grab_all\":true,\"repeat\":true,\"grab-toggle\":"
			  "\"ctrl-ctrl\"}");
}

static void test_input_first_is_keyboard(void **state)
{
	(void)state;
	strv_add(&fx->p.input.evdev, "/dev/input/event3");
	strv_add(&fx->p.input.evdev, "/dev/input/event4");
	build();
	strv_free(&fx->p.input.evdev);
	expect("-object", "{\"qom-type\":\"input-linux\",\"id\":\"input0\","
			  "\"evdev\":\"/dev/input/event3\",\"grab_all\":true,"
			  "\"repeat\":true}");
	expect("-object", "{\"qom-type\":\"input-linux\",\"id\":\"input1\","
			  "\"evdev\":\"/dev/input/event4\"}");
}

static void test_audio(void **state)
{
	(void)state;
	fx->p.audio.backend = AUDIO_PIPEWIRE;
	fx->p.audio.codec = CODEC_OUTPUT;
	build();
	expect("-audiodev", "{\"id\":\"audio0\",\"driver\":\"pa\"}");
	expect_warning("QEMU 7.2 has no PipeWire audio backend: using "
		       "PulseAudio (pipewire-pulse)");
	expect("-device", "{\"driver\":\"ich9-intel-hda\",\"id\":\"sound0\","
			  "\"bus\":\"pcie.0\",\"addr\":\"0x1b\"}");
	expect("-device", "{\"driver\":\"hda-output\",\"id\":\"sound0-codec0\","
			  "\"bus\":\"sound0.0\",\"cad\":0,\"audiodev\":"
			  "\"audio0\"}");
}

static void test_audio_new_qemu(void **state)
{
	(void)state;
	fx->h.qemu.major = 8;
	fx->h.qemu.minor = 1;
	fx->p.audio.backend = AUDIO_PIPEWIRE;
	fx->p.audio.model = AUDIO_ICH6_HDA;
	fx->p.audio.codec = CODEC_MICRO;
	build();
	expect("-audiodev", "{\"id\":\"audio0\",\"driver\":\"pipewire\"}");
	expect("-device", "{\"driver\":\"intel-hda\",\"id\":\"sound0\","
			  "\"bus\":\"pcie.0\",\"addr\":\"0x1b\"}");
	expect("-device", "{\"driver\":\"hda-micro\",\"id\":\"sound0-codec0\","
			  "\"bus\":\"sound0.0\",\"cad\":0,\"audiodev\":"
			  "\"audio0\"}");
}

/* QEMU runs as root: its PulseAudio backend is told the user's server. */
static void test_audio_runtime_dir(void **state)
{
	struct strv env = {0};

	(void)state;
	fx->p.audio.backend = AUDIO_PIPEWIRE;
	fx->p.audio.runtime_dir = "/run/user/1000";
	build();
	expect("-audiodev", "{\"id\":\"audio0\",\"driver\":\"pa\","
			    "\"server\":\"unix:/run/user/1000/pulse/native\"}");
	sound_env(&fx->p, &fx->h, "/run/user/1000", &env);
	assert_int_equal(env.n, 0); /* pa: the argv says it all */
	fx->p.audio.runtime_dir = NULL;
}

/* Without runtime-dir: the user who ran sudo, when /run/user/UID is
 * theirs; not when it is another's. */
static void test_audio_sudo_user(void **state)
{
	char *dir;

	(void)state;
	tl_root_make("test_qemu_argv");
	tl_put("/run/user/1000/x", "", 0600);
	dir = tl_path("/run/user/1000");
	assert_int_equal(chown(dir, 1000, 1000), 0);
	setenv("SUDO_UID", "1000", 1);
	fx->p.audio.backend = AUDIO_PA;
	build();
	expect("-audiodev", "{\"id\":\"audio0\",\"driver\":\"pa\","
			    "\"server\":\"unix:/run/user/1000/pulse/native\"}");
	strv_free(&fx->argv);
	strv_free(&fx->origin);
	assert_int_equal(chown(dir, 1001, 1001), 0);
	build();
	expect("-audiodev", "{\"id\":\"audio0\",\"driver\":\"pa\"}");
	unsetenv("SUDO_UID");
	free(dir);
	tl_root_remove();
}

/* QEMU 8.1's PipeWire backend has no server option: the environment. */
static void test_audio_pipewire_env(void **state)
{
	struct strv env = {0};

	(void)state;
	fx->h.qemu.major = 8;
	fx->h.qemu.minor = 2;
	fx->p.audio.backend = AUDIO_PIPEWIRE;
	fx->p.audio.runtime_dir = "/run/user/1000";
	build();
	expect("-audiodev", "{\"id\":\"audio0\",\"driver\":\"pipewire\"}");
	sound_env(&fx->p, &fx->h, "/run/user/1000", &env);
	assert_int_equal(env.n, 1);
	assert_string_equal(env.v[0], "PIPEWIRE_RUNTIME_DIR=/run/user/1000");
	strv_free(&env);
	fx->p.audio.runtime_dir = NULL;
}

static void test_audio_spice_needs_spice(void **state)
{
	(void)state;
	fx->p.audio.backend = AUDIO_SPICE;
	build_fails("[audio] backend = spice needs [display] type = spice");
}

static void test_display_spice(void **state)
{
	(void)state;
	fx->p.display.type = DISPLAY_SPICE;
	fx->p.display.video = VIDEO_QXL;
	fx->p.display.listen = "0.0.0.0,password=x";
	fx->p.display.port = 5930;
	fx->p.audio.backend = AUDIO_SPICE;
	build();
	expect("-spice", "port=5930,addr=0.0.0.0,,password=x,"
			 "disable-ticketing=on");
	expect("-display", "none");
	expect("-audiodev", "{\"id\":\"audio0\",\"driver\":\"spice\"}");
	expect("-device", "{\"driver\":\"qxl-vga\",\"id\":\"video0\",\"bus\":"
			  "\"pcie.0\",\"addr\":\"0x1\"}");
}

static void test_display_vnc(void **state)
{
	(void)state;
	fx->p.display.type = DISPLAY_VNC;
	fx->p.display.video = VIDEO_VIRTIO;
	fx->p.display.listen = "::1";
	fx->p.display.port = 5901;
	build();
	expect("-vnc", "[::1]:1");
	expect("-device", "{\"driver\":\"virtio-vga\",\"id\":\"video0\","
			  "\"bus\":\"pcie.0\",\"addr\":\"0x1\"}");
}

static void test_display_vnc_port(void **state)
{
	(void)state;
	fx->p.display.type = DISPLAY_VNC;
	fx->p.display.port = 5800;
	build_fails("[display] port 5800: VNC ports start at 5900 (display 0)");
}

static void test_display_local(void **state)
{
	(void)state;
	fx->p.display.type = DISPLAY_GTK;
	build();
	expect("-display", "gtk");
	expect_not("-display", "none");
	strv_free(&fx->argv);
	fx->p.display.type = DISPLAY_SDL;
	build();
	expect("-display", "sdl");
}

static void test_run_as(void **state)
{
	(void)state;
	fx->p.vm.run_as = "qemu,x";
	build();
	expect("-runas", "qemu,x");
	strv_free(&fx->argv);
	fx->h.qemu.major = 9;
	fx->h.qemu.minor = 1;
	build();
	expect("-run-with", "user=qemu,,x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_minimal),
		T(test_binary_uuid_args),
		T(test_profile_qemu_binary),
		T(test_name_injection),
		T(test_old_qemu),
		T(test_firmware_missing),
		T(test_firmware_profile_code),
		T(test_firmware_seabios),
		T(test_firmware_secure_boot),
		T(test_machine_injection),
		T(test_cpu_topology_hide),
		T(test_cpu_no_topoext),
		T(test_cpu_tcg),
		T(test_cpu_kvm_lacks),
		T(test_cpu_injection),
		T(test_hv_vendor_injection),
		T(test_hv_value_injection),
		T(test_memory_hugepages_file),
		T(test_prealloc_follows_pinning),
		T(test_prealloc_node),
		T(test_prealloc_no_context),
		T(test_memory_hugepages_memfd),
		T(test_memory_not_multiple),
		T(test_memory_numa_auto),
		T(test_memory_numa_single_node),
		T(test_memory_numa_bad),
		T(test_balloon),
		T(test_smbios_custom),
		T(test_smbios_newline),
		T(test_smbios_host),
		T(test_clock),
		T(test_pci_gpu_pair),
		T(test_pci_guest_address),
		T(test_pci_guest_bus0),
		T(test_pci_errors),
		T(test_disk_virtio_injection),
		T(test_disk_cache_modes),
		T(test_disk_interfaces),
		T(test_disk_of_node),
		T(test_disk_errors),
		T(test_disk_format_auto),
		T(test_nets),
		T(test_net_tap_injection),
		T(test_net_vhost),
		T(test_tap_names),
		T(test_looking_glass),
		T(test_rooted_paths),
		T(test_acpi_newline),
		T(test_tpm_passthrough),
		T(test_usb),
		T(test_input),
		T(test_input_first_is_keyboard),
		T(test_audio),
		T(test_audio_new_qemu),
		T(test_audio_runtime_dir),
		T(test_audio_sudo_user),
		T(test_audio_pipewire_env),
		T(test_audio_spice_needs_spice),
		T(test_display_spice),
		T(test_display_vnc),
		T(test_display_vnc_port),
		T(test_display_local),
		T(test_run_as),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
