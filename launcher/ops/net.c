/* net.c: taps for bridged guests, made with ip(8) from the host root's
 * tools (so the fake host's stub stands in for it in tests). */
#include "ops/ops.h"
#include "host/host.h"
#include "qemu/qemu.h"
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool link_exists(const char *name)
{
	cleanup_free char *p = xasprintf("/sys/class/net/%s", name);

	return hostfs_exists(p);
}

int net_plan(struct plan *plan, const struct profile *p, struct vr_error *err)
{
	for (size_t i = 0; i < p->nnet; i++) {
		const struct profile_net *n = &p->net[i];
		cleanup_free char *tap = NULL, *br = NULL;
		json_object *args;

		if (n->mode != NET_BRIDGE)
			continue;
		br = xasprintf("/sys/class/net/%s/bridge", n->bridge);
		if (!hostfs_exists(br))
			return vr_errorx(err, ENODEV,
					 "%s:%d: [net.%s] bridge = %s: no such "
					 "bridge on this host; create it (e.g. "
					 "with NetworkManager or "
					 "systemd-networkd) or use mode = user",
					 p->path, n->line, n->name, n->bridge);
		tap = qemu_tap_name(p, n);
		args = json_object_new_object();
		json_object_object_add(args, "tap",
				       json_object_new_string(tap));
		json_object_object_add(args, "bridge",
				       json_object_new_string(n->bridge));
		plan_add(plan, &net_op_tap, args,
			 "create the tap %s on bridge %s for [net.%s]", tap,
			 n->bridge, n->name);
	}
	return 0;
}

static const char *arg(const struct op *op, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(op->args, key, &v)
		       ? json_object_get_string(v)
		       : "";
}

static int ip(struct vr_error *err, const char *const argv[])
{
	int r = host_run(argv, NULL, 0, err);

	if (r > 0)
		return vr_errorx(err, EIO, "ip %s %s %s failed (status %d)",
				 argv[1], argv[2], argv[4], r);
	return r;
}

static int tap_save(struct op *op, struct vr_error *err)
{
	(void)err;
	op->saved = json_object_new_object();
	json_object_object_add(
		op->saved, "existed",
		json_object_new_boolean(link_exists(arg(op, "tap"))));
	return 0;
}

static bool existed(const struct op *op)
{
	json_object *v;

	return op->saved &&
	       json_object_object_get_ex(op->saved, "existed", &v) &&
	       json_object_get_boolean(v);
}

static int tap_apply(struct op *op, struct vr_error *err)
{
	const char *tap = arg(op, "tap"), *br = arg(op, "bridge");
	const char *add[] = {"ip", "tuntap", "add", "dev",
			     tap,  "mode",   "tap", NULL};
	const char *master[] = {"ip", "link",	"set", "dev",
				tap,  "master", br,    NULL};
	const char *up[] = {"ip", "link", "set", "dev", tap, "up", NULL};
	int r;

	if (existed(op))
		return vr_errorx(err, EEXIST,
				 "a network device %s already exists: remove "
				 "it (ip link del %s) or rename the [net] "
				 "section",
				 tap, tap);
	r = ip(err, add);
	if (!r)
		r = ip(err, master);
	if (!r)
		r = ip(err, up);
	return r;
}

static int tap_undo(struct op *op, struct vr_error *err)
{
	const char *tap = arg(op, "tap");
	const char *del[] = {"ip", "link", "del", "dev", tap, NULL};

	if (existed(op) || !link_exists(tap))
		return 0;
	return ip(err, del);
}

/* Undo deletes the link: only a tap named the way vmrun names its own. */
static int tap_check(const struct op *op, const char *vm, struct vr_error *err)
{
	const char *tap = op_arg_string(op, "tap");

	(void)vm;
	if (!tap || strncmp(tap, "vmrun-", 6) || strlen(tap) > 15 ||
	    !check_word(tap, "-_"))
		return op_refuse(op, err, "deletes network device '%s'",
				 op_arg(op, "tap"));
	return 0;
}

const struct op_type net_op_tap = {
	.name = "tap",
	.save = tap_save,
	.apply = tap_apply,
	.undo = tap_undo,
	.check = tap_check,
};
OP_TYPE_REGISTER(net_op_tap);
