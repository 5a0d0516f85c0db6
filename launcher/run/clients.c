/* clients.c: the supervisor's side of the control socket: status and
 * stop requests from `vmrun status|stop`, and the last word when it ends. */
#include "run/run.h"
#include "base/base.h"
#include "run/supervisor.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static json_object *status_reply(struct sup *s)
{
	const struct profile *p = s->p;
	json_object *o = json_object_new_object(), *devs;
	char bdf[16];

	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "name", json_object_new_string(p->vm.name));
	json_object_object_add(o, "state", json_object_new_string(s->state));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "qemu-pid", json_object_new_int(s->qemu));
	json_object_object_add(o, "uptime",
			       json_object_new_int64(time(NULL) - s->started));
	json_object_object_add(o, "vcpus", json_object_new_int(p->cpu.vcpus));
	json_object_object_add(o, "memory",
			       json_object_new_uint64(p->vm.memory));
	if (p->cpu.vcpu_pin.n) {
		cleanup_free char *l = cpulist_format(&p->cpu.vcpu_pin);
		json_object *map = json_object_new_array();

		json_object_object_add(o, "vcpu-pin",
				       json_object_new_string(l));
		/* in vCPU order: the list above is a sorted set */
		for (size_t i = 0; i < p->cpu.vcpu_pin.n; i++)
			json_object_array_add(
				map,
				json_object_new_int(p->cpu.vcpu_pin.cpu[i]));
		json_object_object_add(o, "vcpu-map", map);
	}
	if (p->cpu.emulator_pin.n) {
		cleanup_free char *l = cpulist_format(&p->cpu.emulator_pin);

		json_object_object_add(o, "emulator-pin",
				       json_object_new_string(l));
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
	close(s->clients[i]);
	s->clients[i] = s->clients[--s->nclients];
}

/* One request line. A "stop" client stays connected to hear the end. */
void clients_request(struct sup *s, size_t i)
{
	json_object *req = control_read(s->clients[i]), *cmd, *force, *reply;
	const char *c;

	if (!req) {
		client_drop(s, i);
		return;
	}
	c = json_object_object_get_ex(req, "command", &cmd)
		    ? json_object_get_string(cmd)
		    : "";
	if (!strcmp(c, "status")) {
		reply = status_reply(s);
	} else if (!strcmp(c, "stop")) {
		bool f = json_object_object_get_ex(req, "force", &force) &&
			 json_object_get_boolean(force);

		log_info("stop requested over the control socket%s",
			 f ? " (force)" : "");
		ladder_stop(s, f);
		reply = json_object_new_object();
		json_object_object_add(reply, "ok",
				       json_object_new_boolean(true));
		json_object_object_add(reply, "state",
				       json_object_new_string(s->state));
	} else {
		reply = json_object_new_object();
		json_object_object_add(reply, "ok",
				       json_object_new_boolean(false));
		json_object_object_add(
			reply, "error",
			json_object_new_string("unknown command; expected "
					       "status or stop"));
	}
	control_send(s->clients[i], reply);
	json_object_put(reply);
	json_object_put(req);
}

void clients_accept(struct sup *s)
{
	/* A client that stops half-way through a line must not hold up the
	 * loop: reads time out and the client is dropped. */
	struct timeval tv = {.tv_sec = 1};
	int fd = accept4(s->ctl, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (s->nclients == MAX_CLIENTS) {
		close(fd);
		return;
	}
	s->clients[s->nclients++] = fd;
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
		control_send(s->clients[i], ev);
		close(s->clients[i]);
	}
	s->nclients = 0;
	json_object_put(ev);
}
