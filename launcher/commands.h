/* commands.h: the subcommands of vmrun; main parses the global options
 * and dispatches here. Each returns an exit code and fills err. */
#ifndef VMRUN_COMMANDS_H
#define VMRUN_COMMANDS_H

#include <stdbool.h>

#include "error.h"

struct cmd_opts {
	bool detach; /* --detach */
	bool force;  /* stop --force */
	bool json;   /* devices --json */
};

int cmd_run(const char *profile, const struct cmd_opts *o,
	    struct vr_error *err);
int cmd_dry_run(const char *profile, struct vr_error *err);
int cmd_print_argv(const char *profile, struct vr_error *err);
int cmd_prepare(const char *profile, struct vr_error *err);
int cmd_restore(const char *name, struct vr_error *err);
int cmd_status(const char *name, struct vr_error *err);
int cmd_stop(const char *name, const struct cmd_opts *o, struct vr_error *err);

#endif
