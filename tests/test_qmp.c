/* test_qmp.c: the QMP client against a scripted fake QEMU (a forked child
 * on a socketpair), a real QEMU when installed, and random input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qmp/qmp.h"
#include "base/base.h"

#define GREETING                                                               \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, "     \
	"\"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7\"}, "               \
	"\"capabilities\": [\"oob\"]}}\r\n"
#define TS	    "\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 42}"
#define EVENT(name) "{\"event\": \"" name "\", " TS "}\r\n"
#define SHUTDOWN_EVENT                                                         \
	"{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": "   \
	"\"guest-shutdown\"}, " TS "}\r\n"
#define STATUS                                                                 \
	"{\"status\": \"prelaunch\", \"singlestep\": false, \"running\": "     \
	"false}"

/* One step of the fake server's script. Sent text has "$N" replaced by
 * the id of the command that the EXPECT with slot N received. */
enum step_kind {
	S_END,
	S_SEND,
	S_EXPECT,
	S_SLEEP,
	S_WAIT_EOF
};
struct step {
	enum step_kind kind;
	const char *text; /* SEND: bytes; EXPECT: command name */
	int n;		  /* SEND: chunk size (0: all); EXPECT: slot; SLEEP */
};
/* clang-format off */
#define SEND(s)			{ S_SEND, (s), 0 }
#define SEND_BY(s, chunk)	{ S_SEND, (s), (chunk) }
#define EXPECT(cmd, slot)	{ S_EXPECT, (cmd), (slot) }
#define SLEEP(ms)		{ S_SLEEP, NULL, (ms) }
#define WAIT_EOF		{ S_WAIT_EOF, NULL, 0 }
#define END			{ S_END, NULL, 0 }
/* clang-format on */
/* Greeting and capability negotiation; slot 9 is the negotiation's id. */
#define HANDSHAKE                                                              \
	SEND(GREETING), EXPECT("qmp_capabilities", 9),                         \
		SEND("{\"return\": {}, \"id\": $9}\r\n")

struct fake {
	struct qmp *q;
	pid_t pid;
};

/* ---- the fake server (child process) ---- */

static char srv_buf[64 * 1024];
static size_t srv_len, srv_off;
static char srv_ids[10][64];

static void __attribute__((noreturn, format(printf, 1, 2)))
srv_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fake server: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	_exit(1);
}

/* One command line from the client, or NULL at EOF. */
static char *srv_read_line(int fd)
{
	size_t len = 0, cap = 256;
	char *line = xmalloc(cap);
	ssize_t n;

	for (;;) {
		if (srv_off == srv_len) {
			n = read(fd, srv_buf, sizeof(srv_buf));
			if (n <= 0) {
				free(line);
				return NULL;
			}
			srv_len = (size_t)n;
			srv_off = 0;
		}
		if (srv_buf[srv_off] == '\n') {
			srv_off++;
			line[len] = '\0';
			return line;
		}
		if (len + 2 > cap)
			line = xrealloc(line, cap *= 2);
		line[len++] = srv_buf[srv_off++];
	}
}

static void srv_expect(int fd, const char *cmd, int slot)
{
	struct json_object *msg, *v;
	char *line = srv_read_line(fd);

	if (!line)
		srv_die("EOF while waiting for %s", cmd);
	msg = json_tokener_parse(line);
	if (!msg || !json_object_object_get_ex(msg, "execute", &v) ||
	    strcmp(json_object_get_string(v), cmd))
		srv_die("expected %s, got %.200s", cmd, line);
	if (!json_object_object_get_ex(msg, "id", &v))
		srv_die("command without id: %.200s", line);
	snprintf(srv_ids[slot], sizeof(srv_ids[slot]), "%s",
		 json_object_to_json_string(v));
	json_object_put(msg);
	free(line);
}

static void srv_send(int fd, const char *text, size_t chunk)
{
	size_t off, len = strlen(text) + 1;
	char *s;

	for (const char *p = strchr(text, '$'); p; p = strchr(p + 1, '$'))
		len += sizeof(srv_ids[0]);
	s = xmalloc(len);
	len = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
			strcpy(s + len, srv_ids[*++p - '0']);
			len += strlen(s + len);
		} else {
			s[len++] = *p;
		}
	}
	s[len] = '\0';
	for (off = 0; off < len; off += chunk) {
		if (!chunk || chunk > len - off)
			chunk = len - off;
		/* A client that stopped listening (an error, a timeout) is
		 * for the next EXPECT or WAIT_EOF to judge. */
		if (send(fd, s + off, chunk, MSG_NOSIGNAL) != (ssize_t)chunk)
			break;
		usleep(chunk < len ? 1000 : 0);
	}
	free(s);
}

static void srv_run(int fd, const struct step *steps)
{
	char *line;

	for (const struct step *s = steps; s->kind != S_END; s++) {
		if (s->kind == S_SEND)
			srv_send(fd, s->text, (size_t)s->n);
		else if (s->kind == S_EXPECT)
			srv_expect(fd, s->text, s->n);
		else if (s->kind == S_SLEEP)
			usleep((useconds_t)s->n * 1000);
		else
			while ((line = srv_read_line(fd)))
				free(line);
	}
	close(fd);
	_exit(0);
}

static void fake_start(struct fake *f, const struct step *steps)
{
	struct vr_error err;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		close(sv[0]);
		srv_run(sv[1], steps);
	}
	close(sv[1]);
	assert_int_equal(qmp_open_fd(sv[0], &f->q, &err), 0);
}

static void fake_start_greeted(struct fake *f, const struct step *steps)
{
	struct vr_error err;

	fake_start(f, steps);
	assert_int_equal(qmp_handshake(f->q, 5000, &err), 0);
}

/* Closes the client and checks the server played its whole script. */
static void fake_end(struct fake *f)
{
	int status;

	qmp_close(f->q);
	if (!f->pid)
		return; /* reaped by the test */
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return "(missing)";
	return json_object_get_string(v);
}

/* ---- handshake ---- */

static void test_handshake(void **state)
{
	const struct step steps[] = {HANDSHAKE, WAIT_EOF, END};
	const struct qmp_version *v;
	char *logbuf = NULL;
	size_t loglen = 0;
	FILE *log = open_memstream(&logbuf, &loglen);
	struct fake f;

	(void)state;
	fake_start(&f, steps);
	assert_null(qmp_version(f.q));
	qmp_set_log(f.q, log);
	assert_true(qmp_fd(f.q) >= 0);
	assert_int_equal(qmp_handshake(f.q, 5000, &(struct vr_error){0}), 0);
	v = qmp_version(f.q);
	assert_non_null(v);
	assert_int_equal(v->major, 7);
	assert_int_equal(v->minor, 2);
	assert_int_equal(v->micro, 1);
	assert_string_equal(v->package, "Debian 1:7.2+dfsg-7");
	assert_int_equal(qmp_get_error(f.q, &(struct vr_error){0}), 0);
	fake_end(&f);
	fclose(log);
	assert_non_null(strstr(logbuf, "QMP <- {\"QMP\":{\"version\""));
	assert_non_null(strstr(logbuf,
			       "QMP -> {\"execute\":\"qmp_capabilities\","
			       "\"id\":1}\n"));
	assert_non_null(strstr(logbuf, "QMP <- {\"return\":{},\"id\":1}\n"));
	free(logbuf);
}

static void expect_handshake_error(const struct step *steps, int code,
				   const char *msg, int timeout_ms)
{
	struct vr_error err;
	struct fake f;

	fake_start(&f, steps);
	assert_int_equal(qmp_handshake(f.q, timeout_ms, &err), code);
	if (!strstr(err.msg, msg))
		fail_msg("\"%s\" not in \"%s\"", msg, err.msg);
	fake_end(&f);
}

static void test_handshake_errors(void **state)
{
	const struct step not_greeting[] = {SEND("{\"return\": {}}\n"), END};
	const struct step no_version[] = {SEND("{\"QMP\": {}}\n"), END};
	const struct step hmp[] = {
		SEND("QEMU 7.2.0 monitor - type 'help' for more\r\n(qemu) "),
		END};
	const struct step eof_first[] = {END};
	const struct step eof_after_greeting[] = {SEND(GREETING), END};
	const struct step silent[] = {WAIT_EOF, END};
	const struct step refused[] = {
		SEND(GREETING), EXPECT("qmp_capabilities", 0),
		SEND("{\"error\": {\"class\": \"GenericError\", \"desc\": "
		     "\"Capabilities negotiation is already complete\"}, "
		     "\"id\": $0}\n"),
		WAIT_EOF, END};
	int64_t t0;

	(void)state;
	expect_handshake_error(
		not_greeting, -EPROTO,
		"QMP: expected the greeting {\"QMP\": ...} from "
		"QEMU, got {\"return\":{}} (is this a QMP socket?)",
		5000);
	expect_handshake_error(no_version, -EPROTO,
			       "QMP: the greeting from QEMU has no version",
			       5000);
	expect_handshake_error(hmp, -EPROTO,
			       "QMP: malformed message from QEMU (unexpected "
			       "character) near \"QEMU 7.2.0 monitor",
			       5000);
	expect_handshake_error(eof_first, -ECONNRESET,
			       "QMP: QEMU closed the connection", 5000);
	/* Seen while reading the greeting or the negotiation's reply. */
	expect_handshake_error(eof_after_greeting, -ECONNRESET,
			       "QMP: QEMU closed the connection", 5000);
	expect_handshake_error(refused, -EREMOTEIO,
			       "QMP capabilities negotiation: QMP command "
			       "qmp_capabilities failed: GenericError: "
			       "Capabilities negotiation is already complete",
			       5000);
	t0 = mono_ms();
	expect_handshake_error(silent, -ETIMEDOUT,
			       "QMP: no greeting from QEMU within 150 ms (is "
			       "this a QMP socket?)",
			       150);
	assert_in_range(mono_ms() - t0, 150, 2000);
}

/* ---- commands, replies, events ---- */

static void test_split_byte_by_byte(void **state)
{
	const struct step steps[] = {
		SEND_BY(GREETING, 1),
		EXPECT("qmp_capabilities", 0),
		SEND_BY("{\"return\": {}, \"id\": $0}\r\n", 1),
		EXPECT("query-status", 1),
		SEND_BY("  {\"return\": " STATUS ", \"id\": $1}\r\n", 1),
		WAIT_EOF,
		END};
	struct json_object *ret = NULL;
	struct vr_error err;
	struct fake f;

	(void)state;
	fake_start_greeted(&f, steps);
	assert_int_equal(
		qmp_execute(f.q, "query-status", NULL, 5000, &ret, &err), 0);
	assert_string_equal(json_str(ret, "status"), "prelaunch");
	assert_string_equal(json_str(ret, "running"), "false");
	json_object_put(ret);
	fake_end(&f);
}

static void expect_events(struct qmp *q, const char *const *names, size_t n)
{
	struct qmp_event ev;

	for (size_t i = 0; i < n; i++) {
		assert_true(qmp_next_event(q, &ev));
		assert_string_equal(ev.name, names[i]);
		assert_true(json_object_is_type(ev.data, json_type_object));
		assert_int_equal(ev.seconds, 1700000000);
		assert_int_equal(ev.microseconds, 42);
		qmp_event_release(&ev);
	}
	assert_false(qmp_next_event(q, &ev));
}

static void test_many_per_read(void **state)
{
	const struct step steps[] = {
		SEND(GREETING EVENT("RESUME") EVENT("STOP")),
		EXPECT("qmp_capabilities", 0),
		SEND(EVENT("RESET") "{\"return\": {}, \"id\": $0}" EVENT(
			"POWERDOWN") EVENT("RESUME")),
		WAIT_EOF, END};
	const char *const names[] = {"RESUME", "STOP", "RESET", "POWERDOWN",
				     "RESUME"};
	struct fake f;

	(void)state;
	fake_start_greeted(&f, steps);
	/* The last two events came in the reply's read: wait for nothing. */
	expect_events(f.q, names, ARRAY_SIZE(names));
	fake_end(&f);
}

struct seen {
	char names[256];
	bool guest;
	char reason[64];
};

static void on_event(const struct qmp_event *ev, void *data)
{
	struct seen *s = data;
	struct json_object *v;

	snprintf(s->names + strlen(s->names),
		 sizeof(s->names) - strlen(s->names), "%s ", ev->name);
	if (!strcmp(ev->name, "SHUTDOWN")) {
		json_object_object_get_ex(ev->data, "guest", &v);
		s->guest = json_object_get_boolean(v);
		snprintf(s->reason, sizeof(s->reason), "%s",
			 json_str(ev->data, "reason"));
	}
}

static void on_other(const struct qmp_event *ev, void *data)
{
	struct seen *s = data;

	snprintf(s->names + strlen(s->names),
		 sizeof(s->names) - strlen(s->names), "*%s ", ev->name);
}

static void test_events_between(void **state)
{
	const struct step steps[] = {
		HANDSHAKE,
		EXPECT("system_reset", 0),
		SEND(EVENT("STOP")),
		SLEEP(20),
		SEND_BY(EVENT("RESET") EVENT("RTC_CHANGE")
				EVENT("GUEST_PANICKED") SHUTDOWN_EVENT,
			7),
		SEND("{\"return\": {}, \"id\": $0}\n" EVENT("RESUME")),
		WAIT_EOF,
		END};
	struct seen s = {0}, other = {0};
	struct vr_error err;
	struct fake f;

	(void)state;
	fake_start_greeted(&f, steps);
	qmp_on_event(f.q, "STOP", on_event, &s);
	qmp_on_event(f.q, "RESET", on_event, &s);
	qmp_on_event(f.q, "SHUTDOWN", on_event, &s);
	qmp_on_event(f.q, "GUEST_PANICKED", on_event, &s);
	qmp_on_event(f.q, "GUEST_PANICKED", NULL, NULL); /* removed */
	qmp_on_event(f.q, "RESUME", on_other, &other);	 /* replaced */
	qmp_on_event(f.q, "RESUME", on_event, &s);
	qmp_on_event(f.q, "*", on_other, &other);
	assert_int_equal(
		qmp_execute(f.q, "system_reset", NULL, 5000, NULL, &err), 0);
	assert_string_equal(s.names, ""); /* queued, not yet dispatched */
	assert_int_equal(qmp_dispatch_events(f.q), 6);
	assert_string_equal(s.names, "STOP RESET SHUTDOWN RESUME ");
	assert_string_equal(other.names, "*RTC_CHANGE *GUEST_PANICKED ");
	assert_true(s.guest);
	assert_string_equal(s.reason, "guest-shutdown");
	assert_int_equal(qmp_dispatch_events(f.q), 0);
	fake_end(&f);
}

static void test_error_reply(void **state)
{
	const struct step steps[] = {
		HANDSHAKE,
		EXPECT("device_del", 0),
		SEND("{\"id\": $0, \"error\": {\"class\": \"DeviceNotFound\", "
		     "\"desc\": \"Device 'gpu0' not found\"}}\n"),
		EXPECT("query-status", 1),
		SEND("{\"return\": " STATUS ", \"id\": $1}\n"),
		EXPECT("cont", 2),
		SEND("{\"error\": {}, \"id\": $2}\n"),
		WAIT_EOF,
		END};
	struct json_object *args = json_object_new_object();
	struct json_object *ret = NULL;
	struct vr_error err;
	struct fake f;

	(void)state;
	json_object_object_add(args, "id", json_object_new_string("gpu0"));
	fake_start_greeted(&f, steps);
	assert_int_equal(qmp_execute(f.q, "device_del", args, 5000, &ret, &err),
			 -EREMOTEIO);
	assert_null(ret);
	assert_string_equal(err.msg, "QMP command device_del failed: "
				     "DeviceNotFound: Device 'gpu0' not found");
	/* An error reply does not break the connection. */
	assert_int_equal(
		qmp_execute(f.q, "query-status", NULL, 5000, &ret, &err), 0);
	json_object_put(ret);
	assert_int_equal(qmp_execute(f.q, "cont", NULL, 5000, NULL, &err),
			 -EREMOTEIO);
	assert_string_equal(err.msg, "QMP command cont failed: (no class): "
				     "(no description)");
	json_object_put(args);
	fake_end(&f);
}

static void test_bad_arguments(void **state)
{
	const struct step steps[] = {HANDSHAKE, WAIT_EOF, END};
	struct json_object *arr = json_object_new_array();
	struct vr_error err;
	struct fake f;

	(void)state;
	fake_start_greeted(&f, steps);
	assert_int_equal(qmp_execute(f.q, "cont", arr, 100, NULL, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "QMP cont: the arguments must be a JSON "
				     "object, not [ ]");
	assert_int_equal(qmp_execute(f.q, "", NULL, 100, NULL, &err), -EINVAL);
	assert_string_equal(err.msg, "QMP: empty command name");
	json_object_put(arr);
	fake_end(&f);
}

static void test_timeout(void **state)
{
	const struct step steps[] = {
		HANDSHAKE,
		EXPECT("query-status", 0),
		SLEEP(1000),
		SEND("{\"return\": {\"late\": true}, \"id\": $0}\n"),
		EXPECT("query-version", 1),
		SEND("{\"return\": {\"late\": false}, \"id\": $1}\n"),
		WAIT_EOF,
		END};
	struct json_object *ret = NULL;
	char *logbuf = NULL;
	size_t loglen = 0;
	FILE *log = open_memstream(&logbuf, &loglen);
	struct vr_error err;
	struct fake f;
	int64_t t0;

	(void)state;
	fake_start_greeted(&f, steps);
	qmp_set_log(f.q, log);
	t0 = mono_ms();
	assert_int_equal(
		qmp_execute(f.q, "query-status", NULL, 200, &ret, &err),
		-ETIMEDOUT);
	assert_in_range(mono_ms() - t0, 200, 900);
	assert_string_equal(err.msg, "QMP: no reply to query-status from QEMU "
				     "within 200 ms");
	/* The late reply is dropped, the next command gets its own. */
	assert_int_equal(
		qmp_execute(f.q, "query-version", NULL, 5000, &ret, &err), 0);
	assert_string_equal(json_str(ret, "late"), "false");
	json_object_put(ret);
	fake_end(&f);
	fclose(log);
	assert_non_null(strstr(logbuf, "QMP !! dropping a reply that matches "
				       "no command waiting for one\n"));
	free(logbuf);
}

static void test_stray_replies(void **state)
{
	const struct step steps[] = {
		HANDSHAKE, EXPECT("query-kvm", 0),
		SEND("{\"return\": {\"stray\": 1}, \"id\": 999}\n"
		     "{\"return\": {\"stray\": 2}}\n"
		     "{\"return\": {\"stray\": 3}, \"id\": \"$0\"}\n"
		     "{\"something\": \"else\"}\n"
		     "{\"event\": \"ODD\", \"data\": 7, \"timestamp\": 1}\n"
		     "{\"return\": {\"enabled\": false}, \"id\": $0}\n"
		     "{\"return\": {\"stray\": 4}, \"id\": $0}\n"),
		WAIT_EOF, END};
	struct json_object *ret = NULL;
	struct vr_error err;
	struct qmp_event ev;
	struct fake f;

	(void)state;
	fake_start_greeted(&f, steps);
	assert_int_equal(qmp_execute(f.q, "query-kvm", NULL, 5000, &ret, &err),
			 0);
	assert_string_equal(
		json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN),
		"{\"enabled\":false}");
	json_object_put(ret);
	/* An odd event still has a name and an object for its data. */
	assert_true(qmp_next_event(f.q, &ev));
	assert_string_equal(ev.name, "ODD");
	assert_string_equal(json_object_to_json_string(ev.data), "{ }");
	assert_int_equal(ev.seconds, -1);
	qmp_event_release(&ev);
	fake_end(&f);
}

/* Poll loop of the async form until id has its reply. */
static int poll_reply(struct qmp *q, uint64_t id, struct json_object **ret,
		      struct vr_error *err)
{
	struct pollfd pfd;
	int r;

	while ((r = qmp_take_reply(q, id, ret, err)) == -EAGAIN) {
		pfd = (struct pollfd){qmp_fd(q), qmp_poll_events(q), 0};
		assert_true(poll(&pfd, 1, qmp_next_timeout(q)) >= 0);
		if (pfd.revents & POLLOUT)
			assert_int_equal(qmp_write_ready(q, err), 0);
		if (pfd.revents & (POLLIN | POLLHUP))
			assert_int_equal(qmp_read_ready(q, err), 0);
	}
	return r;
}

static void test_async_two_outstanding(void **state)
{
	const struct step steps[] = {
		HANDSHAKE,
		EXPECT("query-status", 0),
		EXPECT("query-name", 1),
		SEND("{\"return\": {\"name\": \"win11\"}, \"id\": $1}\n"),
		SLEEP(50),
		SEND("{\"return\": " STATUS ", \"id\": $0}\n"),
		WAIT_EOF,
		END};
	struct json_object *ret = NULL;
	uint64_t a, b;
	struct vr_error err;
	struct fake f;

	(void)state;
	fake_start_greeted(&f, steps);
	assert_int_equal(qmp_next_timeout(f.q), -1);
	assert_int_equal(qmp_send(f.q, "query-status", NULL, -1, &a, &err), 0);
	assert_int_equal(qmp_send(f.q, "query-name", NULL, 5000, &b, &err), 0);
	assert_true(a != b);
	assert_in_range(qmp_next_timeout(f.q), 4000, 5000);
	assert_int_equal(qmp_take_reply(f.q, a, &ret, &err), -EAGAIN);
	assert_int_equal(poll_reply(f.q, b, &ret, &err), 0);
	assert_string_equal(json_str(ret, "name"), "win11");
	json_object_put(ret);
	assert_int_equal(qmp_take_reply(f.q, a, &ret, &err), -EAGAIN);
	assert_int_equal(poll_reply(f.q, a, &ret, &err), 0);
	assert_string_equal(json_str(ret, "status"), "prelaunch");
	json_object_put(ret);
	assert_int_equal(qmp_take_reply(f.q, a, &ret, &err), -ENOENT);
	assert_string_equal(err.msg, "QMP: no command with id 2 is waiting "
				     "for a reply");
	fake_end(&f);
}

static void test_async_timeout(void **state)
{
	const struct step steps[] = {HANDSHAKE, EXPECT("stop", 0), WAIT_EOF,
				     END};
	struct vr_error err;
	struct fake f;
	uint64_t id;
	int64_t t0;

	(void)state;
	fake_start_greeted(&f, steps);
	t0 = mono_ms();
	assert_int_equal(qmp_send(f.q, "stop", NULL, 100, &id, &err), 0);
	assert_in_range(qmp_next_timeout(f.q), 1, 100);
	assert_int_equal(poll_reply(f.q, id, NULL, &err), -ETIMEDOUT);
	assert_in_range(mono_ms() - t0, 100, 1000);
	assert_string_equal(err.msg,
			    "QMP: no reply to stop from QEMU within 100 ms");
	assert_int_equal(qmp_next_timeout(f.q), -1);
	fake_end(&f);
}

/* Fire and forget (id NULL): replies are dropped, errors logged. */
static void test_async_detached(void **state)
{
	const struct step steps[] = {
		HANDSHAKE,
		EXPECT("system_powerdown", 0),
		EXPECT("stop", 1),
		SEND("{\"return\": {}, \"id\": $0}\n"),
		SEND("{\"error\": {\"class\": \"GenericError\", \"desc\": "
		     "\"nope\"}, \"id\": $1}\n"),
		EXPECT("query-status", 2),
		EXPECT("cont", 3),
		SEND("{\"return\": {}, \"id\": $3}\n"),
		WAIT_EOF,
		END};
	char *logbuf = NULL;
	size_t loglen = 0;
	FILE *log = open_memstream(&logbuf, &loglen);
	struct vr_error err;
	struct fake f;

	(void)state;
	fake_start_greeted(&f, steps);
	qmp_set_log(f.q, log);
	assert_int_equal(
		qmp_send(f.q, "system_powerdown", NULL, 5000, NULL, &err), 0);
	assert_int_equal(qmp_send(f.q, "stop", NULL, 5000, NULL, &err), 0);
	assert_int_equal(qmp_send(f.q, "query-status", NULL, 50, NULL, &err),
			 0);
	assert_int_equal(qmp_next_timeout(f.q), -1); /* nothing to wake for */
	usleep(100 * 1000);
	assert_int_equal(qmp_execute(f.q, "cont", NULL, 5000, NULL, &err), 0);
	fake_end(&f);
	fclose(log);
	assert_non_null(strstr(logbuf, "QMP !! QMP command stop failed: "
				       "GenericError: nope\n"));
	assert_non_null(strstr(logbuf, "QMP !! no reply to query-status "
				       "within 50 ms\n"));
	assert_null(strstr(logbuf, "dropping a reply"));
	free(logbuf);
}

/* A command far larger than the socket buffer, read slowly. */
static void test_partial_writes(void **state)
{
	const struct step steps[] = {HANDSHAKE,
				     SLEEP(100),
				     EXPECT("human-monitor-command", 0),
				     SEND("{\"return\": \"ok\", \"id\": $0}\n"),
				     SLEEP(100),
				     EXPECT("human-monitor-command", 1),
				     SEND("{\"return\": \"ok\", \"id\": $1}\n"),
				     WAIT_EOF,
				     END};
	struct json_object *args = json_object_new_object();
	struct json_object *ret = NULL;
	size_t big = 2 * 1024 * 1024;
	char *s = xmalloc(big + 1);
	int sndbuf = 4096;
	struct vr_error err;
	uint64_t id;
	struct fake f;

	(void)state;
	memset(s, 'x', big);
	s[big] = '\0';
	json_object_object_add(args, "command-line", json_object_new_string(s));
	fake_start_greeted(&f, steps);
	assert_int_equal(setsockopt(qmp_fd(f.q), SOL_SOCKET, SO_SNDBUF, &sndbuf,
				    sizeof(sndbuf)),
			 0);
	assert_int_equal(
		qmp_send(f.q, "human-monitor-command", args, 10000, &id, &err),
		0);
	assert_true(qmp_poll_events(f.q) & POLLOUT); /* the rest waits */
	assert_int_equal(poll_reply(f.q, id, &ret, &err), 0);
	assert_string_equal(json_object_get_string(ret), "ok");
	json_object_put(ret);
	assert_int_equal(qmp_poll_events(f.q), POLLIN);
	assert_int_equal(qmp_execute(f.q, "human-monitor-command", args, 10000,
				     &ret, &err),
			 0);
	assert_string_equal(json_object_get_string(ret), "ok");
	json_object_put(ret);
	json_object_put(args);
	free(s);
	fake_end(&f);
}

/* ---- broken connections ---- */

static void expect_broken(const struct step *steps, int code, const char *msg)
{
	struct vr_error err, again;
	struct fake f;

	fake_start_greeted(&f, steps);
	assert_int_equal(
		qmp_execute(f.q, "query-status", NULL, 5000, NULL, &err), code);
	if (!strstr(err.msg, msg))
		fail_msg("\"%s\" not in \"%s\"", msg, err.msg);
	/* Broken for good, with the same error; poll() ignores fd -1. */
	assert_int_equal(qmp_fd(f.q), -1);
	assert_int_equal(qmp_poll_events(f.q), 0);
	assert_int_equal(qmp_execute(f.q, "cont", NULL, 5000, NULL, &again),
			 code);
	assert_string_equal(again.msg, err.msg);
	assert_int_equal(qmp_read_ready(f.q, &again), code);
	assert_int_equal(qmp_get_error(f.q, &again), code);
	assert_string_equal(again.msg, err.msg);
	fake_end(&f);
}

#define BROKEN_BY(bytes)                                                       \
	HANDSHAKE, EXPECT("query-status", 0), SEND(bytes), WAIT_EOF, END

static void test_garbage(void **state)
{
	const struct step garbage[] = {BROKEN_BY("{\"return\": {}, \"id\": "
						 "$0 oops}\n")};
	const struct step array[] = {BROKEN_BY("[1, 2]\n")};
	const struct step string[] = {BROKEN_BY("\"return\"\n")};
	const struct step number[] = {BROKEN_BY("42\n")};
	const struct step null[] = {BROKEN_BY("null\n")};
	const struct step binary[] = {BROKEN_BY("\x01\x02\xff")};
	const struct step bad_utf8[] = {
		BROKEN_BY("{\"event\": \"\xc3\x28\"}\n")};
	const struct step depth[] = {BROKEN_BY(
		"{\"return\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		"[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
		"]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n")};

	(void)state;
	expect_broken(garbage, -EPROTO,
		      "QMP: malformed message from QEMU (object value "
		      "separator ',' expected) near \"n\": {}, \"id\": 2 "
		      "oops}\\x0a\"");
	expect_broken(array, -EPROTO,
		      "QMP: malformed message from QEMU (not a JSON object) "
		      "near \"[1, 2]\\x0a\"");
	expect_broken(string, -EPROTO, "(not a JSON object) near \"\"return\"");
	expect_broken(number, -EPROTO, "(not a JSON object) near \"42\\x0a\"");
	expect_broken(null, -EPROTO, "(not a JSON object) near \"null\\x0a\"");
	expect_broken(binary, -EPROTO,
		      "(unexpected character) near "
		      "\"\\x01\\x02\\xff\"");
	expect_broken(bad_utf8, -EPROTO, "(invalid utf-8 string)");
	expect_broken(depth, -EPROTO, "(nesting too deep)");
}

static void test_eof(void **state)
{
	const struct step mid[] = {HANDSHAKE, EXPECT("query-status", 0),
				   SEND("{\"return\": {\"sta"), END};
	const struct step clean[] = {HANDSHAKE, EXPECT("query-status", 0),
				     SEND(SHUTDOWN_EVENT "\r\n  \n"), END};
	struct qmp_event ev;
	struct vr_error err;
	struct fake f;

	(void)state;
	expect_broken(mid, -ECONNRESET,
		      "QMP: QEMU closed the connection in the middle of a "
		      "message (16 bytes received)");
	expect_broken(clean, -ECONNRESET, "QMP: QEMU closed the connection");
	/* What came before the EOF is still there to take. */
	fake_start_greeted(&f, clean);
	assert_int_equal(
		qmp_execute(f.q, "query-status", NULL, 5000, NULL, &err),
		-ECONNRESET);
	assert_string_equal(err.msg, "QMP: QEMU closed the connection");
	assert_true(qmp_next_event(f.q, &ev));
	assert_string_equal(ev.name, "SHUTDOWN");
	qmp_event_release(&ev);
	fake_end(&f);
}

/* Writing to a QEMU that is gone: no SIGPIPE, the last event survives. */
static void test_write_after_close(void **state)
{
	const struct step steps[] = {HANDSHAKE, SEND(SHUTDOWN_EVENT), END};
	struct qmp_event ev;
	struct vr_error err;
	struct fake f;
	int status;

	(void)state;
	fake_start_greeted(&f, steps);
	assert_int_equal(waitpid(f.pid, &status, 0), f.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	f.pid = 0;
	assert_int_equal(qmp_execute(f.q, "cont", NULL, 5000, NULL, &err),
			 -ECONNRESET);
	assert_string_equal(err.msg, "QMP: QEMU closed the connection");
	assert_true(qmp_next_event(f.q, &ev));
	assert_string_equal(ev.name, "SHUTDOWN");
	qmp_event_release(&ev);
	fake_end(&f);
}

static void test_message_bound(void **state)
{
	static char big[300 * 1024], ok[40 * 1024];
	const struct step steps[] = {HANDSHAKE, SEND(ok), EXPECT("cont", 0),
				     SEND_BY(big, 4096), END};
	struct vr_error err;
	struct qmp_event ev;
	struct fake f;
	size_t n;

	(void)state;
	n = (size_t)snprintf(ok, sizeof(ok),
			     "{\"event\": \"X\", \"data\": "
			     "{\"s\": \"");
	memset(ok + n, 'a', sizeof(ok) - n - 8);
	strcpy(ok + sizeof(ok) - 8, "\"}}\n");
	n = (size_t)snprintf(big, sizeof(big), "{\"return\": \"");
	memset(big + n, 'b', sizeof(big) - n - 1);
	fake_start(&f, steps);
	qmp_set_max_message(f.q, 64 * 1024);
	assert_int_equal(qmp_handshake(f.q, 5000, &err), 0);
	assert_int_equal(qmp_execute(f.q, "cont", NULL, 5000, NULL, &err),
			 -EMSGSIZE);
	assert_string_equal(err.msg, "QMP: message from QEMU larger than 65536 "
				     "bytes; giving up on it");
	assert_true(qmp_next_event(f.q, &ev)); /* 40 KiB is under the bound */
	assert_string_equal(ev.name, "X");
	qmp_event_release(&ev);
	fake_end(&f);
}

static void test_event_queue_bound(void **state)
{
	static char many[1100 * 40];
	const struct step steps[] = {
		HANDSHAKE,	   SEND(many),
		EXPECT("cont", 0), SEND("{\"return\": {}, \"id\": $0}\n"),
		WAIT_EOF,	   END};
	struct vr_error err;
	struct qmp_event ev;
	struct fake f;
	size_t n = 0;
	int count = 0;

	(void)state;
	for (int i = 0; i < 1100; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n,
				      "{\"event\": \"E%d\"}\n", i);
	fake_start_greeted(&f, steps);
	assert_int_equal(qmp_execute(f.q, "cont", NULL, 5000, NULL, &err), 0);
	while (qmp_next_event(f.q, &ev)) {
		if (!count)
			assert_string_equal(ev.name, "E76"); /* oldest kept */
		count++;
		qmp_event_release(&ev);
	}
	assert_int_equal(count, 1024);
	fake_end(&f);
}

/* ---- unix socket connection ---- */

static void test_connect(void **state)
{
	const struct step steps[] = {HANDSHAKE, WAIT_EOF, END};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/test_qmp.XXXXXX", path[64], *longpath;
	struct vr_error err;
	struct fake f;
	int64_t t0;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	longpath = xasprintf("%s/%0200d", dir, 0);
	assert_int_equal(qmp_connect(longpath, 100, &f.q, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "QMP socket path is too long (221 "
					"bytes, at most 107): /tmp/test_qmp."));
	assert_int_equal(qmp_open_fd(-1, &f.q, &err), -EBADF);
	assert_string_equal(err.msg, "QMP: socket fd -1: Bad file descriptor");
	t0 = mono_ms();
	assert_int_equal(qmp_connect(path, 100, &f.q, &err), -ENOENT);
	assert_in_range(mono_ms() - t0, 100, 1000);
	assert_non_null(strstr(err.msg, "/qmp.sock accepted no connection "
					"within 100 ms: No such file or "
					"directory"));
	/* QEMU creates its socket a little after it starts. */
	f.pid = fork();
	assert_true(f.pid >= 0);
	if (f.pid == 0) {
		usleep(150 * 1000);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(fd, 1))
			srv_die("cannot listen on %s", path);
		srv_run(accept(fd, NULL, NULL), steps);
	}
	assert_int_equal(qmp_connect(path, 5000, &f.q, &err), 0);
	assert_int_equal(qmp_handshake(f.q, 5000, &err), 0);
	fake_end(&f);
	unlink(path);
	rmdir(dir);
	free(longpath);
}

/* ---- a real QEMU ---- */

struct qemu_run {
	pid_t pid;
	char dir[32];
	char sock[64];
};

static char *find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs = xstrdup(path ? path : "/usr/bin:/bin"), *save = NULL;
	char *found = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		found = xasprintf("%s/%s", d, name);
		if (access(found, X_OK)) {
			free(found);
			found = NULL;
		}
	}
	free(dirs);
	return found;
}

static int qemu_setup(void **state)
{
	struct qemu_run *r = xcalloc(1, sizeof(*r));

	snprintf(r->dir, sizeof(r->dir), "/tmp/test_qmp.XXXXXX");
	if (!mkdtemp(r->dir))
		return -1;
	snprintf(r->sock, sizeof(r->sock), "%s/qmp.sock", r->dir);
	*state = r;
	return 0;
}

/* Runs whether the test passed, failed or skipped: QEMU never lingers. */
static int qemu_teardown(void **state)
{
	struct qemu_run *r = *state;

	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	unlink(r->sock);
	rmdir(r->dir);
	free(r);
	return 0;
}

/* After quit: SHUTDOWN, the reply, then EOF, often all in one read. */
static void qemu_wait_eof(struct qmp *q)
{
	int64_t deadline = mono_ms() + 10000;
	struct pollfd pfd;
	struct vr_error err;

	while (qmp_get_error(q, &err) == 0) {
		assert_true(mono_ms() < deadline);
		pfd = (struct pollfd){qmp_fd(q), qmp_poll_events(q), 0};
		assert_true(poll(&pfd, 1, 1000) >= 0);
		if (pfd.revents)
			qmp_read_ready(q, &err);
	}
	assert_int_equal(qmp_get_error(q, &err), -ECONNRESET);
	assert_string_equal(err.msg, "QMP: QEMU closed the connection");
	assert_int_equal(qmp_fd(q), -1);
}

static void test_real_qemu(void **state)
{
	struct qemu_run *r = *state;
	cleanup_free char *qemu = find_in_path("qemu-system-x86_64");
	cleanup_free char *arg = NULL;
	struct json_object *ret = NULL, *v;
	struct qmp *q = NULL;
	struct vr_error err;
	struct seen s = {0};
	int status;

	if (!qemu)
		skip();
	arg = xasprintf("unix:%s,server=on,wait=off", r->sock);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0) {
		execl(qemu, qemu, "-machine", "none", "-nodefaults",
		      "-no-user-config", "-display", "none", "-S", "-qmp", arg,
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(qmp_connect(r->sock, 20000, &q, &err), 0);
	assert_int_equal(qmp_handshake(q, 20000, &err), 0);
	assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, &ret, &err),
			 0);
	assert_string_equal(json_str(ret, "status"), "prelaunch");
	assert_string_equal(json_str(ret, "running"), "false");
	json_object_put(ret);
	assert_int_equal(
		qmp_execute(q, "query-version", NULL, 5000, &ret, &err), 0);
	assert_true(json_object_object_get_ex(ret, "qemu", &v));
	assert_int_equal(
		json_object_get_int(json_object_object_get(v, "major")),
		qmp_version(q)->major);
	assert_int_equal(
		json_object_get_int(json_object_object_get(v, "minor")),
		qmp_version(q)->minor);
	assert_int_equal(
		json_object_get_int(json_object_object_get(v, "micro")),
		qmp_version(q)->micro);
	json_object_put(ret);
	assert_int_equal(
		qmp_execute(q, "no-such-command", NULL, 5000, NULL, &err),
		-EREMOTEIO);
	assert_string_equal(err.msg, "QMP command no-such-command failed: "
				     "CommandNotFound: The command "
				     "no-such-command has not been found");
	qmp_on_event(q, "SHUTDOWN", on_event, &s);
	assert_int_equal(qmp_execute(q, "quit", NULL, 5000, NULL, &err), 0);
	qemu_wait_eof(q);
	assert_int_equal(qmp_dispatch_events(q), 1);
	assert_string_equal(s.names, "SHUTDOWN ");
	assert_false(s.guest);
	assert_string_equal(s.reason, "host-qmp-quit");
	qmp_close(q);
	assert_int_equal(waitpid(r->pid, &status, 0), r->pid);
	r->pid = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- random input ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(uint32_t below)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32) % below;
}

/* Real-looking traffic, then mangled: bytes flipped, inserted, deleted,
 * ranges repeated, the end cut off. */
static size_t fuzz_input(char *buf, size_t cap)
{
	static const char *const seeds[] = {
		SHUTDOWN_EVENT,
		EVENT("STOP"),
		"{\"return\": {}, \"id\": 1}\n",
		"{\"return\": " STATUS ", \"id\": 1}\r\n",
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}, "
		"\"id\": 1}\n",
		"{\"return\": [1, 2.5, -3e10, true, null, \"\\u00e9\\ud83d"
		"\\ude00\\n\"], \"id\": 1}\n",
		"{\"event\": \"X\", \"data\": 7}{\"QMP\": {}}{}\n",
	};
	static const char special[] = "{}[]\":,\\ \n0e-.tfnu";
	size_t len = 0, at, n;

	if (rng(10))
		len = (size_t)snprintf(buf, cap, "%s", GREETING);
	for (int i = rng(5); i > 0; i--)
		len += (size_t)snprintf(buf + len, cap - len, "%s",
					seeds[rng(ARRAY_SIZE(seeds))]);
	for (int i = rng(6); i > 0 && len > 0 && len < cap / 2; i--) {
		at = rng((uint32_t)len);
		n = 1 + rng(16);
		n = n > len - at ? len - at : n;
		switch (rng(6)) {
		case 0: /* flip */
			buf[at] = (char)rng(256);
			break;
		case 1: /* insert a structural character */
			memmove(buf + at + 1, buf + at, len++ - at);
			buf[at] = special[rng(sizeof(special) - 1)];
			break;
		case 2: /* delete */
			memmove(buf + at, buf + at + n, len - at - n);
			len -= n;
			break;
		case 3: /* repeat */
			memmove(buf + at + n, buf + at, len - at);
			len += n;
			break;
		case 4: /* cut */
			len = at;
			break;
		default: /* random bytes */
			for (size_t j = 0; j < n; j++)
				buf[at + j] = (char)rng(256);
		}
	}
	return len;
}

static void count_event(const struct qmp_event *ev, void *data)
{
	assert_non_null(ev->name);
	assert_true(json_object_is_type(ev->data, json_type_object));
	(*(int *)data)++;
}

/* Feeds one input in random pieces, then EOF; the connection must end
 * with one of the reader's errors, whatever the input. */
static int fuzz_one(const char *buf, size_t len, int *events)
{
	struct vr_error err;
	struct qmp *q;
	uint64_t id = 0;
	size_t off = 0, n;
	int sv[2], r = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(qmp_open_fd(sv[0], &q, &err), 0);
	if (!rng(8))
		qmp_set_max_message(q, 120);
	if (rng(2))
		assert_int_equal(qmp_send(q, "cont", NULL, -1, &id, &err), 0);
	qmp_on_event(q, "*", count_event, events);
	while (off < len && r == 0) {
		n = 1 + rng((uint32_t)(len - off));
		assert_int_equal(send(sv[1], buf + off, n, MSG_NOSIGNAL), n);
		off += n;
		r = qmp_read_ready(q, &err);
	}
	close(sv[1]);
	for (int i = 0; i < 4 && r == 0; i++)
		r = qmp_read_ready(q, &err);
	if (r != -EPROTO && r != -ECONNRESET && r != -EMSGSIZE)
		fail_msg("unexpected result %d (%s)", r, err.msg);
	assert_memory_equal(err.msg, "QMP: ", 5);
	if (id) {
		n = (size_t)-qmp_take_reply(q, id, NULL, &err);
		assert_true(n == 0 || n == EREMOTEIO || n == (size_t)-r);
	}
	qmp_dispatch_events(q);
	qmp_close(q);
	return r;
}

static void test_fuzz(void **state)
{
	static char buf[16 * 1024];
	int proto = 0, eof = 0, size = 0, events = 0, r;
	size_t len;

	(void)state;
	for (int i = 0; i < 4000; i++) {
		len = fuzz_input(buf, sizeof(buf));
		r = fuzz_one(buf, len, &events);
		proto += r == -EPROTO;
		eof += r == -ECONNRESET;
		size += r == -EMSGSIZE;
	}
	/* The inputs reach every outcome, or this test proves little. */
	print_message("# %d malformed, %d EOF, %d too large, %d events\n",
		      proto, eof, size, events);
	assert_true(proto > 100 && eof > 100 && size > 10 && events > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_handshake_errors),
		cmocka_unit_test(test_split_byte_by_byte),
		cmocka_unit_test(test_many_per_read),
		cmocka_unit_test(test_events_between),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_stray_replies),
		cmocka_unit_test(test_async_two_outstanding),
		cmocka_unit_test(test_async_timeout),
		cmocka_unit_test(test_async_detached),
		cmocka_unit_test(test_partial_writes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_write_after_close),
		cmocka_unit_test(test_message_bound),
		cmocka_unit_test(test_event_queue_bound),
		cmocka_unit_test(test_connect),
		cmocka_unit_test_setup_teardown(test_real_qemu, qemu_setup,
						qemu_teardown),
		cmocka_unit_test(test_fuzz),
	};

	/* The client must never die of SIGPIPE, so leave it deadly. */
	signal(SIGPIPE, SIG_DFL);
	if (getenv("TEST_FILTER")) /* e.g. TEST_FILTER='test_eof*' */
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
