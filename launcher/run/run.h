/* run/run.h: one run of a VM: load and prepare, start swtpm and QEMU, pin,
 * supervise over QMP, the stop ladder, the control socket, hooks. The index
 * of this folder's public API, by file. */
#ifndef VMRUN_RUN_RUN_H
#define VMRUN_RUN_RUN_H

#include <json-c/json.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/base.h"
#include "qmp/qmp.h"
#include "profile/profile.h"
#include "host/host.h"
#include "engine/engine.h"

/* vm.c: one VM as the commands see it: its profile, the host view and the
 * plan, loaded together; the commands main dispatches to live here. */
struct vm {
	struct profile profile;
	struct host host;
	struct plan plan;
};

/* Parse the profile, read the host, build the plan. Touches nothing. */
int vm_load(const char *profile_path, struct vm *vm, struct vr_error *err);
void vm_free(struct vm *vm);

/* --dry-run: host changes, warnings and the argv, shell-quoted. */
void vm_print_dry_run(const struct vm *vm, FILE *out);
/* --print-argv: the argv, one argument per line, unquoted. */
void vm_print_argv(const struct vm *vm, FILE *out);

/* Restore leftovers of a dead vmrun for this VM, then apply the plan and
 * leave the host prepared (journal kept for `vmrun restore`). */
int vm_prepare(struct vm *vm, struct vr_error *err);

/* control.c: the small control socket of a running vmrun,
 * /run/vmrun/NAME.sock (mode 0600): `vmrun status`, `vmrun stop` and
 * `vmrun cont` talk to the supervisor through it, one JSON object per line
 * each way. */
/* Server: a listening socket at abs (unrooted; made 0600). */
int control_listen(const char *abs, int *fd, struct vr_error *err);

/* Client: send request to VM name's supervisor and read its first reply.
 * *fd (when not NULL) keeps the connection open: the supervisor sends one
 * more line ({"event": "exited", ...}) and closes it when it exits. */
int control_call(const char *name, json_object *request, json_object **reply,
		 int *fd, struct vr_error *err);
/* Read one JSON line from a connection; NULL at EOF. */
json_object *control_read(int fd);
int control_send(int fd, json_object *msg);

/* Names of the VMs whose supervisor has a socket under /run/vmrun. */
void control_list(struct strv *names);

/* hooks.c: the profile's [hooks] programs, run at fixed phases of a VM's
 * life with the VM name, the phase and the exit reason: argv is HOOK NAME
 * PHASE [REASON], environment VMRUN_NAME, VMRUN_PHASE, VMRUN_REASON,
 * VMRUN_PROFILE. Each runs in a process group of its own, for at most
 * [hooks] timeout seconds (then SIGTERM, SIGKILL to the group), while the
 * caller goes on handling signals and QMP. */
/* The process groups of a run's hooks: what they left running is ended
 * with the VM. */
struct hook_groups {
	pid_t pgid[64];
	size_t n;
};

/* The hooks of one phase, walked in order; the first that fails ends the
 * walk. */
struct hook_run {
	const struct profile *p;
	const char *phase, *reason;
	const char *path; /* the hook running now */
	size_t next;	  /* the next one to start */
	pid_t pid;	  /* the one running, 0 when none */
	int64_t deadline; /* ms, monotonic: its timeout, then its SIGKILL */
	int killed;	  /* timed out or cancelled */
	int result;	  /* 0, or -errno of the first failure (in err) */
	struct vr_error err;
	struct hook_groups *groups;
};

/* Start the phase's first hook (none: the walk is over at once). */
void hooks_begin(struct hook_run *h, const struct profile *p, const char *phase,
		 const char *reason, struct hook_groups *groups);
/* A hook runs. */
bool hooks_busy(const struct hook_run *h);
/* ms until the running hook's deadline, as a poll() timeout; -1 for none. */
int hooks_timeout(const struct hook_run *h);
/* A child was reaped: true when it was the running hook (the next one is
 * started then). */
bool hooks_reaped(struct hook_run *h, pid_t pid, int status);
/* Past the deadline: SIGTERM to the hook's group, later SIGKILL. */
void hooks_on_deadline(struct hook_run *h);
/* Stop the running hook's group now (SIGKILL), why in the error. */
void hooks_cancel(struct hook_run *h, const char *why);
/* 0, or the walk's failure into err. */
int hooks_result(const struct hook_run *h, struct vr_error *err);
/* Wait for the walk to end, reading sigfd (a signalfd with SIGCHLD): a
 * signal other than SIGCHLD stops the running hook and ends the wait with
 * *sig set. Returns the walk's result. */
int hooks_wait(struct hook_run *h, int sigfd, int *sig);
/* SIGTERM to every group, SIGKILL to those still there 2 s later. */
void hooks_end_groups(struct hook_groups *g);

/* pin.c: vCPU pinning while QEMU is still paused (-S): each vCPU thread to
 * its vcpu-pin CPU, every other QEMU thread to emulator-pin. */
/* Reads query-cpus-fast; no-op without vcpu-pin and emulator-pin. */
int pin_threads(struct qmp *q, pid_t qemu, const struct profile_cpu *cpu,
		struct vr_error *err);

/* runtime.c: what a run needs around QEMU: the VM's state folder and log,
 * the OVMF vars copy, swtpm, QEMU itself, and systemd notification. */
/* Make the state folder and open the VM log for appending (0600, never
 * through a symlink): the fd, or -errno with err filled. */
int runtime_log_open(const struct vm *vm, struct vr_error *err);
/* State folder, log file, vars copied from the template on first start,
 * and journaled clean-up of the sockets the run creates. */
int runtime_prepare(struct vm *vm, struct vr_error *err);
/* The VM log (STATE_DIR/NAME.log) opened for appending: the state folder
 * made (0700) if missing and opened without following a symlink, the log
 * opened in it O_NOFOLLOW, refused unless a plain file with no other name
 * that belongs to the user vmrun runs as; made 0600. The fd, or -errno. */
int runtime_log_open(const struct vm *vm, struct vr_error *err);
/* The vars template for this firmware: [firmware] vars-template, the one
 * matching [firmware] code, or the host's; NULL when none is known. */
char *runtime_vars_template(const struct profile *p, const struct host *h);

/* Start swtpm when [tpm] type = swtpm and wait for its socket; *pid is
 * its pid (untouched without swtpm). The process is recorded in the plan
 * (undo stops it). */
int runtime_start_swtpm(struct vm *vm, pid_t *pid, struct vr_error *err);
/* Start QEMU paused with its QMP monitor on a socketpair; *qmp_fd is our
 * end. out_fd becomes its stdout and stderr (-1: vmrun's own). Recorded
 * in the plan, so undo (and a later restore) stop it. */
int runtime_start_qemu(struct vm *vm, int out_fd, int *qmp_fd, pid_t *pid,
		       struct vr_error *err);

/* The control socket (/run/vmrun/NAME.sock), journaled for removal. It
 * is made once QEMU is starting: its start is the long pole. */
int runtime_listen(struct vm *vm, int *fd, struct vr_error *err);

/* sd_notify(3) without libsystemd: a datagram to $NOTIFY_SOCKET. */
void runtime_notify(const char *state);

/* supervise.c: running one VM from start to end: apply the plan, start
 * swtpm and QEMU paused, pin, cont, supervise over QMP in one poll loop,
 * stop on request, and give the host back. */
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
int supervise_run(struct vm *vm, struct run_opts *o, struct vr_error *err);

#endif
