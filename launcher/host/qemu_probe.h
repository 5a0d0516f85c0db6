/* host/qemu_probe.h: private to host/ (qemu_version.c, hv_probe.c,
 * hv_verdict.c; and their unit tests): how QEMU is run to ask it
 * something, root's cache of its answers, the pure part of the vCPU probe. */
#ifndef VMRUN_HOST_QEMU_PROBE_H
#define VMRUN_HOST_QEMU_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "host/host.h"

/* The probe's timeout (ms), the monotonic clock it is measured on, and
 * the reaping of a probed QEMU by a deadline (killed, with its process
 * group, when it is not gone by then: false). */
long host_qemu_timeout_ms(void);
bool host_qemu_reap(pid_t pid, int *status, long deadline);
/* Root's cache of QEMU's answers (/var/cache/vmrun): the file and key of
 * the question what (a word, "" for -version) asked of the binary at path,
 * keyed by the binary's identity (device, inode, size, times); NULL when
 * not root. get: the answer (one line) when the key matches. */
#define QEMU_CACHE_KEY_MAX 8192
char *host_qemu_cache_file(const char *path, const char *what, char *key,
			   size_t len);
bool host_qemu_cache_get(const char *file, const char *key, char *out,
			 size_t len);
void host_qemu_cache_put(const char *file, const char *key, const char *out);

/* hv_verdict.c: the verdict, from tries of sets (hv_probe.c runs them). */
/* One try of the judge: HV_TRY_STARTS when QEMU starts a vCPU with -cpu
 * model plus args ("hv-relaxed=on"); else how it failed ("aborts") and its
 * message: HV_TRY_REFUSED when QEMU ended saying why (its error line),
 * HV_TRY_UNSURE when it hung, ended without a word, or did not run. When
 * model alone fails, named (NULL-ended) are tried for one that starts. */
enum {
	HV_TRY_STARTS = 0,
	HV_TRY_REFUSED = -1,
	HV_TRY_UNSURE = -2
};
struct hv_try {
	int (*run)(void *ctx, const char *model, const struct strv *args,
		   char *how, size_t hlen, char *msg, size_t mlen);
	void *ctx;
	const char *model;
	const char *const *named;
};
/* The culprits among want (tokens "name" or "name=value"), or the model
 * itself: the pure part of hv_probe_qemu, given how to try a set. */
void hv_verdict_judge(const struct strv *want, const struct hv_try *t,
		      struct host_hv_qemu *out);
/* The verdict as one line of the cache, and back (0, or -EINVAL). */
char *hv_verdict_format(const struct host_hv_qemu *q);
int hv_verdict_parse(const char *line, struct host_hv_qemu *q);

#endif
