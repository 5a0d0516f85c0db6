/* fh_misc.c: IRQ affinity, vtconsole bind, and mount/umount as lines
 * of ROOT/proc/mounts (hugetlbfs options checked as the kernel does). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fh_shim.h"

/* ---- IRQs and consoles -------------------------------------------------- */

/* Number of possible CPUs: the width of the kernel's hex masks. */
static unsigned cpu_count(void)
{
	char p[PATH_MAX];
	struct mask m;
	unsigned n = 0;

	fh_read_mask(fh_pathf(p, "%s/sys/devices/system/cpu/possible", fh_root),
		     &m);
	for (unsigned i = 0; i < MASK_BITS; i++)
		if (fh_mask_has(&m, i))
			n = i + 1;
	return n ? n : 1;
}

/* irq_affinity_proc_write: the mask must hold an online CPU and name no
 * CPU past the possible ones; both files show the mask asked for. */
static int irq_store(struct req *r, bool hex)
{
	char dir[PATH_MAX], p[PATH_MAX], buf[VAL_MAX];
	struct mask m, online;
	unsigned n = cpu_count();

	fh_dir_name(r->path, dir);
	if (hex ? fh_mask_parse_hex(r->val, &m)
		: fh_mask_parse_list(r->val, &m))
		return -EINVAL;
	fh_read_mask(fh_pathf(p, "%s/sys/devices/system/cpu/online", fh_root),
		     &online);
	for (unsigned i = n; i < MASK_BITS; i++)
		if (fh_mask_has(&m, i))
			return -EINVAL;
	online = fh_mask_and(&m, &online);
	if (fh_mask_empty(&online))
		return -EINVAL;
	fh_write_mask(fh_pathf(p, "%s/smp_affinity_list", dir), &m);
	if (!fh_exists(fh_pathf(p, "%s/smp_affinity", dir)))
		return 0;
	fh_mask_format_hex(&m, n, buf);
	strcat(buf, "\n");
	return fh_write_str(p, buf);
}

int fh_do_irq_list(struct req *r)
{
	return irq_store(r, false);
}

int fh_do_irq_hex(struct req *r)
{
	return irq_store(r, true);
}

static void vtcon_set(const char *dir, int bind)
{
	char p[PATH_MAX];

	fh_write_str(fh_pathf(p, "%s/bind", dir), bind ? "1\n" : "0\n");
}

/* The consoles take turns: binding one unbinds the others; a system
 * ("(S)") console cannot be unbound and takes over when the last module
 * console ("(M)", e.g. fbcon) is unbound. store_bind never fails. */
int fh_do_vtcon_bind(struct req *r)
{
	char dir[PATH_MAX], parent[PATH_MAX], p[PATH_MAX], name[256], v[8];
	struct dirent *de;
	DIR *d;
	int bind = (int)strtoul(r->val, NULL, 0) != 0;

	fh_dir_name(r->path, dir);
	fh_dir_name(dir, parent);
	fh_read_str(fh_pathf(p, "%s/name", dir), name, sizeof(name));
	if (!bind && !strncmp(name, "(S)", 3))
		return 0;
	fh_read_str(r->path, v, sizeof(v));
	if (atoi(v) == bind)
		return 0;
	d = opendir(parent);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "vtcon", 5) ||
		    !strcmp(de->d_name, fh_base_name(dir)))
			continue;
		fh_read_str(fh_pathf(p, "%s/%s/name", parent, de->d_name), name,
			    sizeof(name));
		fh_pathf(p, "%s/%s", parent, de->d_name);
		if (bind)
			vtcon_set(p, 0);
		else if (!strncmp(name, "(S)", 3))
			vtcon_set(p, 1);
	}
	if (d)
		closedir(d);
	vtcon_set(dir, bind);
	return 0;
}

/* ---- mounts ----------------------------------------------------------- */

/* memparse: a number with an optional K/M/G suffix, in kB. */
static long size_kb(const char *s)
{
	char *end;
	long v = strtol(s, &end, 0);

	switch (*end) {
	case 'G':
	case 'g':
		return v * 1024 * 1024;
	case 'M':
	case 'm':
		return v * 1024;
	case 'K':
	case 'k':
		return v;
	default:
		return v / 1024;
	}
}

/* hugetlbfs_show_options: uid, gid and mode when not the defaults, then
 * the page size (in M from 1 MiB up: "pagesize=1024M"). */
static int hugetlbfs_opts(const char *data, char *out, size_t len)
{
	char buf[1024], *tok, *save, p[PATH_MAX];
	long page = fh_default_hpage_kb(), uid = 0, gid = 0, mode = 0755;

	snprintf(buf, sizeof(buf), "%s", data ? data : "");
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "pagesize=", 9))
			page = size_kb(tok + 9);
		else if (!strncmp(tok, "mode=", 5))
			mode = strtol(tok + 5, NULL, 8) & 01777;
		else if (!strncmp(tok, "uid=", 4))
			uid = atol(tok + 4);
		else if (!strncmp(tok, "gid=", 4))
			gid = atol(tok + 4);
	}
	if (page <= 0 ||
	    !fh_is_dir(fh_pathf(p, "%s/sys/kernel/mm/hugepages/hugepages-%ldkB",
				fh_root, page)))
		return -EINVAL; /* "Unsupported page size" */
	out[0] = '\0';
	if (uid)
		snprintf(out + strlen(out), len - strlen(out), ",uid=%ld", uid);
	if (gid)
		snprintf(out + strlen(out), len - strlen(out), ",gid=%ld", gid);
	if (mode != 0755)
		snprintf(out + strlen(out), len - strlen(out), ",mode=%lo",
			 mode);
	snprintf(out + strlen(out), len - strlen(out), ",pagesize=%ld%c",
		 page >= 1024 ? page / 1024 : page, page >= 1024 ? 'M' : 'K');
	return 0;
}

/* A mount below ROOT is a line in ROOT/proc/mounts; the folder stays. */
int fh_fake_mount(const char *src, const char *tgt, const char *type,
		  unsigned long flags, const void *data)
{
	char p[PATH_MAX], opts[1200], extra[1100] = "", line[PATH_MAX + 1400];
	int fd, e;

	if (flags &
	    (MS_REMOUNT | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE))
		return 0;
	if (!fh_is_dir(tgt))
		return fh_exists(tgt) ? -ENOTDIR : -ENOENT;
	if (type && !strcmp(type, "hugetlbfs")) {
		e = hugetlbfs_opts(data, extra, sizeof(extra));
		if (e)
			return e;
	} else if (data && *(const char *)data) {
		snprintf(extra, sizeof(extra), ",%s", (const char *)data);
	}
	snprintf(opts, sizeof(opts), "%s%s%s%s,relatime%s",
		 flags & MS_RDONLY ? "ro" : "rw",
		 flags & MS_NOSUID ? ",nosuid" : "",
		 flags & MS_NODEV ? ",nodev" : "",
		 flags & MS_NOEXEC ? ",noexec" : "", extra);
	snprintf(line, sizeof(line), "%s %s %s %s 0 0\n",
		 src && *src ? src : "none", tgt + fh_root_len,
		 type && *type ? type : "none", opts);
	fd = open(fh_pathf(p, "%s/proc/mounts", fh_root),
		  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	fh_raw_write(fd, line, strlen(line));
	close(fd);
	return 0;
}

/* The last mount on tgt goes; busy while files are on it, unless lazy. */
int fh_fake_umount(const char *tgt, int flags)
{
	char p[PATH_MAX], buf[65536], out[65536], *l, *last = NULL;
	size_t mlen = strlen(tgt + fh_root_len);
	struct dirent *de;
	DIR *d;

	if (fh_read_str(fh_pathf(p, "%s/proc/mounts", fh_root), buf,
			sizeof(buf)) < 0)
		return -EINVAL;
	for (l = buf; l && *l; l = strchr(l, '\n'), l += !!l) {
		char *sp = strchr(l, ' ');

		if (sp && !strncmp(sp + 1, tgt + fh_root_len, mlen) &&
		    sp[1 + mlen] == ' ')
			last = l;
	}
	if (!last)
		return -EINVAL;
	d = opendir(tgt);
	while (!(flags & MNT_DETACH) && d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			return -EBUSY;
		}
	if (d)
		closedir(d);
	l = strchr(last, '\n');
	snprintf(out, sizeof(out), "%.*s%s\n", (int)(last - buf), buf,
		 l ? l + 1 : "");
	if (!l && last > buf)
		out[last - buf] = '\0'; /* it was the last line */
	fh_write_str(p, out);
	return 0;
}

/* The real path of an existing mount point when it lies below ROOT. */
bool fh_mount_target(const char *tgt, char *out)
{
	return tgt && !fh_busy && fh_root_load() && realpath(tgt, out) &&
	       fh_below_root(out);
}
