/* machine.c: what kind of machine the host is, for `vmrun new`: which CPUs
 * share an L3 cache, whether it runs on a battery, its display manager. */
#include "host/host.h"
#include "base/base.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* l3_of[cpu]: the lowest CPU of the L3 cache it shares; NULL unless every
 * online CPU shows one (index3 of level 3, as x86 kernels number it). */
static void machine_probe_l3(struct host *h)
{
	struct vr_error ignored;
	char path[96], buf[4096];
	int *l3 = xcalloc((size_t)h->ncpus, sizeof(*l3));

	for (int c = 0; c < h->ncpus; c++) {
		struct cpulist cl = {0};
		const char *why;

		l3[c] = -1;
		if (h->core_of[c] < 0)
			continue;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/cache/index3/level", c);
		if (hostfs_read(path, buf, sizeof(buf), &ignored) ||
		    strcmp(buf, "3"))
			goto none;
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/cache/index3/"
			 "shared_cpu_list",
			 c);
		if (hostfs_read(path, buf, sizeof(buf), &ignored) ||
		    cpulist_parse(buf, &cl, &why) || !cl.n)
			goto none;
		l3[c] = cl.cpu[0];
		for (size_t i = 1; i < cl.n; i++)
			if (cl.cpu[i] < l3[c])
				l3[c] = cl.cpu[i];
		cpulist_free(&cl);
	}
	h->l3_of = l3;
	return;
none:
	free(l3);
}

/* A system battery: type Battery, and not a device's own (a wireless
 * mouse's battery has scope Device). */
static bool machine_probe_battery(void)
{
	cleanup_free char *dir = hostfs_path("/sys/class/power_supply");
	struct vr_error ignored;
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;

	while (d && !found && (de = readdir(d))) {
		char path[320], type[64], scope[64];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/power_supply/%s/type",
			 de->d_name);
		if (hostfs_read(path, type, sizeof(type), &ignored) ||
		    strcmp(type, "Battery"))
			continue;
		snprintf(path, sizeof(path), "/sys/class/power_supply/%s/scope",
			 de->d_name);
		if (!hostfs_read(path, scope, sizeof(scope), &ignored) &&
		    !strcmp(scope, "Device"))
			continue;
		found = true;
	}
	if (d)
		closedir(d);
	return found;
}

void machine_probe(struct host *h)
{
	char unit[sizeof(h->display_manager)];

	machine_probe_l3(h);
	h->battery = machine_probe_battery();
	/* systemd's alias of whichever display manager is enabled */
	if (!hostfs_readlink_base("/etc/systemd/system/display-manager.service",
				  unit, sizeof(unit)))
		snprintf(h->display_manager, sizeof(h->display_manager), "%s",
			 unit);
	else
		snprintf(h->display_manager, sizeof(h->display_manager),
			 "display-manager.service");
}
