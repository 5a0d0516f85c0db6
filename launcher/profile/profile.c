/* profile.c: loads a profile: the INI layer collects the values, then they
 * are parsed through the schema table, defaulted and checked as a whole. */
#include "profile/schema.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROFILE_MAX_BYTES (1024 * 1024)

void profile_errorf(struct profile_ctx *c, int line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	c->errs = xrealloc(c->errs, (c->nerrs + 1) * sizeof(*c->errs));
	c->errs[c->nerrs].line = line;
	c->errs[c->nerrs].msg =
		line ? xasprintf("%s:%d: %s", c->file, line, msg)
		     : xasprintf("%s: %s", c->file, msg);
	c->nerrs++;
	free(msg);
}

void *psect_base(struct profile *p, const struct psect_rec *r)
{
	char *base = (char *)p + r->sec->offset;

	if (r->sec->instance)
		base = *(char **)base + r->index * r->sec->size;
	return base;
}

int pkey_parse(struct profile_ctx *c, const struct pkey *k, void *base,
	       const char *s, int line, const char *label)
{
	struct pval v = {.ctx = c, .key = k, .base = base, .s = s};

	v.field = (char *)base + k->offset;
	if (!k->type->parse(&v))
		return 0;
	profile_errorf(c, line, "[%s] %s: %s", label, k->name, v.why);
	return -EINVAL;
}

/* Which pass parses a key: [vm] name first (for ${name}), then state-dir
 * (for ${state-dir}), then the rest in file order. */
static int key_pass(const struct pkey *k)
{
	return k->flags & PK_FIRST ? 0 : k->flags & PK_SECOND ? 1 : 2;
}

static void late_defaults(struct profile_ctx *c, int pass)
{
	/* they use ${name} and ${state-dir}, whose problems are reported */
	if (!c->name_set || (pass == 2 && !c->p->vm.state_dir))
		return;
	for (size_t i = 0; i < c->nrecs; i++) {
		struct psect_rec *r = &c->recs[i];

		for (size_t j = 0; j < profile_nkeys; j++) {
			const struct pkey *k = &profile_keys[j];

			if (k->sec == r->sec && (k->flags & PK_LATE) &&
			    key_pass(k) == pass && !r->keyline[pkey_slot(k)])
				pkey_parse(c, k, psect_base(c->p, r), k->def, 0,
					   r->label);
		}
	}
}

static void parse_entries(struct profile_ctx *c)
{
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < c->nents; i++) {
			struct pentry *e = &c->ents[i];
			struct psect_rec *r = &c->recs[e->rec];

			if (key_pass(e->key) == pass)
				pkey_parse(c, e->key, psect_base(c->p, r),
					   e->value, e->line, r->label);
		}
		late_defaults(c, pass);
	}
}

static void check_required(struct profile_ctx *c)
{
	struct psect_rec *vm = prec_singleton(c, "vm");

	if (!vm->line) {
		profile_errorf(c, 0,
			       "there is no [vm] section; a profile needs "
			       "at least [vm] name and memory");
		return;
	}
	for (size_t i = 0; i < c->nrecs; i++) {
		struct psect_rec *r = &c->recs[i];

		if (!r->line)
			continue;
		for (size_t j = 0; j < profile_nkeys; j++) {
			const struct pkey *k = &profile_keys[j];

			if (k->sec == r->sec && (k->flags & PK_REQUIRED) &&
			    !r->keyline[pkey_slot(k)])
				profile_errorf(c, r->line,
					       "[%s] needs '%s' "
					       "(%s)",
					       r->label, k->name,
					       k->values ? k->values
							 : k->type->values);
		}
	}
}

static int cmp_err(const void *a, const void *b)
{
	const struct perr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x < y ? -1 : x > y; /* qsort is not stable; keep the order */
}

/* All problems into err, in line order, as many as fit. */
static int errors_report(struct profile_ctx *c, struct vr_error *err)
{
	size_t shown = 0;

	qsort(c->errs, c->nerrs, sizeof(*c->errs), cmp_err);
	vr_error_clear(err);
	for (; shown < c->nerrs; shown++) {
		if (strlen(err->msg) + strlen(c->errs[shown].msg) + 64 >=
		    sizeof(err->msg))
			break;
		vr_error_append(err, "%s", c->errs[shown].msg);
	}
	if (shown < c->nerrs)
		vr_error_append(err, "%s: %zu more errors not shown", c->file,
				c->nerrs - shown);
	err->code = EINVAL;
	return -EINVAL;
}

static void loc_add(struct profile *p, const char *label, const char *key,
		    int line)
{
	struct profile_loc *l;

	p->locs = xrealloc(p->locs, (p->nlocs + 1) * sizeof(*p->locs));
	l = &p->locs[p->nlocs++];
	snprintf(l->label, sizeof(l->label), "%s", label);
	l->key = key;
	l->line = line;
}

/* Keep where each section and key was, for profile_where. */
static void locs_keep(struct profile_ctx *c)
{
	for (size_t i = 0; i < c->nrecs; i++) {
		const struct psect_rec *r = &c->recs[i];

		if (!r->line)
			continue;
		loc_add(c->p, r->label, NULL, r->line);
		for (size_t j = 0; j < profile_nkeys; j++) {
			const struct pkey *k = &profile_keys[j];

			if (k->sec == r->sec && r->keyline[pkey_slot(k)])
				loc_add(c->p, r->label, k->name,
					r->keyline[pkey_slot(k)]);
		}
	}
}

char *profile_where(const struct profile *p, const char *label, const char *key)
{
	const char *file = p->path ? p->path : "the profile";
	int line = 0;

	for (size_t i = 0; i < p->nlocs; i++) {
		const struct profile_loc *l = &p->locs[i];

		if (strcmp(l->label, label))
			continue;
		if (l->key && key && !strcmp(l->key, key))
			return xasprintf("%s:%d", file, l->line);
		if (!l->key)
			line = l->line;
	}
	return line ? xasprintf("%s:%d", file, line) : xstrdup(file);
}

int profile_error_at(const struct profile *p, const char *label,
		     const char *key, struct vr_error *err)
{
	cleanup_free char *at = profile_where(p, label, key);

	return vr_error_prefix(err, "%s", at);
}

static void ctx_free(struct profile_ctx *c)
{
	for (size_t i = 0; i < c->nerrs; i++)
		free(c->errs[i].msg);
	for (size_t i = 0; i < c->nents; i++)
		free(c->ents[i].value);
	free(c->errs);
	free(c->ents);
	free(c->recs);
}

/* An absolute folder: resolved when it exists, else joined to the cwd. */
static char *dir_absolute(const char *dir)
{
	char buf[PATH_MAX], *real = realpath(dir, NULL);

	if (real)
		return real;
	if (dir[0] == '/')
		return xstrdup(dir);
	if (!getcwd(buf, sizeof(buf)))
		return xstrdup(dir);
	return xasprintf("%s/%s", buf, dir);
}

static int load(const char *text, size_t len, const char *name, const char *dir,
		struct profile *p, struct vr_error *err)
{
	struct profile_ctx c = {.p = p, .file = name, .text = text, .len = len};
	int r = 0;

	memset(p, 0, sizeof(*p));
	p->path = xstrdup(name);
	p->dir = dir_absolute(dir && *dir ? dir : ".");
	for (size_t i = 0; i < profile_nsections; i++) {
		struct psect_rec *rec;

		if (profile_sections[i].instance)
			continue;
		rec = prec_add(&c, &profile_sections[i], 0);
		snprintf(rec->label, sizeof(rec->label), "%s",
			 profile_sections[i].name);
		prec_defaults(&c, rec);
	}
	if (memchr(text, '\0', len)) {
		profile_errorf(&c, 0,
			       "contains a NUL byte; a profile is a "
			       "text file");
	} else {
		profile_ini_parse(&c);
		parse_entries(&c);
		check_required(&c);
	}
	/* checks across fields would trip over values already refused */
	if (!c.nerrs)
		profile_check(&c);
	if (c.nerrs) {
		r = errors_report(&c, err);
		profile_free(p);
	} else {
		locs_keep(&c);
	}
	ctx_free(&c);
	return r;
}

int profile_load_string(const char *text, const char *name, const char *dir,
			struct profile *p, struct vr_error *err)
{
	return load(text, strlen(text), name, dir, p, err);
}

static int read_all(const char *path, char **out, size_t *len,
		    struct vr_error *err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	size_t cap = 4096, n = 0, got;
	char *buf;

	if (!f)
		return vr_error(err, errno, "cannot read profile %s", path);
	buf = xmalloc(cap);
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n > PROFILE_MAX_BYTES) {
			free(buf);
			return vr_errorx(err, EFBIG,
					 "%s: larger than 1 MiB; "
					 "is it really a profile?",
					 path);
		}
		if (n == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		free(buf);
		return vr_error(err, e, "cannot read profile %s", path);
	}
	*out = buf;
	*len = n;
	return 0;
}

int profile_load(const char *path, struct profile *p, struct vr_error *err)
{
	cleanup_free char *text = NULL, *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	size_t len = 0;
	int r;

	memset(p, 0, sizeof(*p));
	r = read_all(path, &text, &len, err);
	if (r)
		return r;
	if (slash == dir)
		dir[1] = '\0'; /* "/x.ini" */
	else if (slash)
		*slash = '\0';
	return load(text, len, path, slash ? dir : ".", p, err);
}

static void hv_free(struct profile_hyperv *hv)
{
	for (size_t i = 0; i < hv->nfeatures; i++) {
		free(hv->features[i].name);
		free(hv->features[i].value);
	}
	free(hv->features);
	hv->features = NULL;
	hv->nfeatures = 0;
}

static void fields_free(const struct psection *sec, void *base)
{
	for (size_t i = 0; i < profile_nkeys; i++) {
		const struct pkey *k = &profile_keys[i];
		void *f = (char *)base + k->offset;

		if (k->sec != sec)
			continue;
		switch (k->type->store) {
		case PS_STR:
		case PS_PTR:
			free(*(void **)f);
			*(void **)f = NULL;
			break;
		case PS_STRV:
			strv_free(f);
			break;
		case PS_CPULIST:
			cpulist_free(f);
			break;
		case PS_HV:
			hv_free(base);
			break;
		case PS_PLAIN:
			break;
		}
	}
}

void profile_free(struct profile *p)
{
	for (size_t i = 0; i < profile_nsections; i++) {
		const struct psection *sec = &profile_sections[i];
		char **arr = (char **)((char *)p + sec->offset);
		size_t n;

		if (!sec->instance) {
			fields_free(sec, (char *)p + sec->offset);
			continue;
		}
		n = *(size_t *)((char *)p + sec->count_offset);
		for (size_t j = 0; j < n; j++) {
			char *elem = *arr + j * sec->size;

			fields_free(sec, elem);
			free(*(char **)(elem + sec->name_offset));
		}
		free(*arr);
	}
	free(p->path);
	free(p->dir);
	free(p->locs);
	memset(p, 0, sizeof(*p));
}
