/* ini.c: the INI layer of the profile parser: inih splits the lines,
 * each [section] and key is checked against the schema table and kept. */
#include "profile/schema.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OUTSIDE_SECTIONS -2 /* c->cur before the first header */

/* Constant defaults; PK_LATE ones need [vm] and come after it. */
void prec_defaults(struct profile_ctx *c, struct psect_rec *r)
{
	void *base = psect_base(c->p, r);

	for (size_t i = 0; i < profile_nkeys; i++) {
		const struct pkey *k = &profile_keys[i];

		if (k->sec == r->sec && k->def && !(k->flags & PK_LATE))
			pkey_parse(c, k, base, k->def, 0, r->label);
	}
}

struct psect_rec *prec_add(struct profile_ctx *c, const struct psection *sec,
			   size_t index)
{
	struct psect_rec *r;

	c->recs = xrealloc(c->recs, (c->nrecs + 1) * sizeof(*c->recs));
	r = &c->recs[c->nrecs++];
	memset(r, 0, sizeof(*r));
	r->sec = sec;
	r->index = index;
	return r;
}

struct psect_rec *prec_singleton(struct profile_ctx *c, const char *sec)
{
	for (size_t i = 0; i < c->nrecs; i++)
		if (!c->recs[i].sec->instance &&
		    !strcmp(c->recs[i].sec->name, sec))
			return &c->recs[i];
	return NULL;
}

static const struct psection *section_find(const char *name, size_t len)
{
	for (size_t i = 0; i < profile_nsections; i++)
		if (strlen(profile_sections[i].name) == len &&
		    !strncmp(profile_sections[i].name, name, len))
			return &profile_sections[i];
	return NULL;
}

/* The closest candidate, if close enough to be a typo. */
static const char *closest(const char *word, const char *const *cands, size_t n)
{
	size_t len = strlen(word);
	int limit = len <= 3 ? 1 : (int)(len / 3 > 2 ? len / 3 : 2);
	const char *best = NULL;

	for (size_t i = 0; i < n; i++) {
		int d = edit_distance(word, cands[i]);

		if (!strcasecmp(word, cands[i]))
			return cands[i]; /* [VM] for [vm] */

		if (d <= limit) {
			limit = d - 1;
			best = cands[i];
		}
	}
	return best;
}

static void unknown_section(struct profile_ctx *c, const char *hdr,
			    size_t kindlen, int line)
{
	const char *names[32];
	cleanup_free char *kind = strndup(hdr, kindlen);
	char list[400] = "";
	size_t n = 0, len = 0;
	const char *best;

	for (size_t i = 0; i < profile_nsections && n < ARRAY_SIZE(names);
	     i++) {
		const struct psection *s = &profile_sections[i];

		names[n++] = s->name;
		len += (size_t)snprintf(list + len, sizeof(list) - len,
					"%s[%s%s]", len ? ", " : "", s->name,
					s->instance ? ".NAME" : "");
	}
	best = closest(kind ? kind : hdr, names, n);
	if (best)
		profile_errorf(c, line,
			       "unknown section [%s], did you mean "
			       "[%s%s]?",
			       hdr, best, hdr + kindlen);
	else
		profile_errorf(c, line,
			       "unknown section [%s]; known sections: "
			       "%s",
			       hdr, list);
}

bool profile_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n && n <= PROFILE_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			    "XYZ0123456789_-") == n;
}

int profile_name_check(const char *name, struct vr_error *err)
{
	if (!profile_name_valid(name))
		return vr_errorx(err, EINVAL,
				 "'%s' is not a VM name ([A-Za-z0-9_-], 1 to "
				 "%d characters)",
				 name, PROFILE_NAME_MAX);
	return 0;
}

static long instance_add(struct profile_ctx *c, const struct psection *sec,
			 const char *name, int line)
{
	char *arr = (char *)c->p + sec->offset;
	size_t *count = (size_t *)((char *)c->p + sec->count_offset);
	char *elem, **arrp = (char **)arr;
	struct psect_rec *r;

	for (size_t i = 0; i < c->nrecs; i++) {
		r = &c->recs[i];
		elem = r->sec == sec ? psect_base(c->p, r) : NULL;
		if (elem &&
		    !strcmp(*(char **)(elem + sec->name_offset), name)) {
			profile_errorf(c, line,
				       "[%s] is already defined on line "
				       "%d; keep each section in one "
				       "place",
				       r->label, r->line);
			return (long)i;
		}
	}
	if (*count == PSEC_INSTANCES_MAX) {
		profile_errorf(c, line,
			       "[%s.%s]: a profile holds at most %d [%s.*] "
			       "sections",
			       sec->name, name, PSEC_INSTANCES_MAX, sec->name);
		return -1;
	}
	*arrp = xrealloc(*arrp, (*count + 1) * sec->size);
	elem = *arrp + *count * sec->size;
	memset(elem, 0, sec->size);
	*(char **)(elem + sec->name_offset) = xstrdup(name);
	*(int *)(elem + sec->line_offset) = line;
	r = prec_add(c, sec, (*count)++);
	r->line = line;
	snprintf(r->label, sizeof(r->label), "%s.%s", sec->name, name);
	prec_defaults(c, r);
	return (long)c->nrecs - 1;
}

/* A [section] header: sets c->cur to its record, or -1 when it is bad. */
static void section_begin(struct profile_ctx *c, const char *hdr, int line)
{
	const char *dot = strchr(hdr, '.');
	size_t kindlen = dot ? (size_t)(dot - hdr) : strlen(hdr);
	const struct psection *sec = section_find(hdr, kindlen);
	struct psect_rec *r;

	c->cur = -1;
	if (!sec) {
		unknown_section(c, hdr, kindlen, line);
		return;
	}
	if (!sec->instance) {
		if (dot) {
			profile_errorf(c, line,
				       "[%s] takes no name; write [%s]",
				       sec->name, sec->name);
			return;
		}
		r = prec_singleton(c, sec->name);
		if (r->line)
			profile_errorf(c, line,
				       "[%s] is already defined on "
				       "line %d; keep each section in "
				       "one place",
				       r->label, r->line);
		else
			r->line = line;
		c->cur = r - c->recs;
		return;
	}
	if (!dot) {
		profile_errorf(c, line,
			       "[%s] needs a name: write [%s.NAME], "
			       "e.g. [%s]",
			       hdr, hdr,
			       !strcmp(hdr, "pci")    ? "pci.gpu"
			       : !strcmp(hdr, "disk") ? "disk.system"
						      : "net.lan");
		return;
	}
	if (!profile_name_valid(dot + 1)) {
		profile_errorf(c, line,
			       "[%s]: '%s' is not a valid name; use 1 "
			       "to %d letters, digits, '_' or '-'",
			       hdr, dot + 1, PROFILE_NAME_MAX);
		return;
	}
	c->cur = instance_add(c, sec, dot + 1, line);
}

static void unknown_key(struct profile_ctx *c, struct psect_rec *r,
			const char *name, int line)
{
	const char *names[PSEC_KEYS_MAX];
	char list[400] = "";
	size_t n = 0, len = 0;
	const char *best;

	for (size_t i = 0; i < profile_nkeys; i++) {
		if (profile_keys[i].sec != r->sec)
			continue;
		names[n++] = profile_keys[i].name;
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					len ? ", " : "", profile_keys[i].name);
	}
	best = closest(name, names, n);
	if (best)
		profile_errorf(c, line,
			       "unknown key '%s' in [%s], did you mean "
			       "'%s'?",
			       name, r->label, best);
	else
		profile_errorf(c, line,
			       "unknown key '%s' in [%s]; known keys: "
			       "%s",
			       name, r->label, list);
}

/* inih's handler: checks the name and keeps the value for later, when
 * [vm] name (used by ${name}) is known wherever it is in the file. */
static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct profile_ctx *c = user;
	struct psect_rec *r;
	const struct pkey *k;
	int line = c->line, *seen;

	(void)section;
	if (c->cur == OUTSIDE_SECTIONS) {
		profile_errorf(c, line,
			       "'%s' is outside any section; put it "
			       "under a header such as [vm]",
			       name);
		return 1;
	}
	if (c->cur < 0)
		return 1; /* under a bad header, already reported */
	r = &c->recs[c->cur];
	k = pkey_find(r->sec, name);
	if (!k) {
		unknown_key(c, r, name, line);
		return 1;
	}
	seen = &r->keyline[pkey_slot(k)];
	if (*seen && !(k->flags & PK_REPEAT)) {
		profile_errorf(c, line,
			       "duplicate key '%s' in [%s]; it is "
			       "already set on line %d",
			       name, r->label, *seen);
		return 1;
	}
	if (!*value) {
		profile_errorf(c, line,
			       "[%s] %s has no value; remove the line "
			       "to get the default",
			       r->label, name);
		return 1;
	}
	if (!*seen)
		*seen = line;
	c->ents = xrealloc(c->ents, (c->nents + 1) * sizeof(*c->ents));
	c->ents[c->nents++] =
		(struct pentry){(size_t)c->cur, k, xstrdup(value), line};
	return 1;
}

/* Cut a comment that starts after blank space: inih does so for ';' only,
 * PROFILE.md promises '#' too ("memory = 16G # for games"). */
static void strip_comment(char *s)
{
	for (char *p = s + 1; *p; p++)
		if ((*p == ';' || *p == '#') &&
		    (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	for (size_t n = strlen(s);
	     n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r');)
		s[--n] = '\0';
}

/* A header line: "[name]" and nothing after it but a comment. */
static void header_line(struct profile_ctx *c, char *s)
{
	char *end = strchr(s, ']'), *name = s + 1;

	c->cur = -1;
	if (!end) {
		profile_errorf(c, c->line, "'%s' has no closing ']'", s);
		return;
	}
	if (end[1]) {
		profile_errorf(c, c->line,
			       "unexpected text '%s' after the "
			       "section header",
			       end + 1);
		return;
	}
	*end = '\0';
	name += strspn(name, " \t");
	for (size_t n = strlen(name);
	     n && (name[n - 1] == ' ' || name[n - 1] == '\t');)
		name[--n] = '\0';
	if (!*name) {
		profile_errorf(c, c->line, "empty section header []");
		return;
	}
	section_begin(c, name, c->line);
}

/* What inih gets for one line: blank for comments and for lines already
 * reported, else the line without leading blanks, so an indented line
 * never continues the previous value (inih's multi-line mode). */
static void line_prepare(struct profile_ctx *c, char *s, char *buf, size_t size)
{
	size_t n;

	strcpy(buf, "\n");
	s += strspn(s, " \t");
	if (!*s || *s == ';' || *s == '#')
		return;
	strip_comment(s);
	n = strlen(s);
	if (n + 2 > size) {
		if (*s == '[')
			c->cur = -1;
		profile_errorf(c, c->line,
			       "the line is %zu characters long; "
			       "the limit is %zu",
			       n, size - 2);
		return;
	}
	if (*s == '[') {
		header_line(c, s);
		return;
	}
	if (!strpbrk(s, "=:")) {
		profile_errorf(c, c->line,
			       "expected 'key = value', a "
			       "[section] or a comment, not '%s'",
			       s);
		return;
	}
	if (*s == '=' || *s == ':') {
		profile_errorf(c, c->line, "'%s' has no key before '%c'", s,
			       *s);
		return;
	}
	snprintf(buf, size, "%s\n", s);
}

/* inih's reader: one line of c->text per call, so c->line is the line of
 * whatever the handler is called for (this inih lacks INI_HANDLER_LINENO). */
static char *ini_read_line(char *buf, int size, void *stream)
{
	struct profile_ctx *c = stream;
	const char *s = c->text + c->pos, *nl;
	cleanup_free char *line = NULL;
	size_t n;

	if (c->pos >= c->len || size < 3)
		return NULL;
	nl = memchr(s, '\n', c->len - c->pos);
	n = nl ? (size_t)(nl - s) : c->len - c->pos;
	c->pos += n + (nl ? 1 : 0);
	c->line++;
	if (c->line == 1 && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
		s += 3; /* UTF-8 byte order mark */
		n -= 3;
	}
	line = xmalloc(n + 1);
	memcpy(line, s, n);
	line[n] = '\0';
	line_prepare(c, line, buf, (size_t)size);
	return buf;
}

void profile_ini_parse(struct profile_ctx *c)
{
	int r;

	c->cur = OUTSIDE_SECTIONS;
	r = ini_parse_stream(ini_read_line, c, on_key, c);
	/* every line inih could refuse was blanked above */
	if (r > 0)
		profile_errorf(c, r, "the INI reader refused this line");
	else if (r < 0)
		profile_errorf(c, 0, "the INI reader failed (%d)", r);
}
