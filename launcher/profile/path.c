/* path.c: path values of the profile: ${name} expansion, relative
 * paths against the profile's folder, and checks of the files it names. */
#include "profile/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The value of ${var}, or NULL with v->why set. */
static const char *path_var(struct pval *v, const char *var, size_t len)
{
	struct profile *p = v->ctx->p;

	if (len == 4 && !strncmp(var, "name", 4)) {
		if (!v->ctx->name_set) {
			pval_fail(v,
				  "'%s' uses ${name} but [vm] name is "
				  "missing or invalid",
				  v->s);
			return NULL;
		}
		return p->vm.name;
	}
	if (len == 9 && !strncmp(var, "state-dir", 9)) {
		if (!p->vm.state_dir)
			pval_fail(v, "${state-dir} cannot be used in [vm] "
				     "state-dir itself");
		return p->vm.state_dir;
	}
	pval_fail(v,
		  "unknown variable ${%.*s} in '%s'; paths may use ${name} "
		  "and ${state-dir}",
		  (int)len, var, v->s);
	return NULL;
}

/* Variables expanded; NULL with v->why set on a bad one. */
static char *path_expand_vars(struct pval *v)
{
	size_t cap = strlen(v->s) + 1, len = 0;
	char *out = xmalloc(cap);

	for (const char *s = v->s; *s;) {
		const char *val = NULL, *end;
		size_t n;

		if (s[0] == '$' && s[1] == '{') {
			end = strchr(s + 2, '}');
			if (!end) {
				pval_fail(v, "'%s' has a '${' without its '}'",
					  v->s);
				goto fail;
			}
			val = path_var(v, s + 2, (size_t)(end - s - 2));
			if (!val)
				goto fail;
			n = strlen(val);
			s = end + 1;
		} else {
			val = s++;
			n = 1;
		}
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + len, val, n);
		len += n;
	}
	out[len] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

/* Expanded and made absolute against the profile's folder. Leading "./"
 * and "../" are resolved here: p->dir has no symbolic links (realpath), so
 * dropping its last component is what the kernel would do too. */
static char *path_expand(struct pval *v)
{
	char *s = path_expand_vars(v), *dir, *abs, *slash;
	const char *rel;

	if (!s || s[0] == '/')
		return s;
	dir = xstrdup(v->ctx->p->dir);
	for (rel = s;;) {
		if (rel[0] == '.' && (rel[1] == '/' || !rel[1])) {
			rel += rel[1] ? 2 : 1;
		} else if (rel[0] == '.' && rel[1] == '.' &&
			   (rel[2] == '/' || !rel[2])) {
			rel += rel[2] ? 3 : 2;
			slash = strrchr(dir, '/');
			if (slash)
				slash[slash == dir ? 1 : 0] = '\0';
		} else {
			break;
		}
	}
	if (!*rel)
		abs = xstrdup(dir);
	else if (!strcmp(dir, "/"))
		abs = xasprintf("/%s", rel);
	else
		abs = xasprintf("%s/%s", dir, rel);
	free(dir);
	free(s);
	return abs;
}

static int parse_path(struct pval *v)
{
	char *s = path_expand(v);
	char **f = v->field;

	if (!s)
		return -EINVAL;
	free(*f);
	*f = s;
	return 0;
}
const struct ptype pt_path = {parse_path, "a path", PS_STR};

static int parse_pathlist(struct pval *v)
{
	char *s = path_expand(v);

	if (!s)
		return -EINVAL;
	strv_add(v->field, s);
	free(s);
	return 0;
}
const struct ptype pt_pathlist = {parse_pathlist, "paths", PS_STRV};

/* A bare name is looked up on PATH at plan time; anything with a slash is
 * a path. */
static int parse_program(struct pval *v)
{
	char **f = v->field;

	if (strchr(v->s, '/'))
		return parse_path(v);
	if (strspn(v->s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._+-") != strlen(v->s))
		return pval_fail(v, "'%s' is not a program name or path", v->s);
	free(*f);
	*f = xstrdup(v->s);
	return 0;
}
const struct ptype pt_program = {parse_program, "a program name or path",
				 PS_STR};

/* The file must exist, be a regular file, and be readable (R_OK) or
 * executable (X_OK); an open fd is returned for readable files. */
static int check_file(struct pval *v, const char *path, int mode)
{
	struct stat st;
	int fd;

	if (stat(path, &st)) {
		if (errno == ENOENT)
			return pval_fail(v, "%s does not exist", path);
		return pval_fail(v, "cannot access %s: %s", path,
				 strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return pval_fail(v, "%s is not a regular file", path);
	if (mode == X_OK) {
		if (access(path, X_OK))
			return pval_fail(v,
					 "%s is not executable; run chmod "
					 "+x on it",
					 path);
		return 0;
	}
	/* O_NONBLOCK: a /proc file such as kmsg must not hang the parse */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return pval_fail(v, "cannot read %s: %s", path,
				 strerror(errno));
	return fd;
}

/* The header's size byte counts 512-byte blocks: a file shorter than
 * that is a dump cut short (a read of a ROM BAR that stopped early). */
static int check_rom_length(struct pval *v, const char *path)
{
	struct rom_info ri;
	int r = rom_read(path, &ri);

	if (r == -EINVAL)
		return 0; /* the signature check says what is wrong */
	if (r)
		return pval_fail(v, "cannot read %s: %s", path, strerror(-r));
	if (ri.file_len < ri.image_len)
		return pval_fail(v,
				 "%s is %llu bytes, but its header says the "
				 "image is %llu (%llu KiB): the dump was cut "
				 "short; dump the vBIOS again",
				 path, (unsigned long long)ri.file_len,
				 (unsigned long long)ri.image_len,
				 (unsigned long long)ri.image_len / 1024);
	return 0;
}

/* An option ROM starts with 0x55 0xAA; anything else is a bad dump (or a
 * dump with a header, like GPU-Z's for NVIDIA cards). */
static int check_romfile(struct pval *v, const char *path)
{
	unsigned char sig[2] = {0};
	int fd = check_file(v, path, R_OK);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read(fd, sig, sizeof(sig));
	if (n < 0) {
		int e = errno;

		close(fd);
		return pval_fail(v, "cannot read %s: %s", path, strerror(e));
	}
	close(fd);
	if (n < 2)
		return pval_fail(v,
				 "%s is too short to be an option ROM; dump "
				 "the vBIOS again or leave romfile out",
				 path);
	if (sig[0] != 0x55 || sig[1] != 0xaa)
		return pval_fail(
			v,
			"%s does not start with the option ROM "
			"signature 0x55AA (it starts with 0x%02X%02X); "
			"dump the vBIOS again or leave romfile out",
			path, sig[0], sig[1]);
	return check_rom_length(v, path);
}

static int parse_romfile(struct pval *v)
{
	char *s = path_expand(v);
	char **f = v->field;

	if (!s)
		return -EINVAL;
	if (check_romfile(v, s)) {
		free(s);
		return -EINVAL;
	}
	free(*f);
	*f = s;
	return 0;
}
const struct ptype pt_romfile = {parse_romfile, "a vBIOS image", PS_STR};

static int add_checked(struct pval *v, int mode)
{
	char *s = path_expand(v);
	int fd;

	if (!s)
		return -EINVAL;
	fd = check_file(v, s, mode);
	if (fd < 0) {
		free(s);
		return -EINVAL;
	}
	if (mode == R_OK)
		close(fd);
	strv_add(v->field, s);
	free(s);
	return 0;
}

static int parse_acpi_table(struct pval *v)
{
	return add_checked(v, R_OK);
}
const struct ptype pt_acpi_table = {parse_acpi_table, "an ACPI table file",
				    PS_STRV};

static int parse_hook(struct pval *v)
{
	return add_checked(v, X_OK);
}
const struct ptype pt_hook = {parse_hook, "an executable", PS_STRV};

static bool is_kvmfr(const char *s)
{
	const char *n = s + strlen("/dev/kvmfr");

	return !strncmp(s, "/dev/kvmfr", strlen("/dev/kvmfr")) && *n &&
	       strspn(n, "0123456789") == strlen(n);
}

/* A host path, taken as written: a file in /dev/shm or a kvmfr device. */
static int parse_lg_device(struct pval *v)
{
	struct profile_looking_glass *lg = v->base;
	char *s = path_expand_vars(v);
	const char *shm = "/dev/shm/";
	size_t n;

	if (!s)
		return -EINVAL;
	n = strlen(shm);
	if (!is_kvmfr(s) &&
	    (strncmp(s, shm, n) || !s[n] || strchr(s + n, '/') ||
	     !strcmp(s + n, ".") || !strcmp(s + n, ".."))) {
		free(s);
		return pval_fail(v,
				 "'%s' is neither a file in /dev/shm "
				 "(/dev/shm/NAME) nor a kvmfr device "
				 "(/dev/kvmfrN)",
				 v->s);
	}
	free(lg->device);
	lg->device = s;
	lg->is_kvmfr = is_kvmfr(s);
	return 0;
}
const struct ptype pt_lg_device = {parse_lg_device,
				   "/dev/shm/NAME or /dev/kvmfrN", PS_STR};
