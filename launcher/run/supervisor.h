/* supervisor.h: the supervisor's state, private to supervise.c (the run and its
 * loop), ladder.c (stopping, QMP events), runstate.c (what QEMU says about
 * the guest) and clients.c (the clients of the control socket). */
#ifndef VMRUN_SUP_H
#define VMRUN_SUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "qmp/qmp.h"
#include "run/run.h"

/* Clients at once; the oldest one that has not sent its request yet
 * makes room for a new one. */
#define MAX_CLIENTS 32
#define GRACE_MS    5000
/* A client has this long to send its request line. */
#define CLIENT_REQUEST_MS 5000
/* QEMU has this long to answer the query-status of a `vmrun status`. */
#define STATUS_QUERY_MS 2000
/* Longest request line. */
#define CLIENT_LINE_MAX 4096

enum stage {
	ST_RUNNING,
	ST_POWERDOWN1,
	ST_POWERDOWN2,
	ST_QUIT,
	ST_TERM,
	ST_KILL
};

enum client_state {
	CL_READING, /* connected, its request line not complete yet */
	CL_QUERY,   /* waiting for QEMU's reply to send the answer */
	CL_IDLE,    /* answered; may send another request */
	CL_END,	    /* asked to stop: hears how the VM ended */
};

struct client {
	int fd;
	enum client_state state;
	int64_t deadline; /* ms, monotonic: the request must be in by then */
	uint64_t qmp_id;  /* CL_QUERY: the QMP command whose reply it waits */
	char cmd[16];	  /* CL_QUERY: "status" or "cont" */
	size_t len;
	char buf[CLIENT_LINE_MAX];
};

/* echo.c: QEMU's stdout and stderr come through a pipe vmrun reads
 * wherever it waits for QEMU: each line is passed on as QEMU wrote it (to
 * vmrun's stderr: the terminal, the VM log when detached, the journal; and
 * to the VM log when that is a file of its own), and the last ECHO_TAIL
 * bytes are kept to tell why a start failed. */
#define ECHO_TAIL 8192
struct echo {
	int fd;		 /* the read end (non-blocking); -1 after EOF */
	char line[1024]; /* what QEMU wrote of a line so far */
	size_t len;
	char tail[ECHO_TAIL]; /* a ring: the last bytes QEMU wrote */
	size_t head;	      /* where the next byte goes */
	bool wrapped;
};

/* The pipe: *wfd is the end QEMU gets as its stdout and stderr (the
 * caller closes it once QEMU started). */
int echo_open(struct echo *e, int *wfd, struct vr_error *err);
/* Read what is there (never blocks); the fd to poll now, -1 after EOF. */
int echo_read(struct echo *e);
/* echo_read() for qmp_watch(). */
int echo_watch(void *e);
/* QEMU is gone: read the rest, pass on a last line without a newline. */
void echo_drain(struct echo *e);
/* The lines kept, oldest first. Malloc'd. */
char *echo_text(const struct echo *e);
void echo_close(struct echo *e);

struct sup {
	struct vm *vm;
	const struct profile *p;
	struct run_opts *opts;
	struct qmp *qmp; /* NULL once the connection broke */
	pid_t qemu;
	struct echo out; /* QEMU's stdout and stderr */
	int qemu_pidfd;
	int qemu_status;
	bool qemu_gone;
	pid_t swtpm; /* 0 without swtpm */
	int sigfd, ctl;
	struct client *clients[MAX_CLIENTS];
	size_t nclients;
	enum stage stage;
	int64_t stop_start, deadline; /* ms, monotonic; deadline 0 = none */
	bool guest_shutdown, panicked, forced;
	bool internal_error; /* QEMU stopped the guest: internal-error */
	bool swtpm_died;     /* swtpm ended while the guest ran */
	pid_t swtpm_ended;   /* swtpm's pid when it ended, until judged */
	int swtpm_status;
	int64_t swtpm_judge;  /* ms, monotonic: blame swtpm if QEMU lives on */
	bool paused_by_error; /* io-error: paused until `vmrun cont` */
	bool query_pending;   /* a query-status after STOP is on its way */
	uint64_t query_id;
	char io_error[512]; /* the last BLOCK_IO_ERROR, for messages */
	char problem[768];  /* why the guest is paused, for status */
	const char *state;
	time_t started;
	struct hook_run hook;		/* the phase whose hooks run now */
	struct hook_groups hook_groups; /* ended with the VM */
	bool hook_warned;		/* post-start failure reported */
	struct notifier notes;		/* desktop notifiers running */
};

/* The stop ladder: system_powerdown twice, the profile's timeout, quit,
 * SIGTERM, SIGKILL. */
void ladder_enter(struct sup *s, enum stage st);
void ladder_stop(struct sup *s, bool force);
void ladder_on_deadline(struct sup *s);
bool ladder_powering_off(const struct sup *s);
void ladder_show_power_off(const struct sup *s);
/* QMP events: SHUTDOWN, GUEST_PANICKED, RESET, STOP, RESUME,
 * BLOCK_IO_ERROR. */
void ladder_on_event(const struct qmp_event *ev, void *data);

/* prealloc.c: QEMU touches hugepage-backed guest RAM before its monitor
 * answers. Wait for the greeting on qmp_fd with a progress line on a
 * terminal, and log how long it took; a signal, QEMU's death or a time
 * far past the estimate ends the wait. 0 at once without preallocation. */
int prealloc_wait(struct sup *s, int qmp_fd, struct vr_error *err);

/* runstate.c: a guest that stops without powering off. On STOP the run
 * state is asked for (query-status) and acted on: internal-error and
 * guest-panicked end the run, io-error keeps the guest paused and says
 * which disk failed and how to go on. */
void runstate_on_stop(struct sup *s);
void runstate_on_resume(struct sup *s);
void runstate_on_block_io_error(struct sup *s, json_object *data);
/* After QMP traffic: take the reply to the query, if it came. */
void runstate_poll(struct sup *s);
/* swtpm ended while the guest ran. swtpm also ends when QEMU does, and
 * QEMU's threads can take a while to go after its sockets close: judged
 * SWTPM_GRACE_MS later (runstate_swtpm_check from the loop), swtpm's own
 * end says so and powers the guest off, unless QEMU ended meanwhile. */
#define SWTPM_GRACE_MS 1000
void runstate_swtpm_gone(struct sup *s, pid_t pid, int status);
void runstate_swtpm_check(struct sup *s);

/* clients.c: the control socket's clients. */
void clients_accept(struct sup *s);
/* Read what client i sent and answer any complete request. */
void clients_on_input(struct sup *s, size_t i);
/* Answer clients whose QMP reply came or timed out; drop those past
 * their deadline. */
void clients_poll(struct sup *s);
/* The earliest client deadline as a poll() timeout in ms, -1 for none. */
int clients_next_timeout(const struct sup *s);
const char *clients_reason_name(int code);
/* The last word to every client: how the VM ended; then close them. */
void clients_tell(struct sup *s, int code, const char *msg);

#endif
