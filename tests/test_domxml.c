/* test_domxml.c: the profile writer (profile/pdoc.c) and the libvirt
 * domain reader (profile/domxml*.c): keys checked against the schema,
 * values that would not read back refused, the XML's own errors with their
 * line, and the mapping of a small domain read back by the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "profile/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text of d, or NULL with err filled. */
static char *render(struct pdoc *d, struct vr_error *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r = pdoc_write(d, f, err);

	fclose(f);
	if (r) {
		free(text);
		return NULL;
	}
	return text;
}

static void test_pdoc(void **state)
{
	struct vr_error err = {0};
	struct pdoc d = {0};
	struct profile p;
	char *text;

	(void)state;
	pdoc_head(&d, "made by a test");
	pdoc_set(&d, "memory", "hugepages", "2M");
	pdoc_set(&d, "vm", "name", "t");
	pdoc_set(&d, "vm", "memory", "1G");
	pdoc_comment(&d, "pci.gpu", "the card");
	pdoc_set(&d, "pci.gpu", "host", "01:00.0");
	pdoc_set(&d, "qemu", "arg", "-S");
	pdoc_set(&d, "qemu", "arg", "-nodefaults");
	pdoc_hint(&d, "audio", "backend", "pipewire");
	text = render(&d, &err);
	assert_non_null(text);
	/* [vm] before [memory] whatever the order of the calls; a section
	 * of hints only is commented out whole */
	assert_non_null(strstr(text,
			       "; made by a test\n\n[vm]\nname = t\n"
			       "memory = 1G\n\n[memory]\nhugepages = 2M\n"
			       "\n[pci.gpu]\n; the card\nhost = 01:00.0\n"));
	assert_non_null(strstr(text, "\n; [audio]\n; backend = pipewire\n"));
	assert_int_equal(profile_load_string(text, "t.ini", "/", &p, &err), 0);
	assert_int_equal(p.qemu_args.n, 2);
	assert_int_equal(p.memory.hugepages, HUGEPAGES_2M);
	profile_free(&p);
	free(text);
	pdoc_free(&d);
}

static void expect_refused(const char *section, const char *key,
			   const char *value, const char *why)
{
	struct vr_error err = {0};
	struct pdoc d = {0};

	pdoc_set(&d, "vm", "name", "t");
	assert_int_equal(pdoc_set(&d, section, key, "%s", value), -EINVAL);
	assert_null(render(&d, &err));
	assert_non_null(strstr(err.msg, why));
	pdoc_free(&d);
}

static void test_pdoc_refuses(void **state)
{
	(void)state;
	expect_refused("vm", "memroy", "1G", "[vm] has no key 'memroy'");
	expect_refused("vmx", "name", "x", "[vmx] is not a section");
	expect_refused("pci", "host", "01:00.0", "[pci] is not a section");
	expect_refused("pci.a b", "host", "01:00.0", "is not a section");
	expect_refused("qemu", "arg", "-a ;b", "starts a comment");
	expect_refused("qemu", "arg", "a\nb", "control character");
	expect_refused("qemu", "arg", " a", "starts or ends with a blank");
	expect_refused("vm", "name", "u", "[vm] name is set twice");
}

static int import(const char *xml, char **text, struct strv *dropped,
		  struct vr_error *err)
{
	struct pdoc d = {0};
	int r = domxml_import(xml, strlen(xml), "d.xml", &d, dropped, err);

	*text = r ? NULL : render(&d, err);
	pdoc_free(&d);
	return r;
}

static void test_xml_errors(void **state)
{
	struct vr_error err = {0};
	struct strv dropped = {0};
	char *text;

	(void)state;
	assert_int_equal(import("<domain>\n<name>a</name>\n<memory>1</mem>\n"
				"</domain>\n",
				&text, &dropped, &err),
			 -EINVAL);
	assert_string_equal(err.msg,
			    "d.xml:3: not well-formed XML: Opening and ending "
			    "tag mismatch: memory line 3 and mem");
	assert_int_equal(import("", &text, &dropped, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "d.xml:1: not well-formed XML: "));
	assert_int_equal(import("<domain>\n  <name>a</name>\n  <memory>lots"
				"</memory>\n</domain>",
				&text, &dropped, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "d.xml:3: <memory>lots</memory>: not a "
				     "number");
	strv_free(&dropped);
}

static const char small[] =
	"<domain type='kvm'>\n"
	"  <name>small</name>\n"
	"  <memory unit='MiB'>2048</memory>\n"
	"  <vcpu>4</vcpu>\n"
	"  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n"
	"  <cpu mode='host-passthrough'>\n"
	"    <topology sockets='1' dies='1' cores='2' threads='2'/>\n"
	"  </cpu>\n"
	"  <devices>\n"
	"    <disk type='file' device='disk'>\n"
	"      <driver name='qemu' type='qcow2' cache='none'/>\n"
	"      <source file='/images/small.qcow2'/>\n"
	"      <target dev='vda' bus='virtio'/>\n"
	"    </disk>\n"
	"    <watchdog model='itco'/>\n"
	"  </devices>\n"
	"</domain>\n";

static void test_small_domain(void **state)
{
	struct vr_error err = {0};
	struct strv dropped = {0};
	struct profile p;
	char *text;

	(void)state;
	assert_int_equal(import(small, &text, &dropped, &err), 0);
	assert_int_equal(profile_load_string(text, "s.ini", "/", &p, &err), 0);
	assert_string_equal(p.vm.name, "small");
	assert_int_equal(p.vm.memory, 2 * GIB);
	assert_int_equal(p.cpu.vcpus, 4);
	assert_int_equal(p.cpu.threads, 2);
	assert_int_equal(p.firmware.type, FW_SEABIOS);
	assert_int_equal(p.hyperv.nfeatures, 0);
	assert_int_equal(p.ndisk, 1);
	assert_string_equal(p.disk[0].name, "vda");
	assert_int_equal(p.disk[0].format, DISK_FORMAT_QCOW2);
	assert_int_equal(p.disk[0].cache, CACHE_NONE);
	assert_int_equal(p.disk[0].aio, AIO_THREADS);
	assert_int_equal(p.display.video, VIDEO_NONE);
	assert_true(p.memory.balloon);
	assert_int_equal(dropped.n, 1);
	assert_string_equal(dropped.v[0], "<watchdog model='itco'> (line 15): "
					  "vmrun has no such device");
	profile_free(&p);
	free(text);
	strv_free(&dropped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pdoc),
		cmocka_unit_test(test_pdoc_refuses),
		cmocka_unit_test(test_xml_errors),
		cmocka_unit_test(test_small_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
