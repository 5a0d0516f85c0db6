/* lifecycle.c: the commands that take a VM through its life: run
 * (attached or detached), the dry runs, prepare and restore. */
#include "cmd/cmd.h"
#include "run/run.h"
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show_warnings(const struct vm *vm)
{
	for (size_t i = 0; i < vm->plan.warnings.n; i++)
		log_warn("%s", vm->plan.warnings.v[i]);
}

/* Point fd at the file (or /dev/null when f < 0). */
static void redirect(int fd, int f)
{
	int null = f < 0 ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1;

	if (f >= 0 || null >= 0)
		dup2(f >= 0 ? f : null, fd);
	if (null >= 0)
		close(null);
}

/* The detached child: a session of its own, output to the VM log, and the
 * outcome of the start sent up the pipe. The caller's stdin, stdout and
 * stderr are let go in every case, or `$(vmrun --detach x.ini)` and an
 * SSH session would wait for as long as the VM runs. */
static int run_detached_child(struct vm *vm, int ready_fd, struct vr_error *err)
{
	struct run_opts ro = {.ready_fd = ready_fd};
	int fd, code;

	setsid();
	redirect(STDIN_FILENO, -1);
	fd = runtime_log_open(vm, err);
	redirect(STDOUT_FILENO, fd);
	redirect(STDERR_FILENO, fd);
	if (fd < 0) {
		/* the parent reports it */
		if (write(ready_fd, err->msg, strlen(err->msg)) < 0)
			log_debug("ready pipe: %s", strerror(errno));
		close(ready_fd);
		return VM_EXIT_ERROR;
	}
	close(fd);
	log_set_timestamps(true);
	code = supervise_run(vm, &ro, err);
	if (code)
		log_error("%s", err->msg);
	if (ro.ready_fd >= 0) {
		/* the guest never ran: the parent still waits; tell it why */
		if (write(ro.ready_fd, err->msg, strlen(err->msg)) < 0)
			code = VM_EXIT_ERROR;
		close(ro.ready_fd);
	}
	return code;
}

static int run_detached(struct vm *vm, struct vr_error *err)
{
	char buf[VR_ERROR_MAX];
	int fds[2], code;
	ssize_t n, len = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		vr_error(err, errno, "pipe");
		return VM_EXIT_ERROR;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		vr_error(err, errno, "fork");
		close(fds[0]);
		close(fds[1]);
		return VM_EXIT_ERROR;
	}
	if (pid == 0) {
		close(fds[0]);
		code = run_detached_child(vm, fds[1], err);
		vm_free(vm);
		_exit(code);
	}
	close(fds[1]);
	while (len < 3 || strncmp(buf, "ok\n", 3)) {
		n = read(fds[0], buf + len, sizeof(buf) - 1 - (size_t)len);
		if (n <= 0)
			break;
		len += n;
		buf[len] = '\0';
	}
	close(fds[0]);
	buf[len] = '\0';
	if (!strncmp(buf, "ok\n", 3)) {
		printf("VM '%s' is running (vmrun pid %d); log: %s\n"
		       "stop it with: vmrun stop %s\n",
		       vm->profile.vm.name, (int)pid, vm->plan.paths.log,
		       vm->profile.vm.name);
		return 0;
	}
	/* an exit code, not the -errno vr_errorx returns */
	vr_errorx(err, VM_EXIT_ERROR, "%s",
		  len ? buf
		      : "the detached vmrun ended before the guest ran; "
			"see the VM log");
	return VM_EXIT_ERROR;
}

int cmd_run(const char *profile, const struct cmd_opts *o, struct vr_error *err)
{
	struct run_opts ro = {.ready_fd = -1,
			      .notify = getenv("NOTIFY_SOCKET") != NULL};
	struct vm vm;
	int code = vm_load(profile, &vm, err);

	if (code)
		return VM_EXIT_ERROR;
	show_warnings(&vm);
	if (o->detach)
		code = run_detached(&vm, err);
	else
		code = supervise_run(&vm, &ro, err);
	vm_free(&vm);
	return code;
}

int cmd_dry_run(const char *profile, const struct cmd_opts *o,
		struct vr_error *err)
{
	struct vm vm;

	(void)o;
	if (vm_load(profile, &vm, err))
		return VM_EXIT_ERROR;
	vm_print_dry_run(&vm, stdout);
	vm_free(&vm);
	return 0;
}

int cmd_print_argv(const char *profile, const struct cmd_opts *o,
		   struct vr_error *err)
{
	struct vm vm;

	(void)o;
	if (vm_load(profile, &vm, err))
		return VM_EXIT_ERROR;
	vm_print_argv(&vm, stdout);
	vm_free(&vm);
	return 0;
}

int cmd_prepare(const char *profile, const struct cmd_opts *o,
		struct vr_error *err)
{
	struct vm vm;
	int r;

	(void)o;
	if (vm_load(profile, &vm, err))
		return VM_EXIT_ERROR;
	show_warnings(&vm);
	r = vm_prepare(&vm, err);
	if (!r)
		printf("host prepared for '%s'; undo with: vmrun restore %s\n",
		       vm.profile.vm.name, vm.profile.vm.name);
	vm_free(&vm);
	return r ? VM_EXIT_ERROR : 0;
}

int cmd_restore(const char *name, const struct cmd_opts *o,
		struct vr_error *err)
{
	int lock = -1;

	(void)o;
	if (lock_take(name, &lock, err))
		return VM_EXIT_ERROR;
	if (engine_restore(name, err)) {
		lock_release(name, lock);
		return VM_EXIT_RESTORE;
	}
	lock_release(name, lock);
	return 0;
}
