/* hugetlbfs.c: the folder QEMU maps guest RAM from: an existing hugetlbfs
 * mount of the right page size (or one vmrun mounts), and a per-VM folder. */
#include "ops/ops.h"
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Page size of one mount in kB, from pagesize= ("2M", "1024M", "1G"). */
static unsigned long mount_pagesize_kb(struct mntent *m,
				       unsigned long default_kb)
{
	const char *opt = hasmntopt(m, "pagesize");
	char val[32];
	size_t len;
	uint64_t bytes;

	if (!opt)
		return default_kb;
	opt += strlen("pagesize");
	if (*opt != '=')
		return 0;
	opt++;
	len = strcspn(opt, ",");
	if (len >= sizeof(val))
		return 0;
	memcpy(val, opt, len);
	val[len] = '\0';
	if (parse_size(val, &bytes) || bytes < KIB)
		return 0;
	return (unsigned long)(bytes / KIB);
}

char *hugetlbfs_mount_find(FILE *mounts, unsigned long size_kb,
			   unsigned long default_kb)
{
	struct mntent ent, *m;
	char buf[4096];

	while ((m = getmntent_r(mounts, &ent, buf, sizeof(buf)))) {
		if (strcmp(m->mnt_type, "hugetlbfs"))
			continue;
		/* A read-only or size-capped mount may refuse the guest. */
		if (hasmntopt(m, "ro") || hasmntopt(m, "size") ||
		    hasmntopt(m, "min_size"))
			continue;
		if (mount_pagesize_kb(m, default_kb) == size_kb)
			return xstrdup(m->mnt_dir);
	}
	return NULL;
}

/* The default hugepage size (mounts without pagesize= have it). */
static unsigned long default_pagesize_kb(void)
{
	struct vr_error scratch;
	char buf[8192];
	long kb = -1;

	if (!hostfs_read("/proc/meminfo", buf, sizeof(buf), &scratch))
		kb = host_meminfo_kb(buf, "Hugepagesize");
	return kb > 0 ? (unsigned long)kb : 2048;
}

/* The hugetlbfs of size_kb pages mounted at dir (unrooted), per the host's
 * /proc/mounts. */
static bool hugetlbfs_mounted(const char *dir, unsigned long size_kb)
{
	cleanup_free char *path = hostfs_path("/proc/mounts");
	cleanup_fclose FILE *f = fopen(path, "re");
	struct mntent ent, *m;
	char buf[4096];

	if (!f)
		return false;
	while ((m = getmntent_r(f, &ent, buf, sizeof(buf))))
		if (!strcmp(m->mnt_type, "hugetlbfs") &&
		    !strcmp(m->mnt_dir, dir) &&
		    (!size_kb ||
		     mount_pagesize_kb(m, default_pagesize_kb()) == size_kb))
			return true;
	return false;
}

static const char *size_name(unsigned long kb)
{
	return kb == 1048576 ? "1G" : "2M";
}

int hugetlbfs_plan_folder(struct plan *plan, const struct profile *p,
			  unsigned long size_kb, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path("/proc/mounts");
	cleanup_fclose FILE *f = fopen(path, "re");
	cleanup_free char *mnt = NULL;
	json_object *args;

	if (!f)
		return vr_error(err, errno, "read %s", path);
	mnt = hugetlbfs_mount_find(f, size_kb, default_pagesize_kb());
	/* paths_hugetlbfs_dir() is vmrun's own: every VM that uses it
	 * plans the mount, and whichever ends last unmounts it. */
	if (!mnt || paths_is_hugetlbfs_dir(mnt)) {
		free(mnt);
		mnt = paths_hugetlbfs_dir(size_name(size_kb));
		args = json_object_new_object();
		json_object_object_add(args, "path",
				       json_object_new_string(mnt));
		json_object_object_add(args, "size_kb",
				       json_object_new_int64(size_kb));
		plan_add(plan, &hugetlbfs_op_mount, args,
			 "mount hugetlbfs (pagesize=%s) at %s",
			 size_name(size_kb), mnt);
	}
	free(plan->paths.hugepage_dir);
	plan->paths.hugepage_dir = xasprintf("%s/vmrun-%s", mnt, p->vm.name);
	args = json_object_new_object();
	json_object_object_add(
		args, "path", json_object_new_string(plan->paths.hugepage_dir));
	plan_add(plan, &hugetlbfs_op_dir, args,
		 "create the guest RAM folder %s (removed after)",
		 plan->paths.hugepage_dir);
	return 0;
}

/* ---- ops: "hugetlbfs-mount" and "hugepage-dir" share these ---- */

static const char *arg_path(const struct op *op, struct vr_error *err)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(op->args, "path", &v) ||
	    !(s = json_object_get_string(v)) || s[0] != '/') {
		vr_errorx(err, EINVAL,
			  "%s: no absolute path in the op's "
			  "arguments",
			  op->type->name);
		return NULL;
	}
	return s;
}

static bool saved_flag(const struct op *op, const char *key)
{
	json_object *v;

	return op->saved && json_object_object_get_ex(op->saved, key, &v) &&
	       json_object_get_boolean(v);
}

/* Record whether the folder existed (and was mounted) before apply. */
static int folder_save(struct op *op, struct vr_error *err)
{
	const char *dir = arg_path(op, err);

	if (!dir)
		return -EINVAL;
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "existed",
			       json_object_new_boolean(hostfs_exists(dir)));
	json_object_object_add(
		op->saved, "mounted",
		json_object_new_boolean(hugetlbfs_mounted(dir, 0)));
	return 0;
}

static int folder_make(const char *dir, mode_t mode, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(dir);

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return vr_error(err, errno, "create folder %s", dir);
	return 0;
}

static int mount_apply(struct op *op, struct vr_error *err)
{
	const char *dir = arg_path(op, err);
	cleanup_free char *path = NULL, *opts = NULL;
	json_object *kb;
	unsigned long size_kb;
	int r;

	if (!dir)
		return -EINVAL;
	if (!json_object_object_get_ex(op->args, "size_kb", &kb))
		return vr_errorx(err, EINVAL, "hugetlbfs-mount: no size_kb");
	size_kb = (unsigned long)json_object_get_int64(kb);
	if (hugetlbfs_mounted(dir, size_kb))
		return 0;
	r = folder_make(dir, 0755, err);
	if (r)
		return r;
	path = hostfs_path(dir);
	/* The mount's root stays root's (0755): the per-VM folder below it
	 * is the private one. */
	opts = xasprintf("pagesize=%s,mode=0755", size_name(size_kb));
	if (mount("hugetlbfs", path, "hugetlbfs", MS_NOSUID | MS_NODEV, opts))
		return vr_error(err, errno, "mount hugetlbfs (%s) at %s%s",
				opts, dir,
				errno == EINVAL ? " (does the kernel have "
						  "this hugepage size?)"
						: "");
	if (!hugetlbfs_mounted(dir, size_kb))
		return vr_errorx(err, EIO,
				 "mounted hugetlbfs at %s, but /proc/mounts "
				 "does not show it with pagesize=%s",
				 dir, size_name(size_kb));
	return 0;
}

/* True when the folder holds anything (another VM's folder). */
static bool folder_busy(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool busy = false;

	if (!d)
		return false;
	while (!busy && (e = readdir(d)))
		busy = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return busy;
}

static int mount_undo(struct op *op, struct vr_error *err)
{
	const char *dir = arg_path(op, err);
	cleanup_free char *path = NULL;

	if (!dir)
		return -EINVAL;
	if (!op->saved ||
	    (saved_flag(op, "mounted") && !paths_is_hugetlbfs_dir(dir)))
		return 0;
	path = hostfs_path(dir);
	if (hugetlbfs_mounted(dir, 0)) {
		/* Another VM found this mount and still uses it: leave it
		 * mounted (harmless, and the kernel refuses anyway). */
		if (folder_busy(path))
			return 0;
		if (umount2(path, 0) < 0 && errno != EINVAL) {
			if (errno == EBUSY)
				return 0;
			return vr_error(err, errno, "unmount %s", dir);
		}
	}
	if ((!saved_flag(op, "existed") || paths_is_hugetlbfs_dir(dir)) &&
	    rmdir(path) < 0 && errno != ENOENT)
		return vr_error(err, errno, "remove folder %s", dir);
	return 0;
}

/* vmrun mounts hugetlbfs only at its own folders in /run/vmrun. */
static int mount_check(const struct op *op, const char *vm,
		       struct vr_error *err)
{
	const char *dir = op_arg_string(op, "path");
	cleanup_free char *m2 = paths_hugetlbfs_dir("2M");
	cleanup_free char *m1 = paths_hugetlbfs_dir("1G");

	(void)vm;
	if (!dir || (strcmp(dir, m2) && strcmp(dir, m1)))
		return op_refuse(op, err,
				 "unmounts and removes %s, not %s or %s",
				 op_arg(op, "path"), m2, m1);
	return 0;
}

const struct op_type hugetlbfs_op_mount = {
	.name = "hugetlbfs-mount",
	.save = folder_save,
	.apply = mount_apply,
	.undo = mount_undo,
	.check = mount_check,
};
OP_TYPE_REGISTER(hugetlbfs_op_mount);

/* The per-VM folder sits in a hugetlbfs mount that may not be root's
 * alone (a /dev/hugepages others can write): a name someone else made
 * there first (a symlink to a host folder, a folder of their own) is
 * refused, not taken for the folder vmrun would have made. */
static int dir_apply(struct op *op, struct vr_error *err)
{
	const char *dir = arg_path(op, err);
	cleanup_free char *path = NULL;
	const struct passwd *pw;
	struct stat st;

	if (!dir)
		return -EINVAL;
	path = hostfs_path(dir);
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return vr_error(err, errno, "create folder %s", dir);
	if (lstat(path, &st) < 0)
		return vr_error(err, errno, "%s", dir);
	/* vmrun's own from before (root's, private) is fine */
	if (S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	/* not ours: undo must leave it alone */
	if (op->saved)
		json_object_object_add(op->saved, "existed",
				       json_object_new_boolean(true));
	pw = getpwuid(st.st_uid);
	return vr_errorx(err, EEXIST,
			 "%s already exists and is not vmrun's (%s owned by "
			 "user '%s' (uid %u), mode %04o): remove it; vmrun "
			 "creates the guest RAM folder itself",
			 dir,
			 S_ISLNK(st.st_mode)   ? "a symlink"
			 : S_ISDIR(st.st_mode) ? "a folder"
					       : "a file",
			 pw ? pw->pw_name : "?", (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
}

/* Remove what QEMU left in the folder (it unlinks its RAM file at once;
 * a killed QEMU may not have), then the folder; the folder is opened
 * without following a symlink, and emptied through that fd. */
static int dir_undo(struct op *op, struct vr_error *err)
{
	const char *dir = arg_path(op, err);
	cleanup_free char *path = NULL;
	struct dirent *e;
	DIR *d;
	int fd;

	if (!dir)
		return -EINVAL;
	if (!op->saved || saved_flag(op, "existed"))
		return 0;
	path = hostfs_path(dir);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return vr_error(err, errno, "open %s%s", dir,
				errno == ELOOP || errno == ENOTDIR
					? " (not the folder vmrun made: left "
					  "alone)"
					: "");
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return vr_error(err, errno, "open %s", dir);
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		return vr_error(err, errno, "remove folder %s", dir);
	return 0;
}

bool hugetlbfs_is_vm_dir(const char *path, const char *vm)
{
	cleanup_free char *name = xasprintf("vmrun-%s", vm);
	cleanup_free char *dir = NULL;
	const char *slash;

	if (!check_path_clean(path) || !(slash = strrchr(path, '/')) ||
	    slash == path || strcmp(slash + 1, name))
		return false;
	dir = xstrdup(path);
	dir[slash - path] = '\0';
	return (paths_is_hugetlbfs_dir(dir) &&
		!strchr(dir + strlen(paths_run_dir()) + 1, '/')) ||
	       hugetlbfs_mounted(dir, 0);
}

static int dir_check(const struct op *op, const char *vm, struct vr_error *err)
{
	if (!hugetlbfs_is_vm_dir(op_arg_string(op, "path"), vm))
		return op_refuse(op, err,
				 "empties and removes %s, not the folder "
				 "vmrun-%s in a hugetlbfs mount",
				 op_arg(op, "path"), vm);
	return 0;
}

const struct op_type hugetlbfs_op_dir = {
	.name = "hugepage-dir",
	.save = folder_save,
	.apply = dir_apply,
	.undo = dir_undo,
	.check = dir_check,
};
OP_TYPE_REGISTER(hugetlbfs_op_dir);
