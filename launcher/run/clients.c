/* clients.c: the supervisor's side of the control socket: status, stop and
 * cont requests from `vmrun status|stop|cont`, and the last word when it
 * ends. Clients are non-blocking, each with a deadline for its request,
 * so none can hold up the loop that also watches QEMU and signals. */
#include "run/run.h"
#include "base/base.h"
#include "run/supervisor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static json_object *reply_new(bool ok)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	return o;
}

static json_object *error_reply(const char *msg)
{
	json_object *o = reply_new(false);

	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static void add_cpulist(json_object *o, const char *key,
			const struct cpulist *cl)
{
	cleanup_free char *l = NULL;

	if (!cl->n)
		return;
	l = cpulist_format(cl);
	json_object_object_add(o, key, json_object_new_string(l));
}

/* state: vmrun's view, or "not answering" when QEMU did not reply. */
static json_object *status_reply(struct sup *s, const char *state,
				 const char *problem)
{
	const struct profile *p = s->p;
	json_object *o = reply_new(true), *devs;
	char bdf[16];

	json_object_object_add(o, "name", json_object_new_string(p->vm.name));
	json_object_object_add(o, "state", json_object_new_string(state));
	if (problem && *problem)
		json_object_object_add(o, "problem",
				       json_object_new_string(problem));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "qemu-pid", json_object_new_int(s->qemu));
	json_object_object_add(o, "uptime",
			       json_object_new_int64(time(NULL) - s->started));
	json_object_object_add(o, "vcpus", json_object_new_int(p->cpu.vcpus));
	json_object_object_add(o, "memory",
			       json_object_new_uint64(p->vm.memory));
	add_cpulist(o, "vcpu-pin", &p->cpu.vcpu_pin);
	add_cpulist(o, "emulator-pin", &p->cpu.emulator_pin);
	if (p->cpu.vcpu_pin.n) {
		json_object *map = json_object_new_array();

		/* in vCPU order: the list above is a sorted set */
		for (size_t i = 0; i < p->cpu.vcpu_pin.n; i++)
			json_object_array_add(
				map,
				json_object_new_int(p->cpu.vcpu_pin.cpu[i]));
		json_object_object_add(o, "vcpu-map", map);
	}
	devs = json_object_new_array();
	for (size_t i = 0; i < p->npci; i++) {
		cleanup_free char *d = xasprintf(
			"%s (%s)", pci_addr_format(&p->pci[i].host, bdf, 16),
			p->pci[i].name);

		json_object_array_add(devs, json_object_new_string(d));
	}
	json_object_object_add(o, "devices", devs);
	return o;
}

static void client_drop(struct sup *s, size_t i)
{
	close(s->clients[i]->fd);
	free(s->clients[i]);
	s->clients[i] = s->clients[--s->nclients];
}

/* Replies are small; a client that does not take one is dropped. */
static int client_send(struct client *c, json_object *msg)
{
	int r = control_send(c->fd, msg);

	json_object_put(msg);
	return r;
}

static void client_wait_request(struct client *c)
{
	c->state = CL_READING;
	c->deadline = now_ms() + CLIENT_REQUEST_MS;
}

/* "force" is a JSON boolean or absent: {"force": "no"} is refused, not
 * taken as true. */
static int stop_force(json_object *req, bool *force)
{
	json_object *v;

	*force = false;
	if (!json_object_object_get_ex(req, "force", &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*force = json_object_get_boolean(v);
	return 0;
}

static json_object *client_stop(struct sup *s, struct client *c,
				json_object *req)
{
	json_object *reply;
	bool force;

	if (stop_force(req, &force))
		return error_reply("\"force\" must be true or false");
	log_info("stop requested over the control socket%s",
		 force ? " (force)" : "");
	ladder_stop(s, force);
	reply = reply_new(true);
	json_object_object_add(reply, "state",
			       json_object_new_string(s->state));
	c->state = CL_END;
	return reply;
}

/* status and cont are answered once QEMU replies (or does not). */
static json_object *client_query(struct sup *s, struct client *c,
				 const char *cmd)
{
	const char *qcmd = strcmp(cmd, "cont") ? "query-status" : "cont";
	struct vr_error e = {0};

	if (!s->qmp) {
		if (!strcmp(cmd, "cont"))
			return error_reply("QEMU is going away; nothing to "
					   "continue");
		return status_reply(s, s->state, s->problem);
	}
	if (!strcmp(cmd, "cont"))
		log_info("cont requested over the control socket");
	if (qmp_send(s->qmp, qcmd, NULL, STATUS_QUERY_MS, &c->qmp_id, &e))
		return !strcmp(cmd, "cont")
			       ? error_reply(e.msg)
			       : status_reply(s, s->state, s->problem);
	snprintf(c->cmd, sizeof(c->cmd), "%s", cmd);
	c->state = CL_QUERY;
	return NULL;
}

/* One request line; the reply, or NULL when it comes later. */
static json_object *client_request(struct sup *s, struct client *c,
				   const char *line)
{
	json_object *req = json_tokener_parse(line), *cmd, *reply;
	const char *name = NULL;

	if (req && json_object_is_type(req, json_type_object) &&
	    json_object_object_get_ex(req, "command", &cmd) &&
	    json_object_is_type(cmd, json_type_string))
		name = json_object_get_string(cmd);
	if (!name)
		reply = error_reply(
			"expected a JSON object with a \"command\"");
	else if (!strcmp(name, "stop"))
		reply = client_stop(s, c, req);
	else if (!strcmp(name, "status") || !strcmp(name, "cont"))
		reply = client_query(s, c, name);
	else
		reply = error_reply("unknown command; expected status, stop "
				    "or cont");
	json_object_put(req);
	return reply;
}

/* Complete lines in the client's buffer: answer each in turn. -1 when
 * the client is to be dropped. */
static int client_lines(struct sup *s, struct client *c)
{
	char *nl;
	json_object *reply;

	while (c->state == CL_READING && (nl = memchr(c->buf, '\n', c->len))) {
		*nl = '\0';
		reply = client_request(s, c, c->buf);
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len);
		if (reply && client_send(c, reply))
			return -1;
		if (c->state == CL_READING)
			client_wait_request(c);
	}
	if (c->len == sizeof(c->buf)) {
		client_send(c, error_reply("request line too long"));
		return -1;
	}
	return 0;
}

void clients_on_input(struct sup *s, size_t i)
{
	struct client *c = s->clients[i];
	ssize_t n;

	if (c->len == sizeof(c->buf)) /* full while waiting for QEMU */
		return;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(s, i);
		return;
	}
	if (c->state == CL_END)
		return; /* it only waits to hear the end */
	c->len += (size_t)n;
	if (client_lines(s, c))
		client_drop(s, i);
}

/* QEMU's answer for a waiting client, once it is in. */
static json_object *query_result(struct sup *s, struct client *c, int r,
				 struct vr_error *e)
{
	char problem[256];

	if (!strcmp(c->cmd, "cont")) {
		if (r)
			return error_reply(e->msg);
		return reply_new(true);
	}
	if (r != -ETIMEDOUT)
		return status_reply(s, s->state, s->problem);
	snprintf(problem, sizeof(problem),
		 "QEMU (pid %d) has not answered QMP for %d s%s", (int)s->qemu,
		 STATUS_QUERY_MS / 1000,
		 proc_stopped(s->qemu)
			 ? ": its process is stopped (SIGSTOP or a debugger)"
			 : "");
	return status_reply(s, "not answering", problem);
}

static int client_poll_query(struct sup *s, struct client *c)
{
	struct vr_error e = {0};
	json_object *ret = NULL;
	int r = -ECONNRESET;

	if (s->qmp) {
		r = qmp_take_reply(s->qmp, c->qmp_id, &ret, &e);
		if (r == -EAGAIN)
			return 0;
	}
	json_object_put(ret);
	if (client_send(c, query_result(s, c, r, &e)))
		return -1;
	client_wait_request(c);
	return client_lines(s, c);
}

void clients_poll(struct sup *s)
{
	int64_t now = now_ms();

	for (size_t i = s->nclients; i-- > 0;) {
		struct client *c = s->clients[i];

		if (c->state == CL_QUERY && client_poll_query(s, c))
			client_drop(s, i);
		else if (c->state == CL_READING && now >= c->deadline)
			client_drop(s, i);
	}
}

int clients_next_timeout(const struct sup *s)
{
	int64_t best = -1, now = now_ms();

	for (size_t i = 0; i < s->nclients; i++) {
		const struct client *c = s->clients[i];

		int64_t left = c->deadline - now;

		if (c->state != CL_READING)
			continue;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}

/* Room for one more: the client that has waited longest without sending
 * its request goes; -1 when every client is busy. */
static int client_make_room(struct sup *s)
{
	size_t oldest = s->nclients;

	if (s->nclients < MAX_CLIENTS)
		return 0;
	for (size_t i = 0; i < s->nclients; i++)
		if (s->clients[i]->state == CL_READING &&
		    (oldest == s->nclients ||
		     s->clients[i]->deadline < s->clients[oldest]->deadline))
			oldest = i;
	if (oldest == s->nclients)
		return -1;
	log_debug("control socket: %d clients, dropping an idle one",
		  MAX_CLIENTS);
	client_drop(s, oldest);
	return 0;
}

void clients_accept(struct sup *s)
{
	struct client *c;
	int fd;

	while ((fd = accept4(s->ctl, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (client_make_room(s)) {
			close(fd);
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		client_wait_request(c);
		s->clients[s->nclients++] = c;
	}
}

const char *clients_reason_name(int code)
{
	switch (code) {
	case VM_EXIT_SHUTDOWN:
		return "shutdown";
	case VM_EXIT_PANIC:
		return "panic";
	case VM_EXIT_FORCED:
		return "forced";
	case VM_EXIT_CRASH:
		return "crash";
	default:
		return "error";
	}
}

void clients_tell(struct sup *s, int code, const char *msg)
{
	json_object *ev = json_object_new_object();

	json_object_object_add(ev, "event", json_object_new_string("exited"));
	json_object_object_add(ev, "code", json_object_new_int(code));
	json_object_object_add(
		ev, "reason",
		json_object_new_string(clients_reason_name(code)));
	json_object_object_add(ev, "message", json_object_new_string(msg));
	for (size_t i = 0; i < s->nclients; i++) {
		control_send(s->clients[i]->fd, ev);
		close(s->clients[i]->fd);
		free(s->clients[i]);
	}
	s->nclients = 0;
	json_object_put(ev);
}
