/* domxml_cmd.c: what a libvirt domain adds to QEMU's command line by hand
 * (<qemu:commandline>, <qemu:override>): ACPI tables, the ids of passed
 * devices, Looking Glass on kvmfr, and the rest as [qemu] arg. */
#include "profile/domxml.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Property key of a -device/-object value, JSON or key=value syntax; the
 * driver or qom-type is the first bare word of the latter. */
static bool opt_get(const char *arg, const char *key, char *buf, size_t len)
{
	cleanup_free char *copy = NULL;
	char *save = NULL;
	bool first = true;

	buf[0] = '\0';
	if (arg[0] == '{') {
		json_object *o = json_tokener_parse(arg), *v;
		bool found = o && json_object_object_get_ex(o, key, &v);

		if (found)
			snprintf(buf, len, "%s", json_object_get_string(v));
		json_object_put(o);
		return found;
	}
	copy = xstrdup(arg);
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(t, '=');

		if ((!eq && first &&
		     (!strcmp(key, "driver") || !strcmp(key, "qom-type"))) ||
		    (eq && (size_t)(eq - t) == strlen(key) &&
		     !strncmp(t, key, strlen(key)))) {
			snprintf(buf, len, "%s", eq ? eq + 1 : t);
			return true;
		}
	}
	return false;
}

/* The -object memory-backend-file that -device ivshmem-plain at args[i+1]
 * maps, as its index; -1 when it is not Looking Glass's pair. */
static ssize_t lg_object(const struct strv *args, size_t i)
{
	char drv[64], mem[64], id[64], type[64];

	if (i + 1 >= args->n ||
	    !opt_get(args->v[i + 1], "driver", drv, sizeof(drv)) ||
	    strcmp(drv, "ivshmem-plain") ||
	    !opt_get(args->v[i + 1], "memdev", mem, sizeof(mem)))
		return -1;
	for (size_t j = 0; j + 1 < args->n; j++)
		if (!strcmp(args->v[j], "-object") &&
		    opt_get(args->v[j + 1], "id", id, sizeof(id)) &&
		    !strcmp(id, mem) &&
		    opt_get(args->v[j + 1], "qom-type", type, sizeof(type)) &&
		    !strcmp(type, "memory-backend-file"))
			return (ssize_t)j;
	return -1;
}

static bool lg_take(struct dx *x, const xmlNode *n, const char *obj)
{
	char path[256], size[64];
	uint64_t bytes;
	const char *why;

	if (x->lg || !opt_get(obj, "mem-path", path, sizeof(path)) ||
	    !opt_get(obj, "size", size, sizeof(size)) ||
	    parse_size(size, &bytes) || !pdoc_value_ok(path, &why))
		return false;
	x->lg = true;
	pdoc_set(x->d, "looking-glass", "device", "%s", path);
	pdoc_size(bytes, size, sizeof(size));
	pdoc_set(x->d, "looking-glass", "size", "%s", size);
	(void)n;
	return true;
}

/* "file=A:B" of -acpitable: its tables; false for other options. */
static bool acpi_take(struct dx *x, const xmlNode *n, const char *val)
{
	cleanup_free char *files = NULL;
	char *save = NULL;

	if (strncmp(val, "file=", 5) || strchr(val, ','))
		return false;
	files = xstrdup(val + 5);
	for (char *f = strtok_r(files, ":", &save); f;
	     f = strtok_r(NULL, ":", &save))
		dx_set(x, n, "acpi", "table", "%s", f);
	return true;
}

static const char *const id_props[][2] = {
	{"x-pci-vendor-id", "vendor-id"},
	{"x-pci-device-id", "device-id"},
	{"x-pci-sub-vendor-id", "sub-vendor-id"},
	{"x-pci-sub-device-id", "sub-device-id"},
};

/* prop = value on libvirt's device alias: a [pci.*] id key. */
static bool prop_take(struct dx *x, const char *alias, const char *prop,
		      const char *value)
{
	unsigned long long v, i;

	if (strncmp(alias, "hostdev", 7) || parse_uint(alias + 7, 63, &i) ||
	    !x->hostdev[i] || parse_uint(value, 0xffff, &v))
		return false;
	for (size_t k = 0; k < ARRAY_SIZE(id_props); k++)
		if (!strcmp(prop, id_props[k][0])) {
			pdoc_set(x->d, x->hostdev[i], id_props[k][1],
				 "0x%04llx", v);
			return true;
		}
	return false;
}

/* "device.hostdev0.x-pci-sub-vendor-id=0x17aa" of -set. */
static bool set_take(struct dx *x, const char *val)
{
	cleanup_free char *copy = xstrdup(val);
	char *alias, *prop, *eq;

	if (strncmp(copy, "device.", 7))
		return false;
	alias = copy + 7;
	prop = strchr(alias, '.');
	eq = prop ? strchr(prop, '=') : NULL;
	if (!eq)
		return false;
	*prop++ = '\0';
	*eq = '\0';
	return prop_take(x, alias, prop, eq + 1);
}

/* [qemu] arg of a->v[i], with the value after it when it is an option
 * that takes one: both, or neither when either cannot be written. The
 * number of arguments beyond the first taken. */
static size_t qemu_arg(struct dx *x, const xmlNode *n, const struct strv *a,
		       size_t i)
{
	bool pair = a->v[i][0] == '-' && i + 1 < a->n && a->v[i + 1][0] != '-';
	const char *why;

	for (size_t k = i; k <= i + pair; k++)
		if (!pdoc_value_ok(a->v[k], &why)) {
			dx_drop(x, n,
				"QEMU argument%s '%s%s%s' cannot be "
				"written into a profile: %s",
				pair ? "s" : "", a->v[i], pair ? " " : "",
				pair ? a->v[i + 1] : "", why);
			return pair;
		}
	for (size_t k = i; k <= i + pair; k++)
		pdoc_set(x->d, "qemu", "arg", "%s", a->v[k]);
	return pair;
}

static void qemu_args(struct dx *x, const xmlNode *n, const struct strv *a)
{
	bool *used = xcalloc(a->n + 1, sizeof(*used));

	for (size_t i = 0; i < a->n; i++) {
		ssize_t obj;

		if (used[i] || i + 1 >= a->n)
			continue;
		if ((!strcmp(a->v[i], "-acpitable") &&
		     acpi_take(x, n, a->v[i + 1])) ||
		    (!strcmp(a->v[i], "-set") && set_take(x, a->v[i + 1])))
			used[i] = used[i + 1] = true;
		else if (!strcmp(a->v[i], "-device") &&
			 (obj = lg_object(a, i)) >= 0 &&
			 lg_take(x, n, a->v[obj + 1]))
			used[i] = used[i + 1] = used[obj] = used[obj + 1] =
				true;
	}
	for (size_t i = 0; i < a->n; i++)
		if (!used[i])
			i += qemu_arg(x, n, a, i);
	free(used);
}

void domxml_qemu(struct dx *x, const xmlNode *cmdline)
{
	struct strv args = {0};
	char v[4096];

	for (xmlNode *n = dx_first(cmdline); n; n = dx_next(n)) {
		if (dx_is(n, "arg") && dx_attr(n, "value", v, sizeof(v)))
			strv_add(&args, v);
		else
			dx_drop(x, n,
				"vmrun passes QEMU no environment of "
				"the profile's");
	}
	qemu_args(x, cmdline, &args);
	for (size_t i = 0; i < args.n; i++)
		if (!strcmp(args.v[i], "-cpu")) {
			dx_drop(x, cmdline,
				"-cpu by hand: as [qemu] arg it replaces the "
				"whole -cpu vmrun builds (QEMU takes the last "
				"one)");
			break;
		}
	strv_free(&args);
}

void domxml_override(struct dx *x, const xmlNode *override)
{
	for (xmlNode *dev = dx_first(override); dev; dev = dx_next(dev)) {
		char alias[64], name[64], value[64];
		xmlNode *fe = dx_child(dev, "frontend");

		dx_attr(dev, "alias", alias, sizeof(alias));
		for (xmlNode *p = dx_first(fe); p; p = dx_next(p)) {
			dx_attr(p, "name", name, sizeof(name));
			dx_attr(p, "value", value, sizeof(value));
			if (!prop_take(x, alias, name, value))
				dx_drop(x, p,
					"a property of libvirt's device %s: "
					"vmrun sets the PCI ids of [pci.*] "
					"only",
					alias);
		}
		if (!fe)
			dx_drop(x, dev, "vmrun overrides nothing of QEMU's");
	}
}
