/* accounts.c: host groups looked up under the host root. On the real host
 * (root "/") through NSS like any program; under a test root from its own
 * etc/group, so a fake host's answers do not depend on the machine that
 * runs the tests. */
#include "host/host.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool real_root(void)
{
	return !strcmp(hostfs_root(), "/");
}

/* The first entry of ROOT/etc/group for which match() holds. */
static bool rooted_group(bool (*match)(const struct group *, const void *),
			 const void *key, gid_t *gid, char **name)
{
	cleanup_free char *path = hostfs_path("/etc/group");
	cleanup_fclose FILE *f = fopen(path, "re");
	struct group *gr;

	while (f && (gr = fgetgrent(f))) {
		if (!match(gr, key))
			continue;
		if (gid)
			*gid = gr->gr_gid;
		if (name)
			*name = xstrdup(gr->gr_name);
		return true;
	}
	return false;
}

static bool by_name(const struct group *gr, const void *key)
{
	return !strcmp(gr->gr_name, key);
}

static bool by_gid(const struct group *gr, const void *key)
{
	return gr->gr_gid == *(const gid_t *)key;
}

bool host_group_find(const char *name, gid_t *gid)
{
	const struct group *gr;

	if (!real_root())
		return rooted_group(by_name, name, gid, NULL);
	gr = getgrnam(name);
	if (gr)
		*gid = gr->gr_gid;
	return gr != NULL;
}

char *host_group_name(gid_t gid)
{
	const struct group *gr;
	char *name = NULL;

	if (!real_root()) {
		if (rooted_group(by_gid, &gid, NULL, &name))
			return name;
		return xasprintf("%u", (unsigned)gid);
	}
	gr = getgrgid(gid);
	return gr ? xstrdup(gr->gr_name) : xasprintf("%u", (unsigned)gid);
}

char *host_user_runtime_dir(uid_t uid)
{
	char *abs = xasprintf("/run/user/%u", (unsigned)uid);
	cleanup_free char *path = hostfs_path(abs);
	struct stat st;

	if (uid && !lstat(path, &st) && S_ISDIR(st.st_mode) && st.st_uid == uid)
		return abs;
	free(abs);
	return NULL;
}
