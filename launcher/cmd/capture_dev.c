/* capture_dev.c: the statements of `vmrun capture` for what hangs off the
 * PCI functions: disks, partitions and volumes with their mounts and swap,
 * network interfaces and the default route, consoles, and the processes
 * that hold device nodes open. */
#include "cmd/capture.h"
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCKS_MAX 256

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a /sys or /proc folder, sorted; malloc'd. */
static void list_dir(const char *abs, struct strv *out)
{
	cleanup_free char *path = hostfs_path(abs);
	struct dirent *de;
	DIR *d = opendir(path);

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_add(out, de->d_name);
	if (d)
		closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), name_cmp);
}

static bool listed(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static void field(FILE *out, const char *key, const char *value)
{
	fputc(' ', out);
	if (strpbrk(value, " \t\"'\\#")) {
		cleanup_free char *kv = xasprintf("%s=%s", key, value);

		capture_quoted(out, kv);
	} else {
		fprintf(out, "%s=%s", key, value);
	}
}

struct block {
	char *name, *dev, *dm, *real;
	char *mount, *fs;
	bool swap;
};

/* What /proc/self/mountinfo and /proc/swaps say of b: by device number,
 * or (btrfs and the like, numbered 0:N) by the source's name. */
static void block_uses(struct block *b)
{
	cleanup_free char *mi = hostfs_path("/proc/self/mountinfo");
	cleanup_free char *sw = hostfs_path("/proc/swaps");
	cleanup_free char *src1 = xasprintf("/dev/%s", b->name);
	cleanup_free char *src2 =
		b->dm ? xasprintf("/dev/mapper/%s", b->dm) : xstrdup("");
	cleanup_fclose FILE *f = fopen(mi, "re");
	cleanup_fclose FILE *s = fopen(sw, "re");
	char line[4096], num[32], mnt[1024], type[64], src[1024];

	while (!b->mount && f && fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (!dash ||
		    sscanf(line, "%*s %*s %31s %*s %1023s", num, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %1023s", type, src) != 2)
			continue;
		if (!strcmp(num, b->dev) ||
		    (!strncmp(num, "0:", 2) &&
		     (!strcmp(src, src1) || !strcmp(src, src2)))) {
			b->mount = xstrdup(mnt);
			b->fs = xstrdup(type);
		}
	}
	while (s && fgets(line, sizeof(line), s))
		if (sscanf(line, "%1023s", src) == 1 &&
		    (!strcmp(src, src1) || !strcmp(src, src2)))
			b->swap = true;
}

static void block_read(struct block *b, const char *name)
{
	cleanup_free char *abs = xasprintf("/sys/class/block/%s", name);
	cleanup_free char *path = hostfs_path(abs);
	cleanup_free char *dev = xasprintf("%s/dev", abs);
	cleanup_free char *dm = xasprintf("%s/dm/name", abs);
	char buf[4096];
	struct vr_error ignored;

	memset(b, 0, sizeof(*b));
	b->name = xstrdup(name);
	b->real = realpath(path, NULL);
	b->dev = xstrdup(hostfs_read(dev, buf, sizeof(buf), &ignored) ? ""
								      : buf);
	if (!hostfs_read(dm, buf, sizeof(buf), &ignored))
		b->dm = xstrdup(buf);
	block_uses(b);
}

static void block_free(struct block *b)
{
	free(b->name);
	free(b->dev);
	free(b->dm);
	free(b->real);
	free(b->mount);
	free(b->fs);
}

static void block_line(FILE *out, const struct block *b, const char *where)
{
	fprintf(out, "block %s %s", b->name, where);
	if (b->mount) {
		field(out, "mount", b->mount);
		field(out, "fs", b->fs);
	}
	if (b->swap)
		fprintf(out, " swap");
	if (b->dm)
		field(out, "dm", b->dm);
	fputc('\n', out);
}

/* The volumes b is made of, all captured already: "on=a,b"; NULL when
 * some are not (yet). */
static char *block_slaves(const struct block *b, const struct strv *done)
{
	cleanup_free char *abs =
		xasprintf("/sys/class/block/%s/slaves", b->name);
	struct strv sl = {0};
	char *on = NULL;

	list_dir(abs, &sl);
	for (size_t i = 0; i < sl.n; i++) {
		char *t;

		if (!listed(done, sl.v[i])) {
			free(on);
			on = NULL;
			break;
		}
		t = xasprintf("%s%s%s", on ? on : "on=", on ? "," : "",
			      sl.v[i]);
		free(on);
		on = t;
	}
	strv_free(&sl);
	return on;
}

/* Disks of PCI functions first, then their partitions, then the volumes
 * on those (a line may only name blocks given before it). */
void capture_blocks(FILE *out)
{
	struct strv names = {0}, done = {0};
	struct block *bs;
	bool more = true;
	char bdf[16];

	list_dir("/sys/class/block", &names);
	bs = xcalloc(names.n ? names.n : 1, sizeof(*bs));
	for (size_t i = 0; i < names.n && i < BLOCKS_MAX; i++)
		block_read(&bs[i], names.v[i]);
	for (size_t i = 0; i < names.n && i < BLOCKS_MAX; i++) {
		cleanup_free char *abs =
			xasprintf("/sys/class/block/%s", bs[i].name);
		cleanup_free char *part = xasprintf("%s/partition", abs);
		cleanup_free char *where = NULL;

		if (hostfs_exists(part) ||
		    !capture_owner(abs, bdf, sizeof(bdf)))
			continue;
		where = xasprintf("pci=%s", bdf);
		block_line(out, &bs[i], where);
		strv_add(&done, bs[i].name);
	}
	for (size_t i = 0; i < names.n && i < BLOCKS_MAX; i++) {
		cleanup_free char *part = xasprintf("/sys/class/block/%s/"
						    "partition",
						    bs[i].name);
		cleanup_free char *parent = NULL, *where = NULL;
		char *slash;

		if (!hostfs_exists(part) || !bs[i].real)
			continue;
		parent = xstrdup(bs[i].real);
		slash = strrchr(parent, '/');
		*slash = '\0';
		slash = strrchr(parent, '/');
		if (!slash || !listed(&done, slash + 1))
			continue;
		where = xasprintf("on=%s", slash + 1);
		block_line(out, &bs[i], where);
		strv_add(&done, bs[i].name);
	}
	while (more) {
		more = false;
		for (size_t i = 0; i < names.n && i < BLOCKS_MAX; i++) {
			cleanup_free char *on = NULL;

			if (listed(&done, bs[i].name) || !bs[i].real ||
			    !strstr(bs[i].real, "/devices/virtual/block/") ||
			    !(on = block_slaves(&bs[i], &done)))
				continue;
			block_line(out, &bs[i], on);
			strv_add(&done, bs[i].name);
			more = true;
		}
	}
	for (size_t i = 0; i < names.n && i < BLOCKS_MAX; i++)
		block_free(&bs[i]);
	free(bs);
	strv_free(&names);
	strv_free(&done);
}

/* The interface of the IPv4 default route, "" when none. */
static void default_route(char *iface, size_t len)
{
	cleanup_free char *path = hostfs_path("/proc/net/route");
	cleanup_fclose FILE *f = fopen(path, "re");
	char line[512], name[64], dest[32], mask[32];

	iface[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %31s %*s %*s %*s %*s %*s %31s", name,
			   dest, mask) == 3 &&
		    !strcmp(dest, "00000000") && !strcmp(mask, "00000000")) {
			snprintf(iface, len, "%s", name);
			return;
		}
}

/* Interfaces of PCI functions (and the bridges they are in), then the
 * default route when it is on one of them. */
void capture_nets(FILE *out)
{
	struct strv names = {0}, known = {0};
	char bdf[16], route[64], master[256];

	list_dir("/sys/class/net", &names);
	strv_add(&known, "br0"); /* every fake host has it */
	for (size_t i = 0; i < names.n; i++) {
		cleanup_free char *abs =
			xasprintf("/sys/class/net/%s", names.v[i]);
		cleanup_free char *ml = xasprintf("%s/master", abs);

		if (!capture_owner(abs, bdf, sizeof(bdf)))
			continue;
		fprintf(out, "net %s pci=%s", names.v[i], bdf);
		if (!hostfs_readlink_base(ml, master, sizeof(master))) {
			fprintf(out, " master=%s", master);
			strv_add(&known, master);
		}
		fputc('\n', out);
		strv_add(&known, names.v[i]);
	}
	default_route(route, sizeof(route));
	if (*route && listed(&known, route))
		fprintf(out, "default-route %s\n", route);
	strv_free(&names);
	strv_free(&known);
}

void capture_consoles(FILE *out)
{
	char active[512], bdf[16], *save = NULL;
	struct vr_error ignored;

	if (hostfs_read("/sys/class/tty/console/active", active, sizeof(active),
			&ignored))
		return;
	for (char *t = strtok_r(active, " ", &save); t;
	     t = strtok_r(NULL, " ", &save)) {
		cleanup_free char *abs = xasprintf("/sys/class/tty/%s", t);

		if (capture_owner(abs, bdf, sizeof(bdf)))
			fprintf(out, "console %s pci=%s\n", t, bdf);
	}
}

/* A system service's unit from /proc/PID/cgroup ("0::/system.slice/X"),
 * "" for anything else (a user's program). */
static void system_unit(const char *pid, char *unit, size_t len)
{
	cleanup_free char *abs = xasprintf("/proc/%s/cgroup", pid);
	char buf[2048], *p;
	struct vr_error ignored;

	unit[0] = '\0';
	if (hostfs_read(abs, buf, sizeof(buf), &ignored) ||
	    !(p = strstr(buf, "0::/system.slice/")))
		return;
	p += strlen("0::/system.slice/");
	p[strcspn(p, "/\n")] = '\0';
	if (strstr(p, ".service") || strstr(p, ".scope"))
		snprintf(unit, len, "%s", p);
}

/* The device nodes process pid has open of nodes, sorted; count. */
static size_t held_nodes(const char *pid, const struct strv *nodes,
			 struct strv *held)
{
	cleanup_free char *abs = xasprintf("/proc/%s/fd", pid);
	cleanup_free char *dir = hostfs_path(abs);
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		cleanup_free char *fd = xasprintf("%s/%s", dir, de->d_name);
		char target[4096];
		ssize_t n = readlink(fd, target, sizeof(target) - 1);

		if (n <= 0)
			continue;
		target[n] = '\0';
		if (listed(nodes, target) && !listed(held, target))
			strv_add(held, target);
	}
	if (d)
		closedir(d);
	if (held->n)
		qsort(held->v, held->n, sizeof(*held->v), name_cmp);
	return held->n;
}

static int pid_cmp(const void *a, const void *b)
{
	long x = atol(*(char *const *)a), y = atol(*(char *const *)b);

	return (x > y) - (x < y);
}

void capture_holders(FILE *out, const struct host *h)
{
	struct strv nodes = {0}, procs = {0};

	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].driver[0])
			holders_nodes(&h->pci[i], &nodes);
	list_dir("/proc", &procs);
	if (procs.n)
		qsort(procs.v, procs.n, sizeof(*procs.v), pid_cmp);
	for (size_t i = 0; nodes.n && i < procs.n; i++) {
		struct strv held = {0};
		cleanup_free char *cabs = NULL;
		char comm[64], unit[128];
		struct vr_error ignored;

		if (strspn(procs.v[i], "0123456789") != strlen(procs.v[i]) ||
		    !held_nodes(procs.v[i], &nodes, &held)) {
			strv_free(&held);
			continue;
		}
		cabs = xasprintf("/proc/%s/comm", procs.v[i]);
		if (hostfs_read(cabs, comm, sizeof(comm), &ignored))
			snprintf(comm, sizeof(comm), "?");
		system_unit(procs.v[i], unit, sizeof(unit));
		fprintf(out, "holder %s ", procs.v[i]);
		capture_quoted(out, comm);
		if (*unit)
			fprintf(out, " unit=%s", unit);
		for (size_t j = 0; j < held.n; j++)
			fprintf(out, " %s", held.v[j]);
		fputc('\n', out);
		strv_free(&held);
	}
	strv_free(&nodes);
	strv_free(&procs);
}
