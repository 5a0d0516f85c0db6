/* acpi.c: the fake-battery SSDT, AML encoded with a tiny builder (ACPI 6.4
 * section 20): a full battery on AC power, what laptop GPU drivers want. */
#include "ops/ops.h"
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

/* AML opcodes used here (ACPI 6.4, 20.2). */
#define AML_ZERO    0x00
#define AML_ONE	    0x01
#define AML_NAME    0x08
#define AML_BYTE    0x0a
#define AML_WORD    0x0b
#define AML_DWORD   0x0c
#define AML_STRING  0x0d
#define AML_SCOPE   0x10
#define AML_PACKAGE 0x12
#define AML_METHOD  0x14
#define AML_ROOT    '\\'
#define AML_EXT	    0x5b
#define AML_DEVICE  0x82 /* after AML_EXT */
#define AML_RETURN  0xa4

#define ACPI_HEADER_LEN 36

/* Battery values in mWh and mV: a 50 Wh, 11.1 V pack, full. */
#define BAT_CAPACITY 50000
#define BAT_VOLTAGE  11100
#define BAT_WARNING  5000
#define BAT_LOW	     2000

struct aml {
	uint8_t *b;
	size_t n, cap;
};

static void aml_put(struct aml *a, const void *p, size_t n)
{
	if (a->n + n > a->cap) {
		a->cap = (a->n + n) * 2 + 64;
		a->b = xrealloc(a->b, a->cap);
	}
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_put(a, &v, 1);
}

static void aml_le(struct aml *a, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* A NameSeg is exactly four characters, '_'-padded. */
static void aml_nameseg(struct aml *a, const char *name)
{
	char seg[4] = {'_', '_', '_', '_'};

	memcpy(seg, name, strnlen(name, 4));
	aml_put(a, seg, 4);
}

/* The shortest integer encoding, as iasl emits. (Not OnesOp for
 * 0xffffffff: in a revision 2 table Ones is 64 bits wide.) */
static void aml_int(struct aml *a, uint32_t v)
{
	if (v == 0 || v == 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		aml_le(a, v, 2);
	} else {
		aml_byte(a, AML_DWORD);
		aml_le(a, v, 4);
	}
}

static void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_put(a, s, strlen(s) + 1);
}

/* PkgLength (20.2.4) counts its own bytes: one byte up to 63, else a
 * lead byte holding the byte count and the low nibble. */
static void aml_pkglen(struct aml *a, size_t body)
{
	size_t len = body + 1;

	if (len < 0x40) {
		aml_byte(a, (uint8_t)len);
		return;
	}
	for (int extra = 1; extra <= 3; extra++) {
		len = body + 1 + (size_t)extra;
		if (len < (size_t)1 << (4 + 8 * extra)) {
			aml_byte(a, (uint8_t)(extra << 6 | (len & 0x0f)));
			aml_le(a, (uint32_t)(len >> 4), extra);
			return;
		}
	}
}

/* op [ext] PkgLength body; body is consumed. */
static void aml_block(struct aml *a, const uint8_t *op, size_t oplen,
		      struct aml *body)
{
	aml_put(a, op, oplen);
	aml_pkglen(a, body->n);
	aml_put(a, body->b, body->n);
	free(body->b);
	*body = (struct aml){0};
}

static void aml_name_int(struct aml *a, const char *name, uint32_t v)
{
	aml_byte(a, AML_NAME);
	aml_nameseg(a, name);
	aml_int(a, v);
}

/* Method (NAME, 0, NotSerialized) { Return (body) } */
static void aml_method_return(struct aml *a, const char *name,
			      struct aml *value)
{
	static const uint8_t op = AML_METHOD;
	struct aml m = {0};

	aml_nameseg(&m, name);
	aml_byte(&m, 0); /* no arguments, not serialized */
	aml_byte(&m, AML_RETURN);
	aml_put(&m, value->b, value->n);
	free(value->b);
	*value = (struct aml){0};
	aml_block(a, &op, 1, &m);
}

static void aml_method_int(struct aml *a, const char *name, uint32_t v)
{
	struct aml value = {0};

	aml_int(&value, v);
	aml_method_return(a, name, &value);
}

/* Package of integers, then strings. */
static void aml_package(struct aml *a, const uint32_t *ints, size_t nints,
			const char *const *strs, size_t nstrs)
{
	static const uint8_t op = AML_PACKAGE;
	struct aml p = {0};

	aml_byte(&p, (uint8_t)(nints + nstrs));
	for (size_t i = 0; i < nints; i++)
		aml_int(&p, ints[i]);
	for (size_t i = 0; i < nstrs; i++)
		aml_string(&p, strs[i]);
	aml_block(a, &op, 1, &p);
}

/* Model, serial, type, OEM: what a laptop's own battery reports. Anti-VM
 * and anti-cheat code reads these; nothing here names vmrun or a VM. */
static const char *const bat_strings[] = {"Primary", "0001", "LION", "SMP"};

/* _BIF (10.2.2.1): unit mWh, design = last full, rechargeable. */
static void battery_bif(struct aml *dev)
{
	const uint32_t v[] = {0,       BAT_CAPACITY, BAT_CAPACITY,
			      1,       BAT_VOLTAGE,  BAT_WARNING,
			      BAT_LOW, 100,	     100};
	struct aml pkg = {0};

	aml_package(&pkg, v, ARRAY_SIZE(v), bat_strings,
		    ARRAY_SIZE(bat_strings));
	aml_method_return(dev, "_BIF", &pkg);
}

/* _BIX (10.2.2.2) revision 0, which Windows prefers to _BIF. */
static void battery_bix(struct aml *dev)
{
	const uint32_t v[] = {
		0,	     0,		  BAT_CAPACITY, BAT_CAPACITY,
		1,	     BAT_VOLTAGE, BAT_WARNING,	BAT_LOW,
		0,	     100000,	  0xffffffffu,	0xffffffffu,
		0xffffffffu, 0xffffffffu, 100,		100};
	struct aml pkg = {0};

	aml_package(&pkg, v, ARRAY_SIZE(v), bat_strings,
		    ARRAY_SIZE(bat_strings));
	aml_method_return(dev, "_BIX", &pkg);
}

/* _BST (10.2.2.6): neither charging nor discharging, rate 0, full. */
static void battery_bst(struct aml *dev)
{
	const uint32_t v[] = {0, 0, BAT_CAPACITY, BAT_VOLTAGE};
	struct aml pkg = {0};

	aml_package(&pkg, v, ARRAY_SIZE(v), NULL, 0);
	aml_method_return(dev, "_BST", &pkg);
}

static void device_battery(struct aml *scope)
{
	static const uint8_t op[] = {AML_EXT, AML_DEVICE};
	struct aml dev = {0};

	aml_nameseg(&dev, "BAT0");
	/* EisaId ("PNP0C0A"), the Control Method Battery. */
	aml_name_int(&dev, "_HID", 0x0a0cd041);
	aml_name_int(&dev, "_UID", 1);
	/* Present, enabled, shown, working, battery present. */
	aml_method_int(&dev, "_STA", 0x1f);
	battery_bif(&dev);
	battery_bix(&dev);
	battery_bst(&dev);
	aml_block(scope, op, 2, &dev);
}

static void device_ac(struct aml *scope)
{
	static const uint8_t op[] = {AML_EXT, AML_DEVICE};
	struct aml dev = {0};

	aml_nameseg(&dev, "AC__");
	aml_byte(&dev, AML_NAME);
	aml_nameseg(&dev, "_HID");
	aml_string(&dev, "ACPI0003");
	aml_method_int(&dev, "_STA", 0x0f);
	aml_method_int(&dev, "_PSR", 1); /* on line power */
	aml_block(scope, op, 2, &dev);
}

static void acpi_header(uint8_t *t, size_t len)
{
	uint8_t sum = 0;

	memcpy(t, "SSDT", 4);
	for (int i = 0; i < 4; i++)
		t[4 + i] = (uint8_t)(len >> (8 * i));
	t[8] = 2; /* revision: 64-bit integers */
	t[9] = 0; /* checksum, below */
	/* the OEM and creator IDs most firmware tables carry (AMI's
	 * defaults, Intel's ASL compiler), not ones that name a VM */
	memcpy(t + 10, "ALASKA", 6);
	memcpy(t + 16, "A M I   ", 8);
	t[24] = 1; /* OEM revision */
	memcpy(t + 28, "INTL", 4);
	t[32] = 0x25; /* creator revision 0x20200925 */
	t[33] = 0x09;
	t[34] = 0x20;
	t[35] = 0x20;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	t[9] = (uint8_t)(0x100 - sum);
}

uint8_t *acpi_battery_ssdt(size_t *len)
{
	static const uint8_t op = AML_SCOPE;
	struct aml table = {0}, scope = {0};
	uint8_t header[ACPI_HEADER_LEN] = {0};

	aml_byte(&scope, AML_ROOT);
	aml_nameseg(&scope, "_SB_");
	device_battery(&scope);
	device_ac(&scope);
	aml_put(&table, header, sizeof(header));
	aml_block(&table, &op, 1, &scope);
	acpi_header(table.b, table.n);
	*len = table.n;
	return table.b;
}
