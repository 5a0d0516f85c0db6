/* fuzz_qmp.c: libFuzzer harness for the QMP reader: the input, cut into
 * chunks the input itself chooses, arrives over a socketpair as from QEMU.
 *
 * Input layout: byte 0 sets options (bit 0: log to /dev/null, bit 1: a
 * 512-byte message bound, bits 2-3: commands sent before reading, bit 4:
 * close our end of the socket at the end), byte 1 seeds the chunk sizes,
 * the rest is what "QEMU" sends. Each chunk is written, then read with
 * qmp_read_ready(), so every split point of a message gets exercised. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp/qmp.h"

#define OPT_LOG	      0x01
#define OPT_SMALL_MAX 0x02
#define OPT_NCMDS(o)  (((o) >> 2) & 3)
#define OPT_EOF	      0x10
#define MAX_CMDS      3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

/* Touch every field a handler would read. */
static void on_event(const struct qmp_event *ev, void *data)
{
	size_t *count = data;

	if (!ev->name || !ev->data ||
	    !json_object_is_type(ev->data, json_type_object))
		abort();
	(*count) += strlen(json_object_to_json_string(ev->data)) > 0;
}

/* A broken connection keeps its error and closes its socket. */
static void check_state(struct qmp *q, int r, const struct vr_error *err)
{
	struct vr_error again;

	if (r > 0)
		abort();
	if (r == 0) {
		if (qmp_get_error(q, &again) != 0 || qmp_fd(q) < 0)
			abort();
		return;
	}
	if (err->code != -r || !err->msg[0] || qmp_fd(q) != -1 ||
	    qmp_poll_events(q) != 0 || qmp_get_error(q, &again) != r ||
	    strcmp(again.msg, err->msg))
		abort();
}

/* The next chunk size, 1..size: mostly small, sometimes everything. */
static size_t next_chunk(uint32_t *seed, size_t size)
{
	uint32_t x = *seed;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*seed = x;
	if ((x & 7) == 0)
		return size;
	return 1 + (x >> 8) % (size < 97 ? size : 97);
}

static void send_commands(struct qmp *q, unsigned n, uint64_t *ids)
{
	struct vr_error err;

	for (unsigned i = 0; i < n; i++)
		if (qmp_send(q, i == 1 ? "query-status" : "cont", NULL,
			     i == 2 ? 0 : -1, i == 2 ? NULL : &ids[i], &err))
			abort(); /* nothing was read yet: cannot fail */
}

static void take_replies(struct qmp *q, uint64_t *ids, unsigned n)
{
	struct json_object *ret;
	struct vr_error err;

	for (unsigned i = 0; i < n; i++) {
		int r;

		if (!ids[i])
			continue;
		ret = NULL;
		r = qmp_take_reply(q, ids[i], &ret, &err);
		if (r == 0)
			json_object_put(ret);
		if (r != -EAGAIN)
			ids[i] = 0;
		if (r < 0 && r != -EAGAIN && !err.msg[0])
			abort();
	}
}

static void feed(struct qmp *q, int peer, const uint8_t *data, size_t size,
		 uint32_t seed, uint64_t *ids, unsigned ncmds)
{
	struct vr_error err;
	size_t off = 0, n;
	int r = 0;

	while (off < size && r == 0) {
		n = next_chunk(&seed, size - off);
		if (write(peer, data + off, n) != (ssize_t)n)
			abort(); /* chunks are below the socket buffer */
		off += n;
		r = qmp_read_ready(q, &err);
		check_state(q, r, &err);
		qmp_dispatch_events(q);
		take_replies(q, ids, ncmds);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t ids[MAX_CMDS] = {0};
	size_t events = 0;
	struct qmp_event ev;
	struct vr_error err;
	struct qmp *q;
	uint8_t opt;
	int sv[2], r;

	if (size < 2 || size > 64 * 1024)
		return -1; /* keep each write below the socket buffer */
	opt = data[0];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    qmp_open_fd(sv[0], &q, &err))
		abort();
	if (opt & OPT_LOG) {
		if (!devnull)
			devnull = fopen("/dev/null", "we");
		qmp_set_log(q, devnull);
	}
	if (opt & OPT_SMALL_MAX)
		qmp_set_max_message(q, 512);
	qmp_on_event(q, opt & 0x20 ? "SHUTDOWN" : "*", on_event, &events);
	send_commands(q, OPT_NCMDS(opt), ids);
	feed(q, sv[1], data + 2, size - 2, data[1] | 1u, ids, OPT_NCMDS(opt));
	if (opt & OPT_EOF) {
		close(sv[1]);
		sv[1] = -1;
		r = qmp_read_ready(q, &err);
		check_state(q, r, &err);
		if (r != -ECONNRESET && r != -EPROTO && r != -EMSGSIZE)
			abort(); /* EOF always breaks the connection */
	}
	take_replies(q, ids, OPT_NCMDS(opt));
	while (qmp_next_event(q, &ev))
		qmp_event_release(&ev);
	qmp_close(q);
	if (sv[1] >= 0)
		close(sv[1]);
	return 0;
}
