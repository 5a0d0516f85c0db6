/* capture.h: what the two halves of `vmrun capture` share (private to
 * capture*.c): a quoted field and the statements of what hangs off the
 * PCI functions. */
#ifndef VMRUN_CMD_CAPTURE_H
#define VMRUN_CMD_CAPTURE_H

#include <stdio.h>

#include "host/host.h"

/* s as one field of the fixture format (shlex): in double quotes, with "
 * and \ escaped. */
void capture_quoted(FILE *out, const char *s);

/* The PCI function a /sys path lies under (its last PCI address), as
 * "DDDD:BB:DD.F" in bdf; false when it is on none. */
bool capture_owner(const char *abs, char *bdf, size_t len);

/* capture_dev.c: block devices and what is mounted from them, network
 * interfaces and the default route, consoles, and the processes holding
 * device nodes of h's functions. */
void capture_blocks(FILE *out);
void capture_nets(FILE *out);
void capture_consoles(FILE *out);
void capture_holders(FILE *out, const struct host *h);

#endif
