/* claim.c: device claims between concurrent vmruns, so two VMs never get
 * the same function; a claim whose vmrun died is stale and replaced. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct claim {
	char vm[PROFILE_NAME_MAX + 1];
	long pid;
};

/* 1 and *c filled when a claim file exists and parses, else 0. */
static int claim_read(const char *bdf, struct claim *c)
{
	cleanup_free char *abs = xasprintf("%s/%s", paths_claims_dir(), bdf);
	struct vr_error e;
	char buf[128];

	if (hostfs_read(abs, buf, sizeof(buf), &e))
		return 0;
	if (sscanf(buf, "%32s %ld", c->vm, &c->pid) != 2 || c->pid <= 0)
		return 0;
	return 1;
}

/* PIDs are real processes even under a fake host root. */
static bool pid_alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int claim_check(const char *bdf, const char *vm, struct vr_error *err)
{
	struct claim c;

	if (!claim_read(bdf, &c) || !strcmp(c.vm, vm) || !pid_alive(c.pid) ||
	    c.pid == (long)getpid())
		return 0;
	return vr_errorx(err, EBUSY,
			 "%s is in use by VM '%s' (vmrun pid %ld): stop it "
			 "first (vmrun stop %s)",
			 bdf, c.vm, c.pid, c.vm);
}

static int claim_save(struct op *op, struct vr_error *err)
{
	struct claim c;

	(void)err;
	op->saved = json_object_new_object();
	if (claim_read(op_arg(op, "bdf"), &c)) {
		json_object_object_add(op->saved, "vm",
				       json_object_new_string(c.vm));
		json_object_object_add(op->saved, "pid",
				       json_object_new_int64(c.pid));
	}
	return 0;
}

static int claim_apply(struct op *op, struct vr_error *err)
{
	const char *bdf = op_arg(op, "bdf"), *vm = op_arg(op, "vm");
	cleanup_free char *abs = xasprintf("%s/%s", paths_claims_dir(), bdf);
	cleanup_free char *text = xasprintf("%s %ld\n", vm, (long)getpid());
	int r;

	/* Checked again here: the plan was made without holding anything,
	 * and another vmrun may have claimed the device since. */
	r = claim_check(bdf, vm, err);
	if (!r)
		r = host_mkdir(paths_claims_dir(), 0700, err);
	if (!r)
		r = host_write_file(abs, text, strlen(text), 0600, err);
	return r;
}

/* Release only our own claim: a vmrun of another VM may have replaced it
 * as stale after we died. */
static int claim_undo(struct op *op, struct vr_error *err)
{
	const char *bdf = op_arg(op, "bdf");
	cleanup_free char *abs = xasprintf("%s/%s", paths_claims_dir(), bdf);
	struct claim c;

	if (!claim_read(bdf, &c) || strcmp(c.vm, op_arg(op, "vm")))
		return 0;
	return host_remove(abs, err);
}

/* Undo removes /run/vmrun/claims/BDF: the name must be a PCI address. */
static int claim_check_op(const struct op *op, const char *vm,
			  struct vr_error *err)
{

	if (!check_bdf(op_arg_string(op, "bdf")))
		return op_refuse(op, err, "names no PCI device ('%s')",
				 op_arg(op, "bdf"));
	if (op_check_vm(op, vm, err))
		return -EPERM;
	return 0;
}

const struct op_type claim_op = {
	.name = "claim",
	.save = claim_save,
	.apply = claim_apply,
	.undo = claim_undo,
	.check = claim_check_op,
};
OP_TYPE_REGISTER(claim_op);

void claim_plan(struct plan *plan, const char *bdf, const char *vm)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "bdf", json_object_new_string(bdf));
	json_object_object_add(args, "vm", json_object_new_string(vm));
	plan_add(plan, &claim_op, args, "claim %s for VM '%s'", bdf, vm);
}
