/* runas.c: [vm] run-as: host files handed to the user QEMU runs as for the
 * run (the "chown" op: owner and mode saved, put back by undo), and the
 * VM's persistent files made that user's. */
#include "ops/ops.h"
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int user_find(const struct profile *p, uid_t *uid, gid_t *gid,
		     struct vr_error *err)
{
	const struct passwd *pw = getpwnam(p->vm.run_as);

	if (!pw) {
		vr_errorx(err, ENOENT,
			  "[vm] run-as: no user '%s' on this host; create it "
			  "(useradd --system --no-create-home %s) or name "
			  "another user",
			  p->vm.run_as, p->vm.run_as);
		return profile_error_at(p, "vm", "run-as", err);
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static void chown_plan(struct plan *plan, const char *abs, const char *user,
		       uid_t uid, gid_t gid, const char *what)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "path", json_object_new_string(abs));
	json_object_object_add(args, "user", json_object_new_string(user));
	json_object_object_add(args, "uid", json_object_new_int64(uid));
	json_object_object_add(args, "gid", json_object_new_int64(gid));
	plan_add(plan, &runas_op_chown, args,
		 "give %s (%s) to user %s, QEMU's [vm] run-as; given back "
		 "after",
		 abs, what, user);
}

static bool seen_group(const struct profile *p, const struct host *h,
		       size_t upto, int group)
{
	for (size_t j = 0; j < upto; j++) {
		const struct host_pci *d = host_pci_find(h, &p->pci[j].host);

		if (d && d->iommu_group == group)
			return true;
	}
	return false;
}

int runas_plan(struct plan *plan, const struct profile *p, const struct host *h,
	       struct vr_error *err)
{
	const char *user = p->vm.run_as;
	uid_t uid = 0;
	gid_t gid = 0;
	int r;

	if (!user)
		return 0;
	r = user_find(p, &uid, &gid, err);
	if (r || uid == 0)
		return r;
	for (size_t i = 0; i < p->npci; i++) {
		const struct host_pci *d = host_pci_find(h, &p->pci[i].host);
		cleanup_free char *dev = NULL;

		if (!d || d->iommu_group < 0 ||
		    seen_group(p, h, i, d->iommu_group))
			continue;
		dev = xasprintf("/dev/vfio/%d", d->iommu_group);
		chown_plan(plan, dev, user, uid, gid, "the VFIO group");
	}
	if (plan->paths.hugepage_dir)
		chown_plan(plan, plan->paths.hugepage_dir, user, uid, gid,
			   "the guest RAM folder");
	return 0;
}

/* ---- the "chown" op ---- */

/* An integer member of obj, -1 when absent or not an integer. */
static long long arg_num_of(json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

static long long arg_num(const struct op *op, const char *key)
{
	return arg_num_of(op->args, key);
}

static int chown_save(struct op *op, struct vr_error *err)
{
	const char *abs = op_arg(op, "path");
	cleanup_free char *path = hostfs_path(abs);
	struct stat st;

	if (lstat(path, &st) < 0)
		return vr_error(err, errno, "%s", abs);
	if (S_ISLNK(st.st_mode))
		return vr_errorx(err, ELOOP,
				 "%s is a symlink; vmrun hands only the file "
				 "itself to [vm] run-as",
				 abs);
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "uid",
			       json_object_new_int64(st.st_uid));
	json_object_object_add(op->saved, "gid",
			       json_object_new_int64(st.st_gid));
	json_object_object_add(op->saved, "mode",
			       json_object_new_int(st.st_mode & 07777));
	return 0;
}

static int chown_apply(struct op *op, struct vr_error *err)
{
	const char *abs = op_arg(op, "path");
	cleanup_free char *path = hostfs_path(abs);
	long long uid = arg_num(op, "uid"), gid = arg_num(op, "gid");
	struct stat st;

	if (uid < 0 || gid < 0)
		return vr_errorx(err, EINVAL, "chown: no uid/gid in the op");
	if (fchownat(AT_FDCWD, path, (uid_t)uid, (gid_t)gid,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return vr_error(err, errno, "chown %s to user %s", abs,
				op_arg(op, "user"));
	if (lstat(path, &st) < 0 || st.st_uid != (uid_t)uid)
		return vr_errorx(err, EIO,
				 "chown %s to user %s did not take effect", abs,
				 op_arg(op, "user"));
	return 0;
}

/* Owner and mode back; a file gone since (an unbound group's device, a
 * removed folder) has nothing to give back. */
static int chown_undo(struct op *op, struct vr_error *err)
{
	const char *abs = op_arg(op, "path");
	cleanup_free char *path = hostfs_path(abs);
	json_object *u, *g, *m;
	struct stat st;

	if (!op->saved || !json_object_object_get_ex(op->saved, "uid", &u) ||
	    !json_object_object_get_ex(op->saved, "gid", &g) ||
	    !json_object_object_get_ex(op->saved, "mode", &m))
		return 0;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : vr_error(err, errno, "%s", abs);
	if (S_ISLNK(st.st_mode))
		return vr_errorx(err, ELOOP, "%s became a symlink", abs);
	if (fchownat(AT_FDCWD, path, (uid_t)json_object_get_int64(u),
		     (gid_t)json_object_get_int64(g), AT_SYMLINK_NOFOLLOW) < 0)
		return vr_error(err, errno, "give %s back to its owner", abs);
	if (chmod(path, (mode_t)json_object_get_int(m)) < 0)
		return vr_error(err, errno, "chmod %s", abs);
	return 0;
}

/* What runas_plan hands over: a VFIO group's device or this VM's guest
 * RAM folder; given back with permission bits only (never setuid). */
static int chown_check(const struct op *op, const char *vm,
		       struct vr_error *err)
{
	const char *path = op_arg_string(op, "path");
	long long mode = arg_num_of(op->saved, "mode");
	bool vfio = check_path_entry(path, "/dev/vfio", "") &&
		    strspn(path + 10, "0123456789") == strlen(path + 10);

	if (!vfio && !hugetlbfs_is_vm_dir(path, vm))
		return op_refuse(op, err,
				 "gives %s a new owner, not a VFIO group or "
				 "the guest RAM folder of VM '%s'",
				 op_arg(op, "path"), vm);
	if (op->saved &&
	    (arg_num_of(op->saved, "uid") < 0 ||
	     arg_num_of(op->saved, "gid") < 0 || mode < 0 || (mode & ~0777)))
		return op_refuse(op, err,
				 "gives %s back with owner %lld and mode "
				 "%llo",
				 path, arg_num_of(op->saved, "uid"),
				 (unsigned long long)mode);
	return 0;
}

const struct op_type runas_op_chown = {
	.name = "chown",
	.save = chown_save,
	.apply = chown_apply,
	.undo = chown_undo,
	.check = chown_check,
};
OP_TYPE_REGISTER(runas_op_chown);

/* ---- persistent files ---- */

/* chown one entry of a folder the user may write: never through a
 * symlink, never a file with other names (a hard link to a host file). */
static int own_entry(int dirfd, const char *name, const char *shown, uid_t uid,
		     gid_t gid, struct vr_error *err)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return vr_error(err, errno, "%s", shown);
	if (st.st_uid == uid && st.st_gid == gid)
		return 0;
	if (S_ISLNK(st.st_mode) || (!S_ISDIR(st.st_mode) && st.st_nlink != 1))
		return vr_errorx(err, EPERM,
				 "%s is a symlink or has other hard links; "
				 "remove it, vmrun will not hand it to [vm] "
				 "run-as",
				 shown);
	if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return vr_error(err, errno, "chown %s", shown);
	return 0;
}

/* The regular files and folders directly in a folder the user may write,
 * each by its name in the folder's fd: nothing is looked up by path. */
static int own_tree(int at, const char *name, const char *shown, uid_t uid,
		    gid_t gid, struct vr_error *err)
{
	int fd = openat(at, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return vr_error(err, errno, "open %s", shown);
	d = fdopendir(fd);
	if (!d) {
		r = vr_error(err, errno, "open %s", shown);
		close(fd);
		return r;
	}
	while (!r && (e = readdir(d))) {
		cleanup_free char *entry = NULL;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		entry = xasprintf("%s/%s", shown, e->d_name);
		r = own_entry(dirfd(d), e->d_name, entry, uid, gid, err);
	}
	closedir(d);
	return r;
}

int runas_own(const struct profile *p, int dirfd, const char *name,
	      const char *shown, bool tree, struct vr_error *err)
{
	uid_t uid = 0;
	gid_t gid = 0;
	int r;

	if (!p->vm.run_as)
		return 0;
	r = user_find(p, &uid, &gid, err);
	if (r || uid == 0)
		return r;
	r = own_entry(dirfd, name, shown, uid, gid, err);
	if (!r && tree)
		r = own_tree(dirfd, name, shown, uid, gid, err);
	return r;
}
