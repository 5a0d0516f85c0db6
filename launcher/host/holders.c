/* holders.c: the processes that have a PCI function's device nodes open (a
 * compositor on /dev/dri/card0, PipeWire on an HDMI audio's /dev/snd/pcm*,
 * CUDA on /dev/nvidia0): unbinding its driver waits for them to let go. */
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* DEVNAME of each DIR/ENTRY/uevent, as /dev/DEVNAME. */
static void nodes_of_dir(const char *abs, struct strv *out)
{
	cleanup_free char *dir = hostfs_path(abs);
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		cleanup_free char *ev = NULL;
		char buf[1024];
		const char *dn;
		struct vr_error ignored;

		if (de->d_name[0] == '.')
			continue;
		ev = xasprintf("%s/%s/uevent", abs, de->d_name);
		if (hostfs_read(ev, buf, sizeof(buf), &ignored))
			continue;
		dn = strstr(buf, "DEVNAME=");
		if (dn)
			strv_addf(out, "/dev/%.*s", (int)strcspn(dn + 8, "\n"),
				  dn + 8);
	}
	if (d)
		closedir(d);
}

/* The proprietary driver's nodes: /dev/nvidiaN of this GPU (its minor in
 * /proc/driver/nvidia/gpus/BDF/information) and the ones all its GPUs
 * share. */
static void nodes_of_nvidia(const char *bdf, struct strv *out)
{
	cleanup_free char *info =
		xasprintf("/proc/driver/nvidia/gpus/%s/information", bdf);
	char buf[2048];
	const char *m;
	struct vr_error ignored;

	if (!hostfs_read(info, buf, sizeof(buf), &ignored) &&
	    (m = strstr(buf, "Device Minor:")))
		strv_addf(out, "/dev/nvidia%ld", strtol(m + 13, NULL, 10));
	strv_add(out, "/dev/nvidiactl");
	strv_add(out, "/dev/nvidia-uvm");
	strv_add(out, "/dev/nvidia-modeset");
}

void holders_nodes(const struct host_pci *d, struct strv *out)
{
	char bdf[16];
	cleanup_free char *drm = NULL, *sound = NULL, *dir = NULL;
	struct dirent *de;
	DIR *sd;

	pci_addr_format(&d->addr, bdf, sizeof(bdf));
	drm = xasprintf("/sys/bus/pci/devices/%s/drm", bdf);
	nodes_of_dir(drm, out);
	sound = xasprintf("/sys/bus/pci/devices/%s/sound", bdf);
	dir = hostfs_path(sound);
	sd = opendir(dir);
	while (sd && (de = readdir(sd))) {
		cleanup_free char *card = NULL;

		if (strncmp(de->d_name, "card", 4))
			continue;
		card = xasprintf("%s/%s", sound, de->d_name);
		nodes_of_dir(card, out);
	}
	if (sd)
		closedir(sd);
	if (!strcmp(d->driver, "nvidia"))
		nodes_of_nvidia(bdf, out);
}

/* The systemd unit of a process from /proc/PID/cgroup (the unified line
 * "0::PATH", or v1's "N:name=systemd:PATH"): the last folder of PATH when
 * that is a .service or .scope; user units (under user@UID.service)
 * flagged. */
static void holder_unit(struct holder *hd, const char *pid)
{
	cleanup_free char *abs = xasprintf("/proc/%s/cgroup", pid);
	char buf[2048], *line, *last;
	struct vr_error ignored;

	if (hostfs_read(abs, buf, sizeof(buf), &ignored))
		return;
	line = strstr(buf, "0::");
	if (line)
		line += 3;
	else if ((line = strstr(buf, "name=systemd:")))
		line += 13;
	else
		return;
	line[strcspn(line, "\n")] = '\0';
	last = strrchr(line, '/');
	if (!last || (!strstr(last, ".service") && !strstr(last, ".scope")))
		return;
	snprintf(hd->unit, sizeof(hd->unit), "%s", last + 1);
	hd->user_unit = strstr(line, "/user@") != NULL;
}

/* The first of nodes that process pid has open, NULL for none. */
static const char *holds(const char *pid, const struct strv *nodes)
{
	cleanup_free char *abs = xasprintf("/proc/%s/fd", pid);
	cleanup_free char *dir = hostfs_path(abs);
	const char *found = NULL;
	struct dirent *de;
	DIR *d = opendir(dir);

	while (!found && d && (de = readdir(d))) {
		cleanup_free char *fd = xasprintf("%s/%s", dir, de->d_name);
		char target[PATH_MAX];
		ssize_t n = readlink(fd, target, sizeof(target) - 1);

		if (n <= 0)
			continue;
		target[n] = '\0';
		for (size_t i = 0; i < nodes->n && !found; i++)
			if (!strcmp(target, nodes->v[i]))
				found = nodes->v[i];
	}
	if (d)
		closedir(d);
	return found;
}

size_t holders_find(const struct host_pci *d, struct holder **out)
{
	struct strv nodes = {0};
	cleanup_free char *proc = hostfs_path("/proc");
	struct dirent *de;
	size_t n = 0;
	DIR *pd;

	*out = NULL;
	holders_nodes(d, &nodes);
	pd = nodes.n ? opendir(proc) : NULL;
	while (pd && (de = readdir(pd))) {
		const char *node;
		struct holder *hd;
		char comm[64];
		cleanup_free char *abs = NULL;
		struct vr_error ignored;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    strspn(de->d_name, "0123456789") != strlen(de->d_name) ||
		    !(node = holds(de->d_name, &nodes)))
			continue;
		*out = xrealloc(*out, (n + 1) * sizeof(**out));
		hd = &(*out)[n++];
		memset(hd, 0, sizeof(*hd));
		hd->pid = (pid_t)atoi(de->d_name);
		snprintf(hd->node, sizeof(hd->node), "%s", node);
		abs = xasprintf("/proc/%s/comm", de->d_name);
		if (hostfs_read(abs, comm, sizeof(comm), &ignored))
			snprintf(comm, sizeof(comm), "?");
		snprintf(hd->comm, sizeof(hd->comm), "%s", comm);
		holder_unit(hd, de->d_name);
	}
	if (pd)
		closedir(pd);
	strv_free(&nodes);
	return n;
}

char *holders_text(const struct holder *hs, size_t n)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		const struct holder *hd = &hs[i];
		char *t;

		if (hd->unit[0])
			t = xasprintf("%s%s%s (pid %d, %s%s) has %s open", s,
				      i ? "; " : "", hd->comm, (int)hd->pid,
				      hd->user_unit ? "user unit " : "",
				      hd->unit, hd->node);
		else
			t = xasprintf("%s%s%s (pid %d) has %s open", s,
				      i ? "; " : "", hd->comm, (int)hd->pid,
				      hd->node);
		free(s);
		s = t;
	}
	return s;
}
