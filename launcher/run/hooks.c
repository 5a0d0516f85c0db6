/* hooks.c: [hooks] programs. A hook is a program the user trusts like the
 * profile itself; it runs without a shell, with our output as its own, in
 * a process group of its own, for at most [hooks] timeout seconds. The
 * supervisor keeps handling signals and QMP while one runs; what a hook
 * leaves running in its group is ended with the VM. */
#include "run/run.h"
#include "base/base.h"
#include "host/host.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After the timeout: SIGTERM to the group, SIGKILL this much later. */
#define HOOK_KILL_GRACE_MS 2000

static const struct strv *phase_hooks(const struct profile *p,
				      const char *phase)
{
	if (!strcmp(phase, "pre-start"))
		return &p->hooks.pre_start;
	if (!strcmp(phase, "post-start"))
		return &p->hooks.post_start;
	if (!strcmp(phase, "pre-stop"))
		return &p->hooks.pre_stop;
	return &p->hooks.post_stop;
}

static void hooks_fail(struct hook_run *h, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void hooks_fail(struct hook_run *h, int code, const char *fmt, ...)
{
	va_list ap;

	if (h->result)
		return;
	va_start(ap, fmt);
	vsnprintf(h->err.msg, sizeof(h->err.msg), fmt, ap);
	va_end(ap);
	h->err.code = code;
	h->result = -code;
}

static void remember_group(struct hook_run *h, pid_t pgid)
{
	if (h->groups->n < ARRAY_SIZE(h->groups->pgid))
		h->groups->pgid[h->groups->n++] = pgid;
}

/* Start hook h->next; 0, or the failure recorded. */
static int hook_start(struct hook_run *h)
{
	const char *path = phase_hooks(h->p, h->phase)->v[h->next];
	const char *name = h->p->vm.name;
	char *argv[] = {(char *)path, (char *)name, (char *)h->phase,
			(char *)h->reason, NULL};
	char *env[5] = {
		xasprintf("VMRUN_NAME=%s", name),
		xasprintf("VMRUN_PHASE=%s", h->phase),
		xasprintf("VMRUN_REASON=%s", h->reason ? h->reason : ""),
		xasprintf("VMRUN_PROFILE=%s", h->p->path),
		NULL,
	};
	struct spawn s = {.path = path,
			  .argv = argv,
			  .pass_fd = -1,
			  .out_fd = -1,
			  .own_pgrp = true,
			  .env = env};
	struct vr_error e = {0};
	int r;

	log_info("%s hook: %s", h->phase, path);
	r = proc_spawn(&s, &h->pid, &e);
	for (size_t j = 0; env[j]; j++)
		free(env[j]);
	if (r) {
		h->pid = 0;
		hooks_fail(h, -r, "%s hook: %s", h->phase, e.msg);
		return r;
	}
	h->path = path;
	h->next++;
	h->killed = 0;
	h->deadline = now_ms() + (int64_t)h->p->hooks.timeout * 1000;
	remember_group(h, h->pid);
	return 0;
}

/* Start the next hook unless the walk is over (the end, or a failure). */
static void hooks_next(struct hook_run *h)
{
	const struct strv *hooks = phase_hooks(h->p, h->phase);

	while (!h->pid && !h->result && h->next < hooks->n)
		hook_start(h);
}

void hooks_begin(struct hook_run *h, const struct profile *p, const char *phase,
		 const char *reason, struct hook_groups *groups)
{
	memset(h, 0, sizeof(*h));
	h->p = p;
	h->phase = phase;
	h->reason = reason;
	h->groups = groups;
	hooks_next(h);
}

bool hooks_busy(const struct hook_run *h)
{
	return h->pid != 0;
}

int hooks_timeout(const struct hook_run *h)
{
	int64_t left;

	if (!h->pid)
		return -1;
	left = h->deadline - now_ms();
	return left < 0 ? 0 : (int)left;
}

bool hooks_reaped(struct hook_run *h, pid_t pid, int status)
{
	if (!h->pid || pid != h->pid)
		return false;
	h->pid = 0;
	/* a hook we stopped has its reason recorded already */
	if (!h->killed && WIFSIGNALED(status))
		hooks_fail(h, ECANCELED, "%s hook %s was killed by signal %d",
			   h->phase, h->path, WTERMSIG(status));
	else if (!h->killed && WEXITSTATUS(status))
		hooks_fail(h, ECANCELED, "%s hook %s exited with status %d",
			   h->phase, h->path, WEXITSTATUS(status));
	hooks_next(h);
	return true;
}

void hooks_on_deadline(struct hook_run *h)
{
	if (!h->pid || now_ms() < h->deadline)
		return;
	if (!h->killed) {
		log_warn("%s hook %s did not finish within %u s ([hooks] "
			 "timeout): stopping it and what it started",
			 h->phase, h->path, h->p->hooks.timeout);
		hooks_fail(h, ETIMEDOUT,
			   "%s hook %s did not finish within %u s ([hooks] "
			   "timeout)",
			   h->phase, h->path, h->p->hooks.timeout);
		h->killed = 1;
		kill(-h->pid, SIGTERM);
		h->deadline = now_ms() + HOOK_KILL_GRACE_MS;
	} else {
		kill(-h->pid, SIGKILL);
		h->deadline = now_ms() + 60 * 1000; /* reaped soon */
	}
}

/* Reap the running hook, blocking. */
static void hooks_reap_now(struct hook_run *h)
{
	int status;
	pid_t pid = h->pid;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			h->pid = 0;
			return;
		}
	hooks_reaped(h, pid, status);
}

void hooks_cancel(struct hook_run *h, const char *why)
{
	if (!h->pid)
		return;
	log_info("%s: stopping the %s hook %s", why, h->phase, h->path);
	hooks_fail(h, EINTR, "%s hook %s was stopped: %s", h->phase, h->path,
		   why);
	h->killed = 1;
	h->next = SIZE_MAX; /* no hook after it */
	kill(-h->pid, SIGKILL);
	hooks_reap_now(h);
}

int hooks_result(const struct hook_run *h, struct vr_error *err)
{
	if (!h->result)
		return 0;
	*err = h->err;
	return h->result;
}

/* One signal from the loop's signalfd: SIGCHLD reaps, the others stop
 * the hook that runs (the caller decides what the signal means). */
static bool hooks_wait_signal(struct hook_run *h, int sigfd, int *sig)
{
	struct signalfd_siginfo si;
	int status;
	pid_t pid;

	while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			*sig = (int)si.ssi_signo;
			hooks_cancel(h, strsignal(*sig));
			return true;
		}
	}
	while (h->pid && (pid = waitpid(h->pid, &status, WNOHANG)) > 0)
		hooks_reaped(h, pid, status);
	return false;
}

int hooks_wait(struct hook_run *h, int sigfd, int *sig)
{
	*sig = 0;
	while (h->pid) {
		struct pollfd pfd = {sigfd, POLLIN, 0};
		int r = poll(&pfd, 1, hooks_timeout(h));

		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && hooks_wait_signal(h, sigfd, sig))
			break;
		hooks_on_deadline(h);
	}
	return h->result;
}

void hooks_end_groups(struct hook_groups *g)
{
	bool left = false;

	for (size_t i = 0; i < g->n; i++)
		if (kill(-g->pgid[i], SIGTERM) == 0)
			left = true;
	for (int ms = 0; left && ms < HOOK_KILL_GRACE_MS; ms += 20) {
		struct timespec step = {0, 20 * 1000 * 1000};

		nanosleep(&step, NULL);
		left = false;
		for (size_t i = 0; i < g->n; i++)
			if (kill(-g->pgid[i], 0) == 0)
				left = true;
	}
	for (size_t i = 0; left && i < g->n; i++)
		if (kill(-g->pgid[i], SIGKILL) == 0)
			log_warn("processes a hook started (process group %d) "
				 "ignored SIGTERM: SIGKILL",
				 (int)g->pgid[i]);
	g->n = 0;
}
