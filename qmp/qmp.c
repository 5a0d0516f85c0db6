/* qmp.c: QMP client: the socket, the outgoing side (commands with ids and
 * deadlines, partial writes) and the blocking calls built on poll(). */
#include "qmp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Milliseconds left before deadline, as a poll() timeout. */
static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

void qmp_drop_cmd(struct qmp *q, struct qmp_cmd *c)
{
	free(c->name);
	json_object_put(c->resp);
	*c = q->cmds[--q->ncmds];
}

int qmp_write_ready(struct qmp *q, struct vr_error *err)
{
	struct vr_error ignored;
	ssize_t n;
	int code;

	while (!q->broken && q->out_off < q->out_len) {
		n = send(q->fd, q->out + q->out_off, q->out_len - q->out_off,
			 MSG_NOSIGNAL);
		if (n >= 0) {
			q->out_off += (size_t)n;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			continue;
		/* QEMU went away: what it said last (a SHUTDOWN event, an
		 * EOF) is still in our receive buffer and tells more. */
		code = errno;
		qmp_read_ready(q, &ignored);
		qmp_break(q, code, "QMP: writing to QEMU: %s", strerror(code));
	}
	if (q->broken)
		return qmp_get_error(q, err);
	q->out_len = q->out_off = 0;
	return 0;
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

short qmp_poll_events(const struct qmp *q)
{
	if (q->broken)
		return 0;
	return POLLIN | (q->out_off < q->out_len ? POLLOUT : 0);
}

int qmp_next_timeout(const struct qmp *q)
{
	int best = -1, left;

	for (size_t i = 0; i < q->ncmds; i++) {
		if (q->cmds[i].resp || q->cmds[i].deadline < 0 ||
		    q->cmds[i].detached)
			continue;
		left = remaining_ms(q->cmds[i].deadline);
		if (best < 0 || left < best)
			best = left;
	}
	return best;
}

/* One round of poll() on the socket (and the watched fd) for the
 * blocking calls. */
static void qmp_wait(struct qmp *q, int timeout_ms)
{
	struct pollfd pfd[2] = {{.fd = q->fd, .events = qmp_poll_events(q)},
				{.fd = q->watch_fd, .events = POLLIN}};
	struct vr_error ignored; /* a break is seen by the caller's check */

	if (poll(pfd, 2, timeout_ms) <= 0)
		return;
	if (pfd[1].revents)
		q->watch_fd = q->watch_fn(q->watch_data);
	if (pfd[0].revents & POLLOUT)
		qmp_write_ready(q, &ignored);
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
		qmp_read_ready(q, &ignored);
}

void qmp_watch(struct qmp *q, int fd, int (*fn)(void *data), void *data)
{
	q->watch_fd = fn ? fd : -1;
	q->watch_fn = fn;
	q->watch_data = data;
}

static char *qmp_format_command(const char *cmd, struct json_object *args,
				uint64_t id)
{
	struct json_object *msg = json_object_new_object();
	char *line;

	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", json_object_get(args));
	json_object_object_add(msg, "id", json_object_new_int64((int64_t)id));
	line = xstrdup(json_object_to_json_string_ext(
		msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(msg);
	return line;
}

/* Detached commands nobody will take: forget those whose time ran out. */
static void qmp_prune_detached(struct qmp *q)
{
	char msg[256];

	for (size_t i = q->ncmds; i-- > 0;) {
		struct qmp_cmd *c = &q->cmds[i];

		if (!c->detached || c->deadline < 0 ||
		    remaining_ms(c->deadline) > 0)
			continue;
		snprintf(msg, sizeof(msg), "no reply to %s within %d ms",
			 c->name, c->timeout_ms);
		qmp_log(q, "!!", msg);
		qmp_drop_cmd(q, c);
	}
}

static void qmp_add_cmd(struct qmp *q, const char *cmd, int timeout_ms,
			bool detached)
{
	q->cmds = xrealloc(q->cmds, (q->ncmds + 1) * sizeof(*q->cmds));
	q->cmds[q->ncmds++] = (struct qmp_cmd){
		.id = q->next_id,
		.name = xstrdup(cmd),
		.timeout_ms = timeout_ms,
		.deadline = deadline_of(timeout_ms),
		.detached = detached,
	};
}

int qmp_send(struct qmp *q, const char *cmd, struct json_object *args,
	     int timeout_ms, uint64_t *id, struct vr_error *err)
{
	cleanup_free char *line = NULL;
	size_t len;
	int r;

	if (q->broken)
		return qmp_get_error(q, err);
	if (!cmd || !*cmd)
		return vr_errorx(err, EINVAL, "QMP: empty command name");
	if (args && !json_object_is_type(args, json_type_object))
		return vr_errorx(err, EINVAL,
				 "QMP %s: the arguments must be a JSON object, "
				 "not %s",
				 cmd, json_object_to_json_string(args));
	qmp_prune_detached(q);
	line = qmp_format_command(cmd, args, ++q->next_id);
	qmp_log(q, "->", line);
	len = strlen(line);
	q->out = xrealloc(q->out, q->out_len + len + 1);
	memcpy(q->out + q->out_len, line, len);
	q->out[q->out_len + len] = '\n';
	q->out_len += len + 1;
	qmp_add_cmd(q, cmd, timeout_ms, !id);
	r = qmp_write_ready(q, err);
	if (r < 0) {
		qmp_drop_cmd(q, qmp_find_cmd(q, q->next_id));
		return r;
	}
	if (id)
		*id = q->next_id;
	return 0;
}

int qmp_take_reply(struct qmp *q, uint64_t id, struct json_object **ret,
		   struct vr_error *err)
{
	struct qmp_cmd *c = qmp_find_cmd(q, id);
	int r;

	if (!c)
		return vr_errorx(err, ENOENT,
				 "QMP: no command with id %llu is waiting for "
				 "a reply",
				 (unsigned long long)id);
	if (c->resp)
		r = qmp_reply_result(c, ret, err);
	else if (q->broken)
		r = qmp_get_error(q, err);
	else if (c->deadline >= 0 && remaining_ms(c->deadline) == 0)
		r = vr_errorx(err, ETIMEDOUT,
			      "QMP: no reply to %s from QEMU within %d ms",
			      c->name, c->timeout_ms);
	else
		return -EAGAIN;
	qmp_drop_cmd(q, c);
	return r;
}

int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args,
		int timeout_ms, struct json_object **ret, struct vr_error *err)
{
	uint64_t id;
	int r;

	r = qmp_send(q, cmd, args, timeout_ms, &id, err);
	while (r == 0 && (r = qmp_take_reply(q, id, ret, err)) == -EAGAIN) {
		qmp_wait(q, qmp_next_timeout(q));
		r = 0;
	}
	return r;
}

int qmp_handshake(struct qmp *q, int timeout_ms, struct vr_error *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	int r;

	while (!q->greeted && !q->broken) {
		if (remaining_ms(deadline) == 0)
			return vr_errorx(err, ETIMEDOUT,
					 "QMP: no greeting from QEMU within "
					 "%d ms (is this a QMP socket?)",
					 timeout_ms);
		qmp_wait(q, remaining_ms(deadline));
	}
	if (q->broken)
		return qmp_get_error(q, err);
	r = qmp_execute(q, "qmp_capabilities", NULL, remaining_ms(deadline),
			NULL, err);
	if (r < 0)
		return vr_error_prefix(err, "QMP capabilities negotiation");
	return 0;
}

const struct qmp_version *qmp_version(const struct qmp *q)
{
	return q->greeted ? &q->version : NULL;
}

int qmp_open_fd(int fd, struct qmp **out, struct vr_error *err)
{
	struct qmp *q;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return vr_error(err, errno, "QMP: socket fd %d", fd);
	q = xcalloc(1, sizeof(*q));
	q->fd = fd;
	q->watch_fd = -1;
	q->max_message = QMP_MAX_MESSAGE;
	q->tok = json_tokener_new_ex(64);
	if (!q->tok) {
		free(q);
		return vr_errorx(err, ENOMEM, "QMP: cannot allocate a parser");
	}
	json_tokener_set_flags(q->tok,
			       JSON_TOKENER_STRICT |
				       JSON_TOKENER_ALLOW_TRAILING_CHARS |
				       JSON_TOKENER_VALIDATE_UTF8);
	*out = q;
	return 0;
}

static int qmp_try_connect(const char *path, int *fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int r;

	strcpy(sa.sun_path, path); /* length checked by the caller */
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	r = -errno;
	close(*fd);
	*fd = -1;
	return r;
}

int qmp_connect(const char *path, int timeout_ms, struct qmp **out,
		struct vr_error *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	int fd, r;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return vr_errorx(
			err, ENAMETOOLONG,
			"QMP socket path is too long (%zu bytes, at "
			"most %zu): %s",
			strlen(path),
			sizeof(((struct sockaddr_un *)0)->sun_path) - 1, path);
	while ((r = qmp_try_connect(path, &fd)) < 0) {
		if (r != -ENOENT && r != -ECONNREFUSED && r != -EAGAIN)
			return vr_error(err, -r, "connect to QMP socket %s",
					path);
		if (remaining_ms(deadline) == 0)
			return vr_error(err, -r,
					"QMP socket %s accepted no connection "
					"within %d ms",
					path, timeout_ms);
		poll(NULL, 0, 20);
	}
	r = qmp_open_fd(fd, out, err);
	if (r < 0)
		close(fd);
	return r;
}

void qmp_set_log(struct qmp *q, FILE *log)
{
	q->log = log;
}

void qmp_set_max_message(struct qmp *q, size_t bytes)
{
	q->max_message = bytes;
}

void qmp_close(struct qmp *q)
{
	struct qmp_event ev;

	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	while (q->ncmds)
		qmp_drop_cmd(q, &q->cmds[0]);
	while (qmp_next_event(q, &ev))
		qmp_event_release(&ev);
	for (size_t i = 0; i < q->nhandlers; i++)
		free(q->handlers[i].name);
	free(q->handlers);
	free(q->cmds);
	free(q->out);
	json_tokener_free(q->tok);
	free(q);
}
