/* qmp_internal.h: the connection state shared by the QMP client's files
 * (qmp.c: socket and commands, qmp_reader.c, qmp_event.c). */
#ifndef VMRUN_QMP_INTERNAL_H
#define VMRUN_QMP_INTERNAL_H

#include "qmp/qmp.h"

struct qmp_cmd {
	uint64_t id;
	char *name;
	int timeout_ms;
	int64_t deadline;	  /* monotonic ms, -1 for none */
	struct json_object *resp; /* whole reply once it arrived */
	bool detached;		  /* sent without an id: nobody takes it */
};

struct qmp_handler {
	char *name;
	void (*fn)(const struct qmp_event *ev, void *data);
	void *data;
};

struct qmp_event_node {
	struct qmp_event ev;
	struct qmp_event_node *next;
};

struct qmp {
	int fd;
	FILE *log;
	struct json_tokener *tok;
	size_t max_message;
	size_t msg_bytes; /* of the message being parsed */
	bool partial;	  /* inside a message (not just between two) */
	bool greeted;
	struct qmp_version version;
	uint64_t next_id;
	struct qmp_cmd *cmds;
	size_t ncmds;
	struct qmp_handler *handlers;
	size_t nhandlers;
	struct qmp_event_node *ev_head, *ev_tail;
	size_t nevents;
	char *out; /* commands not yet written */
	size_t out_len, out_off;
	int broken; /* 0, or the negative errno that broke the connection */
	struct vr_error broken_err;
	char rbuf[64 * 1024];
	int watch_fd; /* qmp_watch(): -1 for none */
	int (*watch_fn)(void *data);
	void *watch_data;
};

/* A line in the log: dir is "->" (sent), "<-" (received) or "!!". */
void qmp_log(struct qmp *q, const char *dir, const char *text);
/* Mark the connection broken for good and close the socket; the first
 * error sticks. Returns the negative code. */
int qmp_break(struct qmp *q, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct qmp_cmd *qmp_find_cmd(struct qmp *q, uint64_t id);
void qmp_drop_cmd(struct qmp *q, struct qmp_cmd *c);
/* A reply's outcome: 0 and *ret (when not NULL) for {"return": ...}, or
 * -EREMOTEIO with QEMU's error class and description. */
int qmp_reply_result(struct qmp_cmd *c, struct json_object **ret,
		     struct vr_error *err);
/* The integer member key of o, -1 when absent or not an integer. */
int64_t qmp_json_int(struct json_object *o, const char *key);
/* Queue an event message ({"event": name, ...}) for dispatch. */
void qmp_queue_event(struct qmp *q, struct json_object *msg, const char *name);

#endif
