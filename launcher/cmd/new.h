/* new.h: what `vmrun new` shares (private to new*.c): the request, the
 * host it was read from, the layout chosen, and the profile writer. */
#ifndef VMRUN_CMD_NEW_H
#define VMRUN_CMD_NEW_H

#include "base/base.h"
#include "host/host.h"
#include "ops/ops.h"
#include "profile/profile.h"

struct new_req {
	const char *name;
	const char *out; /* --out, NULL: stdout */
	struct pci_addr gpu;
	unsigned lg_width, lg_height; /* --looking-glass, 0: none asked */
	struct host h;
	struct layout_req lr;
	struct layout l;
	/* the processes that have the group's device nodes open now */
	struct holder *holders;
	size_t nholders;
};

/* new_write.c: the profile for q, each choice with its reason. */
void new_write(const struct new_req *q, struct pdoc *d);
/* Warnings about the layout (the host left short of memory) and the
 * programs that hold the card now. */
void new_warn(const struct new_req *q, const char *file);
/* Who holds the group's functions now, into q->holders. */
void new_holders(struct new_req *q);

#endif
