/* console.h: what a host gives up when its boot GPU or only GPU goes to a
 * guest: display manager units, vtconsoles, efifb; and remove-rescan. */
#ifndef VMRUN_CONSOLE_H
#define VMRUN_CONSOLE_H

#include "error.h"
#include "host.h"
#include "plan.h"
#include "profile.h"

/* Add, in this order: stop-unit per [host] stop-units, vtconsole-unbind
 * per bound vtconsole and efifb-unbind (when unbind-vtconsoles /
 * unbind-efifb say yes, or auto and a boot GPU is passed through), and
 * pci-remove-rescan per device with reset = remove-rescan. Warns about a
 * boot GPU. Pure. */
int console_plan(struct plan *plan, const struct profile *p,
		 const struct host *h, struct vr_error *err);

extern const struct op_type op_stop_unit, op_vtconsole_unbind, op_efifb_unbind,
	op_pci_remove_rescan;

#endif
