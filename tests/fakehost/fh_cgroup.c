/* fh_cgroup.c: cgroupfs: cpuset.cpus/mems down the tree (v1 and v2),
 * cgroup.procs, subtree_control, and mkdir/rmdir of cgroups. */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fh_shim.h"

/* ---- cgroups ------------------------------------------------------------ */

/* File names of one cpuset resource in cgroup v2 and v1. */
struct cs_kind {
	const char *own, *eff2, *eff1, *top;
};

static const struct cs_kind cs_cpus = {"cpuset.cpus", "cpuset.cpus.effective",
				       "cpuset.effective_cpus",
				       "/sys/devices/system/cpu/online"};
static const struct cs_kind cs_mems = {"cpuset.mems", "cpuset.mems.effective",
				       "cpuset.effective_mems",
				       "/sys/devices/system/node/online"};

bool fh_is_cgroup(const char *dir)
{
	char p[PATH_MAX];

	return !strncmp(dir + fh_root_len, "/sys/fs/cgroup", 14) &&
	       strchr("/", dir[fh_root_len + 14]) &&
	       fh_exists(fh_pathf(p, "%s/cgroup.procs", dir));
}

/* The hierarchy's root: the top folder that is still a cgroup. */
static void cg_top(const char *dir, char *out)
{
	char up[PATH_MAX];

	strcpy(out, dir);
	while (fh_is_cgroup(fh_dir_name(out, up)))
		strcpy(out, up);
}

static bool cg_v1(const char *dir)
{
	char p[PATH_MAX];

	return fh_exists(fh_pathf(p, "%s/cpuset.effective_cpus", dir));
}

static void cs_eff_path(const char *dir, const struct cs_kind *k, char *out)
{
	fh_pathf(out, "%s/%s", dir, cg_v1(dir) ? k->eff1 : k->eff2);
}

/* effective = own ∩ parent's effective; in v2 an empty result (nothing
 * asked, or nothing left) inherits the parent's. Then the children. */
static void cs_update(const char *dir, const struct cs_kind *k,
		      const struct mask *parent_eff)
{
	char p[PATH_MAX];
	struct mask own, eff;
	struct dirent *de;
	DIR *d;

	fh_read_mask(fh_pathf(p, "%s/%s", dir, k->own), &own);
	eff = fh_mask_and(&own, parent_eff);
	if (fh_mask_empty(&eff) && !cg_v1(dir))
		eff = *parent_eff;
	cs_eff_path(dir, k, p);
	if (fh_exists(p))
		fh_write_mask(p, &eff);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !fh_is_cgroup(fh_pathf(p, "%s/%s", dir, de->d_name)))
			continue;
		cs_update(p, k, &eff);
	}
	if (d)
		closedir(d);
}

/* v1 only: every child's set must stay within the new one. */
static bool cs_children_within(const char *dir, const struct cs_kind *k,
			       const struct mask *m)
{
	char p[PATH_MAX];
	struct mask c;
	struct dirent *de;
	DIR *d = opendir(dir);
	bool ok = true;

	while (d && ok && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !fh_is_cgroup(fh_pathf(p, "%s/%s", dir, de->d_name)))
			continue;
		fh_read_mask(fh_pathf(p, "%s/%s/%s", dir, de->d_name, k->own),
			     &c);
		ok = fh_mask_subset(&c, m);
	}
	if (d)
		closedir(d);
	return ok;
}

/* update_cpumask / update_nodemask: the set must name existing CPUs or
 * nodes; v1 also nests it in the parent's and its children's in it. */
static int cs_write(struct req *r, const struct cs_kind *k)
{
	char dir[PATH_MAX], up[PATH_MAX], top[PATH_MAX], p[PATH_MAX];
	struct mask m, all, parent;

	if (!fh_is_cgroup(fh_dir_name(r->path, dir)))
		return NOT_MINE;
	cg_top(dir, top);
	if (!strcmp(top, dir))
		return -EACCES; /* the root cpuset follows the hardware */
	if (fh_mask_parse_list(r->val, &m))
		return -EINVAL;
	cs_eff_path(top, k, p);
	if (fh_read_mask(p, &all))
		fh_read_mask(fh_pathf(p, "%s%s", fh_root, k->top), &all);
	if (!fh_mask_subset(&m, &all))
		return -EINVAL;
	fh_dir_name(dir, up);
	if (cg_v1(dir)) {
		fh_read_mask(fh_pathf(p, "%s/%s", up, k->own), &parent);
		if (!fh_mask_subset(&m, &parent))
			return -EACCES;
		if (!cs_children_within(dir, k, &m))
			return -EBUSY;
	}
	fh_write_mask(r->path, &m);
	cs_eff_path(up, k, p);
	fh_read_mask(p, &parent);
	cs_update(dir, k, &parent);
	return 0;
}

int fh_do_cpuset_cpus(struct req *r)
{
	return cs_write(r, &cs_cpus);
}

int fh_do_cpuset_mems(struct req *r)
{
	return cs_write(r, &cs_mems);
}

/* Drop pid from every cgroup.procs of the hierarchy below dir. */
static void cg_forget_pid(const char *dir, long pid)
{
	char p[PATH_MAX], buf[VAL_MAX], out[VAL_MAX];
	struct dirent *de;
	DIR *d;
	size_t used = 0;
	bool found = false;

	if (fh_read_str(fh_pathf(p, "%s/cgroup.procs", dir), buf, sizeof(buf)) >
	    0) {
		for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
			if (atol(l) == pid) {
				found = true;
				continue;
			}
			used += (size_t)snprintf(out + used, sizeof(out) - used,
						 "%s\n", l);
		}
		out[used] = '\0';
		if (found)
			fh_write_str(p, out);
	}
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    fh_is_cgroup(fh_pathf(p, "%s/%s", dir, de->d_name)))
			cg_forget_pid(p, pid);
	if (d)
		closedir(d);
}

static bool pid_alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Live pids listed in a cgroup (the kernel forgets exited ones). */
static bool cg_populated(const char *dir)
{
	char p[PATH_MAX], buf[VAL_MAX];

	if (fh_read_str(fh_pathf(p, "%s/cgroup.procs", dir), buf,
			sizeof(buf)) <= 0)
		return false;
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		if (pid_alive(atol(l)))
			return true;
	return false;
}

static bool cs_has_both(const char *dir)
{
	char p[PATH_MAX];
	struct mask c, m;

	fh_read_mask(fh_pathf(p, "%s/cpuset.cpus", dir), &c);
	fh_read_mask(fh_pathf(p, "%s/cpuset.mems", dir), &m);
	return !fh_mask_empty(&c) && !fh_mask_empty(&m);
}

/* Moving a process: out of its old cgroup, into this one. In v2 a
 * non-root cgroup that hands controllers down holds no processes. */
int fh_do_cgroup_procs(struct req *r)
{
	char dir[PATH_MAX], top[PATH_MAX], p[PATH_MAX], sub[256];
	unsigned long pid;

	if (!fh_is_cgroup(fh_dir_name(r->path, dir)))
		return NOT_MINE;
	if (fh_parse_ulong(r->val, &pid))
		return -EINVAL;
	if (!pid)
		pid = (unsigned long)getpid();
	if (!pid_alive((long)pid))
		return -ESRCH;
	cg_top(dir, top);
	if (strcmp(top, dir) && cg_v1(dir) && !cs_has_both(dir))
		return -ENOSPC; /* a v1 cpuset needs CPUs and nodes first */
	if (strcmp(top, dir) && !cg_v1(dir) &&
	    fh_read_str(fh_pathf(p, "%s/cgroup.subtree_control", dir), sub,
			sizeof(sub)) > 0)
		return -EBUSY;
	cg_forget_pid(top, (long)pid);
	snprintf(sub, sizeof(sub), "%lu\n", pid);
	{
		int fd = open(r->path, O_WRONLY | O_APPEND | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		fh_raw_write(fd, sub, strlen(sub));
		close(fd);
	}
	return 0;
}

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *s = list; (s = strstr(s, w)); s += n)
		if ((s == list || isspace((unsigned char)s[-1])) &&
		    (!s[n] || isspace((unsigned char)s[n])))
			return true;
	return false;
}

/* Split "+cpuset -io" into names to enable and to disable, checking
 * each against the cgroup's available controllers. */
static int subtree_parse(const char *val, const char *avail, char *on,
			 char *off)
{
	char buf[VAL_MAX], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", val);
	on[0] = off[0] = '\0';
	for (tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		char *set = *tok == '+' ? on : *tok == '-' ? off : NULL;

		if (!set || !tok[1] || strlen(tok) > 64)
			return -EINVAL;
		if (!word_in(avail, tok + 1))
			return -ENOENT;
		if (strlen(set) + strlen(tok) + 2 < 512)
			strcat(strcat(set, " "), tok + 1);
	}
	return 0;
}

/* A v2 child's cpuset interface files appear when its parent enables
 * the controller for its subtree, and go when it is disabled. */
static void cg_cpuset_files(const char *dir, const char *parent, bool on)
{
	char p[PATH_MAX], q[PATH_MAX], eff[VAL_MAX];

	if (on == fh_exists(fh_pathf(p, "%s/cpuset.cpus", dir)))
		return;
	for (int k = 0; k < 2; k++) {
		const struct cs_kind *c = k ? &cs_mems : &cs_cpus;

		fh_pathf(p, "%s/%s", dir, c->own);
		fh_pathf(q, "%s/%s", dir, c->eff2);
		if (!on) {
			unlink(p);
			unlink(q);
			continue;
		}
		fh_write_str(p, "\n");
		fh_read_str(fh_pathf(p, "%s/%s", parent, c->eff2), eff,
			    sizeof(eff));
		fh_write_str(q, strcat(eff, "\n"));
	}
	fh_pathf(p, "%s/cpuset.cpus.partition", dir);
	if (on)
		fh_write_str(p, "member\n");
	else
		unlink(p);
}

/* cgroup.subtree_control: kept in cgroup.controllers' order; it is what
 * the children see as their cgroup.controllers. */
int fh_do_subtree_control(struct req *r)
{
	char dir[PATH_MAX], top[PATH_MAX], p[PATH_MAX], avail[512], cur[512];
	char on[512], off[512], out[512], *tok, *save;
	struct dirent *de;
	DIR *d;
	int e;

	if (!fh_is_cgroup(fh_dir_name(r->path, dir)))
		return NOT_MINE;
	fh_read_str(fh_pathf(p, "%s/cgroup.controllers", dir), avail,
		    sizeof(avail));
	fh_read_str(r->path, cur, sizeof(cur));
	e = subtree_parse(r->val, avail, on, off);
	if (e)
		return e;
	cg_top(dir, top);
	if (*on && strcmp(top, dir) && cg_populated(dir))
		return -EBUSY;
	out[0] = '\0';
	for (tok = strtok_r(avail, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		if ((word_in(cur, tok) || word_in(on, tok)) &&
		    !word_in(off, tok))
			strcat(strcat(out, *out ? " " : ""), tok);
	strcat(out, "\n");
	fh_write_str(r->path, out);
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    fh_is_cgroup(fh_pathf(p, "%s/%s", dir, de->d_name))) {
			cg_cpuset_files(p, dir, word_in(out, "cpuset"));
			fh_write_str(fh_pathf(p, "%s/%s/cgroup.controllers",
					      dir, de->d_name),
				     out);
		}
	if (d)
		closedir(d);
	return 0;
}

/* ---- cgroup folders ------------------------------------------------------ */

/* A new cgroup's files, as cgroupfs shows them: v2 files for the
 * controllers its parent hands down, or v1 cpuset's. */
static void cg_populate(const char *dir, const char *parent)
{
	char p[PATH_MAX], q[PATH_MAX], sub[512] = "";

	fh_write_str(fh_pathf(p, "%s/cgroup.procs", dir), "");
	if (cg_v1(parent)) {
		static const char *const v1[] = {
			"tasks", "cpuset.cpus", "cpuset.mems",
			"cpuset.effective_cpus", "cpuset.effective_mems"};

		for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++)
			fh_write_str(fh_pathf(p, "%s/%s", dir, v1[i]),
				     i ? "\n" : "");
		return;
	}
	fh_write_str(fh_pathf(p, "%s/cgroup.type", dir), "domain\n");
	fh_write_str(fh_pathf(p, "%s/cgroup.subtree_control", dir), "\n");
	if (fh_read_str(fh_pathf(q, "%s/cgroup.subtree_control", parent), sub,
			sizeof(sub)) >= 0) {
		fh_write_str(fh_pathf(p, "%s/cgroup.controllers", dir),
			     strcat(sub, "\n"));
		if (!word_in(sub, "cpuset"))
			return;
	}
	cg_cpuset_files(dir, parent, true);
}

/* The real path of dirfd/path for a folder that may not exist yet. */
static bool resolve_new(int dirfd, const char *path, char *out)
{
	char full[PATH_MAX], dir[PATH_MAX], base[NAME_MAX + 1];
	size_t n;

	if (*path == '/' || dirfd == AT_FDCWD) {
		fh_pathf(full, "%s", path);
	} else {
		char link[64];
		ssize_t k;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		k = readlink(link, dir, sizeof(dir) - 1);
		if (k <= 0)
			return false;
		dir[k] = '\0';
		fh_pathf(full, "%s/%s", dir, path);
	}
	n = strlen(full);
	while (n > 1 && full[n - 1] == '/')
		full[--n] = '\0';
	snprintf(base, sizeof(base), "%s", fh_base_name(full));
	if (!strchr(full, '/') || !strcmp(base, ".") || !strcmp(base, ".."))
		return false;
	if (!realpath(fh_dir_name(full, dir)[0] ? dir : "/", out))
		return false;
	return strlen(out) + strlen(base) + 2 < PATH_MAX &&
	       strcat(strcat(out, "/"), base);
}

/* The folder a cgroup mkdir/rmdir acts on, or false when not emulated. */
bool fh_cg_target(int dirfd, const char *path, char *out)
{
	char parent[PATH_MAX];

	if (fh_busy || !fh_root_load() || !resolve_new(dirfd, path, out) ||
	    !fh_below_root(out))
		return false;
	return fh_is_cgroup(fh_dir_name(out, parent));
}

int fh_cg_mkdir(const char *dir, mode_t mode)
{
	char parent[PATH_MAX];
	int lock, e = 0;

	fh_busy = 1;
	lock = fh_lock_root();
	if (fh_real_mkdir(dir, mode))
		e = errno;
	else
		cg_populate(dir, fh_dir_name(dir, parent));
	fh_unlock_root(lock);
	fh_busy = 0;
	errno = e ? e : errno;
	return e ? -1 : 0;
}

/* cgroup_rmdir: busy while it has child cgroups or live processes; its
 * interface files go with it. */
static int cg_rmdir_locked(const char *dir)
{
	char p[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (!fh_is_dir(dir))
		return fh_real_rmdir(dir) ? errno : 0;
	if (cg_populated(dir))
		return EBUSY;
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    !lstat(fh_pathf(p, "%s/%s", dir, de->d_name), &st) &&
		    S_ISDIR(st.st_mode)) {
			closedir(d);
			return EBUSY;
		}
	if (d)
		rewinddir(d);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlink(fh_pathf(p, "%s/%s", dir, de->d_name));
	if (d)
		closedir(d);
	return fh_real_rmdir(dir) ? errno : 0;
}

int fh_cg_rmdir(const char *dir)
{
	int lock, e;

	fh_busy = 1;
	lock = fh_lock_root();
	e = cg_rmdir_locked(dir);
	fh_unlock_root(lock);
	fh_busy = 0;
	if (e)
		errno = e;
	return e ? -1 : 0;
}
