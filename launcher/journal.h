/* journal.h: the on-disk record of the host changes of one VM
 * (/run/vmrun/NAME.json), written before each change, read by restore. */
#ifndef VMRUN_JOURNAL_H
#define VMRUN_JOURNAL_H

#include <stddef.h>

#include "error.h"
#include "plan.h"

/* Replace the journal at abs (unrooted) with every op that was reached
 * (state != OP_PENDING): type, desc, args, saved and state. Synced to
 * disk before it returns. */
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
