/* notifier.c: desktop notifications from a root vmrun, which has no way to
 * a user's session bus: a child becomes the user and runs notify-send (or
 * busctl) on that user's own bus. Who is told is in host.h. */
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The user's session bus: a socket of theirs in a folder of theirs
 * (neither a link), or false. */
static bool bus_ok(uid_t uid)
{
	cleanup_free char *abs = host_user_runtime_dir(uid), *bus = NULL;
	struct stat st;

	if (abs) {
		cleanup_free char *dir = hostfs_path(abs);

		bus = xasprintf("%s/bus", dir);
	}
	if (!bus || lstat(bus, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_uid != uid) {
		log_debug("desktop notification: user %u has no session bus "
			  "(/run/user/%u/bus)",
			  (unsigned)uid, (unsigned)uid);
		return false;
	}
	return true;
}

/* One logind session file: the uid of an active graphical session on a
 * seat, or -1. */
static long long session_uid(FILE *f)
{
	bool active = false, seat = false, graphical = false;
	unsigned long long uid = (unsigned long long)-1, v;
	char line[256];

	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "UID=", 4) &&
		    !parse_uint(line + 4, (uid_t)-2, &v))
			uid = v;
		else if (!strcmp(line, "ACTIVE=1"))
			active = true;
		else if (!strncmp(line, "SEAT=", 5) && line[5])
			seat = true;
		else if (!strcmp(line, "TYPE=x11") ||
			 !strcmp(line, "TYPE=wayland") ||
			 !strcmp(line, "TYPE=mir"))
			graphical = true;
	}
	if (!active || !seat || !graphical || uid == (unsigned long long)-1)
		return -1;
	return (long long)uid;
}

static size_t uid_add(uid_t *uids, size_t n, size_t max, uid_t uid)
{
	for (size_t i = 0; i < n; i++)
		if (uids[i] == uid)
			return n;
	if (n < max && bus_ok(uid))
		uids[n++] = uid;
	return n;
}

/* Users with an active graphical session on a seat, as logind records
 * them. Its ".ref" FIFOs are skipped, and nothing is opened through a
 * link or blocks. */
static size_t seat_users(uid_t *uids, size_t max)
{
	cleanup_free char *path = hostfs_path("/run/systemd/sessions");
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		int fd;
		FILE *f;
		struct stat st;
		long long uid;

		if (de->d_name[0] == '.' || strchr(de->d_name, '.'))
			continue;
		fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    !(f = fdopen(fd, "r"))) {
			close(fd);
			continue;
		}
		uid = session_uid(f);
		fclose(f);
		if (uid >= 0)
			n = uid_add(uids, n, max, (uid_t)uid);
	}
	closedir(d);
	return n;
}

/* Who is told: the user who ran vmrun, else [vm] run-as, else the users
 * at a seat; each only with a session bus. */
static size_t users_concerned(const char *run_as, uid_t *uids, size_t max)
{
	uid_t inv = trust_invoking_uid();
	const struct passwd *pw;

	if (inv != 0 && bus_ok(inv)) {
		uids[0] = inv;
		return 1;
	}
	pw = run_as ? getpwnam(run_as) : NULL;
	if (pw && pw->pw_uid != 0 && bus_ok(pw->pw_uid)) {
		uids[0] = pw->pw_uid;
		return 1;
	}
	return seat_users(uids, max);
}

/* NAME in a PATH folder only root can change (the trust rule, trusting no
 * other user): the notifier runs with the user's rights, but vmrun picks
 * it as root. malloc'd, or NULL. */
static char *trusted_program(const char *name)
{
	const char *env = getenv("PATH");
	cleanup_free char *dirs = xstrdup(env && *env ? env : "/usr/bin:/bin");
	char *save = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);
		struct strv lines = {0};

		if (d[0] == '/' && !access(p, X_OK) &&
		    !trust_path_problems(p, "desktop notifier", 0, &lines))
			return p;
		if (lines.n)
			log_debug("%s", lines.v[0]);
		strv_free(&lines);
		free(p);
	}
	return NULL;
}

/* path escaped for a D-Bus address (unix:path=...): bytes other than
 * [-0-9A-Za-z_/.\*] as %XX. malloc'd. */
static char *bus_address(const char *path)
{
	static const char ok[] = "-_/.\\*";
	char *out = xmalloc(strlen(path) * 3 + 16), *o = out;

	o += sprintf(o, "unix:path=");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
		    (*c >= 'A' && *c <= 'Z') || strchr(ok, *c))
			*o++ = (char)*c;
		else
			o += sprintf(o, "%%%02x", *c);
	}
	*o = '\0';
	return out;
}

/* The notifier's argv: notify-send, else busctl calling the
 * notification service itself (the same on every desktop). */
static void argv_for(const char *prog, const char *summary, const char *body,
		     const char **argv)
{
	const char *base = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
	const char *send[] = {"notify-send",
			      "--app-name=vmrun",
			      "--urgency=critical",
			      "--icon=dialog-error",
			      "--",
			      summary,
			      body,
			      NULL};
	const char *call[] = {"busctl",
			      "--user",
			      "--",
			      "call",
			      "org.freedesktop.Notifications",
			      "/org/freedesktop/Notifications",
			      "org.freedesktop.Notifications",
			      "Notify",
			      "susssasa{sv}i",
			      "vmrun",
			      "0",
			      "dialog-error",
			      summary,
			      body,
			      "0",
			      "1",
			      "urgency",
			      "y",
			      "2",
			      "-1",
			      NULL};
	const char **v = strcmp(base, "notify-send") ? call : send;
	size_t i = 0;

	for (; v[i]; i++)
		argv[i] = v[i];
	argv[i] = NULL;
}

/* One notifier, as user uid on the user's bus, with none of vmrun's
 * environment, recorded in n. */
static int notify_user(struct notifier *n, const char *prog, const char **argv,
		       uid_t uid, struct vr_error *err)
{
	cleanup_free char *abs = xasprintf("/run/user/%u", (unsigned)uid);
	cleanup_free char *run = hostfs_path(abs);
	cleanup_free char *bus = xasprintf("%s/bus", run);
	cleanup_free char *addr = bus_address(bus);
	cleanup_free char *xdg = xasprintf("XDG_RUNTIME_DIR=%s", run);
	cleanup_free char *dbus =
		xasprintf("DBUS_SESSION_BUS_ADDRESS=%s", addr);
	cleanup_close int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char *env[] = {xdg, dbus, "PATH=/usr/bin:/bin", NULL};
	struct spawn_user u;
	struct spawn s = {.path = prog,
			  .argv = (char *const *)argv,
			  .pass_fd = -1,
			  .out_fd = null,
			  .own_pgrp = true,
			  .die_with_parent = true,
			  .env = env,
			  .clear_env = true,
			  .cwd = "/",
			  .user = &u};
	struct notifier_child *c = &n->c[n->n];
	int r = proc_user(uid, &u, err);

	if (!r)
		r = proc_spawn(&s, &c->pid, err);
	if (r)
		return r;
	c->uid = uid;
	c->deadline = now_ms() + NOTIFIER_TIMEOUT_MS;
	c->killed = false;
	n->n++;
	log_debug("desktop notification: %s (pid %d) as user %u", prog,
		  (int)c->pid, (unsigned)uid);
	return 0;
}

size_t notifier_send(struct notifier *n, const char *run_as,
		     const char *summary, const char *body)
{
	uid_t uids[NOTIFIER_MAX];
	size_t nu = users_concerned(run_as, uids, NOTIFIER_MAX), started = 0;
	cleanup_free char *prog = NULL;
	const char *argv[24];

	if (!nu) {
		log_debug("desktop notification: no user with a desktop "
			  "session to tell");
		return 0;
	}
	prog = trusted_program("notify-send");
	if (!prog)
		prog = trusted_program("busctl");
	if (!prog) {
		log_debug("desktop notification: neither notify-send nor "
			  "busctl in a PATH folder only root can change");
		return 0;
	}
	argv_for(prog, summary, body, argv);
	for (size_t i = 0; i < nu; i++) {
		struct vr_error e = {0};

		if (n->n == NOTIFIER_MAX) {
			log_debug("desktop notification: %d notifiers still "
				  "running",
				  NOTIFIER_MAX);
			break;
		}
		if (notify_user(n, prog, argv, uids[i], &e))
			log_warn("desktop notification for user %u: %s",
				 (unsigned)uids[i], e.msg);
		else
			started++;
		vr_error_clear(&e);
	}
	return started;
}

static void forget(struct notifier *n, size_t i)
{
	n->c[i] = n->c[--n->n];
}

bool notifier_reaped(struct notifier *n, pid_t pid, int status)
{
	for (size_t i = 0; i < n->n; i++) {
		if (n->c[i].pid != pid)
			continue;
		if (!n->c[i].killed && WIFSIGNALED(status))
			log_debug("desktop notifier (pid %d) was killed by "
				  "signal %d",
				  (int)pid, WTERMSIG(status));
		else if (!n->c[i].killed && WEXITSTATUS(status))
			log_debug("desktop notifier (pid %d) exited with "
				  "status %d",
				  (int)pid, WEXITSTATUS(status));
		forget(n, i);
		return true;
	}
	return false;
}

int notifier_timeout(const struct notifier *n)
{
	int64_t t = -1, now = now_ms();

	for (size_t i = 0; i < n->n; i++) {
		int64_t left = n->c[i].deadline - now;

		if (n->c[i].killed)
			continue;
		if (left < 0)
			left = 0;
		if (t < 0 || left < t)
			t = left;
	}
	return (int)t;
}

void notifier_on_deadline(struct notifier *n)
{
	int64_t now = now_ms();

	for (size_t i = 0; i < n->n; i++) {
		struct notifier_child *c = &n->c[i];

		if (c->killed || now < c->deadline)
			continue;
		log_warn("the desktop notifier for user %u (pid %d) did not "
			 "finish within %d s: killed",
			 (unsigned)c->uid, (int)c->pid,
			 NOTIFIER_TIMEOUT_MS / 1000);
		kill(-c->pid, SIGKILL);
		c->killed = true;
	}
}

void notifier_end(struct notifier *n)
{
	struct timespec step = {0, 20 * 1000 * 1000};
	int status;

	while (n->n) {
		struct notifier_child *c = &n->c[0];
		pid_t pid = waitpid(c->pid, &status, c->killed ? 0 : WNOHANG);

		if (pid == c->pid)
			notifier_reaped(n, pid, status);
		else if (pid < 0 && errno != EINTR)
			forget(n, 0); /* not ours to wait for any more */
		else if (pid == 0)
			notifier_on_deadline(n);
		if (pid == 0 && !c->killed)
			nanosleep(&step, NULL);
	}
}
