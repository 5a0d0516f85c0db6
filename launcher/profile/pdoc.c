/* pdoc.c: a profile written as text (`vmrun new`, `vmrun import`):
 * sections in the schema's order, every key checked against the schema,
 * every value checked to read back as written, comments wrapped. */
#include "profile/schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PDOC_WIDTH    76  /* comment lines wrap here */
#define PDOC_LINE_MAX 198 /* the parser's longest line */

struct pdoc_sec {
	char *name;
	const struct psection *kind;
	struct strv lines;
	bool keyed; /* has a key line: a section with none is commented out */
	bool disabled; /* every line commented out (pdoc_disable) */
};

static void pdoc_fail(struct pdoc *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void pdoc_fail(struct pdoc *d, const char *fmt, ...)
{
	va_list ap;

	if (d->err.code)
		return;
	va_start(ap, fmt);
	vsnprintf(d->err.msg, sizeof(d->err.msg), fmt, ap);
	va_end(ap);
	d->err.code = EINVAL;
}

static const struct psection *pdoc_kind(const char *name, bool *named)
{
	const char *dot = strchr(name, '.');
	size_t len = dot ? (size_t)(dot - name) : strlen(name);

	*named = dot != NULL;
	for (size_t i = 0; i < profile_nsections; i++)
		if (strlen(profile_sections[i].name) == len &&
		    !strncmp(profile_sections[i].name, name, len))
			return &profile_sections[i];
	return NULL;
}

static struct pdoc_sec *pdoc_sec(struct pdoc *d, const char *name)
{
	const struct psection *kind;
	struct pdoc_sec *s;
	bool named;

	for (size_t i = 0; i < d->nsec; i++)
		if (!strcmp(d->sec[i].name, name))
			return &d->sec[i];
	kind = pdoc_kind(name, &named);
	if (!kind || named != kind->instance ||
	    (named && !profile_name_valid(strchr(name, '.') + 1))) {
		pdoc_fail(d, "[%s] is not a section a profile can have", name);
		return NULL;
	}
	d->sec = xrealloc(d->sec, (d->nsec + 1) * sizeof(*d->sec));
	s = &d->sec[d->nsec++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->kind = kind;
	return s;
}

/* Word-wrapped "; " lines of text (which may hold newlines); lines after
 * the first of a paragraph start with cont. */
static void pdoc_wrap_hanging(struct strv *out, const char *first,
			      const char *cont, const char *text)
{
	const char *prefix = first;
	size_t plen = strlen(prefix);

	while (*text) {
		size_t n = strcspn(text, "\n"), cut = n;

		if (plen + n > PDOC_WIDTH) {
			cut = PDOC_WIDTH - plen;
			while (cut > 0 && text[cut] != ' ')
				cut--;
			if (!cut)
				cut = n;
		}
		if (cut)
			strv_addf(out, "%s%.*s", prefix, (int)cut, text);
		else
			strv_addf(out, "%.*s", (int)strcspn(prefix, " "),
				  prefix);
		text += cut;
		text += strspn(text, " ");
		prefix = cont;
		if (*text == '\n') {
			text++;
			prefix = first;
		}
		plen = strlen(prefix);
	}
}

static void pdoc_wrap(struct strv *out, const char *prefix, const char *text)
{
	pdoc_wrap_hanging(out, prefix, prefix, text);
}

void pdoc_head(struct pdoc *d, const char *fmt, ...)
{
	cleanup_free char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	pdoc_wrap(&d->head, "; ", text);
}

void pdoc_head_item(struct pdoc *d, const char *fmt, ...)
{
	cleanup_free char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	pdoc_wrap_hanging(&d->head, "; - ", ";   ", text);
}

void pdoc_comment(struct pdoc *d, const char *section, const char *fmt, ...)
{
	struct pdoc_sec *s = pdoc_sec(d, section);
	cleanup_free char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	if (s)
		pdoc_wrap(&s->lines, "; ", text);
}

bool pdoc_value_ok(const char *v, const char **why)
{
	if (!*v) {
		*why = "it is empty";
		return false;
	}
	if (v[0] == ' ' || v[0] == '\t' || v[strlen(v) - 1] == ' ' ||
	    v[strlen(v) - 1] == '\t') {
		*why = "it starts or ends with a blank, which a profile drops";
		return false;
	}
	for (const char *c = v; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			*why = "it holds a control character";
			return false;
		}
		if ((*c == ';' || *c == '#') && c > v &&
		    (c[-1] == ' ' || c[-1] == '\t')) {
			*why = "a ';' or '#' after a blank starts a comment in "
			       "a "
			       "profile";
			return false;
		}
	}
	return true;
}

static const struct pkey *pdoc_key(struct pdoc *d, struct pdoc_sec *s,
				   const char *key)
{
	const struct pkey *k = pkey_find(s->kind, key);

	if (!k)
		pdoc_fail(d, "[%s] has no key '%s'", s->name, key);
	return k;
}

static bool pdoc_isset(const struct pdoc_sec *s, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < s->lines.n; i++)
		if (!strncmp(s->lines.v[i], key, n) &&
		    !strncmp(s->lines.v[i] + n, " = ", 3))
			return true;
	return false;
}

bool pdoc_has(struct pdoc *d, const char *section, const char *key)
{
	for (size_t i = 0; i < d->nsec; i++)
		if (!strcmp(d->sec[i].name, section))
			return pdoc_isset(&d->sec[i], key);
	return false;
}

static int pdoc_vline(struct pdoc *d, const char *section, const char *key,
		      bool hint, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static int pdoc_vline(struct pdoc *d, const char *section, const char *key,
		      bool hint, const char *fmt, va_list ap)
{
	struct pdoc_sec *s = pdoc_sec(d, section);
	cleanup_free char *v = xvasprintf(fmt, ap);
	const struct pkey *k = s ? pdoc_key(d, s, key) : NULL;
	const char *why;

	if (!k)
		return -EINVAL;
	if (!pdoc_value_ok(v, &why)) {
		pdoc_fail(d, "[%s] %s = '%s': %s", section, key, v, why);
		return -EINVAL;
	}
	if (strlen(key) + strlen(v) + 5 > PDOC_LINE_MAX) {
		pdoc_fail(d,
			  "[%s] %s: the value is too long for a profile line",
			  section, key);
		return -EINVAL;
	}
	if (!hint && !(k->flags & PK_REPEAT) && pdoc_isset(s, key)) {
		pdoc_fail(d, "[%s] %s is set twice", section, key);
		return -EINVAL;
	}
	strv_addf(&s->lines, "%s%s = %s", hint ? "; " : "", key, v);
	s->keyed |= !hint;
	return 0;
}

int pdoc_set(struct pdoc *d, const char *section, const char *key,
	     const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = pdoc_vline(d, section, key, false, fmt, ap);
	va_end(ap);
	return r;
}

void pdoc_hint(struct pdoc *d, const char *section, const char *key,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pdoc_vline(d, section, key, true, fmt, ap);
	va_end(ap);
}

void pdoc_disable(struct pdoc *d, const char *section)
{
	struct pdoc_sec *s = pdoc_sec(d, section);

	if (s)
		s->disabled = true;
}

/* Sections of one kind, in the order they were made. */
static void pdoc_write_kind(const struct pdoc *d, const struct psection *kind,
			    FILE *f)
{
	for (size_t i = 0; i < d->nsec; i++) {
		const struct pdoc_sec *s = &d->sec[i];
		bool off = s->disabled || !s->keyed;

		if (s->kind != kind)
			continue;
		fprintf(f, "\n%s[%s]\n", off ? "; " : "", s->name);
		for (size_t j = 0; j < s->lines.n; j++)
			fprintf(f, "%s%s\n",
				off && strncmp(s->lines.v[j], "; ", 2) ? "; "
								       : "",
				s->lines.v[j]);
	}
}

int pdoc_write(const struct pdoc *d, FILE *f, struct vr_error *err)
{
	if (d->err.code)
		return vr_errorx(err, d->err.code, "%s", d->err.msg);
	for (size_t i = 0; i < d->head.n; i++)
		fprintf(f, "%s\n", d->head.v[i]);
	for (size_t i = 0; i < profile_nsections; i++)
		pdoc_write_kind(d, &profile_sections[i], f);
	return 0;
}

void pdoc_free(struct pdoc *d)
{
	for (size_t i = 0; i < d->nsec; i++) {
		free(d->sec[i].name);
		strv_free(&d->sec[i].lines);
	}
	free(d->sec);
	strv_free(&d->head);
	memset(d, 0, sizeof(*d));
}

void pdoc_size(uint64_t bytes, char *buf, size_t len)
{
	profile_size_format(bytes, buf, len);
}
