/* critical.c: what the host stands on, per PCI function: file systems
 * mounted from its disks (and from volumes on them), swap, the interface of
 * the default route, a console on its ports. A guest must not take these. */
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEPTH_MAX 8 /* volumes on volumes on partitions */

/* The real folder of a /sys entry (a link such as /sys/class/block/sda),
 * as a path below the host root; NULL when absent. */
static char *sys_real(const char *abs)
{
	cleanup_free char *path = hostfs_path(abs);
	char real[PATH_MAX];

	return realpath(path, real) ? xstrdup(real) : NULL;
}

static void need_add(struct host *h, const struct pci_addr *a, const char *text)
{
	for (size_t i = 0; i < h->npci; i++) {
		struct strv *sv = &h->pci[i].needs;

		if (!pci_addr_eq(&h->pci[i].addr, a))
			continue;
		for (size_t j = 0; j < sv->n; j++)
			if (!strcmp(sv->v[j], text))
				return;
		strv_add(sv, text);
	}
}

/* What a device of a class stands on: the entries of a folder of its own
 * (all of them, or those named PREFIX + the name below). */
struct below {
	const char *dir; /* "" for the device's own folder */
	const char *prefix;
};

struct dev_class {
	const char *sys; /* /sys/class/... */
	struct below below[2];
};

/* Volumes are made of the block devices in slaves/. */
static const struct dev_class block_class = {"/sys/class/block",
					     {{"slaves", ""}, {NULL, NULL}}};

/* Bridges list their ports in brif/, bonds and VLANs their links as
 * lower_NAME. */
static const struct dev_class net_class = {"/sys/class/net",
					   {{"brif", ""}, {"", "lower_"}}};

/* Every PCI function a device of class c (by its name there) lives on,
 * through what it stands on: what is added to each. */
static void dev_need(struct host *h, const struct dev_class *c,
		     const char *name, const char *text, int depth)
{
	cleanup_free char *abs = xasprintf("%s/%s", c->sys, name);
	cleanup_free char *real = sys_real(abs);
	struct pci_addr a;

	if (!real || depth > DEPTH_MAX)
		return;
	if (host_pci_path_owner(real, &a)) {
		need_add(h, &a, text);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(c->below) && c->below[i].dir; i++) {
		const struct below *b = &c->below[i];
		cleanup_free char *dir = xasprintf("%s/%s", real, b->dir);
		size_t n = strlen(b->prefix);
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.' &&
			    !strncmp(de->d_name, b->prefix, n))
				dev_need(h, c, de->d_name + n, text, depth + 1);
		if (d)
			closedir(d);
	}
}

static void block_need(struct host *h, const char *name, const char *text,
		       int depth)
{
	dev_need(h, &block_class, name, text, depth);
}

/* The name in /sys/class/block of a device given by number ("259:2") or
 * by path (/dev/nvme0n1p2, /dev/mapper/vg-root); NULL when unknown. The
 * numbers are read once per scan: hosts with many loop devices (snaps)
 * have many mounts of them. */
struct blocks {
	struct strv names, nums;
};

static void blocks_read(struct blocks *bl)
{
	cleanup_free char *dir = hostfs_path("/sys/class/block");
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		cleanup_free char *abs = NULL;
		char v[32];
		struct vr_error ignored;

		if (de->d_name[0] == '.')
			continue;
		abs = xasprintf("/sys/class/block/%s/dev", de->d_name);
		if (hostfs_read(abs, v, sizeof(v), &ignored))
			continue;
		strv_add(&bl->names, de->d_name);
		strv_add(&bl->nums, v);
	}
	if (d)
		closedir(d);
}

static char *block_by_dev(const struct blocks *bl, const char *devnum)
{
	for (size_t i = 0; i < bl->nums.n; i++)
		if (!strcmp(bl->nums.v[i], devnum))
			return xstrdup(bl->names.v[i]);
	return NULL;
}

static char *block_by_path(const char *src)
{
	cleanup_free char *dir = NULL;
	struct dirent *de;
	DIR *d;
	char *found = NULL;

	if (strncmp(src, "/dev/", 5))
		return NULL;
	if (strncmp(src, "/dev/mapper/", 12)) {
		cleanup_free char *abs =
			xasprintf("/sys/class/block/%s", src + 5);

		return strchr(src + 5, '/') || !hostfs_exists(abs)
			       ? NULL
			       : xstrdup(src + 5);
	}
	dir = hostfs_path("/sys/class/block");
	d = opendir(dir);
	while (!found && d && (de = readdir(d))) {
		cleanup_free char *abs = NULL;
		char v[128];
		struct vr_error ignored;

		abs = xasprintf("/sys/class/block/%s/dm/name", de->d_name);
		if (de->d_name[0] != '.' &&
		    !hostfs_read(abs, v, sizeof(v), &ignored) &&
		    !strcmp(v, src + 12))
			found = xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

/* /proc/self/mountinfo: "ID PARENT MAJ:MIN ROOT MOUNT OPTS... - TYPE SRC
 * SUPER". File systems of block devices have a real major; btrfs and the
 * like show 0:N, and are found by their source instead. */
static void mounts_scan(struct host *h, const struct blocks *bl)
{
	cleanup_free char *path = hostfs_path("/proc/self/mountinfo");
	cleanup_fclose FILE *f = fopen(path, "re");
	char line[4096], devnum[32], mnt[1024], type[64], src[1024];

	while (f && fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");
		cleanup_free char *name = NULL, *text = NULL;

		if (!dash ||
		    sscanf(line, "%*s %*s %31s %*s %1023s", devnum, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %1023s", type, src) != 2)
			continue;
		name = strncmp(devnum, "0:", 2) ? block_by_dev(bl, devnum)
						: block_by_path(src);
		if (!name)
			continue;
		text = xasprintf("%s (%s on %s)", mnt, type, src);
		block_need(h, name, text, 0);
	}
}

static void swaps_scan(struct host *h)
{
	cleanup_free char *path = hostfs_path("/proc/swaps");
	cleanup_fclose FILE *f = fopen(path, "re");
	char line[1024], src[1024];

	while (f && fgets(line, sizeof(line), f)) {
		cleanup_free char *name = NULL, *text = NULL;

		if (sscanf(line, "%1023s", src) != 1)
			continue;
		name = block_by_path(src);
		if (!name)
			continue; /* a swap file: its file system counts */
		text = xasprintf("swap on %s", src);
		block_need(h, name, text, 0);
	}
}

/* An interface and, for bridges, bonds and VLANs, the ones below it. */
static void net_need(struct host *h, const char *ifname, const char *text,
		     int depth)
{
	dev_need(h, &net_class, ifname, text, depth);
}

/* IPv4 /proc/net/route: "IFACE DEST GATEWAY FLAGS ... MASK"; IPv6
 * /proc/net/ipv6_route: "DEST PLEN SRC SPLEN NEXTHOP METRIC REF USE FLAGS
 * IFACE". The default route has destination and mask (length) 0. */
static void routes_scan(struct host *h)
{
	cleanup_free char *p4 = hostfs_path("/proc/net/route");
	cleanup_free char *p6 = hostfs_path("/proc/net/ipv6_route");
	cleanup_fclose FILE *f4 = fopen(p4, "re");
	cleanup_fclose FILE *f6 = fopen(p6, "re");
	char line[1024], ifname[64], dest[64], mask[64], plen[8];

	while (f4 && fgets(line, sizeof(line), f4)) {
		cleanup_free char *text = NULL;

		if (sscanf(line, "%63s %63s %*s %*s %*s %*s %*s %63s", ifname,
			   dest, mask) != 3 ||
		    strcmp(dest, "00000000") || strcmp(mask, "00000000"))
			continue;
		text = xasprintf("the default route (%s)", ifname);
		net_need(h, ifname, text, 0);
	}
	while (f6 && fgets(line, sizeof(line), f6)) {
		cleanup_free char *text = NULL;

		if (sscanf(line, "%63s %7s %*s %*s %*s %*s %*s %*s %*s %63s",
			   dest, plen, ifname) != 3 ||
		    strspn(dest, "0") != 32 || strcmp(plen, "00") ||
		    !strcmp(ifname, "lo"))
			continue;
		text = xasprintf("the default route (%s)", ifname);
		net_need(h, ifname, text, 0);
	}
}

static void consoles_scan(struct host *h)
{
	char active[512], *save = NULL;
	struct vr_error ignored;

	if (hostfs_read("/sys/class/tty/console/active", active, sizeof(active),
			&ignored))
		return;
	for (char *t = strtok_r(active, " ", &save); t;
	     t = strtok_r(NULL, " ", &save)) {
		cleanup_free char *abs = xasprintf("/sys/class/tty/%s", t);
		cleanup_free char *real = sys_real(abs);
		cleanup_free char *text = NULL;
		struct pci_addr a;

		if (!real || !host_pci_path_owner(real, &a))
			continue;
		text = xasprintf("the console %s", t);
		need_add(h, &a, text);
	}
}

void critical_scan(struct host *h)
{
	struct blocks bl = {0};

	if (!h->npci)
		return;
	blocks_read(&bl);
	mounts_scan(h, &bl);
	strv_free(&bl.names);
	strv_free(&bl.nums);
	swaps_scan(h);
	routes_scan(h);
	consoles_scan(h);
}

char *critical_text(const struct host_pci *d)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < d->needs.n; i++) {
		char *t = xasprintf("%s%s%s", s, i ? ", " : "", d->needs.v[i]);

		free(s);
		s = t;
	}
	return s;
}
