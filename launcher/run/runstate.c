/* runstate.c: a guest that stops without powering off. QEMU says STOP;
 * its run state (query-status) says why: an internal error or a panic
 * ends the run, an I/O error keeps the guest paused until the user frees
 * space and continues it, or stops it. swtpm gone is watched here too. */
#include "run/run.h"
#include "base/base.h"
#include "qemu/qemu.h"
#include "run/supervisor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool json_true(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

void runstate_on_block_io_error(struct sup *s, json_object *data)
{
	const char *dev = json_str(data, "qom-path");
	const char *op = json_str(data, "operation");
	const char *action = json_str(data, "action");
	const char *reason = json_str(data, "reason");
	long d = qemu_disk_of_node(s->p, json_str(data, "node-name"),
				   dev ? dev : json_str(data, "device"));
	cleanup_free char *disk = NULL;

	if (d >= 0)
		disk = xasprintf("[disk.%s] (%s)", s->p->disk[d].name,
				 s->p->disk[d].file);
	else
		disk = xasprintf("a disk (QEMU node %s)",
				 json_str(data, "node-name")
					 ? json_str(data, "node-name")
					 : "?");
	snprintf(s->io_error, sizeof(s->io_error), "QEMU could not %s %s: %s",
		 op && !strcmp(op, "read") ? "read from" : "write to", disk,
		 json_true(data, "nospace")
			 ? "no space left on the host file system"
			 : (reason ? reason : "I/O error"));
	/* "report" and "ignore" hand the error to the guest; only "stop"
	 * pauses it, and STOP follows */
	if (!action || strcmp(action, "stop"))
		log_warn("%s (the guest sees the error)", s->io_error);
}

void runstate_on_stop(struct sup *s)
{
	struct vr_error e = {0};

	if (s->stage != ST_RUNNING)
		return;
	s->state = "paused";
	if (!s->qmp || s->query_pending)
		return;
	if (qmp_send(s->qmp, "query-status", NULL, GRACE_MS, &s->query_id,
		     &e)) {
		log_debug("query-status not sent: %s", e.msg);
		return;
	}
	s->query_pending = true;
}

void runstate_on_resume(struct sup *s)
{
	if (s->paused_by_error)
		log_info("the guest runs again");
	s->paused_by_error = false;
	s->problem[0] = '\0';
	s->io_error[0] = '\0';
	if (s->stage == ST_RUNNING)
		s->state = "running";
}

/* systemd's status line, and the desktop of the users concerned. */
static void notify(struct sup *s, const char *summary, const char *state)
{
	cleanup_free char *msg = NULL;

	notifier_send(&s->notes, s->p->vm.run_as, summary, state);
	if (!s->opts || !s->opts->notify)
		return;
	msg = xasprintf("STATUS=%s", state);
	runtime_notify(msg);
}

static void paused_by_io_error(struct sup *s)
{
	const char *name = s->p->vm.name;
	cleanup_free char *summary = xasprintf("VM %s is paused", name);

	s->paused_by_error = true;
	s->state = "paused (I/O error)";
	snprintf(s->problem, sizeof(s->problem),
		 "%s; the guest is paused so that nothing is lost: free "
		 "space, then continue it with `vmrun cont %s`, or stop it "
		 "with `vmrun stop %s`",
		 s->io_error[0] ? s->io_error : "QEMU reported an I/O error",
		 name, name);
	log_error("%s", s->problem);
	notify(s, summary, s->problem);
}

static void end_run(struct sup *s)
{
	if (s->stage < ST_QUIT)
		ladder_enter(s, ST_QUIT);
}

/* What QEMU's run state after a STOP means. */
static void runstate_act(struct sup *s, const char *st)
{
	if (!strcmp(st, "internal-error")) {
		s->internal_error = true;
		log_error("QEMU stopped the guest on an internal error (run "
			  "state internal-error; QEMU's message is in the VM "
			  "log %s): it cannot go on",
			  s->vm->plan.paths.log);
		end_run(s);
	} else if (!strcmp(st, "guest-panicked")) {
		if (!s->panicked)
			log_error("the guest panicked");
		s->panicked = true;
		end_run(s);
	} else if (!strcmp(st, "io-error")) {
		paused_by_io_error(s);
	} else if (strcmp(st, "running") && strcmp(st, "shutdown")) {
		log_info("the guest was paused (QEMU run state %s)", st);
	}
}

void runstate_poll(struct sup *s)
{
	struct vr_error e = {0};
	json_object *ret = NULL;
	const char *st;
	int r;

	if (!s->query_pending || !s->qmp)
		return;
	r = qmp_take_reply(s->qmp, s->query_id, &ret, &e);
	if (r == -EAGAIN)
		return;
	s->query_pending = false;
	st = r ? NULL : json_str(ret, "status");
	if (st && s->stage == ST_RUNNING)
		runstate_act(s, st);
	else if (!st)
		log_debug("query-status after STOP: %s",
			  r ? e.msg : "no status in the reply");
	json_object_put(ret);
}

void runstate_swtpm_gone(struct sup *s, pid_t pid, int status)
{
	if (s->stage != ST_RUNNING || s->qemu_gone)
		return;
	s->swtpm_ended = pid;
	s->swtpm_status = status;
	s->swtpm_judge = now_ms() + SWTPM_GRACE_MS;
}

void runstate_swtpm_check(struct sup *s)
{
	int status = s->swtpm_status;
	cleanup_free char *how = NULL;

	if (!s->swtpm_judge || now_ms() < s->swtpm_judge)
		return;
	s->swtpm_judge = 0;
	if (s->stage != ST_RUNNING || s->qemu_gone || !s->qmp)
		return; /* QEMU went first: its end is the story */
	how = WIFSIGNALED(status)
		      ? xasprintf("was killed by signal %d (%s)",
				  WTERMSIG(status), strsignal(WTERMSIG(status)))
		      : xasprintf("exited with status %d", WEXITSTATUS(status));
	log_error("swtpm (pid %d) %s while the guest ran: the guest's TPM is "
		  "gone; powering the guest off",
		  (int)s->swtpm_ended, how);
	s->swtpm_died = true;
	ladder_stop(s, false);
}
