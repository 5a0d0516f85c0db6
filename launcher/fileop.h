/* fileop.h: the "file" op: a file vmrun generates for one run (the
 * fake-battery SSDT), created by apply and removed by undo. */
#ifndef VMRUN_FILEOP_H
#define VMRUN_FILEOP_H

#include <stddef.h>

#include "plan.h"

/* Add an op that creates abs (a host path, e.g. under /run/vmrun) with
 * these bytes and mode; the content travels hex-encoded in the journal. */
void fileop_plan(struct plan *plan, const char *abs, const void *data,
		 size_t len, unsigned mode, const char *what);

extern const struct op_type op_file;

#endif
