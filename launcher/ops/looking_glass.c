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

static int shm_apply(struct op *op, struct vr_error *err)
{
	cleanup_free char *path =
		hostfs_path(json_object_get_string(arg(op, "path")));
	uint64_t size = json_object_get_uint64(arg(op, "size"));
	cleanup_close int fd =
		open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);

	struct stat st;

	if (fd < 0)
		return vr_error(err, errno, "create %s", path);
	/* /dev/shm is world-writable: never size and chown something
	 * another user planted there (a hard link to a system file). */
	if (fstat(fd, &st) < 0)
		return vr_error(err, errno, "stat %s", path);
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return vr_errorx(err, EPERM,
				 "%s is not a plain file of its own (%s); "
				 "remove it or set [looking-glass] device to "
				 "another name",
				 path,
				 S_ISREG(st.st_mode) ? "it has other hard links"
						     : "wrong file type");
	if (ftruncate(fd, (off_t)size) < 0)
		return vr_error(err, errno, "size %s", path);
	if (fchown(fd, (uid_t)json_object_get_int(arg(op, "uid")),
		   (gid_t)json_object_get_int(arg(op, "gid"))) < 0)
		return vr_error(err, errno, "chown %s", path);
	if (fchmod(fd, 0660) < 0)
		return vr_error(err, errno, "chmod %s", path);
	return 0;
}

static int shm_undo(struct op *op, struct vr_error *err)
{
	cleanup_free char *path =
		hostfs_path(json_object_get_string(arg(op, "path")));
	json_object *existed = NULL;

	if (op->saved)
		json_object_object_get_ex(op->saved, "existed", &existed);
	if (existed && json_object_get_boolean(existed))
		return 0;
	if (unlink(path) < 0 && errno != ENOENT)
		return vr_error(err, errno, "remove %s", path);
	return 0;
}

static int kvmfr_apply(struct op *op, struct vr_error *err)
{
	return kvmfr_check(json_object_get_string(arg(op, "path")),
			   json_object_get_uint64(arg(op, "size")), err);
}

const struct op_type looking_glass_op_shm = {
	.name = "shm-file",
	.save = shm_save,
	.apply = shm_apply,
	.undo = shm_undo,
};
OP_TYPE_REGISTER(looking_glass_op_shm);

const struct op_type looking_glass_op_kvmfr = {
	.name = "kvmfr-check",
	.save = op_nothing,
	.apply = kvmfr_apply,
	.undo = op_nothing,
};
OP_TYPE_REGISTER(looking_glass_op_kvmfr);
