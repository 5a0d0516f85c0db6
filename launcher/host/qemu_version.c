/* qemu_version.c: which QEMU a profile gets, its version from `qemu
 * -version` and, when asked, its machine types from `-machine help`: the
 * one program vmrun runs to plan. It is run only when the trust rule
 * allows it (trust.h), within a timeout, and the version is cached per
 * binary. */
#include "host/host.h"
#include "host/qemu_probe.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The profile's binary as given when it names a path, else searched on
 * $PATH; NULL when there is none (the planner says what to install). */
static char *host_find_qemu(const char *qemu)
{
	return host_which(qemu && *qemu ? qemu : "qemu-system-x86_64");
}

/* How long `qemu -version` may take (VMRUN_QEMU_PROBE_TIMEOUT_MS for the
 * tests): a binary that never answers must not hang --dry-run. */
long host_qemu_timeout_ms(void)
{
	const char *v = getenv("VMRUN_QEMU_PROBE_TIMEOUT_MS");
	long ms = v && *v ? strtol(v, NULL, 10) : 0;

	return ms > 0 ? ms : 10000;
}

/* `path opt [arg]` in a process group of its own, stdout to out_fd. */
static pid_t probe_start(const char *path, const char *opt, const char *arg,
			 int out_fd, int other_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *const argv[] = {(char *)path, (char *)opt, (char *)arg,
				      NULL};
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* its own group: a timeout kills what it started too */
		setpgid(0, 0);
		close(other_fd);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(out_fd, STDOUT_FILENO);
		execv(path, argv);
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);
	return pid;
}

/* Read fd to EOF (or buf full) until deadline; false on timeout. */
static bool probe_read(int fd, char *buf, size_t len, long deadline)
{
	size_t n = 0;
	ssize_t got;
	int r;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long left = deadline - now_ms();

		if (left <= 0)
			break;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got = read(fd, buf + n, len - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		buf[n + (got > 0 ? (size_t)got : 0)] = '\0';
		if (got <= 0 || (n += (size_t)got) + 1 >= len)
			return true;
	}
	buf[n] = '\0';
	return false;
}

/* Reap pid before deadline; false on timeout (it is then killed). */
bool host_qemu_reap(pid_t pid, int *status, long deadline)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			return w == pid;
		if (now_ms() >= deadline)
			break;
		poll(NULL, 0, 10);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return false;
}

/* Run `PATH OPT [ARG]` (no shell) and read what it prints, within the
 * timeout; the program is checked like the profile's own programs first
 * (trust.h): an untrusted one is never executed, not even for this. */
static int host_qemu_output(const char *path, const char *opt, const char *arg,
			    char *buf, size_t len, struct vr_error *err)
{
	long limit = host_qemu_timeout_ms(), deadline = now_ms() + limit;
	int fd[2], status = 0, r;
	bool done;
	pid_t pid;

	r = trust_check_program(path, "[vm] qemu", err);
	if (r)
		return vr_error_prefix(err, "not running %s %s", path, opt);
	if (pipe2(fd, O_CLOEXEC))
		return vr_error(err, errno, "pipe");
	pid = probe_start(path, opt, arg, fd[1], fd[0]);
	close(fd[1]);
	if (pid < 0) {
		close(fd[0]);
		return vr_error(err, errno, "fork");
	}
	done = probe_read(fd[0], buf, len, deadline);
	close(fd[0]);
	if (!done)
		deadline = 0; /* kill it now */
	if (!host_qemu_reap(pid, &status, deadline))
		return vr_errorx(err, ETIMEDOUT,
				 "%s %s did not answer within %ld ms: "
				 "is it a QEMU binary? Set [vm] qemu in the "
				 "profile to one",
				 path, opt, limit);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return vr_errorx(err, EINVAL,
				 "%s %s failed (status %d): is it a "
				 "QEMU binary? Set [vm] qemu in the profile "
				 "to one",
				 path, opt,
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

/* Parse "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)". */
int host_qemu_parse_version(const char *out, struct host_qemu *q)
{
	const char *v = strstr(out, "QEMU emulator version ");

	q->major = q->minor = q->micro = 0;
	if (!v ||
	    sscanf(v + 22, "%d.%d.%d", &q->major, &q->minor, &q->micro) < 2)
		return -EINVAL;
	return 0;
}

/* Running `qemu -version` costs more than all of planning (~10 ms), on
 * every start: root keeps the answer per binary in /var/cache/vmrun, keyed
 * by what changes when the binary does (device, inode, size, times). */
#define QEMU_CACHE_DIR "/var/cache/vmrun"

char *host_qemu_cache_file(const char *path, const char *what, char *key,
			   size_t len)
{
	uint32_t h = 2166136261u;
	struct stat st;

	if (geteuid() != 0 || stat(path, &st) < 0)
		return NULL;
	for (const char *c = path; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	for (const char *c = what; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	snprintf(key, len, "%s %llu %llu %lld %lld.%09ld %lld.%09ld%s%s", path,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
		 st.st_ctim.tv_nsec, *what ? " " : "", what);
	return xasprintf("%s/qemu-%08x", QEMU_CACHE_DIR, h);
}

bool host_qemu_cache_get(const char *file, const char *key, char *out,
			 size_t len)
{
	cleanup_fclose FILE *f = file ? fopen(file, "re") : NULL;
	char line[QEMU_CACHE_KEY_MAX];

	if (!f || !fgets(line, sizeof(line), f))
		return false;
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, key) || !fgets(out, (int)len, f))
		return false;
	out[strcspn(out, "\n")] = '\0';
	return true;
}

/* Best effort: a cache that cannot be written is only slower. */
void host_qemu_cache_put(const char *file, const char *key, const char *out)
{
	cleanup_free char *tmp = NULL;
	FILE *f;

	if (!file || (mkdir(QEMU_CACHE_DIR, 0755) < 0 && errno != EEXIST))
		return;
	tmp = xasprintf("%s.%d", file, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s\n%s\n", key, out);
	if (fclose(f) || rename(tmp, file))
		unlink(tmp);
}

int host_probe_qemu(struct host_qemu *q, const char *qemu, struct vr_error *err)
{
	cleanup_free char *cache = NULL;
	char out[1024], key[QEMU_CACHE_KEY_MAX];
	int r;

	q->path = host_find_qemu(qemu);
	if (!q->path)
		return 0;
	cache = host_qemu_cache_file(q->path, "", key, sizeof(key));
	if (host_qemu_cache_get(cache, key, out, sizeof(out)) &&
	    !host_qemu_parse_version(out, q))
		return 0;
	r = host_qemu_output(q->path, "-version", NULL, out, sizeof(out), err);
	if (r)
		return r;
	out[strcspn(out, "\n")] = '\0';
	if (!host_qemu_parse_version(out, q))
		host_qemu_cache_put(cache, key, out);
	if (host_qemu_parse_version(out, q))
		return vr_errorx(err, EINVAL,
				 "%s -version printed '%s', not 'QEMU "
				 "emulator version X.Y.Z': is it a QEMU "
				 "binary?",
				 q->path, out);
	return 0;
}

/* `-machine help`: "Supported machines are:", then one "NAME  TEXT"
 * line each. A binary that lists none (a stand-in) leaves machines
 * empty: nothing is checked then. */
void host_qemu_machines(struct host_qemu *q)
{
	static char out[65536];
	struct vr_error ignored;
	char *save = NULL;

	if (host_qemu_output(q->path, "-machine", "help", out, sizeof(out),
			     &ignored) ||
	    !strstr(out, "Supported machines are:"))
		return;
	for (char *l = strtok_r(out, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(l, " \t");

		if (!strncmp(l, "Supported machines", 18) || !n)
			continue;
		l[n] = '\0';
		strv_add(&q->machines, l);
	}
}
