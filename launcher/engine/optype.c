/* optype.c: the registry of op types. Each op type registers itself where
 * it is defined (OP_TYPE_REGISTER), so a journal naming it can be replayed
 * without a table here to keep in step. */
#include "engine/engine.h"

#include <errno.h>
#include <string.h>

#define OP_TYPES_MAX 64

static const struct op_type *op_types[OP_TYPES_MAX];

const struct op_type *op_type_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(op_types) && op_types[i]; i++)
		if (!strcmp(op_types[i]->name, name))
			return op_types[i];
	return NULL;
}

int op_type_register(const struct op_type *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(op_types); i++) {
		if (op_types[i] == type)
			return 0;
		if (!op_types[i]) {
			op_types[i] = type;
			return 0;
		}
	}
	return -ENOSPC;
}

int op_nothing(struct op *op, struct vr_error *err)
{
	(void)op;
	(void)err;
	return 0;
}
