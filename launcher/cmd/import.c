/* import.c: `vmrun import DOMAIN.xml`: a libvirt domain as a profile
 * (profile/domxml.c reads it); what does not carry over is said at the
 * top of the profile and on stderr. */
#include "cmd/cmd.h"
#include "profile/profile.h"
#include "base/base.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_MAX_BYTES (4 * MIB)

static int import_read(const char *path, char **text, size_t *len,
		       struct vr_error *err)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	size_t cap = 65536, got;

	*len = 0;
	if (!f)
		return vr_error(err, errno, "cannot read %s", path);
	*text = xmalloc(cap + 1);
	while ((got = fread(*text + *len, 1, cap - *len, f)) > 0) {
		*len += got;
		if (*len > IMPORT_MAX_BYTES) {
			free(*text);
			return vr_errorx(err, EFBIG,
					 "%s: larger than 4 MiB; is it a "
					 "libvirt domain?",
					 path);
		}
		if (*len == cap)
			*text = xrealloc(*text, (cap *= 2) + 1);
	}
	if (ferror(f)) {
		free(*text);
		return vr_error(err, EIO, "cannot read %s", path);
	}
	(*text)[*len] = '\0';
	return 0;
}

static void import_head(struct pdoc *d, const char *xml, const char *out,
			const struct strv *dropped)
{
	pdoc_head(d, "%s: imported by `vmrun import` from %s.",
		  out ? out : "this profile", xml);
	pdoc_head(d, "Check it against this host with `vmrun doctor`; "
		     "`vmrun --dry-run` shows the QEMU command line.");
	if (!dropped->n) {
		pdoc_head(d, "Everything in the domain was carried over.");
		return;
	}
	pdoc_head(d, "\nNot carried over, or carried differently, with the "
		     "reason:");
	for (size_t i = 0; i < dropped->n; i++)
		pdoc_head_item(d, "%s", dropped->v[i]);
}

/* "<elem> (line N): why" by N. */
static long drop_line(const char *s)
{
	const char *l = strstr(s, "> (line ");

	return l ? strtol(l + 8, NULL, 10) : 0;
}

static int drop_cmp(const void *a, const void *b)
{
	long x = drop_line(*(char *const *)a), y = drop_line(*(char *const *)b);

	return (x > y) - (x < y);
}

/* The profile read back, as `vmrun` will: a romfile or ACPI table that
 * is not on this machine (yet) is worth a warning, not a refusal. */
static void import_check(const char *text, const char *out)
{
	cleanup_free char *copy = xstrdup(out ? out : "./-");
	cleanup_free char *dir = realpath(dirname(copy), NULL);
	struct vr_error e = {0};
	struct profile p;

	if (profile_load_string(text, out ? out : "(imported profile)",
				dir ? dir : ".", &p, &e)) {
		log_warn("the profile does not load on this machine yet:\n%s",
			 e.msg);
		return;
	}
	profile_free(&p);
}

static char *import_text(const char *xml, const char *out, struct vr_error *err)
{
	cleanup_free char *src = NULL;
	struct strv dropped = {0};
	struct pdoc d = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int r = import_read(xml, &src, &len, err);

	if (!r)
		r = domxml_import(src, len, xml, &d, &dropped, err);
	if (!r) {
		if (dropped.n)
			qsort(dropped.v, dropped.n, sizeof(*dropped.v),
			      drop_cmp);
		import_head(&d, xml, out, &dropped);
		for (size_t i = 0; i < dropped.n; i++)
			log_warn("not carried over: %s", dropped.v[i]);
		f = open_memstream(&text, &len);
		r = f ? pdoc_write(&d, f, err) : vr_error(err, errno, "memory");
	}
	if (f)
		fclose(f);
	pdoc_free(&d);
	strv_free(&dropped);
	if (r) {
		free(text);
		return NULL;
	}
	return text;
}

int cmd_import(const char *xml, const struct cmd_opts *o, struct vr_error *err)
{
	cleanup_free char *text = import_text(xml, o->out, err);

	if (!text)
		return 1;
	import_check(text, o->out);
	if (cmd_text_write(o->out, text, err))
		return 1;
	if (o->out)
		log_info("wrote %s; `vmrun doctor %s` checks it against this "
			 "host",
			 o->out, o->out);
	return 0;
}
