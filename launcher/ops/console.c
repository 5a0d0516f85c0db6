/* console.c: the ops that free a boot GPU from the host's console and a
 * single-GPU host's desktop (units, vtconsoles, efifb, remove-rescan).
 * The first three are shared: the last VM to end gives them back. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* systemctl is-active prints the state; its exit status only says
 * whether it is "active". */
static int unit_state(const char *unit, char *buf, size_t len,
		      struct vr_error *err)
{
	const char *argv[] = {"systemctl", "is-active", unit, NULL};
	int r = host_run(argv, buf, len, err);

	if (r < 0)
		return r;
	if (!buf[0])
		snprintf(buf, len, "unknown");
	return 0;
}

static int unit_do(const char *verb, const char *unit, struct vr_error *err)
{
	const char *argv[] = {"systemctl", verb, unit, NULL};
	int r = host_run(argv, NULL, 0, err);

	if (r > 0)
		return vr_errorx(err, EIO,
				 "systemctl %s %s failed (exit status %d); "
				 "see journalctl -u %s",
				 verb, unit, r, unit);
	return r;
}

static int unit_save(struct op *op, struct vr_error *err)
{
	char state[64];
	int r = unit_state(op_arg(op, "unit"), state, sizeof(state), err);

	if (r)
		return r;
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "state",
			       json_object_new_string(state));
	return 0;
}

static int unit_apply(struct op *op, struct vr_error *err)
{
	const char *unit = op_arg(op, "unit");
	const char *saved = op_saved(op, "state");
	char state[64];
	int r;

	if (!saved || strcmp(saved, "active"))
		return 0;
	r = unit_do("stop", unit, err);
	if (!r)
		r = unit_state(unit, state, sizeof(state), err);
	if (!r && !strcmp(state, "active"))
		r = vr_errorx(err, EBUSY,
			      "%s is still active after systemctl stop", unit);
	return r;
}

/* Started again only if it ran before and is not running now. */
static int unit_undo(struct op *op, struct vr_error *err)
{
	const char *unit = op_arg(op, "unit");
	const char *saved = op_saved(op, "state");
	char state[64];
	int r;

	if (!saved || strcmp(saved, "active"))
		return 0;
	r = unit_state(unit, state, sizeof(state), err);
	if (r || !strcmp(state, "active"))
		return r;
	return unit_do("start", unit, err);
}

/* Undo starts the unit again: a unit name systemctl takes as one. */
static int unit_check(const struct op *op, const char *vm, struct vr_error *err)
{
	(void)vm;
	if (!check_word(op_arg_string(op, "unit"), ".-_@:\\"))
		return op_refuse(op, err, "names unit '%s'",
				 op_arg(op, "unit"));
	return 0;
}

/* Shared by every VM that stops it: started again when the last ends. */
static char *unit_key(const struct op *op)
{
	return xasprintf("stop-unit-%s", op_arg(op, "unit"));
}

const struct op_type console_op_stop_unit = {
	.name = "stop-unit",
	.save = unit_save,
	.apply = unit_apply,
	.undo = unit_undo,
	.check = unit_check,
	.share_key = unit_key,
};
OP_TYPE_REGISTER(console_op_stop_unit);

static char *vtcon_bind(const struct op *op)
{
	return xasprintf("/sys/class/vtconsole/%s/bind", op_arg(op, "vtcon"));
}

static int vtcon_save(struct op *op, struct vr_error *err)
{
	cleanup_free char *abs = vtcon_bind(op);
	char bind[16];
	int r = hostfs_read(abs, bind, sizeof(bind), err);

	if (r)
		return r;
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "bind", json_object_new_string(bind));
	return 0;
}

static int vtcon_apply(struct op *op, struct vr_error *err)
{
	cleanup_free char *abs = vtcon_bind(op);
	const char *saved = op_saved(op, "bind");

	if (!saved || !strcmp(saved, "0"))
		return 0;
	return host_write(abs, "0", err);
}

static int vtcon_undo(struct op *op, struct vr_error *err)
{
	cleanup_free char *abs = vtcon_bind(op);
	const char *saved = op_saved(op, "bind");
	char bind[16];
	int r;

	if (!saved)
		return 0;
	r = hostfs_read(abs, bind, sizeof(bind), err);
	if (r || !strcmp(bind, saved))
		return r;
	return host_write(abs, saved, err);
}

static int vtcon_check(const struct op *op, const char *vm,
		       struct vr_error *err)
{
	const char *v = op_arg_string(op, "vtcon"), *bind;

	(void)vm;
	if (!v || strncmp(v, "vtcon", 5) || !v[5] ||
	    strspn(v + 5, "0123456789") != strlen(v + 5) || strlen(v) > 12)
		return op_refuse(op, err, "names vtconsole '%s'",
				 op_arg(op, "vtcon"));
	bind = op_saved(op, "bind");
	if (bind && strcmp(bind, "0") && strcmp(bind, "1"))
		return op_refuse(op, err, "would write '%s' to its bind file",
				 bind);
	return 0;
}

char *console_vtcon_key(const char *vtcon)
{
	return xasprintf("vtconsole-%s", vtcon);
}

static char *vtcon_key(const struct op *op)
{
	return console_vtcon_key(op_arg(op, "vtcon"));
}

const struct op_type console_op_vtconsole = {
	.name = "vtconsole-unbind",
	.save = vtcon_save,
	.apply = vtcon_apply,
	.undo = vtcon_undo,
	.check = vtcon_check,
	.share_key = vtcon_key,
};
OP_TYPE_REGISTER(console_op_vtconsole);

/* A platform device bound to its driver, e.g. efi-framebuffer.0 to
 * efi-framebuffer. */
static char *fb_link(const struct op *op)
{
	return xasprintf("/sys/bus/platform/drivers/%s/%s",
			 op_arg(op, "driver"), op_arg(op, "device"));
}

static char *fb_attr(const struct op *op, const char *attr)
{
	return xasprintf("/sys/bus/platform/drivers/%s/%s",
			 op_arg(op, "driver"), attr);
}

static int fb_save(struct op *op, struct vr_error *err)
{
	cleanup_free char *link = fb_link(op);

	(void)err;
	op->saved = json_object_new_object();
	json_object_object_add(
		op->saved, "bound",
		json_object_new_string(hostfs_exists(link) ? "yes" : "no"));
	return 0;
}

static int fb_apply(struct op *op, struct vr_error *err)
{
	cleanup_free char *link = fb_link(op);
	cleanup_free char *unbind = fb_attr(op, "unbind");
	int r;

	if (!hostfs_exists(link))
		return 0;
	r = host_write(unbind, op_arg(op, "device"), err);
	if (!r && hostfs_exists(link))
		r = vr_errorx(err, EBUSY,
			      "%s is still bound to %s after unbind",
			      op_arg(op, "device"), op_arg(op, "driver"));
	return r;
}

static int fb_undo(struct op *op, struct vr_error *err)
{
	cleanup_free char *link = fb_link(op);
	cleanup_free char *bind = fb_attr(op, "bind");
	const char *saved = op_saved(op, "bound");

	if (!saved || strcmp(saved, "yes") || hostfs_exists(link))
		return 0;
	return host_write(bind, op_arg(op, "device"), err);
}

/* The firmware framebuffers console_plan unbinds, nothing else. */
static int fb_check(const struct op *op, const char *vm, struct vr_error *err)
{
	static const char *const fbs[][2] = {
		{"efi-framebuffer", "efi-framebuffer.0"},
		{"simple-framebuffer", "simple-framebuffer.0"},
	};
	const char *drv = op_arg_string(op, "driver");
	const char *dev = op_arg_string(op, "device");

	(void)vm;
	for (size_t i = 0; drv && dev && i < ARRAY_SIZE(fbs); i++)
		if (!strcmp(drv, fbs[i][0]) && !strcmp(dev, fbs[i][1]))
			return 0;
	return op_refuse(op, err, "binds '%s' to driver '%s'",
			 op_arg(op, "device"), op_arg(op, "driver"));
}

char *console_fb_key(const char *device)
{
	return xasprintf("efifb-%s", device);
}

static char *fb_key(const struct op *op)
{
	return console_fb_key(op_arg(op, "device"));
}

const struct op_type console_op_efifb = {
	.name = "efifb-unbind",
	.save = fb_save,
	.apply = fb_apply,
	.undo = fb_undo,
	.check = fb_check,
	.share_key = fb_key,
};
OP_TYPE_REGISTER(console_op_efifb);

static char *dev_dir(const struct op *op)
{
	return xasprintf("/sys/bus/pci/devices/%s", op_arg(op, "bdf"));
}

/* Wait for the device to be back on the bus after a rescan. */
static int rescan_wait(const struct op *op, struct vr_error *err)
{
	const struct timespec step = {0, 10 * 1000 * 1000};
	cleanup_free char *dir = dev_dir(op);
	int r = host_write("/sys/bus/pci/rescan", "1", err);

	if (r)
		return r;
	for (int i = 0; i < 500; i++) {
		if (hostfs_exists(dir))
			return 0;
		nanosleep(&step, NULL);
	}
	return vr_errorx(err, ENODEV,
			 "%s did not come back after a rescan of the PCI bus; "
			 "check dmesg",
			 op_arg(op, "bdf"));
}

static int rescan_save(struct op *op, struct vr_error *err)
{
	(void)err;
	op->saved = json_object_new_object();
	return 0;
}

/* Removing the device and rescanning the bus resets a GPU that the
 * firmware initialised and cannot reset otherwise. */
static int rescan_apply(struct op *op, struct vr_error *err)
{
	cleanup_free char *dir = dev_dir(op);
	cleanup_free char *remove = xasprintf("%s/remove", dir);
	int r = host_write(remove, "1", err);

	return r ? r : rescan_wait(op, err);
}

/* Nothing to put back once the device is on the bus; a cut-short apply
 * may have left it removed, so rescan then. */
static int rescan_undo(struct op *op, struct vr_error *err)
{
	cleanup_free char *dir = dev_dir(op);

	if (hostfs_exists(dir))
		return 0;
	return rescan_wait(op, err);
}

static int rescan_check(const struct op *op, const char *vm,
			struct vr_error *err)
{
	(void)vm;
	if (!check_bdf(op_arg_string(op, "bdf")))
		return op_refuse(op, err, "names no PCI device ('%s')",
				 op_arg(op, "bdf"));
	return 0;
}

const struct op_type console_op_remove_rescan = {
	.name = "pci-remove-rescan",
	.save = rescan_save,
	.apply = rescan_apply,
	.undo = rescan_undo,
	.check = rescan_check,
};
OP_TYPE_REGISTER(console_op_remove_rescan);
