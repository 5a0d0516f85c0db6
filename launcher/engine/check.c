/* check.c: what `vmrun restore` may believe of a journal. The journal is
 * root's, but it is still only a file: before an op read back from it is
 * undone, its type's check callback says whether it names only what vmrun
 * could have made. These are the small tests the callbacks share. */
#include "engine/engine.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

const char *op_arg_string(const struct op *op, const char *key)
{
	json_object *v;

	if (!op->args || !json_object_object_get_ex(op->args, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool op_arg_int(const struct op *op, const char *key, long long *out)
{
	json_object *v;

	if (!op->args || !json_object_object_get_ex(op->args, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

int op_refuse(const struct op *op, struct vr_error *err, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return vr_errorx(err, EPERM,
			 "a %s entry that %s: vmrun never makes "
			 "one, so it does not undo it",
			 op->type ? op->type->name : "?", why);
}

int op_check_vm(const struct op *op, const char *vm, struct vr_error *err)
{
	const char *owner = op_arg_string(op, "vm");

	if (!owner)
		return op_refuse(op, err, "names no VM");
	if (strcmp(owner, vm))
		return op_refuse(op, err, "is for VM '%s', not '%s'", owner,
				 vm);
	return 0;
}

bool check_path_clean(const char *p)
{
	if (!p || p[0] != '/' || strlen(p) >= 4096)
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	/* no empty, "." or ".." name, no trailing slash */
	for (const char *s = p; *s == '/'; s += 1 + strcspn(s + 1, "/")) {
		size_t n = strcspn(s + 1, "/");

		if (n == 0 || (n == 1 && s[1] == '.') ||
		    (n == 2 && s[1] == '.' && s[2] == '.'))
			return false;
	}
	return true;
}

bool check_path_in(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	return check_path_clean(p) && !strncmp(p, dir, n) && p[n] == '/' &&
	       p[n + 1];
}

bool check_path_entry(const char *p, const char *dir, const char *prefix)
{
	size_t n = strlen(dir);

	return check_path_in(p, dir) && !strchr(p + n + 1, '/') &&
	       !strncmp(p + n + 1, prefix, strlen(prefix));
}

bool check_word(const char *s, const char *extra)
{
	if (!s || !*s || *s == '-' || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

bool check_bdf(const char *s)
{
	static const char form[] = "xxxx:xx:xx.o";

	if (!s || strlen(s) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i]; i++) {
		if (form[i] == 'x' && !isxdigit((unsigned char)s[i]))
			return false;
		if (form[i] == 'o' && (s[i] < '0' || s[i] > '7'))
			return false;
		if (form[i] != 'x' && form[i] != 'o' && s[i] != form[i])
			return false;
	}
	return true;
}
