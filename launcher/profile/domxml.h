/* domxml.h: private to domxml*.c, the reader of libvirt domain XML: the
 * context of one import and the small helpers over libxml2's tree. */
#ifndef VMRUN_PROFILE_DOMXML_H
#define VMRUN_PROFILE_DOMXML_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>

#include "profile/profile.h"

#define DX_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* xmllib.c: the libxml2 functions the reader calls, found with dlopen()
 * by xmllib_open() (0, or why libxml2 cannot be used) before the first
 * XML is read: vmrun is not linked with libxml2. */
struct xmllib {
	__typeof__(xmlNewParserCtxt) *new_parser_ctxt;
	__typeof__(xmlFreeParserCtxt) *free_parser_ctxt;
	__typeof__(xmlCtxtReadMemory) *ctxt_read_memory;
	__typeof__(xmlSetStructuredErrorFunc) *set_error_func;
	__typeof__(xmlDocGetRootElement) *doc_root;
	__typeof__(xmlFreeDoc) *free_doc;
	__typeof__(xmlGetNoNsProp) *get_prop;
	__typeof__(xmlNodeGetContent) *node_content;
	__typeof__(xmlGetLineNo) *line_no;
	xmlFreeFunc free;
};
extern struct xmllib xml;
int xmllib_open(struct vr_error *err);

struct dx {
	const char *file;
	struct pdoc *d;
	struct strv *dropped; /* "<elem> (line N): why" */
	struct vr_error *err; /* hard errors: no profile at all */
	int failed;
	char name[PROFILE_NAME_MAX + 1]; /* [vm] name */
	char domname[256];		 /* libvirt's name for it */
	char uuid[40];
	unsigned vcpus;
	bool spice;	    /* <graphics type='spice'> */
	bool virtio_scsi;   /* the SCSI controller is virtio-scsi */
	bool boot_orders;   /* some device has <boot order> */
	char boot_disk[48]; /* first disk and cdrom, for <os><boot> */
	char boot_cdrom[48];
	struct strv os_boot; /* <os><boot dev=...>, in order */
	char *hostdev[64];   /* [pci.*] of libvirt's hostdevN, or NULL */
	unsigned nhostdev;
	bool lg;      /* [looking-glass] is taken */
	bool hv_time; /* <timer name='hypervclock' present='yes'> */
	bool smm;     /* <features><smm state='on'> */
};

/* Element n is named name (namespace ignored). */
bool dx_is(const xmlNode *n, const char *name);
/* The first element child of n named name, or NULL. */
xmlNode *dx_child(const xmlNode *n, const char *name);
/* The element after n among its siblings (first: n's first child). */
xmlNode *dx_next(const xmlNode *n);
xmlNode *dx_first(const xmlNode *n);
/* Attribute name of n into buf; false (buf "") when absent. */
bool dx_attr(const xmlNode *n, const char *name, char *buf, size_t len);
/* Whether attribute name of n is value. */
bool dx_attr_is(const xmlNode *n, const char *name, const char *value);
/* The text of n, blanks trimmed. */
void dx_text(const xmlNode *n, char *buf, size_t len);
long dx_line(const xmlNode *n);

/* What is not carried over: "<elem type='x'> (line N): why". */
void dx_drop(struct dx *x, const xmlNode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A hard error at n: FILE:LINE: message. */
int dx_fail(struct dx *x, const xmlNode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* key = value in section, or a drop of n when the value cannot be
 * written into a profile. */
void dx_set(struct dx *x, const xmlNode *n, const char *section,
	    const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Drop each element child of n not named in known (NULL-terminated),
 * with the reason why (NULL: "vmrun has no equivalent"). */
void dx_others(struct dx *x, const xmlNode *n, const char *const *known,
	       const char *why);
/* A size element (<memory unit='KiB'>16777216</memory>) in bytes. */
int dx_size(struct dx *x, const xmlNode *n, const char *unit_default,
	    uint64_t *bytes);
/* A number attribute (decimal or 0x hex); false when absent or bad. */
bool dx_num(const xmlNode *n, const char *name, unsigned long long *v);

/* domxml.c: the domain itself: vm, memory, cpu, os, features, clock,
 * sysinfo. domxml_dev.c: <devices>. domxml_cmd.c: <qemu:commandline>. */
void domxml_cpu(struct dx *x, const xmlNode *dom);
void domxml_os(struct dx *x, const xmlNode *dom);
void domxml_clock(struct dx *x, const xmlNode *dom);
void domxml_sysinfo(struct dx *x, const xmlNode *dom);
void domxml_lifecycle(struct dx *x, const xmlNode *dom);
void domxml_devices(struct dx *x, const xmlNode *devices);
/* domxml_dev.c: disk, interface, hostdev, shmem and tpm elements. */
void domxml_devices_main(struct dx *x, const xmlNode *n, unsigned *ndisk,
			 unsigned *nnet);
void domxml_boot_order(struct dx *x, const xmlNode *os);
void domxml_qemu(struct dx *x, const xmlNode *cmdline);
void domxml_override(struct dx *x, const xmlNode *override);

#endif
