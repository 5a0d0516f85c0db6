/* claim.c: claims between concurrent vmruns, so two VMs never get the
 * same PCI function or the same Looking Glass file; a claim whose vmrun
 * died is stale and replaced. A VM takes all its claims in one op, under
 * the host lock: all or none, never half against another VM's other half. */
#include "ops/ops.h"
#include "host/host.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct claim {
	char vm[PROFILE_NAME_MAX + 1];
	long pid;
};

/* 1 and *c filled when a claim file exists and parses, else 0. */
static int claim_read(const char *key, struct claim *c)
{
	cleanup_free char *abs = xasprintf("%s/%s", paths_claims_dir(), key);
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

/* what: the claimed thing as the user knows it (a BDF, a path). */
static int claim_check_key(const char *key, const char *what, const char *vm,
			   struct vr_error *err)
{
	struct claim c;

	if (!claim_read(key, &c) || !strcmp(c.vm, vm) || !pid_alive(c.pid) ||
	    c.pid == (long)getpid())
		return 0;
	return vr_errorx(err, EBUSY,
			 "%s is in use by VM '%s' (vmrun pid %ld): stop it "
			 "first (vmrun stop %s)",
			 what, c.vm, c.pid, c.vm);
}

int claim_check(const char *bdf, const char *vm, struct vr_error *err)
{
	return claim_check_key(bdf, bdf, vm, err);
}

/* The claim file name of a path: URL-style escapes, one file per path. */
static char *claim_file_key(const char *path)
{
	size_t n = 0;
	char *key = xmalloc(strlen(path) * 3 + 8);

	n += (size_t)sprintf(key, "file");
	for (const char *p = path; *p; p++) {
		if (*p == '/' || *p == '%')
			n += (size_t)sprintf(key + n, "%%%02X", *p);
		else
			key[n++] = *p;
	}
	key[n] = '\0';
	return key;
}

int claim_check_file(const char *path, const char *vm, struct vr_error *err)
{
	cleanup_free char *key = claim_file_key(path);

	return claim_check_key(key, path, vm, err);
}

static const char *item_str(json_object *item, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(item, k, &v)
		       ? json_object_get_string(v)
		       : "";
}

/* The claims of an op: "claims" [{key, what}], or one "bdf" (journals of
 * earlier versions). */
static size_t claim_items(const struct op *op, json_object **arr)
{
	*arr = NULL;
	if (json_object_object_get_ex(op->args, "claims", arr) &&
	    json_object_is_type(*arr, json_type_array))
		return json_object_array_length(*arr);
	*arr = NULL;
	return *op_arg(op, "bdf") ? 1 : 0;
}

static const char *claim_key(const struct op *op, json_object *arr, size_t i,
			     const char *k)
{
	return arr ? item_str(json_object_array_get_idx(arr, i), k)
		   : op_arg(op, "bdf");
}

static int claim_write(const char *key, const char *vm, struct vr_error *err)
{
	cleanup_free char *abs = xasprintf("%s/%s", paths_claims_dir(), key);
	cleanup_free char *text = xasprintf("%s %ld\n", vm, (long)getpid());
	int r = host_mkdir(paths_claims_dir(), 0700, err);

	return r ? r : host_write_file(abs, text, strlen(text), 0600, err);
}

/* Test hook: VMRUN_TEST_CLAIM_DELAY_MS holds the claims this long between
 * checking and writing them, as a busy host may. */
static void claim_test_delay(void)
{
	const char *v = getenv("VMRUN_TEST_CLAIM_DELAY_MS");
	long ms = v ? strtol(v, NULL, 10) : 0;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	if (ms > 0)
		nanosleep(&ts, NULL);
}

/* Every claim is checked, then every one written, with the host lock
 * held throughout: the plan was made without holding anything, and
 * another vmrun may have claimed a device since. */
static int claim_apply(struct op *op, struct vr_error *err)
{
	const char *vm = op_arg(op, "vm");
	json_object *arr;
	size_t n = claim_items(op, &arr);
	struct vr_error e = {0}, all = {0};
	int lock, r;

	r = lock_host_take(&lock, err);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++)
		if (claim_check_key(claim_key(op, arr, i, "key"),
				    claim_key(op, arr, i, "what"), vm, &e))
			vr_error_append(&all, "%s", e.msg);
	if (all.msg[0]) {
		*err = all;
		err->code = EBUSY;
		r = -EBUSY;
	}
	if (!r)
		claim_test_delay();
	for (size_t i = 0; !r && i < n; i++)
		r = claim_write(claim_key(op, arr, i, "key"), vm, err);
	lock_host_release(lock);
	return r;
}

/* Release only our own claims: a vmrun of another VM may have replaced
 * one as stale after we died. */
static int claim_undo(struct op *op, struct vr_error *err)
{
	json_object *arr;
	size_t n = claim_items(op, &arr);
	struct claim c;
	int lock, r;

	r = lock_host_take(&lock, err);
	if (r)
		return r;
	for (size_t i = 0; !r && i < n; i++) {
		const char *key = claim_key(op, arr, i, "key");
		cleanup_free char *abs =
			xasprintf("%s/%s", paths_claims_dir(), key);

		if (claim_read(key, &c) && !strcmp(c.vm, op_arg(op, "vm")))
			r = host_remove(abs, err);
	}
	lock_host_release(lock);
	return r;
}

/* A claim's file name: a PCI address, or "file" and an escaped path
 * (claim_file_key: no '/' left in it). */
static bool claim_key_valid(const char *key)
{
	return check_bdf(key) || (!strncmp(key, "file%2F", 7) &&
				  !strchr(key, '/') && strlen(key) < 4096);
}

/* Undo removes /run/vmrun/claims/KEY: each key must be a claim's name. */
static int claim_check_op(const struct op *op, const char *vm,
			  struct vr_error *err)
{
	json_object *arr;
	size_t n = claim_items(op, &arr);

	if (!n)
		return op_refuse(op, err, "names no claim");
	for (size_t i = 0; i < n; i++) {
		const char *key = claim_key(op, arr, i, "key");

		if (!key || !claim_key_valid(key))
			return op_refuse(op, err, "names claim '%s'",
					 key ? key : "");
	}
	if (op_check_vm(op, vm, err))
		return -EPERM;
	return 0;
}

const struct op_type claim_op = {
	.name = "claim",
	.save = op_nothing,
	.apply = claim_apply,
	.undo = claim_undo,
	.check = claim_check_op,
};
OP_TYPE_REGISTER(claim_op);

static void claim_add(json_object *arr, struct strv *names, const char *key,
		      const char *what)
{
	json_object *item = json_object_new_object();

	json_object_object_add(item, "key", json_object_new_string(key));
	json_object_object_add(item, "what", json_object_new_string(what));
	json_object_array_add(arr, item);
	strv_add(names, what);
}

void claim_plan(struct plan *plan, const struct profile *p)
{
	json_object *args, *arr = json_object_new_array();
	struct strv names = {0};
	cleanup_free char *list = NULL;
	char bdf[16];

	for (size_t i = 0; i < p->npci; i++)
		claim_add(arr, &names,
			  pci_addr_format(&p->pci[i].host, bdf, sizeof(bdf)),
			  bdf);
	if (p->lg.enabled) {
		cleanup_free char *key = claim_file_key(p->lg.device);

		claim_add(arr, &names, key, p->lg.device);
	}
	if (!names.n) {
		json_object_put(arr);
		return;
	}
	for (size_t i = 0; i < names.n; i++) {
		char *l = xasprintf("%s%s%s", list ? list : "", i ? ", " : "",
				    names.v[i]);

		free(list);
		list = l;
	}
	args = json_object_new_object();
	json_object_object_add(args, "vm", json_object_new_string(p->vm.name));
	json_object_object_add(args, "claims", arr);
	plan_add(plan, &claim_op, args, "claim %s for VM '%s'", list,
		 p->vm.name);
	strv_free(&names);
}
