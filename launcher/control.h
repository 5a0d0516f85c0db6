/* control.h: the small control socket of a running vmrun,
 * /run/vmrun/NAME.sock (mode 0600): `vmrun status` and `vmrun stop` talk to
 * the supervisor through it, one JSON object per line each way. */
#ifndef VMRUN_CONTROL_H
#define VMRUN_CONTROL_H

#include <json-c/json.h>

#include "error.h"
#include "util.h"

/* Server: a listening socket at abs (unrooted; made 0600). */
int control_listen(const char *abs, int *fd, struct vr_error *err);

/* Client: send request to VM name's supervisor and read its first reply.
 * *fd (when not NULL) keeps the connection open: the supervisor sends one
 * more line ({"event": "exited", ...}) and closes it when it exits. */
int control_call(const char *name, json_object *request, json_object **reply,
		 int *fd, struct vr_error *err);
/* Read one JSON line from a connection; NULL at EOF. */
json_object *control_read(int fd);
int control_send(int fd, json_object *msg);

/* Names of the VMs whose supervisor has a socket under /run/vmrun. */
void control_list(struct strv *names);

#endif
