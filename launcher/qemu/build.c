/* build.c: one argv being built: adding options, with the profile
 * section each comes from, and the checks on what goes into them. */
#include "host/host.h"
#include "qemu/build.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Every argument added so far gets the origin in force when it was. */
void qb_sync_origin(struct qemu_build *b)
{
	while (b->origin->n < b->argv->n)
		strv_add(b->origin, b->from);
}

void qb_from(struct qemu_build *b, const char *fmt, ...)
{
	va_list ap;

	qb_sync_origin(b);
	va_start(ap, fmt);
	vsnprintf(b->from, sizeof(b->from), fmt, ap);
	va_end(ap);
}

void qb_add(struct qemu_build *b, const char *opt, const char *val)
{
	strv_add(b->argv, opt);
	strv_add(b->argv, val);
}

void qb_addf(struct qemu_build *b, const char *opt, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	qb_add(b, opt, s);
	free(s);
}

void qb_json(struct qemu_build *b, const char *opt, json_object *o)
{
	qb_add(b, opt,
	       json_object_to_json_string_ext(
		       o, JSON_C_TO_STRING_PLAIN |
				  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int qb_check_text(struct qemu_build *b, const char *what, const char *s)
{
	for (const char *c = s; *c; c++)
		if (iscntrl((unsigned char)*c))
			return vr_errorx(b->err, EINVAL,
					 "%s contains a control character "
					 "(0x%02x); QEMU options cannot carry "
					 "it: remove it",
					 what, (unsigned char)*c);
	return 0;
}

char *qb_opt_path(const char *path)
{
	cleanup_free char *rooted = hostfs_path(path);

	return qemu_opt_escape(rooted);
}

json_object *qb_device(const char *driver, const char *id)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "driver", json_object_new_string(driver));
	if (id)
		json_object_object_add(o, "id", json_object_new_string(id));
	return o;
}

/* -cpu is split on every comma by QEMU (no ",," escape there), so what
 * lands in it must be a plain token. */
int qb_check_token(struct qemu_build *b, const char *what, const char *s,
		   const char *extra)
{
	if (!*s)
		return vr_errorx(b->err, EINVAL, "%s is empty", what);
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_.", *c) &&
		    !strchr(extra, *c))
			return vr_errorx(b->err, EINVAL,
					 "%s '%s' contains '%c', which QEMU's "
					 "-cpu option cannot carry",
					 what, s, *c);
	return 0;
}
