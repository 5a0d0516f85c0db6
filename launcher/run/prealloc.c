/* prealloc.c: the wait for QEMU while it preallocates guest RAM. With
 * prealloc=on QEMU touches every hugepage before its monitor greets us:
 * about a second per 5 GiB and thread, seconds for a big guest, with
 * nothing else to show. A terminal gets a progress line (elapsed against
 * an estimate from the size); the log gets the time it took. */
#include "run/supervisor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Rough touch rate of one thread, MiB per millisecond (5 GiB/s). */
#define TOUCH_MIB_PER_MS 5
/* Draw the line only for starts that are noticeable. */
#define SHOW_AFTER_MS 500

static int64_t estimate_ms(const struct sup *s)
{
	uint64_t mib = s->p->vm.memory / MIB;
	unsigned threads = s->vm->plan.prealloc_threads;

	return 200 + (int64_t)(mib / (TOUCH_MIB_PER_MS * threads));
}

/* A signal that ends the start, or 0 (SIGCHLD: QEMU's end shows on the
 * monitor as EOF, which the handshake reports). */
static int read_signal(int sigfd)
{
	struct signalfd_siginfo si;

	if (read(sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return si.ssi_signo == SIGCHLD ? 0 : (int)si.ssi_signo;
}

static void show(int64_t elapsed, int64_t est)
{
	if (elapsed < SHOW_AFTER_MS || !log_progress_enabled())
		return;
	if (elapsed >= est)
		est = elapsed + 1000;
	log_progress("preallocating guest RAM",
		     (unsigned long long)(elapsed / 1000),
		     (unsigned long long)((est + 999) / 1000), "s");
}

int prealloc_wait(struct sup *s, int qmp_fd, struct vr_error *err)
{
	int64_t start = now_ms(), est, elapsed = 0;
	struct pollfd fds[4];
	int sig = 0;

	if (!s->vm->plan.prealloc_threads)
		return 0;
	est = estimate_ms(s);
	for (;;) {
		fds[0] = (struct pollfd){qmp_fd, POLLIN, 0};
		fds[1] = (struct pollfd){s->sigfd, POLLIN, 0};
		fds[2] = (struct pollfd){s->qemu_pidfd, POLLIN, 0};
		fds[3] = (struct pollfd){s->out.fd, POLLIN, 0};
		if (poll(fds, 4, 250) < 0 && errno != EINTR)
			return vr_error(err, errno, "poll");
		if (fds[3].revents)
			echo_read(&s->out);
		elapsed = now_ms() - start;
		if (fds[0].revents || fds[2].revents)
			break;
		if (fds[1].revents && (sig = read_signal(s->sigfd)))
			break;
		if (elapsed > 60000 + 10 * est)
			break;
		show(elapsed, est);
	}
	log_progress_done();
	if (sig)
		return vr_errorx(err, EINTR,
				 "%s while QEMU preallocated guest RAM",
				 strsignal(sig));
	if (!fds[0].revents && !fds[2].revents)
		return vr_errorx(err, ETIMEDOUT,
				 "QEMU did not finish preallocating %llu MiB "
				 "of guest RAM within %lld s",
				 (unsigned long long)(s->p->vm.memory / MIB),
				 (long long)(elapsed / 1000));
	log_info("guest RAM (%llu MiB) preallocated by %u thread%s in "
		 "%lld.%02lld s",
		 (unsigned long long)(s->p->vm.memory / MIB),
		 s->vm->plan.prealloc_threads,
		 s->vm->plan.prealloc_threads == 1 ? "" : "s",
		 (long long)(elapsed / 1000), (long long)(elapsed % 1000 / 10));
	return 0;
}
