/* child.c: the "process" op: a child vmrun started (QEMU, swtpm) is
 * recorded in the plan, so undo, or a later restore, makes sure it is gone
 * before the host is given back. The pid is checked with its start time. */
#include "engine/engine.h"
#include "host/host.h"
#include "ops/ops.h"

#include <errno.h>
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
	if (!same_process(pid, st))
		return 0;
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

const struct op_type child_op = {
	.name = "process",
	.save = op_nothing,
	.apply = op_nothing,
	.undo = child_undo,
	.made_before = true,
};
OP_TYPE_REGISTER(child_op);
