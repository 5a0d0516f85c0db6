/* hugetlbfs.c: the folder QEMU maps guest RAM from: an existing hugetlbfs
 * mount of the right page size (or one vmrun mounts), and a per-VM folder. */
#include "ops/ops.h"
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
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

const struct op_type hugetlbfs_op_mount = {
	.name = "hugetlbfs-mount",
	.save = folder_save,
	.apply = mount_apply,
	.undo = mount_undo,
};
OP_TYPE_REGISTER(hugetlbfs_op_mount);

static int dir_apply(struct op *op, struct vr_error *err)
{
	const char *dir = arg_path(op, err);

	return dir ? folder_make(dir, 0700, err) : -EINVAL;
}

/* Remove what QEMU left in the folder (it unlinks its RAM file at once;
 * a killed QEMU may not have), then the folder. */
static int dir_undo(struct op *op, struct vr_error *err)
{
	const char *dir = arg_path(op, err);
	cleanup_free char *path = NULL;
	struct dirent *e;
	DIR *d;

	if (!dir)
		return -EINVAL;
	if (!op->saved || saved_flag(op, "existed"))
		return 0;
	path = hostfs_path(dir);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0
				       : vr_error(err, errno, "open %s", dir);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		return vr_error(err, errno, "remove folder %s", dir);
	return 0;
}

const struct op_type hugetlbfs_op_dir = {
	.name = "hugepage-dir",
	.save = folder_save,
	.apply = dir_apply,
	.undo = dir_undo,
};
OP_TYPE_REGISTER(hugetlbfs_op_dir);
