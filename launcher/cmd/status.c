/* status.c: the commands that talk to a running VM's vmrun through its
 * control socket: status, stop and cont. */
#include "cmd/cmd.h"
#include "run/run.h"
#include "base/base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
						     : "";
}

static long long num(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v)
						     : 0;
}

static void print_status(json_object *st)
{
	long long up = num(st, "uptime");
	json_object *devs, *map;

	printf("%s: %s, up %lldh%02lldm%02llds, vmrun pid %lld, QEMU pid "
	       "%lld\n",
	       str(st, "name"), str(st, "state"), up / 3600, up / 60 % 60,
	       up % 60, num(st, "pid"), num(st, "qemu-pid"));
	if (*str(st, "problem"))
		printf("  %s\n", str(st, "problem"));
	printf("  %lld vCPUs", num(st, "vcpus"));
	if (json_object_object_get_ex(st, "vcpu-map", &map) &&
	    json_object_array_length(map)) {
		/* which vCPU runs where: a 1,0 pinning is not "0-1" */
		for (size_t i = 0; i < json_object_array_length(map); i++)
			printf("%s vCPU %zu on CPU %d", i ? "," : ":", i,
			       json_object_get_int(
				       json_object_array_get_idx(map, i)));
	} else if (*str(st, "vcpu-pin")) {
		printf(" on CPUs %s", str(st, "vcpu-pin"));
	}
	if (*str(st, "emulator-pin"))
		printf(", emulator threads on %s", str(st, "emulator-pin"));
	printf(", %lld MiB\n", num(st, "memory") / (1024 * 1024));
	if (json_object_object_get_ex(st, "devices", &devs) &&
	    json_object_array_length(devs)) {
		printf("  devices:");
		for (size_t i = 0; i < json_object_array_length(devs); i++)
			printf(" %s",
			       json_object_get_string(
				       json_object_array_get_idx(devs, i)));
		printf("\n");
	}
}

static int status_one(const char *name, struct vr_error *err)
{
	json_object *req = json_object_new_object(), *reply = NULL;
	int r;

	json_object_object_add(req, "command",
			       json_object_new_string("status"));
	r = control_call(name, req, &reply, NULL, err);
	json_object_put(req);
	if (r)
		return VM_EXIT_ERROR;
	print_status(reply);
	json_object_put(reply);
	return 0;
}

int cmd_status(const char *name, const struct cmd_opts *o, struct vr_error *err)
{
	struct strv names = {0};
	int code = 0;

	(void)o;
	if (name)
		return status_one(name, err);
	control_list(&names);
	if (!names.n)
		printf("no VM is running under vmrun\n");
	for (size_t i = 0; i < names.n; i++) {
		struct vr_error e = {0};

		if (status_one(names.v[i], &e))
			printf("%s: %s\n", names.v[i], e.msg);
	}
	strv_free(&names);
	return code;
}

int cmd_stop(const char *name, const struct cmd_opts *o, struct vr_error *err)
{
	json_object *req = json_object_new_object(), *reply = NULL, *ev;
	int fd = -1, r, code;

	json_object_object_add(req, "command", json_object_new_string("stop"));
	json_object_object_add(req, "force", json_object_new_boolean(o->force));
	r = control_call(name, req, &reply, &fd, err);
	json_object_put(req);
	if (r)
		return VM_EXIT_ERROR;
	json_object_put(reply);
	printf("stopping '%s'%s...\n", name, o->force ? " (forced)" : "");
	fflush(stdout);
	/* The supervisor answers once more when QEMU is gone and the host
	 * given back, then closes the connection. */
	ev = control_read(fd);
	close(fd);
	if (!ev) {
		vr_errorx(err, EPROTO,
			  "the vmrun of '%s' went away without saying how the "
			  "VM ended; check `vmrun restore %s`",
			  name, name);
		return VM_EXIT_ERROR;
	}
	code = (int)num(ev, "code");
	printf("%s: %s\n", name, str(ev, "message"));
	json_object_put(ev);
	if (code == VM_EXIT_RESTORE) {
		vr_errorx(err, code, "the host was not fully restored");
		return VM_EXIT_RESTORE;
	}
	return 0;
}

int cmd_cont(const char *name, const struct cmd_opts *o, struct vr_error *err)
{
	json_object *req = json_object_new_object(), *reply = NULL, *ok;
	int r;

	(void)o;
	json_object_object_add(req, "command", json_object_new_string("cont"));
	r = control_call(name, req, &reply, NULL, err);
	json_object_put(req);
	if (r)
		return VM_EXIT_ERROR;
	if (!json_object_object_get_ex(reply, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		vr_errorx(err, EIO, "VM '%s' was not continued: %s", name,
			  *str(reply, "error") ? str(reply, "error")
					       : "no reason given");
		json_object_put(reply);
		return VM_EXIT_ERROR;
	}
	json_object_put(reply);
	printf("%s: continued\n", name);
	return 0;
}
