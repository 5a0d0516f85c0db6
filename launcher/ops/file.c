/* file.c: create a generated file as a journaled op, so a crash never
 * leaves one behind after `vmrun restore`. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *hex_encode(const unsigned char *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = xmalloc(2 * len + 1);

	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * len] = '\0';
	return s;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* NULL when s is not even-length lower-case hex. */
static unsigned char *hex_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	unsigned char *p;

	if (n % 2)
		return NULL;
	p = xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(p);
			return NULL;
		}
		p[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return p;
}

static int file_save(struct op *op, struct vr_error *err)
{
	(void)err;
	op->saved = json_object_new_object();
	json_object_object_add(
		op->saved, "existed",
		json_object_new_string(
			hostfs_exists(op_arg(op, "path")) ? "yes" : "no"));
	return 0;
}

static int file_apply(struct op *op, struct vr_error *err)
{
	const char *path = op_arg(op, "path");
	json_object *mode = NULL;
	cleanup_free unsigned char *data = NULL;
	size_t len = 0;

	data = hex_decode(op_arg(op, "hex"), &len);
	json_object_object_get_ex(op->args, "mode", &mode);
	if (!data)
		return vr_errorx(err, EINVAL, "%s: content is not hex", path);
	return host_write_file(
		path, data, len,
		mode ? (unsigned)json_object_get_int(mode) : 0600, err);
}

static int file_undo(struct op *op, struct vr_error *err)
{
	return host_remove(op_arg(op, "path"), err);
}

/* The one file vmrun generates: the VM's battery SSDT in /run/vmrun. */
static int file_check(const struct op *op, const char *vm, struct vr_error *err)
{
	cleanup_free char *want = paths_run_file(vm, PATHS_BATTERY);
	const char *path = op_arg_string(op, "path");

	if (!path || strcmp(path, want))
		return op_refuse(op, err, "removes %s, not %s",
				 op_arg(op, "path"), want);
	return 0;
}

const struct op_type file_op_write = {
	.name = "file",
	.save = file_save,
	.apply = file_apply,
	.undo = file_undo,
	.check = file_check,
};
OP_TYPE_REGISTER(file_op_write);

void file_plan(struct plan *plan, const char *abs, const void *data, size_t len,
	       unsigned mode, const char *what)
{
	json_object *args = json_object_new_object();
	cleanup_free char *hex = hex_encode(data, len);

	json_object_object_add(args, "path", json_object_new_string(abs));
	json_object_object_add(args, "mode", json_object_new_int((int)mode));
	json_object_object_add(args, "hex", json_object_new_string(hex));
	plan_add(plan, &file_op_write, args, "create %s (%s, %zu bytes)", abs,
		 what, len);
}

/* A path a run creates (a socket) and undo removes; nothing to save or
 * apply: the run makes it. */
static int cleanup_undo(struct op *op, struct vr_error *err)
{
	json_object *v;
	cleanup_free char *path = NULL;

	if (!json_object_object_get_ex(op->args, "path", &v))
		return 0;
	path = hostfs_path(json_object_get_string(v));
	if (unlink(path) < 0 && errno != ENOENT)
		return vr_error(err, errno, "remove %s", path);
	return 0;
}

/* The sockets a run of this VM makes in /run/vmrun. */
static int cleanup_check(const struct op *op, const char *vm,
			 struct vr_error *err)
{
	static const char *const suffix[] = {PATHS_CTL, PATHS_SWTPM, PATHS_QMP};
	const char *path = op_arg_string(op, "path");

	for (size_t i = 0; path && i < ARRAY_SIZE(suffix); i++) {
		cleanup_free char *want = paths_run_file(vm, suffix[i]);

		if (!strcmp(path, want))
			return 0;
	}
	return op_refuse(op, err,
			 "removes %s, not one of the sockets of VM '%s' in "
			 "%s",
			 op_arg(op, "path"), vm, paths_run_dir());
}

const struct op_type file_op_cleanup = {
	.name = "cleanup-path",
	.save = op_nothing,
	.apply = op_nothing,
	.undo = cleanup_undo,
	.check = cleanup_check,
};
OP_TYPE_REGISTER(file_op_cleanup);
