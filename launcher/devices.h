/* devices.h: `vmrun devices`: the host's IOMMU groups, each function in
 * them, and whether each group can go to a guest, as text or as JSON. */
#ifndef VMRUN_DEVICES_H
#define VMRUN_DEVICES_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "host.h"

/* Print h's groups (pure: reads only h). Text is grouped by IOMMU group
 * with a legend; JSON is {"iommu", "groups": [...], "ungrouped": [...]}. */
void devices_print(const struct host *h, bool json, FILE *out);

/* The command: scan the host's PCI functions and print them. 0, or 1
 * with err filled when the scan fails. */
int cmd_devices(bool json, struct vr_error *err);

#endif
