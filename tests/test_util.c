/* test_util.c: the small value syntaxes of launcher/util.c (CPU lists,
 * sizes, booleans, numbers, PCI addresses) and the quoting helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static void expect_cpulist(const char *in, const char *canon, size_t n,
			   int first, int last)
{
	struct cpulist cl;
	const char *why = "unset";
	char *s;

	assert_int_equal(cpulist_parse(in, &cl, &why), 0);
	assert_null(why);
	assert_int_equal(cl.n, n);
	assert_int_equal(cl.cpu[0], first);
	assert_int_equal(cl.cpu[n - 1], last);
	s = cpulist_format(&cl);
	assert_string_equal(s, canon);
	free(s);
	cpulist_free(&cl);
	assert_null(cl.cpu);
	assert_int_equal(cl.n, 0);
}

static void test_cpulist_parse_ok(void **state)
{
	(void)state;
	expect_cpulist("0", "0", 1, 0, 0);
	expect_cpulist("0-3,8,10-11", "0-3,8,10-11", 7, 0, 11);
	/* order is kept (vCPU i goes to the i-th CPU); format sorts */
	expect_cpulist("2,10,3,11", "2-3,10-11", 4, 2, 11);
	expect_cpulist("5-5", "5", 1, 5, 5);
	expect_cpulist(" 1 , 3 ", "1,3", 2, 1, 3);
	expect_cpulist("0-8191", "0-8191", 8192, 0, 8191);
}

static void expect_cpulist_bad(const char *in, const char *why_want)
{
	struct cpulist cl = {0};
	const char *why = NULL;

	assert_int_equal(cpulist_parse(in, &cl, &why), -EINVAL);
	assert_non_null(why);
	assert_string_equal(why, why_want);
	assert_null(cl.cpu);
}

static void test_cpulist_parse_bad(void **state)
{
	const char *syntax = "expected the kernel's list syntax, e.g. 0-3,8";

	(void)state;
	expect_cpulist_bad("", "the list is empty");
	expect_cpulist_bad("  ", "the list is empty");
	expect_cpulist_bad("5-2", "a range must go upwards (e.g. 2-5)");
	expect_cpulist_bad("1,2,1", "a CPU is listed twice");
	expect_cpulist_bad("0-3,2", "a CPU is listed twice");
	expect_cpulist_bad("8192", "a CPU number is out of range (0-8191)");
	expect_cpulist_bad("0-99999999999999999999",
			   "a CPU number is out of range (0-8191)");
	expect_cpulist_bad("a", syntax);
	expect_cpulist_bad("-1", syntax);
	expect_cpulist_bad("1-", syntax);
	expect_cpulist_bad("1,,2", syntax);
	expect_cpulist_bad("1,2,", syntax);
	expect_cpulist_bad("1;2", syntax);
	expect_cpulist_bad("1 2", syntax);
}

static void test_cpulist_has(void **state)
{
	struct cpulist cl;
	const char *why;

	(void)state;
	assert_int_equal(cpulist_parse("2-4,9", &cl, &why), 0);
	assert_true(cpulist_has(&cl, 2));
	assert_true(cpulist_has(&cl, 9));
	assert_false(cpulist_has(&cl, 5));
	assert_false(cpulist_has(&cl, 0));
	cpulist_free(&cl);
	assert_false(cpulist_has(&cl, 2));
}

static void test_cpulist_format_empty(void **state)
{
	struct cpulist cl = {0};
	char *s = cpulist_format(&cl);

	(void)state;
	assert_string_equal(s, "");
	free(s);
}

static void expect_size(const char *in, uint64_t want)
{
	uint64_t v = 0;

	assert_int_equal(parse_size(in, &v), 0);
	assert_true(v == want);
}

static void test_parse_size(void **state)
{
	uint64_t v = 77;

	(void)state;
	expect_size("0", 0);
	expect_size("4096", 4096);
	expect_size("16G", 16 * GIB);
	expect_size("16g", 16 * GIB);
	expect_size("512M", 512 * MIB);
	expect_size("512MB", 512 * MIB);
	expect_size("512MiB", 512 * MIB);
	expect_size("2K", 2048);
	expect_size("1T", 1024 * GIB);
	expect_size("16777215T", 16777215ULL * 1024 * GIB);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("G", &v), -EINVAL);
	assert_int_equal(parse_size("-1G", &v), -EINVAL);
	assert_int_equal(parse_size(" 1G", &v), -EINVAL);
	assert_int_equal(parse_size("1 G", &v), -EINVAL);
	assert_int_equal(parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(parse_size("1P", &v), -EINVAL);
	assert_int_equal(parse_size("1Gi", &v), -EINVAL);
	assert_int_equal(parse_size("1GBB", &v), -EINVAL);
	assert_int_equal(parse_size("0x10", &v), -EINVAL);
	assert_int_equal(parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_true(v == 77); /* untouched on failure */
}

static void test_parse_bool(void **state)
{
	static const char *const yes[] = {"yes", "on",	"true",
					  "1",	 "YES", "True"};
	static const char *const no[] = {"no", "off", "false",
					 "0",  "NO",  "Off"};
	bool b;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		b = false;
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
		b = true;
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(parse_bool("", &b), -EINVAL);
	assert_int_equal(parse_bool("y", &b), -EINVAL);
	assert_int_equal(parse_bool("2", &b), -EINVAL);
	assert_int_equal(parse_bool("yess", &b), -EINVAL);
}

static void test_parse_uint(void **state)
{
	unsigned long long v = 0;

	(void)state;
	assert_int_equal(parse_uint("0", 10, &v), 0);
	assert_true(v == 0);
	assert_int_equal(parse_uint("120", 3600, &v), 0);
	assert_true(v == 120);
	assert_int_equal(parse_uint("0x10de", 0xffff, &v), 0);
	assert_true(v == 0x10de);
	assert_int_equal(parse_uint("0XFFF", 0xffff, &v), 0);
	assert_true(v == 0xfff);
	/* a leading zero is decimal, not octal */
	assert_int_equal(parse_uint("010", 100, &v), 0);
	assert_true(v == 10);
	assert_int_equal(parse_uint("08", 100, &v), 0);
	assert_true(v == 8);
	assert_int_equal(parse_uint("18446744073709551615", ~0ULL, &v), 0);
	assert_true(v == ~0ULL);
	v = 5;
	assert_int_equal(parse_uint("3601", 3600, &v), -ERANGE);
	assert_int_equal(parse_uint("18446744073709551616", ~0ULL, &v),
			 -ERANGE);
	assert_int_equal(parse_uint("", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("-1", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("+1", 10, &v), -EINVAL);
	assert_int_equal(parse_uint(" 1", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("1 ", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("0x", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("0x0x1", 10, &v), -EINVAL);
	assert_int_equal(parse_uint("12a", 1000, &v), -EINVAL);
	assert_int_equal(parse_uint("1e3", 10000, &v), -EINVAL);
	assert_true(v == 5);
}

static void expect_pci(const char *in, unsigned d, unsigned b, unsigned dev,
		       unsigned fn, const char *canon)
{
	struct pci_addr a, c;
	char buf[16];

	assert_int_equal(pci_addr_parse(in, &a), 0);
	assert_int_equal(a.domain, d);
	assert_int_equal(a.bus, b);
	assert_int_equal(a.dev, dev);
	assert_int_equal(a.fn, fn);
	assert_string_equal(pci_addr_format(&a, buf, sizeof(buf)), canon);
	assert_int_equal(pci_addr_parse(canon, &c), 0);
	assert_true(pci_addr_eq(&a, &c));
}

static void test_pci_addr(void **state)
{
	struct pci_addr a = {1, 2, 3, 4}, b = a;
	static const char *const bad[] = {
		"",	   "01:00",	"01.00.0",   "0000:01:00",
		"01:00.8", "01:20.0",	"100:00.0",  "10000:01:00.0",
		"g1:00.0", "01:00.0.1", "0:0:0:0.0", "01:00.",
		":00.0",   "01:.0",	"01:00.0 ",  "0000:01:00.0:",
	};

	(void)state;
	expect_pci("01:00.0", 0, 1, 0, 0, "0000:01:00.0");
	expect_pci("0000:08:00.1", 0, 8, 0, 1, "0000:08:00.1");
	expect_pci("ffff:ff:1f.7", 0xffff, 0xff, 0x1f, 7, "ffff:ff:1f.7");
	expect_pci("0A:1B.3", 0, 0xa, 0x1b, 3, "0000:0a:1b.3");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pci_addr x = {9, 9, 9, 9};

		assert_int_equal(pci_addr_parse(bad[i], &x), -EINVAL);
		assert_int_equal(x.domain, 9); /* untouched */
	}
	assert_true(pci_addr_eq(&a, &b));
	b.fn = 5;
	assert_false(pci_addr_eq(&a, &b));
	b = a;
	b.domain = 0;
	assert_false(pci_addr_eq(&a, &b));
}

static void expect_str(char *got, const char *want)
{
	assert_string_equal(got, want);
	free(got);
}

static void test_qemu_opt_escape(void **state)
{
	(void)state;
	expect_str(qemu_opt_escape(""), "");
	expect_str(qemu_opt_escape("plain"), "plain");
	expect_str(qemu_opt_escape("a,b"), "a,,b");
	expect_str(qemu_opt_escape(",,x,"), ",,,,x,,");
	expect_str(qemu_opt_escape("/path/with,comma=1"),
		   "/path/with,,comma=1");
}

static void test_shell_quote(void **state)
{
	(void)state;
	expect_str(shell_quote("qemu-system-x86_64"), "qemu-system-x86_64");
	expect_str(shell_quote("-m"), "-m");
	expect_str(shell_quote("size=16G,share=on"), "size=16G,share=on");
	expect_str(shell_quote(""), "''");
	expect_str(shell_quote("a b"), "'a b'");
	expect_str(shell_quote("$HOME"), "'$HOME'");
	expect_str(shell_quote("it's"), "'it'\\''s'");
	expect_str(shell_quote("''"), "''\\'''\\'''");
	expect_str(shell_quote("{\"driver\":\"vfio-pci\"}"),
		   "'{\"driver\":\"vfio-pci\"}'");
	expect_str(shell_quote("a;rm -rf /"), "'a;rm -rf /'");
	expect_str(shell_quote("~"), "'~'");
	expect_str(shell_quote("*"), "'*'");
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(edit_distance("", ""), 0);
	assert_int_equal(edit_distance("memory", "memory"), 0);
	assert_int_equal(edit_distance("memroy", "memory"), 2);
	assert_int_equal(edit_distance("vmm", "vm"), 1);
	assert_int_equal(edit_distance("vm", "vmm"), 1);
	assert_int_equal(edit_distance("", "abc"), 3);
	assert_int_equal(edit_distance("abc", ""), 3);
	assert_int_equal(edit_distance("kitten", "sitting"), 3);
	assert_int_equal(edit_distance("flaw", "lawn"), 2);
	assert_int_equal(edit_distance("cpu", "xyz"), 3);
}

static void test_strv(void **state)
{
	struct strv sv = {0};

	(void)state;
	for (int i = 0; i < 40; i++)
		strv_addf(&sv, "arg%d", i);
	strv_add(&sv, "last");
	assert_int_equal(sv.n, 41);
	assert_string_equal(sv.v[0], "arg0");
	assert_string_equal(sv.v[39], "arg39");
	assert_string_equal(sv.v[40], "last");
	assert_null(sv.v[41]);
	strv_free(&sv);
	assert_null(sv.v);
	assert_int_equal(sv.n, 0);
	strv_free(&sv); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpulist_parse_ok),
		cmocka_unit_test(test_cpulist_parse_bad),
		cmocka_unit_test(test_cpulist_has),
		cmocka_unit_test(test_cpulist_format_empty),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_pci_addr),
		cmocka_unit_test(test_qemu_opt_escape),
		cmocka_unit_test(test_shell_quote),
		cmocka_unit_test(test_edit_distance),
		cmocka_unit_test(test_strv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
