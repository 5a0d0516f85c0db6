/* journal.c: serialise the reached ops of a plan to /run/vmrun/NAME.json
 * and read them back, so a new vmrun can undo what a dead one changed. */
#include "engine/engine.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOURNAL_VERSION 1

static const char *const state_names[] = {
	[OP_PENDING] = "pending",
	[OP_APPLYING] = "applying",
	[OP_APPLIED] = "applied",
	[OP_UNDONE] = "undone",
};

const char *op_state_name(enum op_state s)
{
	return s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

static int op_state_parse(const char *s, enum op_state *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_names); i++) {
		if (!strcmp(s, state_names[i])) {
			*out = (enum op_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

static json_object *op_to_json(const struct op *op)
{
	json_object *o;

	/* an entry vmrun could not read goes back as it was */
	if (!op->type)
		return json_object_get(op->raw);
	o = json_object_new_object();

	json_object_object_add(o, "type",
			       json_object_new_string(op->type->name));
	json_object_object_add(o, "desc", json_object_new_string(op->desc));
	json_object_object_add(o, "args", json_object_get(op->args));
	json_object_object_add(o, "saved", json_object_get(op->saved));
	json_object_object_add(
		o, "state", json_object_new_string(op_state_name(op->state)));
	return o;
}

/* Test hook: the k-th journal write of this process and every later one
 * fail with ENOSPC, as when /run fills up. Writes are counted from the
 * first one that sees the current value of the variable. */
static int journal_fault(const char *abs, struct vr_error *err)
{
	static unsigned long writes, k;
	const char *v = getenv("VMRUN_FAULT_JOURNAL_FULL");
	cleanup_free char *path = NULL;

	if (!v || !*v) {
		k = 0;
		return 0;
	}
	if (strtoul(v, NULL, 10) != k) {
		k = strtoul(v, NULL, 10);
		writes = 0;
	}
	if (++writes < k)
		return 0;
	path = hostfs_path(abs);
	return vr_error(err, ENOSPC, "write %s", path);
}

int journal_write(const char *abs, const char *name, const struct op *ops,
		  size_t nops, struct vr_error *err)
{
	json_object *root, *arr;
	const char *text;
	int r;

	r = journal_fault(abs, err);
	if (r)
		return vr_error_prefix(err, "journal");
	root = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(root, "version",
			       json_object_new_int(JOURNAL_VERSION));
	json_object_object_add(root, "name", json_object_new_string(name));
	json_object_object_add(root, "pid", json_object_new_int(getpid()));
	for (size_t i = 0; i < nops; i++)
		if (ops[i].state != OP_PENDING)
			json_object_array_add(arr, op_to_json(&ops[i]));
	json_object_object_add(root, "ops", arr);
	text = json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	r = host_write_file(abs, text, strlen(text), 0600, err);
	json_object_put(root);
	return r ? vr_error_prefix(err, "journal") : 0;
}

static json_object *field(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	if (type == json_type_null)
		return v;
	return json_object_is_type(v, type) ? v : NULL;
}

/* One journal entry back into an op; err says what is wrong with it. */
static int op_from_json(json_object *o, struct op *op, struct vr_error *err)
{
	json_object *type = field(o, "type", json_type_string);
	json_object *desc = field(o, "desc", json_type_string);
	json_object *args = field(o, "args", json_type_object);
	json_object *saved = field(o, "saved", json_type_null);
	json_object *state = field(o, "state", json_type_string);

	if (!type || !desc || !args || !state)
		return vr_errorx(err, EINVAL,
				 "it lacks type, desc, args or state");
	if (op_state_parse(json_object_get_string(state), &op->state))
		return vr_errorx(err, EINVAL,
				 "its state '%s' is none of "
				 "vmrun's",
				 json_object_get_string(state));
	op->type = op_type_find(json_object_get_string(type));
	if (!op->type)
		return vr_errorx(err, EINVAL,
				 "its type '%s' is not one this vmrun knows "
				 "(written by another version?)",
				 json_object_get_string(type));
	op->desc = xstrdup(json_object_get_string(desc));
	op->args = json_object_get(args);
	op->saved = json_object_get(saved);
	return 0;
}

/* An entry vmrun cannot read is kept as it is, to be written back and
 * reported, but it stops nothing else from being undone. One that says it
 * was undone already needs nothing. */
static void op_unreadable(json_object *o, struct op *op, size_t i,
			  const struct vr_error *why)
{
	json_object *desc = field(o, "desc", json_type_string);
	enum op_state st = OP_APPLIED;
	json_object *state = field(o, "state", json_type_string);

	if (state && !op_state_parse(json_object_get_string(state), &st) &&
	    st != OP_UNDONE)
		st = OP_APPLIED;
	memset(op, 0, sizeof(*op));
	op->state = st;
	op->raw = json_object_get(o);
	op->bad = xstrdup(why->msg);
	op->desc = desc ? xasprintf("entry %zu (%s)", i + 1,
				    json_object_get_string(desc))
			: xasprintf("entry %zu", i + 1);
}

static int ops_from_json(json_object *root, const char *path, struct op **ops,
			 size_t *nops, struct vr_error *err)
{
	json_object *arr = field(root, "ops", json_type_array);
	json_object *ver = field(root, "version", json_type_int);
	size_t n;

	if (!arr || !ver)
		return vr_errorx(err, EINVAL,
				 "%s is not a vmrun journal (no version or "
				 "ops)",
				 path);
	if (json_object_get_int(ver) != JOURNAL_VERSION)
		return vr_errorx(err, EINVAL,
				 "%s: journal version %d, this vmrun reads %d",
				 path, json_object_get_int(ver),
				 JOURNAL_VERSION);
	n = json_object_array_length(arr);
	*ops = xcalloc(n ? n : 1, sizeof(**ops));
	*nops = n;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct vr_error why = {0};

		if (op_from_json(o, &(*ops)[i], &why)) {
			/* what op_from_json took is the entry's own */
			free((*ops)[i].desc);
			json_object_put((*ops)[i].args);
			json_object_put((*ops)[i].saved);
			op_unreadable(o, &(*ops)[i], i, &why);
		}
	}
	return 0;
}

int journal_read(const char *abs, struct op **ops, size_t *nops,
		 struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(abs);
	json_object *root;
	int r;

	*ops = NULL;
	*nops = 0;
	if (access(path, F_OK) < 0)
		return vr_error(err, errno, "read %s", path);
	root = json_object_from_file(path);
	if (!root)
		return vr_errorx(err, EINVAL, "%s: %s", path,
				 json_util_get_last_err());
	r = ops_from_json(root, path, ops, nops, err);
	json_object_put(root);
	return r;
}

void journal_ops_free(struct op *ops, size_t nops)
{
	for (size_t i = 0; i < nops; i++) {
		free(ops[i].desc);
		json_object_put(ops[i].args);
		json_object_put(ops[i].saved);
		json_object_put(ops[i].raw);
		free(ops[i].bad);
	}
	free(ops);
}

int journal_remove(const char *abs, struct vr_error *err)
{
	return host_remove(abs, err);
}
