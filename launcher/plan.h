/* plan.h: host changes as data. A pure planner turns profile + host view
 * into a list of operations and the QEMU argv; one small engine applies
 * them journaled and undoes them in reverse. No sysfs write elsewhere. */

/* API changes (H5a, engine): added enum op_state and op->state (kept by
 * the engine, planners leave it 0), plan_lock()/plan_unlock(),
 * op_type_register() (tests), op_arg()/op_saved() accessors, and the
 * rules of the journal below. Everything that existed is unchanged.
 * Op types are registered in the table in engine.c (op_type_find); the
 * host is written only through host_write() (hostio.h).
 * (H5b) vm_paths.cgroup: QEMU's own cgroup, set by cpuset_plan() with
 * [cpu] isolate; the supervisor moves QEMU's pid into its cgroup.procs. */
#ifndef VMRUN_PLAN_H
#define VMRUN_PLAN_H

#include <json-c/json.h>
#include <stdbool.h>

#include "error.h"
#include "host.h"
#include "profile.h"
#include "util.h"

/* Host paths of one VM, unrooted ("/run/vmrun/x.qmp"); hostfs_path()
 * gives the real file. */
struct vm_paths {
	char *run_dir;	    /* /run/vmrun */
	char *journal;	    /* /run/vmrun/NAME.json */
	char *lock;	    /* /run/vmrun/NAME.lock */
	char *qmp;	    /* /run/vmrun/NAME.qmp: vmrun's own monitor */
	char *ctl;	    /* /run/vmrun/NAME.sock: control socket */
	char *battery;	    /* /run/vmrun/NAME-battery.aml (fake-battery) */
	char *swtpm_sock;   /* /run/vmrun/NAME-swtpm.sock */
	char *hugepage_dir; /* per-VM hugetlbfs folder, NULL without */
	char *cgroup;	    /* QEMU's cgroup (cpuset.c), NULL without */
	char *state_dir;    /* profile's state-dir */
	char *vars;	    /* OVMF vars copy */
	char *tpm_state;    /* swtpm state folder */
	char *log;	    /* STATE_DIR/NAME.log */
};

struct op;

/* One kind of host change (an ops table, as in crun). */
struct op_type {
	const char *name; /* journal key, e.g. "vfio-bind" */
	/* Read what apply will change into op->saved. Changes nothing. */
	int (*save)(struct op *op, struct vr_error *err);
	/* Make the change and verify it. */
	int (*apply)(struct op *op, struct vr_error *err);
	/* Put op->saved back. Idempotent: safe twice, and safe on an op
	 * whose apply was cut short. */
	int (*undo)(struct op *op, struct vr_error *err);
};

/* Where an op stands; written to the journal with it. */
enum op_state {
	OP_PENDING,  /* not reached yet (not in the journal) */
	OP_APPLYING, /* saved and journaled; apply may have run part-way */
	OP_APPLIED,
	OP_UNDONE,
};

struct op {
	const struct op_type *type;
	char *desc;	     /* one readable line for --dry-run and logs */
	json_object *args;   /* what to do (pure, from the planner) */
	json_object *saved;  /* what was there (from save), NULL before */
	enum op_state state; /* kept by the engine */
};

struct plan {
	const struct profile *profile;
	struct vm_paths paths;
	struct op *ops;
	size_t nops;
	struct strv argv;     /* the full QEMU command line */
	struct strv warnings; /* shown before start, e.g. boot GPU */
	uint64_t memlock;     /* RLIMIT_MEMLOCK for QEMU, 0 = unchanged */
	size_t applied;	      /* ops applied so far */
};

/* Pure: no host change. Reads only through the host view. */
int plan_build(const struct profile *p, const struct host *h, struct plan *plan,
	       struct vr_error *err);
void plan_free(struct plan *plan);

/* Append an op (takes ownership of args). */
void plan_add(struct plan *plan, const struct op_type *type, json_object *args,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void plan_warn(struct plan *plan, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Apply every op, journaled at paths.journal: for each op, save() reads
 * the current value, the journal (with the op marked "applying") is synced
 * to disk, then apply() runs, then the op is marked "applied". On failure
 * every op reached (the failed one included) is undone in reverse and the
 * journal removed before the error returns.
 * Test hook: VMRUN_FAULT_AFTER_OP=k raises SIGKILL right after op k
 * (1-based) is applied and journaled. */
int plan_apply(struct plan *plan, struct vr_error *err);
/* Undo the applied ops in reverse, marking each "undone" in the journal as
 * it goes (an interrupted undo resumes where it stopped). Undo errors do
 * not stop the walk; they are reported together at the end and the
 * journal is then kept for `vmrun restore`. The journal is removed when
 * everything is undone. Test hook: VMRUN_FAULT_AFTER_UNDO=k raises SIGKILL
 * after the k-th undo step. */
int plan_undo(struct plan *plan, struct vr_error *err);

/* Undo what a dead vmrun left in /run/vmrun/NAME.json (every op not yet
 * "undone", "applying" ones included). 0 also when there is nothing to
 * undo. Callers hold plan_lock(NAME); starting a VM whose journal exists
 * must call this first (vm_prepare does). */
int plan_restore(const char *name, struct vr_error *err);

/* Take /run/vmrun/NAME.lock (flock, non-blocking) for the life of this
 * vmrun and write our pid in it. Fails with "VM 'NAME' is already being
 * run by vmrun (pid N)" when another vmrun holds it. *fd is the lock. */
int plan_lock(const char *name, int *fd, struct vr_error *err);
/* Release it and remove the lock file. */
void plan_unlock(const char *name, int fd);

/* String members of op->args / op->saved: op_arg gives "" when absent,
 * op_saved NULL (save never ran, or did not record the key). */
const char *op_arg(const struct op *op, const char *key);
const char *op_saved(const struct op *op, const char *key);

/* Registered op types, looked up by name when a journal is replayed. */
const struct op_type *op_type_find(const char *name);
/* Tests: make a fake op type findable (up to 8). 0 or -ENOSPC. */
int op_type_register(const struct op_type *type);

#endif
