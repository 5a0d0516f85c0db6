/* test_qemu_refusal.c: QEMU's error lines at a failed start, as real QEMU
 * writes them, traced back to the profile section and line through the
 * origins the argv builder records (qemu/refusal.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "host/host.h"
#include "ops/ops.h"
#include "qemu/qemu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Line numbers matter: the messages point at them. */
static const char profile_text[] = "[vm]\n"			     /* 1 */
				   "name = t\n"			     /* 2 */
				   "memory = 1G\n"		     /* 3 */
				   "accel = tcg\n"		     /* 4 */
				   "\n"				     /* 5 */
				   "[firmware]\n"		     /* 6 */
				   "type = seabios\n"		     /* 7 */
				   "\n"				     /* 8 */
				   "[hyperv]\n"			     /* 9 */
				   "enlightenments = relaxed,time\n" /* 10 */
				   "\n"				     /* 11 */
				   "[pci.gpu]\n"		     /* 12 */
				   "host = 01:00.0\n"		     /* 13 */
				   "\n"				     /* 14 */
				   "[disk.boot]\n"		     /* 15 */
				   "file = /var/lib/vms/t.img\n"     /* 16 */
				   "format = qcow2\n"		     /* 17 */
				   "\n"				     /* 18 */
				   "[net.lan]\n"		     /* 19 */
				   "mode = user\n"		     /* 20 */
				   "\n"				     /* 21 */
				   "[cpu]\n"			     /* 22 */
				   "model = host\n"		     /* 23 */
				   "\n"				     /* 24 */
				   "[audio]\n"			     /* 25 */
				   "backend = pa\n"		     /* 26 */
				   "runtime-dir = /run/user/1000\n"; /* 27 */

struct fixture {
	struct profile p;
	struct host h;
	struct vm_paths paths;
	struct strv argv, origin, warnings;
	struct qemu_refusal r;
};

static struct fixture *fx;

static int setup(void **state)
{
	struct vr_error err = {0};
	struct qemu_placement pl;
	int r;

	(void)state;
	hostfs_set_root("/");
	fx = calloc(1, sizeof(*fx));
	r = profile_load_string(profile_text, "t.ini", "/", &fx->p, &err);
	if (r)
		print_message("# %s\n", err.msg);
	assert_int_equal(r, 0);
	fx->h.qemu.major = 7;
	fx->h.qemu.minor = 2;
	fx->h.qemu.path = "/usr/bin/qemu-system-x86_64";
	paths_vm_build(&fx->p, &fx->paths);
	placement_plan(&fx->p, &fx->h, &pl);
	pl.sound_dir = sound_dir(&fx->p); /* as planner_build() does */
	r = qemu_argv_build(&fx->p, &fx->h, &fx->paths, &pl, &fx->argv,
			    &fx->origin, &fx->warnings, &err);
	placement_free(&pl);
	if (r)
		print_message("# %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(fx->origin.n, fx->argv.n);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	strv_free(&fx->argv);
	strv_free(&fx->origin);
	strv_free(&fx->warnings);
	paths_vm_free(&fx->paths);
	profile_free(&fx->p);
	free(fx);
	return 0;
}

/* "-opt value" of the argument whose text holds what. */
static char *option(const char *what)
{
	for (size_t i = 1; i + 1 < fx->argv.n; i++)
		if (strstr(fx->argv.v[i + 1], what))
			return xasprintf("%s %s", fx->argv.v[i],
					 fx->argv.v[i + 1]);
	fail_msg("no argument holds %s", what);
	return NULL;
}

static bool find(const char *text)
{
	return qemu_refusal_find(&fx->argv, &fx->origin, text, &fx->r);
}

static void test_origins(void **state)
{
	(void)state;
	for (size_t i = 0; i < fx->argv.n; i++) {
		if (strstr(fx->argv.v[i], "\"id\":\"hostdev-gpu\""))
			assert_string_equal(fx->origin.v[i], "pci.gpu");
		if (strstr(fx->argv.v[i], "\"node-name\":\"disk0-format\""))
			assert_string_equal(fx->origin.v[i],
					    "disk.boot format");
		if (!strcmp(fx->argv.v[i], "-machine"))
			assert_string_equal(fx->origin.v[i + 1], "vm machine");
		if (!strcmp(fx->argv.v[i], "-chardev"))
			assert_string_equal(fx->origin.v[i + 1], "");
	}
}

/* QEMU 7.2 with -msg timestamp=on, vfio refusing the device. */
static void test_vfio_timestamped(void **state)
{
	cleanup_free char *opt = option("hostdev-gpu"), *text = NULL;
	cleanup_free char *msg = NULL;

	(void)state;
	text = xasprintf("2024-05-01T10:11:12.345678Z qemu-system-x86_64: "
			 "%s: vfio 0000:01:00.0: group 12 is not viable\n"
			 "Please ensure all devices within the iommu_group "
			 "are bound to their vfio bus driver.\n",
			 opt);
	assert_true(find(text));
	assert_string_equal(fx->r.origin, "pci.gpu");
	assert_string_equal(fx->r.message,
			    "vfio 0000:01:00.0: group 12 is not viable");
	msg = qemu_refusal_describe(&fx->p, &fx->r);
	assert_non_null(strstr(msg, "QEMU refused [pci.gpu] (t.ini:12): vfio "
				    "0000:01:00.0: group 12 is not viable; "
				    "every device of that IOMMU group"));
}

/* No timestamp: the format node of a disk QEMU cannot read as qcow2. */
static void test_disk_format(void **state)
{
	cleanup_free char *opt = option("\"node-name\":\"disk0-format\"");
	cleanup_free char *text = NULL, *msg = NULL;

	(void)state;
	text = xasprintf("qemu-system-x86_64: %s: Image is not in qcow2 "
			 "format\r\n",
			 opt);
	assert_true(find(text));
	assert_string_equal(fx->r.origin, "disk.boot format");
	msg = qemu_refusal_describe(&fx->p, &fx->r);
	assert_non_null(strstr(msg, "QEMU refused [disk.boot] format "
				    "(t.ini:17): Image is not in qcow2 "
				    "format; the file is not in that format"));
}

/* A message that names no option, only the file of one. */
static void test_file_token(void **state)
{
	cleanup_free char *msg = NULL;

	(void)state;
	assert_true(find("qemu-system-x86_64: Could not open "
			 "'/var/lib/vms/t.img': No such file or directory\n"));
	assert_string_equal(fx->r.origin, "disk.boot file");
	msg = qemu_refusal_describe(&fx->p, &fx->r);
	assert_non_null(strstr(msg, "[disk.boot] file (t.ini:16)"));
	/* a longer name that merely starts with it is not it */
	assert_false(find("qemu-system-x86_64: Could not open "
			  "'/var/lib/vms/t.img2': No such file\n"));
}

/* QEMU aborting as KVM refuses to set an MSR: its line (after stamp),
 * then its assertion (no timestamp: glibc writes it). */
static bool find_msr_abort(const char *stamp, const char *msr)
{
	cleanup_free char *text = xasprintf(
		"%sqemu-system-x86_64: error: failed to set MSR %s\n"
		"qemu-system-x86_64: ../target/i386/kvm/kvm.c:3004: "
		"kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' "
		"failed.\n",
		stamp, msr);

	return find(text);
}

/* KVM refuses a Hyper-V MSR. */
static void test_msr_abort(void **state)
{
	cleanup_free char *msg = NULL;

	(void)state;
	assert_true(find_msr_abort("2024-05-01T10:11:12.345678Z ",
				   "0x40000021 to 0x0"));
	assert_string_equal(fx->r.origin, "hyperv enlightenments");
	msg = qemu_refusal_describe(&fx->p, &fx->r);
	assert_non_null(strstr(msg, "QEMU refused [hyperv] enlightenments "
				    "(t.ini:10): error: failed to set MSR "
				    "0x40000021 to 0x0; remove time from"));
	assert_true(find("qemu-system-x86_64: error: failed to set MSR "
			 "0x40000073 to 0x0\n"));
	assert_non_null(strstr(fx->r.hint, "remove vapic from"));
	assert_true(find("qemu-system-x86_64: kernel doesn't allow setting "
			 "HyperV VP_INDEX\n"));
	assert_non_null(strstr(fx->r.hint, "remove vpindex from"));
}

/* KVM refuses an MSR that is no Hyper-V one (a nested host refuses the
 * IA32_ARCH_CAPABILITIES bits -cpu host copies): the CPU model's line,
 * and to use a named model. */
static void test_msr_cpu_model(void **state)
{
	cleanup_free char *msg = NULL;

	(void)state;
	assert_true(find_msr_abort("", "0x10a to 0x69"));
	assert_string_equal(fx->r.origin, "cpu model");
	msg = qemu_refusal_describe(&fx->p, &fx->r);
	assert_string_equal(msg, "QEMU refused [cpu] model (t.ini:23): error: "
				 "failed to set MSR 0x10a to 0x69; this "
				 "host's KVM refuses a CPU register (MSR) "
				 "QEMU sets up for that model: set [cpu] "
				 "model to a named one (`qemu-system-x86_64 "
				 "-cpu help` lists them), or [vm] accel = "
				 "tcg");
	assert_true(find("qemu-system-x86_64: error: failed to set MSR 0x38d "
			 "to 0x0\n"));
	assert_string_equal(fx->r.origin, "cpu model");
	/* a Hyper-V MSR is still the enlightenment's */
	assert_true(find("qemu-system-x86_64: error: failed to set MSR "
			 "0x40000073 to 0x0\n"));
	assert_string_equal(fx->r.origin, "hyperv enlightenments");
}

/* The id of an -object in QEMU's words. */
static void test_memory_id(void **state)
{
	(void)state;
	assert_true(find("qemu-system-x86_64: cannot set up guest memory "
			 "'pc.ram': Cannot allocate memory\n"));
	assert_string_equal(fx->r.origin, "memory");
}

/* Warnings, vmrun's own options and lines naming nothing lead nowhere;
 * of several errors the last one counts. */
static void test_nothing_and_last(void **state)
{
	cleanup_free char *gpu = option("hostdev-gpu"), *text = NULL;
	cleanup_free char *qmp = option("id=qmp"), *own = NULL;

	(void)state;
	text = xasprintf("qemu-system-x86_64: %s: warning: vfio "
			 "0000:01:00.0: Could not enable error recovery\n",
			 gpu);
	assert_false(find(text));
	assert_false(find("qemu-system-x86_64: -device vfio-pci: fakeqemu: "
			  "failing at start as asked\n"));
	own = xasprintf("qemu-system-x86_64: %s: Address already in use\n",
			qmp);
	assert_false(find(own));
	assert_false(find(""));
	free(text);
	text = xasprintf("qemu-system-x86_64: %s: vfio 0000:01:00.0: "
			 "failed to open /dev/vfio/12: No such file or "
			 "directory\nqemu-system-x86_64: Image is not in "
			 "qcow2 format: '/var/lib/vms/t.img'\n",
			 gpu);
	assert_true(find(text));
	assert_string_equal(fx->r.origin, "disk.boot file");
}

/* QEMU 7.2's audio lines: "audio: ...", no name, no option; the
 * PulseAudio backend's last words run into them, its reason before. */
static void test_audio_no_server(void **state)
{
	cleanup_free char *msg = NULL;

	(void)state;
	assert_true(find("pulseaudio: pa_context_connect() failed\n"
			 "pulseaudio: Reason: Connection refused\n"
			 "pulseaudio: Failed to initialize PA contextaudio: "
			 "Could not init `pa' audio driver\n"));
	assert_string_equal(fx->r.origin, "audio runtime-dir");
	assert_string_equal(fx->r.message, "Could not init `pa' audio driver "
					   "(Connection refused)");
	msg = qemu_refusal_describe(&fx->p, &fx->r);
	assert_non_null(strstr(msg, "QEMU refused [audio] runtime-dir "
				    "(t.ini:27): Could not init `pa' audio "
				    "driver (Connection refused); no sound "
				    "server answers at unix:/run/user/1000/"
				    "pulse/native: log in as that user"));
}

/* PulseAudio itself refuses QEMU, root, without its cookie. */
static void test_audio_denied(void **state)
{
	(void)state;
	assert_true(find("pulseaudio: Wrong context state\n"
			 "pulseaudio: Reason: Access denied\n"
			 "pulseaudio: Failed to initialize PA contextaudio: "
			 "Could not init `pa' audio driver\n"));
	assert_string_equal(fx->r.message, "Could not init `pa' audio driver "
					   "(Access denied)");
	assert_non_null(strstr(fx->r.hint, "that sound server refuses QEMU, "
					   "which connects as root"));
}

/* The backend's module is not installed: the backend's line, whatever
 * the server. */
static void test_audio_no_module(void **state)
{
	cleanup_free char *msg = NULL;

	(void)state;
	assert_true(find("qemu: module audio-audio-pa not found, do you want "
			 "to install qemu-system-gui package?\n"
			 "audio: Unknown audio driver `pa'\n"));
	assert_string_equal(fx->r.origin, "audio backend");
	msg = qemu_refusal_describe(&fx->p, &fx->r);
	assert_non_null(strstr(msg, "QEMU refused [audio] backend (t.ini:26): "
				    "Unknown audio driver `pa'; this QEMU "
				    "lacks its pa audio module: install it "
				    "(Debian, Ubuntu: qemu-system-gui;"));
}

/* Later QEMUs name the option; no server given: whose to give. */
static void test_audio_option(void **state)
{
	cleanup_free char *opt = option("\"driver\":\"pa\""), *text = NULL;
	long at = -1;

	(void)state;
	text = xasprintf("qemu-system-x86_64: %s: Could not init `pa' audio "
			 "driver\n",
			 opt);
	assert_true(find(text));
	assert_string_equal(fx->r.origin, "audio runtime-dir");
	assert_string_equal(fx->r.message, "Could not init `pa' audio driver");
	for (size_t i = 0; i + 1 < fx->argv.n; i++)
		if (!strcmp(fx->argv.v[i], "-audiodev"))
			at = (long)i + 1;
	assert_true(at > 0);
	free(fx->argv.v[at]);
	fx->argv.v[at] = xstrdup("{\"id\":\"audio0\",\"driver\":\"pa\"}");
	assert_true(find("audio: Could not init `pa' audio driver\n"));
	assert_non_null(strstr(fx->r.hint, "was given no user's sound server: "
					   "set [audio] runtime-dir"));
	/* a driver QEMU was not given, or other words, lead nowhere */
	assert_false(find("audio: Could not init `alsa' audio driver\n"));
	assert_false(find("audio: Could not init `pa' voice\n"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_origins),	 T(test_vfio_timestamped),
		T(test_disk_format),	 T(test_file_token),
		T(test_msr_abort),	 T(test_msr_cpu_model),
		T(test_memory_id),	 T(test_nothing_and_last),
		T(test_audio_no_server), T(test_audio_denied),
		T(test_audio_no_module), T(test_audio_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
