/* echo.c: QEMU's stdout and stderr through a pipe vmrun reads, so its
 * last words can be traced back to the profile when it will not start. */
#include "run/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads per echo_read(): a QEMU that writes without pause cannot keep
 * the loop from everything else. */
#define ECHO_READS 16

int echo_open(struct echo *e, int *wfd, struct vr_error *err)
{
	int fds[2];

	memset(e, 0, sizeof(*e));
	e->fd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return vr_error(err, errno, "pipe for QEMU's output");
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	e->fd = fds[0];
	*wfd = fds[1];
	return 0;
}

/* Pass a line on as QEMU wrote it: to vmrun's stderr (a terminal, the VM
 * log when detached, the journal), and to the VM log when that is a file
 * of its own. */
static void pass_on(struct echo *e)
{
	FILE *log = log_get_file();

	if (!e->len)
		return;
	log_progress_done();
	if (fwrite(e->line, 1, e->len, stderr) != e->len)
		clearerr(stderr); /* its reader is gone: QEMU goes on */
	if (log) {
		fwrite(e->line, 1, e->len, log);
		fflush(log);
	}
	e->len = 0;
}

static void keep(struct echo *e, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		e->tail[e->head++] = buf[i];
		if (e->head == sizeof(e->tail)) {
			e->head = 0;
			e->wrapped = true;
		}
		e->line[e->len++] = buf[i];
		if (buf[i] == '\n' || e->len == sizeof(e->line))
			pass_on(e);
	}
}

/* Read what is there, ECHO_READS times at most: true when there may be
 * more. At EOF (QEMU and anything it started are gone) the pipe is
 * closed. */
static bool read_some(struct echo *e)
{
	char buf[4096];
	ssize_t n;

	for (int i = 0; e->fd >= 0 && i < ECHO_READS; i++) {
		n = read(e->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0) {
			close(e->fd);
			e->fd = -1;
			return false;
		}
		keep(e, buf, (size_t)n);
	}
	return e->fd >= 0;
}

int echo_read(struct echo *e)
{
	read_some(e);
	return e->fd;
}

int echo_watch(void *e)
{
	return echo_read(e);
}

void echo_drain(struct echo *e)
{
	/* QEMU was reaped: all it wrote is in the pipe (a child of its that
	 * still holds the pipe does not keep us here: EAGAIN ends it) */
	while (read_some(e))
		;
	if (e->len && e->line[e->len - 1] != '\n')
		keep(e, "\n", 1);
	pass_on(e);
}

char *echo_text(const struct echo *e)
{
	size_t first = e->wrapped ? sizeof(e->tail) - e->head : 0;
	char *s = xcalloc(1, sizeof(e->tail) + 1), *nl;

	if (e->wrapped)
		memcpy(s, e->tail + e->head, first);
	memcpy(s + first, e->tail, e->head);
	if (!e->wrapped)
		return s;
	/* the oldest line was cut: start after it */
	nl = strchr(s, '\n');
	if (nl)
		memmove(s, nl + 1, strlen(nl + 1) + 1);
	return s;
}

void echo_close(struct echo *e)
{
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
}
