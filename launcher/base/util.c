/* util.c: shared helpers and the small value syntaxes of the profile.
 * Everything here is pure: no host access. */
#include "base/base.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void cleanup_freep(void *p)
{
	free(*(void **)p);
}

void cleanup_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static void *oom(void *p)
{
	if (!p) {
		fputs("vmrun: out of memory\n", stderr);
		abort();
	}
	return p;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void *xmalloc(size_t n)
{
	return oom(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return oom(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
	return oom(realloc(p, n ? n : 1));
}

char *xstrdup(const char *s)
{
	return oom(strdup(s));
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	return oom(vasprintf(&s, fmt, ap) < 0 ? NULL : s);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void strv_add(struct strv *sv, const char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 16;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->n++] = xstrdup(s);
	sv->v[sv->n] = NULL;
}

void strv_addf(struct strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	strv_add(sv, s);
	free(s);
}

void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

#define CPU_MAX 8192

static int parse_cpu(const char **p, int *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno || v < 0 || v >= CPU_MAX)
		return -ERANGE;
	*p = end;
	*out = (int)v;
	return 0;
}

int cpulist_parse(const char *s, struct cpulist *out, const char **why)
{
	struct cpulist cl = {0};
	bool seen[CPU_MAX] = {false}; /* O(1) duplicate test for big ranges */
	const char *p = s;
	size_t cap = 0;
	int a, b, r = -EINVAL;

	*why = NULL;
	if (!s[strspn(s, " ")]) {
		*why = "the list is empty";
		return -EINVAL;
	}
	while (*p) {
		while (*p == ' ')
			p++;
		r = parse_cpu(&p, &a);
		if (r)
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			r = parse_cpu(&p, &b);
			if (r)
				goto bad;
			if (b < a) {
				*why = "a range must go upwards (e.g. 2-5)";
				goto fail;
			}
		}
		for (int c = a; c <= b; c++) {
			if (seen[c]) {
				*why = "a CPU is listed twice";
				goto fail;
			}
			seen[c] = true;
			if (cl.n == cap) {
				cap = cap ? cap * 2 : 16;
				cl.cpu = xrealloc(cl.cpu, cap * sizeof(int));
			}
			cl.cpu[cl.n++] = c;
		}
		while (*p == ' ')
			p++;
		if (*p == ',' && p[1]) {
			p++;
		} else if (*p) {
			r = -EINVAL; /* a stray character or a trailing comma */
			goto bad;
		}
	}
	*out = cl;
	return 0;
bad:
	*why = r == -ERANGE ? "a CPU number is out of range (0-8191)"
			    : "expected the kernel's list syntax, e.g. 0-3,8";
fail:
	free(cl.cpu);
	return -EINVAL;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

char *cpulist_format(const struct cpulist *cl)
{
	int *sorted = xmalloc(cl->n * sizeof(int) + 1);
	size_t len = 0, cap = cl->n * 12 + 1;
	char *s = xmalloc(cap);

	if (cl->n) /* cpu may be NULL then, which memcpy must not see */
		memcpy(sorted, cl->cpu, cl->n * sizeof(int));
	qsort(sorted, cl->n, sizeof(int), cmp_int);
	s[0] = '\0';
	for (size_t i = 0; i < cl->n;) {
		size_t j = i;

		while (j + 1 < cl->n && sorted[j + 1] == sorted[j] + 1)
			j++;
		if (j > i)
			len += snprintf(s + len, cap - len, "%s%d-%d",
					len ? "," : "", sorted[i], sorted[j]);
		else
			len += snprintf(s + len, cap - len, "%s%d",
					len ? "," : "", sorted[i]);
		i = j + 1;
	}
	free(sorted);
	return s;
}

bool cpulist_has(const struct cpulist *cl, int cpu)
{
	for (size_t i = 0; i < cl->n; i++)
		if (cl->cpu[i] == cpu)
			return true;
	return false;
}

void cpulist_free(struct cpulist *cl)
{
	free(cl->cpu);
	cl->cpu = NULL;
	cl->n = 0;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = KIB;
		break;
	case 'M':
		mult = MIB;
		break;
	case 'G':
		mult = GIB;
		break;
	case 'T':
		mult = GIB * 1024;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "on", "true", "1"};
	static const char *const no[] = {"no", "off", "false", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* strtoull's base 0 would read "010" as octal 8: only 0x switches base. */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	const char *digits = "0123456789";
	unsigned long long v;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
		digits = "0123456789abcdefABCDEF";
	}
	if (!*s || strspn(s, digits) != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno)
		return -ERANGE;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int hexfield(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 16 + (unsigned)(isdigit((unsigned char)s[i])
						? s[i] - '0'
						: tolower((unsigned char)s[i]) -
							  'a' + 10);
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

int pci_addr_parse(const char *s, struct pci_addr *out)
{
	struct pci_addr a = {0};
	const char *c1 = strchr(s, ':'), *c2, *dot;

	if (!c1)
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (c2) {
		if (hexfield(s, (size_t)(c1 - s), 0xffff, &a.domain))
			return -EINVAL;
		s = c1 + 1;
		c1 = c2;
	}
	dot = strchr(c1, '.');
	if (!dot || hexfield(s, (size_t)(c1 - s), 0xff, &a.bus) ||
	    hexfield(c1 + 1, (size_t)(dot - c1 - 1), 0x1f, &a.dev) ||
	    hexfield(dot + 1, strlen(dot + 1), 7, &a.fn))
		return -EINVAL;
	*out = a;
	return 0;
}

char *pci_addr_format(const struct pci_addr *a, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%x", a->domain, a->bus, a->dev,
		 a->fn);
	return buf;
}

bool pci_addr_eq(const struct pci_addr *a, const struct pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev &&
	       a->fn == b->fn;
}

char *qemu_opt_escape(const char *s)
{
	char *out = xmalloc(strlen(s) * 2 + 1), *o = out;

	for (; *s; s++) {
		*o++ = *s;
		if (*s == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

char *shell_quote(const char *s)
{
	const char *safe =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789@%+=:,./-_";
	char *out, *o;

	if (*s && strspn(s, safe) == strlen(s))
		return xstrdup(s);
	out = xmalloc(strlen(s) * 4 + 3);
	o = out;
	*o++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *s;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int *row = xmalloc((lb + 1) * sizeof(int)), d;

	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int prev = row[0];

		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int cur = row[j];
			int sub = prev + (a[i - 1] != b[j - 1]);
			int del = row[j] + 1, ins = row[j - 1] + 1;

			row[j] = sub < del ? (sub < ins ? sub : ins)
					   : (del < ins ? del : ins);
			prev = cur;
		}
	}
	d = row[lb];
	free(row);
	return d;
}
