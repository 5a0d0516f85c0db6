/* supervise.h: running one VM from start to end: apply the plan, start
 * swtpm and QEMU paused, pin, cont, supervise over QMP in one poll loop,
 * stop on request, and give the host back. */
#ifndef VMRUN_SUPERVISE_H
#define VMRUN_SUPERVISE_H

#include "error.h"
#include "vm.h"

/* vmrun's exit codes for a run (documented in vmrun(1)). */
enum vm_exit {
	VM_EXIT_SHUTDOWN = 0, /* the guest powered off (by itself or asked) */
	VM_EXIT_ERROR = 1,    /* could not start; the host was put back */
	VM_EXIT_USAGE = 2,    /* bad command line */
	VM_EXIT_CRASH = 3,    /* QEMU ended without the guest shutting down */
	VM_EXIT_PANIC = 4,    /* the guest panicked */
	VM_EXIT_FORCED = 5,  /* the guest ignored power-off; QEMU was stopped */
	VM_EXIT_RESTORE = 6, /* the host could not be fully put back */
};

struct run_opts {
	int ready_fd; /* "ok\n" written and closed (set to -1) once the
		       * guest runs; -1 for none */
	bool notify;  /* tell systemd (NOTIFY_SOCKET) READY=1 / STOPPING=1 */
};

/* Returns an enum vm_exit; err holds the message for every non-zero one. */
int vm_run(struct vm *vm, struct run_opts *o, struct vr_error *err);

#endif
