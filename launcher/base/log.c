/* log.c: terminal, journal and log-file output of vmrun. Library code
 * reports errors through struct vr_error; this is for progress and warnings. */
#include "base/base.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level level = LOG_INFO;
static FILE *logfile;
static bool progress_shown;
static bool timestamps;

void log_set_timestamps(bool on)
{
	timestamps = on;
}

void log_set_level(enum log_level l)
{
	level = l;
}

enum log_level log_get_level(void)
{
	return level;
}

void log_set_file(FILE *f)
{
	logfile = f;
}

FILE *log_get_file(void)
{
	return logfile;
}

/* Asked for each line, not once: a detached vmrun warns on the terminal,
 * then points stderr at the VM log. */
static bool tty(void)
{
	return isatty(STDERR_FILENO) && !getenv("NO_COLOR");
}

/* sd-daemon(3): stderr is the journal's stream when $JOURNAL_STREAM names
 * its device and inode; then "<N>" in front of a line gives it syslog
 * priority N (a child's stderr may be elsewhere with the variable set). */
static bool journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	return env && sscanf(env, "%llu:%llu%n", &dev, &ino, &end) == 2 &&
	       !env[end] && !fstat(STDERR_FILENO, &st) &&
	       (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static void priority(enum log_level l)
{
	static const char *const prio[] = {"<3>", "<4>", "<6>", "<7>"};

	if (journal())
		fputs(prio[l], stderr);
}

static void stamp(FILE *f)
{
	struct timespec ts;
	struct tm tm;
	char buf[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s.%03ld ", buf, ts.tv_nsec / 1000000);
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	static const char *const tag[] = {"error: ", "warning: ", "", ""};
	static const char *const colour[] = {"\033[1;31m", "\033[1;33m", "",
					     "\033[2m"};
	va_list ap;

	if (logfile) {
		stamp(logfile);
		fputs(tag[l], logfile);
		va_start(ap, fmt);
		vfprintf(logfile, fmt, ap);
		va_end(ap);
		fputc('\n', logfile);
		fflush(logfile);
	}
	if (l > level)
		return;
	log_progress_done();
	priority(l);
	if (timestamps)
		stamp(stderr);
	fputs("vmrun: ", stderr);
	if (tty() && *colour[l])
		fputs(colour[l], stderr);
	fputs(tag[l], stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (tty() && *colour[l])
		fputs("\033[0m", stderr);
	fputc('\n', stderr);
}

void log_plain(enum log_level l, const char *fmt, ...)
{
	va_list ap;

	log_progress_done();
	priority(l);
	fputs("vmrun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool log_progress_enabled(void)
{
	return tty() && level >= LOG_INFO;
}

void log_progress(const char *what, unsigned long long cur,
		  unsigned long long total, const char *unit)
{
	char bar[31];
	size_t fill;

	if (!log_progress_enabled() || !total)
		return;
	fill = (size_t)(cur * 30 / total);
	if (fill > 30)
		fill = 30;
	memset(bar, '#', fill);
	memset(bar + fill, ' ', 30 - fill);
	bar[30] = '\0';
	fprintf(stderr, "\r\033[Kvmrun: %-12s [%s] %llu/%llu %s", what, bar,
		cur, total, unit);
	fflush(stderr);
	progress_shown = true;
}

void log_progress_done(void)
{
	if (!progress_shown)
		return;
	fputs("\r\033[K", stderr);
	progress_shown = false;
}
