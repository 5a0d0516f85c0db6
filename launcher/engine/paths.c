/* paths.c: the one place that knows where vmrun keeps its runtime files:
 * /run/vmrun, the per-VM journal, lock and sockets, the claims, the host
 * lock and shared records, and the hugetlbfs mounts vmrun makes. Paths
 * are unrooted; hostfs_path() roots. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#define RUN_DIR "/run/vmrun"

const char *paths_run_dir(void)
{
	return RUN_DIR;
}

char *paths_run_file(const char *name, const char *suffix)
{
	return xasprintf(RUN_DIR "/%s%s", name, suffix);
}

const char *paths_claims_dir(void)
{
	return RUN_DIR "/claims";
}

const char *paths_host_lock(void)
{
	return RUN_DIR "/host.lock";
}

const char *paths_shared_dir(void)
{
	return RUN_DIR "/shared";
}

char *paths_hugetlbfs_dir(const char *size)
{
	return xasprintf(RUN_DIR "/hugepages-%s", size);
}

bool paths_is_hugetlbfs_dir(const char *dir)
{
	static const char prefix[] = RUN_DIR "/hugepages-";

	return !strncmp(dir, prefix, sizeof(prefix) - 1);
}

void paths_vm_build(const struct profile *p, struct vm_paths *vp)
{
	const char *n = p->vm.name;

	vp->run_dir = xstrdup(RUN_DIR);
	vp->journal = paths_run_file(n, ".json");
	vp->lock = paths_run_file(n, ".lock");
	vp->qmp = paths_run_file(n, PATHS_QMP);
	vp->ctl = paths_run_file(n, PATHS_CTL);
	/* NAME.WHAT: a name has no '.', so no other VM's file (x-swtpm.sock
	 * of VM x-swtpm) can be one of these */
	vp->battery = paths_run_file(n, PATHS_BATTERY);
	vp->swtpm_sock = paths_run_file(n, PATHS_SWTPM);
	vp->state_dir = xstrdup(p->vm.state_dir);
	vp->vars = p->firmware.vars ? xstrdup(p->firmware.vars) : NULL;
	vp->tpm_state = p->tpm.state ? xstrdup(p->tpm.state) : NULL;
	vp->log = xasprintf("%s/%s.log", p->vm.state_dir, n);
}

void paths_vm_free(struct vm_paths *vp)
{
	free(vp->run_dir);
	free(vp->journal);
	free(vp->lock);
	free(vp->qmp);
	free(vp->ctl);
	free(vp->battery);
	free(vp->swtpm_sock);
	free(vp->hugepage_dir);
	free(vp->cgroup);
	free(vp->state_dir);
	free(vp->vars);
	free(vp->tpm_state);
	free(vp->log);
	memset(vp, 0, sizeof(*vp));
}
