/* fh_file.c: small file helpers of the fakehost shim: paths below ROOT,
 * one-value files, sysfs-style relative links, mkdir -p and rm -rf. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fh_shim.h"

/* ---- files ---------------------------------------------------------- */

ssize_t fh_raw_write(int fd, const void *buf, size_t n)
{
	if (fh_real_write)
		return fh_real_write(fd, buf, n);
	return syscall(SYS_write, fd, buf, n);
}

__attribute__((format(printf, 2, 3))) char *fh_pathf(char *out, const char *fmt,
						     ...)
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

bool fh_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

bool fh_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Read a small file, one trailing newline dropped; length or -errno. */
int fh_read_str(const char *path, char *buf, size_t len)
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

int fh_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(s), done = 0;
	int e = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = fh_raw_write(fd, s + done, len - done);

		if (n <= 0) {
			e = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	return e;
}

long fh_read_long(const char *path, long dflt)
{
	char buf[64], *end;
	long v;

	if (fh_read_str(path, buf, sizeof(buf)) <= 0)
		return dflt;
	v = strtol(buf, &end, 10);
	return *end ? dflt : v;
}

void fh_write_long(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", v);
	fh_write_str(path, buf);
}

const char *fh_base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The folder part of path, into out. */
char *fh_dir_name(const char *path, char *out)
{
	const char *s = strrchr(path, '/');
	size_t n = s ? (size_t)(s - path) : 0;

	memcpy(out, path, n);
	out[n] = '\0';
	return out;
}

/* The basename of a symlink's target ("driver" -> "vfio-pci"), or "". */
int fh_link_base(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	out[0] = '\0';
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (strlen(fh_base_name(buf)) >= len)
		return -ENAMETOOLONG;
	strcpy(out, fh_base_name(buf));
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

int fh_make_link(const char *from_dir, const char *to, const char *name)
{
	char target[PATH_MAX], link[PATH_MAX];

	rel_link(from_dir, to, target);
	fh_pathf(link, "%s/%s", from_dir, name);
	unlink(link);
	return symlink(target, link) ? -errno : 0;
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return fh_real_rmdir(path);
	return unlink(path);
}

void fh_rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p of a folder below ROOT. */
void fh_mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	for (char *s = strcpy(buf, path) + fh_root_len + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		fh_real_mkdir(buf, 0755);
		*s = '/';
	}
	fh_real_mkdir(buf, 0755);
}
