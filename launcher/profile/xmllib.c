/* xmllib.c: libxml2, opened when a libvirt domain XML is read (vmrun
 * import). Linked, it would be loaded with what it needs (ICU, liblzma,
 * libstdc++) into every vmrun started, for every VM start, status and
 * stop: about 1 ms of each start, for the one command that reads XML. */
#include "profile/domxml.h"

#include <dlfcn.h>
#include <errno.h>

#define XMLLIB_SONAME "libxml2.so.2"

struct xmllib xml;

struct xmllib_sym {
	const char *name;
	void **fn;
};

static int xmllib_bind(void *h, struct vr_error *err)
{
	const struct xmllib_sym syms[] = {
		{"xmlNewParserCtxt", (void **)&xml.new_parser_ctxt},
		{"xmlFreeParserCtxt", (void **)&xml.free_parser_ctxt},
		{"xmlCtxtReadMemory", (void **)&xml.ctxt_read_memory},
		{"xmlSetStructuredErrorFunc", (void **)&xml.set_error_func},
		{"xmlDocGetRootElement", (void **)&xml.doc_root},
		{"xmlFreeDoc", (void **)&xml.free_doc},
		{"xmlGetNoNsProp", (void **)&xml.get_prop},
		{"xmlNodeGetContent", (void **)&xml.node_content},
		{"xmlGetLineNo", (void **)&xml.line_no},
	};
	xmlFreeFunc *free_fn;

	for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
		*syms[i].fn = dlsym(h, syms[i].name);
		if (!*syms[i].fn)
			return vr_errorx(err, ENOSYS,
					 "%s has no %s: reading libvirt XML "
					 "needs libxml2 2.9 or later",
					 XMLLIB_SONAME, syms[i].name);
	}
	/* what libxml2 allocates is freed with its xmlFree, a variable */
	free_fn = dlsym(h, "xmlFree");
	if (!free_fn || !*free_fn)
		return vr_errorx(err, ENOSYS, "%s has no xmlFree",
				 XMLLIB_SONAME);
	xml.free = *free_fn;
	return 0;
}

int xmllib_open(struct vr_error *err)
{
	static void *h;
	int r;

	if (h)
		return 0;
	h = dlopen(XMLLIB_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return vr_errorx(err, ENOENT,
				 "reading libvirt XML needs libxml2 (%s): %s; "
				 "install it (apt-get install libxml2)",
				 XMLLIB_SONAME, dlerror());
	r = xmllib_bind(h, err);
	if (r) {
		dlclose(h);
		h = NULL;
	}
	return r;
}
