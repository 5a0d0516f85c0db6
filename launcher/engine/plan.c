/* plan.c: a plan as data: the ops a planner appends, its warnings, and
 * the accessors the op types use on their arguments. */
#include "engine/engine.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void plan_add(struct plan *plan, const struct op_type *type, json_object *args,
	      const char *fmt, ...)
{
	struct op *op;
	va_list ap;

	plan->ops = xrealloc(plan->ops, (plan->nops + 1) * sizeof(*op));
	op = &plan->ops[plan->nops++];
	memset(op, 0, sizeof(*op));
	op->type = type;
	op->args = args ? args : json_object_new_object();
	va_start(ap, fmt);
	op->desc = xvasprintf(fmt, ap);
	va_end(ap);
}

void plan_warn(struct plan *plan, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	strv_add(&plan->warnings, s);
	free(s);
}

void plan_free(struct plan *plan)
{
	for (size_t i = 0; i < plan->nops; i++) {
		free(plan->ops[i].desc);
		json_object_put(plan->ops[i].args);
		json_object_put(plan->ops[i].saved);
	}
	free(plan->ops);
	paths_vm_free(&plan->paths);
	strv_free(&plan->argv);
	strv_free(&plan->argv_origin);
	strv_free(&plan->warnings);
	strv_free(&plan->env);
	memset(plan, 0, sizeof(*plan));
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
