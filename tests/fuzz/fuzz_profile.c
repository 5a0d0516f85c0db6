/* fuzz_profile.c: libFuzzer harness for the profile parser: any bytes go to
 * profile_load_string(), relative paths resolve inside a scratch folder.
 *
 * The parser stats and opens the files a profile names (romfile, ACPI
 * tables, hooks). So that no input can read the host, the harness is linked
 * with -Wl,--wrap=open,--wrap=stat,--wrap=access: while a profile is
 * parsed, those calls only reach files inside the scratch folder, read-only;
 * any other path "does not exist". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/profile.h"
#include "base/base.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __real_stat(const char *path, struct stat *st);
int __wrap_stat(const char *path, struct stat *st);
int __real_access(const char *path, int mode);
int __wrap_access(const char *path, int mode);

static char sandbox[PATH_MAX]; /* the scratch folder, realpath, no '/' */
static size_t sandbox_len;
static bool guarded; /* inside profile_load_string() */
static bool verbose; /* FUZZ_VERBOSE: print what the parser said */

/* Inside the scratch folder and no ".." that could climb out of it. */
static bool path_allowed(const char *path)
{
	if (!guarded)
		return true;
	return !strncmp(path, sandbox, sandbox_len) &&
	       path[sandbox_len] == '/' && !strstr(path, "/..");
}

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (!path_allowed(path)) {
		errno = ENOENT;
		return -1;
	}
	if (guarded && ((flags & O_ACCMODE) != O_RDONLY ||
			(flags & (O_CREAT | O_TRUNC | O_TMPFILE)))) {
		errno = EROFS;
		return -1;
	}
	return __real_open(path, flags, mode);
}

int __wrap_stat(const char *path, struct stat *st)
{
	if (!path_allowed(path)) {
		errno = ENOENT;
		return -1;
	}
	return __real_stat(path, st);
}

int __wrap_access(const char *path, int mode)
{
	if (!path_allowed(path)) {
		errno = ENOENT;
		return -1;
	}
	return __real_access(path, mode);
}

/* The files the seed profiles name (tests/golden, tests/profiles), so
 * valid profiles get past the file checks to the cross-field checks. */
static const struct sandbox_file {
	const char *name;
	const char *data;
	size_t len;
	mode_t mode;
} files[] = {
	{"vbios.rom", "\x55\xaa\x40rom", 6, 0644},
	{"bad.rom", "NVGI", 4, 0644},
	{"ssdt.aml", "SSDT", 4, 0644},
	{"ssdt1.aml", "SSDT", 4, 0644},
	{"hook.sh", "#!/bin/sh\nexit 0\n", 17, 0755},
	{"root.qcow2", "", 0, 0644},
	{"data/vbios.rom", "\x55\xaa\x40rom", 6, 0644},
	{"data/ssdt.aml", "SSDT", 4, 0644},
	{"data/hook.sh", "#!/bin/sh\nexit 0\n", 17, 0755},
};

static void sandbox_remove(void)
{
	char path[PATH_MAX + 64];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", sandbox, files[i].name);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/data", sandbox);
	rmdir(path);
	rmdir(sandbox);
}

static void put_file(const struct sandbox_file *sf)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sandbox, sf->name);
	f = fopen(path, "we");
	if (!f || fwrite(sf->data, 1, sf->len, f) != sf->len || fclose(f) ||
	    chmod(path, sf->mode)) {
		fprintf(stderr, "fuzz_profile: cannot write %s\n", path);
		abort();
	}
}

static void sandbox_create(void)
{
	char tmpl[] = "/tmp/vmrun-fuzz-profile.XXXXXX";
	char data[PATH_MAX + 8];
	struct stat st;

	if (!mkdtemp(tmpl) || !realpath(tmpl, sandbox)) {
		perror("fuzz_profile: scratch folder");
		abort();
	}
	sandbox_len = strlen(sandbox);
	atexit(sandbox_remove);
	snprintf(data, sizeof(data), "%s/data", sandbox);
	if (mkdir(data, 0755)) {
		perror("fuzz_profile: scratch folder");
		abort();
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		put_file(&files[i]);
	/* The wrappers must be linked in: a host file has to look absent. */
	guarded = true;
	if (stat("/", &st) == 0) {
		fprintf(stderr, "fuzz_profile: link with -Wl,--wrap=open,"
				"--wrap=stat,--wrap=access\n");
		abort();
	}
	guarded = false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	sandbox_create();
	return 0;
}

/* What every successfully parsed profile must satisfy. */
static void check_profile(const struct profile *p)
{
	size_t n = strlen(p->vm.name);

	if (n == 0 || n > PROFILE_NAME_MAX ||
	    strspn(p->vm.name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
			       "vwxyz0123456789_-") != n)
		abort();
	if (p->cpu.vcpus == 0 ||
	    p->cpu.vcpus != p->cpu.sockets * p->cpu.cores * p->cpu.threads)
		abort();
	if (p->cpu.vcpu_pin.n && p->cpu.vcpu_pin.n != p->cpu.vcpus)
		abort();
	if (p->vm.memory == 0 || !p->dir || p->dir[0] != '/')
		abort();
	if (p->hyperv.vendor_id && strlen(p->hyperv.vendor_id) > 12)
		abort();
	for (size_t i = 0; i < p->ndisk; i++)
		if (!p->disk[i].file || !p->disk[i].name)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	struct profile p;
	struct vr_error err = {0};
	int r;

	memcpy(text, data, size);
	text[size] = '\0';
	guarded = true;
	r = profile_load_string(text, "fuzz.ini", sandbox, &p, &err);
	guarded = false;
	if (verbose)
		fprintf(stderr, "fuzz_profile: %s\n", r ? err.msg : "parsed");
	if (r == 0) {
		check_profile(&p);
		profile_free(&p);
	} else if (r > 0 || err.code <= 0 || !err.msg[0] ||
		   !memchr(err.msg, '\0', sizeof(err.msg))) {
		abort(); /* a failure always says what is wrong */
	}
	free(text);
	return 0;
}
