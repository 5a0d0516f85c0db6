/* engine.c: applies a plan's ops journaled, undoes them in reverse, and
 * replays the journal a dead vmrun left; also the per-VM lock. */
#include "claim.h"
#include "console.h"
#include "cpuset.h"
#include "fileop.h"
#include "hostfs.h"
#include "hostio.h"
#include "hugepages.h"
#include "journal.h"
#include "lg.h"
#include "net.h"
#include "plan.h"
#include "process.h"
#include "runas.h"
#include "runtime.h"
#include "vfio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUN_DIR "/run/vmrun"

/* Every op type, for journal replay. Planners own their types; a new one
 * must be listed here or a journal naming it cannot be undone. */
static const struct op_type *const op_types[] = {
	&op_stop_unit,
	&op_vtconsole_unbind,
	&op_efifb_unbind,
	&op_pci_remove_rescan,
	&op_modprobe,
	&op_claim,
	&op_vfio_bind,
	&hugepages_op_reserve,
	&hugepages_op_mount,
	&hugepages_op_dir,
	&cpuset_op_slice,
	&cpuset_op_controller,
	&cpuset_op_cgroup,
	&cpuset_op_irq,
	&op_file,
	&op_shm_file,
	&op_kvmfr_check,
	&op_cleanup_path,
	&op_process,
	&op_tap,
	&op_chown,
};

/* Tests register their own fake types here. */
static const struct op_type *extra_types[8];

const struct op_type *op_type_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(op_types); i++)
		if (!strcmp(op_types[i]->name, name))
			return op_types[i];
	for (size_t i = 0; i < ARRAY_SIZE(extra_types); i++)
		if (extra_types[i] && !strcmp(extra_types[i]->name, name))
			return extra_types[i];
	return NULL;
}

int op_type_register(const struct op_type *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(extra_types); i++) {
		if (!extra_types[i] || extra_types[i] == type) {
			extra_types[i] = type;
			return 0;
		}
	}
	return -ENOSPC;
}

const char *op_arg(const struct op *op, const char *key)
{
	json_object *v;

	if (!op->args || !json_object_object_get_ex(op->args, key, &v))
		return "";
	return json_object_get_string(v);
}

const char *op_saved(const struct op *op, const char *key)
{
	json_object *v;

	if (!op->saved || !json_object_object_get_ex(op->saved, key, &v))
		return NULL;
	return json_object_get_string(v);
}

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
		op->state = OP_PENDING;
		return r;
	}
	r = op->type->apply(op, err);
	if (r)
		return r;
	op->state = OP_APPLIED;
	return plan_journal(plan, err);
}

int plan_apply(struct plan *plan, struct vr_error *err)
{
	struct vr_error uerr = {0};
	size_t i;
	int r;

	r = host_mkdir(RUN_DIR, 0700, err);
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
	if (plan_undo(plan, &uerr))
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

int plan_undo(struct plan *plan, struct vr_error *err)
{
	struct vr_error all = {0}, e;
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
			if (plan_journal(plan, &e))
				undo_error(&all, &nfail, op, &e);
		}
		fault_point("VMRUN_FAULT_AFTER_UNDO", ++step);
	}
	plan->applied = 0;
	if (!nfail) {
		r = journal_remove(plan->paths.journal, err);
		/* Leave /run as we found it once nothing of ours is left. */
		host_rmdir_empty(RUN_DIR "/claims");
		host_rmdir_empty(RUN_DIR);
		return r;
	}
	vr_errorx(err, EIO,
		  "could not undo %zu host change%s; the journal %s is kept: "
		  "fix the cause and run `vmrun restore %s`:\n%s",
		  nfail, nfail == 1 ? "" : "s", plan->paths.journal,
		  plan_name(plan), all.msg);
	return -err->code;
}

int plan_restore(const char *name, struct vr_error *err)
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
	plan.paths.journal = xasprintf(RUN_DIR "/%s.json", name);
	r = journal_read(plan.paths.journal, &plan.ops, &plan.nops, err);
	if (r == -ENOENT) {
		vr_error_clear(err);
		r = 0;
	} else if (!r) {
		r = plan_undo(&plan, err);
	}
	journal_ops_free(plan.ops, plan.nops);
	free(plan.paths.journal);
	return r;
}

/* The pid a lock file holds, for the message; 0 when unreadable. */
static long lock_owner(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Open and flock the lock file; 1 when it was unlinked under us (a
 * previous holder removed it as we opened it): try again. */
static int lock_try(const char *path, const char *name, int *fdp,
		    struct vr_error *err)
{
	struct stat a, b;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return vr_error(err, errno, "open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long pid = lock_owner(fd);

		close(fd);
		if (e != EWOULDBLOCK)
			return vr_error(err, e, "lock %s", path);
		if (pid > 0)
			return vr_errorx(err, EBUSY,
					 "VM '%s' is already being run by "
					 "vmrun (pid %ld)",
					 name, pid);
		return vr_errorx(err, EBUSY,
				 "VM '%s' is already being run by vmrun", name);
	}
	if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		close(fd);
		return 1;
	}
	*fdp = fd;
	return 0;
}

int plan_lock(const char *name, int *fdp, struct vr_error *err)
{
	cleanup_free char *abs = xasprintf(RUN_DIR "/%s.lock", name);
	cleanup_free char *path = hostfs_path(abs);
	char pid[32];
	int r, n;

	*fdp = -1;
	r = profile_name_check(name, err);
	/* Retried while another vmrun removes the file or its folder
	 * between our mkdir, open and flock. */
	for (int tries = 0; !r && tries < 100; tries++) {
		r = host_mkdir(RUN_DIR, 0700, err);
		if (!r)
			r = lock_try(path, name, fdp, err);
		if (r != 1)
			break;
		r = 0;
	}
	if (!r && *fdp < 0)
		r = vr_errorx(err, EAGAIN, "lock %s: it keeps changing", path);
	if (r)
		return r;
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(*fdp, 0) < 0 || pwrite(*fdp, pid, (size_t)n, 0) != n) {
		r = vr_error(err, errno, "write %s", path);
		close(*fdp);
		*fdp = -1;
	}
	return r;
}

void plan_unlock(const char *name, int fd)
{
	cleanup_free char *abs = xasprintf(RUN_DIR "/%s.lock", name);
	cleanup_free char *path = hostfs_path(abs);

	if (fd < 0)
		return;
	/* Unlink while still holding it: a vmrun that opened the old file
	 * sees the inode change in lock_try and retries. */
	unlink(path);
	close(fd);
	host_rmdir_empty(RUN_DIR);
}
