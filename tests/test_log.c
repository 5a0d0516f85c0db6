/* test_log.c: what launcher/log.c writes to stderr: syslog priorities
 * ("<3>" ...) when stderr is the journal's stream, nothing extra and no
 * escape codes when it is a plain file, colour only on a terminal. */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"

static char path[] = "/tmp/vmrun-test-log.XXXXXX";
static int saved_stderr = -1;

/* stderr to a new temporary file (and JOURNAL_STREAM at it when asked) */
static int capture(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	unsetenv("NO_COLOR");
	log_set_level(LOG_DEBUG);
	return 0;
}

static int restore(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	unsetenv("JOURNAL_STREAM");
	log_set_level(LOG_INFO);
	return 0;
}

/* JOURNAL_STREAM=DEV:INO of the file FD is open on */
static void journal_stream(int fd)
{
	struct stat st;
	char buf[64];

	assert_int_equal(fstat(fd, &st), 0);
	snprintf(buf, sizeof(buf), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", buf, 1);
}

static void all_levels(void)
{
	log_error("disk %s is missing", "a.img");
	log_warn("no hugepages");
	log_info("starting %s", "qemu");
	log_debug("QMP event %s", "STOP");
	log_plain(LOG_ERROR, "QEMU was killed by signal %d", 9);
}

static void expect_output(const char *want)
{
	char got[1024];
	ssize_t n;
	int fd;

	fflush(stderr);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	assert_true(n >= 0);
	got[n] = '\0';
	/* the terminal back first, so that a failure is shown */
	dup2(saved_stderr, STDERR_FILENO);
	assert_string_equal(got, want);
}

static const char *const plain = "vmrun: error: disk a.img is missing\n"
				 "vmrun: warning: no hugepages\n"
				 "vmrun: starting qemu\n"
				 "vmrun: QMP event STOP\n"
				 "vmrun: QEMU was killed by signal 9\n";

/* sd-daemon(3): stderr is the journal's stream; each line its priority */
static void test_journal_priorities(void **state)
{
	(void)state;
	journal_stream(STDERR_FILENO);
	all_levels();
	expect_output("<3>vmrun: error: disk a.img is missing\n"
		      "<4>vmrun: warning: no hugepages\n"
		      "<6>vmrun: starting qemu\n"
		      "<7>vmrun: QMP event STOP\n"
		      "<3>vmrun: QEMU was killed by signal 9\n");
}

/* a file, with or without a JOURNAL_STREAM that is not it: plain lines */
static void test_file_plain(void **state)
{
	(void)state;
	all_levels();
	expect_output(plain);
}

static void test_other_stream_plain(void **state)
{
	int fd = open("/dev/null", O_WRONLY);

	(void)state;
	journal_stream(fd);
	close(fd);
	all_levels();
	expect_output(plain);
}

static void test_bad_stream_plain(void **state)
{
	(void)state;
	setenv("JOURNAL_STREAM", "journal", 1);
	all_levels();
	expect_output(plain);
}

/* Colour on a terminal, none once stderr is a file: a detached vmrun
 * warns on the terminal, then writes the VM log through stderr. */
static void test_colour_only_on_a_terminal(void **state)
{
	int tty_fd, file_fd, pty = posix_openpt(O_RDWR | O_NOCTTY);
	char buf[256] = "";
	ssize_t n;

	(void)state;
	assert_true(pty >= 0);
	assert_int_equal(grantpt(pty), 0);
	assert_int_equal(unlockpt(pty), 0);
	tty_fd = open(ptsname(pty), O_RDWR | O_NOCTTY);
	assert_true(tty_fd >= 0);
	file_fd = dup(STDERR_FILENO);
	dup2(tty_fd, STDERR_FILENO);
	log_warn("on the terminal");
	fflush(stderr);
	/* stderr is unbuffered: the line may come in pieces */
	for (size_t len = 0; !strchr(buf, '\n'); len += (size_t)n) {
		struct pollfd pfd = {.fd = pty, .events = POLLIN};

		assert_int_equal(poll(&pfd, 1, 2000), 1);
		n = read(pty, buf + len, sizeof(buf) - 1 - len);
		assert_true(n > 0);
		buf[len + (size_t)n] = '\0';
	}
	assert_non_null(strstr(buf, "\033[1;33mwarning: on the terminal"));
	dup2(file_fd, STDERR_FILENO);
	close(file_fd);
	close(tty_fd);
	close(pty);
	log_warn("in the log");
	log_error("in the log");
	expect_output("vmrun: warning: in the log\n"
		      "vmrun: error: in the log\n");
}

int main(void)
{
	/* the terminal first: a decision cached at the first line would
	 * colour the lines of the file after it */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_colour_only_on_a_terminal,
						capture, restore),
		cmocka_unit_test_setup_teardown(test_journal_priorities,
						capture, restore),
		cmocka_unit_test_setup_teardown(test_file_plain, capture,
						restore),
		cmocka_unit_test_setup_teardown(test_other_stream_plain,
						capture, restore),
		cmocka_unit_test_setup_teardown(test_bad_stream_plain, capture,
						restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
