/* lock.c: the per-VM lock, /run/vmrun/NAME.lock: one vmrun runs, prepares
 * or restores a VM at a time, and its pid is in the file for the message. */
#include "engine/engine.h"
#include "host/host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The pid a lock file holds, for the message; 0 when unreadable. */
static long lock_owner(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Open and flock the lock file; 1 when it was unlinked under us (a
 * previous holder removed it as we opened it): try again. With name NULL
 * (the host lock) a lock held by another vmrun is -EWOULDBLOCK. */
static int lock_try(const char *path, const char *name, int *fdp,
		    struct vr_error *err)
{
	struct stat a, b;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return vr_error(err, errno, "open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long pid = lock_owner(fd);

		close(fd);
		if (!name && e == EWOULDBLOCK)
			return -EWOULDBLOCK;
		if (e != EWOULDBLOCK)
			return vr_error(err, e, "lock %s", path);
		if (pid > 0)
			return vr_errorx(err, EBUSY,
					 "VM '%s' is already being run by "
					 "vmrun (pid %ld)",
					 name, pid);
		return vr_errorx(err, EBUSY,
				 "VM '%s' is already being run by vmrun", name);
	}
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		close(fd);
		return 1;
	}
	*fdp = fd;
	return 0;
}

int lock_take(const char *name, int *fdp, struct vr_error *err)
{
	cleanup_free char *abs = paths_run_file(name, ".lock");
	cleanup_free char *path = hostfs_path(abs);
	char pid[32];
	int r, n;

	*fdp = -1;
	r = profile_name_check(name, err);
	/* Retried while another vmrun removes the file or its folder
	 * between our mkdir, open and flock. */
	for (int tries = 0; !r && tries < 100; tries++) {
		r = host_mkdir(paths_run_dir(), 0700, err);
		if (!r)
			r = lock_try(path, name, fdp, err);
		if (r != 1)
			break;
		r = 0;
	}
	if (!r && *fdp < 0)
		r = vr_errorx(err, EAGAIN, "lock %s: it keeps changing", path);
	if (r)
		return r;
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(*fdp, 0) < 0 || pwrite(*fdp, pid, (size_t)n, 0) != n) {
		r = vr_error(err, errno, "write %s", path);
		close(*fdp);
		*fdp = -1;
	}
	return r;
}

void lock_release(const char *name, int fd)
{
	cleanup_free char *abs = paths_run_file(name, ".lock");
	cleanup_free char *path = hostfs_path(abs);

	if (fd < 0)
		return;
	/* Unlink while still holding it: a vmrun that opened the old file
	 * sees the inode change in lock_try and retries. */
	unlink(path);
	close(fd);
	host_rmdir_empty(paths_run_dir());
}

int lock_host_take(int *fdp, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(paths_host_lock());
	struct timespec step = {0, 10 * 1000 * 1000};
	int r = 0, tries;

	*fdp = -1;
	/* Held for a moment at a time: wait up to 30 s. */
	for (tries = 0; tries < 3000; tries++) {
		r = host_mkdir(paths_run_dir(), 0700, err);
		if (!r)
			r = lock_try(path, NULL, fdp, err);
		if (r != 1 && r != -EWOULDBLOCK)
			break;
		nanosleep(&step, NULL);
	}
	if (r == 1 || r == -EWOULDBLOCK)
		return vr_errorx(err, EAGAIN,
				 "%s is held by another vmrun for more than "
				 "30 s",
				 path);
	return r;
}

void lock_host_release(int fd)
{
	cleanup_free char *path = hostfs_path(paths_host_lock());

	if (fd < 0)
		return;
	unlink(path);
	close(fd);
	host_rmdir_empty(paths_run_dir());
}
