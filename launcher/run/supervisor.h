/* supervisor.h: the supervisor's state, private to supervise.c (the run and its
 * loop), ladder.c (stopping, QMP events) and clients.c (the clients of
 * the control socket). */
#ifndef VMRUN_SUP_H
#define VMRUN_SUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "qmp/qmp.h"
#include "run/run.h"

#define MAX_CLIENTS 16
#define GRACE_MS    5000

enum stage {
	ST_RUNNING,
	ST_POWERDOWN1,
	ST_POWERDOWN2,
	ST_QUIT,
	ST_TERM,
	ST_KILL
};

struct sup {
	struct vm *vm;
	const struct profile *p;
	struct qmp *qmp; /* NULL once the connection broke */
	pid_t qemu;
	int qemu_pidfd;
	int qemu_status;
	bool qemu_gone;
	int sigfd, ctl;
	int clients[MAX_CLIENTS];
	size_t nclients;
	enum stage stage;
	int64_t stop_start, deadline; /* ms, monotonic; deadline 0 = none */
	bool guest_shutdown, panicked, forced;
	const char *state;
	time_t started;
};

int64_t ladder_now_ms(void);
/* The stop ladder: system_powerdown twice, the profile's timeout, quit,
 * SIGTERM, SIGKILL. */
void ladder_enter(struct sup *s, enum stage st);
void ladder_stop(struct sup *s, bool force);
void ladder_on_deadline(struct sup *s);
bool ladder_powering_off(const struct sup *s);
void ladder_show_power_off(const struct sup *s);
/* QMP events: SHUTDOWN, GUEST_PANICKED, RESET, STOP, RESUME. */
void ladder_on_event(const struct qmp_event *ev, void *data);

/* prealloc.c: QEMU touches hugepage-backed guest RAM before its monitor
 * answers. Wait for the greeting on qmp_fd with a progress line on a
 * terminal, and log how long it took; a signal, QEMU's death or a time
 * far past the estimate ends the wait. 0 at once without preallocation. */
int prealloc_wait(struct sup *s, int qmp_fd, struct vr_error *err);

void clients_accept(struct sup *s);
void clients_request(struct sup *s, size_t i);
const char *clients_reason_name(int code);
/* The last word to every client: how the VM ended; then close them. */
void clients_tell(struct sup *s, int code, const char *msg);

#endif
