/* hostio.c: host writes and host tools, used only by the plan's operations,
 * so every change vmrun makes to the host is in one auditable place. */
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int host_write(const char *abs, const char *value, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(abs);
	/* driver_override is cleared with "\n"; show it readably. */
	const char *shown = strcmp(value, "\n") ? value : "\\n";
	size_t len = strlen(value);
	ssize_t n;
	int fd, e;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return vr_error(err, errno, "write '%s' to %s", shown, abs);
	/* Sysfs takes a value in one write(): no stdio buffering, no
	 * retries that would hand the kernel half a value. */
	n = write(fd, value, len);
	e = errno;
	if (close(fd) < 0 && n >= 0) {
		n = -1;
		e = errno;
	}
	if (n < 0)
		return vr_error(err, e, "write '%s' to %s", shown, abs);
	if ((size_t)n != len)
		return vr_errorx(err, EIO, "write '%s' to %s: short write",
				 shown, abs);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	cleanup_free char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	cleanup_close int fd = -1;

	if (!slash)
		return 0;
	*(slash == dir ? slash + 1 : slash) = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

static int mkdir_parent(const char *abs)
{
	cleanup_free char *dir = xstrdup(abs);
	char *slash = strrchr(dir, '/');
	struct vr_error e;

	if (!slash || slash == dir)
		return -ENOENT;
	*slash = '\0';
	return host_mkdir(dir, 0700, &e);
}

int host_write_file(const char *abs, const void *data, size_t len,
		    unsigned mode, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(abs);
	cleanup_free char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, r;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	/* Another vmrun may have removed the folder as it became empty. */
	if (fd < 0 && errno == ENOENT && !mkdir_parent(abs))
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return vr_error(err, errno, "create %s", tmp);
	r = write_all(fd, data, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return vr_error(err, -r, "write %s", path);
	}
	r = fsync_dir_of(path);
	if (r)
		return vr_error(err, -r, "sync the folder of %s", path);
	return 0;
}

int host_mkdir(const char *abs, unsigned mode, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(abs);

	for (char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST)
			return vr_error(err, errno, "create folder %s", path);
		if (!p)
			return 0;
		*p = '/';
	}
}

int host_remove(const char *abs, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(abs);

	if (unlink(path) < 0 && errno != ENOENT)
		return vr_error(err, errno, "remove %s", path);
	return 0;
}

void host_rmdir_empty(const char *abs)
{
	cleanup_free char *path = hostfs_path(abs);

	rmdir(path);
}

static void child_exec(const char *path, const char *const argv[], int outfd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (outfd >= 0)
		dup2(outfd, STDOUT_FILENO);
	execv(path, (char *const *)argv);
	_exit(127);
}

/* Read the child's stdout to EOF, keeping what fits. */
static void read_all(int fd, char *out, size_t outlen)
{
	size_t used = 0;
	char buf[512];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && used + 1 < outlen) {
			size_t k = (size_t)n;

			if (k > outlen - 1 - used)
				k = outlen - 1 - used;
			memcpy(out + used, buf, k);
			used += k;
		}
	}
	if (!out || !outlen)
		return;
	out[used] = '\0';
	while (used > 0 && (out[used - 1] == '\n' || out[used - 1] == ' '))
		out[--used] = '\0';
}

static int wait_child(pid_t pid, const char *name, struct vr_error *err)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vr_error(err, errno, "wait for %s", name);
	if (WIFSIGNALED(status))
		return vr_errorx(err, EIO, "%s was killed by signal %d", name,
				 WTERMSIG(status));
	if (WEXITSTATUS(status) == 127)
		return vr_errorx(err, ENOEXEC, "%s could not be executed",
				 name);
	return WEXITSTATUS(status);
}

int host_run(const char *const argv[], char *out, size_t outlen,
	     struct vr_error *err)
{
	cleanup_free char *path = hostfs_find_tool(argv[0]);
	int fds[2] = {-1, -1};
	pid_t pid;

	if (!path)
		return vr_errorx(err, ENOENT,
				 "%s not found in /usr/sbin, /usr/bin, /sbin "
				 "or /bin: install it",
				 argv[0]);
	if (out && pipe2(fds, O_CLOEXEC) < 0)
		return vr_error(err, errno, "pipe for %s", argv[0]);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		if (out) {
			close(fds[0]);
			close(fds[1]);
		}
		return vr_error(err, e, "fork for %s", argv[0]);
	}
	if (pid == 0)
		child_exec(path, argv, fds[1]);
	if (out) {
		close(fds[1]);
		read_all(fds[0], out, outlen);
		close(fds[0]);
	}
	return wait_child(pid, argv[0], err);
}

/* The child of host_write_timeout: the write, its error sent back. */
static void write_child(const char *abs, const char *value, int fd)
{
	struct vr_error e = {0};
	ssize_t n;

	host_write(abs, value, &e);
	n = write(fd, &e, sizeof(e));
	_exit(n == (ssize_t)sizeof(e) ? 0 : 1);
}

/* Read len bytes (fewer at end of file); the count, or -1. */
static ssize_t read_whole(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Reap a child that was told to die, without waiting on one the kernel
 * still holds in a write (it cannot die before the write returns). */
static void reap_soon(pid_t pid)
{
	const struct timespec step = {0, 10 * 1000 * 1000};

	for (int i = 0; i < 20; i++) {
		if (waitpid(pid, NULL, WNOHANG) != 0)
			return;
		nanosleep(&step, NULL);
	}
}

int host_write_timeout(const char *abs, const char *value, long timeout_ms,
		       struct vr_error *err)
{
	struct pollfd pfd = {.events = POLLIN};
	struct vr_error child = {0};
	int fds[2], r;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return vr_error(err, errno, "pipe for a write to %s", abs);
	pid = fork();
	if (pid < 0) {
		r = vr_error(err, errno, "fork for a write to %s", abs);
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		close(fds[0]);
		write_child(abs, value, fds[1]);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	do
		r = poll(&pfd, 1,
			 timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms);
	while (r < 0 && errno == EINTR);
	n = r > 0 ? read_whole(fds[0], &child, sizeof(child)) : -1;
	close(fds[0]);
	if (n == (ssize_t)sizeof(child)) {
		waitpid(pid, NULL, 0);
		if (!child.code)
			return 0;
		*err = child;
		return -child.code;
	}
	if (n == 0) {
		waitpid(pid, NULL, 0);
		return vr_errorx(err, EIO,
				 "write '%s' to %s: the process "
				 "doing it died",
				 value, abs);
	}
	kill(pid, SIGKILL);
	reap_soon(pid);
	return vr_errorx(err, ETIMEDOUT,
			 "write '%s' to %s did not return within %ld ms", value,
			 abs, timeout_ms);
}
