/* supervise.c: one VM's life under vmrun: the host prepared, QEMU started
 * paused and pinned, one poll() loop until it ends, the host given back.
 * No periodic wake-ups: poll sleeps until an fd, a signal or a deadline. */
#include "run/run.h"
#include "base/base.h"
#include "host/host.h"
#include "qmp/qmp.h"
#include "qemu/qemu.h"
#include "run/supervisor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_signal(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			break; /* reaped below */
		case SIGINT:
			if (s->stage != ST_RUNNING) {
				ladder_stop(s, true);
				break;
			}
			/* fall through */
		default:
			log_info("%s: stopping the VM (again to force)",
				 strsignal((int)si.ssi_signo));
			ladder_stop(s, false);
		}
	}
}

/* One waitpid(-1) loop for every child, so QEMU's status cannot be taken
 * by the loop that reaps swtpm (whose op checks it at undo). */
static void reap(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == s->qemu && !s->qemu_gone) {
			s->qemu_gone = true;
			s->qemu_status = status;
		} else if (s->swtpm && pid == s->swtpm) {
			runstate_swtpm_gone(s, pid, status);
			s->swtpm = 0;
		} else if (!notifier_reaped(&s->notes, pid, status)) {
			hooks_reaped(&s->hook, pid, status);
		}
	}
}

/* The post-start hooks run while the loop goes on; a failure is a
 * warning, once. */
static void post_start_check(struct sup *s)
{
	struct vr_error e = {0};

	hooks_on_deadline(&s->hook);
	if (s->hook_warned || hooks_busy(&s->hook) ||
	    !hooks_result(&s->hook, &e))
		return;
	log_warn("%s", e.msg);
	s->hook_warned = true;
}

/* The hooks of a phase where nothing else runs (before QEMU, after it):
 * wait for them, a signal stopping the one that runs. 0 or the failure. */
static int hooks_phase(struct sup *s, const char *phase, const char *reason,
		       struct vr_error *err)
{
	int sig;

	hooks_begin(&s->hook, s->p, phase, reason, &s->hook_groups);
	hooks_wait(&s->hook, s->sigfd, &sig);
	return hooks_result(&s->hook, err);
}

static void on_qmp(struct sup *s, short revents)
{
	struct vr_error e = {0};
	int r = 0;

	if (qmp_fd(s->qmp) < 0) /* broke inside an earlier call */
		r = qmp_get_error(s->qmp, &e);
	if (!r && (revents & POLLOUT))
		r = qmp_write_ready(s->qmp, &e);
	if (!r && (revents & (POLLIN | POLLHUP | POLLERR)))
		r = qmp_read_ready(s->qmp, &e);
	qmp_dispatch_events(s->qmp);
	runstate_poll(s);
	if (r) {
		log_debug("%s", e.msg);
		qmp_close(s->qmp);
		s->qmp = NULL;
		/* QEMU is going away; make sure it does */
		if (s->stage < ST_TERM && !s->deadline)
			s->deadline = now_ms() + GRACE_MS;
		if (s->stage < ST_QUIT)
			s->stage = ST_QUIT;
	}
}

static int poll_timeout(const struct sup *s)
{
	int64_t t = -1;
	int q;

	if (s->deadline) {
		t = s->deadline - now_ms();
		if (t < 0)
			t = 0;
	}
	q = s->qmp ? qmp_next_timeout(s->qmp) : -1;
	if (q >= 0 && (t < 0 || q < t))
		t = q;
	q = clients_next_timeout(s);
	if (q >= 0 && (t < 0 || q < t))
		t = q;
	q = hooks_timeout(&s->hook);
	if (q >= 0 && (t < 0 || q < t))
		t = q;
	q = notifier_timeout(&s->notes);
	if (q >= 0 && (t < 0 || q < t))
		t = q;
	if (s->swtpm_judge) {
		q = (int)(s->swtpm_judge - now_ms());
		q = q < 0 ? 0 : q;
		if (t < 0 || q < t)
			t = q;
	}
	/* While the guest is asked to power off, a terminal shows the wait:
	 * the only time the loop wakes up without something to do. */
	if (ladder_powering_off(s) && log_progress_enabled() &&
	    (t < 0 || t > 1000))
		t = 1000;
	return (int)t;
}

static void loop(struct sup *s)
{
	struct pollfd fds[5 + MAX_CLIENTS];

	while (!s->qemu_gone) {
		size_t n = 0, nc = s->nclients;

		fds[n++] = (struct pollfd){s->sigfd, POLLIN, 0};
		fds[n++] = (struct pollfd){s->ctl, POLLIN, 0};
		fds[n++] = (struct pollfd){s->qemu_pidfd, POLLIN, 0};
		fds[n++] = (struct pollfd){s->qmp ? qmp_fd(s->qmp) : -1,
					   s->qmp ? qmp_poll_events(s->qmp) : 0,
					   0};
		fds[n++] = (struct pollfd){s->out.fd, POLLIN, 0};
		for (size_t i = 0; i < nc; i++)
			fds[n++] =
				(struct pollfd){s->clients[i]->fd, POLLIN, 0};
		if (poll(fds, n, poll_timeout(s)) < 0 && errno != EINTR)
			break;
		if (fds[4].revents)
			echo_read(&s->out);
		if (fds[0].revents)
			on_signal(s);
		if (s->qmp && (fds[3].revents || qmp_fd(s->qmp) < 0))
			on_qmp(s, fds[3].revents);
		/* clients only go (from the end) in here: fds[5 + i] is
		 * still client i */
		for (size_t i = nc; i-- > 0;)
			if (fds[5 + i].revents && i < s->nclients)
				clients_on_input(s, i);
		if (fds[1].revents)
			clients_accept(s);
		clients_poll(s);
		ladder_on_deadline(s);
		notifier_on_deadline(&s->notes);
		reap(s);
		runstate_swtpm_check(s);
		post_start_check(s);
		ladder_show_power_off(s);
	}
}

/* What the end of QEMU means, as an exit code and a message. */
static int outcome(struct sup *s, struct vr_error *err)
{
	int st = s->qemu_status;

	if (s->panicked)
		return vr_errorx(err, VM_EXIT_PANIC, "the guest panicked"),
		       VM_EXIT_PANIC;
	if (s->internal_error)
		return vr_errorx(err, VM_EXIT_CRASH,
				 "QEMU stopped the guest on an internal error "
				 "(see the VM log %s); QEMU was stopped",
				 s->vm->plan.paths.log),
		       VM_EXIT_CRASH;
	if (s->swtpm_died)
		return vr_errorx(err, VM_EXIT_CRASH,
				 "swtpm ended while the guest ran; the guest "
				 "was %s",
				 s->guest_shutdown ? "powered off" : "stopped"),
		       VM_EXIT_CRASH;
	if (s->guest_shutdown)
		return VM_EXIT_SHUTDOWN;
	if (s->forced)
		return vr_errorx(err, VM_EXIT_FORCED,
				 "the guest did not power off; QEMU was "
				 "stopped"),
		       VM_EXIT_FORCED;
	if (WIFSIGNALED(st))
		vr_errorx(err, VM_EXIT_CRASH,
			  "QEMU was killed by signal %d (%s) while the guest "
			  "ran",
			  WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		vr_errorx(err, VM_EXIT_CRASH,
			  "QEMU exited with status %d while the guest ran "
			  "(see its messages above or in the VM log)",
			  WEXITSTATUS(st));
	return VM_EXIT_CRASH;
}

/* QEMU is started and recorded; connect, pin, run. */
static int start_guest(struct sup *s, int qmp_fd, struct vr_error *err)
{
	int r = qmp_open_fd(qmp_fd, &s->qmp, err);

	if (!r) {
		qmp_watch(s->qmp, s->out.fd, echo_watch, &s->out);
		r = prealloc_wait(s, qmp_fd, err);
	}
	if (r)
		return r;
	if (log_get_level() >= LOG_DEBUG)
		qmp_set_log(s->qmp, log_get_file() ? log_get_file() : stderr);
	qmp_on_event(s->qmp, "*", ladder_on_event, s);
	r = qmp_handshake(s->qmp, 30000, err);
	if (!r)
		r = pin_threads(s->qmp, s->qemu, &s->p->cpu, err);
	if (!r)
		r = qmp_execute(s->qmp, "cont", NULL, 10000, NULL, err);
	if (r)
		return vr_error_prefix(err, "starting the guest");
	qmp_dispatch_events(s->qmp);
	s->state = "running";
	s->started = time(NULL);
	return 0;
}

/* The signals the loop reads through its signalfd. */
static const int loop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};

struct saved_signals {
	sigset_t mask;
	struct sigaction act[4];
};

/* Signals that came after the loop (a second ^C while the host is given
 * back) are taken here, or unblocking would deliver them and end vmrun
 * before it reports. */
static void drain_signals(int fd)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo != SIGCHLD)
			log_debug("%s ignored: the VM has already ended",
				  strsignal((int)si.ssi_signo));
}

static void unblock_signals(const struct saved_signals *old)
{
	for (size_t i = 0; i < ARRAY_SIZE(loop_signals); i++)
		sigaction(loop_signals[i], &old->act[i], NULL);
	sigprocmask(SIG_SETMASK, &old->mask, NULL);
}

/* Block the loop's signals and read them from a signalfd. An ignored
 * signal never reaches a signalfd, and a shell starts background jobs with
 * SIGINT ignored: SIGINT, SIGTERM and SIGCHLD are set back to their
 * default (harmless while blocked). SIGHUP keeps an ignore that nohup set
 * on purpose. Children get default dispositions from this too. */
static int block_signals(struct saved_signals *old, struct vr_error *err)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(loop_signals); i++)
		sigaddset(&mask, loop_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, &old->mask);
	for (size_t i = 0; i < ARRAY_SIZE(loop_signals); i++)
		sigaction(loop_signals[i],
			  loop_signals[i] == SIGHUP ? NULL : &dfl,
			  &old->act[i]);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		fd = vr_error(err, errno, "signalfd");
		unblock_signals(old);
	}
	return fd;
}

static void ready(struct run_opts *o, const struct sup *s)
{
	log_info("VM '%s' is running (QEMU pid %d)", s->p->vm.name,
		 (int)s->qemu);
	if (o->ready_fd >= 0) {
		if (write(o->ready_fd, "ok\n", 3) < 0)
			log_debug("ready pipe: %s", strerror(errno));
		close(o->ready_fd);
		o->ready_fd = -1;
	}
	if (o->notify)
		runtime_notify("READY=1\nSTATUS=guest running");
}

/* QEMU's own error line, traced back to the profile line that caused
 * it, goes first; the rest of err after it. */
static void refused(struct sup *s, struct vr_error *err)
{
	cleanup_free char *text = echo_text(&s->out), *what = NULL;
	const struct plan *plan = &s->vm->plan;
	struct vr_error e = {0};
	struct qemu_refusal q;

	if (!qemu_refusal_find(&plan->argv, &plan->argv_origin, text, &q))
		return;
	what = qemu_refusal_describe(s->p, &q);
	vr_errorx(&e, err->code, "%s", what);
	vr_error_append(&e, "%s", err->msg);
	*err = e;
}

/* QEMU that exits before the guest runs (a device it cannot set up)
 * shows only as a closed QMP connection: say how it ended instead, and
 * which profile line QEMU's message points at. */
static void start_failed(struct sup *s, int r, struct vr_error *err)
{
	int st = s->qemu_status;

	if (!s->qemu_gone || (r != -ECONNRESET && r != -EPIPE))
		return;
	if (WIFSIGNALED(st))
		vr_errorx(err, ECHILD,
			  "QEMU was killed by signal %d (%s) before the guest "
			  "ran",
			  WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		vr_errorx(err, ECHILD,
			  "QEMU exited with status %d before the guest ran; "
			  "its own messages (above, or in the VM log %s) say "
			  "why",
			  WEXITSTATUS(st), s->vm->plan.paths.log);
	refused(s, err);
}

/* Everything after the host was prepared, until QEMU is gone. */
static int run_prepared(struct sup *s, struct run_opts *o, struct vr_error *err)
{
	int qmp_fd = -1, out_fd = -1, r;

	r = runtime_start_swtpm(s->vm, &s->swtpm, err);
	if (!r)
		r = echo_open(&s->out, &out_fd, err);
	if (!r) {
		r = runtime_start_qemu(s->vm, out_fd, &qmp_fd, &s->qemu, err);
		close(out_fd);
	}
	if (!r)
		r = runtime_listen(s->vm, &s->ctl, err);
	if (r) {
		if (qmp_fd >= 0)
			close(qmp_fd);
		return VM_EXIT_ERROR;
	}
	s->qemu_pidfd = proc_pidfd(s->qemu);
	r = start_guest(s, qmp_fd, err);
	if (r) {
		ladder_enter(s, ST_QUIT);
		loop(s);
		echo_drain(&s->out);
		start_failed(s, r, err);
		return VM_EXIT_ERROR;
	}
	ready(o, s);
	hooks_begin(&s->hook, s->p, "post-start", NULL, &s->hook_groups);
	loop(s);
	echo_drain(&s->out);
	return outcome(s, err);
}

/* A run that ends without the guest powering off is news to the people
 * at the desktop: the notifier runs while the host is given back. */
static void ended_badly(struct sup *s, const struct vr_error *err)
{
	cleanup_free char *summary =
		xasprintf("VM %s has ended", s->p->vm.name);

	notifier_send(&s->notes, s->p->vm.run_as, summary, err->msg);
}

static void teardown(struct sup *s, const struct run_opts *o, int *code,
		     struct vr_error *err)
{
	const char *reason = clients_reason_name(*code);
	struct vr_error e = {0};

	if (o->notify)
		runtime_notify("STOPPING=1");
	if (*code == VM_EXIT_CRASH || *code == VM_EXIT_PANIC)
		ended_badly(s, err);
	hooks_cancel(&s->hook, "the VM has ended");
	if (hooks_phase(s, "pre-stop", reason, &e))
		log_warn("%s", e.msg);
	/* what hooks left running goes before the host is given back */
	hooks_end_groups(&s->hook_groups);
	qmp_close(s->qmp);
	s->qmp = NULL;
	log_info("giving the host back");
	if (engine_undo(&s->vm->plan, &e)) {
		if (*code)
			vr_error_append(err, "%s", e.msg);
		else
			vr_errorx(err, VM_EXIT_RESTORE, "%s", e.msg);
		vr_error_append(err,
				"run `vmrun restore %s` once the cause "
				"is fixed",
				s->p->vm.name);
		*code = VM_EXIT_RESTORE;
	}
	vr_error_clear(&e);
	if (hooks_phase(s, "post-stop", reason, &e))
		log_warn("%s", e.msg);
	hooks_end_groups(&s->hook_groups);
	notifier_end(&s->notes);
}

/* The pre-start hooks; when one fails (or a signal stops it) the host is
 * put back and the start ends. */
static int pre_start(struct sup *s, int *code, struct vr_error *err)
{
	struct vr_error e = {0};

	if (!hooks_phase(s, "pre-start", NULL, err))
		return 0;
	hooks_end_groups(&s->hook_groups);
	if (engine_undo(&s->vm->plan, &e)) {
		vr_error_append(err, "%s", e.msg);
		*code = VM_EXIT_RESTORE;
	}
	return -1;
}

int supervise_run(struct vm *vm, struct run_opts *o, struct vr_error *err)
{
	struct sup s = {.vm = vm,
			.p = &vm->profile,
			.opts = o,
			.out = {.fd = -1},
			.qemu_pidfd = -1,
			.sigfd = -1,
			.ctl = -1,
			.state = "starting"};
	const char *name = vm->profile.vm.name;
	struct saved_signals old;
	int lock = -1, code = VM_EXIT_ERROR;

	if (lock_take(name, &lock, err))
		return VM_EXIT_ERROR;
	if (engine_restore(name, err)) {
		vr_error_prefix(
			err, "undo what an earlier vmrun of '%s' left behind",
			name);
		code = VM_EXIT_RESTORE;
		goto unlock;
	}
	if (runtime_prepare(vm, err))
		goto unlock;
	s.sigfd = block_signals(&old, err);
	if (s.sigfd < 0)
		goto unlock;
	log_info("preparing the host (%zu changes)", vm->plan.nops);
	if (engine_apply(&vm->plan, err))
		goto signals;
	if (pre_start(&s, &code, err))
		goto signals;
	code = run_prepared(&s, o, err);
	teardown(&s, o, &code, err);
      signals:
	if (s.ctl >= 0)
		close(s.ctl);
	if (s.qemu_pidfd >= 0)
		close(s.qemu_pidfd);
	echo_close(&s.out);
	drain_signals(s.sigfd);
	close(s.sigfd);
	unblock_signals(&old);
unlock:
	lock_release(name, lock);
	/* Last: a `vmrun stop` that hears this may start the VM again. */
	clients_tell(&s, code, code ? err->msg : "the guest powered off");
	return code;
}
