/* process.c: starting and recording the programs vmrun runs. Process
 * state is read from the real /proc: processes are real even when the host
 * root is a fake tree, so these paths deliberately bypass hostfs. */
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* What the child was doing when it failed, sent up with errno. */
enum spawn_step {
	STEP_SETUP,
	STEP_USER,
	STEP_MEMLOCK,
	STEP_CGROUP,
	STEP_EXEC
};

/* CAP_IPC_LOCK in our effective set: locked memory is then not limited
 * by RLIMIT_MEMLOCK (mlock, and vfio's page pinning, check it first). */
static bool have_ipc_lock(void)
{
	char buf[4096], *cap;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	cap = strstr(buf, "CapEff:");
	return cap && (strtoull(cap + 7, NULL, 16) >> 14 & 1);
}

/* A container may deny raising the hard limit (no CAP_SYS_RESOURCE); a
 * program that keeps CAP_IPC_LOCK does not need the limit. */
static int set_memlock(const struct spawn *s)
{
	struct rlimit rl = {s->memlock, s->memlock};

	if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		return 0;
	if (errno == EPERM && s->memlock_optional && have_ipc_lock())
		return 0;
	return -1;
}

int proc_user(uid_t uid, struct spawn_user *u, struct vr_error *err)
{
	const struct passwd *pw = getpwuid(uid);

	if (!pw)
		return vr_errorx(err, ENOENT, "no user with uid %u",
				 (unsigned)uid);
	u->uid = uid;
	u->gid = pw->pw_gid;
	u->ngroups = SPAWN_GROUPS_MAX;
	if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &u->ngroups) < 0)
		return vr_errorx(err, E2BIG,
				 "user %s is in more than %d groups",
				 pw->pw_name, SPAWN_GROUPS_MAX);
	return 0;
}

int proc_become(const struct spawn_user *u)
{
	if (setgroups((size_t)u->ngroups, u->groups) < 0 ||
	    setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		return -1;
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
	    getegid() != u->gid || (u->uid != 0 && setuid(0) == 0)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int cgroup_join(const char *cgroup)
{
	char *procs = xasprintf("%s/cgroup.procs", cgroup);
	char *path = hostfs_path(procs);
	char pid[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	snprintf(pid, sizeof(pid), "%d", getpid());
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
		return -1;
	close(fd);
	return 0;
}

static void child_setup(const struct spawn *s, pid_t parent, int errfd)
{
	int step = STEP_SETUP, e[2];
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (s->own_pgrp)
		setpgid(0, 0);
	/* before the death signal, which a change of user clears */
	step = STEP_USER;
	if (s->user && proc_become(s->user) < 0)
		goto fail;
	step = STEP_SETUP;
	if (s->die_with_parent) {
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
			goto fail;
		/* vmrun died before prctl: nobody would signal us now */
		if (getppid() != parent)
			_exit(127);
	}
	step = STEP_MEMLOCK;
	if (s->memlock && set_memlock(s) < 0)
		goto fail;
	step = STEP_CGROUP;
	if (s->cgroup && cgroup_join(s->cgroup) < 0)
		goto fail;
	step = STEP_SETUP;
	if (s->pass_fd >= 0) {
		if (s->pass_fd == 3)
			fcntl(3, F_SETFD, 0);
		else if (dup2(s->pass_fd, 3) < 0)
			goto fail;
	}
	if (s->out_fd >= 0 &&
	    (dup2(s->out_fd, 1) < 0 || dup2(s->out_fd, 2) < 0))
		goto fail;
	if (s->clear_env)
		clearenv();
	for (size_t i = 0; s->env && s->env[i]; i++)
		putenv(s->env[i]);
	if (s->cwd && chdir(s->cwd) < 0)
		goto fail;
	step = STEP_EXEC;
	if (strchr(s->path, '/'))
		execv(s->path, s->argv);
	else
		execvp(s->path, s->argv);
fail:
	e[0] = errno;
	e[1] = step;
	if (write(errfd, e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static int spawn_error(const struct spawn *s, const int e[2],
		       struct vr_error *err)
{
	switch (e[1]) {
	case STEP_MEMLOCK:
		return vr_error(err, e[0],
				"could not start %s: raising its locked-memory "
				"limit (RLIMIT_MEMLOCK) to %llu MiB for the "
				"passed-through devices",
				s->path,
				(unsigned long long)(s->memlock >> 20));
	case STEP_USER:
		return vr_error(err, e[0],
				"could not start %s: becoming user %u", s->path,
				(unsigned)s->user->uid);
	case STEP_CGROUP:
		return vr_error(err, e[0],
				"could not start %s: moving it into the cgroup "
				"%s",
				s->path, s->cgroup);
	default:
		return vr_error(err, e[0], "could not start %s", s->path);
	}
}

int proc_spawn(const struct spawn *s, pid_t *pid, struct vr_error *err)
{
	pid_t parent = getpid();
	int fds[2], e[2] = {0, 0};
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return vr_error(err, errno, "pipe");
	*pid = fork();
	if (*pid < 0) {
		e[0] = errno;
		close(fds[0]);
		close(fds[1]);
		return vr_error(err, e[0], "fork for %s", s->path);
	}
	if (*pid == 0) {
		close(fds[0]);
		child_setup(s, parent, fds[1]);
	}
	close(fds[1]);
	do
		n = read(fds[0], e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == sizeof(e)) {
		waitpid(*pid, NULL, 0);
		return spawn_error(s, e, err);
	}
	return 0;
}

int proc_run(const struct spawn *s, struct vr_error *err)
{
	pid_t pid;
	int r = proc_spawn(s, &pid, err), status;

	if (r)
		return r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vr_error(err, errno, "wait for %s", s->path);
	if (WIFSIGNALED(status))
		return vr_errorx(err, EINTR, "%s was killed by signal %d",
				 s->path, WTERMSIG(status));
	return WEXITSTATUS(status);
}

/* /proc/PID/stat from field 3 on (after comm, which may hold spaces and
 * parentheses: the fields follow the last ')'); NULL when gone. */
static char *proc_stat(pid_t pid, char *buf, size_t len)
{
	char path[64], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p + 2 : NULL;
}

bool proc_stopped(pid_t pid)
{
	char buf[1024], *p = proc_stat(pid, buf, sizeof(buf));

	return p && (*p == 'T' || *p == 't');
}

int proc_starttime(pid_t pid, unsigned long long *out)
{
	char buf[1024], *p = proc_stat(pid, buf, sizeof(buf));

	if (!p)
		return -ESRCH;
	p -= 2; /* back to the ')': fields are counted from it */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", out) != 1)
		return -EINVAL;
	return 0;
}

int proc_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
#else
	(void)pid;
	return -ENOSYS;
#endif
}

char *host_which(const char *name)
{
	const char *env = getenv("PATH");
	cleanup_free char *dirs = NULL;
	char *save = NULL;

	if (!name || !*name)
		return NULL;
	if (strchr(name, '/'))
		return access(name, X_OK) ? NULL : xstrdup(name);
	dirs = xstrdup(env && *env ? env : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", *d ? d : ".", name);

		if (!access(p, X_OK))
			return p;
		free(p);
	}
	return NULL;
}

bool proc_has_env(pid_t pid, const char *entry)
{
	char path[64];
	size_t len = strlen(entry) + 1, n = 0;
	cleanup_free char *buf = NULL;
	cleanup_close int fd = -1;
	ssize_t got;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	buf = xmalloc(PROC_ENV_MAX + 1);
	while (n < PROC_ENV_MAX &&
	       (got = read(fd, buf + n, PROC_ENV_MAX - n)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
		if (n - i >= len && !memcmp(buf + i, entry, len))
			return true;
	return false;
}
