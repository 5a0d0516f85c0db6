/* feature.c: the compound values of the profile: the Hyper-V
 * enlightenment list and Looking Glass's shared memory size and mode. */
#include "profile/schema.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HV_DEFAULT PROFILE_HV_DEFAULT
/* QEMU's spinlock retry count: 0xFFF is the smallest it accepts. */
#define HV_SPINLOCKS_MIN 0xfff

/* QEMU 7.2's on/off hv-* CPU flags, without the prefix. hv-passthrough,
 * hv-enforce-cpuid and hv-version-id-* are left out on purpose: they
 * change what the others mean. */
static const char *const hv_flags[] = {"relaxed",
				       "vapic",
				       "vpindex",
				       "runtime",
				       "crash",
				       "time",
				       "synic",
				       "stimer",
				       "stimer-direct",
				       "tlbflush",
				       "tlbflush-ext",
				       "tlbflush-direct",
				       "ipi",
				       "reset",
				       "frequencies",
				       "reenlightenment",
				       "evmcs",
				       "avic",
				       "xmm-input",
				       "emsr-bitmap",
				       "syndbg",
				       "spinlocks",
				       NULL};

struct hv_list {
	struct hv_feature *f;
	size_t n;
};

static void hv_list_free(struct hv_feature *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].value);
	}
	free(f);
}

static int hv_unknown(struct pval *v, const char *name)
{
	const char *best = NULL;
	int bestd = 3;

	for (size_t i = 0; hv_flags[i]; i++) {
		int d = edit_distance(name, hv_flags[i]);

		if (d < bestd) {
			bestd = d;
			best = hv_flags[i];
		}
	}
	if (best)
		return pval_fail(v,
				 "unknown enlightenment '%s', did you mean "
				 "'%s'?",
				 name, best);
	return pval_fail(v,
			 "unknown enlightenment '%s'; known: relaxed, vapic, "
			 "spinlocks=N, vpindex, runtime, crash, time, synic, "
			 "stimer, stimer-direct, tlbflush, tlbflush-ext, "
			 "tlbflush-direct, ipi, reset, frequencies, "
			 "reenlightenment, evmcs, avic, xmm-input, "
			 "emsr-bitmap, syndbg",
			 name);
}

static int hv_check_value(struct pval *v, const char *name, const char *val)
{
	unsigned long long n;

	if (strcmp(name, "spinlocks")) {
		if (val)
			return pval_fail(v, "'%s' takes no value", name);
		return 0;
	}
	if (!val)
		return pval_fail(v, "spinlocks needs a retry count, e.g. "
				    "spinlocks=8191");
	if (parse_uint(val, 0xffffffffULL, &n) || n < HV_SPINLOCKS_MIN)
		return pval_fail(v,
				 "spinlocks=%s: expected a number from 4095 "
				 "(0xfff) to 4294967295",
				 val);
	return 0;
}

/* One item, "name" or "name=value", appended to l. */
static int hv_add(struct pval *v, struct hv_list *l, char *item)
{
	char *val = strchr(item, '=');

	if (val)
		*val++ = '\0';
	/* QEMU's own spelling (hv-relaxed, hv_relaxed) is accepted too */
	if (!strncmp(item, "hv-", 3) || !strncmp(item, "hv_", 3))
		item += 3;
	if (!*item)
		return pval_fail(v, "'%s' has an empty item", v->s);
	for (size_t i = 0;; i++) {
		if (!hv_flags[i])
			return hv_unknown(v, item);
		if (!strcmp(hv_flags[i], item))
			break;
	}
	if (hv_check_value(v, item, val))
		return -EINVAL;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->f[i].name, item))
			return pval_fail(v, "'%s' is listed twice", item);
	l->f = xrealloc(l->f, (l->n + 1) * sizeof(*l->f));
	l->f[l->n].name = xstrdup(item);
	l->f[l->n].value = val ? xstrdup(val) : NULL;
	l->n++;
	return 0;
}

static int hv_add_list(struct pval *v, struct hv_list *l, const char *s)
{
	cleanup_free char *copy = xstrdup(s);
	char *save = NULL;

	if (!*s || s[strlen(s) - 1] == ',' || *s == ',' || strstr(s, ",,"))
		return pval_fail(v, "'%s' has an empty item", v->s);
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		t += strspn(t, " \t");
		t[strcspn(t, " \t")] = '\0';
		if (!strcmp(t, "none"))
			return pval_fail(v, "'none' cannot be combined with "
					    "other enlightenments");
		if (!strcmp(t, "default")) {
			if (hv_add_list(v, l, HV_DEFAULT))
				return -EINVAL;
		} else if (hv_add(v, l, t)) {
			return -EINVAL;
		}
	}
	return 0;
}

/* default, none, or a list; "default" may be part of a list
 * ("default,evmcs"). */
static int parse_hv(struct pval *v)
{
	struct profile_hyperv *hv = v->base;
	struct hv_list l = {0};

	if (strcmp(v->s, "none") && hv_add_list(v, &l, v->s)) {
		hv_list_free(l.f, l.n);
		return -EINVAL;
	}
	hv_list_free(hv->features, hv->nfeatures);
	hv->features = l.f;
	hv->nfeatures = l.n;
	return 0;
}
const struct ptype pt_hv = {parse_hv, "default, none, or a list", PS_HV};

static bool starts_digit(const char *s)
{
	return isdigit((unsigned char)*s);
}

/* "auto" is 0 here; profile_check resolves it from the resolution. */
static int parse_lg_size(struct pval *v)
{
	uint64_t n = 0;
	int r;

	if (!strcasecmp(v->s, "auto")) {
		*(uint64_t *)v->field = 0;
		return 0;
	}
	r = parse_size(v->s, &n);
	if (r == -EINVAL)
		return pval_fail(v,
				 "'%s' is neither auto nor a size such as "
				 "64M",
				 v->s);
	if (r == -ERANGE) /* past 2^64 bytes */
		n = UINT64_MAX;
	if (n < MIB)
		return pval_fail(v, "%s is too small; the minimum is 1M", v->s);
	if (n > 4 * GIB)
		return pval_fail(v, "%s is too large; the maximum is 4G", v->s);
	if (n & (n - 1))
		return pval_fail(v,
				 "%s is not a power of two, which Looking "
				 "Glass needs (e.g. 32M, 64M, 128M), or use "
				 "auto",
				 v->s);
	*(uint64_t *)v->field = n;
	return 0;
}
const struct ptype pt_lg_size = {parse_lg_size,
				 "auto, or a power of two >= 1M"};

static int parse_resolution(struct pval *v)
{
	struct profile_looking_glass *lg = v->base;
	unsigned long w, h;
	char *end;

	if (!starts_digit(v->s))
		goto bad;
	w = strtoul(v->s, &end, 10);
	if (*end != 'x' && *end != 'X')
		goto bad;
	if (!starts_digit(end + 1))
		goto bad;
	h = strtoul(end + 1, &end, 10);
	if (*end)
		goto bad;
	if (!w || !h || w > 16384 || h > 16384)
		return pval_fail(v,
				 "%s is out of range; width and height go "
				 "from 1 to 16384",
				 v->s);
	lg->width = (unsigned)w;
	lg->height = (unsigned)h;
	return 0;
bad:
	return pval_fail(v,
			 "'%s' is not a resolution; expected WIDTHxHEIGHT "
			 "such as 2560x1440",
			 v->s);
}
const struct ptype pt_resolution = {parse_resolution, "WIDTHxHEIGHT"};

/* Looking Glass's rule: w * h * (4 or 8 with HDR) * 2 bytes, in MiB
 * (rounded up), plus 10 MiB, rounded up to a power of two. */
uint64_t profile_lg_auto_size(unsigned width, unsigned height, bool hdr)
{
	uint64_t bytes = (uint64_t)width * height * (hdr ? 8 : 4) * 2;
	uint64_t mib = (bytes + MIB - 1) / MIB + 10, pow = 1;

	while (pow < mib)
		pow <<= 1;
	return pow * MIB;
}
