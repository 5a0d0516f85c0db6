/* vfio.c: the vfio-bind and modprobe ops: move one PCI function to
 * vfio-pci the way libvirt does, but verify each step and undo it. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VFIO_DRIVER   "vfio-pci"
#define DRIVERS_PROBE "/sys/bus/pci/drivers_probe"

static long env_ms(const char *name, long dflt)
{
	const char *v = getenv(name);
	long ms = v && *v ? strtol(v, NULL, 10) : 0;

	return ms > 0 ? ms : dflt;
}

static long vfio_timeout_ms(void)
{
	return env_ms("VMRUN_VFIO_TIMEOUT_MS", 5000);
}

/* "5 s" or "250 ms", for messages. */
static char *timeout_text(long ms)
{
	if (ms % 1000 == 0)
		return xasprintf("%ld s", ms / 1000);
	return xasprintf("%ld ms", ms);
}

static void driver_of(const char *bdf, char *buf, size_t len)
{
	cleanup_free char *link =
		xasprintf("/sys/bus/pci/devices/%s/driver", bdf);

	if (hostfs_readlink_base(link, buf, len))
		buf[0] = '\0';
}

int vfio_wait_driver(const char *bdf, const char *want, char *cur,
		     size_t curlen)
{
	const struct timespec step = {0, 10 * 1000 * 1000};
	long left = vfio_timeout_ms();

	for (;;) {
		driver_of(bdf, cur, curlen);
		if (!strcmp(cur, want))
			return 0;
		if (left <= 0)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
		left -= 10;
	}
}

static int dev_attr(const char *bdf, const char *attr, char *buf, size_t len,
		    struct vr_error *err)
{
	cleanup_free char *abs =
		xasprintf("/sys/bus/pci/devices/%s/%s", bdf, attr);

	return hostfs_read(abs, buf, len, err);
}

static int bind_save(struct op *op, struct vr_error *err)
{
	const char *bdf = op_arg(op, "bdf");
	char drv[64], ovr[64];
	int r;

	r = dev_attr(bdf, "driver_override", ovr, sizeof(ovr), err);
	if (r)
		return vr_error_prefix(err, "%s is not on the PCI bus", bdf);
	/* The kernel shows an unset override as "(null)". */
	if (!strcmp(ovr, "(null)"))
		ovr[0] = '\0';
	driver_of(bdf, drv, sizeof(drv));
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "driver",
			       json_object_new_string(drv));
	json_object_object_add(op->saved, "driver_override",
			       json_object_new_string(ovr));
	return 0;
}

static int write_attr(const char *bdf, const char *attr, const char *value,
		      struct vr_error *err)
{
	cleanup_free char *abs =
		xasprintf("/sys/bus/pci/devices/%s/%s", bdf, attr);

	return host_write(abs, value, err);
}

/* The probe write fails when no driver takes the device; the wait that
 * follows says what the device ended up with, the write's error why. */
static int probe_and_wait(const char *bdf, const char *want, const char *how,
			  struct vr_error *err)
{
	cleanup_free char *t = timeout_text(vfio_timeout_ms());
	struct vr_error perr = {0};
	char cur[64];

	host_write(DRIVERS_PROBE, bdf, &perr);
	if (!vfio_wait_driver(bdf, want, cur, sizeof(cur)))
		return 0;
	return vr_errorx(err, EIO,
			 "%s did not %s %s within %s (driver: %s)%s%s; "
			 "check dmesg",
			 bdf, how, want, t, cur[0] ? cur : "none",
			 perr.code ? ": " : "", perr.msg);
}

/* The processes holding bdf's nodes, as a sentence (malloc'd, NULL when
 * none hold it or bdf is gone). */
static char *held_by(const char *bdf)
{
	struct host_pci d = {0};
	struct holder *hs = NULL;
	size_t n;
	char *text;

	if (pci_addr_parse(bdf, &d.addr))
		return NULL;
	driver_of(bdf, d.driver, sizeof(d.driver));
	n = holders_find(&d, &hs);
	text = n ? holders_text(hs, n) : NULL;
	free(hs);
	return text;
}

/* Unbinding a driver whose device is in use waits (for ever) until its
 * users let go: refuse while they hold it, and do the write where a
 * stuck one cannot hang vmrun. */
static int unbind(const char *bdf, const char *cur, struct vr_error *err)
{
	cleanup_free char *abs =
		xasprintf("/sys/bus/pci/devices/%s/driver/unbind", bdf);
	cleanup_free char *held = held_by(bdf);
	long ms = env_ms("VMRUN_UNBIND_TIMEOUT_MS", 10000);
	cleanup_free char *t = timeout_text(ms);
	int r;

	if (held)
		return vr_errorx(err, EBUSY,
				 "%s is still in use, and %s would not let go "
				 "of it: %s. End them (a service: [host] "
				 "stop-units stops it first; one that outlives "
				 "its stop is stuck, see dmesg) and start "
				 "again",
				 bdf, cur, held);
	r = host_write_timeout(abs, bdf, ms, err);
	if (r != -ETIMEDOUT)
		return r ? vr_error_prefix(err, "unbind %s from %s", bdf, cur)
			 : 0;
	free(held);
	held = held_by(bdf);
	return vr_errorx(err, ETIMEDOUT,
			 "unbind %s from %s did not finish within %s: %s; if "
			 "the driver lets go of it later, the device is left "
			 "without one (echo %s > /sys/bus/pci/drivers_probe "
			 "gives it back)",
			 bdf, cur, t,
			 held ? held
			      : "nothing vmrun can see holds it (a program "
				"may have its memory mapped through a "
				"resourceN file; see dmesg)",
			 bdf);
}

static int bind_apply(struct op *op, struct vr_error *err)
{
	const char *bdf = op_arg(op, "bdf");
	const char *drv = op_saved(op, "driver");
	char cur[64];
	int r;

	/* Already on vfio-pci (the user's own setup): leave it, and undo
	 * leaves it there too. */
	if (!drv || !strcmp(drv, VFIO_DRIVER))
		return 0;
	/* driver_override, never new_id: new_id would also grab every
	 * identical card the host still uses. */
	r = write_attr(bdf, "driver_override", VFIO_DRIVER, err);
	if (r)
		return r;
	driver_of(bdf, cur, sizeof(cur));
	if (cur[0] && strcmp(cur, VFIO_DRIVER)) {
		r = unbind(bdf, cur, err);
		if (r)
			return r;
	}
	return probe_and_wait(bdf, VFIO_DRIVER, "bind to", err);
}

/* Safe at any point of a cut-short apply: each step looks at where the
 * device is now, not at where apply should have left it. */
static int bind_undo(struct op *op, struct vr_error *err)
{
	const char *bdf = op_arg(op, "bdf");
	const char *drv = op_saved(op, "driver");
	const char *ovr = op_saved(op, "driver_override");
	char cur[64];
	int r;

	if (!drv || !strcmp(drv, VFIO_DRIVER))
		return 0;
	/* Our claim went stale when we died and another VM took the device
	 * over: it is that VM's now, and goes back when it stops. */
	r = claim_check(bdf, op_arg(op, "vm"), err);
	if (r)
		return r;
	r = write_attr(bdf, "driver_override", ovr && *ovr ? ovr : "\n", err);
	if (r)
		return r;
	driver_of(bdf, cur, sizeof(cur));
	if (!strcmp(cur, VFIO_DRIVER)) {
		r = host_write("/sys/bus/pci/drivers/" VFIO_DRIVER "/unbind",
			       bdf, err);
		if (r)
			return r;
		cur[0] = '\0';
	}
	/* Bound to something already (its own driver, as apply had not
	 * unbound it yet), or unbound before we came: done. */
	if (cur[0] || !drv[0])
		return 0;
	r = probe_and_wait(bdf, drv, "go back to", err);
	if (r)
		vr_error_append(err,
				"to retry by hand: echo %s > "
				"/sys/bus/pci/drivers/%s/bind",
				bdf, drv);
	return r;
}

static bool driver_name(const char *s)
{
	return s && (!*s || check_word(s, "-_."));
}

/* A device of this VM's, with the drivers it had: without them undo
 * cannot know where the device goes back, and it must not say "undone"
 * and leave it on vfio-pci. */
static int bind_check(const struct op *op, const char *vm, struct vr_error *err)
{
	const char *bdf = op_arg_string(op, "bdf");

	if (!check_bdf(bdf))
		return op_refuse(op, err, "names no PCI device ('%s')",
				 op_arg(op, "bdf"));
	if (op_check_vm(op, vm, err))
		return -EPERM;
	if (!json_object_is_type(op->saved, json_type_object) ||
	    !driver_name(op_saved(op, "driver")) ||
	    !driver_name(op_saved(op, "driver_override")))
		return vr_errorx(err, EPERM,
				 "%s: the journal does not say which driver "
				 "it had (saved: %s), so vmrun cannot give it "
				 "back. If it is still on vfio-pci, give it to "
				 "the kernel's choice of driver: echo > "
				 "/sys/bus/pci/devices/%s/driver_override; "
				 "echo %s > /sys/bus/pci/drivers/vfio-pci/"
				 "unbind; echo %s > /sys/bus/pci/"
				 "drivers_probe",
				 bdf,
				 op->saved
					 ? json_object_to_json_string(op->saved)
					 : "null",
				 bdf, bdf, bdf);
	return 0;
}

const struct op_type vfio_op_bind = {
	.name = "vfio-bind",
	.save = bind_save,
	.apply = bind_apply,
	.undo = bind_undo,
	.check = bind_check,
};
OP_TYPE_REGISTER(vfio_op_bind);

static int modprobe_save(struct op *op, struct vr_error *err)
{
	(void)err;
	op->saved = json_object_new_object();
	return 0;
}

static int modprobe_apply(struct op *op, struct vr_error *err)
{
	const char *mod = op_arg(op, "module");
	const char *argv[] = {"modprobe", mod, NULL};
	cleanup_free char *dir =
		xasprintf("/sys/bus/pci/drivers/%s", op_arg(op, "driver"));
	int r;

	if (hostfs_exists(dir))
		return 0;
	r = host_run(argv, NULL, 0, err);
	if (r < 0)
		return r;
	if (r > 0)
		return vr_errorx(err, EIO,
				 "modprobe %s failed (exit status %d): is the "
				 "module built for this kernel (uname -r)?",
				 mod, r);
	if (!hostfs_exists(dir))
		return vr_errorx(err, ENOENT,
				 "modprobe %s succeeded but %s did not "
				 "appear",
				 mod, dir);
	return 0;
}

/* The module stays loaded: unloading it could pull it from under another
 * VM, and an idle vfio-pci holds nothing. */
const struct op_type vfio_op_modprobe = {
	.name = "modprobe",
	.save = modprobe_save,
	.apply = modprobe_apply,
	.undo = op_nothing,
};
OP_TYPE_REGISTER(vfio_op_modprobe);
