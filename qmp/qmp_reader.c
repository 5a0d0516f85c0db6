/* qmp_reader.c: QMP's incoming side: bytes from the socket through json-c's
 * incremental tokener to the greeting, replies and queued events. */
#include "qmp_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Reads per qmp_read_ready(): poll() is level-triggered, so the rest waits
 * for the next round instead of starving the caller's other fds. */
#define QMP_READS_PER_CALL 16
#define QMP_LOG_MAX	   4000

void qmp_log(struct qmp *q, const char *dir, const char *text)
{
	struct timespec ts;
	char stamp[32];
	struct tm tm;
	size_t len = strlen(text);

	if (!q->log)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	if (len > QMP_LOG_MAX)
		fprintf(q->log, "%s.%03ld QMP %s %.*s... (%zu bytes)\n", stamp,
			ts.tv_nsec / 1000000, dir, QMP_LOG_MAX, text, len);
	else
		fprintf(q->log, "%s.%03ld QMP %s %s\n", stamp,
			ts.tv_nsec / 1000000, dir, text);
	fflush(q->log);
}

/* Printable excerpt of raw bytes for error messages. */
static const char *excerpt(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, size - o, "\\x%02x", c);
	}
	snprintf(out + o, size - o, "%s", i < len ? "..." : "");
	return out;
}

static const char *json_excerpt(struct json_object *o, char *out, size_t size)
{
	const char *s =
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	return excerpt(s, strlen(s), out, size);
}

int qmp_break(struct qmp *q, int code, const char *fmt, ...)
{
	char msg[VR_ERROR_MAX];
	va_list ap;

	if (q->broken)
		return q->broken;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q->broken = vr_errorx(&q->broken_err, code, "%s", msg);
	qmp_log(q, "!!", msg);
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	return q->broken;
}

struct qmp_cmd *qmp_find_cmd(struct qmp *q, uint64_t id)
{
	for (size_t i = 0; i < q->ncmds; i++)
		if (q->cmds[i].id == id)
			return &q->cmds[i];
	return NULL;
}

int64_t qmp_json_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

static int qmp_handle_greeting(struct qmp *q, struct json_object *msg)
{
	struct json_object *g, *ver, *qemu, *pkg;
	char ex[128];

	if (!json_object_object_get_ex(msg, "QMP", &g))
		return qmp_break(q, EPROTO,
				 "QMP: expected the greeting {\"QMP\": ...} "
				 "from QEMU, got %s (is this a QMP socket?)",
				 json_excerpt(msg, ex, sizeof(ex)));
	if (!json_object_object_get_ex(g, "version", &ver) ||
	    !json_object_object_get_ex(ver, "qemu", &qemu) ||
	    qmp_json_int(qemu, "major") < 0)
		return qmp_break(q, EPROTO,
				 "QMP: the greeting from QEMU has no version: "
				 "%s",
				 json_excerpt(msg, ex, sizeof(ex)));
	q->version.major = (int)qmp_json_int(qemu, "major");
	q->version.minor = (int)qmp_json_int(qemu, "minor");
	q->version.micro = (int)qmp_json_int(qemu, "micro");
	if (json_object_object_get_ex(ver, "package", &pkg) &&
	    json_object_is_type(pkg, json_type_string))
		snprintf(q->version.package, sizeof(q->version.package), "%s",
			 json_object_get_string(pkg));
	q->greeted = true;
	return 0;
}

int qmp_reply_result(struct qmp_cmd *c, struct json_object **ret,
		     struct vr_error *err)
{
	struct json_object *v, *e, *cls = NULL, *desc = NULL;

	if (json_object_object_get_ex(c->resp, "return", &v)) {
		if (ret)
			*ret = json_object_get(v);
		return 0;
	}
	if (json_object_object_get_ex(c->resp, "error", &e)) {
		json_object_object_get_ex(e, "class", &cls);
		json_object_object_get_ex(e, "desc", &desc);
	}
	return vr_errorx(
		err, EREMOTEIO, "QMP command %s failed: %s: %s", c->name,
		cls ? json_object_get_string(cls) : "(no class)",
		desc ? json_object_get_string(desc) : "(no description)");
}

static void qmp_handle_reply(struct qmp *q, struct json_object *msg)
{
	struct json_object *idv;
	struct qmp_cmd *c = NULL;
	struct vr_error err;

	if (json_object_object_get_ex(msg, "id", &idv) &&
	    json_object_is_type(idv, json_type_int))
		c = qmp_find_cmd(q, (uint64_t)json_object_get_int64(idv));
	if (!c || c->resp) {
		qmp_log(q, "!!",
			"dropping a reply that matches no command "
			"waiting for one");
		return;
	}
	c->resp = json_object_get(msg);
	if (c->detached) {
		if (qmp_reply_result(c, NULL, &err) < 0)
			qmp_log(q, "!!", err.msg);
		qmp_drop_cmd(q, c);
	}
}

static int qmp_handle_message(struct qmp *q, struct json_object *msg)
{
	struct json_object *ev;

	qmp_log(q, "<-",
		json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
	if (!q->greeted)
		return qmp_handle_greeting(q, msg);
	if (json_object_object_get_ex(msg, "event", &ev) &&
	    json_object_is_type(ev, json_type_string))
		qmp_queue_event(q, msg, json_object_get_string(ev));
	else if (json_object_object_get_ex(msg, "return", NULL) ||
		 json_object_object_get_ex(msg, "error", NULL))
		qmp_handle_reply(q, msg);
	else
		qmp_log(q, "!!",
			"ignoring a message that is neither an event "
			"nor a reply");
	return 0;
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* The excerpt starts a little before where the parser stopped. */
static int qmp_feed_error(struct qmp *q, const char *what, const char *buf,
			  size_t len, size_t at)
{
	size_t from = at > 16 ? at - 16 : 0;
	char ex[64];

	return qmp_break(q, EPROTO,
			 "QMP: malformed message from QEMU (%s) near \"%s\"",
			 what, excerpt(buf + from, len - from, ex, sizeof(ex)));
}

/* Parse len bytes: complete messages are handled at once, the tail of an
 * unfinished one stays inside the tokener until the next read. */
static int qmp_feed(struct qmp *q, const char *buf, size_t len)
{
	enum json_tokener_error jerr;
	struct json_object *obj;
	size_t used;
	int r;

	while (len > 0 && !q->broken) {
		obj = json_tokener_parse_ex(q->tok, buf, (int)len);
		jerr = json_tokener_get_error(q->tok);
		used = jerr == json_tokener_continue
			       ? len
			       : json_tokener_get_parse_end(q->tok);
		if (q->partial || !is_blank(buf, used)) {
			q->partial = true;
			q->msg_bytes += used;
		}
		if (q->msg_bytes > q->max_message) {
			json_object_put(obj);
			return qmp_break(q, EMSGSIZE,
					 "QMP: message from QEMU larger than "
					 "%zu bytes; giving up on it",
					 q->max_message);
		}
		if (jerr == json_tokener_continue)
			return 0;
		if (jerr != json_tokener_success)
			return qmp_feed_error(q, json_tokener_error_desc(jerr),
					      buf, len, used);
		if (!json_object_is_type(obj, json_type_object) || !used) {
			json_object_put(obj);
			return qmp_feed_error(q, "not a JSON object", buf, len,
					      0);
		}
		json_tokener_reset(q->tok);
		q->partial = false;
		q->msg_bytes = 0;
		r = qmp_handle_message(q, obj);
		json_object_put(obj);
		if (r < 0)
			return r;
		buf += used;
		len -= used;
	}
	return q->broken;
}

int qmp_read_ready(struct qmp *q, struct vr_error *err)
{
	ssize_t n;

	for (int i = 0; i < QMP_READS_PER_CALL && !q->broken; i++) {
		n = recv(q->fd, q->rbuf, sizeof(q->rbuf), 0);
		if (n > 0) {
			qmp_feed(q, q->rbuf, (size_t)n);
		} else if ((n == 0 || errno == ECONNRESET) && q->partial) {
			qmp_break(q, ECONNRESET,
				  "QMP: QEMU closed the connection in the "
				  "middle of a message (%zu bytes received)",
				  q->msg_bytes);
		} else if (n == 0 || errno == ECONNRESET) {
			/* A reset only says commands were left unread. */
			qmp_break(q, ECONNRESET,
				  "QMP: QEMU closed the connection");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		} else if (errno != EINTR) {
			qmp_break(q, errno, "QMP: reading from QEMU: %s",
				  strerror(errno));
		}
	}
	return q->broken ? qmp_get_error(q, err) : 0;
}

int qmp_get_error(const struct qmp *q, struct vr_error *err)
{
	if (q->broken)
		*err = q->broken_err;
	return q->broken;
}
