/* runtime.c: the pieces of a run around QEMU. Files the run creates
 * (sockets) are journaled through a clean-up op, so a crash leaves nothing
 * that `vmrun restore` does not remove. */
#include "run/run.h"
#include "host/host.h"
#include "base/base.h"
#include "qemu/qemu.h"
#include "ops/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stddef.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int mkdir_p(const char *abs, mode_t mode, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(abs);

	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return vr_error(err, errno, "create %s", path);
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return vr_error(err, errno, "create %s", path);
	return 0;
}

char *runtime_vars_template(const struct profile *p, const struct host *h)
{
	const char *code = p->firmware.code;
	char *t, *at;

	if (p->firmware.vars_template)
		return xstrdup(p->firmware.vars_template);
	if (code && (at = strstr(code, "CODE"))) {
		/* OVMF_CODE_4M.secboot.fd pairs with OVMF_VARS_4M.fd */
		t = xstrdup(code);
		memcpy(t + (at - code), "VARS", 4);
		at = strstr(t, ".secboot");
		if (at)
			memmove(at, at + 8, strlen(at + 8) + 1);
		if (access(t, R_OK) == 0)
			return t;
		free(t);
	}
	if (p->firmware.secure_boot && h->ovmf_vars_sb)
		return xstrdup(h->ovmf_vars_sb);
	return h->ovmf_vars ? xstrdup(h->ovmf_vars) : NULL;
}

/* Open the folder a file of the VM's goes in (made, 0700, if missing) and
 * give the file's name in it (*base points into abs). The path up to here
 * passed the trust rule (trust.h: nobody else can swap a folder on it);
 * from here on the run reaches the file only through this fd, by a name
 * opened O_NOFOLLOW. The fd, or -errno with err filled. */
static int folder_open(const char *abs, const char **base, struct vr_error *err)
{
	const char *slash = strrchr(abs, '/');
	cleanup_free char *dir = NULL, *path = NULL;
	int fd, r;

	if (!slash || !slash[1])
		return vr_errorx(err, EINVAL, "%s: not a file path", abs);
	*base = slash + 1;
	dir = xstrdup(abs);
	dir[slash == abs ? 1 : slash - abs] = '\0';
	r = mkdir_p(dir, 0700, err);
	if (r)
		return r;
	path = hostfs_path(dir);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vr_error(err, errno, "open the folder %s", dir);
	return fd;
}

/* Copy every byte of in to out; 0 or -errno (a short write is retried,
 * so a full file system shows as ENOSPC, never as a stale errno). */
static int copy_fd(int in, int out, bool *read_failed)
{
	char buf[65536];
	ssize_t n, w;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*read_failed = true;
			return -errno;
		}
		for (ssize_t off = 0; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0)
				return -errno;
		}
	}
	return 0;
}

/* The copy is made under a temporary name in the folder (dirfd, by
 * names opened O_NOFOLLOW), synced and renamed into place: a copy cut
 * short (a full state folder) never becomes the VM's vars, and a later
 * start copies the template again. to is the path for messages. */
static int copy_file(const char *from, int dirfd, const char *name,
		     const char *to, struct vr_error *err)
{
	cleanup_close int in = open(from, O_RDONLY | O_CLOEXEC);
	cleanup_free char *tmp = xasprintf("%s.tmp.%ld", name, (long)getpid());
	bool read_failed = false;
	int out, r;

	if (in < 0)
		return vr_error(err, errno, "read the OVMF vars template %s",
				from);
	unlinkat(dirfd, tmp, 0); /* left by a vmrun that had our pid */
	out = openat(dirfd, tmp,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (out < 0)
		return vr_error(err, errno, "create %s.tmp", to);
	r = copy_fd(in, out, &read_failed);
	if (!r && fsync(out) < 0)
		r = -errno;
	if (close(out) < 0 && !r)
		r = -errno;
	if (!r && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r) {
		unlinkat(dirfd, tmp, 0);
		return vr_error(err, -r, "%s the OVMF vars template %s to %s",
				read_failed ? "read" : "copy", from, to);
	}
	fsync(dirfd);
	return 0;
}

/* The vars copy, made on first start, and with run-as made that user's
 * (QEMU opens it as root before it drops to run-as; the file is the VM's
 * own all the same). */
static int vars_prepare(struct vm *vm, struct vr_error *err)
{
	const struct profile *p = &vm->profile;
	cleanup_free char *tmpl = NULL;
	cleanup_close int dirfd = -1;
	const char *base;
	struct stat st;
	int r;

	if (p->firmware.type != FW_OVMF)
		return 0;
	dirfd = folder_open(p->firmware.vars, &base, err);
	if (dirfd < 0)
		return dirfd;
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return vr_error(err, errno, "%s", p->firmware.vars);
		tmpl = runtime_vars_template(p, &vm->host);
		if (!tmpl)
			return vr_errorx(err, ENOENT,
					 "no OVMF vars template to copy to "
					 "%s: set [firmware] vars-template",
					 p->firmware.vars);
		log_info("first start: copying %s to %s", tmpl,
			 p->firmware.vars);
		r = copy_file(tmpl, dirfd, base, p->firmware.vars, err);
		if (r)
			return r;
	}
	return runas_own(p, dirfd, base, p->firmware.vars, false, err);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void plan_cleanup(struct plan *plan, const char *abs)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "path", json_object_new_string(abs));
	plan_add(plan, &file_op_cleanup, args, "remove %s when the VM ends",
		 abs);
}

int runtime_log_open(const struct vm *vm, struct vr_error *err)
{
	const char *log = vm->plan.paths.log;
	cleanup_close int dirfd = -1;
	const char *base;
	struct stat st;
	char user[64];
	int fd, r;

	dirfd = folder_open(log, &base, err);
	if (dirfd < 0)
		return dirfd;
	fd = openat(dirfd, base,
		    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY |
			    O_CLOEXEC,
		    0600);
	if (fd < 0)
		return vr_error(err, errno, "open the VM log %s%s", log,
				errno == ELOOP ? " (a symlink: vmrun does "
						 "not follow one there)"
					       : "");
	/* Appended to as root: never a file with another name (a hard link
	 * to a host file) nor one someone else made. */
	if (fstat(fd, &st) < 0) {
		r = vr_error(err, errno, "stat %s", log);
	} else if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		r = vr_errorx(err, EPERM,
			      "the VM log %s is not a plain file of its own "
			      "(%s); remove it",
			      log,
			      S_ISREG(st.st_mode) ? "it has other hard links"
						  : "wrong file type");
	} else if (st.st_uid != geteuid()) {
		const struct passwd *pw = getpwuid(st.st_uid);

		snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "?");
		r = vr_errorx(err, EPERM,
			      "the VM log %s belongs to user '%s' (uid %u), "
			      "not to the user vmrun runs as; remove it",
			      log, user, (unsigned)st.st_uid);
	} else if (fchmod(fd, 0600) < 0) {
		/* 0600: the log holds QMP traffic with -v; a log made before
		 * is brought to 0600 too */
		r = vr_error(err, errno, "chmod %s", log);
	} else {
		return fd;
	}
	close(fd);
	return r;
}

int runtime_prepare(struct vm *vm, struct vr_error *err)
{
	const struct profile *p = &vm->profile;
	struct plan *plan = &vm->plan;
	FILE *f;
	int fd, r;

	fd = runtime_log_open(vm, err);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "a");
	if (!f) {
		r = vr_error(err, errno, "open the VM log %s", plan->paths.log);
		close(fd);
		return r;
	}
	if (same_file(fileno(f), STDERR_FILENO))
		fclose(f); /* detached: stderr already is the log */
	else
		log_set_file(f);
	r = vars_prepare(vm, err);
	if (r)
		return r;
	if (p->tpm.type == TPM_SWTPM)
		plan_cleanup(plan, plan->paths.swtpm_sock);
	return 0;
}

int runtime_listen(struct vm *vm, int *fd, struct vr_error *err)
{
	int r;

	plan_cleanup(&vm->plan, vm->plan.paths.ctl);
	r = engine_apply(&vm->plan, err);
	return r ? r : control_listen(vm->plan.paths.ctl, fd, err);
}

/* Wait for a file a child creates, or for the child to die. */
static int wait_for(const char *path, pid_t pid, const char *what,
		    struct vr_error *err)
{
	struct timespec step = {0, 10 * 1000 * 1000};
	unsigned long long st;

	for (int i = 0; i < 1000; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		if (proc_starttime(pid, &st) < 0)
			break;
		nanosleep(&step, NULL);
	}
	return vr_errorx(err, ETIMEDOUT, "%s did not create %s", what, path);
}

/* Ops added after the plan was applied are applied at once. */
static int record(struct vm *vm, const char *what, pid_t pid,
		  struct vr_error *err)
{
	child_plan_record(&vm->plan, what, pid, 5000);
	return engine_apply(&vm->plan, err);
}

/* swtpm's arguments. It starts in its state folder (vmrun opens the
 * folder without following a symlink and hands it over as the working
 * folder) and names everything in it relative to that, so no path swapped
 * meanwhile is followed. With [vm] run-as it runs as that user too, and it
 * drops privileges before it opens anything, while /run/vmrun and the
 * state folder stay root's (0700): vmrun listens on the socket itself and
 * passes it as fd 3 (*lfd), and the state folder is made the user's. */
static int swtpm_args(struct vm *vm, int dirfd, const char *base,
		      struct strv *argv, int *lfd, struct vr_error *err)
{
	const struct profile *p = &vm->profile;
	cleanup_free char *sock = hostfs_path(vm->plan.paths.swtpm_sock);
	int r;

	strv_add(argv, "swtpm");
	strv_add(argv, "socket");
	strv_add(argv, "--tpm2");
	strv_add(argv, "--terminate");
	strv_add(argv, "--tpmstate");
	strv_add(argv, "dir=.,mode=0600");
	strv_add(argv, "--log");
	strv_add(argv, "file=swtpm.log");
	if (!p->vm.run_as) {
		strv_add(argv, "--ctrl");
		strv_addf(argv, "type=unixio,path=%s,mode=0600", sock);
		return 0;
	}
	r = runas_own(p, dirfd, base, p->tpm.state, true, err);
	if (!r)
		r = control_listen(vm->plan.paths.swtpm_sock, lfd, err);
	if (r)
		return r;
	/* swtpm waits in poll(); its accept() must block */
	fcntl(*lfd, F_SETFL, fcntl(*lfd, F_GETFL) & ~O_NONBLOCK);
	strv_add(argv, "--ctrl");
	strv_add(argv, "type=unixio,fd=3");
	strv_add(argv, "--runas");
	strv_add(argv, p->vm.run_as);
	return 0;
}

/* The swtpm state folder, made 0700 if missing, opened without following
 * a symlink at any name vmrun makes: the fd, or -errno. */
static int tpm_folder_open(const struct profile *p, int *dirfd,
			   const char **base, struct vr_error *err)
{
	int fd;

	*dirfd = folder_open(p->tpm.state, base, err);
	if (*dirfd < 0)
		return *dirfd;
	if (mkdirat(*dirfd, *base, 0700) < 0 && errno != EEXIST)
		return vr_error(err, errno, "create %s", p->tpm.state);
	fd = openat(*dirfd, *base,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vr_error(err, errno, "open %s%s", p->tpm.state,
				errno == ENOTDIR || errno == ELOOP
					? " (a symlink or not a folder: "
					  "vmrun does not follow one there)"
					: "");
	return fd;
}

int runtime_start_swtpm(struct vm *vm, pid_t *pid, struct vr_error *err)
{
	const struct profile *p = &vm->profile;
	cleanup_free char *sock = NULL, *cwd = NULL, *mark = NULL;
	cleanup_close int dirfd = -1, tpmfd = -1;
	struct strv argv = {0};
	const char *base;
	int lfd = -1, r;

	if (p->tpm.type != TPM_SWTPM)
		return 0;
	tpmfd = tpm_folder_open(p, &dirfd, &base, err);
	if (tpmfd < 0)
		return tpmfd;
	sock = hostfs_path(vm->plan.paths.swtpm_sock);
	unlink(sock);
	r = swtpm_args(vm, dirfd, base, &argv, &lfd, err);
	if (r) {
		strv_free(&argv);
		return r;
	}
	/* the child's chdir() goes through the fd it inherits: the very
	 * folder opened above, whatever its path names by then */
	cwd = xasprintf("/proc/self/fd/%d", tpmfd);
	mark = xasprintf("%s=%s", PROC_MARK, p->vm.name);
	char *env[] = {mark, NULL};
	struct spawn s = {.path = "swtpm",
			  .argv = argv.v,
			  .env = env,
			  .pass_fd = lfd,
			  .out_fd = -1,
			  .own_pgrp = true,
			  .die_with_parent = true,
			  .cwd = cwd};

	r = proc_spawn(&s, pid, err);
	strv_free(&argv);
	if (lfd >= 0)
		close(lfd);
	if (r)
		return vr_error_prefix(err, "[tpm] type = swtpm needs the "
					    "swtpm package");
	r = record(vm, "swtpm", *pid, err);
	if (!r)
		r = wait_for(sock, *pid, "swtpm", err);
	return r;
}

int runtime_start_qemu(struct vm *vm, int out_fd, int *qmp_fd, pid_t *pid,
		       struct vr_error *err)
{
	struct plan *plan = &vm->plan;
	cleanup_free char *path_form = qemu_argv_qmp_chardev(&plan->paths, -1);
	cleanup_free char *fd_form = qemu_argv_qmp_chardev(&plan->paths, 3);
	cleanup_free char *mark =
		xasprintf("%s=%s", PROC_MARK, vm->profile.vm.name);
	struct strv argv = {0}, env = {0};
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vr_error(err, errno, "socketpair for QMP");
	for (size_t i = 0; i < plan->argv.n; i++)
		strv_add(&argv, strcmp(plan->argv.v[i], path_form)
					? plan->argv.v[i]
					: fd_form);
	strv_add(&env, mark);
	for (size_t i = 0; i < plan->env.n; i++)
		strv_add(&env, plan->env.v[i]);
	struct spawn s = {.path = argv.v[0],
			  .argv = argv.v,
			  .env = env.v,
			  .pass_fd = sv[1],
			  .out_fd = out_fd,
			  .own_pgrp = true,
			  .die_with_parent = true,
			  .memlock = plan->memlock,
			  .memlock_optional = !vm->profile.vm.run_as,
			  .cgroup = plan->paths.cgroup};

	log_info("starting %s", argv.v[0]);
	r = proc_spawn(&s, pid, err);
	strv_free(&argv);
	strv_free(&env);
	close(sv[1]);
	if (r) {
		close(sv[0]);
		return r;
	}
	r = record(vm, "QEMU", *pid, err);
	if (r) {
		/* the plan's undo of the record stops QEMU */
		close(sv[0]);
		return r;
	}
	*qmp_fd = sv[0];
	return 0;
}

void runtime_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			  strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, len) < 0)
		log_debug("sd_notify: %s", strerror(errno));
	close(fd);
}
