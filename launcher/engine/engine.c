/* engine.c: applies a plan's ops journaled, undoes them in reverse, and
 * replays the journal a dead vmrun left. */
#include "host/host.h"
#include "engine/engine.h"

#include <dirent.h>
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

/* ---- shared changes (share.c) ---- */

static json_object *copy_json(json_object *o)
{
	json_object *c = NULL;

	if (o && json_object_deep_copy(o, &c, NULL) < 0)
		c = NULL;
	return c ? c : json_object_new_object();
}

/* Another VM holds the change: take the original as ours, join, and
 * make the change fit every holder. */
static int op_join(struct plan *plan, struct op *op, const char *key,
		   json_object *rec, struct vr_error *err)
{
	json_object *holders = share_holders(rec);
	int r;

	json_object_put(op->saved);
	op->saved = copy_json(share_original(rec));
	json_object_object_add(op->saved, "shared-joined",
			       json_object_new_boolean(true));
	op->state = OP_APPLYING;
	r = plan_journal(plan, err);
	if (r) {
		op->state = OP_PENDING;
		return r;
	}
	json_object_object_add(holders, plan_name(plan),
			       json_object_get(op->args));
	r = share_store(key, rec, err);
	if (!r && op->type->share_refresh)
		r = op->type->share_refresh(op, holders, err);
	if (r)
		return r;
	op->state = OP_APPLIED;
	return plan_journal(plan, err);
}

/* No VM holds it: save and apply as a change of our own, then start the
 * record with us as its one holder. */
static int op_first(struct plan *plan, struct op *op, const char *key,
		    struct vr_error *err)
{
	json_object *rec;
	int r = op_run(plan, op, err);

	if (r)
		return r;
	rec = share_new(op->saved);
	json_object_object_add(share_holders(rec), plan_name(plan),
			       json_object_get(op->args));
	r = share_store(key, rec, err);
	json_object_put(rec);
	return r;
}

static int op_apply(struct plan *plan, struct op *op, struct vr_error *err)
{
	cleanup_free char *key = NULL;
	json_object *rec = NULL;
	int lock, r;

	if (!op->type->share_key || !(key = op->type->share_key(op)))
		return op_run(plan, op, err);
	r = lock_host_take(&lock, err);
	if (r)
		return r;
	r = share_load(key, plan_name(plan), &rec, err);
	if (!r)
		r = rec ? op_join(plan, op, key, rec, err)
			: op_first(plan, op, key, err);
	json_object_put(rec);
	lock_host_release(lock);
	return r;
}

/* Leave a shared change: refresh it for the holders that stay, or undo
 * it as the last one (with the original from the record). */
static int op_leave(struct plan *plan, struct op *op, const char *key,
		    json_object *rec, struct vr_error *err)
{
	json_object *holders = share_holders(rec), *mine = op->saved;
	int r = 0;

	if (!json_object_object_get_ex(holders, plan_name(plan), NULL))
		return 0; /* not ours to undo: another VM's record */
	/* the original, for the undo or the refresh; ours back after */
	op->saved = copy_json(share_original(rec));
	if (json_object_object_length(holders) > 1) {
		json_object_object_del(holders, plan_name(plan));
		if (op->type->share_refresh)
			r = op->type->share_refresh(op, holders, err);
	} else {
		r = op->type->undo(op, err);
		if (!r)
			json_object_object_del(holders, plan_name(plan));
	}
	json_object_put(op->saved);
	op->saved = mine;
	return r ? r : share_store(key, rec, err);
}

static int op_undo(struct plan *plan, struct op *op, struct vr_error *err)
{
	cleanup_free char *key = NULL;
	json_object *rec = NULL, *v;
	int lock, r;

	if (!op->type->share_key || !(key = op->type->share_key(op)))
		return op->type->undo(op, err);
	r = lock_host_take(&lock, err);
	if (r)
		return r;
	r = share_load(key, plan_name(plan), &rec, err);
	if (!r && rec)
		r = op_leave(plan, op, key, rec, err);
	/* no record: ours alone (a journal of an earlier version, or a
	 * start cut short before the record), unless we had joined */
	else if (!r && !(op->saved && json_object_object_get_ex(
					      op->saved, "shared-joined", &v)))
		r = op->type->undo(op, err);
	json_object_put(rec);
	lock_host_release(lock);
	return r;
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
		r = op_apply(plan, &plan->ops[i], err);
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
		       const char *why)
{
	vr_error_append(all, "  %s: %s", op->desc, why);
	(*nfail)++;
}

/* A journal entry restore does not undo: unreadable, or refused by its
 * type's check. */
static bool refused(const struct plan *plan, const struct op *op,
		    struct vr_error *e)
{
	if (!op->type) {
		vr_errorx(e, EINVAL, "%s", op->bad);
		return true;
	}
	return plan->restoring && op->type->check &&
	       op->type->check(op, plan_name(plan), e) != 0;
}

static int undo_report(const struct plan *plan, size_t nfail, size_t nref,
		       const struct vr_error *all, const struct vr_error *ref,
		       struct vr_error *err)
{
	bool one = nref == 1;

	if (!nref)
		vr_errorx(err, EIO,
			  "could not undo %zu host change%s; the journal %s is "
			  "kept: fix the cause and run `vmrun restore %s`:\n%s",
			  nfail, nfail == 1 ? "" : "s", plan->paths.journal,
			  plan_name(plan), all->msg);
	else
		vr_errorx(err, EPERM,
			  "refused %zu journal entr%s that name%s what vmrun "
			  "never changes; everything else was undone%s. The "
			  "journal %s is kept: undo by hand what the refused "
			  "entr%s name%s, if anything, then remove it:\n%s%s%s",
			  nref, one ? "y" : "ies", one ? "s" : "",
			  nfail ? ", except what failed (below)" : "",
			  plan->paths.journal, one ? "y" : "ies",
			  one ? "s" : "", ref->msg, nfail ? "\nfailed:\n" : "",
			  nfail ? all->msg : "");
	return -err->code;
}

int engine_undo(struct plan *plan, struct vr_error *err)
{
	struct vr_error all = {0}, ref = {0}, jerr = {0}, e;
	size_t nfail = 0, nref = 0, step = 0;
	int r;

	for (size_t i = plan->nops; i-- > 0;) {
		struct op *op = &plan->ops[i];

		if (op->state != OP_APPLYING && op->state != OP_APPLIED)
			continue;
		vr_error_clear(&e);
		if (refused(plan, op, &e)) {
			undo_error(&ref, &nref, op, e.msg);
			continue;
		}
		if (op_undo(plan, op, &e)) {
			undo_error(&all, &nfail, op, e.msg);
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
	if (nfail || nref) {
		r = undo_report(plan, nfail, nref, &all, &ref, err);
		if (jerr.code)
			vr_error_append(
				err,
				"the journal could not be updated either "
				"(%s): it still lists changes that were "
				"undone, which a restore undoes again "
				"harmlessly",
				jerr.msg);
		return r;
	}
	if (jerr.code)
		log_warn("%s; every change was undone all the same", jerr.msg);
	r = journal_remove(plan->paths.journal, err);
	/* Leave /run as we found it once nothing of ours is left. */
	host_rmdir_empty(paths_claims_dir());
	host_rmdir_empty(paths_shared_dir());
	host_rmdir_empty(paths_run_dir());
	return r;
}

/* A vmrun killed while it replaced its journal leaves NAME.json.tmp.PID
 * behind (host_write_file). The caller holds NAME's lock: no vmrun of
 * NAME is writing one now. */
static void journal_tmp_clean(const char *name)
{
	cleanup_free char *dir = hostfs_path(paths_run_dir());
	cleanup_free char *prefix = xasprintf("%s.json.tmp.", name);
	size_t n = strlen(prefix);
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		cleanup_free char *abs = NULL;
		struct vr_error ignored;

		if (strncmp(de->d_name, prefix, n) || !de->d_name[n] ||
		    strspn(de->d_name + n, "0123456789") !=
			    strlen(de->d_name + n))
			continue;
		abs = xasprintf("%s/%s", paths_run_dir(), de->d_name);
		host_remove(abs, &ignored);
	}
	if (d)
		closedir(d);
}

int engine_restore(const char *name, struct vr_error *err)
{
	struct profile prof;
	struct plan plan;
	int r;

	r = profile_name_check(name, err);
	if (r)
		return r;
	journal_tmp_clean(name);
	memset(&prof, 0, sizeof(prof));
	memset(&plan, 0, sizeof(plan));
	snprintf(prof.vm.name, sizeof(prof.vm.name), "%s", name);
	plan.profile = &prof;
	plan.restoring = true;
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
