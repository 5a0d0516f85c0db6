/* child.c: the "process" op: a child vmrun started (QEMU, swtpm) is
 * recorded in the plan, so undo, or a later restore, makes sure it is gone
 * before the host is given back. The pid is checked with its start time,
 * and the process with the mark vmrun puts in its environment (host.h,
 * PROC_MARK): a journal can name no other process. */
#include "engine/engine.h"
#include "host/host.h"
#include "ops/ops.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>

void child_plan_record(struct plan *plan, const char *what, pid_t pid,
		       int grace_ms)
{
	json_object *args = json_object_new_object();
	unsigned long long st = 0;

	proc_starttime(pid, &st);
	json_object_object_add(args, "what", json_object_new_string(what));
	json_object_object_add(
		args, "vm",
		json_object_new_string(plan->profile ? plan->profile->vm.name
						     : ""));
	json_object_object_add(args, "pid", json_object_new_int(pid));
	json_object_object_add(args, "starttime", json_object_new_uint64(st));
	json_object_object_add(args, "grace-ms", json_object_new_int(grace_ms));
	plan_add(plan, &child_op, args, "stop %s (pid %d) if it still runs",
		 what, (int)pid);
}

static bool same_process(pid_t pid, unsigned long long want)
{
	unsigned long long st;

	return proc_starttime(pid, &st) == 0 && st == want;
}

/* Wait until pid is gone (reaped by us, or exited if not our child). */
static bool wait_gone(pid_t pid, unsigned long long st, int ms)
{
	struct timespec step = {0, 10 * 1000 * 1000};

	for (int waited = 0; waited <= ms; waited += 10) {
		waitpid(pid, NULL, WNOHANG);
		if (!same_process(pid, st))
			return true;
		nanosleep(&step, NULL);
	}
	return false;
}

static bool marked(const struct op *op, pid_t pid)
{
	cleanup_free char *mark =
		xasprintf("%s=%s", PROC_MARK, op_arg(op, "vm"));

	return proc_has_env(pid, mark);
}

static int child_undo(struct op *op, struct vr_error *err)
{
	json_object *v;
	pid_t pid;
	unsigned long long st;
	int grace;
	const char *what;

	if (!json_object_object_get_ex(op->args, "pid", &v))
		return vr_errorx(err, EINVAL, "journal: process without pid");
	pid = json_object_get_int(v);
	json_object_object_get_ex(op->args, "starttime", &v);
	st = json_object_get_uint64(v);
	json_object_object_get_ex(op->args, "grace-ms", &v);
	grace = json_object_get_int(v);
	json_object_object_get_ex(op->args, "what", &v);
	what = json_object_get_string(v);
	waitpid(pid, NULL, WNOHANG); /* ours and exited: reaped */
	if (!same_process(pid, st))
		return 0;
	if (!marked(op, pid)) {
		log_warn("pid %d is not a process vmrun started for VM '%s' "
			 "(no %s=%s in its environment): left alone",
			 (int)pid, op_arg(op, "vm"), PROC_MARK,
			 op_arg(op, "vm"));
		return 0;
	}
	kill(pid, SIGTERM);
	if (wait_gone(pid, st, grace))
		return 0;
	kill(pid, SIGKILL);
	if (wait_gone(pid, st, 5000))
		return 0;
	return vr_errorx(err, EBUSY,
			 "%s (pid %d) does not exit even after "
			 "SIGKILL",
			 what, (int)pid);
}

/* A program vmrun starts, named by pid and the start time recorded with
 * it (undo signals it only while both still match). */
static int child_check(const struct op *op, const char *vm,
		       struct vr_error *err)
{
	const char *what = op_arg_string(op, "what");
	long long pid, st, grace;

	if (op_check_vm(op, vm, err))
		return -EPERM;
	if (!what || (strcmp(what, "QEMU") && strcmp(what, "swtpm")))
		return op_refuse(op, err, "stops '%s', not QEMU or swtpm",
				 op_arg(op, "what"));
	if (!op_arg_int(op, "pid", &pid) || pid <= 1 || pid > INT32_MAX ||
	    pid == (long long)getpid() || pid == (long long)getppid())
		return op_refuse(op, err, "names pid '%s'", op_arg(op, "pid"));
	if (!op_arg_int(op, "starttime", &st) || st <= 0)
		return op_refuse(op, err,
				 "has no start time for pid %lld (a pid alone "
				 "may name any process by now)",
				 pid);
	if (!op_arg_int(op, "grace-ms", &grace) || grace < 0 || grace > 600000)
		return op_refuse(op, err, "has grace-ms '%s'",
				 op_arg(op, "grace-ms"));
	return 0;
}

const struct op_type child_op = {
	.name = "process",
	.save = op_nothing,
	.apply = op_nothing,
	.undo = child_undo,
	.check = child_check,
	.made_before = true,
};
OP_TYPE_REGISTER(child_op);
