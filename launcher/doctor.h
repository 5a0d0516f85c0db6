/* doctor.h: `vmrun doctor [PROFILE]`: a checklist of what passthrough
 * needs from this host (and from one profile), each failure with its fix. */
#ifndef VMRUN_DOCTOR_H
#define VMRUN_DOCTOR_H

#include <stdio.h>

#include "error.h"

/* Run every check against the host under hostfs_root() and, when profile
 * is not NULL, that profile; print one line per check to out. Returns the
 * number of failed checks (0: the profile can start). */
unsigned doctor_run(const char *profile, FILE *out);

/* The command: 0 when no check fails, 1 otherwise (err says how many). */
int cmd_doctor(const char *profile, struct vr_error *err);

#endif
