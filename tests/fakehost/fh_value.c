/* fh_value.c: values as the kernel parses and shows them: kstrtoul,
 * sysfs device names, CPU/node lists and hex masks. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fh_shim.h"

/* ---- values ----------------------------------------------------------- */

/* kstrtoul: digits and at most one trailing newline. */
int fh_parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || (*end && strcmp(end, "\n")))
		return -EINVAL;
	return 0;
}

/* A sysfs device name: the value up to one trailing newline. */
const char *fh_dev_arg(char *val)
{
	size_t n = strlen(val);

	if (n && val[n - 1] == '\n')
		val[n - 1] = '\0';
	if (!*val || strchr(val, '/') || !strcmp(val, ".") ||
	    !strcmp(val, ".."))
		return NULL;
	return val;
}

static void mask_set(struct mask *m, unsigned bit)
{
	m->w[bit / 64] |= 1ULL << (bit % 64);
}

bool fh_mask_has(const struct mask *m, unsigned bit)
{
	return bit < MASK_BITS && (m->w[bit / 64] >> (bit % 64)) & 1;
}

bool fh_mask_empty(const struct mask *m)
{
	for (size_t i = 0; i < MASK_BITS / 64; i++)
		if (m->w[i])
			return false;
	return true;
}

bool fh_mask_subset(const struct mask *a, const struct mask *b)
{
	for (size_t i = 0; i < MASK_BITS / 64; i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}

struct mask fh_mask_and(const struct mask *a, const struct mask *b)
{
	struct mask m;

	for (size_t i = 0; i < MASK_BITS / 64; i++)
		m.w[i] = a->w[i] & b->w[i];
	return m;
}

/* Kernel list syntax ("0-3,8", "" for none), one trailing newline. */
int fh_mask_parse_list(const char *s, struct mask *m)
{
	memset(m, 0, sizeof(*m));
	if (!*s || !strcmp(s, "\n"))
		return 0;
	for (;;) {
		char *end;
		unsigned long a, b;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		a = b = strtoul(s, &end, 10);
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				return -EINVAL;
			b = strtoul(end + 1, &end, 10);
		}
		if (a > b || b >= MASK_BITS)
			return -EINVAL;
		for (unsigned long c = a; c <= b; c++)
			mask_set(m, (unsigned)c);
		if (*end == ',') {
			s = end + 1;
			continue;
		}
		return !*end || !strcmp(end, "\n") ? 0 : -EINVAL;
	}
}

static void mask_format_list(const struct mask *m, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned a = 0; a < MASK_BITS; a++) {
		unsigned b = a;

		if (!fh_mask_has(m, a))
			continue;
		while (fh_mask_has(m, b + 1))
			b++;
		used += (size_t)snprintf(out + used, len - used,
					 b > a ? "%s%u-%u" : "%s%u",
					 used ? "," : "", a, b);
		if (used >= len)
			break;
		a = b;
	}
}

/* Hex mask with comma-separated 32-bit groups ("ff", "00000001,ffffffff"). */
int fh_mask_parse_hex(const char *s, struct mask *m)
{
	size_t n = strlen(s);
	unsigned bit = 0;

	memset(m, 0, sizeof(*m));
	if (n && s[n - 1] == '\n')
		n--;
	if (!n)
		return -EINVAL;
	while (n--) {
		char c = s[n];
		unsigned v;

		if (c == ',')
			continue;
		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		for (unsigned i = 0; i < 4; i++, bit++)
			if (v >> i & 1) {
				if (bit >= MASK_BITS)
					return -EINVAL;
				mask_set(m, bit);
			}
	}
	return 0;
}

void fh_mask_format_hex(const struct mask *m, unsigned nbits, char *out)
{
	unsigned digits = (nbits + 3) / 4, k = 0;

	for (unsigned d = digits; d-- > 0;) {
		unsigned v = 0;

		for (unsigned i = 0; i < 4; i++)
			v |= (unsigned)fh_mask_has(m, d * 4 + i) << i;
		out[k++] = "0123456789abcdef"[v];
		if (d && d % 8 == 0)
			out[k++] = ',';
	}
	out[k] = '\0';
}

int fh_read_mask(const char *path, struct mask *m)
{
	char buf[VAL_MAX];

	if (fh_read_str(path, buf, sizeof(buf)) < 0) {
		memset(m, 0, sizeof(*m));
		return -ENOENT;
	}
	return fh_mask_parse_list(buf, m);
}

int fh_write_mask(const char *path, const struct mask *m)
{
	char buf[VAL_MAX];

	mask_format_list(m, buf, sizeof(buf) - 1);
	strcat(buf, "\n");
	return fh_write_str(path, buf);
}
