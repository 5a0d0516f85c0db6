/* fh_holders.c: processes of a fake host root that hold a PCI function's
 * device nodes open, and the unbind that waits for them as the kernel's
 * does for a driver whose device is in use. */

/*
 * A holder is ROOT/proc/PID/fd/N, a link to a device node ("/dev/dri/card0"
 * as the kernel shows it). A function's nodes are the DEVNAME= of the
 * uevent files under its drm/ and sound/cardN/ folders, and for the nvidia
 * driver /dev/nvidiaN (the minor in ROOT/proc/driver/nvidia/gpus/BDF/
 * information) with the driver's shared nodes, and its BAR files
 * (/sys/devices/.../BDF/resourceN, mapped by a user-space driver). An unbind
 * of a held
 * function blocks until the holders are gone (their proc folders removed),
 * or FAKEHOST_UNBIND_WAIT_S (default 60) seconds pass, then EBUSY: a real
 * kernel would wait for ever; the bound keeps a broken test from hanging.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fh_shim.h"

#define MAX_NODES_OF 32

struct nodes {
	char path[MAX_NODES_OF][256];
	size_t n;
};

static void nodes_add(struct nodes *ns, const char *path)
{
	if (ns->n < MAX_NODES_OF)
		snprintf(ns->path[ns->n++], sizeof(ns->path[0]), "%.255s",
			 path);
}

/* DEVNAME of every DIR/SUB/uevent, as /dev/DEVNAME. */
static void nodes_of_dir(const char *dir, struct nodes *ns)
{
	char p[PATH_MAX], buf[1024], node[160];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		const char *dn;

		if (de->d_name[0] == '.')
			continue;
		if (fh_read_str(fh_pathf(p, "%s/%s/uevent", dir, de->d_name),
				buf, sizeof(buf)) < 0)
			continue;
		dn = strstr(buf, "DEVNAME=");
		if (!dn)
			continue;
		snprintf(node, sizeof(node), "/dev/%.*s",
			 (int)strcspn(dn + 8, "\n"), dn + 8);
		nodes_add(ns, node);
	}
	if (d)
		closedir(d);
}

static void nodes_of_nvidia(const char *bdf, struct nodes *ns)
{
	static const char *const shared[] = {
		"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-modeset"};
	char p[PATH_MAX], buf[1024], node[64];
	const char *m;

	if (fh_read_str(fh_pathf(p, "%s/proc/driver/nvidia/gpus/%s/information",
				 fh_root, bdf),
			buf, sizeof(buf)) < 0)
		return;
	m = strstr(buf, "Device Minor:");
	if (m) {
		snprintf(node, sizeof(node), "/dev/nvidia%ld",
			 strtol(m + 13, NULL, 10));
		nodes_add(ns, node);
	}
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		nodes_add(ns, shared[i]);
}

static void nodes_of(const char *dev, struct nodes *ns)
{
	char p[PATH_MAX], drv[64];
	struct dirent *de;
	DIR *d;

	nodes_of_dir(fh_pathf(p, "%s/drm", dev), ns);
	d = opendir(fh_pathf(p, "%s/sound", dev));
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "card", 4))
			nodes_of_dir(
				fh_pathf(p, "%s/sound/%s", dev, de->d_name),
				ns);
	if (d)
		closedir(d);
	fh_link_base(fh_pathf(p, "%s/driver", dev), drv, sizeof(drv));
	if (!strcmp(drv, "nvidia"))
		nodes_of_nvidia(fh_base_name(dev), ns);
	for (int i = 0; i < 6; i++) {
		snprintf(p, sizeof(p), "%s/resource%d", dev + fh_root_len, i);
		nodes_add(ns, p);
	}
}

/* Whether a process of the root has one of the nodes open. */
static bool held(const struct nodes *ns)
{
	char p[PATH_MAX], target[PATH_MAX];
	struct dirent *pe, *fe;
	bool found = false;
	DIR *proc = opendir(fh_pathf(p, "%s/proc", fh_root));

	while (!found && proc && (pe = readdir(proc))) {
		DIR *fds;

		if (pe->d_name[0] < '0' || pe->d_name[0] > '9')
			continue;
		fds = opendir(
			fh_pathf(p, "%s/proc/%s/fd", fh_root, pe->d_name));
		while (!found && fds && (fe = readdir(fds))) {
			ssize_t n = readlink(fh_pathf(p, "%s/proc/%s/fd/%s",
						      fh_root, pe->d_name,
						      fe->d_name),
					     target, sizeof(target) - 1);

			if (n <= 0)
				continue;
			target[n] = '\0';
			for (size_t i = 0; i < ns->n && !found; i++)
				found = !strcmp(target, ns->path[i]);
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	return found;
}

/* Before the unbind takes the root's lock: wait while the function's
 * nodes are held. 0, or -EBUSY once the bound has passed. */
int fh_wait_unheld(struct req *r)
{
	const struct timespec step = {0, 50 * 1000 * 1000};
	const char *env = getenv("FAKEHOST_UNBIND_WAIT_S");
	long left_ms = (env && *env ? strtol(env, NULL, 10) : 60) * 1000;
	char dev[PATH_MAX], p[PATH_MAX];
	const char *name = fh_dev_arg(r->val);
	struct nodes ns = {0};

	if (!name ||
	    !realpath(fh_pathf(p, "%s/sys/bus/pci/devices/%s", fh_root, name),
		      dev))
		return 0; /* the unbind itself says what is wrong */
	nodes_of(dev, &ns);
	while (ns.n && held(&ns)) {
		if (left_ms <= 0)
			return -EBUSY;
		nanosleep(&step, NULL);
		left_ms -= 50;
	}
	return 0;
}
