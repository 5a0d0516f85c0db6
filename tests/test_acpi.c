/* test_acpi.c: the fake-battery SSDT: header, checksum, AML structure, and
 * a round trip through ACPICA's disassembler (iasl -d). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/ops.h"
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_header(void **state)
{
	size_t len = 0;
	uint8_t *t = acpi_battery_ssdt(&len);
	uint8_t sum = 0;

	(void)state;
	assert_true(len > 36);
	assert_memory_equal(t, "SSDT", 4);
	assert_int_equal(le32(t + 4), len);
	assert_int_equal(t[8], 2);
	/* what real firmware tables carry, not vmrun's name */
	assert_memory_equal(t + 10, "ALASKA", 6);
	assert_memory_equal(t + 16, "A M I   ", 8);
	assert_int_equal(le32(t + 24), 1);
	assert_memory_equal(t + 28, "INTL", 4);
	assert_int_equal(le32(t + 32), 0x20200925);
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	assert_int_equal(sum, 0);
	free(t);
}

/* Anti-VM and anti-cheat checks read the OEM strings of the tables and
 * the battery's: none may name vmrun or a virtual machine. */
static void test_neutral_strings(void **state)
{
	static const char *const vm_words[] = {
		"vmrun", "vmrn", "qemu", "bochs", "vbox", "virtual", "kvm"};
	size_t len = 0;
	uint8_t *t = acpi_battery_ssdt(&len);
	char *lower = xcalloc(len + 1, 1);

	(void)state;
	for (size_t i = 0; i < len; i++)
		lower[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32
				  : t[i]		     ? t[i]
							     : ' ');
	for (size_t i = 0; i < ARRAY_SIZE(vm_words); i++)
		if (strstr(lower, vm_words[i]))
			fail_msg("the SSDT carries '%s'", vm_words[i]);
	free(lower);
	free(t);
}

/* Decode a PkgLength at p: its value, and how many bytes it used. */
static size_t pkglen(const uint8_t *p, size_t *used)
{
	size_t extra = p[0] >> 6, v;

	if (!extra) {
		*used = 1;
		return p[0] & 0x3f;
	}
	v = p[0] & 0x0f;
	for (size_t i = 0; i < extra; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	*used = 1 + extra;
	return v;
}

static const uint8_t *find_bytes(const uint8_t *t, size_t len, const void *s,
				 size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(t + i, s, n))
			return t + i;
	return NULL;
}

/* One Scope (\_SB) covering the whole body, holding BAT0 and AC. */
static void test_structure(void **state)
{
	static const uint8_t hid[] = {0x08, '_',  'H',	'I',  'D',
				      0x0c, 0x41, 0xd0, 0x0c, 0x0a};
	static const uint8_t psr[] = {'_', 'P', 'S', 'R', 0x00, 0xa4, 0x01};
	size_t len = 0, used;
	uint8_t *t = acpi_battery_ssdt(&len);
	const uint8_t *bat, *ac;

	(void)state;
	assert_int_equal(t[36], 0x10);
	assert_int_equal(pkglen(t + 37, &used), len - 37);
	assert_memory_equal(t + 37 + used, "\\_SB_", 5);
	bat = find_bytes(t, len, "BAT0", 4);
	assert_non_null(bat);
	/* ExtOpPrefix DeviceOp PkgLength "BAT0" */
	assert_true(bat[-3] == 0x5b || bat[-4] == 0x5b);
	assert_non_null(find_bytes(t, len, hid, sizeof(hid)));
	ac = find_bytes(t, len, "AC__", 4);
	assert_non_null(ac);
	assert_non_null(find_bytes(t, len, "ACPI0003", 9));
	assert_non_null(find_bytes(t, len, psr, sizeof(psr)));
	for (size_t i = 0; i < 4; i++) {
		static const char *const m[] = {"_STA", "_BIF", "_BIX", "_BST"};

		assert_non_null(
			find_bytes(bat, len - (size_t)(bat - t), m[i], 4));
	}
	free(t);
}

static int run(const char *cmd)
{
	int r = system(cmd);

	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

static void test_iasl_roundtrip(void **state)
{
	static const char *const want[] = {
		("DefinitionBlock (\"\", \"SSDT\", 2, \"ALASKA\", \"A M I   "
		 "\", "
		 "0x00000001)"),
		"Scope (\\_SB)",
		"Device (BAT0)",
		"Name (_HID, EisaId (\"PNP0C0A\")",
		"Method (_STA, 0, NotSerialized)",
		"Return (0x1F)",
		"Method (_BIF, 0, NotSerialized)",
		"Package (0x0D)",
		"Method (_BIX, 0, NotSerialized)",
		"Package (0x14)",
		"Method (_BST, 0, NotSerialized)",
		"Package (0x04)",
		"Device (AC)",
		"Name (_HID, \"ACPI0003\"",
		"Method (_PSR, 0, NotSerialized)",
		"Return (One)",
	};
	char dir[] = "/tmp/vmrun-acpi.XXXXXX";
	cleanup_free char *aml = NULL, *cmd = NULL, *dsl = NULL, *log = NULL;
	char *text, *out;
	size_t len;
	uint8_t *t;
	FILE *f;

	(void)state;
	if (run("command -v iasl >/dev/null 2>&1")) {
		/* cmocka 1.1's skip() reads as a failure in TAP. */
		print_message("# SKIP iasl (acpica-tools) is not installed\n");
		return;
	}
	assert_non_null(mkdtemp(dir));
	aml = xasprintf("%s/battery.aml", dir);
	dsl = xasprintf("%s/battery.dsl", dir);
	log = xasprintf("%s/iasl.log", dir);
	t = acpi_battery_ssdt(&len);
	f = fopen(aml, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, len, f), len);
	fclose(f);
	free(t);
	cmd = xasprintf("cd %s && iasl -d battery.aml >iasl.log 2>&1", dir);
	assert_int_equal(run(cmd), 0);
	out = slurp(log);
	text = slurp(dsl);
	/* A clean disassembly: no complaint about the table or its AML. */
	assert_null(strstr(out, "Error"));
	assert_null(strstr(out, "Warning"));
	assert_null(strstr(out, "Invalid"));
	assert_null(strstr(text, "Unknown"));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(text, want[i]))
			fail_msg("iasl -d output lacks: %s\n%s", want[i], text);
	free(out);
	free(text);
	free(cmd);
	cmd = xasprintf("rm -rf %s", dir);
	run(cmd);
}

/* VMRUN_SSDT_OUT=FILE: only write the table there, for the real-QEMU
 * suite (tests/t_qemu_real.sh), which hands it to QEMU. */
static int write_out(const char *path)
{
	size_t len;
	uint8_t *t = acpi_battery_ssdt(&len);
	FILE *f = fopen(path, "wb");
	int r = f && fwrite(t, 1, len, f) == len ? 0 : 1;

	if (f && fclose(f))
		r = 1;
	free(t);
	if (r)
		perror(path);
	return r;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_neutral_strings),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_iasl_roundtrip),
	};

	if (getenv("VMRUN_SSDT_OUT"))
		return write_out(getenv("VMRUN_SSDT_OUT"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
