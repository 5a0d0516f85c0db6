/* qmp.h: client side of the QEMU Machine Protocol over a stream socket:
 * greeting, capabilities, commands matched by id, events dispatched by name.
 *
 * Two ways to use one connection, sharing one reader:
 *  - blocking: qmp_handshake() and qmp_execute() wait with poll() until the
 *    reply or the deadline; events that arrive meanwhile are queued;
 *  - from a poll() loop: qmp_send() a command, poll qmp_fd() for
 *    qmp_poll_events() with a timeout no later than qmp_next_timeout(),
 *    call qmp_write_ready() / qmp_read_ready() on POLLOUT / POLLIN (POLLHUP
 *    and POLLERR count as POLLIN), then qmp_take_reply() for the commands
 *    sent and qmp_dispatch_events() (or qmp_next_event()) for the events.
 *
 * Errors (struct vr_error, negative errno):
 *   -ETIMEDOUT   no reply within the command's timeout (the command is
 *                forgotten; a late reply is logged and dropped)
 *   -EREMOTEIO   QEMU answered {"error": ...}; the message holds the
 *                command, the error class and QEMU's description
 *   -ECONNRESET  QEMU closed the connection (EOF, or -EPIPE when a write
 *                finds it gone before the EOF was read)
 *   -EPROTO      QEMU sent something that is not a QMP message
 *   -EMSGSIZE    a message larger than the bound (16 MiB by default)
 * After any of the last three (or another socket error) the connection
 * is broken and its socket closed: qmp_fd() is -1 (poll() skips it), every
 * later call returns the same error, and replies and events that arrived
 * before the break can still be taken. A break can happen inside a call
 * that succeeded (quit's reply and the EOF come in one read):
 * qmp_get_error() tells. */
#ifndef VMRUN_QMP_H
#define VMRUN_QMP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "base/base.h"

#define QMP_MAX_MESSAGE (16 * 1024 * 1024)

struct qmp;

/* The QEMU that greeted us ({"QMP": {"version": ...}}). */
struct qmp_version {
	int major;
	int minor;
	int micro;
	char package[128]; /* distribution's build string, may be empty */
};

struct qmp_event {
	char *name;		  /* "SHUTDOWN", "RESET", "STOP", ... */
	struct json_object *data; /* the event's data; {} when it has none */
	int64_t seconds; /* QEMU's timestamp (host wall clock), -1 if none */
	int64_t microseconds;
};

/* Connect to a unix socket path (already passed through hostfs_path()),
 * retrying while it does not exist or refuses (QEMU still starting) until
 * timeout_ms has passed. Does not read the greeting: see qmp_handshake(). */
int qmp_connect(const char *path, int timeout_ms, struct qmp **out,
		struct vr_error *err);
/* Take over a connected stream socket (made non-blocking, closed by
 * qmp_close()), e.g. one end of a socketpair QEMU inherited. */
int qmp_open_fd(int fd, struct qmp **out, struct vr_error *err);
/* Closes the socket, frees queued events, replies and handlers. NULL-safe. */
void qmp_close(struct qmp *q);

/* Log every message sent ("->") and received ("<-"), with a timestamp, and
 * what the reader dropped ("!!"). NULL turns it off. Not owned. */
void qmp_set_log(struct qmp *q, FILE *log);
/* Largest message accepted from QEMU (bytes); QMP_MAX_MESSAGE by default. */
void qmp_set_max_message(struct qmp *q, size_t bytes);

/* While the blocking calls wait, also poll fd for POLLIN and call fn(data)
 * when it is ready: another stream of the peer's that must not fill up
 * meanwhile (QEMU's stderr). fn returns the fd to poll from then on, -1
 * for none (at its EOF). fn NULL: none. */
void qmp_watch(struct qmp *q, int fd, int (*fn)(void *data), void *data);

/* Wait for the greeting, then negotiate capabilities (none are enabled). */
int qmp_handshake(struct qmp *q, int timeout_ms, struct vr_error *err);
/* The greeting's version; NULL before the greeting arrived. */
const struct qmp_version *qmp_version(const struct qmp *q);

/* Run one command and wait up to timeout_ms (< 0: no limit) for its reply.
 * args is a JSON object or NULL, not consumed. On success *ret (when ret
 * is not NULL) is the "return" value, a new reference to json_object_put. */
int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args,
		int timeout_ms, struct json_object **ret, struct vr_error *err);

/* Asynchronous form: queue the command (written at once if the socket
 * takes it, else on POLLOUT) and return its id. The reply must arrive
 * within timeout_ms (< 0: no limit). With id NULL nobody takes the reply:
 * it is dropped when it arrives (an error reply is logged), and the
 * command is forgotten once its time has run out. */
int qmp_send(struct qmp *q, const char *cmd, struct json_object *args,
	     int timeout_ms, uint64_t *id, struct vr_error *err);
/* The reply to command id: 0 and *ret as for qmp_execute(); -EAGAIN
 * (err untouched) while it has not arrived and its time has not run out;
 * otherwise the command is done with and one of the errors above, or
 * -ENOENT for an id that is not outstanding. */
int qmp_take_reply(struct qmp *q, uint64_t id, struct json_object **ret,
		   struct vr_error *err);

/* 0 while the connection works, else the error that broke it. */
int qmp_get_error(const struct qmp *q, struct vr_error *err);

/* The socket to poll(); -1 once the connection is broken. */
int qmp_fd(const struct qmp *q);
/* POLLIN, plus POLLOUT while a command is not fully written. */
short qmp_poll_events(const struct qmp *q);
/* Milliseconds until the earliest command sent with an id times out (0
 * while one has and was not taken yet), -1 when none can: the poll()
 * timeout to use at most. */
int qmp_next_timeout(const struct qmp *q);
/* Write what the socket takes of the pending commands. */
int qmp_write_ready(struct qmp *q, struct vr_error *err);
/* Read what is available, parse every complete message in it, queue the
 * replies and events. Returns 0 or the error that broke the connection. */
int qmp_read_ready(struct qmp *q, struct vr_error *err);

/* Handler for events of one name, or of every name without its own
 * handler when name is "*". Replaces the previous one; fn NULL removes. */
void qmp_on_event(struct qmp *q, const char *name,
		  void (*fn)(const struct qmp_event *ev, void *data),
		  void *data);
/* Hand every queued event, oldest first, to its handler; events without
 * one are dropped. Call it after qmp_read_ready() and qmp_execute() (which
 * never run handlers, so a handler may itself call qmp_execute(); it
 * must not call qmp_close()).
 * Returns the number of events handled. */
int qmp_dispatch_events(struct qmp *q);
/* Or take the oldest queued event: true and *ev filled (release it with
 * qmp_event_release()), false when the queue is empty. */
bool qmp_next_event(struct qmp *q, struct qmp_event *ev);
void qmp_event_release(struct qmp_event *ev);

#endif
