/* domxml.c: a libvirt domain (the XML `virsh dumpxml` prints), read with
 * libxml2 into a profile: the helpers, the entry point, the VM itself. */
#include "profile/domxml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bool dx_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE &&
	       !strcmp((const char *)n->name, name);
}

xmlNode *dx_next(const xmlNode *n)
{
	for (n = n->next; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return (xmlNode *)n;
	return NULL;
}

xmlNode *dx_first(const xmlNode *n)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return (xmlNode *)n;
	return NULL;
}

xmlNode *dx_child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = dx_first(n); c; c = dx_next(c))
		if (dx_is(c, name))
			return c;
	return NULL;
}

bool dx_attr(const xmlNode *n, const char *name, char *buf, size_t len)
{
	xmlChar *v = n ? xml.get_prop(n, BAD_CAST name) : NULL;

	buf[0] = '\0';
	if (!v)
		return false;
	snprintf(buf, len, "%s", (const char *)v);
	xml.free(v);
	return true;
}

bool dx_attr_is(const xmlNode *n, const char *name, const char *value)
{
	char buf[256];

	return dx_attr(n, name, buf, sizeof(buf)) && !strcmp(buf, value);
}

void dx_text(const xmlNode *n, char *buf, size_t len)
{
	xmlChar *v = xml.node_content(n);
	const char *s = v ? (const char *)v : "";
	size_t end;

	s += strspn(s, " \t\r\n");
	end = strlen(s);
	while (end && strchr(" \t\r\n", s[end - 1]))
		end--;
	snprintf(buf, len, "%.*s", (int)end, s);
	xml.free(v);
}

long dx_line(const xmlNode *n)
{
	return xml.line_no(n);
}

/* "<hostdev type='usb'>": the element and the attribute that says what
 * kind of one it is. */
static void dx_tag(const xmlNode *n, char *buf, size_t len)
{
	static const char *const kinds[] = {"type", "model", "name", "mode",
					    "dev"};
	char v[64];

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (dx_attr(n, kinds[i], v, sizeof(v))) {
			snprintf(buf, len, "<%s %s='%s'>", n->name, kinds[i],
				 v);
			return;
		}
	if (n->properties &&
	    dx_attr(n, (const char *)n->properties->name, v, sizeof(v))) {
		snprintf(buf, len, "<%s %s='%s'>", n->name,
			 (const char *)n->properties->name, v);
		return;
	}
	snprintf(buf, len, "<%s>", n->name);
}

void dx_drop(struct dx *x, const xmlNode *n, const char *fmt, ...)
{
	cleanup_free char *why = NULL;
	char tag[160];
	va_list ap;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	dx_tag(n, tag, sizeof(tag));
	strv_addf(x->dropped, "%s (line %ld): %s", tag, dx_line(n), why);
}

int dx_fail(struct dx *x, const xmlNode *n, const char *fmt, ...)
{
	cleanup_free char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (!x->failed)
		vr_errorx(x->err, EINVAL, "%s:%ld: %s", x->file,
			  n ? dx_line(n) : 0L, msg);
	x->failed = -EINVAL;
	return -EINVAL;
}

void dx_set(struct dx *x, const xmlNode *n, const char *section,
	    const char *key, const char *fmt, ...)
{
	cleanup_free char *v = NULL;
	const char *why;
	va_list ap;

	va_start(ap, fmt);
	v = xvasprintf(fmt, ap);
	va_end(ap);
	if (!pdoc_value_ok(v, &why))
		dx_drop(x, n, "[%s] %s = '%s' cannot be written: %s", section,
			key, v, why);
	else
		pdoc_set(x->d, section, key, "%s", v);
}

void dx_others(struct dx *x, const xmlNode *n, const char *const *known,
	       const char *why)
{
	for (xmlNode *c = dx_first(n); c; c = dx_next(c)) {
		size_t i;

		for (i = 0; known[i] && !dx_is(c, known[i]); i++)
			;
		if (!known[i])
			dx_drop(x, c, "%s",
				why ? why : "vmrun has no equivalent");
	}
}

bool dx_num(const xmlNode *n, const char *name, unsigned long long *v)
{
	char buf[64];

	return dx_attr(n, name, buf, sizeof(buf)) && !parse_uint(buf, ~0ULL, v);
}

static const struct {
	const char *unit;
	uint64_t mult;
} units[] = {
	{"b", 1},	   {"bytes", 1},	{"KB", 1000},
	{"k", KIB},	   {"KiB", KIB},	{"MB", 1000000},
	{"M", MIB},	   {"MiB", MIB},	{"GB", 1000000000},
	{"G", GIB},	   {"GiB", GIB},	{"TB", 1000000000000ULL},
	{"T", 1024 * GIB}, {"TiB", 1024 * GIB},
};

int dx_size(struct dx *x, const xmlNode *n, const char *unit_default,
	    uint64_t *bytes)
{
	char unit[16], text[64];
	unsigned long long v;

	if (!dx_attr(n, "unit", unit, sizeof(unit)))
		snprintf(unit, sizeof(unit), "%s", unit_default);
	dx_text(n, text, sizeof(text));
	if (parse_uint(text, ~0ULL, &v))
		return dx_fail(x, n, "<%s>%s</%s>: not a number", n->name, text,
			       n->name);
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(units[i].unit, unit)) {
			*bytes = v * units[i].mult;
			return 0;
		}
	return dx_fail(x, n,
		       "<%s unit='%s'>: unknown unit (libvirt's are b, "
		       "KiB, MiB, GiB, TiB, KB, MB, GB, TB)",
		       n->name, unit);
}

/* [vm] name: libvirt allows more than a profile does. */
static void dx_name(struct dx *x, const xmlNode *dom)
{
	const xmlNode *n = dx_child(dom, "name");
	char name[256];
	size_t len = 0;

	if (!n) {
		dx_fail(x, dom, "<domain> has no <name>");
		return;
	}
	dx_text(n, name, sizeof(name));
	snprintf(x->domname, sizeof(x->domname), "%s", name);
	for (const char *c = name; *c && len < PROFILE_NAME_MAX; c++)
		x->name[len++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
					"KLMNOPQRSTUVWXYZ0123456789_-",
					*c)
					 ? *c
					 : '-';
	x->name[len] = '\0';
	if (!len)
		snprintf(x->name, sizeof(x->name), "imported");
	if (strcmp(x->name, name))
		dx_drop(x, n,
			"'%s' is not a VM name vmrun takes ([A-Za-z0-9_-], "
			"up to 32): named '%s' instead",
			name, x->name);
	pdoc_set(x->d, "vm", "name", "%s", x->name);
}

static void dx_memory(struct dx *x, const xmlNode *dom)
{
	const xmlNode *n = dx_child(dom, "memory");
	const xmlNode *cur = dx_child(dom, "currentMemory");
	uint64_t mem, now;
	char size[32];

	if (!n) {
		dx_fail(x, dom, "<domain> has no <memory>");
		return;
	}
	if (dx_size(x, n, "KiB", &mem))
		return;
	pdoc_size(mem, size, sizeof(size));
	pdoc_set(x->d, "vm", "memory", "%s", size);
	if (cur && !dx_size(x, cur, "KiB", &now) && now != mem)
		dx_drop(x, cur,
			"the guest starts with all of [vm] memory; a balloon "
			"target is set from inside a running guest");
	if ((n = dx_child(dom, "maxMemory")))
		dx_drop(x, n, "vmrun has no memory hotplug");
}

static void dx_vm(struct dx *x, const xmlNode *dom)
{
	const xmlNode *n;
	char buf[256];

	dx_name(x, dom);
	if ((n = dx_child(dom, "uuid"))) {
		dx_text(n, x->uuid, sizeof(x->uuid));
		dx_set(x, n, "vm", "uuid", "%s", x->uuid);
	}
	if (dx_attr_is(dom, "type", "qemu"))
		pdoc_set(x->d, "vm", "accel", "tcg");
	else if (dx_attr(dom, "type", buf, sizeof(buf)) && strcmp(buf, "kvm"))
		dx_drop(x, dom, "domain type '%s': vmrun runs KVM (or TCG)",
			buf);
	dx_memory(x, dom);
}

/* The parts of <domain>, in the order a profile reads best. */
static const char *const dx_known[] = {"name",	      "uuid",
				       "memory",      "currentMemory",
				       "maxMemory",   "memoryBacking",
				       "vcpu",	      "cputune",
				       "numatune",    "os",
				       "features",    "cpu",
				       "clock",	      "sysinfo",
				       "devices",     "commandline",
				       "override",    "metadata",
				       "title",	      "description",
				       "on_poweroff", "on_reboot",
				       "on_crash",    "pm",
				       "iothreads",   "resource",
				       "seclabel",    "genid",
				       NULL};

static void dx_domain(struct dx *x, const xmlNode *dom)
{
	const xmlNode *n;

	dx_vm(x, dom);
	domxml_clock(x, dom); /* before the features: hypervclock */
	domxml_cpu(x, dom);
	domxml_os(x, dom);
	domxml_sysinfo(x, dom);
	if ((n = dx_child(dom, "devices")))
		domxml_devices(x, n);
	domxml_boot_order(x, dom);
	for (n = dx_first(dom); n; n = dx_next(n)) {
		bool qemu = n->ns && n->ns->href &&
			    !strcmp((const char *)n->ns->href, DX_QEMU_NS);

		if (qemu && dx_is(n, "commandline"))
			domxml_qemu(x, n);
		else if (qemu && dx_is(n, "override"))
			domxml_override(x, n);
	}
	domxml_lifecycle(x, dom);
	dx_others(x, dom, dx_known, NULL);
}

/* The first error the parser meets says what is wrong; later ones are
 * its consequences ("Premature end of data"). */
struct dx_xml_error {
	int line;
	char msg[256];
};

static void dx_xml_error(void *data, xmlErrorPtr e)
{
	struct dx_xml_error *first = data;

	if (first->msg[0] || e->level < XML_ERR_ERROR)
		return;
	first->line = e->line;
	snprintf(first->msg, sizeof(first->msg), "%.*s",
		 e->message ? (int)strcspn(e->message, "\n") : 0,
		 e->message ? e->message : "");
}

static int dx_parse(const char *text, size_t len, const char *file,
		    xmlDoc **doc, struct vr_error *err)
{
	struct dx_xml_error first = {0};
	xmlParserCtxt *ctxt = xml.new_parser_ctxt();

	if (!ctxt)
		return vr_errorx(err, ENOMEM, "%s: cannot start the XML reader",
				 file);
	/* no network, no entities from elsewhere, errors only to us */
	xml.set_error_func(&first, dx_xml_error);
	*doc = xml.ctxt_read_memory(ctxt, text, (int)len, file, NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR |
					    XML_PARSE_NOWARNING |
					    XML_PARSE_BIG_LINES);
	xml.set_error_func(NULL, NULL);
	xml.free_parser_ctxt(ctxt);
	if (*doc)
		return 0;
	return vr_errorx(err, EINVAL, "%s:%d: not well-formed XML: %s", file,
			 first.line, first.msg[0] ? first.msg : "unreadable");
}

int domxml_import(const char *text, size_t len, const char *file,
		  struct pdoc *d, struct strv *dropped, struct vr_error *err)
{
	struct dx x = {.file = file, .d = d, .dropped = dropped, .err = err};
	xmlDoc *doc = NULL;
	xmlNode *root;
	int r;

	if (len > INT32_MAX)
		return vr_errorx(err, EFBIG, "%s: too large", file);
	r = xmllib_open(err);
	if (r)
		return r;
	r = dx_parse(text, len, file, &doc, err);
	if (r)
		return r;
	root = xml.doc_root(doc);
	if (!dx_is(root, "domain"))
		r = dx_fail(&x, root,
			    "<%s> is not a libvirt domain (virsh dumpxml "
			    "prints one, starting with <domain>)",
			    root ? (const char *)root->name : "");
	else
		dx_domain(&x, root);
	r = r ? r : x.failed;
	for (size_t i = 0; i < ARRAY_SIZE(x.hostdev); i++)
		free(x.hostdev[i]);
	strv_free(&x.os_boot);
	xml.free_doc(doc);
	return r;
}
