/* schema.h: private to the profile parser: the schema table that
 * drives parsing, defaults and docs, the value parsers, the parse context. */
#ifndef VMRUN_PROFILE_SCHEMA_H
#define VMRUN_PROFILE_SCHEMA_H

#include <stddef.h>

#include "profile/profile.h"

#define PK_REPEAT   (1u << 0) /* may appear several times, order kept */
#define PK_REQUIRED (1u << 1) /* the section needs it */
#define PK_LATE	    (1u << 2) /* default parsed after [vm] (uses ${...}) */
#define PK_FIRST    (1u << 3) /* parsed before every other key */
#define PK_SECOND   (1u << 4) /* parsed right after the PK_FIRST keys */

#define PSEC_KEYS_MAX 24 /* most keys in one section ([smbios]) */
/* Most sections of one kind ([pci.*], [disk.*], [net.*]) in a profile:
 * more than a VM can use, few enough that checks across them stay fast. */
#define PSEC_INSTANCES_MAX 64

/* One section kind: a singleton ([vm]) or an instance kind ([pci.NAME]). */
struct psection {
	const char *name;
	bool instance;
	size_t offset;	     /* singleton: its struct inside struct profile;
				instance: the array pointer */
	size_t count_offset; /* instance: the size_t count */
	size_t size;	     /* instance: one element */
	size_t name_offset;  /* instance: char *name */
	size_t line_offset;  /* instance: int line */
};

struct enum_val {
	const char *name;
	int value;
};

struct pval;

/* What a field holds, so profile_free can release it. */
enum pstore {
	PS_PLAIN,
	PS_STR,
	PS_STRV,
	PS_CPULIST,
	PS_HV,
	PS_PTR
};

/* A value syntax: parse writes the field or explains in v->why. */
struct ptype {
	int (*parse)(struct pval *v);
	const char *values; /* for the docs when the key gives none */
	enum pstore store;
};

struct pkey {
	const struct psection *sec;
	const char *name;
	const struct ptype *type;
	size_t offset;	     /* inside the section's struct */
	const char *def;     /* parsed like a value; NULL: zero / derived */
	const char *def_doc; /* shown in the docs; NULL: def */
	unsigned flags;
	const struct enum_val *choices; /* enums, NULL-terminated */
	unsigned long long min, max;	/* numbers, sizes, string lengths */
	const char *values;		/* docs; NULL: from type/choices */
	const char *help;
};

/* One occurrence of a section: a singleton or one [kind.NAME]. */
struct psect_rec {
	const struct psection *sec;
	size_t index; /* instance: position in the profile's array */
	int line;     /* first header line, 0: absent */
	char label[48];
	int keyline[PSEC_KEYS_MAX]; /* line where each key was set */
};

/* One `key = value` line, kept until every name is known. */
struct pentry {
	size_t rec;
	const struct pkey *key;
	char *value;
	int line;
};

struct perr {
	int line;
	char *msg;
};

struct profile_ctx {
	struct profile *p;
	const char *file;
	struct perr *errs;
	size_t nerrs;
	struct psect_rec *recs;
	size_t nrecs;
	struct pentry *ents;
	size_t nents;
	/* the INI reader */
	const char *text;
	size_t len, pos;
	int line;
	long cur; /* current section record, -1: none or bad header */
	bool name_set;
};

/* What a value parser sees. */
struct pval {
	struct profile_ctx *ctx;
	const struct pkey *key;
	void *base;  /* the section's struct */
	void *field; /* base + key->offset */
	const char *s;
	char why[320];
};

extern const struct psection profile_sections[];
extern const size_t profile_nsections;
extern const struct pkey profile_keys[];
extern const size_t profile_nkeys;

/* Position of a key inside its section (index into keyline). */
size_t pkey_slot(const struct pkey *k);
const struct pkey *pkey_find(const struct psection *sec, const char *name);
void *psect_base(struct profile *p, const struct psect_rec *r);

/* Record an error at a line of the profile (0: the file as a whole). */
void profile_errorf(struct profile_ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pval_fail(struct pval *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Parse s into the key's field of the section base; errors recorded. */
int pkey_parse(struct profile_ctx *c, const struct pkey *k, void *base,
	       const char *s, int line, const char *label);
/* "16G", "512M", "1536K": the shortest exact way to write a size. */
void profile_size_format(uint64_t v, char *buf, size_t len);

/* Value types, referenced from the table. */
extern const struct ptype pt_str, pt_word, pt_user, pt_ifname, pt_unit,
	pt_strlist, pt_path, pt_pathlist, pt_program, pt_romfile, pt_acpi_table,
	pt_hook, pt_bool, pt_uint, pt_enum, pt_tristate, pt_choice_str, pt_size,
	pt_cpulist, pt_vmname, pt_uuid, pt_machine, pt_hv, pt_numa,
	pt_auto_count, pt_pci_host, pt_pci_guest, pt_hex16, pt_mac, pt_usb,
	pt_lg_device, pt_lg_size, pt_resolution, pt_address;

/* After the values: derived defaults and checks across fields. */
void profile_check(struct profile_ctx *c);
/* The line of a key in a record, else of its section header. */
int prec_line(const struct psect_rec *r, const char *key);
bool prec_isset(const struct psect_rec *r, const char *key);
struct psect_rec *prec_singleton(struct profile_ctx *c, const char *sec);
struct psect_rec *prec_add(struct profile_ctx *c, const struct psection *sec,
			   size_t index);
/* Parse the constant (not PK_LATE) defaults into a section's struct. */
void prec_defaults(struct profile_ctx *c, struct psect_rec *r);
/* Run inih over c->text; sections and entries land in c. */
void profile_ini_parse(struct profile_ctx *c);

#endif
