/* doctor_profile.c: the checks of `vmrun doctor` that depend on what a
 * profile asks for: hugepages, firmware, programs, the plan, its devices. */
#include "cmd/doctor_check.h"
#include "host/host.h"
#include "ops/ops.h"
#include "qemu/qemu.h"
#include "base/base.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void doctor_check_profile(struct doctor *d, const struct doctor_check *c)
{
	if (!d->profile_path)
		return;
	if (d->p)
		doctor_report(d, c, DOCTOR_OK, NULL, "%s: VM '%s'",
			      d->profile_path, d->p->vm.name);
	else
		doctor_report(d, c, DOCTOR_FAIL, NULL, "%s",
			      d->profile_err.msg);
}

static const struct host_node *node_find(const struct host *h, int id)
{
	for (size_t i = 0; i < h->nnodes; i++)
		if (h->nodes[i].id == id)
			return &h->nodes[i];
	return NULL;
}

/* Without a profile: what each node has for hugepages now. */
static void hugepages_host(struct doctor *d, const struct doctor_check *c)
{
	cleanup_free char *text = xstrdup("");
	char size[32], mem[32];

	for (size_t i = 0; i < d->h->nnodes; i++) {
		const struct host_node *n = &d->h->nodes[i];
		char *t = xasprintf("%s%snode %d:", text, i ? "\n" : "", n->id);

		free(text);
		text = t;
		for (size_t j = 0; j < d->h->npools; j++) {
			const struct host_hugepool *pl = &d->h->pools[j];

			if (pl->node != n->id)
				continue;
			hugepages_format_size(pl->size_kb * KIB, size,
					      sizeof(size));
			t = xasprintf("%s %ld free %s pages,", text, pl->free,
				      size);
			free(text);
			text = t;
		}
		hugepages_format_size(n->mem_free, mem, sizeof(mem));
		t = xasprintf("%s %s free memory", text, mem);
		free(text);
		text = t;
	}
	doctor_report(d, c, DOCTOR_OK, NULL, "%s", text);
}

/* The reservation this guest needs, made at boot when the memory is not
 * free at run time: its page size and count, on its node when the host
 * has several (the kernel's hugepages=NODE:COUNT). */
static void hugepages_fail(struct doctor *d, const struct doctor_check *c,
			   long node, long need, unsigned long size_kb,
			   const struct host_hugepool *pool, const char *nfree)
{
	cleanup_free char *opts = NULL, *how = NULL, *fix = NULL;
	char size[32], mem[32], all[32];
	const char *sz = size_kb == 2048 ? "2M" : "1G";
	uint64_t total = 0, keep;

	hugepages_format_size(size_kb * KIB, size, sizeof(size));
	hugepages_format_size(d->p->vm.memory, mem, sizeof(mem));
	for (size_t i = 0; i < d->h->nnodes; i++)
		total += d->h->nodes[i].mem_total;
	keep = hugepages_host_keeps(total);
	if (d->p->vm.memory + keep > total) {
		/* no reservation helps: the host would be left without */
		hugepages_format_size(total, all, sizeof(all));
		fix = xasprintf("this host has %s in all and needs %llu MiB "
				"for itself: make [vm] memory %lluM or less, "
				"or set [memory] hugepages = none",
				all, (unsigned long long)(keep / MIB),
				(unsigned long long)((total - keep) / MIB));
	} else if (d->h->nnodes > 1) {
		opts = xasprintf("hugepagesz=%s hugepages=%ld:%ld", sz, node,
				 need);
	} else {
		opts = xasprintf("hugepagesz=%s hugepages=%ld", sz, need);
	}
	if (opts) {
		how = boot_cmdline_fix(opts);
		fix = xasprintf("close programs to free memory on node %ld; "
				"or reserve the pages at boot: %s; or make "
				"[vm] memory smaller, or set [memory] "
				"hugepages = none",
				node, how);
	}
	doctor_report(d, c, DOCTOR_FAIL, fix,
		      "node %ld: the guest's %s needs %ld %s pages; %ld are "
		      "free and the node has %s free memory",
		      node, mem, need, size, pool->free, nfree);
}

void doctor_check_hugepages(struct doctor *d, const struct doctor_check *c)
{
	unsigned long size_kb;
	const struct host_hugepool *pool;
	const struct host_node *n;
	char size[32], mem[32], nfree[32];
	long need, node;

	if (!d->h)
		return;
	if (!d->p) {
		hugepages_host(d, c);
		return;
	}
	if (d->p->memory.hugepages == HUGEPAGES_NONE) {
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not used: [memory] hugepages = none");
		return;
	}
	size_kb = d->p->memory.hugepages == HUGEPAGES_1G ? 1048576 : 2048;
	node = hugepages_node(d->p, d->h);
	pool = host_pool_find(d->h, (int)node, size_kb);
	n = node_find(d->h, (int)node);
	need = (long)((d->p->vm.memory + size_kb * KIB - 1) / (size_kb * KIB));
	hugepages_format_size(size_kb * KIB, size, sizeof(size));
	hugepages_format_size(d->p->vm.memory, mem, sizeof(mem));
	if (!pool || !n) {
		doctor_report(d, c, DOCTOR_FAIL, NULL,
			      "node %ld has no pool of %s pages", node, size);
		return;
	}
	hugepages_format_size(n->mem_free, nfree, sizeof(nfree));
	if (pool->free >= need)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "node %ld: %ld free %s pages, the guest's %s "
			      "needs %ld",
			      node, pool->free, size, mem, need);
	else if ((uint64_t)(need - pool->free) * size_kb * KIB <= n->mem_free)
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "node %ld: the guest's %s needs %ld %s pages; "
			      "%ld are free and vmrun reserves the rest from "
			      "the node's %s free memory",
			      node, mem, need, size, pool->free, nfree);
	else
		hugepages_fail(d, c, node, need, size_kb, pool, nfree);
}

static void ovmf_pair(struct doctor *d, const struct doctor_check *c,
		      const char *code, const char *vars, const char *what)
{
	if (code)
		doctor_report(d, c, DOCTOR_OK, NULL, "%s%s, vars template %s",
			      what, code, vars);
	else
		doctor_report(d, c, DOCTOR_FAIL, NULL,
			      "no %sOVMF build found in the usual places",
			      what);
}

void doctor_check_ovmf(struct doctor *d, const struct doctor_check *c)
{
	const struct profile_firmware *fw = d->p ? &d->p->firmware : NULL;

	if (!d->h)
		return;
	if (fw && fw->type == FW_SEABIOS)
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not needed: [firmware] type = seabios");
	else if (fw && fw->code)
		doctor_report(d, c,
			      access(fw->code, R_OK) ? DOCTOR_FAIL : DOCTOR_OK,
			      NULL, "[firmware] code = %s%s", fw->code,
			      access(fw->code, R_OK) ? ": not readable" : "");
	else if (fw && fw->secure_boot)
		ovmf_pair(d, c, d->h->ovmf_code_sb, d->h->ovmf_vars_sb,
			  "Secure Boot ");
	else
		ovmf_pair(d, c, d->h->ovmf_code, d->h->ovmf_vars, "");
}

void doctor_check_qemu(struct doctor *d, const struct doctor_check *c)
{
	const struct host_qemu *q = d->h ? &d->h->qemu : NULL;
	const char *want =
		d->p && d->p->vm.qemu ? d->p->vm.qemu : "qemu-system-x86_64";

	if (d->qemu_err.code)
		doctor_report(d, c, DOCTOR_FAIL, NULL, "%s", d->qemu_err.msg);
	else if (!q)
		return;
	else if (!q->path)
		doctor_report(d, c, DOCTOR_FAIL, NULL, "%s not found%s", want,
			      strchr(want, '/') ? "" : " on PATH");
	else if (q->major < 7)
		doctor_report(d, c, DOCTOR_FAIL, NULL,
			      "%s is QEMU %d.%d.%d; vmrun needs 7.0 or later",
			      q->path, q->major, q->minor, q->micro);
	else
		doctor_report(d, c, DOCTOR_OK, NULL, "%s, version %d.%d.%d",
			      q->path, q->major, q->minor, q->micro);
}

void doctor_check_swtpm(struct doctor *d, const struct doctor_check *c)
{
	cleanup_free char *path = NULL;
	bool needed = d->p && d->p->tpm.type == TPM_SWTPM;

	if (d->p && !needed) {
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not needed: [tpm] type is not swtpm");
		return;
	}
	path = host_which("swtpm");
	if (path)
		doctor_report(d, c, DOCTOR_OK, NULL, "%s", path);
	else
		doctor_report(d, c, needed ? DOCTOR_FAIL : DOCTOR_WARN, NULL,
			      "not found on PATH (needed for [tpm] type = "
			      "swtpm, e.g. Windows 11)");
}

/* The sound server QEMU connects to at start: QEMU does not start when
 * its PulseAudio or PipeWire backend cannot connect. */
void doctor_check_audio(struct doctor *d, const struct doctor_check *c)
{
	cleanup_free char *dir = NULL, *sock = NULL, *path = NULL;
	const char *drv;
	struct stat st;

	if (!d->p || !d->h)
		return;
	if (d->p->audio.backend != AUDIO_PIPEWIRE &&
	    d->p->audio.backend != AUDIO_PA) {
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not needed: [audio] backend is not "
			      "pipewire or pa");
		return;
	}
	dir = sound_dir(d->p);
	if (!dir) {
		doctor_report(d, c, DOCTOR_WARN, NULL,
			      "QEMU reaches no user's sound server: no [audio] "
			      "runtime-dir, no [vm] run-as, and vmrun was not "
			      "run through sudo or pkexec by a user with a "
			      "runtime folder; QEMU does not start when its "
			      "backend cannot connect");
		return;
	}
	drv = qemu_audio_driver(d->p, &d->h->qemu);
	sock = xasprintf("%s/%s", dir,
			 strcmp(drv, "pa") ? "pipewire-0" : "pulse/native");
	path = hostfs_path(sock);
	if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		doctor_report(d, c, DOCTOR_WARN,
			      "log in as that user, with PipeWire (its pulse "
			      "server, pipewire-pulse, for QEMU before 8.1) or "
			      "PulseAudio running",
			      "no sound server listens at %s now (QEMU's %s "
			      "backend connects there at start)",
			      sock, drv);
	else
		doctor_report(d, c, DOCTOR_OK, NULL,
			      "QEMU's %s backend connects to %s", drv, sock);
}

void doctor_check_kvmfr(struct doctor *d, const struct doctor_check *c)
{
	const struct profile_looking_glass *lg = d->p ? &d->p->lg : NULL;
	cleanup_free char *fix = NULL;

	if (!lg)
		return;
	if (!lg->enabled || !lg->is_kvmfr) {
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not used: no [looking-glass] device = "
			      "/dev/kvmfrN");
		return;
	}
	if (hostfs_exists(lg->device)) {
		doctor_report(d, c, DOCTOR_OK, NULL, "%s is there", lg->device);
		return;
	}
	fix = xasprintf("modprobe kvmfr static_size_mb=%llu (the module "
			"comes with Looking Glass,\nmodule/ in its source, or "
			"your distribution's kvmfr dkms package)",
			(unsigned long long)(lg->size / MIB));
	doctor_report(d, c, DOCTOR_FAIL, fix,
		      "%s missing: the kvmfr module is not loaded", lg->device);
}

void doctor_check_plan(struct doctor *d, const struct doctor_check *c)
{
	if (!d->p)
		return;
	if (!d->h || d->qemu_err.code) {
		doctor_report(d, c, DOCTOR_SKIP, NULL,
			      "not built: see the failures above");
		return;
	}
	if (!d->planned) {
		doctor_report(d, c, DOCTOR_FAIL, NULL, "%s", d->plan_err.msg);
		return;
	}
	doctor_report(d, c, DOCTOR_OK, NULL,
		      "%zu host change%s planned (vmrun --dry-run lists them)",
		      d->plan.nops, d->plan.nops == 1 ? "" : "s");
	for (size_t i = 0; i < d->plan.warnings.n; i++)
		doctor_report(d, c, DOCTOR_WARN, "", "%s",
			      d->plan.warnings.v[i]);
}
