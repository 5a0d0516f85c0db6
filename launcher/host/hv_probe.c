/* hv_probe.c: whether QEMU can really start a vCPU of the profile's CPU
 * model on this kernel's KVM, and with which Hyper-V enlightenments, asked
 * of QEMU itself: KVM may refuse an MSR the model sets up (a nested host:
 * IA32_ARCH_CAPABILITIES for -cpu host), or offer an enlightenment (its
 * CPUID bit) that QEMU then aborts on (setting its MSR) or refuses. */
#include "host/host.h"
#include "host/qemu_probe.h"
#include "base/base.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a try reads back: QMP lines, and the start of QEMU's stderr. */
struct hv_io {
	int sock, err;
	bool err_open, greeted;
	char qmp[4096];
	size_t nq;
	char text[2048];
	size_t nt;
};

/* The verdict is cached per binary and kernel: it must not depend on the
 * caller's environment either. */
static void hv_child(const char *path, char *const argv[], int sock, int err)
{
	static char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
		"/bin",
		"LC_ALL=C", NULL};
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* its own group: a timeout kills what it started too */
	setpgid(0, 0);
	sock = fcntl(sock, F_DUPFD_CLOEXEC, 10);
	err = fcntl(err, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || sock < 0 || err < 0 || dup2(null, 0) < 0 ||
	    dup2(null, 1) < 0 || dup2(err, 2) < 0 || dup2(sock, 3) < 0)
		_exit(127);
	execve(path, argv, env);
	_exit(127);
}

/* false when there is nothing to read now */
static bool hv_read_err(struct hv_io *io)
{
	char buf[1024];
	ssize_t n = read(io->err, buf, sizeof(buf));
	size_t keep;

	if (n < 0 && errno == EINTR)
		return true;
	if (n < 0 && errno == EAGAIN)
		return false;
	if (n <= 0) {
		io->err_open = false;
		return false;
	}
	keep = sizeof(io->text) - 1 - io->nt;
	keep = (size_t)n < keep ? (size_t)n : keep;
	memcpy(io->text + io->nt, buf, keep);
	io->nt += keep;
	io->text[io->nt] = '\0';
	return true;
}

/* 1: QEMU answered a command, so its main loop runs: the vCPU is set up
 * (registers and MSRs are put before it). 0: it closed QMP. 2: more. */
static int hv_read_qmp(struct hv_io *io)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	ssize_t n =
		read(io->sock, io->qmp + io->nq, sizeof(io->qmp) - 1 - io->nq);
	char *nl;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 2;
	if (n <= 0)
		return 0;
	io->nq += (size_t)n;
	io->qmp[io->nq] = '\0';
	while ((nl = strchr(io->qmp, '\n'))) {
		*nl = '\0';
		/* the greeting comes before the machine is made */
		if (!io->greeted && strstr(io->qmp, "\"QMP\"")) {
			io->greeted = true;
			if (send(io->sock, caps, sizeof(caps) - 1,
				 MSG_NOSIGNAL) < 0)
				return 0;
		} else if (io->greeted && strstr(io->qmp, "\"return\"")) {
			return 1;
		}
		io->nq -= (size_t)(nl + 1 - io->qmp);
		memmove(io->qmp, nl + 1, io->nq + 1);
	}
	if (io->nq + 1 >= sizeof(io->qmp))
		io->nq = 0; /* a line this long is no answer */
	return 2;
}

/* 1 answered, 0 QMP closed, -1 deadline passed. */
static int hv_talk(struct hv_io *io, long deadline)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{.fd = io->sock, .events = POLLIN},
			{.fd = io->err_open ? io->err : -1, .events = POLLIN}};
		long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -1;
		r = poll(pfd, 2, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return 0;
		if (pfd[1].revents)
			hv_read_err(io);
		if (pfd[0].revents && (r = hv_read_qmp(io)) != 2)
			return r;
	}
}

/* QEMU's first error line on stderr (its warnings skipped: a named model
 * warns of each feature the host lacks) without "qemu-system-x86_64: " and
 * "error: ", printable, one line; "" when it wrote none. */
static void hv_message(const struct hv_io *io, const char *path, char *msg,
		       size_t len)
{
	const char *base = strrchr(path, '/'), *s = io->text;
	size_t n, b;

	base = base ? base + 1 : path;
	b = strlen(base);
	msg[0] = '\0';
	for (; *s; s += n + (s[n] == '\n')) {
		n = strcspn(s, "\n");
		if (!strncmp(s, base, b) && !strncmp(s + b, ": ", 2)) {
			s += b + 2;
			n -= b + 2;
		}
		if (!strncmp(s, "warning: ", 9) || !n)
			continue;
		if (!strncmp(s, "error: ", 7)) {
			s += 7;
			n -= 7;
		}
		snprintf(msg, len, "%.*s", (int)n, s);
		break;
	}
	for (char *c = msg; *c; c++)
		if (!isprint((unsigned char)*c))
			*c = ' ';
}

/* How it ended; a message of its own when QEMU printed none. */
static void hv_how(int status, int talk, long limit, char *how, size_t hlen,
		   char *msg, size_t mlen)
{
	if (talk < 0) {
		snprintf(how, hlen, "hangs");
		if (!*msg)
			snprintf(msg, mlen, "no QMP answer within %ld ms",
				 limit);
	} else if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGABRT)
			snprintf(how, hlen, "aborts");
		else
			snprintf(how, hlen, "dies of signal %d",
				 WTERMSIG(status));
		if (!*msg)
			snprintf(msg, mlen, "%s", strsignal(WTERMSIG(status)));
	} else {
		snprintf(how, hlen, "fails");
		if (!*msg)
			snprintf(msg, mlen,
				 "exit status %d before a QMP answer",
				 WEXITSTATUS(status));
	}
}

struct hv_runner {
	const char *path;
	long limit;
	bool timed_out; /* a try hung: the verdict may be the load's */
};

static char *hv_cpu(const char *model, const struct strv *args)
{
	char *s = xstrdup(model), *t;

	for (size_t i = 0; i < args->n; i++) {
		t = xasprintf("%s,%s", s, args->v[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Start QEMU with one set, wait for its answer, kill it; what it left on
 * stderr after it ended. */
static int hv_start(struct hv_runner *r, const char *model,
		    const struct strv *args, struct hv_io *io, int *status)
{
	cleanup_free char *cpu = hv_cpu(model, args);
	char *const argv[] = {(char *)r->path,
			      "-machine",
			      "q35",
			      "-accel",
			      "kvm",
			      "-cpu",
			      cpu,
			      "-m",
			      "16",
			      "-smp",
			      "1",
			      "-S",
			      "-nodefaults",
			      "-display",
			      "none",
			      "-no-user-config",
			      "-chardev",
			      "socket,id=qmp,fd=3",
			      "-mon",
			      "chardev=qmp,mode=control",
			      NULL};
	long deadline = now_ms() + r->limit;
	int sv[2], ep[2], talk;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (pipe2(ep, O_CLOEXEC)) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	pid = fork();
	if (pid == 0)
		hv_child(r->path, argv, sv[1], ep[1]);
	close(sv[1]);
	close(ep[1]);
	io->sock = sv[0];
	io->err = ep[0];
	io->err_open = true;
	talk = pid < 0 ? 0 : hv_talk(io, deadline);
	if (pid > 0 && !host_qemu_reap(pid, status, talk == 0 ? deadline : 0) &&
	    !talk)
		talk = -1; /* it closed QMP, then hung */
	fcntl(io->err, F_SETFL, O_NONBLOCK);
	while (io->err_open && hv_read_err(io))
		;
	close(sv[0]);
	close(ep[0]);
	return pid < 0 ? -EAGAIN : talk;
}

/* A refusal only when QEMU ended and said why: a hang may be the load's,
 * a silent end anything. */
static int hv_run(void *ctx, const char *model, const struct strv *args,
		  char *how, size_t hlen, char *msg, size_t mlen)
{
	struct hv_runner *r = ctx;
	struct hv_io io = {0};
	int status = 0, talk = hv_start(r, model, args, &io, &status);
	bool said;

	if (talk == 1)
		return HV_TRY_STARTS;
	if (talk < -1) {
		snprintf(how, hlen, "cannot be started");
		snprintf(msg, mlen, "%s", strerror(-talk));
		return HV_TRY_UNSURE;
	}
	r->timed_out |= talk < 0;
	hv_message(&io, r->path, msg, mlen);
	said = talk == 0 && *msg;
	hv_how(status, talk, r->limit, how, hlen, msg, mlen);
	return said ? HV_TRY_REFUSED : HV_TRY_UNSURE;
}

/* Tokens QEMU's -cpu takes as they are, with KVM offering the feature and
 * what it needs: what KVM lacks is the planner's already. */
static bool hv_askable(const struct host_kvm *k, const char *name,
		       const char *value, int depth)
{
	const char *const *needs = kvm_hv_needs(name);

	if (!*name || name[strspn(name, "abcdefghijklmnopqrstuvwxyz-")] ||
	    (value &&
	     (!*value || value[strspn(value, "0123456789abcdefABCDEFxX")])) ||
	    !kvm_hv_offered(k, name))
		return false;
	for (size_t i = 0; depth < 8 && needs && i < 2 && needs[i]; i++)
		if (!hv_askable(k, needs[i], NULL, depth + 1))
			return false;
	return true;
}

static void hv_want(const struct host *h, const struct profile *p,
		    struct strv *want)
{
	cleanup_free char *list = xstrdup(PROFILE_HV_DEFAULT);
	char *save = NULL, *value;

	for (size_t i = 0; p && i < p->hyperv.nfeatures; i++) {
		const struct hv_feature *f = &p->hyperv.features[i];

		if (!hv_askable(&h->kvm, f->name, f->value, 0))
			continue;
		if (f->value)
			strv_addf(want, "%s=%s", f->name, f->value);
		else
			strv_add(want, f->name);
	}
	for (char *t = p ? NULL : strtok_r(list, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		value = strchr(t, '=');
		if (value)
			*value = '\0';
		if (!hv_askable(&h->kvm, t, value ? value + 1 : NULL, 0))
			continue;
		if (value)
			*value = '=';
		strv_add(want, t);
	}
}

/* The base of -cpu: a plain token, as the argv builder wants it (it
 * refuses any other, so there is nothing to ask). */
static const char *hv_model(const struct profile *p)
{
	const char *m = p && p->cpu.model ? p->cpu.model : "host";

	for (const char *c = m; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("-_.", *c))
			return NULL;
	return *m ? m : NULL;
}

/* What the verdict depends on besides the binary: the kernel, KVM's
 * answer, the CPU (the named models tried), the model, the list. */
static char *hv_question(const struct host *h, const char *model,
			 const struct strv *want)
{
	const struct host_kvm *k = &h->kvm;
	struct vr_error ignored;
	char rel[256];
	char *s, *t;

	if (hostfs_read("/proc/sys/kernel/osrelease", rel, sizeof(rel),
			&ignored))
		snprintf(rel, sizeof(rel), "?");
	rel[strcspn(rel, " \t\n")] = '\0';
	s = xasprintf("vcpu %s %d:%08x:%08x:%08x %s %s ", rel, k->hv_known,
		      k->hv_features_eax, k->hv_features_edx,
		      k->hv_recommend_eax, h->cpu_amd ? "amd" : "intel", model);
	for (size_t i = 0; i < want->n; i++) {
		t = xasprintf("%s%s%s", s, i ? "," : "", want->v[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Named models to suggest when the profile's does not start: one of the
 * host's vendor that does not copy the host's own CPU (as host and max
 * do, IA32_ARCH_CAPABILITIES included), then the plainest one. */
static const char *const hv_named_amd[] = {"EPYC", "qemu64", NULL};
static const char *const hv_named_intel[] = {"Skylake-Client", "qemu64", NULL};

void hv_probe_qemu(struct host *h, const struct profile *p)
{
	struct hv_runner r = {.path = h->qemu.path,
			      .limit = host_qemu_timeout_ms()};
	struct hv_try t = {.run = hv_run,
			   .ctx = &r,
			   .model = hv_model(p),
			   .named = h->cpu_amd ? hv_named_amd : hv_named_intel};
	cleanup_free char *what = NULL, *cache = NULL, *line = NULL;
	char key[QEMU_CACHE_KEY_MAX], got[QEMU_CACHE_KEY_MAX];
	struct strv want = {0};
	struct vr_error ignored;

	hv_verdict_free(&h->hv_qemu);
	if ((p && p->vm.accel != ACCEL_KVM) || h->kvm.state != KVM_OK ||
	    !h->qemu.path || !t.model)
		return;
	/* the rule of the version probe: never run an untrusted binary */
	if (trust_check_program(h->qemu.path, "[vm] qemu", &ignored))
		return;
	hv_want(h, p, &want);
	what = hv_question(h, t.model, &want);
	cache = host_qemu_cache_file(h->qemu.path, what, key, sizeof(key));
	if (host_qemu_cache_get(cache, key, got, sizeof(got)) &&
	    !hv_verdict_parse(got, &h->hv_qemu))
		goto out;
	hv_verdict_judge(&want, &t, &h->hv_qemu);
	line = hv_verdict_format(&h->hv_qemu);
	/* a hang may be the load's: asked again next time */
	if (!r.timed_out)
		host_qemu_cache_put(cache, key, line);
out:
	strv_free(&want);
}
