/* engine.c: applies a plan's ops journaled, undoes them in reverse, and
 * replays the journal a dead vmrun left. */
#include "host/host.h"
#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *plan_name(const struct plan *plan)
{
	return plan->profile ? plan->profile->vm.name : "";
}

/* Test hook: die like a crashed vmrun at a chosen step. */
static void fault_point(const char *env, size_t step)
{
	const char *v = getenv(env);

	if (v && *v && strtoul(v, NULL, 10) == step)
		raise(SIGKILL);
}

static int plan_journal(struct plan *plan, struct vr_error *err)
{
	return journal_write(plan->paths.journal, plan_name(plan), plan->ops,
			     plan->nops, err);
}

/* save, journal, apply, journal: the op is on disk before it changes
 * anything, and marked applied only once it has. */
static int op_run(struct plan *plan, struct op *op, struct vr_error *err)
{
	int r;

	json_object_put(op->saved);
	op->saved = NULL;
	r = op->type->save(op, err);
	if (r)
		return r;
	op->state = OP_APPLYING;
	r = plan_journal(plan, err);
	if (r) {
		/* nothing changed, unless the change came first (a started
		 * process): then the undo must still see it */
		op->state = op->type->made_before ? OP_APPLIED : OP_PENDING;
		return r;
	}
	r = op->type->apply(op, err);
	if (r)
		return r;
	op->state = OP_APPLIED;
	return plan_journal(plan, err);
}

int engine_apply(struct plan *plan, struct vr_error *err)
{
	struct vr_error uerr = {0};
	size_t i;
	int r;

	r = host_mkdir(paths_run_dir(), 0700, err);
	if (r)
		return r;
	/* From plan->applied: the supervisor appends ops for the processes
	 * it starts and applies them with a second call. */
	for (i = plan->applied; i < plan->nops; i++) {
		r = op_run(plan, &plan->ops[i], err);
		if (r)
			break;
		plan->applied = i + 1;
		fault_point("VMRUN_FAULT_AFTER_OP", i + 1);
	}
	if (!r)
		return 0;
	vr_error_prefix(err, "%s", plan->ops[i].desc);
	if (engine_undo(plan, &uerr))
		vr_error_append(err,
				"undoing the changes made so far also "
				"failed: %s",
				uerr.msg);
	else
		vr_error_append(err, "the host was put back as it was");
	return -err->code;
}

static void undo_error(struct vr_error *all, size_t *nfail, const struct op *op,
		       const struct vr_error *e)
{
	vr_error_append(all, "  %s: %s", op->desc, e->msg);
	(*nfail)++;
}

int engine_undo(struct plan *plan, struct vr_error *err)
{
	struct vr_error all = {0}, jerr = {0}, e;
	size_t nfail = 0, step = 0;
	int r;

	for (size_t i = plan->nops; i-- > 0;) {
		struct op *op = &plan->ops[i];

		if (op->state != OP_APPLYING && op->state != OP_APPLIED)
			continue;
		vr_error_clear(&e);
		if (op->type->undo(op, &e)) {
			undo_error(&all, &nfail, op, &e);
		} else {
			op->state = OP_UNDONE;
			/* undone all the same: a stale entry is undone again,
			 * harmlessly, by a restore */
			if (plan_journal(plan, &e) && !jerr.code)
				jerr = e;
		}
		fault_point("VMRUN_FAULT_AFTER_UNDO", ++step);
	}
	plan->applied = 0;
	if (!nfail) {
		if (jerr.code)
			log_warn("%s; every change was undone all the same",
				 jerr.msg);
		r = journal_remove(plan->paths.journal, err);
		/* Leave /run as we found it once nothing of ours is left. */
		host_rmdir_empty(paths_claims_dir());
		host_rmdir_empty(paths_run_dir());
		return r;
	}
	vr_errorx(err, EIO,
		  "could not undo %zu host change%s; the journal %s is kept: "
		  "fix the cause and run `vmrun restore %s`:\n%s",
		  nfail, nfail == 1 ? "" : "s", plan->paths.journal,
		  plan_name(plan), all.msg);
	if (jerr.code)
		vr_error_append(
			err,
			"the journal could not be updated either "
			"(%s): it still lists changes that were undone, "
			"which a restore undoes again harmlessly",
			jerr.msg);
	return -err->code;
}

int engine_restore(const char *name, struct vr_error *err)
{
	struct profile prof;
	struct plan plan;
	int r;

	r = profile_name_check(name, err);
	if (r)
		return r;
	memset(&prof, 0, sizeof(prof));
	memset(&plan, 0, sizeof(plan));
	snprintf(prof.vm.name, sizeof(prof.vm.name), "%s", name);
	plan.profile = &prof;
	plan.paths.journal = paths_run_file(name, ".json");
	r = journal_read(plan.paths.journal, &plan.ops, &plan.nops, err);
	if (r == -ENOENT) {
		vr_error_clear(err);
		r = 0;
	} else if (!r) {
		r = engine_undo(&plan, err);
	}
	journal_ops_free(plan.ops, plan.nops);
	free(plan.paths.journal);
	return r;
}
