/* fh_pci.c: PCI and platform driver binding, probe, driver_override,
 * remove/rescan/reset, and /dev/vfio groups following vfio-pci. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fh_shim.h"

/* ---- buses and drivers ------------------------------------------------ */

/* The real folder of device NAME on BUS ("pci", "platform"). */
static int dev_dir(const char *bus, const char *name, char *out)
{
	char p[PATH_MAX];

	if (realpath(
		    fh_pathf(p, "%s/sys/bus/%s/devices/%s", fh_root, bus, name),
		    out))
		return 0;
	if (!strcmp(bus, "platform") &&
	    realpath(fh_pathf(p, "%s/sys/devices/platform/%s", fh_root, name),
		     out))
		return 0;
	return -ENODEV;
}

static void dev_driver(const char *dev, char *out, size_t len)
{
	char p[PATH_MAX];

	fh_link_base(fh_pathf(p, "%s/driver", dev), out, len);
}

static void dev_group(const char *dev, char *out, size_t len)
{
	char p[PATH_MAX];

	fh_link_base(fh_pathf(p, "%s/iommu_group", dev), out, len);
}

/* driver_override as a name, "" when unset. */
static void dev_override(const char *dev, char *out, size_t len)
{
	char p[PATH_MAX];

	fh_read_str(fh_pathf(p, "%s/driver_override", dev), out, len);
	if (!strcmp(out, "(null)"))
		out[0] = '\0';
}

/* The driver the builder recorded for a PCI function, "" for none. */
static void pci_native(const char *name, char *out, size_t len)
{
	char p[PATH_MAX];

	fh_read_str(fh_pathf(p, "%s/.fakehost/native/%s", fh_root, name), out,
		    len);
	if (!strcmp(out, "-"))
		out[0] = '\0';
}

/* /dev/vfio/GROUP exists while a device of the group is on vfio-pci. */
static void vfio_sync(const char *group)
{
	char p[PATH_MAX], drv[64];
	bool used = false;
	struct dirent *de;
	DIR *d;

	if (!*group)
		return;
	d = opendir(fh_pathf(p, "%s/sys/kernel/iommu_groups/%s/devices",
			     fh_root, group));
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		dev_driver(fh_pathf(p,
				    "%s/sys/kernel/iommu_groups/%s/devices/%s",
				    fh_root, group, de->d_name),
			   drv, sizeof(drv));
		used |= !strcmp(drv, "vfio-pci");
	}
	if (d)
		closedir(d);
	fh_pathf(p, "%s/dev/vfio/%s", fh_root, group);
	if (!used) {
		unlink(p);
	} else if (!fh_exists(p)) {
		char dir[PATH_MAX];
		int fd;

		fh_mkdir_p(fh_dir_name(p, dir));
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
}

/* What the kernel derives from the binding: enable (the fake counts a
 * bound driver as having enabled the function, as the builder does) and
 * the DRIVER= line of uevent. */
static void dev_show_driver(const char *dev, const char *drv)
{
	char p[PATH_MAX], buf[VAL_MAX], out[VAL_MAX + 300];
	char *rest = buf;

	if (fh_exists(fh_pathf(p, "%s/enable", dev)))
		fh_write_str(p, *drv ? "1\n" : "0\n");
	if (fh_read_str(fh_pathf(p, "%s/uevent", dev), buf, sizeof(buf)) < 0)
		return;
	if (!strncmp(rest, "DRIVER=", 7))
		rest += strcspn(rest, "\n") + (rest[strcspn(rest, "\n")] != 0);
	snprintf(out, sizeof(out), "%s%s%s%s\n", *drv ? "DRIVER=" : "", drv,
		 *drv ? "\n" : "", rest);
	fh_write_str(p, out);
}

/* Link device and driver both ways, as a successful probe does. */
static int bus_attach(const char *bus, const char *drv, const char *dev)
{
	char drvdir[PATH_MAX], group[32];
	int e;

	fh_pathf(drvdir, "%s/sys/bus/%s/drivers/%s", fh_root, bus, drv);
	if (!fh_is_dir(drvdir))
		return -ENODEV;
	e = fh_make_link(dev, drvdir, "driver");
	if (!e)
		e = fh_make_link(drvdir, dev, fh_base_name(dev));
	if (e)
		return e;
	dev_show_driver(dev, drv);
	if (!strcmp(bus, "pci")) {
		dev_group(dev, group, sizeof(group));
		vfio_sync(group);
	}
	return e;
}

static void bus_detach(const char *bus, const char *dev)
{
	char p[PATH_MAX], drv[64], group[32];

	dev_driver(dev, drv, sizeof(drv));
	if (!*drv)
		return;
	unlink(fh_pathf(p, "%s/driver", dev));
	unlink(fh_pathf(p, "%s/sys/bus/%s/drivers/%s/%s", fh_root, bus, drv,
			fh_base_name(dev)));
	dev_show_driver(dev, "");
	if (!strcmp(bus, "pci")) {
		dev_group(dev, group, sizeof(group));
		vfio_sync(group);
	}
}

/* driver_match_device: driver_override wins; else the PCI function's
 * native driver, or a platform device's name without its ".N". */
static bool bus_match(const char *bus, const char *dev, const char *drv)
{
	char want[256];
	const char *name, *dot;

	dev_override(dev, want, sizeof(want));
	if (*want)
		return !strcmp(want, drv);
	if (!strcmp(bus, "pci")) {
		pci_native(fh_base_name(dev), want, sizeof(want));
		return *want && !strcmp(want, drv);
	}
	name = fh_base_name(dev);
	dot = strrchr(name, '.');
	snprintf(want, sizeof(want), "%.*s",
		 (int)(dot ? (size_t)(dot - name) : strlen(name)), name);
	return !strcmp(want, drv);
}

/* The folder's name is the driver: .../drivers/DRV/bind. */
static void req_driver(const struct req *r, char *out)
{
	fh_dir_name(r->path, out);
	memmove(out, fh_base_name(out), strlen(fh_base_name(out)) + 1);
}

static int do_bind(struct req *r, const char *bus)
{
	char dev[PATH_MAX], drv[PATH_MAX], cur[64];
	const char *name = fh_dev_arg(r->val);

	req_driver(r, drv);
	if (!name || dev_dir(bus, name, dev) || !bus_match(bus, dev, drv))
		return -ENODEV;
	dev_driver(dev, cur, sizeof(cur));
	if (*cur)
		return -EBUSY;
	return bus_attach(bus, drv, dev);
}

static int do_unbind(struct req *r, const char *bus)
{
	char dev[PATH_MAX], drv[PATH_MAX], cur[64];
	const char *name = fh_dev_arg(r->val);

	req_driver(r, drv);
	if (!name || dev_dir(bus, name, dev))
		return -ENODEV;
	dev_driver(dev, cur, sizeof(cur));
	if (strcmp(cur, drv))
		return -ENODEV;
	bus_detach(bus, dev);
	return 0;
}

int fh_do_pci_bind(struct req *r)
{
	return do_bind(r, "pci");
}

int fh_do_pci_unbind(struct req *r)
{
	return do_unbind(r, "pci");
}

int fh_do_platform_bind(struct req *r)
{
	return do_bind(r, "platform");
}

int fh_do_platform_unbind(struct req *r)
{
	return do_unbind(r, "platform");
}

/* device_attach of an unbound PCI function: its override when set (and
 * that driver is loaded), else its native driver. */
static void pci_probe(const char *dev)
{
	char drv[256], cur[64];

	dev_driver(dev, cur, sizeof(cur));
	if (*cur)
		return;
	dev_override(dev, drv, sizeof(drv));
	if (!*drv)
		pci_native(fh_base_name(dev), drv, sizeof(drv));
	if (*drv)
		bus_attach("pci", drv, dev);
}

int fh_do_drivers_probe(struct req *r)
{
	char dev[PATH_MAX];
	const char *name = fh_dev_arg(r->val);

	if (!name || dev_dir("pci", name, dev))
		return -ENODEV;
	pci_probe(dev);
	return 0;
}

/* pci and platform devices alike; stored as the kernel shows it. */
int fh_do_driver_override(struct req *r)
{
	char buf[VAL_MAX + 2];

	if (strlen(r->val) >= VAL_MAX - 1)
		return -EINVAL;
	r->val[strcspn(r->val, "\n")] = '\0';
	snprintf(buf, sizeof(buf), "%s\n", *r->val ? r->val : "(null)");
	return fh_write_str(r->path, buf);
}

/* ---- PCI remove / rescan / reset -------------------------------------- */

static bool is_bdf(const char *s)
{
	static const char form[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i]; i++)
		if (form[i] == 'x' ? !strchr("0123456789abcdef", s[i]) || !s[i]
				   : s[i] != form[i])
			return false;
	return true;
}

/* A PCI function's own folder: named by its BDF, below /sys/devices. */
static bool is_pci_dev(const char *dir)
{
	return is_bdf(fh_base_name(dir)) &&
	       !strncmp(dir + fh_root_len, "/sys/devices/pci", 16);
}

static bool first_child_dev(const char *dir, char *out)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool found = false;

	struct stat st;

	while (d && !found && (de = readdir(d))) {
		if (!is_bdf(de->d_name))
			continue;
		fh_pathf(out, "%s/%s", dir, de->d_name);
		found = !lstat(out, &st) && S_ISDIR(st.st_mode);
	}
	if (d)
		closedir(d);
	return found;
}

/* pci_stop_and_remove_bus_device: children first, then the function
 * leaves its driver, the bus and its IOMMU group; its folder is kept
 * under .fakehost/removed/ for a rescan. */
static void pci_remove(const char *dev)
{
	char p[PATH_MAX], child[PATH_MAX], ent[PATH_MAX], group[32];
	const char *name = fh_base_name(dev);

	while (first_child_dev(dev, child))
		pci_remove(child);
	bus_detach("pci", dev);
	dev_group(dev, group, sizeof(group));
	unlink(fh_pathf(p, "%s/sys/bus/pci/devices/%s", fh_root, name));
	unlink(fh_pathf(p, "%s/sys/kernel/iommu_groups/%s/devices/%s", fh_root,
			group, name));
	fh_pathf(ent, "%s/.fakehost/removed/%s", fh_root, name);
	fh_rm_rf(ent);
	fh_mkdir_p(ent);
	fh_write_str(fh_pathf(p, "%s/path", ent), dev + fh_root_len);
	if (rename(dev, fh_pathf(p, "%s/dev", ent)))
		fh_rm_rf(dev);
}

/* Bring back one removed function when its parent is there again and it
 * lies below scope (NULL: anywhere); it comes back as new: no override,
 * probed to its native driver. */
static bool pci_restore(const char *name, const char *scope)
{
	char p[PATH_MAX], ent[PATH_MAX], rel[PATH_MAX], dev[PATH_MAX];
	char parent[PATH_MAX], group[32];

	fh_pathf(ent, "%s/.fakehost/removed/%s", fh_root, name);
	if (fh_read_str(fh_pathf(p, "%s/path", ent), rel, sizeof(rel)) <= 0)
		return false;
	if (scope &&
	    (strncmp(rel, scope, strlen(scope)) || rel[strlen(scope)] != '/'))
		return false;
	fh_pathf(dev, "%s%s", fh_root, rel);
	if (!fh_is_dir(fh_dir_name(dev, parent)) || fh_exists(dev) ||
	    rename(fh_pathf(p, "%s/dev", ent), dev))
		return false;
	fh_rm_rf(ent);
	if (fh_exists(fh_pathf(p, "%s/driver_override", dev)))
		fh_write_str(p, "(null)\n");
	fh_make_link(fh_pathf(p, "%s/sys/bus/pci/devices", fh_root), dev, name);
	dev_group(dev, group, sizeof(group));
	if (*group) {
		fh_pathf(p, "%s/sys/kernel/iommu_groups/%s/devices", fh_root,
			 group);
		fh_mkdir_p(p);
		fh_make_link(p, dev, name);
	}
	pci_probe(dev);
	return true;
}

static void pci_rescan(const char *scope)
{
	char p[PATH_MAX];
	bool again = true;

	while (again) {
		struct dirent *de;
		DIR *d = opendir(fh_pathf(p, "%s/.fakehost/removed", fh_root));

		again = false;
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.')
				again |= pci_restore(de->d_name, scope);
		if (d)
			closedir(d);
	}
}

int fh_do_pci_remove(struct req *r)
{
	char dev[PATH_MAX];
	unsigned long v;

	if (!is_pci_dev(fh_dir_name(r->path, dev)))
		return NOT_MINE;
	if (fh_parse_ulong(r->val, &v))
		return -EINVAL;
	if (v)
		pci_remove(dev);
	return 0;
}

int fh_do_pci_bus_rescan(struct req *r)
{
	unsigned long v;

	if (fh_parse_ulong(r->val, &v))
		return -EINVAL;
	if (v)
		pci_rescan(NULL);
	return 0;
}

/* A function's rescan rescans the bus it sits on, with the buses below. */
int fh_do_pci_dev_rescan(struct req *r)
{
	char dev[PATH_MAX], bus[PATH_MAX];
	unsigned long v;

	if (!is_pci_dev(fh_dir_name(r->path, dev)))
		return NOT_MINE;
	if (fh_parse_ulong(r->val, &v))
		return -EINVAL;
	if (v)
		pci_rescan(fh_dir_name(dev, bus) + fh_root_len);
	return 0;
}

/* Only "1" resets; a function without a reset method cannot be reset. */
int fh_do_pci_reset(struct req *r)
{
	char dev[PATH_MAX], p[PATH_MAX], method[256];
	unsigned long v;

	if (!is_pci_dev(fh_dir_name(r->path, dev)))
		return NOT_MINE;
	if (fh_parse_ulong(r->val, &v) || v != 1)
		return -EINVAL;
	if (fh_read_str(fh_pathf(p, "%s/reset_method", dev), method,
			sizeof(method)) <= 0)
		return -ENOTTY;
	return 0;
}
