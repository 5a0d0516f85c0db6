/* pin.c: thread affinity of a paused QEMU. Thread ids come from QMP
 * (query-cpus-fast) and the real /proc/PID/task: processes are real even
 * when the host root is a fake tree. */
#include "run/run.h"
#include "base/base.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static int set_affinity(pid_t tid, const int *cpus, size_t n,
			struct vr_error *err)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (size_t i = 0; i < n; i++)
		CPU_SET(cpus[i], &set);
	if (sched_setaffinity(tid, sizeof(set), &set) < 0) {
		struct cpulist l = {.cpu = (int *)cpus, .n = n};
		cleanup_free char *list = cpulist_format(&l);

		/* EINVAL: none of the CPUs is online or allowed to vmrun
		 * (a cpuset or container that leaves them out) */
		return vr_error(err, errno,
				"pin QEMU thread %d to CPU%s %s (check that "
				"%s online and in vmrun's cpuset)",
				(int)tid, n == 1 ? "" : "s", list,
				n == 1 ? "it is" : "they are");
	}
	return 0;
}

/* cpu-index -> thread-id from query-cpus-fast. */
static int vcpu_threads(struct qmp *q, pid_t *tids, size_t n,
			struct vr_error *err)
{
	json_object *ret = NULL, *e, *v;
	size_t len;
	int r = qmp_execute(q, "query-cpus-fast", NULL, 10000, &ret, err);

	if (r)
		return r;
	len = json_object_array_length(ret);
	for (size_t i = 0; i < len; i++) {
		e = json_object_array_get_idx(ret, i);
		if (!json_object_object_get_ex(e, "cpu-index", &v))
			continue;
		int64_t idx = json_object_get_int64(v);

		if (idx < 0 || (size_t)idx >= n ||
		    !json_object_object_get_ex(e, "thread-id", &v))
			continue;
		tids[idx] = (pid_t)json_object_get_int64(v);
	}
	json_object_put(ret);
	for (size_t i = 0; i < n; i++)
		if (!tids[i])
			return vr_errorx(err, ESRCH,
					 "QEMU did not report a thread for "
					 "vCPU %zu",
					 i);
	return 0;
}

static bool is_vcpu(pid_t tid, const pid_t *tids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

static int pin_emulator(pid_t qemu, const pid_t *tids, size_t n,
			const struct cpulist *pin, struct vr_error *err)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)qemu);
	d = opendir(path);
	if (!d)
		return vr_error(err, errno, "list QEMU's threads in %s", path);
	while (!r && (de = readdir(d))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);

		if (tid > 0 && !is_vcpu(tid, tids, n))
			r = set_affinity(tid, pin->cpu, pin->n, err);
	}
	closedir(d);
	return r;
}

int pin_threads(struct qmp *q, pid_t qemu, const struct profile_cpu *cpu,
		struct vr_error *err)
{
	size_t n = cpu->vcpus;
	pid_t *tids;
	int r;

	if (!cpu->vcpu_pin.n && !cpu->emulator_pin.n)
		return 0;
	tids = xcalloc(n, sizeof(*tids));
	r = vcpu_threads(q, tids, n, err);
	for (size_t i = 0; !r && cpu->vcpu_pin.n && i < n; i++) {
		r = set_affinity(tids[i], &cpu->vcpu_pin.cpu[i], 1, err);
		if (!r)
			log_debug("vCPU %zu (thread %d) pinned to CPU %d", i,
				  (int)tids[i], cpu->vcpu_pin.cpu[i]);
	}
	if (!r && cpu->emulator_pin.n)
		r = pin_emulator(qemu, tids, n, &cpu->emulator_pin, err);
	free(tids);
	return r;
}
