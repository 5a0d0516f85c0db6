/* log.h: what vmrun tells the person or the journal: one line per phase on
 * a terminal (colour only on a TTY), plain lines when detached, lines with
 * their syslog priority ("<3>") when stderr is the journal, and a copy of
 * everything in the VM's log file when one is open. */
#ifndef VMRUN_LOG_H
#define VMRUN_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG
};

/* -q: errors and warnings only; -v: debug lines too (QMP traffic). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Also write every line, with a timestamp, to this file (not owned). */
void log_set_file(FILE *f);
FILE *log_get_file(void);
/* Detached or under systemd: stderr is a log, so stamp each line. */
void log_set_timestamps(bool on);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "vmrun: MSG" without the level's tag or colour, but with its priority
 * in the journal: main's last word, the error that ends a command. */
void log_plain(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A progress line on a terminal ("hugepages  [#####     ] 512/1024"),
 * redrawn in place; nothing when stderr is not a TTY or -q. done ends it. */
void log_progress(const char *what, unsigned long long cur,
		  unsigned long long total, const char *unit);
void log_progress_done(void);
/* Whether log_progress draws anything (a terminal, not -q). */
bool log_progress_enabled(void);

#endif
