/* runtime.h: what a run needs around QEMU: the VM's state folder and log,
 * the OVMF vars copy, swtpm, QEMU itself, and systemd notification. */
#ifndef VMRUN_RUNTIME_H
#define VMRUN_RUNTIME_H

#include <sys/types.h>

#include "error.h"
#include "vm.h"

/* State folder, log file, vars copied from the template on first start,
 * and journaled clean-up of the sockets the run creates. */
int runtime_prepare(struct vm *vm, struct vr_error *err);
/* The vars template for this firmware: [firmware] vars-template, the one
 * matching [firmware] code, or the host's; NULL when none is known. */
char *runtime_vars_template(const struct profile *p, const struct host *h);

/* Start swtpm when [tpm] type = swtpm and wait for its socket. The
 * process is recorded in the plan (undo stops it). */
int runtime_start_swtpm(struct vm *vm, struct vr_error *err);
/* Start QEMU paused with its QMP monitor on a socketpair; *qmp_fd is our
 * end. Recorded in the plan, so undo (and a later restore) stop it. */
int runtime_start_qemu(struct vm *vm, int *qmp_fd, pid_t *pid,
		       struct vr_error *err);

/* The control socket (/run/vmrun/NAME.sock), journaled for removal. It
 * is made once QEMU is starting: its start is the long pole. */
int runtime_listen(struct vm *vm, int *fd, struct vr_error *err);

/* sd_notify(3) without libsystemd: a datagram to $NOTIFY_SOCKET. */
void runtime_notify(const char *state);

extern const struct op_type op_cleanup_path;

#endif
