/* fakehost.c: LD_PRELOAD kernel emulation for a fake host root: the
 * interposed libc calls, and the write() dispatch to the fh_*.c handlers. */

/*
 * Active when FAKEHOST_ROOT names an existing folder (the builder's ROOT).
 * All emulation state lives in files under ROOT, so a killed process leaves
 * a tree that the next one continues from; nothing is kept in memory.
 *
 * Files the builder (tests/fakehost/fakehost) writes for the shim, under
 * ROOT/.fakehost/ (values are decimal or a name, newline-terminated):
 *   native/BDF          driver a PCI function gets when probed without a
 *                       driver_override ("-" or absent: none)
 *   nodeN/free_kb       memory hugepages can take at once
 *   nodeN/movable_kb    memory that becomes free_kb on compact_memory
 *   nodeN/cache_kb      memory that becomes free_kb on drop_caches
 * Files the shim keeps there:
 *   removed/BDF/dev     a removed PCI function's folder, kept for rescan
 *   removed/BDF/path    where that folder was, relative to ROOT
 *   lock                flock'd around each emulated operation
 * Attribute values are written as the kernel shows them: newline-
 * terminated, "(null)" for an unset driver_override, canonical lists.
 *
 * Interposed: write, pwrite (values), the open family (O_TRUNC dropped on
 * emulated attributes, as sysfs ignores it), mkdir/mkdirat, rmdir/
 * unlinkat(AT_REMOVEDIR) (cgroups), mount/umount2/umount (a line in
 * ROOT/proc/mounts), ioctl (on ROOT/dev/kvm). Only callers of the public symbols are seen: dash,
 * python and C programs are; bash's and coreutils' echo/printf write
 * through stdio's internal __write and are not.
 *
 * This file holds the interposed calls, ROOT and the lock, and the rule
 * table sending each attribute write to its handler: fh_pci.c (drivers,
 * remove/rescan, vfio groups), fh_mem.c (hugepages, compaction, caches),
 * fh_cgroup.c (cpusets, procs, controllers, cgroup folders), fh_misc.c
 * (IRQ affinity, vtconsoles, mounts), fh_holders.c (an unbind that waits
 * while the function's device nodes are open), over fh_file.c and
 * fh_value.c; fh_kvm.c answers the ioctls of /dev/kvm;
 * fh_shim.h declares what they share.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fh_shim.h"

ssize_t (*fh_real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
int (*fh_real_mkdir)(const char *, mode_t);
static int (*real_mkdirat)(int, const char *, mode_t);
int (*fh_real_rmdir)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_mount)(const char *, const char *, const char *,
			 unsigned long, const void *);
static int (*real_umount2)(const char *, int);
static int (*real_umount)(const char *);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_open_2)(const char *, int);
static int (*real_open64_2)(const char *, int);
static int (*real_openat_2)(int, const char *, int);
static int (*real_openat64_2)(int, const char *, int);

/* Set while the shim runs, so its own calls go straight through. */
__thread int fh_busy;
/* realpath of FAKEHOST_ROOT, recomputed on each intercepted call. */
__thread char fh_root[PATH_MAX];
__thread size_t fh_root_len;

__attribute__((constructor)) static void shim_init(void)
{
	fh_real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT,
								     "write");
	real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(
		RTLD_NEXT, "pwrite");
	fh_real_mkdir =
		(int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
	real_mkdirat =
		(int (*)(int, const char *, mode_t))dlsym(RTLD_NEXT, "mkdirat");
	fh_real_rmdir = (int (*)(const char *))dlsym(RTLD_NEXT, "rmdir");
	real_unlinkat =
		(int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
	real_mount =
		(int (*)(const char *, const char *, const char *,
			 unsigned long, const void *))dlsym(RTLD_NEXT, "mount");
	real_umount2 = (int (*)(const char *, int))dlsym(RTLD_NEXT, "umount2");
	real_umount = (int (*)(const char *))dlsym(RTLD_NEXT, "umount");
	real_ioctl =
		(int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	real_open64 =
		(int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
	real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT,
								  "openat");
	real_openat64 = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT,
								    "openat64");
	real_open_2 = (int (*)(const char *, int))dlsym(RTLD_NEXT, "__open_2");
	real_open64_2 =
		(int (*)(const char *, int))dlsym(RTLD_NEXT, "__open64_2");
	real_openat_2 =
		(int (*)(int, const char *, int))dlsym(RTLD_NEXT, "__openat_2");
	real_openat64_2 = (int (*)(int, const char *, int))dlsym(
		RTLD_NEXT, "__openat64_2");
}

/* A preloaded library's own constructor may come after another's that
 * already calls into us: every entry point makes sure. */
static void need_init(void)
{
	if (!fh_real_write || !real_open)
		shim_init();
}

/* ---- write() dispatch ---------------------------------------------------- */

struct rule {
	const char *pattern; /* fnmatch, '*' spans folders */
	int (*fn)(struct req *r);
};

static const struct rule rules[] = {
	{"/sys/devices/*/driver_override", fh_do_driver_override},
	{"/sys/bus/pci/drivers/*/bind", fh_do_pci_bind},
	{"/sys/bus/pci/drivers/*/unbind", fh_do_pci_unbind},
	{"/sys/bus/pci/drivers_probe", fh_do_drivers_probe},
	{"/sys/bus/pci/rescan", fh_do_pci_bus_rescan},
	{"/sys/devices/pci*/remove", fh_do_pci_remove},
	{"/sys/devices/pci*/rescan", fh_do_pci_dev_rescan},
	{"/sys/devices/pci*/reset", fh_do_pci_reset},
	{"/sys/bus/platform/drivers/*/bind", fh_do_platform_bind},
	{"/sys/bus/platform/drivers/*/unbind", fh_do_platform_unbind},
	{"/sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages",
	 fh_do_hp_node},
	{"/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages", fh_do_hp_global},
	{"/proc/sys/vm/nr_hugepages", fh_do_hp_global},
	{"/proc/sys/vm/compact_memory", fh_do_compact_memory},
	{"/proc/sys/vm/drop_caches", fh_do_drop_caches},
	{"/sys/fs/cgroup/*/cpuset.cpus", fh_do_cpuset_cpus},
	{"/sys/fs/cgroup/*/cpuset.mems", fh_do_cpuset_mems},
	{"/sys/fs/cgroup/*cgroup.procs", fh_do_cgroup_procs},
	{"/sys/fs/cgroup/*cgroup.subtree_control", fh_do_subtree_control},
	{"/proc/irq/*/smp_affinity_list", fh_do_irq_list},
	{"/proc/irq/*/smp_affinity", fh_do_irq_hex},
	{"/sys/devices/virtual/vtconsole/vtcon*/bind", fh_do_vtcon_bind},
};

/* Writes that may block, as the kernel's do: run before the rule, outside
 * the root's lock, so other processes go on meanwhile. */
static const struct rule waits[] = {
	{"/sys/bus/pci/drivers/*/unbind", fh_wait_unheld},
};

/* Load FAKEHOST_ROOT; false when unset or missing. */
bool fh_root_load(void)
{
	const char *r = getenv("FAKEHOST_ROOT");

	if (!r || *r != '/' || !realpath(r, fh_root))
		return false;
	fh_root_len = strlen(fh_root);
	if (fh_root_len == 1)
		return false; /* "/" is the real host: never emulate it */
	return true;
}

bool fh_below_root(const char *p)
{
	return !strncmp(p, fh_root, fh_root_len) && p[fh_root_len] == '/';
}

/* Serialises emulated operations across processes sharing the root. */
int fh_lock_root(void)
{
	char p[PATH_MAX];
	int fd;

	fh_mkdir_p(fh_pathf(p, "%s/.fakehost", fh_root));
	fd = open(fh_pathf(p, "%s/.fakehost/lock", fh_root),
		  O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

void fh_unlock_root(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* sysfs and procfs attributes hold one value: each write replaces it. */
static int attr_replace(int fd, const void *buf, size_t n)
{
	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET) < 0)
		return NOT_MINE; /* not writable: let the real write fail */
	if (fh_raw_write(fd, buf, n) != (ssize_t)n)
		return -errno;
	return 0;
}

/* An empty write reaches cgroupfs and /proc/irq handlers, but neither
 * sysfs attributes (sysfs_kf_write) nor sysctls (proc_dointvec). */
static bool reaches_store(const char *rel)
{
	return !strncmp(rel, "/sys/fs/cgroup/", 15) ||
	       !strncmp(rel, "/proc/irq/", 10);
}

/* 0: emulated; NOT_MINE: do the real write; < 0: -errno. */
static int attr_write(int fd, const void *buf, size_t n)
{
	char link[PATH_MAX];
	struct req *r;
	struct stat st;
	ssize_t k;
	int e = NOT_MINE, lock;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !fh_root_load())
		return NOT_MINE;
	fh_pathf(link, "/proc/self/fd/%d", fd);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NOT_MINE;
	k = readlink(link, r->path, sizeof(r->path) - 1);
	if (k <= 0 || !fh_below_root(r->path) ||
	    (strncmp(r->path + fh_root_len, "/sys/", 5) &&
	     strncmp(r->path + fh_root_len, "/proc/", 6))) {
		free(r);
		return NOT_MINE;
	}
	r->rel = r->path + fh_root_len;
	if (!n && !reaches_store(r->rel)) {
		free(r);
		return NOT_MINE;
	}
	memcpy(r->val, buf, n < VAL_MAX - 1 ? n : VAL_MAX - 1);
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		if (!fnmatch(waits[i].pattern, r->rel, 0)) {
			char val[VAL_MAX];

			memcpy(val, r->val, sizeof(val));
			e = waits[i].fn(r);
			memcpy(r->val, val, sizeof(val));
			if (e < 0) {
				free(r);
				return e;
			}
			e = NOT_MINE;
		}
	lock = fh_lock_root();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!fnmatch(rules[i].pattern, r->rel, 0)) {
			e = rules[i].fn(r);
			break;
		}
	if (e == NOT_MINE)
		e = attr_replace(fd, buf, n);
	fh_unlock_root(lock);
	free(r);
	return e;
}

static ssize_t shim_write(int fd, const void *buf, size_t n, off_t off,
			  bool positioned)
{
	int saved = errno, e;

	if (!fh_busy) {
		fh_busy = 1;
		e = attr_write(fd, buf, n);
		fh_busy = 0;
		if (e <= 0) {
			errno = e ? -e : saved;
			return e ? -1 : (ssize_t)n;
		}
		errno = saved;
	}
	if (positioned)
		return real_pwrite(fd, buf, n, off);
	return fh_raw_write(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	need_init();
	return shim_write(fd, buf, n, 0, false);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	need_init();
	return shim_write(fd, buf, n, off, true);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	need_init();
	return shim_write(fd, buf, n, off, true);
}

/* ---- open(): attributes ignore O_TRUNC ------------------------------ */

static bool is_emulated(const char *rel)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!fnmatch(rules[i].pattern, rel, 0))
			return true;
	return false;
}

/* sysfs ignores O_TRUNC; a shell's "echo 0 > bind" must not empty an
 * emulated attribute the shim reads back (the current bind, pool size,
 * cgroup.procs list) before its write arrives. */
static int open_flags(int dirfd, const char *path, int flags)
{
	char full[PATH_MAX], real[PATH_MAX];

	if (!(flags & O_TRUNC) || fh_busy || !path)
		return flags;
	fh_busy = 1;
	if (*path != '/' && dirfd != AT_FDCWD) {
		char link[64];
		ssize_t k;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		k = readlink(link, full, sizeof(full) - 1);
		full[k > 0 ? k : 0] = '\0';
		snprintf(full + strlen(full), sizeof(full) - strlen(full),
			 "/%s", path);
	} else {
		snprintf(full, sizeof(full), "%s", path);
	}
	if (fh_root_load() && realpath(full, real) && fh_below_root(real) &&
	    is_emulated(real + fh_root_len))
		flags &= ~O_TRUNC;
	fh_busy = 0;
	return flags;
}

static bool needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_MODE(flags, last)                                                 \
	int mode = 0;                                                          \
	if (needs_mode(flags)) {                                               \
		va_list ap;                                                    \
		va_start(ap, last);                                            \
		mode = va_arg(ap, int);                                        \
		va_end(ap);                                                    \
	}

int open(const char *path, int flags, ...)
{
	need_init();
	OPEN_MODE(flags, flags);
	return real_open(path, open_flags(AT_FDCWD, path, flags), mode);
}

int open64(const char *path, int flags, ...)
{
	need_init();
	OPEN_MODE(flags, flags);
	return real_open64(path, open_flags(AT_FDCWD, path, flags), mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	need_init();
	OPEN_MODE(flags, flags);
	return real_openat(dirfd, path, open_flags(dirfd, path, flags), mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	need_init();
	OPEN_MODE(flags, flags);
	return real_openat64(dirfd, path, open_flags(dirfd, path, flags), mode);
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	need_init();
	return real_open_2(path, open_flags(AT_FDCWD, path, flags));
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	need_init();
	return real_open64_2(path, open_flags(AT_FDCWD, path, flags));
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	need_init();
	return real_openat_2(dirfd, path, open_flags(dirfd, path, flags));
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
	need_init();
	return real_openat64_2(dirfd, path, open_flags(dirfd, path, flags));
}

int creat(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* ---- mkdir/rmdir: cgroup folders (fh_cgroup.c) ------------------- */

int mkdir(const char *path, mode_t mode)
{
	char dir[PATH_MAX];

	need_init();
	if (fh_cg_target(AT_FDCWD, path, dir))
		return fh_cg_mkdir(dir, mode);
	return fh_real_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	char dir[PATH_MAX];

	need_init();
	if (fh_cg_target(dirfd, path, dir))
		return fh_cg_mkdir(dir, mode);
	return real_mkdirat(dirfd, path, mode);
}

int rmdir(const char *path)
{
	char dir[PATH_MAX];

	need_init();
	if (fh_cg_target(AT_FDCWD, path, dir) && fh_is_cgroup(dir))
		return fh_cg_rmdir(dir);
	return fh_real_rmdir(path);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	char dir[PATH_MAX];

	need_init();
	if ((flags & AT_REMOVEDIR) && fh_cg_target(dirfd, path, dir) &&
	    fh_is_cgroup(dir))
		return fh_cg_rmdir(dir);
	return real_unlinkat(dirfd, path, flags);
}
/* ---- mount/umount (fh_misc.c) ------------------------------------ */

int mount(const char *src, const char *tgt, const char *type,
	  unsigned long flags, const void *data)
{
	char real[PATH_MAX];
	int e, lock;

	need_init();
	if (!fh_mount_target(tgt, real))
		return real_mount(src, tgt, type, flags, data);
	fh_busy = 1;
	lock = fh_lock_root();
	e = fh_fake_mount(src, real, type, flags, data);
	fh_unlock_root(lock);
	fh_busy = 0;
	if (e)
		errno = -e;
	return e ? -1 : 0;
}

int umount2(const char *tgt, int flags)
{
	char real[PATH_MAX];
	int e, lock;

	need_init();
	if (!fh_mount_target(tgt, real))
		return real_umount2(tgt, flags);
	fh_busy = 1;
	lock = fh_lock_root();
	e = fh_fake_umount(real, flags);
	fh_unlock_root(lock);
	fh_busy = 0;
	if (e)
		errno = -e;
	return e ? -1 : 0;
}

int umount(const char *tgt)
{
	char real[PATH_MAX];

	need_init();
	if (!fh_mount_target(tgt, real))
		return real_umount(tgt);
	return umount2(tgt, 0);
}

/* ---- ioctl: /dev/kvm (fh_kvm.c) ------------------------------------ */

int ioctl(int fd, unsigned long req, ...)
{
	struct stat st;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	need_init();
	/* the fake /dev/kvm is a plain file; the real one is not */
	if (fh_busy || fstat(fd, &st) || !S_ISREG(st.st_mode))
		return real_ioctl(fd, req, arg);
	fh_busy = 1;
	r = fh_is_kvm_fd(fd) ? fh_kvm_ioctl(fd, req, arg)
			     : real_ioctl(fd, req, arg);
	fh_busy = 0;
	return r;
}
