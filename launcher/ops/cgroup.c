/* cgroup.c: the cgroup ops of CPU isolation: a slice's CPUs (through
 * systemd where it runs), a controller switched on, QEMU's own cgroup. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *arg_str(const json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static bool arg_bool(const json_object *obj, const char *key)
{
	json_object *v;

	return obj && json_object_object_get_ex(obj, key, &v) &&
	       json_object_get_boolean(v);
}

static int arg_need(const struct op *op, const char *key, const char **out,
		    struct vr_error *err)
{
	*out = arg_str(op->args, key);
	if (!*out)
		return vr_errorx(err, EINVAL,
				 "%s: '%s' missing from the op's "
				 "arguments",
				 op->type->name, key);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A cgroup file's value; "" when the file is absent (controller not
 * enabled there: the cgroup inherits). */
static int cg_read(const char *dir, const char *file, char *buf, size_t len,
		   struct vr_error *err)
{
	cleanup_free char *abs = xasprintf("%s/%s", dir, file);

	buf[0] = '\0';
	if (!hostfs_exists(abs))
		return 0;
	return hostfs_read(abs, buf, len, err);
}

/* cgroupfs strips the value, so "\n" is how an empty list (inherit the
 * parent's CPUs) is written in one non-empty write. */
static int cg_write(const char *dir, const char *file, const char *value,
		    struct vr_error *err)
{
	cleanup_free char *abs = xasprintf("%s/%s", dir, file);

	return host_write(abs, *value ? value : "\n", err);
}

/* systemd applies AllowedCPUs asynchronously to the cgroup: wait for
 * cpuset.cpus.effective to show it (2 s). */
static int cg_wait_effective(const char *dir, const char *cpus,
			     struct vr_error *err)
{
	char got[1024] = "";
	int r = 0;

	for (int i = 0; i < 40; i++) {
		r = cg_read(dir, "cpuset.cpus.effective", got, sizeof(got),
			    err);
		if (r)
			return r;
		if (cpuset_equal_text(got, cpus))
			return 0;
		sleep_ms(50);
	}
	return vr_errorx(err, EIO,
			 "%s: cpuset.cpus.effective is '%s' after setting "
			 "CPUs %s",
			 dir, got, cpus);
}

/* ---- "cpuset": the CPUs one slice (or scope) may use ---- */

static char *slice_dir(const char *unit)
{
	return xasprintf("%s/%s", CPUSET_CGROUP_ROOT, unit);
}

static int slice_save(struct op *op, struct vr_error *err)
{
	const char *unit;
	cleanup_free char *dir = NULL;
	char cpus[1024];
	int r = arg_need(op, "unit", &unit, err);

	if (r)
		return r;
	dir = slice_dir(unit);
	r = cg_read(dir, "cpuset.cpus", cpus, sizeof(cpus), err);
	if (r)
		return r;
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "cpus", json_object_new_string(cpus));
	return 0;
}

static int slice_set(const struct op *op, const char *unit, const char *cpus,
		     struct vr_error *err)
{
	cleanup_free char *prop = NULL, *dir = slice_dir(unit);
	const char *argv[] = {"systemctl", "set-property", "--runtime",
			      unit,	   NULL,	   NULL};
	int r;

	if (!arg_bool(op->args, "systemd"))
		return cg_write(dir, "cpuset.cpus", cpus, err);
	/* Through systemd, or it puts its own value back on reload. An
	 * empty AllowedCPUs= resets the unit to all CPUs. */
	prop = xasprintf("AllowedCPUs=%s", cpus);
	argv[4] = prop;
	r = host_run(argv, NULL, 0, err);
	if (r > 0)
		return vr_errorx(err, EIO,
				 "systemctl set-property --runtime %s %s "
				 "failed (exit status %d)",
				 unit, prop, r);
	return r;
}

static int slice_apply(struct op *op, struct vr_error *err)
{
	const char *unit, *cpus;
	cleanup_free char *dir = NULL;
	int r = arg_need(op, "unit", &unit, err);

	if (!r)
		r = arg_need(op, "cpus", &cpus, err);
	if (!r)
		r = slice_set(op, unit, cpus, err);
	if (r)
		return r;
	dir = slice_dir(unit);
	return cg_wait_effective(dir, cpus, err);
}

static int slice_undo(struct op *op, struct vr_error *err)
{
	const char *unit, *cpus = arg_str(op->saved, "cpus");
	int r;

	if (!cpus)
		return 0;
	r = arg_need(op, "unit", &unit, err);
	return r ? r : slice_set(op, unit, cpus, err);
}

/* A CPU list as the kernel writes one ("" too: all CPUs). */
static bool cpus_text(const char *s)
{
	struct cpulist cl = {0};
	const char *why;
	bool ok;

	if (!s)
		return true;
	if (!*s)
		return true;
	ok = !cpulist_parse(s, &cl, &why);
	cpulist_free(&cl);
	return ok;
}

/* The slices cpuset_plan confines, and a CPU list to give back. */
static int slice_check(const struct op *op, const char *vm,
		       struct vr_error *err)
{
	static const char *const units[] = {"system.slice", "user.slice",
					    "init.scope"};
	const char *unit = op_arg_string(op, "unit");

	(void)vm;
	for (size_t i = 0; unit && i < ARRAY_SIZE(units); i++)
		if (!strcmp(unit, units[i]))
			return cpus_text(arg_str(op->saved, "cpus"))
				       ? 0
				       : op_refuse(op, err,
						   "gives %s the CPUs '%s'",
						   unit,
						   arg_str(op->saved, "cpus"));
	return op_refuse(op, err, "confines '%s'", op_arg(op, "unit"));
}

static char *slice_key(const struct op *op)
{
	return xasprintf("cpuset-%s", op_arg(op, "unit"));
}

/* What the "cpus" of every holder have in common, into all (sorted). */
static int cpus_common(json_object *holders, struct cpulist *all,
		       struct vr_error *err)
{
	struct cpulist cur, rest;
	const char *why, *cpus;
	bool first = true;

	memset(all, 0, sizeof(*all));
	json_object_object_foreach(holders, vm, args)
	{
		cpus = arg_str(args, "cpus");
		if (cpulist_parse(cpus ? cpus : "", &cur, &why)) {
			cpulist_free(all);
			return vr_errorx(err, EINVAL,
					 "cpuset: VM '%s': CPUs: %s", vm, why);
		}
		if (first) {
			*all = cur;
			first = false;
			continue;
		}
		/* all & cur = all - (all - cur) */
		cpuset_minus(all, &cur, &rest);
		cpulist_free(&cur);
		cpuset_minus(all, &rest, &cur);
		cpulist_free(&rest);
		cpulist_free(all);
		*all = cur;
	}
	return 0;
}

/* The CPUs every VM still running leaves to the host: the slice is
 * confined to what all their "cpus" have in common. */
static int slice_refresh(struct op *op, json_object *holders,
			 struct vr_error *err)
{
	struct cpulist all;
	cleanup_free char *list = NULL, *dir = NULL;
	const char *unit;
	int r = arg_need(op, "unit", &unit, err);

	if (!r)
		r = cpus_common(holders, &all, err);
	if (r)
		return r;
	if (!all.n)
		return vr_errorx(err, EBUSY,
				 "the VMs running together leave the host no "
				 "CPU for %s: pin them to fewer CPUs",
				 unit);
	list = cpulist_format(&all);
	cpulist_free(&all);
	r = slice_set(op, unit, list, err);
	dir = slice_dir(unit);
	return r ? r : cg_wait_effective(dir, list, err);
}

const struct op_type cgroup_op_slice = {
	.name = "cpuset",
	.save = slice_save,
	.apply = slice_apply,
	.undo = slice_undo,
	.check = slice_check,
	.share_key = slice_key,
	.share_refresh = slice_refresh,
};
OP_TYPE_REGISTER(cgroup_op_slice);

/* ---- "cgroup-controller": a controller for a cgroup's children ---- */

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

static int ctl_state(const struct op *op, const char **ctl, bool *has,
		     struct vr_error *err)
{
	const char *cg;
	char list[512];
	int r = arg_need(op, "cgroup", &cg, err);

	if (!r)
		r = arg_need(op, "controller", ctl, err);
	if (!r)
		r = cg_read(cg, "cgroup.subtree_control", list, sizeof(list),
			    err);
	if (!r)
		*has = has_word(list, *ctl);
	return r;
}

static int ctl_save(struct op *op, struct vr_error *err)
{
	const char *ctl;
	bool has;
	int r = ctl_state(op, &ctl, &has, err);

	if (r)
		return r;
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "had", json_object_new_boolean(has));
	return 0;
}

static int ctl_apply(struct op *op, struct vr_error *err)
{
	const char *ctl, *cg = arg_str(op->args, "cgroup");
	cleanup_free char *cmd = NULL;
	char avail[512] = "";
	struct vr_error scratch;
	bool has;
	int r = ctl_state(op, &ctl, &has, err);

	if (r || has)
		return r;
	cmd = xasprintf("+%s", ctl);
	r = cg_write(cg, "cgroup.subtree_control", cmd, err);
	if (r) {
		cg_read(cg, "cgroup.controllers", avail, sizeof(avail),
			&scratch);
		if (!has_word(avail, ctl))
			vr_error_append(err,
					"the %s controller is not available "
					"in %s (cgroup.controllers: '%s'); "
					"is it bound to a cgroup v1 "
					"hierarchy?",
					ctl, cg, avail);
		return r;
	}
	r = ctl_state(op, &ctl, &has, err);
	if (!r && !has)
		r = vr_errorx(err, EIO,
			      "%s: cgroup.subtree_control does not "
			      "show %s after enabling it",
			      cg, ctl);
	return r;
}

static int ctl_undo(struct op *op, struct vr_error *err)
{
	const char *ctl, *cg = arg_str(op->args, "cgroup");
	cleanup_free char *cmd = NULL;
	bool has;
	int r;

	if (!op->saved || arg_bool(op->saved, "had"))
		return 0;
	r = ctl_state(op, &ctl, &has, err);
	if (r == -ENOENT || (!r && !has))
		return 0;
	if (r)
		return r;
	cmd = xasprintf("-%s", ctl);
	r = cg_write(cg, "cgroup.subtree_control", cmd, err);
	/* EBUSY: a child (someone else's) now uses it; leave it on. */
	return r == -EBUSY ? 0 : r;
}

static int ctl_check(const struct op *op, const char *vm, struct vr_error *err)
{
	const char *cg = op_arg_string(op, "cgroup");
	const char *ctl = op_arg_string(op, "controller");

	(void)vm;
	if (!cg || (strcmp(cg, CPUSET_CGROUP_ROOT) &&
		    strcmp(cg, CPUSET_MACHINE_SLICE)))
		return op_refuse(op, err, "changes cgroup %s",
				 op_arg(op, "cgroup"));
	if (!ctl || strcmp(ctl, "cpuset"))
		return op_refuse(op, err, "switches controller '%s'",
				 op_arg(op, "controller"));
	return 0;
}

static char *ctl_key(const struct op *op)
{
	return xasprintf("cgroup-controller-%s+%s", op_arg(op, "cgroup"),
			 op_arg(op, "controller"));
}

const struct op_type cgroup_op_controller = {
	.name = "cgroup-controller",
	.save = ctl_save,
	.apply = ctl_apply,
	.undo = ctl_undo,
	.check = ctl_check,
	.share_key = ctl_key,
};
OP_TYPE_REGISTER(cgroup_op_controller);

/* ---- "cgroup": a cgroup created (or reused) with optional CPUs/nodes ---- */

static int cgrp_save(struct op *op, struct vr_error *err)
{
	const char *dir;
	char cpus[1024], mems[256];
	bool existed;
	int r = arg_need(op, "path", &dir, err);

	if (r)
		return r;
	existed = hostfs_exists(dir);
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "existed",
			       json_object_new_boolean(existed));
	if (!existed)
		return 0;
	r = cg_read(dir, "cpuset.cpus", cpus, sizeof(cpus), err);
	if (!r)
		r = cg_read(dir, "cpuset.mems", mems, sizeof(mems), err);
	if (r)
		return r;
	json_object_object_add(op->saved, "cpus", json_object_new_string(cpus));
	json_object_object_add(op->saved, "mems", json_object_new_string(mems));
	return 0;
}

static int cgrp_apply(struct op *op, struct vr_error *err)
{
	const char *dir, *cpus = arg_str(op->args, "cpus");
	const char *mems = arg_str(op->args, "mems");
	cleanup_free char *path = NULL;
	int r = arg_need(op, "path", &dir, err);

	if (r)
		return r;
	path = hostfs_path(dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return vr_error(err, errno, "create cgroup %s", dir);
	if (cpus) {
		r = cg_write(dir, "cpuset.cpus", cpus, err);
		if (!r)
			r = cg_wait_effective(dir, cpus, err);
	}
	if (!r && mems)
		r = cg_write(dir, "cpuset.mems", mems, err);
	return r;
}

/* The kernel refuses to remove a cgroup while a process is in it; a QEMU
 * just reaped may take a moment to leave. */
static int cgrp_remove(const char *dir, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(dir);

	for (int i = 0; i < 40; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sleep_ms(50);
	}
	return vr_error(err, errno, "remove cgroup %s%s", dir,
			errno == EBUSY ? " (processes still in it: see its "
					 "cgroup.procs)"
				       : "");
}

static int cgrp_undo(struct op *op, struct vr_error *err)
{
	const char *dir, *cpus = arg_str(op->saved, "cpus");
	const char *mems = arg_str(op->saved, "mems");
	int r;

	if (!op->saved)
		return 0;
	r = arg_need(op, "path", &dir, err);
	if (r)
		return r;
	if (!arg_bool(op->saved, "existed"))
		return cgrp_remove(dir, err);
	if (cpus && arg_str(op->args, "cpus"))
		r = cg_write(dir, "cpuset.cpus", cpus, err);
	if (!r && mems && arg_str(op->args, "mems"))
		r = cg_write(dir, "cpuset.mems", mems, err);
	return r;
}

/* machine.slice, or this VM's own cgroup in it (cpuset.c names them). */
static int cgrp_check(const struct op *op, const char *vm, struct vr_error *err)
{
	const char *dir = op_arg_string(op, "path");
	cleanup_free char *own =
		xasprintf("%s/vmrun-%s.scope", CPUSET_MACHINE_SLICE, vm);

	if (!dir || (strcmp(dir, CPUSET_MACHINE_SLICE) && strcmp(dir, own)))
		return op_refuse(op, err, "removes or changes cgroup %s",
				 op_arg(op, "path"));
	if (!cpus_text(arg_str(op->saved, "cpus")) ||
	    !cpus_text(arg_str(op->saved, "mems")))
		return op_refuse(op, err, "gives %s the CPUs '%s', nodes '%s'",
				 dir, arg_str(op->saved, "cpus"),
				 arg_str(op->saved, "mems"));
	return 0;
}

/* The machine slice is every VM's; QEMU's own cgroup is one VM's. */
static char *cgrp_key(const struct op *op)
{
	if (!arg_bool(op->args, "shared"))
		return NULL;
	return xasprintf("cgroup-%s", op_arg(op, "path"));
}

const struct op_type cgroup_op_qemu = {
	.name = "cgroup",
	.save = cgrp_save,
	.apply = cgrp_apply,
	.undo = cgrp_undo,
	.check = cgrp_check,
	.share_key = cgrp_key,
};
OP_TYPE_REGISTER(cgroup_op_qemu);
