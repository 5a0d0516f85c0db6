/* process.h: the programs vmrun starts (QEMU, swtpm, hooks): fork/exec
 * without a shell, exec errors reported back, and the "process" op that
 * makes sure a recorded child is gone before the host is given back. */
#ifndef VMRUN_PROCESS_H
#define VMRUN_PROCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "plan.h"

struct spawn {
	const char *path;      /* program; a bare name is looked up in PATH */
	char *const *argv;     /* argv[0] included, NULL-terminated */
	int pass_fd;	       /* becomes fd 3 in the child; -1 for none */
	int out_fd;	       /* stdout and stderr; -1 to inherit */
	bool own_pgrp;	       /* not signalled by the terminal's ^C */
	bool die_with_parent;  /* SIGTERM when vmrun dies */
	uint64_t memlock;      /* RLIMIT_MEMLOCK, 0 = unchanged */
	bool memlock_optional; /* fine if refused while the program
				    * has CAP_IPC_LOCK (it stays root) */
	const char *cgroup;    /* host cgroup folder to join, or NULL */
	char *const *env;      /* extra NAME=VALUE entries, or NULL */
	const char *cwd;       /* working folder, or NULL (unchanged) */
};

/* Start the program; 0 and *pid, or the reason it could not be started
 * (exec errors included: they come back through a pipe). */
int proc_spawn(const struct spawn *s, pid_t *pid, struct vr_error *err);

/* Run to completion (hooks): the exit status, or -errno. */
int proc_run(const struct spawn *s, struct vr_error *err);

/* Field 22 of /proc/PID/stat: with the pid it names one process for good
 * (pids are reused). -ESRCH when there is no such process. */
int proc_starttime(pid_t pid, unsigned long long *out);

/* pidfd_open(2); -errno when the kernel lacks it. */
int proc_pidfd(pid_t pid);

/* Plan an op that records a started child: undoing it terminates the
 * process (SIGTERM, then SIGKILL after grace_ms) if it still runs. */
void proc_plan_record(struct plan *plan, const char *what, pid_t pid,
		      int grace_ms);

extern const struct op_type op_process;

#endif
