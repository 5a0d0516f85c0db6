/* hostfs.c: the host root, and the few read helpers that use it.
 * Writes to the host live in the plan engine, not here. */
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *root;

void hostfs_set_root(const char *r)
{
	size_t len;

	free(root);
	root = xstrdup(r && *r ? r : "/");
	len = strlen(root);
	while (len > 1 && root[len - 1] == '/')
		root[--len] = '\0';
}

const char *hostfs_root(void)
{
	if (!root)
		hostfs_set_root(getenv("VMRUN_ROOT"));
	return root;
}

bool hostfs_is_host_path(const char *abs)
{
	static const char *const top[] = {"/sys", "/proc", "/dev", "/run",
					  "/etc", "/boot", "/efi"};

	for (size_t i = 0; i < ARRAY_SIZE(top); i++) {
		size_t n = strlen(top[i]);

		if (!strncmp(abs, top[i], n) &&
		    (abs[n] == '/' || abs[n] == '\0'))
			return true;
	}
	return false;
}

char *hostfs_path(const char *abs)
{
	const char *r = hostfs_root();

	if (!strcmp(r, "/") || !hostfs_is_host_path(abs))
		return xstrdup(abs);
	return xasprintf("%s%s", r, abs);
}

int hostfs_read(const char *abs, char *buf, size_t len, struct vr_error *err)
{
	cleanup_free char *path = hostfs_path(abs);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return vr_error(err, errno, "read %s", path);
	n = read(fd, buf, len - 1);
	if (n < 0)
		return vr_error(err, errno, "read %s", path);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int hostfs_read_long(const char *abs, long *out, struct vr_error *err)
{
	char buf[64], *end;
	int r = hostfs_read(abs, buf, sizeof(buf), err);

	if (r)
		return r;
	errno = 0;
	*out = strtol(buf, &end, 0);
	if (errno || end == buf)
		return vr_errorx(err, EINVAL, "%s: expected a number, got '%s'",
				 abs, buf);
	return 0;
}

int hostfs_readlink_base(const char *abs, char *buf, size_t len)
{
	cleanup_free char *path = hostfs_path(abs);
	char target[4096];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

bool hostfs_exists(const char *abs)
{
	cleanup_free char *path = hostfs_path(abs);
	struct stat st;

	return stat(path, &st) == 0;
}

char *hostfs_find_tool(const char *name)
{
	static const char *const dirs[] = {"/usr/sbin", "/usr/bin", "/sbin",
					   "/bin"};
	const char *r = hostfs_root();

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		char *p = xasprintf("%s%s/%s", strcmp(r, "/") ? r : "", dirs[i],
				    name);

		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}
