/* commands.c: what each vmrun subcommand does, on top of the modules:
 * run (attached or detached), status and stop through the control socket,
 * the dry runs, prepare and restore. */
#include "commands.h"
#include "control.h"
#include "hostfs.h"
#include "log.h"
#include "supervise.h"
#include "vm.h"

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

/* The detached child: a session of its own, output to the VM log, and the
 * outcome of the start sent up the pipe. */
static int run_detached_child(struct vm *vm, int ready_fd, struct vr_error *err)
{
	struct run_opts ro = {.ready_fd = ready_fd};
	cleanup_free char *log = hostfs_path(vm->plan.paths.log);
	int fd, code;

	setsid();
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	log_set_timestamps(true);
	code = vm_run(vm, &ro, err);
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
		code = vm_run(&vm, &ro, err);
	vm_free(&vm);
	return code;
}

int cmd_dry_run(const char *profile, struct vr_error *err)
{
	struct vm vm;

	if (vm_load(profile, &vm, err))
		return VM_EXIT_ERROR;
	vm_print_dry_run(&vm, stdout);
	vm_free(&vm);
	return 0;
}

int cmd_print_argv(const char *profile, struct vr_error *err)
{
	struct vm vm;

	if (vm_load(profile, &vm, err))
		return VM_EXIT_ERROR;
	vm_print_argv(&vm, stdout);
	vm_free(&vm);
	return 0;
}

int cmd_prepare(const char *profile, struct vr_error *err)
{
	struct vm vm;
	int r;

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

int cmd_restore(const char *name, struct vr_error *err)
{
	int lock = -1;

	if (plan_lock(name, &lock, err))
		return VM_EXIT_ERROR;
	if (plan_restore(name, err)) {
		plan_unlock(name, lock);
		return VM_EXIT_RESTORE;
	}
	plan_unlock(name, lock);
	return 0;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
						     : "";
}

static long long num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v)
						     : 0;
}

static void print_status(json_object *st)
{
	long long up = num(st, "uptime");
	json_object *devs;

	printf("%s: %s, up %lldh%02lldm%02llds, vmrun pid %lld, QEMU pid "
	       "%lld\n",
	       str(st, "name"), str(st, "state"), up / 3600, up / 60 % 60,
	       up % 60, num(st, "pid"), num(st, "qemu-pid"));
	printf("  %lld vCPUs", num(st, "vcpus"));
	if (*str(st, "vcpu-pin"))
		printf(" on CPUs %s", str(st, "vcpu-pin"));
	if (*str(st, "emulator-pin"))
		printf(", emulator threads on %s", str(st, "emulator-pin"));
	printf(", %lld MiB\n", num(st, "memory") / (1024 * 1024));
	if (json_object_object_get_ex(st, "devices", &devs) &&
	    json_object_array_length(devs)) {
		printf("  devices:");
		for (size_t i = 0; i < json_object_array_length(devs); i++)
			printf(" %s",
			       json_object_get_string(
				       json_object_array_get_idx(devs, i)));
		printf("\n");
	}
}

static int status_one(const char *name, struct vr_error *err)
{
	json_object *req = json_object_new_object(), *reply = NULL;
	int r;

	json_object_object_add(req, "command",
			       json_object_new_string("status"));
	r = control_call(name, req, &reply, NULL, err);
	json_object_put(req);
	if (r)
		return VM_EXIT_ERROR;
	print_status(reply);
	json_object_put(reply);
	return 0;
}

int cmd_status(const char *name, struct vr_error *err)
{
	struct strv names = {0};
	int code = 0;

	if (name)
		return status_one(name, err);
	control_list(&names);
	if (!names.n)
		printf("no VM is running under vmrun\n");
	for (size_t i = 0; i < names.n; i++) {
		struct vr_error e = {0};

		if (status_one(names.v[i], &e))
			printf("%s: %s\n", names.v[i], e.msg);
	}
	strv_free(&names);
	return code;
}

int cmd_stop(const char *name, const struct cmd_opts *o, struct vr_error *err)
{
	json_object *req = json_object_new_object(), *reply = NULL, *ev;
	int fd = -1, r, code;

	json_object_object_add(req, "command", json_object_new_string("stop"));
	json_object_object_add(req, "force", json_object_new_boolean(o->force));
	r = control_call(name, req, &reply, &fd, err);
	json_object_put(req);
	if (r)
		return VM_EXIT_ERROR;
	json_object_put(reply);
	printf("stopping '%s'%s...\n", name, o->force ? " (forced)" : "");
	fflush(stdout);
	/* The supervisor answers once more when QEMU is gone and the host
	 * given back, then closes the connection. */
	ev = control_read(fd);
	close(fd);
	if (!ev) {
		vr_errorx(err, EPROTO,
			  "the vmrun of '%s' went away without saying how the "
			  "VM ended; check `vmrun restore %s`",
			  name, name);
		return VM_EXIT_ERROR;
	}
	code = (int)num(ev, "code");
	printf("%s: %s\n", name, str(ev, "message"));
	json_object_put(ev);
	if (code == VM_EXIT_RESTORE) {
		vr_errorx(err, code, "the host was not fully restored");
		return VM_EXIT_RESTORE;
	}
	return 0;
}
