/* base/base.h: the lowest layer: one error value, logging, and the small
 * helpers (memory, strings, CPU lists, sizes, PCI addresses) every other
 * folder uses. The index of this folder's public API, by file. */
#ifndef VMRUN_BASE_BASE_H
#define VMRUN_BASE_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* error.c: the one error value threaded through every call that can fail.
 * Functions return 0 or a negative errno and fill a struct vr_error. */
#define VR_ERROR_MAX 4096

struct vr_error {
	int code;		/* positive errno, 0 when no error */
	char msg[VR_ERROR_MAX]; /* may hold several lines */
};

/* Set the error to a printf message, ": strerror(code)" appended when code
 * is an errno from a failed call (pass 0 or a negative code to omit it).
 * Returns -abs(code), or -EINVAL when code is 0. */
int vr_error(struct vr_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same without the strerror suffix. */
int vr_errorx(struct vr_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix context to an existing message: "ctx: old". Returns -err->code. */
int vr_error_prefix(struct vr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append one more line to the message (for lists of problems). */
void vr_error_append(struct vr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void vr_error_clear(struct vr_error *err);

/* log.c: what vmrun tells the person or the journal: one line per phase on
 * a terminal (colour only on a TTY), plain lines when detached, lines with
 * their syslog priority ("<3>") when stderr is the journal, and a copy of
 * everything in the VM's log file when one is open. */
enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG
};

/* -q: errors and warnings only; -v: debug lines too (QMP traffic). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Also write every line, with a timestamp, to this file (not owned). */
void log_set_file(FILE *f);
FILE *log_get_file(void);
/* Detached or under systemd: stderr is a log, so stamp each line. */
void log_set_timestamps(bool on);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "vmrun: MSG" without the level's tag or colour, but with its priority
 * in the journal: main's last word, the error that ends a command. */
void log_plain(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A progress line on a terminal ("hugepages  [#####     ] 512/1024"),
 * redrawn in place; nothing when stderr is not a TTY or -q. done ends it. */
void log_progress(const char *what, unsigned long long cur,
		  unsigned long long total, const char *unit);
void log_progress_done(void);
/* Whether log_progress draws anything (a terminal, not -q). */
bool log_progress_enabled(void);

/* util.c: small shared helpers: cleanup attributes, allocation, string
 * vectors, and the value syntaxes of the profile (sizes, booleans, lists). */
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
/* Milliseconds on the monotonic clock: deadlines and elapsed times. */
int64_t now_ms(void);

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
