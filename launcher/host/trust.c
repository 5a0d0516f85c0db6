/* trust.c: refuse profiles, hooks and files that users other than root and
 * the invoking user could change (the rule is in trust.h). Walks each path
 * one name at a time, as the kernel resolves it, checking every folder. */
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_LINKS 40 /* the kernel's own limit (ELOOP) */

static enum trust_mode mode = TRUST_ENFORCE;

void trust_set_mode(enum trust_mode m)
{
	mode = m;
}

enum trust_mode trust_get_mode(void)
{
	return mode;
}

uid_t trust_invoking_uid(void)
{
	const char *env = getenv("SUDO_UID");
	unsigned long long v;

	if (!env || !*env)
		env = getenv("PKEXEC_UID");
	if (env && *env && !parse_uint(env, (uid_t)-2, &v))
		return (uid_t)v;
	return getuid();
}

/* One path being checked. */
struct walk {
	const char *role, *path;
	uid_t uid;	   /* the invoking user */
	bool folders_only; /* the node itself may be anyone's (see host.h) */
	struct strv *out;
	size_t added;
};

static void problem(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct walk *w, const char *fmt, ...)
{
	cleanup_free char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	strv_addf(w->out, "%s %s: %s", w->role, w->path, what);
	w->added++;
}

static bool uid_ok(const struct walk *w, uid_t uid)
{
	return uid == 0 || uid == w->uid;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	const struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "#%u", (unsigned)uid);
	return buf;
}

/* A group whose write access does not widen who can change the file:
 * root's group, or the invoking user's own private group, with no other
 * user listed as a member. */
static bool gid_ok(const struct walk *w, gid_t gid)
{
	const struct passwd *pw = getpwuid(w->uid);
	const struct group *gr = getgrgid(gid);

	if (!gr)
		return false;
	if (gid != 0 && !(w->uid != 0 && pw && pw->pw_gid == gid &&
			  !strcmp(gr->gr_name, pw->pw_name)))
		return false;
	for (char **m = gr->gr_mem; m && *m; m++)
		if (strcmp(*m, "root") && (!pw || strcmp(*m, pw->pw_name)))
			return false;
	return true;
}

/* An access ACL (beyond the mode bits) whose mask allows writing. */
static bool acl_writable(const char *path, const struct stat *st)
{
	return (st->st_mode & S_IWGRP) &&
	       lgetxattr(path, "system.posix_acl_access", NULL, 0) > 0;
}

enum node_state {
	NODE_SAFE,
	NODE_SHARED,
	NODE_UNSAFE
};

/* Who else can write this node. A sticky folder others can write is
 * NODE_SHARED: safe to go through when the entry looked up is ours. */
static enum node_state node_check(struct walk *w, const char *p,
				  const struct stat *st, bool report)
{
	/* "it" for the file named itself, else which folder or target */
	bool self = !strcmp(p, w->path);
	const char *kind = self			  ? "it"
			   : S_ISDIR(st->st_mode) ? "the folder "
						  : "";
	bool sticky = S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);
	unsigned m = (unsigned)(st->st_mode & 07777);
	const struct group *gr;
	char name[64];

	if (!uid_ok(w, st->st_uid)) {
		if (report)
			problem(w,
				"%s%s belongs to user '%s', not to root or "
				"you; fix: chown root %s",
				kind, self ? "" : p,
				user_name(st->st_uid, name, 64), p);
		return NODE_UNSAFE;
	}
	if (sticky && (st->st_mode & (S_IWGRP | S_IWOTH)))
		return NODE_SHARED;
	if (st->st_mode & S_IWOTH) {
		if (report)
			problem(w,
				"%s%s is writable by everyone (mode %04o); "
				"fix: chmod o-w %s",
				kind, self ? "" : p, m, p);
		return NODE_UNSAFE;
	}
	if (acl_writable(p, st)) {
		if (report)
			problem(w,
				"%s%s has an ACL that may let other users "
				"write (see getfacl %s); fix: setfacl -b %s",
				kind, self ? "" : p, p, p);
		return NODE_UNSAFE;
	}
	if ((st->st_mode & S_IWGRP) && !gid_ok(w, st->st_gid)) {
		gr = getgrgid(st->st_gid);
		if (report)
			problem(w,
				"%s%s is writable by group '%s' (mode %04o); "
				"fix: chmod g-w %s",
				kind, self ? "" : p,
				gr ? gr->gr_name
				   : user_name(st->st_gid, name, 64),
				m, p);
		return NODE_UNSAFE;
	}
	return NODE_SAFE;
}

/* path made absolute (relative to the working folder); malloc'd. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

/* Drop the last name of an absolute path ("/a/b" -> "/a", "/a" -> "/"). */
static void parent_of(char *p)
{
	char *slash = strrchr(p, '/');

	if (slash == p)
		p[1] = '\0';
	else if (slash)
		*slash = '\0';
}

/* Follow a symlink at cur/name: what is left to resolve becomes its
 * target followed by the rest. 0, or -1 when it cannot be followed. */
static int link_follow(const char *at, char **rest, const char *tail, char *cur,
		       enum node_state *state, struct walk *w)
{
	char target[PATH_MAX];
	ssize_t n = readlink(at, target, sizeof(target) - 1);
	struct stat st;
	char *next;

	if (n <= 0)
		return -1;
	target[n] = '\0';
	next = xasprintf("%s/%s", target, tail);
	free(*rest);
	*rest = next;
	if (target[0] == '/') {
		strcpy(cur, "/");
		if (lstat("/", &st) < 0)
			return -1;
		*state = node_check(w, "/", &st, false);
	}
	return 0;
}

/* Check each folder a lookup goes through and the node it ends at. */
static void walk_path(struct walk *w)
{
	char cur[PATH_MAX] = "/", next[PATH_MAX];
	char *rest = absolute(w->path), *name, *tail;
	enum node_state state;
	struct stat st;
	int links = 0;
	bool last;

	if (lstat("/", &st) < 0)
		goto out;
	state = node_check(w, "/", &st, true);
	for (;;) {
		name = rest + strspn(rest, "/");
		if (!*name)
			break;
		tail = name + strcspn(name, "/");
		if (*tail)
			*tail++ = '\0';
		if (!strcmp(name, ".")) {
			memmove(rest, tail, strlen(tail) + 1);
			continue;
		}
		if (!strcmp(name, "..")) {
			parent_of(cur);
			if (lstat(cur, &st) < 0)
				break;
			state = node_check(w, cur, &st, false);
			memmove(rest, tail, strlen(tail) + 1);
			continue;
		}
		if (snprintf(next, sizeof(next), "%s%s%s", cur,
			     strcmp(cur, "/") ? "/" : "",
			     name) >= (int)sizeof(next) ||
		    lstat(next, &st) < 0)
			break; /* missing: the caller's open reports it */
		if (state == NODE_SHARED && !uid_ok(w, st.st_uid)) {
			char user[64];

			problem(w,
				"%s is in %s, a folder others can write, and "
				"belongs to user '%s'; fix: move it to a "
				"folder only you and root can write",
				next, cur, user_name(st.st_uid, user, 64));
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > MAX_LINKS ||
			    link_follow(next, &rest, tail, cur, &state, w))
				break;
			continue;
		}
		/* the last name: with folders_only, whose it is and who may
		 * write into it does not matter, only that nobody else can
		 * swap it (the folders above, checked already) */
		last = !tail[strspn(tail, "/")];
		state = node_check(w, next, &st, !(last && w->folders_only));
		strcpy(cur, next);
		memmove(rest, tail, strlen(tail) + 1);
	}
out:
	free(rest);
}

size_t trust_path_problems(const char *path, const char *role, uid_t uid,
			   struct strv *out)
{
	struct walk w = {.role = role, .path = path, .uid = uid, .out = out};

	walk_path(&w);
	return w.added;
}

static size_t folder_problems(const char *path, const char *role, uid_t uid,
			      struct strv *out)
{
	struct walk w = {.role = role,
			 .path = path,
			 .uid = uid,
			 .folders_only = true,
			 .out = out};

	walk_path(&w);
	return w.added;
}

static int report(struct strv *lines, struct vr_error *err)
{
	if (!lines->n)
		return 0;
	vr_errorx(err, EPERM,
		  "refusing to use files that users other than root and you "
		  "can change:");
	for (size_t i = 0; i < lines->n; i++)
		vr_error_append(err, "  %s", lines->v[i]);
	vr_error_append(err,
			"vmrun runs as root and a profile is code: its hooks "
			"run as root and its files go to QEMU. Fix the above, "
			"or pass --trust if you trust everyone who can write "
			"them.");
	strv_free(lines);
	return -EPERM;
}

static void check_list(const struct strv *files, const char *role, uid_t uid,
		       struct strv *out)
{
	for (size_t i = 0; i < files->n; i++)
		trust_path_problems(files->v[i], role, uid, out);
}

/* A program vmrun would start: the file exec would run, a bare name
 * looked up on PATH as execvp does (a missing one is the planner's to
 * report). */
static void check_program(const char *name, const char *role, uid_t uid,
			  struct strv *out)
{
	cleanup_free char *path = host_which(name);

	if (path)
		trust_path_problems(path, role, uid, out);
}

/* What the parsed profile makes vmrun execute, hand to the guest's
 * firmware, or open for writing. */
static void profile_problems(const struct profile *p, uid_t uid,
			     struct strv *out)
{
	const struct profile_hooks *h = &p->hooks;
	char role[80];

	check_program(p->vm.qemu ? p->vm.qemu : "qemu-system-x86_64",
		      "[vm] qemu", uid, out);
	if (p->tpm.type == TPM_SWTPM)
		check_program("swtpm", "swtpm ([tpm] type = swtpm)", uid, out);
	check_list(&h->pre_start, "[hooks] pre-start", uid, out);
	check_list(&h->post_start, "[hooks] post-start", uid, out);
	check_list(&h->pre_stop, "[hooks] pre-stop", uid, out);
	check_list(&h->post_stop, "[hooks] post-stop", uid, out);
	for (size_t i = 0; i < p->npci; i++) {
		if (!p->pci[i].romfile)
			continue;
		snprintf(role, sizeof(role), "[pci.%s] romfile",
			 p->pci[i].name);
		trust_path_problems(p->pci[i].romfile, role, uid, out);
	}
	check_list(&p->acpi.tables, "[acpi] table", uid, out);
	/* The state folder: vmrun creates, chowns and appends in it as
	 * root. */
	if (p->vm.state_dir)
		trust_path_problems(p->vm.state_dir, "[vm] state-dir", uid,
				    out);
	/* Written as root, and may be the run-as user's own files. */
	if (p->firmware.type == FW_OVMF && p->firmware.vars)
		folder_problems(p->firmware.vars, "[firmware] vars", uid, out);
	if (p->tpm.type == TPM_SWTPM && p->tpm.state)
		folder_problems(p->tpm.state, "[tpm] state", uid, out);
	for (size_t i = 0; i < p->ndisk; i++) {
		if (p->disk[i].readonly || !p->disk[i].file)
			continue;
		snprintf(role, sizeof(role), "[disk.%s] file", p->disk[i].name);
		folder_problems(p->disk[i].file, role, uid, out);
	}
}

int trust_check(const char *profile_path, const struct profile *p,
		struct vr_error *err)
{
	uid_t uid = trust_invoking_uid();
	struct strv lines = {0};

	if (mode == TRUST_OFF)
		return 0;
	if (profile_path)
		trust_path_problems(profile_path, "the profile", uid, &lines);
	if (p)
		profile_problems(p, uid, &lines);
	return report(&lines, err);
}

int trust_check_program(const char *path, const char *role,
			struct vr_error *err)
{
	struct strv lines = {0};

	if (mode == TRUST_OFF)
		return 0;
	trust_path_problems(path, role, trust_invoking_uid(), &lines);
	return report(&lines, err);
}
