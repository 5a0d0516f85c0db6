/* engine/engine.h: host changes as data. A pure planner (ops/) turns a
 * profile and the host view into a plan: a list of operations and the QEMU
 * argv; this engine applies them journaled and undoes them in reverse. No
 * host write happens anywhere else. The index of engine/, by file. */
#ifndef VMRUN_ENGINE_ENGINE_H
#define VMRUN_ENGINE_ENGINE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"
#include "profile/profile.h"
#include "host/host.h"

/* paths.c: where vmrun keeps its runtime files. */
/* Host paths of one VM, unrooted ("/run/vmrun/x.qmp"); hostfs_path()
 * gives the real file. */
struct vm_paths {
	char *run_dir;	    /* /run/vmrun */
	char *journal;	    /* /run/vmrun/NAME.json */
	char *lock;	    /* /run/vmrun/NAME.lock */
	char *qmp;	    /* /run/vmrun/NAME.qmp: vmrun's own monitor */
	char *ctl;	    /* /run/vmrun/NAME.sock: control socket */
	char *battery;	    /* /run/vmrun/NAME.battery.aml (fake-battery) */
	char *swtpm_sock;   /* /run/vmrun/NAME.swtpm.sock */
	char *hugepage_dir; /* per-VM hugetlbfs folder, NULL without */
	char *cgroup;	    /* QEMU's cgroup (cpuset.c), NULL without */
	char *state_dir;    /* profile's state-dir */
	char *vars;	    /* OVMF vars copy */
	char *tpm_state;    /* swtpm state folder */
	char *log;	    /* STATE_DIR/NAME.log */
};

/* The suffixes of a VM's files in /run/vmrun, after NAME: a '.' that no
 * VM name holds, so no file of one VM is another's. */
#define PATHS_BATTERY ".battery.aml"
#define PATHS_SWTPM   ".swtpm.sock"
#define PATHS_CTL     ".sock"
#define PATHS_QMP     ".qmp"

/* "/run/vmrun", and "/run/vmrun/NAME" SUFFIX (malloc'd). */
const char *paths_run_dir(void);
char *paths_run_file(const char *name, const char *suffix);
/* Device claims between concurrent vmruns (ops/claim.c). */
const char *paths_claims_dir(void);
/* The host lock (lock.c) and the records of shared host changes. */
const char *paths_host_lock(void);
const char *paths_shared_dir(void);
/* The hugetlbfs mount vmrun makes for a page size ("2M", "1G"), and
 * whether a folder is one of those (shared by every VM that uses it). */
char *paths_hugetlbfs_dir(const char *size);
bool paths_is_hugetlbfs_dir(const char *dir);
/* Every path of one VM. */
void paths_vm_build(const struct profile *p, struct vm_paths *vp);
void paths_vm_free(struct vm_paths *vp);

/* plan.c: a plan as data. */
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
	/* Restore only, before undo of an op read back from a journal: does
	 * it name only what a vmrun of VM vm could have made (its paths under
	 * /run/vmrun, the sysfs/procfs/cgroup attributes of this kind, a
	 * process by the start time recorded with it), with saved values
	 * undo can put back? 0, or -EPERM with err saying what is refused
	 * (op_refuse). NULL: undo changes nothing. */
	int (*check)(const struct op *op, const char *vm, struct vr_error *err);
	/* The change exists before the op is journaled (a process already
	 * started is recorded): when that journal write fails, the op is
	 * undone all the same. */
	bool made_before;
	/* A change several VMs make together (share.c): the name of its
	 * record (malloc'd), or NULL for a change of this VM's own. The
	 * first VM saves and applies it, later ones join, the last one to
	 * leave undoes it. NULL function: never shared. */
	char *(*share_key)(const struct op *op);
	/* With other VMs holding the change (a VM joined or left): make it
	 * fit them all. op->saved is the original; holders maps each VM
	 * to the args of its op. NULL: the same change for every VM. */
	int (*share_refresh)(struct op *op, json_object *holders,
			     struct vr_error *err);
};

/* Where an op stands; written to the journal with it. */
enum op_state {
	OP_PENDING,  /* not reached yet (not in the journal) */
	OP_APPLYING, /* saved and journaled; apply may have run part-way */
	OP_APPLIED,
	OP_UNDONE,
};

struct op {
	const struct op_type *type; /* NULL: a journal entry vmrun cannot
				     * read (bad says why, raw is the entry,
				     * written back as it was) */
	char *desc;	     /* one readable line for --dry-run and logs */
	json_object *args;   /* what to do (pure, from the planner) */
	json_object *saved;  /* what was there (from save), NULL before */
	enum op_state state; /* kept by the engine */
	json_object *raw;    /* journal entries with no type only */
	char *bad;	     /* journal entries with no type only */
};

struct plan {
	const struct profile *profile;
	struct vm_paths paths;
	struct op *ops;
	size_t nops;
	struct strv argv; /* the full QEMU command line */
	/* parallel to argv: the profile section (and key) each argument
	 * comes from, "" for vmrun's own (qemu_argv_build()) */
	struct strv argv_origin;
	struct strv warnings; /* shown before start, e.g. boot GPU */
	struct strv env;      /* QEMU's environment, besides vmrun's mark */
	uint64_t memlock;     /* RLIMIT_MEMLOCK for QEMU, 0 = unchanged */
	size_t applied;	      /* ops applied so far */
	bool restoring;	      /* ops read back from a journal: checked */
	/* threads QEMU preallocates guest RAM with before its monitor
	 * answers; 0 when RAM is not preallocated */
	unsigned prealloc_threads;
};

void plan_free(struct plan *plan);

/* Append an op (takes ownership of args). */
void plan_add(struct plan *plan, const struct op_type *type, json_object *args,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void plan_warn(struct plan *plan, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* String members of op->args / op->saved: op_arg gives "" when absent,
 * op_saved NULL (save never ran, or did not record the key). */
const char *op_arg(const struct op *op, const char *key);
const char *op_saved(const struct op *op, const char *key);

/* check.c: what the op types' check callbacks share. */
/* A string / integer member of op->args: NULL / false when absent or of
 * another JSON type. */
const char *op_arg_string(const struct op *op, const char *key);
bool op_arg_int(const struct op *op, const char *key, long long *out);
/* -EPERM with "a TYPE entry that WHY: vmrun never makes one, so it does
 * not undo it". */
int op_refuse(const struct op *op, struct vr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The op's "vm" argument is vm: 0, or op_refuse. */
int op_check_vm(const struct op *op, const char *vm, struct vr_error *err);
/* An absolute path with no empty, "." or ".." name, no trailing slash and
 * no control character. */
bool check_path_clean(const char *p);
/* A clean path strictly below dir. */
bool check_path_in(const char *p, const char *dir);
/* A clean path directly in dir whose name starts with prefix. */
bool check_path_entry(const char *p, const char *dir, const char *prefix);
/* 1 to 255 characters, letters, digits and those in extra, not starting
 * with '-' (an option to the tool it goes to). */
bool check_word(const char *s, const char *extra);
/* A PCI address as sysfs names it: "0000:01:00.0". */
bool check_bdf(const char *s);

/* optype.c: the registry of op types, for journal replay. */
/* Every op type registers itself beside its definition:
 *	const struct op_type vfio_op_bind = {...};
 *	OP_TYPE_REGISTER(vfio_op_bind);
 * (a constructor, so the list needs no upkeep). */
#define OP_TYPE_REGISTER(type)                                                 \
	static void __attribute__((constructor)) type##_register(void)         \
	{                                                                      \
		op_type_register(&type);                                       \
	}
/* Registered op types, looked up by name when a journal is replayed. */
const struct op_type *op_type_find(const char *name);
/* Add a type (tests register fakes too). 0 or -ENOSPC. */
int op_type_register(const struct op_type *type);
/* save/apply/undo of an op with nothing to do at that step. */
int op_nothing(struct op *op, struct vr_error *err);

/* engine.c: apply and undo. */
/* Apply every op, journaled at paths.journal: for each op, save() reads
 * the current value, the journal (with the op marked "applying") is synced
 * to disk, then apply() runs, then the op is marked "applied". On failure
 * every op reached (the failed one included) is undone in reverse and the
 * journal removed before the error returns.
 * Test hook: VMRUN_FAULT_AFTER_OP=k raises SIGKILL right after op k
 * (1-based) is applied and journaled. */
int engine_apply(struct plan *plan, struct vr_error *err);
/* Undo the applied ops in reverse, marking each "undone" in the journal as
 * it goes (an interrupted undo resumes where it stopped). Undo errors do
 * not stop the walk; they are reported together at the end and the
 * journal is then kept for `vmrun restore`. The journal is removed when
 * everything is undone. A journal that cannot be updated (a full /run)
 * does not stop the walk: only changes whose undo failed are reported as
 * not undone. Test hook: VMRUN_FAULT_AFTER_UNDO=k raises SIGKILL after the
 * k-th undo step. */
int engine_undo(struct plan *plan, struct vr_error *err);

/* Undo what a dead vmrun left in /run/vmrun/NAME.json (every op not yet
 * "undone", "applying" ones included), and remove the NAME.json.tmp.PID
 * files a vmrun killed while writing it leaves. 0 also when there is
 * nothing to undo. Callers hold lock_take(NAME); starting a VM whose
 * journal exists must call this first (vm_prepare does). The journal is
 * trusted only so far: an entry of a type this vmrun does not know, or one
 * its type's check refuses, is not undone and is reported (the journal is
 * then kept), while every other entry is undone. */
int engine_restore(const char *name, struct vr_error *err);

/* share.c: records of the host changes several VMs hold, for engine.c;
 * call with the host lock held. */
/* The record of key, or *rec NULL when no VM holds the change (holders
 * without a journal are dropped; self is kept). */
int share_load(const char *key, const char *self, json_object **rec,
	       struct vr_error *err);
/* Whether some VM holds the change now (for planners: read-only, no
 * lock; the op joins it at apply time). */
bool share_held(const char *key);
/* A record with original (referenced) and no holders. */
json_object *share_new(json_object *original);
/* Write it, or remove it when it has no holders left. */
int share_store(const char *key, json_object *rec, struct vr_error *err);
/* {"VM": args, ...} and the value before the first VM. */
json_object *share_holders(json_object *rec);
json_object *share_original(json_object *rec);

/* lock.c: one vmrun per VM. */
/* Take /run/vmrun/NAME.lock (flock, non-blocking) for the life of this
 * vmrun and write our pid in it. Fails with "VM 'NAME' is already being
 * run by vmrun (pid N)" when another vmrun holds it. *fd is the lock. */
int lock_take(const char *name, int *fd, struct vr_error *err);
/* Release it and remove the lock file. */
void lock_release(const char *name, int fd);
/* The lock of what the VMs of one host share (device claims, shared host
 * changes), /run/vmrun/host.lock: held for a moment at a time, waited for
 * up to 30 s. */
int lock_host_take(int *fd, struct vr_error *err);
void lock_host_release(int fd);

/* journal.c: the on-disk record of the host changes of one VM
 * (/run/vmrun/NAME.json), written before each change, read by restore. */
/* Replace the journal at abs (unrooted) with every op that was reached
 * (state != OP_PENDING): type, desc, args, saved and state. Synced to
 * disk before it returns. Test hook: VMRUN_FAULT_JOURNAL_FULL=k makes the
 * k-th write of the process and every later one fail with ENOSPC. */
int journal_write(const char *abs, const char *name, const struct op *ops,
		  size_t nops, struct vr_error *err);

/* Read a journal back. Ops get their type from op_type_find(); *ops is
 * malloc'd (free with journal_ops_free). -ENOENT (err set) when there is
 * no journal. */
int journal_read(const char *abs, struct op **ops, size_t *nops,
		 struct vr_error *err);
void journal_ops_free(struct op *ops, size_t nops);

int journal_remove(const char *abs, struct vr_error *err);

const char *op_state_name(enum op_state s);

#endif
