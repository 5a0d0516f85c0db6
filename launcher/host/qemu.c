/* qemu.c: the QEMU binary as this host has it: where it is, its version
 * (cached per binary), and the machine types it knows. */
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The profile's binary as given when it names a path, else searched on
 * $PATH; NULL when there is none (the planner says what to install). */
static char *host_find_qemu(const char *qemu)
{
	const char *name = qemu && *qemu ? qemu : "qemu-system-x86_64";
	const char *env = getenv("PATH");
	cleanup_free char *dirs = xstrdup(env && *env ? env : "/usr/bin:/bin");
	char *save = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) ? NULL : xstrdup(name);
	for (char *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", *d ? d : ".", name);

		if (!access(p, X_OK))
			return p;
		free(p);
	}
	return NULL;
}

/* Run `PATH ARGS...` (no shell) and read what it prints. */
static int host_qemu_output(const char *path, char *const *args, char *buf,
			    size_t len, struct vr_error *err)
{
	int fd[2], status;
	size_t n = 0;
	ssize_t got;
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC))
		return vr_error(err, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return vr_error(err, errno, "fork");
	}
	if (pid == 0) {
		dup2(fd[1], STDOUT_FILENO);
		execv(path, args);
		_exit(127);
	}
	close(fd[1]);
	while (n + 1 < len && (got = read(fd[0], buf + n, len - 1 - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return vr_errorx(err, EINVAL,
				 "%s %s failed (status %d): is it a "
				 "QEMU binary? Set [vm] qemu in the profile "
				 "to one",
				 path, args[1],
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

static char *qemu_cache_file(const char *path, char *key, size_t len)
{
	uint32_t h = 2166136261u;
	struct stat st;

	if (geteuid() != 0 || stat(path, &st) < 0)
		return NULL;
	for (const char *c = path; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	snprintf(key, len, "%s %llu %llu %lld %lld.%09ld %lld.%09ld", path,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
		 st.st_ctim.tv_nsec);
	return xasprintf("%s/qemu-%08x", QEMU_CACHE_DIR, h);
}

static bool qemu_cache_get(const char *file, const char *key, char *out,
			   size_t len)
{
	cleanup_fclose FILE *f = file ? fopen(file, "re") : NULL;
	char line[4096];

	if (!f || !fgets(line, sizeof(line), f))
		return false;
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, key) || !fgets(out, (int)len, f))
		return false;
	out[strcspn(out, "\n")] = '\0';
	return true;
}

/* Best effort: a cache that cannot be written is only slower. */
static void qemu_cache_put(const char *file, const char *key, const char *out)
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

static char *const *version_args(const char *path)
{
	static char *argv[3] = {NULL, (char *)"-version", NULL};

	argv[0] = (char *)path;
	return argv;
}

/* `-machine help`: "Supported machines are:", then one "NAME  TEXT"
 * line each. A binary that lists none (a stand-in) leaves machines
 * empty: nothing is checked then. */
void host_qemu_machines(struct host_qemu *q)
{
	char *const argv[] = {q->path, (char *)"-machine", (char *)"help",
			      NULL};
	static char out[65536];
	struct vr_error ignored;
	char *save = NULL;

	if (host_qemu_output(q->path, argv, out, sizeof(out), &ignored) ||
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

int host_qemu_probe(struct host_qemu *q, const char *qemu, struct vr_error *err)
{
	cleanup_free char *cache = NULL;
	char out[1024], key[4200];
	int r;

	q->path = host_find_qemu(qemu);
	if (!q->path)
		return 0;
	cache = qemu_cache_file(q->path, key, sizeof(key));
	if (qemu_cache_get(cache, key, out, sizeof(out)) &&
	    !host_qemu_parse_version(out, q))
		return 0;
	r = host_qemu_output(q->path, version_args(q->path), out, sizeof(out),
			     err);
	if (r)
		return r;
	out[strcspn(out, "\n")] = '\0';
	if (!host_qemu_parse_version(out, q))
		qemu_cache_put(cache, key, out);
	if (host_qemu_parse_version(out, q))
		return vr_errorx(err, EINVAL,
				 "%s -version printed '%s', not 'QEMU "
				 "emulator version X.Y.Z': is it a QEMU "
				 "binary?",
				 q->path, out);
	return 0;
}
