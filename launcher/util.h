/* util.h: small shared helpers: cleanup attributes, allocation, string
 * vectors, and the value syntaxes of the profile (sizes, booleans, lists). */
#ifndef VMRUN_UTIL_H
#define VMRUN_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB	      1024ULL
#define MIB	      (1024ULL * 1024)
#define GIB	      (1024ULL * 1024 * 1024)

void cleanup_freep(void *p);
void cleanup_closep(int *fd);
void cleanup_fclosep(FILE **f);
#define cleanup_free   __attribute__((cleanup(cleanup_freep)))
#define cleanup_close  __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))

/* Allocation never fails silently: out of memory aborts before any host
 * change is made (planning only); the engine preallocates what it needs. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

/* A growable NULL-terminated vector of owned strings. */
struct strv {
	char **v;
	size_t n;
	size_t cap;
};
void strv_add(struct strv *sv, const char *s);
void strv_addf(struct strv *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strv_free(struct strv *sv);

/* An ordered list of host CPUs, as written ("2-5,8" is 2,3,4,5,8). */
struct cpulist {
	int *cpu;
	size_t n;
};
/* 0, or -EINVAL with *why set to a static explanation. */
int cpulist_parse(const char *s, struct cpulist *out, const char **why);
/* Kernel list syntax of the sorted set ("0-3,8"); caller frees. */
char *cpulist_format(const struct cpulist *cl);
bool cpulist_has(const struct cpulist *cl, int cpu);
void cpulist_free(struct cpulist *cl);

/* Sizes: number with optional K M G T binary suffix (and optional B/iB). */
int parse_size(const char *s, uint64_t *out);
/* yes/no on/off true/false 1/0 */
int parse_bool(const char *s, bool *out);
/* Decimal or 0x hex unsigned within [0, max]. */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out);

struct pci_addr {
	unsigned domain; /* 0..0xffff */
	unsigned bus;	 /* 0..0xff */
	unsigned dev;	 /* 0..0x1f */
	unsigned fn;	 /* 0..7 */
};
/* "DDDD:BB:DD.F" or "BB:DD.F" (domain 0). */
int pci_addr_parse(const char *s, struct pci_addr *out);
/* "0000:01:00.0"; buf of at least 13 bytes. */
char *pci_addr_format(const struct pci_addr *a, char *buf, size_t len);
bool pci_addr_eq(const struct pci_addr *a, const struct pci_addr *b);

/* A value placed inside a QEMU "key=value,..." option: commas doubled. */
char *qemu_opt_escape(const char *s);
/* POSIX shell quoting for --dry-run output. */
char *shell_quote(const char *s);

/* Levenshtein distance, for "did you mean" suggestions. */
int edit_distance(const char *a, const char *b);

#endif
