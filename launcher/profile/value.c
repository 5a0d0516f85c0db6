/* value.c: the value syntaxes of the profile's schema table: each
 * parser writes one field or says what is wrong and what is allowed. */
#include "profile/schema.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(enum vm_accel) == sizeof(int), "enums are ints");

int pval_fail(struct pval *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool all_in(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

static void set_str(struct pval *v, char *s)
{
	char **f = v->field;

	free(*f);
	*f = s;
}

/* Free text: printable, no control characters, length in [min, max]. */
static int check_text(struct pval *v)
{
	size_t len = strlen(v->s);

	for (const char *s = v->s; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return pval_fail(v, "control characters are not "
					    "allowed");
	if (v->key->max && len > v->key->max)
		return pval_fail(v,
				 "'%s' is %zu characters long; the limit is "
				 "%llu",
				 v->s, len, v->key->max);
	return 0;
}

static int parse_str(struct pval *v)
{
	if (check_text(v))
		return -EINVAL;
	set_str(v, xstrdup(v->s));
	return 0;
}
const struct ptype pt_str = {parse_str, "text", PS_STR};

static int parse_strlist(struct pval *v)
{
	if (check_text(v))
		return -EINVAL;
	strv_add(v->field, v->s);
	return 0;
}
const struct ptype pt_strlist = {parse_strlist, "text", PS_STRV};

/* Names that end up inside QEMU options: no commas, spaces or quotes. */
static int parse_word(struct pval *v)
{
	if (!all_in(v->s, "_.-"))
		return pval_fail(v,
				 "'%s' is not a valid name; use letters, "
				 "digits, '.', '_' and '-'",
				 v->s);
	if (check_text(v))
		return -EINVAL;
	set_str(v, xstrdup(v->s));
	return 0;
}
const struct ptype pt_word = {parse_word, "a name", PS_STR};

static int parse_user(struct pval *v)
{
	if (v->s[0] == '-' || !all_in(v->s, "_.-"))
		return pval_fail(v, "'%s' is not a user or group name", v->s);
	if (check_text(v))
		return -EINVAL;
	set_str(v, xstrdup(v->s));
	return 0;
}
const struct ptype pt_user = {parse_user, "a user or group name", PS_STR};

/* Linux interface names: IFNAMSIZ - 1 characters. */
static int parse_ifname(struct pval *v)
{
	if (strlen(v->s) > 15 || !all_in(v->s, "_.-") || !strcmp(v->s, ".") ||
	    !strcmp(v->s, ".."))
		return pval_fail(v,
				 "'%s' is not a network interface name; "
				 "use up to 15 letters, digits, '.', '_' "
				 "or '-'",
				 v->s);
	set_str(v, xstrdup(v->s));
	return 0;
}
const struct ptype pt_ifname = {parse_ifname, "an interface name", PS_STR};

static int parse_unit(struct pval *v)
{
	if (!all_in(v->s, ":_.@\\-"))
		return pval_fail(v,
				 "'%s' is not a systemd unit name, such as "
				 "display-manager.service",
				 v->s);
	if (check_text(v))
		return -EINVAL;
	strv_add(v->field, v->s);
	return 0;
}
const struct ptype pt_unit = {parse_unit, "systemd unit names", PS_STRV};

static int parse_bool_val(struct pval *v)
{
	if (parse_bool(v->s, v->field))
		return pval_fail(v,
				 "'%s' is not a boolean; use yes/no, "
				 "on/off, true/false or 1/0",
				 v->s);
	return 0;
}
const struct ptype pt_bool = {parse_bool_val, "yes/no"};

static int parse_uint_val(struct pval *v)
{
	unsigned long long n;
	int r = parse_uint(v->s, ~0ULL, &n);

	if (r == -EINVAL)
		return pval_fail(v,
				 "'%s' is not a whole number; expected %llu "
				 "to %llu",
				 v->s, v->key->min, v->key->max);
	if (r || n < v->key->min || n > v->key->max)
		return pval_fail(v, "%s is out of range; expected %llu to %llu",
				 v->s, v->key->min, v->key->max);
	*(unsigned *)v->field = (unsigned)n;
	return 0;
}
const struct ptype pt_uint = {parse_uint_val, "a number"};

static const struct enum_val *enum_find(const struct pval *v)
{
	for (const struct enum_val *e = v->key->choices; e->name; e++)
		if (!strcasecmp(e->name, v->s))
			return e;
	return NULL;
}

static int enum_fail(struct pval *v)
{
	char list[160] = "";
	size_t n = 0;

	for (const struct enum_val *e = v->key->choices; e->name; e++)
		n += (size_t)snprintf(list + n,
				      n < sizeof(list) ? sizeof(list) - n : 0,
				      "%s%s", n ? ", " : "", e->name);
	return pval_fail(v, "'%s' is not allowed; use one of: %s", v->s, list);
}

static int parse_enum(struct pval *v)
{
	const struct enum_val *e = enum_find(v);

	if (!e)
		return enum_fail(v);
	*(int *)v->field = e->value;
	return 0;
}
const struct ptype pt_enum = {parse_enum, "one of the listed values"};

/* auto/yes/no; the boolean spellings are accepted too. */
static int parse_tristate(struct pval *v)
{
	bool b;

	if (!enum_find(v) && !parse_bool(v->s, &b)) {
		*(int *)v->field = b ? TRI_YES : TRI_NO;
		return 0;
	}
	return parse_enum(v);
}
const struct ptype pt_tristate = {parse_tristate, "auto, yes, no"};

/* One of the choices, kept as its canonical string. */
static int parse_choice_str(struct pval *v)
{
	const struct enum_val *e = enum_find(v);

	if (!e)
		return enum_fail(v);
	set_str(v, xstrdup(e->name));
	return 0;
}
const struct ptype pt_choice_str = {parse_choice_str, "one of the values",
				    PS_STR};

void profile_size_format(uint64_t v, char *buf, size_t len)
{
	static const char suffix[] = "KMGT";
	int i = -1;

	while (i < 3 && v && v % 1024 == 0) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, suffix[i]);
}

static int parse_size_val(struct pval *v)
{
	char lim[32];
	uint64_t n = 0;
	int r = parse_size(v->s, &n);

	if (r == -EINVAL)
		return pval_fail(v,
				 "'%s' is not a size; expected a number with "
				 "an optional K, M, G or T suffix, such as "
				 "16G",
				 v->s);
	/* past 2^64 bytes: n was never set, and it is too large, never too
	 * small */
	if (r == -ERANGE)
		n = UINT64_MAX;
	if (n < v->key->min) {
		profile_size_format(v->key->min, lim, sizeof(lim));
		return pval_fail(v, "%s is too small; the minimum is %s", v->s,
				 lim);
	}
	if (n > v->key->max) {
		profile_size_format(v->key->max, lim, sizeof(lim));
		return pval_fail(v, "%s is too large; the maximum is %s", v->s,
				 lim);
	}
	*(uint64_t *)v->field = n;
	return 0;
}
const struct ptype pt_size = {parse_size_val, "a size such as 16G"};

static int parse_cpulist_val(struct pval *v)
{
	struct cpulist cl;
	const char *why;

	if (cpulist_parse(v->s, &cl, &why))
		return pval_fail(v, "'%s' is not a CPU list: %s", v->s, why);
	cpulist_free(v->field);
	*(struct cpulist *)v->field = cl;
	return 0;
}
const struct ptype pt_cpulist = {parse_cpulist_val, "a CPU list (0-3,8)",
				 PS_CPULIST};

static int parse_vmname(struct pval *v)
{
	size_t len = strlen(v->s);

	if (len > PROFILE_NAME_MAX || !all_in(v->s, "_-"))
		return pval_fail(v,
				 "'%s' is not a valid name; use 1 to %d "
				 "letters, digits, '_' or '-'",
				 v->s, PROFILE_NAME_MAX);
	memcpy(v->field, v->s, len + 1);
	v->ctx->name_set = true;
	return 0;
}
const struct ptype pt_vmname = {parse_vmname, "[A-Za-z0-9_-]{1,32}"};

static int parse_uuid(struct pval *v)
{
	struct profile_vm *vm = v->base;
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	for (i = 0; form[i] && v->s[i]; i++)
		if (form[i] == 'x' ? !isxdigit((unsigned char)v->s[i])
				   : v->s[i] != '-')
			break;
	if (form[i] || v->s[i])
		return pval_fail(v,
				 "'%s' is not a UUID; expected the form "
				 "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx "
				 "(hex digits), e.g. from uuidgen",
				 v->s);
	for (i = 0; v->s[i]; i++)
		vm->uuid[i] = (char)tolower((unsigned char)v->s[i]);
	vm->uuid[i] = '\0';
	vm->has_uuid = true;
	return 0;
}
const struct ptype pt_uuid = {parse_uuid, "a UUID"};

static int parse_machine(struct pval *v)
{
	unsigned maj, min;
	int n = -1;

	if (strcmp(v->s, "q35") &&
	    (sscanf(v->s, "pc-q35-%3u.%3u%n", &maj, &min, &n) != 2 ||
	     n != (int)strlen(v->s) || !isdigit((unsigned char)v->s[7])))
		return pval_fail(v,
				 "'%s' is not supported; use q35 or a "
				 "versioned pc-q35-X.Y such as pc-q35-7.2 "
				 "(PCIe passthrough needs the Q35 chipset)",
				 v->s);
	set_str(v, xstrdup(v->s));
	return 0;
}
const struct ptype pt_machine = {parse_machine, "q35 or pc-q35-X.Y", PS_STR};

static int parse_numa(struct pval *v)
{
	unsigned long long n;

	if (!strcasecmp(v->s, "auto")) {
		*(int *)v->field = -1;
		return 0;
	}
	if (parse_uint(v->s, v->key->max, &n))
		return pval_fail(v,
				 "'%s' is not a NUMA node; use auto or a "
				 "node number from 0 to %llu",
				 v->s, v->key->max);
	*(int *)v->field = (int)n;
	return 0;
}
const struct ptype pt_numa = {parse_numa, "auto or a node number"};

static int parse_auto_count(struct pval *v)
{
	unsigned long long n;

	if (!strcasecmp(v->s, "auto")) {
		*(unsigned *)v->field = 0;
		return 0;
	}
	if (parse_uint(v->s, v->key->max, &n) || n < 1)
		return pval_fail(v,
				 "'%s' is not a count; use auto or a number "
				 "from 1 to %llu",
				 v->s, v->key->max);
	*(unsigned *)v->field = (unsigned)n;
	return 0;
}
const struct ptype pt_auto_count = {parse_auto_count,
				    "auto or a number from 1"};

static int parse_pci_host(struct pval *v)
{
	if (pci_addr_parse(v->s, v->field))
		return pval_fail(v,
				 "'%s' is not a PCI address; expected "
				 "DDDD:BB:DD.F or BB:DD.F such as 01:00.0 "
				 "(see lspci -D)",
				 v->s);
	return 0;
}
const struct ptype pt_pci_host = {parse_pci_host, "DDDD:BB:DD.F or BB:DD.F"};

/* Slot 0 of bus 0 is Q35's host bridge and 00:1f.x its ICH9 LPC, SATA
 * and SMBus functions: QEMU puts them there whatever the profile says. */
static int parse_pci_guest(struct pval *v)
{
	struct profile_pci *pci = v->base;
	struct pci_addr a;

	if (pci_addr_parse(v->s, &a) || a.domain)
		return pval_fail(v,
				 "'%s' is not a guest PCI address; expected "
				 "BB:DD.F such as 01:00.0",
				 v->s);
	if (a.bus == 0 && a.dev == 0)
		return pval_fail(v,
				 "%s is the guest's host bridge (slot 00:00); "
				 "use another address, e.g. 01:00.0",
				 v->s);
	if (a.bus == 0 && a.dev == 0x1f)
		return pval_fail(v,
				 "%s is taken by the ICH9 LPC/SATA/SMBus "
				 "functions (slot 00:1f); use another "
				 "address, e.g. 01:00.0",
				 v->s);
	pci->guest_address = a;
	pci->has_guest_address = true;
	return 0;
}
const struct ptype pt_pci_guest = {parse_pci_guest, "BB:DD.F"};

static bool hex_digits(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return !s[n] && n >= min && n <= max;
}

static int parse_hex16(struct pval *v)
{
	const char *s = v->s;

	if (!strcasecmp(s, "host")) {
		*(int *)v->field = -1;
		return 0;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!hex_digits(s, 1, 4))
		return pval_fail(v,
				 "'%s' is not a 16-bit hex ID; expected e.g. "
				 "10de or 0x10de (or host)",
				 v->s);
	*(int *)v->field = (int)strtol(s, NULL, 16);
	return 0;
}
const struct ptype pt_hex16 = {parse_hex16, "16-bit hex ID, or host"};

static int parse_mac(struct pval *v)
{
	struct profile_net *net = v->base;
	unsigned b[6];
	int n = -1;

	if (strlen(v->s) != 17 ||
	    sscanf(v->s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2],
		   &b[3], &b[4], &b[5], &n) != 6 ||
	    n != 17 || !all_in(v->s, ":"))
		return pval_fail(v,
				 "'%s' is not a MAC address; expected six "
				 "hex bytes such as 52:54:00:12:34:56",
				 v->s);
	if (b[0] & 1)
		return pval_fail(v,
				 "%s is a multicast address; the first byte "
				 "must be even (e.g. 52:54:00:...)",
				 v->s);
	if (!(b[0] | b[1] | b[2] | b[3] | b[4] | b[5]))
		return pval_fail(v, "00:00:00:00:00:00 is not a usable MAC "
				    "address");
	snprintf(net->mac, sizeof(net->mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 b[0] & 0xff, b[1] & 0xff, b[2] & 0xff, b[3] & 0xff,
		 b[4] & 0xff, b[5] & 0xff);
	net->has_mac = true;
	return 0;
}
const struct ptype pt_mac = {parse_mac, "a unicast MAC address"};

/* VENDOR:PRODUCT in hex (lsusb's IDs) or BUS-PORT[.PORT...] (1-2.3). */
static int usb_parse(const char *s, struct usb_dev *u)
{
	const char *dash = strchr(s, '-'), *p;
	char *end;

	if (strchr(s, ':')) {
		char vendor[8];
		size_t vl = strcspn(s, ":");

		if (vl > 4 || !hex_digits(s + vl + 1, 1, 4))
			return -EINVAL;
		memcpy(vendor, s, vl);
		vendor[vl] = '\0';
		if (!hex_digits(vendor, 1, 4))
			return -EINVAL;
		u->by_id = true;
		u->vendor = (unsigned)strtoul(vendor, NULL, 16);
		u->product = (unsigned)strtoul(s + vl + 1, NULL, 16);
		return 0;
	}
	if (!dash || !isdigit((unsigned char)s[0]) || strlen(dash + 1) >= 32)
		return -EINVAL;
	u->bus = (unsigned)strtoul(s, &end, 10);
	if (end != dash || u->bus < 1 || u->bus > 255)
		return -EINVAL;
	/* ports: numbers 1-255 joined by dots, at most 7 tiers deep */
	p = dash + 1;
	for (int tier = 1;; tier++) {
		unsigned long port = strtoul(p, &end, 10);

		if (tier > 7 || !isdigit((unsigned char)*p) || port < 1 ||
		    port > 255)
			return -EINVAL;
		if (!*end)
			break;
		if (*end != '.')
			return -EINVAL;
		p = end + 1;
	}
	snprintf(u->port, sizeof(u->port), "%s", dash + 1);
	u->by_id = false;
	return 0;
}

static int parse_usb(struct pval *v)
{
	struct profile *p = v->ctx->p;
	struct usb_dev u = {0};

	if (usb_parse(v->s, &u))
		return pval_fail(v,
				 "'%s' is not a USB device; expected "
				 "VENDOR:PRODUCT in hex (see lsusb, e.g. "
				 "046d:c52b) or BUS-PORT (e.g. 1-2.3)",
				 v->s);
	for (size_t i = 0; i < p->nusb; i++)
		if (u.by_id == p->usb[i].by_id &&
		    (u.by_id ? u.vendor == p->usb[i].vendor &&
				       u.product == p->usb[i].product
			     : u.bus == p->usb[i].bus &&
				       !strcmp(u.port, p->usb[i].port)))
			return pval_fail(v, "%s is listed twice", v->s);
	p->usb = xrealloc(p->usb, (p->nusb + 1) * sizeof(*p->usb));
	p->usb[p->nusb++] = u;
	return 0;
}
const struct ptype pt_usb = {parse_usb, "VENDOR:PRODUCT or BUS-PORT", PS_PTR};

static int parse_address(struct pval *v)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, v->s, buf) != 1 &&
	    inet_pton(AF_INET6, v->s, buf) != 1)
		return pval_fail(v,
				 "'%s' is not an IP address; use e.g. "
				 "127.0.0.1, 0.0.0.0 or ::1",
				 v->s);
	set_str(v, xstrdup(v->s));
	return 0;
}
const struct ptype pt_address = {parse_address, "an IPv4 or IPv6 address",
				 PS_STR};
