/* control.c: both ends of the control socket. The protocol is one JSON
 * object per line: {"command": "status"} or {"command": "stop",
 * "force": false}; replies are objects with "ok" and details. */
#include "run/run.h"
#include "host/host.h"
#include "profile/profile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define LINE_MAX_BYTES 65536
#define CALL_TIMEOUT_S 10

static int sock_addr(const char *abs, struct sockaddr_un *sa,
		     struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(abs);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return vr_errorx(err, ENAMETOOLONG, "socket path too long: %s",
				 path);
	strcpy(sa->sun_path, path);
	return 0;
}

int control_listen(const char *abs, int *fd, struct vr_error *err)
{
	struct sockaddr_un sa;
	mode_t old;
	int s, r;

	r = sock_addr(abs, &sa, err);
	if (r)
		return r;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return vr_error(err, errno, "socket");
	unlink(sa.sun_path);
	/* The umask makes the socket 0600 from the start: no window in
	 * which another user could connect. */
	old = umask(0177);
	r = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(s, 8) < 0) {
		r = vr_error(err, errno, "listen on %s", sa.sun_path);
		close(s);
		return r;
	}
	*fd = s;
	return 0;
}

int control_send(int fd, json_object *msg)
{
	const char *s =
		json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s), off = 0;
	char *line = xasprintf("%s\n", s);
	ssize_t n;

	len++;
	while (off < len) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(line);
			return -errno;
		}
		off += (size_t)n;
	}
	free(line);
	return 0;
}

json_object *control_read(int fd)
{
	char *buf = xmalloc(LINE_MAX_BYTES);
	size_t len = 0;
	json_object *obj = NULL;
	ssize_t n;

	/* Byte by byte: the replies are small and the connection may carry
	 * a second line that must stay unread for the next call. */
	while (len < LINE_MAX_BYTES - 1) {
		n = read(fd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf[len] == '\n') {
			buf[len] = '\0';
			obj = json_tokener_parse(buf);
			break;
		}
		len++;
	}
	free(buf);
	if (obj && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

int control_call(const char *name, json_object *request, json_object **reply,
		 int *fd, struct vr_error *err)
{
	cleanup_free char *abs = NULL;
	struct timeval tv = {.tv_sec = CALL_TIMEOUT_S};
	struct sockaddr_un sa;
	int s, r;

	if (profile_name_check(name, err))
		return -err->code;
	abs = paths_run_file(name, PATHS_CTL);
	r = sock_addr(abs, &sa, err);
	if (r)
		return r;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return vr_error(err, errno, "socket");
	/* A supervisor answers at once from its poll loop; one that does
	 * not within the timeout is stuck, and we say so. */
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno;
		close(s);
		if (r == ENOENT || r == ECONNREFUSED)
			return vr_errorx(err, ESRCH,
					 "VM '%s' is not running (no vmrun "
					 "supervises it)",
					 name);
		return vr_error(err, r, "connect to %s", sa.sun_path);
	}
	if (control_send(s, request) < 0 || !(*reply = control_read(s))) {
		close(s);
		return vr_errorx(err, EPROTO,
				 "the vmrun of VM '%s' did not answer within "
				 "%d s (see its log)",
				 name, CALL_TIMEOUT_S);
	}
	if (fd) {
		/* the final event comes when the VM has ended: no limit */
		tv.tv_sec = 0;
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		*fd = s;
	} else {
		close(s);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void control_list(struct strv *names)
{
	cleanup_free char *dir = hostfs_path(paths_run_dir());
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *n, *lock;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".sock") ||
		    de->d_type != DT_SOCK)
			continue;
		n = xstrdup(de->d_name);
		n[len - 5] = '\0';
		/* Other sockets live here too (NAME.swtpm.sock, whose server
		 * never answers us): names have no '.', and a supervisor
		 * also holds NAME.lock. */
		if (strchr(n, '.')) {
			free(n);
			continue;
		}
		lock = xasprintf("%s/%s.lock", dir, n);
		if (access(lock, F_OK) == 0)
			strv_add(names, n);
		free(lock);
		free(n);
	}
	closedir(d);
	qsort(names->v, names->n, sizeof(char *), cmp_str);
}
