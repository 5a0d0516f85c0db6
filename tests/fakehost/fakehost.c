/* fakehost.c: LD_PRELOAD kernel emulation for a fake host root: writes to
 * sysfs/procfs/cgroupfs files under $FAKEHOST_ROOT act as the kernel's do. */

/*
 * Active when FAKEHOST_ROOT names an existing folder (the builder's ROOT).
 * All emulation state lives in files under ROOT, so a killed process leaves
 * a tree that the next one continues from; nothing is kept in memory.
 *
 * Files the builder (tests/fakehost/fakehost) writes for the shim, under
 * ROOT/.fakehost/ (values are decimal or a name, newline-terminated):
 *   native/BDF          driver a PCI function gets when probed without a
 *                       driver_override ("-" or absent: none)
 *   nodeN/free_kb       memory hugepages can take at once
 *   nodeN/movable_kb    memory that becomes free_kb on compact_memory
 *   nodeN/cache_kb      memory that becomes free_kb on drop_caches
 * Files the shim keeps there:
 *   removed/BDF/dev     a removed PCI function's folder, kept for rescan
 *   removed/BDF/path    where that folder was, relative to ROOT
 *   lock                flock'd around each emulated operation
 * Attribute values are written as the kernel shows them: newline-
 * terminated, "(null)" for an unset driver_override, canonical lists.
 *
 * Interposed: write, pwrite (values), the open family (O_TRUNC dropped on
 * emulated attributes, as sysfs ignores it), mkdir/mkdirat, rmdir/
 * unlinkat(AT_REMOVEDIR) (cgroups), mount/umount2/umount (a line in
 * ROOT/proc/mounts). Only callers of the public symbols are seen: dash,
 * python and C programs are; bash's and coreutils' echo/printf write
 * through stdio's internal __write and are not.
 */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOT_MINE  1    /* handler result: an ordinary write after all */
#define VAL_MAX	  4096 /* a sysfs store sees at most a page */
#define MASK_BITS 1024 /* CPUs / nodes a list may name */
#define MAX_NODES 64

struct mask {
	uint64_t w[MASK_BITS / 64];
};

/* One intercepted write: the file's real path, its path below ROOT and
 * the value as a string. */
struct req {
	char path[PATH_MAX];
	const char *rel;
	char val[VAL_MAX];
};

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_mkdirat)(int, const char *, mode_t);
static int (*real_rmdir)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_mount)(const char *, const char *, const char *,
			 unsigned long, const void *);
static int (*real_umount2)(const char *, int);
static int (*real_umount)(const char *);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_open_2)(const char *, int);
static int (*real_open64_2)(const char *, int);
static int (*real_openat_2)(int, const char *, int);
static int (*real_openat64_2)(int, const char *, int);

/* Set while the shim runs, so its own calls go straight through. */
static __thread int busy;
/* realpath of FAKEHOST_ROOT, recomputed on each intercepted call. */
static __thread char root[PATH_MAX];
static __thread size_t root_len;

__attribute__((constructor)) static void shim_init(void)
{
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT,
								  "write");
	real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(
		RTLD_NEXT, "pwrite");
	real_mkdir = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
	real_mkdirat =
		(int (*)(int, const char *, mode_t))dlsym(RTLD_NEXT, "mkdirat");
	real_rmdir = (int (*)(const char *))dlsym(RTLD_NEXT, "rmdir");
	real_unlinkat =
		(int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
	real_mount =
		(int (*)(const char *, const char *, const char *,
			 unsigned long, const void *))dlsym(RTLD_NEXT, "mount");
	real_umount2 = (int (*)(const char *, int))dlsym(RTLD_NEXT, "umount2");
	real_umount = (int (*)(const char *))dlsym(RTLD_NEXT, "umount");
	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	real_open64 =
		(int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
	real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT,
								  "openat");
	real_openat64 = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT,
								    "openat64");
	real_open_2 = (int (*)(const char *, int))dlsym(RTLD_NEXT, "__open_2");
	real_open64_2 =
		(int (*)(const char *, int))dlsym(RTLD_NEXT, "__open64_2");
	real_openat_2 =
		(int (*)(int, const char *, int))dlsym(RTLD_NEXT, "__openat_2");
	real_openat64_2 = (int (*)(int, const char *, int))dlsym(
		RTLD_NEXT, "__openat64_2");
}

/* A preloaded library's own constructor may come after another's that
 * already calls into us: every entry point makes sure. */
static void need_init(void)
{
	if (!real_write || !real_open)
		shim_init();
}

/* ---- files ---------------------------------------------------------- */

static ssize_t raw_write(int fd, const void *buf, size_t n)
{
	if (real_write)
		return real_write(fd, buf, n);
	return syscall(SYS_write, fd, buf, n);
}

__attribute__((format(printf, 2, 3))) static char *pathf(char *out,
							 const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		out[0] = '\0'; /* every use then fails with ENOENT */
	return out;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Read a small file, one trailing newline dropped; length or -errno. */
static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return (int)n;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(s), done = 0;
	int e = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = raw_write(fd, s + done, len - done);

		if (n <= 0) {
			e = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	return e;
}

static long read_long(const char *path, long dflt)
{
	char buf[64], *end;
	long v;

	if (read_str(path, buf, sizeof(buf)) <= 0)
		return dflt;
	v = strtol(buf, &end, 10);
	return *end ? dflt : v;
}

static void write_long(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", v);
	write_str(path, buf);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The folder part of path, into out. */
static char *dir_name(const char *path, char *out)
{
	const char *s = strrchr(path, '/');
	size_t n = s ? (size_t)(s - path) : 0;

	memcpy(out, path, n);
	out[n] = '\0';
	return out;
}

/* The basename of a symlink's target ("driver" -> "vfio-pci"), or "". */
static int link_base(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	out[0] = '\0';
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (strlen(base_name(buf)) >= len)
		return -ENAMETOOLONG;
	strcpy(out, base_name(buf));
	return 0;
}

/* A relative link from folder `from` to `to`, both real absolute paths,
 * as sysfs has them ("../../../bus/pci/drivers/nvme"). */
static void rel_link(const char *from, const char *to, char *out)
{
	size_t i = 0, common = 0;
	const char *p;

	while (from[i] && from[i] == to[i]) {
		if (from[i] == '/')
			common = i;
		i++;
	}
	if (!from[i] && (to[i] == '/' || !to[i]))
		common = i;
	out[0] = '\0';
	for (p = from + common; *p; p++)
		if (*p == '/')
			strcat(out, "../");
	strcat(out, to[common] ? to + common + 1 : ".");
}

static int make_link(const char *from_dir, const char *to, const char *name)
{
	char target[PATH_MAX], link[PATH_MAX];

	rel_link(from_dir, to, target);
	pathf(link, "%s/%s", from_dir, name);
	unlink(link);
	return symlink(target, link) ? -errno : 0;
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return real_rmdir(path);
	return unlink(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p of a folder below ROOT. */
static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	for (char *s = strcpy(buf, path) + root_len + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		real_mkdir(buf, 0755);
		*s = '/';
	}
	real_mkdir(buf, 0755);
}

/* ---- values ----------------------------------------------------------- */

/* kstrtoul: digits and at most one trailing newline. */
static int parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || (*end && strcmp(end, "\n")))
		return -EINVAL;
	return 0;
}

/* A sysfs device name: the value up to one trailing newline. */
static const char *dev_arg(char *val)
{
	size_t n = strlen(val);

	if (n && val[n - 1] == '\n')
		val[n - 1] = '\0';
	if (!*val || strchr(val, '/') || !strcmp(val, ".") ||
	    !strcmp(val, ".."))
		return NULL;
	return val;
}

static void mask_set(struct mask *m, unsigned bit)
{
	m->w[bit / 64] |= 1ULL << (bit % 64);
}

static bool mask_has(const struct mask *m, unsigned bit)
{
	return bit < MASK_BITS && (m->w[bit / 64] >> (bit % 64)) & 1;
}

static bool mask_empty(const struct mask *m)
{
	for (size_t i = 0; i < MASK_BITS / 64; i++)
		if (m->w[i])
			return false;
	return true;
}

static bool mask_subset(const struct mask *a, const struct mask *b)
{
	for (size_t i = 0; i < MASK_BITS / 64; i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}

static struct mask mask_and(const struct mask *a, const struct mask *b)
{
	struct mask m;

	for (size_t i = 0; i < MASK_BITS / 64; i++)
		m.w[i] = a->w[i] & b->w[i];
	return m;
}

/* Kernel list syntax ("0-3,8", "" for none), one trailing newline. */
static int mask_parse_list(const char *s, struct mask *m)
{
	memset(m, 0, sizeof(*m));
	if (!*s || !strcmp(s, "\n"))
		return 0;
	for (;;) {
		char *end;
		unsigned long a, b;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		a = b = strtoul(s, &end, 10);
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				return -EINVAL;
			b = strtoul(end + 1, &end, 10);
		}
		if (a > b || b >= MASK_BITS)
			return -EINVAL;
		for (unsigned long c = a; c <= b; c++)
			mask_set(m, (unsigned)c);
		if (*end == ',') {
			s = end + 1;
			continue;
		}
		return !*end || !strcmp(end, "\n") ? 0 : -EINVAL;
	}
}

static void mask_format_list(const struct mask *m, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned a = 0; a < MASK_BITS; a++) {
		unsigned b = a;

		if (!mask_has(m, a))
			continue;
		while (mask_has(m, b + 1))
			b++;
		used += (size_t)snprintf(out + used, len - used,
					 b > a ? "%s%u-%u" : "%s%u",
					 used ? "," : "", a, b);
		if (used >= len)
			break;
		a = b;
	}
}

/* Hex mask with comma-separated 32-bit groups ("ff", "00000001,ffffffff"). */
static int mask_parse_hex(const char *s, struct mask *m)
{
	size_t n = strlen(s);
	unsigned bit = 0;

	memset(m, 0, sizeof(*m));
	if (n && s[n - 1] == '\n')
		n--;
	if (!n)
		return -EINVAL;
	while (n--) {
		char c = s[n];
		unsigned v;

		if (c == ',')
			continue;
		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		for (unsigned i = 0; i < 4; i++, bit++)
			if (v >> i & 1) {
				if (bit >= MASK_BITS)
					return -EINVAL;
				mask_set(m, bit);
			}
	}
	return 0;
}

static void mask_format_hex(const struct mask *m, unsigned nbits, char *out)
{
	unsigned digits = (nbits + 3) / 4, k = 0;

	for (unsigned d = digits; d-- > 0;) {
		unsigned v = 0;

		for (unsigned i = 0; i < 4; i++)
			v |= (unsigned)mask_has(m, d * 4 + i) << i;
		out[k++] = "0123456789abcdef"[v];
		if (d && d % 8 == 0)
			out[k++] = ',';
	}
	out[k] = '\0';
}

static int read_mask(const char *path, struct mask *m)
{
	char buf[VAL_MAX];

	if (read_str(path, buf, sizeof(buf)) < 0) {
		memset(m, 0, sizeof(*m));
		return -ENOENT;
	}
	return mask_parse_list(buf, m);
}

static int write_mask(const char *path, const struct mask *m)
{
	char buf[VAL_MAX];

	mask_format_list(m, buf, sizeof(buf) - 1);
	strcat(buf, "\n");
	return write_str(path, buf);
}

/* ---- buses and drivers ------------------------------------------------ */

/* The real folder of device NAME on BUS ("pci", "platform"). */
static int dev_dir(const char *bus, const char *name, char *out)
{
	char p[PATH_MAX];

	if (realpath(pathf(p, "%s/sys/bus/%s/devices/%s", root, bus, name),
		     out))
		return 0;
	if (!strcmp(bus, "platform") &&
	    realpath(pathf(p, "%s/sys/devices/platform/%s", root, name), out))
		return 0;
	return -ENODEV;
}

static void dev_driver(const char *dev, char *out, size_t len)
{
	char p[PATH_MAX];

	link_base(pathf(p, "%s/driver", dev), out, len);
}

static void dev_group(const char *dev, char *out, size_t len)
{
	char p[PATH_MAX];

	link_base(pathf(p, "%s/iommu_group", dev), out, len);
}

/* driver_override as a name, "" when unset. */
static void dev_override(const char *dev, char *out, size_t len)
{
	char p[PATH_MAX];

	read_str(pathf(p, "%s/driver_override", dev), out, len);
	if (!strcmp(out, "(null)"))
		out[0] = '\0';
}

/* The driver the builder recorded for a PCI function, "" for none. */
static void pci_native(const char *name, char *out, size_t len)
{
	char p[PATH_MAX];

	read_str(pathf(p, "%s/.fakehost/native/%s", root, name), out, len);
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
	d = opendir(
		pathf(p, "%s/sys/kernel/iommu_groups/%s/devices", root, group));
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		dev_driver(pathf(p, "%s/sys/kernel/iommu_groups/%s/devices/%s",
				 root, group, de->d_name),
			   drv, sizeof(drv));
		used |= !strcmp(drv, "vfio-pci");
	}
	if (d)
		closedir(d);
	pathf(p, "%s/dev/vfio/%s", root, group);
	if (!used) {
		unlink(p);
	} else if (!exists(p)) {
		char dir[PATH_MAX];
		int fd;

		mkdir_p(dir_name(p, dir));
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

	if (exists(pathf(p, "%s/enable", dev)))
		write_str(p, *drv ? "1\n" : "0\n");
	if (read_str(pathf(p, "%s/uevent", dev), buf, sizeof(buf)) < 0)
		return;
	if (!strncmp(rest, "DRIVER=", 7))
		rest += strcspn(rest, "\n") + (rest[strcspn(rest, "\n")] != 0);
	snprintf(out, sizeof(out), "%s%s%s%s\n", *drv ? "DRIVER=" : "", drv,
		 *drv ? "\n" : "", rest);
	write_str(p, out);
}

/* Link device and driver both ways, as a successful probe does. */
static int bus_attach(const char *bus, const char *drv, const char *dev)
{
	char drvdir[PATH_MAX], group[32];
	int e;

	pathf(drvdir, "%s/sys/bus/%s/drivers/%s", root, bus, drv);
	if (!is_dir(drvdir))
		return -ENODEV;
	e = make_link(dev, drvdir, "driver");
	if (!e)
		e = make_link(drvdir, dev, base_name(dev));
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
	unlink(pathf(p, "%s/driver", dev));
	unlink(pathf(p, "%s/sys/bus/%s/drivers/%s/%s", root, bus, drv,
		     base_name(dev)));
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
		pci_native(base_name(dev), want, sizeof(want));
		return *want && !strcmp(want, drv);
	}
	name = base_name(dev);
	dot = strrchr(name, '.');
	snprintf(want, sizeof(want), "%.*s",
		 (int)(dot ? (size_t)(dot - name) : strlen(name)), name);
	return !strcmp(want, drv);
}

/* The folder's name is the driver: .../drivers/DRV/bind. */
static void req_driver(const struct req *r, char *out)
{
	dir_name(r->path, out);
	memmove(out, base_name(out), strlen(base_name(out)) + 1);
}

static int do_bind(struct req *r, const char *bus)
{
	char dev[PATH_MAX], drv[PATH_MAX], cur[64];
	const char *name = dev_arg(r->val);

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
	const char *name = dev_arg(r->val);

	req_driver(r, drv);
	if (!name || dev_dir(bus, name, dev))
		return -ENODEV;
	dev_driver(dev, cur, sizeof(cur));
	if (strcmp(cur, drv))
		return -ENODEV;
	bus_detach(bus, dev);
	return 0;
}

static int do_pci_bind(struct req *r)
{
	return do_bind(r, "pci");
}

static int do_pci_unbind(struct req *r)
{
	return do_unbind(r, "pci");
}

static int do_platform_bind(struct req *r)
{
	return do_bind(r, "platform");
}

static int do_platform_unbind(struct req *r)
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
		pci_native(base_name(dev), drv, sizeof(drv));
	if (*drv)
		bus_attach("pci", drv, dev);
}

static int do_drivers_probe(struct req *r)
{
	char dev[PATH_MAX];
	const char *name = dev_arg(r->val);

	if (!name || dev_dir("pci", name, dev))
		return -ENODEV;
	pci_probe(dev);
	return 0;
}

/* pci and platform devices alike; stored as the kernel shows it. */
static int do_driver_override(struct req *r)
{
	char buf[VAL_MAX + 2];

	if (strlen(r->val) >= VAL_MAX - 1)
		return -EINVAL;
	r->val[strcspn(r->val, "\n")] = '\0';
	snprintf(buf, sizeof(buf), "%s\n", *r->val ? r->val : "(null)");
	return write_str(r->path, buf);
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
	return is_bdf(base_name(dir)) &&
	       !strncmp(dir + root_len, "/sys/devices/pci", 16);
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
		pathf(out, "%s/%s", dir, de->d_name);
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
	const char *name = base_name(dev);

	while (first_child_dev(dev, child))
		pci_remove(child);
	bus_detach("pci", dev);
	dev_group(dev, group, sizeof(group));
	unlink(pathf(p, "%s/sys/bus/pci/devices/%s", root, name));
	unlink(pathf(p, "%s/sys/kernel/iommu_groups/%s/devices/%s", root, group,
		     name));
	pathf(ent, "%s/.fakehost/removed/%s", root, name);
	rm_rf(ent);
	mkdir_p(ent);
	write_str(pathf(p, "%s/path", ent), dev + root_len);
	if (rename(dev, pathf(p, "%s/dev", ent)))
		rm_rf(dev);
}

/* Bring back one removed function when its parent is there again and it
 * lies below scope (NULL: anywhere); it comes back as new: no override,
 * probed to its native driver. */
static bool pci_restore(const char *name, const char *scope)
{
	char p[PATH_MAX], ent[PATH_MAX], rel[PATH_MAX], dev[PATH_MAX];
	char parent[PATH_MAX], group[32];

	pathf(ent, "%s/.fakehost/removed/%s", root, name);
	if (read_str(pathf(p, "%s/path", ent), rel, sizeof(rel)) <= 0)
		return false;
	if (scope &&
	    (strncmp(rel, scope, strlen(scope)) || rel[strlen(scope)] != '/'))
		return false;
	pathf(dev, "%s%s", root, rel);
	if (!is_dir(dir_name(dev, parent)) || exists(dev) ||
	    rename(pathf(p, "%s/dev", ent), dev))
		return false;
	rm_rf(ent);
	if (exists(pathf(p, "%s/driver_override", dev)))
		write_str(p, "(null)\n");
	make_link(pathf(p, "%s/sys/bus/pci/devices", root), dev, name);
	dev_group(dev, group, sizeof(group));
	if (*group) {
		pathf(p, "%s/sys/kernel/iommu_groups/%s/devices", root, group);
		mkdir_p(p);
		make_link(p, dev, name);
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
		DIR *d = opendir(pathf(p, "%s/.fakehost/removed", root));

		again = false;
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.')
				again |= pci_restore(de->d_name, scope);
		if (d)
			closedir(d);
	}
}

static int do_pci_remove(struct req *r)
{
	char dev[PATH_MAX];
	unsigned long v;

	if (!is_pci_dev(dir_name(r->path, dev)))
		return NOT_MINE;
	if (parse_ulong(r->val, &v))
		return -EINVAL;
	if (v)
		pci_remove(dev);
	return 0;
}

static int do_pci_bus_rescan(struct req *r)
{
	unsigned long v;

	if (parse_ulong(r->val, &v))
		return -EINVAL;
	if (v)
		pci_rescan(NULL);
	return 0;
}

/* A function's rescan rescans the bus it sits on, with the buses below. */
static int do_pci_dev_rescan(struct req *r)
{
	char dev[PATH_MAX], bus[PATH_MAX];
	unsigned long v;

	if (!is_pci_dev(dir_name(r->path, dev)))
		return NOT_MINE;
	if (parse_ulong(r->val, &v))
		return -EINVAL;
	if (v)
		pci_rescan(dir_name(dev, bus) + root_len);
	return 0;
}

/* Only "1" resets; a function without a reset method cannot be reset. */
static int do_pci_reset(struct req *r)
{
	char dev[PATH_MAX], p[PATH_MAX], method[256];
	unsigned long v;

	if (!is_pci_dev(dir_name(r->path, dev)))
		return NOT_MINE;
	if (parse_ulong(r->val, &v) || v != 1)
		return -EINVAL;
	if (read_str(pathf(p, "%s/reset_method", dev), method,
		     sizeof(method)) <= 0)
		return -ENOTTY;
	return 0;
}

/* ---- memory and hugepages --------------------------------------------- */

/* Add delta to the number on the line starting with key, keeping the
 * kernel's column layout ("MemFree:        1234 kB"). */
static void meminfo_add(const char *path, const char *key, long delta)
{
	char buf[16384], out[16384 + 64], *line, *num, *end;
	int n = read_str(path, buf, sizeof(buf));
	size_t klen = strlen(key);

	if (n <= 0 || !delta)
		return;
	for (line = buf; line; line = strchr(line, '\n'), line += !!line)
		if (!strncmp(line, key, klen))
			break;
	if (!line)
		return;
	num = line + klen;
	end = num + strspn(num, " ");
	end += strspn(end, "0123456789");
	snprintf(out, sizeof(out), "%.*s%*ld%s\n", (int)(num - buf), buf,
		 (int)(end - num), strtol(num, NULL, 10) + delta, end);
	write_str(path, out);
}

static long default_hpage_kb(void)
{
	char p[PATH_MAX], buf[16384], *s;

	if (read_str(pathf(p, "%s/proc/meminfo", root), buf, sizeof(buf)) <= 0)
		return 2048;
	s = strstr(buf, "Hugepagesize:");
	return s ? strtol(s + 13, NULL, 10) : 2048;
}

/* Node numbers with a folder under /sys/devices/system/node, sorted. */
static int node_list(int *ids)
{
	char p[PATH_MAX];
	int n = 0;

	for (int i = 0; i < MAX_NODES; i++)
		if (is_dir(pathf(p, "%s/sys/devices/system/node/node%d", root,
				 i)))
			ids[n++] = i;
	return n;
}

static char *pool_path(char *p, int node, const char *pool)
{
	return pathf(p, "%s/.fakehost/node%d/%s", root, node, pool);
}

static char *node_hp_path(char *p, int node, long size, const char *file)
{
	return pathf(p,
		     "%s/sys/devices/system/node/node%d/hugepages/"
		     "hugepages-%ldkB/%s",
		     root, node, size, file);
}

/* Account d pages of size kB taken (d < 0: given back) on node in the
 * meminfo files; the HugePages_ lines count the default size only. */
static void meminfo_account(int node, long size, long d)
{
	char p[PATH_MAX], key[64];
	bool dflt = size == default_hpage_kb();

	pathf(p, "%s/proc/meminfo", root);
	meminfo_add(p, "MemFree:", -d * size);
	meminfo_add(p, "MemAvailable:", -d * size);
	meminfo_add(p, "Hugetlb:", d * size);
	if (dflt) {
		meminfo_add(p, "HugePages_Total:", d);
		meminfo_add(p, "HugePages_Free:", d);
	}
	pathf(p, "%s/sys/devices/system/node/node%d/meminfo", root, node);
	snprintf(key, sizeof(key), "Node %d MemFree:", node);
	meminfo_add(p, key, -d * size);
	snprintf(key, sizeof(key), "Node %d MemUsed:", node);
	meminfo_add(p, key, d * size);
	if (!dflt)
		return;
	snprintf(key, sizeof(key), "Node %d HugePages_Total:", node);
	meminfo_add(p, key, d);
	snprintf(key, sizeof(key), "Node %d HugePages_Free:", node);
	meminfo_add(p, key, d);
}

/* Move one node's pool towards want: growing takes only what free memory
 * holds and still succeeds, shrinking frees only free pages (the kernel
 * turns the rest into surplus; the fake never has pages in use). */
static void hp_node_set(int node, long size, long want)
{
	char p[PATH_MAX];
	long nr = read_long(node_hp_path(p, node, size, "nr_hugepages"), 0);
	long fr = read_long(node_hp_path(p, node, size, "free_hugepages"), 0);
	long mem = read_long(pool_path(p, node, "free_kb"), 0), d;

	if (want > nr)
		d = want - nr < mem / size ? want - nr : mem / size;
	else
		d = nr - want < fr ? want - nr : -fr;
	if (!d)
		return;
	write_long(node_hp_path(p, node, size, "nr_hugepages"), nr + d);
	write_long(node_hp_path(p, node, size, "free_hugepages"), fr + d);
	write_long(pool_path(p, node, "free_kb"), mem - d * size);
	meminfo_account(node, size, d);
}

/* The global files of a size are the sums over the nodes. */
static void hp_sync_global(long size)
{
	char p[PATH_MAX];
	long nr = 0, fr = 0;
	int ids[MAX_NODES], n = node_list(ids);

	for (int i = 0; i < n; i++) {
		nr += read_long(node_hp_path(p, ids[i], size, "nr_hugepages"),
				0);
		fr += read_long(node_hp_path(p, ids[i], size, "free_hugepages"),
				0);
	}
	pathf(p, "%s/sys/kernel/mm/hugepages/hugepages-%ldkB", root, size);
	if (is_dir(p)) {
		write_long(pathf(p,
				 "%s/sys/kernel/mm/hugepages/"
				 "hugepages-%ldkB/nr_hugepages",
				 root, size),
			   nr);
		write_long(pathf(p,
				 "%s/sys/kernel/mm/hugepages/"
				 "hugepages-%ldkB/free_hugepages",
				 root, size),
			   fr);
	}
	if (size == default_hpage_kb())
		write_long(pathf(p, "%s/proc/sys/vm/nr_hugepages", root), nr);
}

/* A global count is spread over the nodes page by page, round robin, as
 * the kernel interleaves over nodes with memory. */
static void hp_global_set(long size, long want)
{
	char p[PATH_MAX];
	int ids[MAX_NODES], n = node_list(ids);
	long nr[MAX_NODES], fr[MAX_NODES], mem[MAX_NODES], total = 0;
	bool moved = true;

	for (int i = 0; i < n; i++) {
		nr[i] = read_long(node_hp_path(p, ids[i], size, "nr_hugepages"),
				  0);
		fr[i] = read_long(
			node_hp_path(p, ids[i], size, "free_hugepages"), 0);
		mem[i] = read_long(pool_path(p, ids[i], "free_kb"), 0);
		total += nr[i];
	}
	while (total != want && moved) {
		moved = false;
		for (int i = 0; i < n && total != want; i++) {
			if (total < want && mem[i] >= size) {
				mem[i] -= size, nr[i]++, total++;
				moved = true;
			} else if (total > want && fr[i] > 0) {
				fr[i]--, nr[i]--, total--;
				moved = true;
			}
		}
	}
	for (int i = 0; i < n; i++)
		hp_node_set(ids[i], size, nr[i]);
}

/* The size in kB from a ".../hugepages-SIZEkB/nr_hugepages" path. */
static long hp_path_size(const char *path)
{
	const char *s = strstr(path, "/hugepages-");

	return s ? strtol(s + 11, NULL, 10) : 0;
}

static int do_hp_node(struct req *r)
{
	const char *s = strstr(r->rel, "/node/node");
	long size = hp_path_size(r->rel);
	unsigned long want;

	if (parse_ulong(r->val, &want))
		return -EINVAL;
	if (!s || size <= 0)
		return NOT_MINE;
	hp_node_set(atoi(s + 10), size, (long)want);
	hp_sync_global(size);
	return 0;
}

static int do_hp_global(struct req *r)
{
	long size = strncmp(r->rel, "/proc/", 6) ? hp_path_size(r->rel)
						 : default_hpage_kb();
	unsigned long want;

	if (parse_ulong(r->val, &want))
		return -EINVAL;
	if (size <= 0)
		return NOT_MINE;
	hp_global_set(size, (long)want);
	hp_sync_global(size);
	return 0;
}

/* Page cache dropped on a node: free, no longer cached (the builder's
 * MemFree counts free_kb + movable_kb, MemAvailable adds cache_kb). */
static void meminfo_uncache(int node, long kb)
{
	char p[PATH_MAX], key[64];

	pathf(p, "%s/proc/meminfo", root);
	meminfo_add(p, "MemFree:", kb);
	meminfo_add(p, "Cached:", -kb);
	pathf(p, "%s/sys/devices/system/node/node%d/meminfo", root, node);
	snprintf(key, sizeof(key), "Node %d MemFree:", node);
	meminfo_add(p, key, kb);
	snprintf(key, sizeof(key), "Node %d MemUsed:", node);
	meminfo_add(p, key, -kb);
	snprintf(key, sizeof(key), "Node %d FilePages:", node);
	meminfo_add(p, key, -kb);
}

/* Memory held by a pool (movable_kb, cache_kb) becomes free_kb. */
static void pool_release(const char *pool)
{
	char p[PATH_MAX];
	int ids[MAX_NODES], n = node_list(ids);

	for (int i = 0; i < n; i++) {
		long v = read_long(pool_path(p, ids[i], pool), 0);
		long f = read_long(pool_path(p, ids[i], "free_kb"), 0);

		if (!v)
			continue;
		write_long(pool_path(p, ids[i], pool), 0);
		write_long(pool_path(p, ids[i], "free_kb"), f + v);
		if (!strcmp(pool, "cache_kb"))
			meminfo_uncache(ids[i], v);
	}
}

/* Only "1" is accepted since Linux 5.x; fragmented memory becomes usable
 * (it was already counted in MemFree). */
static int do_compact_memory(struct req *r)
{
	unsigned long v;

	if (parse_ulong(r->val, &v) || v != 1)
		return -EINVAL;
	pool_release("movable_kb");
	return 0;
}

/* 1..4; 1-3 free the page cache / slab, 4 only silences the message. */
static int do_drop_caches(struct req *r)
{
	unsigned long v;

	if (parse_ulong(r->val, &v) || v < 1 || v > 4)
		return -EINVAL;
	if (v != 4)
		pool_release("cache_kb");
	return 0;
}

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

static bool is_cgroup(const char *dir)
{
	char p[PATH_MAX];

	return !strncmp(dir + root_len, "/sys/fs/cgroup", 14) &&
	       strchr("/", dir[root_len + 14]) &&
	       exists(pathf(p, "%s/cgroup.procs", dir));
}

/* The hierarchy's root: the top folder that is still a cgroup. */
static void cg_top(const char *dir, char *out)
{
	char up[PATH_MAX];

	strcpy(out, dir);
	while (is_cgroup(dir_name(out, up)))
		strcpy(out, up);
}

static bool cg_v1(const char *dir)
{
	char p[PATH_MAX];

	return exists(pathf(p, "%s/cpuset.effective_cpus", dir));
}

static void cs_eff_path(const char *dir, const struct cs_kind *k, char *out)
{
	pathf(out, "%s/%s", dir, cg_v1(dir) ? k->eff1 : k->eff2);
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

	read_mask(pathf(p, "%s/%s", dir, k->own), &own);
	eff = mask_and(&own, parent_eff);
	if (mask_empty(&eff) && !cg_v1(dir))
		eff = *parent_eff;
	cs_eff_path(dir, k, p);
	if (exists(p))
		write_mask(p, &eff);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    !is_cgroup(pathf(p, "%s/%s", dir, de->d_name)))
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
		    !is_cgroup(pathf(p, "%s/%s", dir, de->d_name)))
			continue;
		read_mask(pathf(p, "%s/%s/%s", dir, de->d_name, k->own), &c);
		ok = mask_subset(&c, m);
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

	if (!is_cgroup(dir_name(r->path, dir)))
		return NOT_MINE;
	cg_top(dir, top);
	if (!strcmp(top, dir))
		return -EACCES; /* the root cpuset follows the hardware */
	if (mask_parse_list(r->val, &m))
		return -EINVAL;
	cs_eff_path(top, k, p);
	if (read_mask(p, &all))
		read_mask(pathf(p, "%s%s", root, k->top), &all);
	if (!mask_subset(&m, &all))
		return -EINVAL;
	dir_name(dir, up);
	if (cg_v1(dir)) {
		read_mask(pathf(p, "%s/%s", up, k->own), &parent);
		if (!mask_subset(&m, &parent))
			return -EACCES;
		if (!cs_children_within(dir, k, &m))
			return -EBUSY;
	}
	write_mask(r->path, &m);
	cs_eff_path(up, k, p);
	read_mask(p, &parent);
	cs_update(dir, k, &parent);
	return 0;
}

static int do_cpuset_cpus(struct req *r)
{
	return cs_write(r, &cs_cpus);
}

static int do_cpuset_mems(struct req *r)
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

	if (read_str(pathf(p, "%s/cgroup.procs", dir), buf, sizeof(buf)) > 0) {
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
			write_str(p, out);
	}
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    is_cgroup(pathf(p, "%s/%s", dir, de->d_name)))
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

	if (read_str(pathf(p, "%s/cgroup.procs", dir), buf, sizeof(buf)) <= 0)
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

	read_mask(pathf(p, "%s/cpuset.cpus", dir), &c);
	read_mask(pathf(p, "%s/cpuset.mems", dir), &m);
	return !mask_empty(&c) && !mask_empty(&m);
}

/* Moving a process: out of its old cgroup, into this one. In v2 a
 * non-root cgroup that hands controllers down holds no processes. */
static int do_cgroup_procs(struct req *r)
{
	char dir[PATH_MAX], top[PATH_MAX], p[PATH_MAX], sub[256];
	unsigned long pid;

	if (!is_cgroup(dir_name(r->path, dir)))
		return NOT_MINE;
	if (parse_ulong(r->val, &pid))
		return -EINVAL;
	if (!pid)
		pid = (unsigned long)getpid();
	if (!pid_alive((long)pid))
		return -ESRCH;
	cg_top(dir, top);
	if (strcmp(top, dir) && cg_v1(dir) && !cs_has_both(dir))
		return -ENOSPC; /* a v1 cpuset needs CPUs and nodes first */
	if (strcmp(top, dir) && !cg_v1(dir) &&
	    read_str(pathf(p, "%s/cgroup.subtree_control", dir), sub,
		     sizeof(sub)) > 0)
		return -EBUSY;
	cg_forget_pid(top, (long)pid);
	snprintf(sub, sizeof(sub), "%lu\n", pid);
	{
		int fd = open(r->path, O_WRONLY | O_APPEND | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		raw_write(fd, sub, strlen(sub));
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

	if (on == exists(pathf(p, "%s/cpuset.cpus", dir)))
		return;
	for (int k = 0; k < 2; k++) {
		const struct cs_kind *c = k ? &cs_mems : &cs_cpus;

		pathf(p, "%s/%s", dir, c->own);
		pathf(q, "%s/%s", dir, c->eff2);
		if (!on) {
			unlink(p);
			unlink(q);
			continue;
		}
		write_str(p, "\n");
		read_str(pathf(p, "%s/%s", parent, c->eff2), eff, sizeof(eff));
		write_str(q, strcat(eff, "\n"));
	}
	pathf(p, "%s/cpuset.cpus.partition", dir);
	if (on)
		write_str(p, "member\n");
	else
		unlink(p);
}

/* cgroup.subtree_control: kept in cgroup.controllers' order; it is what
 * the children see as their cgroup.controllers. */
static int do_subtree_control(struct req *r)
{
	char dir[PATH_MAX], top[PATH_MAX], p[PATH_MAX], avail[512], cur[512];
	char on[512], off[512], out[512], *tok, *save;
	struct dirent *de;
	DIR *d;
	int e;

	if (!is_cgroup(dir_name(r->path, dir)))
		return NOT_MINE;
	read_str(pathf(p, "%s/cgroup.controllers", dir), avail, sizeof(avail));
	read_str(r->path, cur, sizeof(cur));
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
	write_str(r->path, out);
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    is_cgroup(pathf(p, "%s/%s", dir, de->d_name))) {
			cg_cpuset_files(p, dir, word_in(out, "cpuset"));
			write_str(pathf(p, "%s/%s/cgroup.controllers", dir,
					de->d_name),
				  out);
		}
	if (d)
		closedir(d);
	return 0;
}

/* ---- IRQs and consoles -------------------------------------------------- */

/* Number of possible CPUs: the width of the kernel's hex masks. */
static unsigned cpu_count(void)
{
	char p[PATH_MAX];
	struct mask m;
	unsigned n = 0;

	read_mask(pathf(p, "%s/sys/devices/system/cpu/possible", root), &m);
	for (unsigned i = 0; i < MASK_BITS; i++)
		if (mask_has(&m, i))
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

	dir_name(r->path, dir);
	if (hex ? mask_parse_hex(r->val, &m) : mask_parse_list(r->val, &m))
		return -EINVAL;
	read_mask(pathf(p, "%s/sys/devices/system/cpu/online", root), &online);
	for (unsigned i = n; i < MASK_BITS; i++)
		if (mask_has(&m, i))
			return -EINVAL;
	online = mask_and(&m, &online);
	if (mask_empty(&online))
		return -EINVAL;
	write_mask(pathf(p, "%s/smp_affinity_list", dir), &m);
	if (!exists(pathf(p, "%s/smp_affinity", dir)))
		return 0;
	mask_format_hex(&m, n, buf);
	strcat(buf, "\n");
	return write_str(p, buf);
}

static int do_irq_list(struct req *r)
{
	return irq_store(r, false);
}

static int do_irq_hex(struct req *r)
{
	return irq_store(r, true);
}

static void vtcon_set(const char *dir, int bind)
{
	char p[PATH_MAX];

	write_str(pathf(p, "%s/bind", dir), bind ? "1\n" : "0\n");
}

/* The consoles take turns: binding one unbinds the others; a system
 * ("(S)") console cannot be unbound and takes over when the last module
 * console ("(M)", e.g. fbcon) is unbound. store_bind never fails. */
static int do_vtcon_bind(struct req *r)
{
	char dir[PATH_MAX], parent[PATH_MAX], p[PATH_MAX], name[256], v[8];
	struct dirent *de;
	DIR *d;
	int bind = (int)strtoul(r->val, NULL, 0) != 0;

	dir_name(r->path, dir);
	dir_name(dir, parent);
	read_str(pathf(p, "%s/name", dir), name, sizeof(name));
	if (!bind && !strncmp(name, "(S)", 3))
		return 0;
	read_str(r->path, v, sizeof(v));
	if (atoi(v) == bind)
		return 0;
	d = opendir(parent);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "vtcon", 5) ||
		    !strcmp(de->d_name, base_name(dir)))
			continue;
		read_str(pathf(p, "%s/%s/name", parent, de->d_name), name,
			 sizeof(name));
		pathf(p, "%s/%s", parent, de->d_name);
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

/* ---- write() dispatch ---------------------------------------------------- */

struct rule {
	const char *pattern; /* fnmatch, '*' spans folders */
	int (*fn)(struct req *r);
};

static const struct rule rules[] = {
	{"/sys/devices/*/driver_override", do_driver_override},
	{"/sys/bus/pci/drivers/*/bind", do_pci_bind},
	{"/sys/bus/pci/drivers/*/unbind", do_pci_unbind},
	{"/sys/bus/pci/drivers_probe", do_drivers_probe},
	{"/sys/bus/pci/rescan", do_pci_bus_rescan},
	{"/sys/devices/pci*/remove", do_pci_remove},
	{"/sys/devices/pci*/rescan", do_pci_dev_rescan},
	{"/sys/devices/pci*/reset", do_pci_reset},
	{"/sys/bus/platform/drivers/*/bind", do_platform_bind},
	{"/sys/bus/platform/drivers/*/unbind", do_platform_unbind},
	{"/sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages",
	 do_hp_node},
	{"/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages", do_hp_global},
	{"/proc/sys/vm/nr_hugepages", do_hp_global},
	{"/proc/sys/vm/compact_memory", do_compact_memory},
	{"/proc/sys/vm/drop_caches", do_drop_caches},
	{"/sys/fs/cgroup/*/cpuset.cpus", do_cpuset_cpus},
	{"/sys/fs/cgroup/*/cpuset.mems", do_cpuset_mems},
	{"/sys/fs/cgroup/*cgroup.procs", do_cgroup_procs},
	{"/sys/fs/cgroup/*cgroup.subtree_control", do_subtree_control},
	{"/proc/irq/*/smp_affinity_list", do_irq_list},
	{"/proc/irq/*/smp_affinity", do_irq_hex},
	{"/sys/devices/virtual/vtconsole/vtcon*/bind", do_vtcon_bind},
};

/* Load FAKEHOST_ROOT; false when unset or missing. */
static bool root_load(void)
{
	const char *r = getenv("FAKEHOST_ROOT");

	if (!r || *r != '/' || !realpath(r, root))
		return false;
	root_len = strlen(root);
	if (root_len == 1)
		return false; /* "/" is the real host: never emulate it */
	return true;
}

static bool below_root(const char *p)
{
	return !strncmp(p, root, root_len) && p[root_len] == '/';
}

/* Serialises emulated operations across processes sharing the root. */
static int lock_root(void)
{
	char p[PATH_MAX];
	int fd;

	mkdir_p(pathf(p, "%s/.fakehost", root));
	fd = open(pathf(p, "%s/.fakehost/lock", root),
		  O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

static void unlock_root(int fd)
{
	if (fd >= 0)
		close(fd); /* drops the flock */
}

/* sysfs and procfs attributes hold one value: each write replaces it. */
static int attr_replace(int fd, const void *buf, size_t n)
{
	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET) < 0)
		return NOT_MINE; /* not writable: let the real write fail */
	if (raw_write(fd, buf, n) != (ssize_t)n)
		return -errno;
	return 0;
}

/* An empty write reaches cgroupfs and /proc/irq handlers, but neither
 * sysfs attributes (sysfs_kf_write) nor sysctls (proc_dointvec). */
static bool reaches_store(const char *rel)
{
	return !strncmp(rel, "/sys/fs/cgroup/", 15) ||
	       !strncmp(rel, "/proc/irq/", 10);
}

/* 0: emulated; NOT_MINE: do the real write; < 0: -errno. */
static int attr_write(int fd, const void *buf, size_t n)
{
	char link[PATH_MAX];
	struct req *r;
	struct stat st;
	ssize_t k;
	int e = NOT_MINE, lock;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !root_load())
		return NOT_MINE;
	pathf(link, "/proc/self/fd/%d", fd);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NOT_MINE;
	k = readlink(link, r->path, sizeof(r->path) - 1);
	if (k <= 0 || !below_root(r->path) ||
	    (strncmp(r->path + root_len, "/sys/", 5) &&
	     strncmp(r->path + root_len, "/proc/", 6))) {
		free(r);
		return NOT_MINE;
	}
	r->rel = r->path + root_len;
	if (!n && !reaches_store(r->rel)) {
		free(r);
		return NOT_MINE;
	}
	memcpy(r->val, buf, n < VAL_MAX - 1 ? n : VAL_MAX - 1);
	lock = lock_root();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!fnmatch(rules[i].pattern, r->rel, 0)) {
			e = rules[i].fn(r);
			break;
		}
	if (e == NOT_MINE)
		e = attr_replace(fd, buf, n);
	unlock_root(lock);
	free(r);
	return e;
}

static ssize_t shim_write(int fd, const void *buf, size_t n, off_t off,
			  bool positioned)
{
	int saved = errno, e;

	if (!busy) {
		busy = 1;
		e = attr_write(fd, buf, n);
		busy = 0;
		if (e <= 0) {
			errno = e ? -e : saved;
			return e ? -1 : (ssize_t)n;
		}
		errno = saved;
	}
	if (positioned)
		return real_pwrite(fd, buf, n, off);
	return raw_write(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	need_init();
	return shim_write(fd, buf, n, 0, false);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	need_init();
	return shim_write(fd, buf, n, off, true);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	need_init();
	return shim_write(fd, buf, n, off, true);
}

/* ---- open(): attributes ignore O_TRUNC ------------------------------ */

static bool is_emulated(const char *rel)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!fnmatch(rules[i].pattern, rel, 0))
			return true;
	return false;
}

/* sysfs ignores O_TRUNC; a shell's "echo 0 > bind" must not empty an
 * emulated attribute the shim reads back (the current bind, pool size,
 * cgroup.procs list) before its write arrives. */
static int open_flags(int dirfd, const char *path, int flags)
{
	char full[PATH_MAX], real[PATH_MAX];

	if (!(flags & O_TRUNC) || busy || !path)
		return flags;
	busy = 1;
	if (*path != '/' && dirfd != AT_FDCWD) {
		char link[64];
		ssize_t k;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		k = readlink(link, full, sizeof(full) - 1);
		full[k > 0 ? k : 0] = '\0';
		snprintf(full + strlen(full), sizeof(full) - strlen(full),
			 "/%s", path);
	} else {
		snprintf(full, sizeof(full), "%s", path);
	}
	if (root_load() && realpath(full, real) && below_root(real) &&
	    is_emulated(real + root_len))
		flags &= ~O_TRUNC;
	busy = 0;
	return flags;
}

static bool needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_MODE(flags, last)                                                 \
	int mode = 0;                                                          \
	if (needs_mode(flags)) {                                               \
		va_list ap;                                                    \
		va_start(ap, last);                                            \
		mode = va_arg(ap, int);                                        \
		va_end(ap);                                                    \
	}

int open(const char *path, int flags, ...)
{
	need_init();
	OPEN_MODE(flags, flags);
	return real_open(path, open_flags(AT_FDCWD, path, flags), mode);
}

int open64(const char *path, int flags, ...)
{
	need_init();
	OPEN_MODE(flags, flags);
	return real_open64(path, open_flags(AT_FDCWD, path, flags), mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	need_init();
	OPEN_MODE(flags, flags);
	return real_openat(dirfd, path, open_flags(dirfd, path, flags), mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	need_init();
	OPEN_MODE(flags, flags);
	return real_openat64(dirfd, path, open_flags(dirfd, path, flags), mode);
}

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	need_init();
	return real_open_2(path, open_flags(AT_FDCWD, path, flags));
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	need_init();
	return real_open64_2(path, open_flags(AT_FDCWD, path, flags));
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	need_init();
	return real_openat_2(dirfd, path, open_flags(dirfd, path, flags));
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
	need_init();
	return real_openat64_2(dirfd, path, open_flags(dirfd, path, flags));
}

int creat(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
	return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* ---- cgroup folders ------------------------------------------------------ */

/* A new cgroup's files, as cgroupfs shows them: v2 files for the
 * controllers its parent hands down, or v1 cpuset's. */
static void cg_populate(const char *dir, const char *parent)
{
	char p[PATH_MAX], q[PATH_MAX], sub[512] = "";

	write_str(pathf(p, "%s/cgroup.procs", dir), "");
	if (cg_v1(parent)) {
		static const char *const v1[] = {
			"tasks", "cpuset.cpus", "cpuset.mems",
			"cpuset.effective_cpus", "cpuset.effective_mems"};

		for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++)
			write_str(pathf(p, "%s/%s", dir, v1[i]), i ? "\n" : "");
		return;
	}
	write_str(pathf(p, "%s/cgroup.type", dir), "domain\n");
	write_str(pathf(p, "%s/cgroup.subtree_control", dir), "\n");
	if (read_str(pathf(q, "%s/cgroup.subtree_control", parent), sub,
		     sizeof(sub)) >= 0) {
		write_str(pathf(p, "%s/cgroup.controllers", dir),
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
		pathf(full, "%s", path);
	} else {
		char link[64];
		ssize_t k;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		k = readlink(link, dir, sizeof(dir) - 1);
		if (k <= 0)
			return false;
		dir[k] = '\0';
		pathf(full, "%s/%s", dir, path);
	}
	n = strlen(full);
	while (n > 1 && full[n - 1] == '/')
		full[--n] = '\0';
	snprintf(base, sizeof(base), "%s", base_name(full));
	if (!strchr(full, '/') || !strcmp(base, ".") || !strcmp(base, ".."))
		return false;
	if (!realpath(dir_name(full, dir)[0] ? dir : "/", out))
		return false;
	return strlen(out) + strlen(base) + 2 < PATH_MAX &&
	       strcat(strcat(out, "/"), base);
}

/* The folder a cgroup mkdir/rmdir acts on, or false when not emulated. */
static bool cg_target(int dirfd, const char *path, char *out)
{
	char parent[PATH_MAX];

	if (busy || !root_load() || !resolve_new(dirfd, path, out) ||
	    !below_root(out))
		return false;
	return is_cgroup(dir_name(out, parent));
}

static int cg_mkdir(const char *dir, mode_t mode)
{
	char parent[PATH_MAX];
	int lock, e = 0;

	busy = 1;
	lock = lock_root();
	if (real_mkdir(dir, mode))
		e = errno;
	else
		cg_populate(dir, dir_name(dir, parent));
	unlock_root(lock);
	busy = 0;
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

	if (!is_dir(dir))
		return real_rmdir(dir) ? errno : 0;
	if (cg_populated(dir))
		return EBUSY;
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    !lstat(pathf(p, "%s/%s", dir, de->d_name), &st) &&
		    S_ISDIR(st.st_mode)) {
			closedir(d);
			return EBUSY;
		}
	if (d)
		rewinddir(d);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlink(pathf(p, "%s/%s", dir, de->d_name));
	if (d)
		closedir(d);
	return real_rmdir(dir) ? errno : 0;
}

static int cg_rmdir(const char *dir)
{
	int lock, e;

	busy = 1;
	lock = lock_root();
	e = cg_rmdir_locked(dir);
	unlock_root(lock);
	busy = 0;
	if (e)
		errno = e;
	return e ? -1 : 0;
}

int mkdir(const char *path, mode_t mode)
{
	char dir[PATH_MAX];

	need_init();
	if (cg_target(AT_FDCWD, path, dir))
		return cg_mkdir(dir, mode);
	return real_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	char dir[PATH_MAX];

	need_init();
	if (cg_target(dirfd, path, dir))
		return cg_mkdir(dir, mode);
	return real_mkdirat(dirfd, path, mode);
}

int rmdir(const char *path)
{
	char dir[PATH_MAX];

	need_init();
	if (cg_target(AT_FDCWD, path, dir) && is_cgroup(dir))
		return cg_rmdir(dir);
	return real_rmdir(path);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	char dir[PATH_MAX];

	need_init();
	if ((flags & AT_REMOVEDIR) && cg_target(dirfd, path, dir) &&
	    is_cgroup(dir))
		return cg_rmdir(dir);
	return real_unlinkat(dirfd, path, flags);
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
	long page = default_hpage_kb(), uid = 0, gid = 0, mode = 0755;

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
	    !is_dir(pathf(p, "%s/sys/kernel/mm/hugepages/hugepages-%ldkB", root,
			  page)))
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
static int fake_mount(const char *src, const char *tgt, const char *type,
		      unsigned long flags, const void *data)
{
	char p[PATH_MAX], opts[1200], extra[1100] = "", line[PATH_MAX + 1400];
	int fd, e;

	if (flags &
	    (MS_REMOUNT | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE))
		return 0;
	if (!is_dir(tgt))
		return exists(tgt) ? -ENOTDIR : -ENOENT;
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
		 src && *src ? src : "none", tgt + root_len,
		 type && *type ? type : "none", opts);
	fd = open(pathf(p, "%s/proc/mounts", root),
		  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	raw_write(fd, line, strlen(line));
	close(fd);
	return 0;
}

/* The last mount on tgt goes; busy while files are on it, unless lazy. */
static int fake_umount(const char *tgt, int flags)
{
	char p[PATH_MAX], buf[65536], out[65536], *l, *last = NULL;
	size_t mlen = strlen(tgt + root_len);
	struct dirent *de;
	DIR *d;

	if (read_str(pathf(p, "%s/proc/mounts", root), buf, sizeof(buf)) < 0)
		return -EINVAL;
	for (l = buf; l && *l; l = strchr(l, '\n'), l += !!l) {
		char *sp = strchr(l, ' ');

		if (sp && !strncmp(sp + 1, tgt + root_len, mlen) &&
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
	write_str(p, out);
	return 0;
}

/* The real path of an existing mount point when it lies below ROOT. */
static bool mount_target(const char *tgt, char *out)
{
	return tgt && !busy && root_load() && realpath(tgt, out) &&
	       below_root(out);
}

int mount(const char *src, const char *tgt, const char *type,
	  unsigned long flags, const void *data)
{
	char real[PATH_MAX];
	int e, lock;

	need_init();
	if (!mount_target(tgt, real))
		return real_mount(src, tgt, type, flags, data);
	busy = 1;
	lock = lock_root();
	e = fake_mount(src, real, type, flags, data);
	unlock_root(lock);
	busy = 0;
	if (e)
		errno = -e;
	return e ? -1 : 0;
}

int umount2(const char *tgt, int flags)
{
	char real[PATH_MAX];
	int e, lock;

	need_init();
	if (!mount_target(tgt, real))
		return real_umount2(tgt, flags);
	busy = 1;
	lock = lock_root();
	e = fake_umount(real, flags);
	unlock_root(lock);
	busy = 0;
	if (e)
		errno = -e;
	return e ? -1 : 0;
}

int umount(const char *tgt)
{
	char real[PATH_MAX];

	need_init();
	if (!mount_target(tgt, real))
		return real_umount(tgt);
	return umount2(tgt, 0);
}
