/* looking_glass.c: Looking Glass shared memory. The shm file is a host
 * change like any other: journaled, and removed by undo even after a
 * crash. */
#include "ops/ops.h"
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The person who ran vmrun (through sudo or pkexec), and their group. */
static void invoking_user(uid_t *uid, gid_t *gid)
{
	const struct passwd *pw;

	*uid = trust_invoking_uid();
	pw = getpwuid(*uid);
	*gid = pw ? pw->pw_gid : getgid();
}

static int resolve_owner(struct plan *plan,
			 const struct profile_looking_glass *lg, uid_t *uid,
			 gid_t *gid, struct vr_error *err)
{
	const struct passwd *pw;

	invoking_user(uid, gid);
	if (lg->owner) {
		pw = getpwnam(lg->owner);
		if (!pw)
			return vr_errorx(err, ENOENT,
					 "[looking-glass] owner: no user '%s' "
					 "on this host",
					 lg->owner);
		*uid = pw->pw_uid;
	}
	if (lg->group) {
		bool found = host_group_find(lg->group, gid);

		if (!found && !strcmp(lg->group, "kvm")) {
			/* the default group; hosts without udev lack it */
			plan_warn(plan, "no group 'kvm' on this host: the "
					"Looking Glass file gets the owner's "
					"group; set [looking-glass] group to "
					"choose one");
			return 0;
		}
		if (!found)
			return vr_errorx(err, ENOENT,
					 "[looking-glass] group: no group '%s' "
					 "on this host; create it (groupadd "
					 "%s) or set another group",
					 lg->group, lg->group);
	}
	return 0;
}

/* kvmfr: the module sizes its devices at load time (static_size_mb). The
 * device must exist and hold want bytes; errors say what to change. */
static int kvmfr_check(const char *dev, uint64_t want, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(dev);
	char sizes[256], *tok, *save = NULL;
	struct vr_error e = {0};
	unsigned long idx;
	struct stat st;

	if (stat(path, &st) < 0)
		return vr_error(err, errno,
				"%s: load the kvmfr module first (modprobe "
				"kvmfr static_size_mb=%llu)",
				dev, (unsigned long long)(want / MIB));
	idx = strtoul(dev + strlen("/dev/kvmfr"), NULL, 10);
	if (hostfs_read("/sys/module/kvmfr/parameters/static_size_mb", sizes,
			sizeof(sizes), &e))
		return 0; /* dynamic devices (no static size) are sized by QEMU */
	tok = strtok_r(sizes, ",", &save);
	for (unsigned long i = 0; tok && i < idx; i++)
		tok = strtok_r(NULL, ",", &save);
	if (tok && strtoull(tok, NULL, 10) * MIB < want)
		return vr_errorx(err, ENOSPC,
				 "%s holds %s MiB but Looking Glass needs %llu "
				 "MiB: reload kvmfr with static_size_mb=%llu",
				 dev, tok, (unsigned long long)(want / MIB),
				 (unsigned long long)(want / MIB));
	return 0;
}

int looking_glass_plan(struct plan *plan, const struct profile *p,
		       struct vr_error *err)
{
	const struct profile_looking_glass *lg = &p->lg;
	const struct passwd *pw;
	cleanup_free char *group = NULL;
	json_object *args;
	uid_t uid;
	gid_t gid;
	int r;

	if (!lg->enabled)
		return 0;
	args = json_object_new_object();
	json_object_object_add(args, "path",
			       json_object_new_string(lg->device));
	json_object_object_add(args, "size", json_object_new_uint64(lg->size));
	if (lg->is_kvmfr) {
		/* only prepare would find out otherwise, after the host
		 * changes before it */
		r = kvmfr_check(lg->device, lg->size, err);
		if (r) {
			cleanup_free char *at =
				profile_where(p, "looking-glass", "device");

			json_object_put(args);
			return vr_error_prefix(err, "%s: [looking-glass]", at);
		}
		plan_add(plan, &looking_glass_op_kvmfr, args,
			 "check that %s holds %llu MiB for Looking Glass",
			 lg->device, (unsigned long long)(lg->size / MIB));
		return 0;
	}
	r = resolve_owner(plan, lg, &uid, &gid, err);
	if (r) {
		json_object_put(args);
		return profile_error_at(
			p, "looking-glass",
			lg->owner && !getpwnam(lg->owner) ? "owner" : "group",
			err);
	}
	json_object_object_add(args, "uid", json_object_new_int((int)uid));
	json_object_object_add(args, "gid", json_object_new_int((int)gid));
	pw = getpwuid(uid);
	group = host_group_name(gid);
	plan_add(plan, &looking_glass_op_shm, args,
		 "create %s (%llu MiB, owner %s, group %s, mode 0660) for "
		 "Looking Glass",
		 lg->device, (unsigned long long)(lg->size / MIB),
		 pw ? pw->pw_name : "?", group);
	return 0;
}

static json_object *arg(const struct op *op, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(op->args, key, &v);
	return v;
}

static int shm_save(struct op *op, struct vr_error *err)
{
	(void)err;
	op->saved = json_object_new_object();
	json_object_object_add(
		op->saved, "existed",
		json_object_new_boolean(hostfs_exists(
			json_object_get_string(arg(op, "path")))));
	return 0;
}

static void saved_set(struct op *op, const char *key, json_object *v)
{
	if (!op->saved)
		op->saved = json_object_new_object();
	json_object_object_add(op->saved, key, v);
}

/* Who has the file at path now, for the refusal. */
static char *owner_text(const char *path)
{
	const struct passwd *pw;
	struct stat st;

	if (lstat(path, &st) < 0)
		return xstrdup("gone again");
	pw = getpwuid(st.st_uid);
	return xasprintf("%s owned by user '%s' (uid %u), mode %04o",
			 S_ISLNK(st.st_mode)   ? "a symlink"
			 : S_ISREG(st.st_mode) ? "a file"
					       : "not a plain file",
			 pw ? pw->pw_name : "?", (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
}

/* /dev/shm is anyone's to write: the file is created afresh (O_EXCL,
 * O_NOFOLLOW), so what another user made there first, and may hold open,
 * never becomes the guest's frame buffer. A leftover of vmrun's own is
 * removed by the restore of its journal before a new run gets here. */
static int shm_apply(struct op *op, struct vr_error *err)
{
	const char *abs = json_object_get_string(arg(op, "path"));
	cleanup_free char *path = hostfs_path(abs);
	uint64_t size = json_object_get_uint64(arg(op, "size"));
	cleanup_close int fd = open(
		path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat st;

	if (fd < 0 && errno == EEXIST) {
		cleanup_free char *who = owner_text(path);

		/* not ours: undo must leave it alone */
		saved_set(op, "existed", json_object_new_boolean(true));
		return vr_errorx(err, EEXIST,
				 "%s already exists (%s): vmrun creates the "
				 "Looking Glass file itself and will not use "
				 "one made by someone else. If no program "
				 "uses it, remove it; or set [looking-glass] "
				 "device to another name",
				 abs, who);
	}
	if (fd < 0)
		return vr_error(err, errno, "create %s", abs);
	if (fstat(fd, &st) < 0)
		return vr_error(err, errno, "stat %s", abs);
	/* recorded with the op once applied: undo removes only this file */
	saved_set(op, "dev", json_object_new_uint64((uint64_t)st.st_dev));
	saved_set(op, "ino", json_object_new_uint64((uint64_t)st.st_ino));
	if (ftruncate(fd, (off_t)size) < 0)
		return vr_error(err, errno, "size %s", abs);
	if (fchown(fd, (uid_t)json_object_get_int(arg(op, "uid")),
		   (gid_t)json_object_get_int(arg(op, "gid"))) < 0)
		return vr_error(err, errno, "chown %s", abs);
	if (fchmod(fd, 0660) < 0)
		return vr_error(err, errno, "chmod %s", abs);
	return 0;
}

/* Remove the file vmrun made: not one that was there before, and when
 * apply recorded which file it made, only that one. */
static int shm_undo(struct op *op, struct vr_error *err)
{
	const char *abs = json_object_get_string(arg(op, "path"));
	cleanup_free char *path = hostfs_path(abs);
	json_object *existed = NULL, *dev = NULL, *ino = NULL;
	struct stat st;

	if (op->saved) {
		json_object_object_get_ex(op->saved, "existed", &existed);
		json_object_object_get_ex(op->saved, "dev", &dev);
		json_object_object_get_ex(op->saved, "ino", &ino);
	}
	if (existed && json_object_get_boolean(existed))
		return 0;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : vr_error(err, errno, "%s", abs);
	if (dev && ino &&
	    ((uint64_t)st.st_dev != json_object_get_uint64(dev) ||
	     (uint64_t)st.st_ino != json_object_get_uint64(ino))) {
		log_warn("%s is not the file vmrun created (it was replaced "
			 "since): left alone",
			 abs);
		return 0;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return vr_error(err, errno, "remove %s", abs);
	return 0;
}

static int kvmfr_apply(struct op *op, struct vr_error *err)
{
	return kvmfr_check(json_object_get_string(arg(op, "path")),
			   json_object_get_uint64(arg(op, "size")), err);
}

/* Undo removes a file directly in /dev/shm (what the profile allows). */
static int shm_check(const struct op *op, const char *vm, struct vr_error *err)
{
	const char *path = op_arg_string(op, "path");

	(void)vm;
	if (!check_path_entry(path, "/dev/shm", ""))
		return op_refuse(op, err, "removes %s, not a file in /dev/shm",
				 op_arg(op, "path"));
	return 0;
}

const struct op_type looking_glass_op_shm = {
	.name = "shm-file",
	.save = shm_save,
	.apply = shm_apply,
	.undo = shm_undo,
	.check = shm_check,
};
OP_TYPE_REGISTER(looking_glass_op_shm);

const struct op_type looking_glass_op_kvmfr = {
	.name = "kvmfr-check",
	.save = op_nothing,
	.apply = kvmfr_apply,
	.undo = op_nothing,
};
OP_TYPE_REGISTER(looking_glass_op_kvmfr);
