/* test_engine.c: the plan engine with a fake op type whose "host" is files
 * in a temporary root: order, journal, rollback, undo, restore, locks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/ops.h"
#include "host/host.h"
#include "engine/engine.h"
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define JOURNAL "/run/vmrun/t.json"

static char calls[1024];       /* "save:a apply:a undo:a " */
static const char *fail_save;  /* key whose save fails */
static const char *fail_apply; /* key whose apply fails half-way */
static const char *fail_undo;  /* key whose undo fails */
static bool journal_checked;   /* apply saw its own entry "applying" */
static struct profile prof;

static void record(const char *what, const struct op *op)
{
	size_t n = strlen(calls);

	snprintf(calls + n, sizeof(calls) - n, "%s:%s ", what,
		 op_arg(op, "key"));
}

static char *fake_path(const struct op *op)
{
	return xasprintf("/sys/fake/%s", op_arg(op, "key"));
}

static int fake_set(const struct op *op, const char *value,
		    struct vr_error *err)
{
	char *abs = fake_path(op);
	char *path = hostfs_path(abs);
	FILE *f = fopen(path, "w");
	int r = 0;

	if (!f || fputs(value, f) < 0)
		r = vr_error(err, errno, "write %s", path);
	if (f)
		fclose(f);
	free(path);
	free(abs);
	return r;
}

static int fake_save(struct op *op, struct vr_error *err)
{
	char *abs = fake_path(op);
	char buf[64];
	int r;

	record("save", op);
	if (fail_save && !strcmp(fail_save, op_arg(op, "key"))) {
		free(abs);
		return vr_errorx(err, EIO, "cannot read %s", op_arg(op, "key"));
	}
	r = hostfs_read(abs, buf, sizeof(buf), err);
	free(abs);
	if (r)
		return r;
	op->saved = json_object_new_object();
	json_object_object_add(op->saved, "value", json_object_new_string(buf));
	return 0;
}

/* The journal must already hold this op, "applying", with its saved
 * value, when apply is called. */
static void check_journal(const struct op *op)
{
	char *path = hostfs_path(JOURNAL);
	json_object *j = json_object_from_file(path), *ops, *last, *v;
	size_t n;

	free(path);
	if (!j)
		return;
	if (json_object_object_get_ex(j, "ops", &ops) &&
	    (n = json_object_array_length(ops)) > 0) {
		last = json_object_array_get_idx(ops, n - 1);
		journal_checked =
			json_object_object_get_ex(last, "state", &v) &&
			!strcmp(json_object_get_string(v), "applying") &&
			json_object_object_get_ex(last, "saved", &v) &&
			json_object_object_get_ex(v, "value", &v) &&
			!strcmp(json_object_get_string(v),
				op_saved(op, "value"));
	}
	json_object_put(j);
}

static int fake_apply(struct op *op, struct vr_error *err)
{
	record("apply", op);
	check_journal(op);
	if (fail_apply && !strcmp(fail_apply, op_arg(op, "key"))) {
		/* Half-applied: the change is made, then it fails. */
		fake_set(op, "half", err);
		return vr_errorx(err, EIO, "device refused");
	}
	return fake_set(op, op_arg(op, "value"), err);
}

static int fake_undo(struct op *op, struct vr_error *err)
{
	record("undo", op);
	if (fail_undo && !strcmp(fail_undo, op_arg(op, "key")))
		return vr_errorx(err, EIO, "still busy");
	if (!op_saved(op, "value"))
		return 0;
	return fake_set(op, op_saved(op, "value"), err);
}

static const struct op_type fake_type = {
	.name = "fake",
	.save = fake_save,
	.apply = fake_apply,
	.undo = fake_undo,
};

/* A change made before it is recorded, like a started process. */
static int made_undo(struct op *op, struct vr_error *err)
{
	(void)err;
	record("undo", op);
	return 0;
}

static const struct op_type made_type = {
	.name = "fake-made",
	.save = op_nothing,
	.apply = op_nothing,
	.undo = made_undo,
	.made_before = true,
};

static void put_file_err(const char *abs, const char *text)
{
	char *path = hostfs_path(abs);
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(path);
}

/* A change several VMs share: /sys/fake/s, "on" while any VM holds it;
 * refresh writes how many hold it. */
static char *shared_key(const struct op *op)
{
	(void)op;
	return xstrdup("fake-s");
}

static int shared_refresh(struct op *op, json_object *holders,
			  struct vr_error *err)
{
	char n[16];

	(void)op;
	record("refresh", op);
	snprintf(n, sizeof(n), "on%d", json_object_object_length(holders));
	put_file_err("/sys/fake/s", n);
	(void)err;
	return 0;
}

static const struct op_type shared_type = {
	.name = "fake-shared",
	.save = fake_save,
	.apply = fake_apply,
	.undo = fake_undo,
	.share_key = shared_key,
	.share_refresh = shared_refresh,
};

static int setup(void **state)
{
	(void)state;
	tl_root_make("test_engine");
	tl_put("/sys/fake/a", "a0", 0644);
	tl_put("/sys/fake/b", "b0", 0644);
	tl_put("/sys/fake/c", "c0", 0644);
	tl_put("/run/.keep", "", 0644);
	calls[0] = '\0';
	fail_save = fail_apply = fail_undo = NULL;
	journal_checked = false;
	memset(&prof, 0, sizeof(prof));
	snprintf(prof.vm.name, sizeof(prof.vm.name), "t");
	assert_int_equal(op_type_register(&fake_type), 0);
	assert_int_equal(op_type_register(&shared_type), 0);
	unsetenv("VMRUN_FAULT_AFTER_OP");
	unsetenv("VMRUN_FAULT_AFTER_UNDO");
	unsetenv("VMRUN_FAULT_JOURNAL_FULL");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_root_remove();
	return 0;
}

static void fake_add(struct plan *plan, const char *key, const char *value)
{
	json_object *args = json_object_new_object();

	json_object_object_add(args, "key", json_object_new_string(key));
	json_object_object_add(args, "value", json_object_new_string(value));
	plan_add(plan, &fake_type, args, "set %s to %s", key, value);
}

static void plan3(struct plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->profile = &prof;
	plan->paths.journal = xstrdup(JOURNAL);
	fake_add(plan, "a", "a1");
	fake_add(plan, "b", "b1");
	fake_add(plan, "c", "c1");
}

static void assert_host_untouched(void)
{
	assert_string_equal(tl_get("/sys/fake/a"), "a0");
	assert_string_equal(tl_get("/sys/fake/b"), "b0");
	assert_string_equal(tl_get("/sys/fake/c"), "c0");
	assert_null(tl_get(JOURNAL));
}

static void test_apply_order_and_undo(void **state)
{
	struct vr_error err = {0};
	struct plan plan;

	(void)state;
	plan3(&plan);
	assert_int_equal(engine_apply(&plan, &err), 0);
	assert_true(journal_checked);
	assert_string_equal(calls, "save:a apply:a save:b apply:b save:c "
				   "apply:c ");
	assert_int_equal(plan.applied, 3);
	assert_string_equal(tl_get("/sys/fake/b"), "b1");
	/* The journal has every op, applied, with what was there. */
	assert_non_null(strstr(tl_get(JOURNAL), "\"applied\""));
	assert_null(strstr(tl_get(JOURNAL), "\"applying\""));
	calls[0] = '\0';
	assert_int_equal(engine_undo(&plan, &err), 0);
	assert_string_equal(calls, "undo:c undo:b undo:a ");
	assert_host_untouched();
	plan_free(&plan);
}

static void test_journal_mode(void **state)
{
	struct vr_error err = {0};
	struct plan plan;
	struct stat st;
	char *path, *dir;

	(void)state;
	plan3(&plan);
	assert_int_equal(engine_apply(&plan, &err), 0);
	path = hostfs_path(JOURNAL);
	dir = hostfs_path("/run/vmrun");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(path);
	free(dir);
	assert_int_equal(engine_undo(&plan, &err), 0);
	plan_free(&plan);
}

static void test_apply_failure_rolls_back(void **state)
{
	struct vr_error err = {0};
	struct plan plan;

	(void)state;
	plan3(&plan);
	fail_apply = "b";
	assert_int_equal(engine_apply(&plan, &err), -EIO);
	/* The failed op is undone too: it may have changed something. */
	assert_string_equal(calls, "save:a apply:a save:b apply:b undo:b "
				   "undo:a ");
	assert_string_equal(err.msg, "set b to b1: device refused\n"
				     "the host was put back as it was");
	assert_host_untouched();
	plan_free(&plan);
}

static void test_save_failure_rolls_back(void **state)
{
	struct vr_error err = {0};
	struct plan plan;

	(void)state;
	plan3(&plan);
	fail_save = "c";
	assert_int_equal(engine_apply(&plan, &err), -EIO);
	/* c was never changed, so it is not undone. */
	assert_string_equal(calls, "save:a apply:a save:b apply:b save:c "
				   "undo:b undo:a ");
	assert_string_equal(err.msg, "set c to c1: cannot read c\n"
				     "the host was put back as it was");
	assert_host_untouched();
	plan_free(&plan);
}

/* /run fills up as a started process is recorded (c "applying", the
 * first write the fault sees): the start stops, and c, which exists
 * already, is undone first, then b and a. */
static void test_journal_full_on_record(void **state)
{
	struct vr_error err = {0};
	struct plan plan;
	json_object *args = json_object_new_object();

	(void)state;
	plan3(&plan);
	plan.nops = 2; /* a and b first, as the planner's ops */
	json_object_put(plan.ops[2].args);
	free(plan.ops[2].desc);
	assert_int_equal(engine_apply(&plan, &err), 0);
	json_object_object_add(args, "key", json_object_new_string("c"));
	plan_add(&plan, &made_type, args, "stop c");
	setenv("VMRUN_FAULT_JOURNAL_FULL", "1", 1);
	calls[0] = '\0';
	assert_int_equal(engine_apply(&plan, &err), -ENOSPC);
	assert_string_equal(calls, "undo:c undo:b undo:a ");
	assert_non_null(strstr(err.msg, "No space left on device"));
	assert_non_null(strstr(err.msg, "the host was put back as it was"));
	assert_null(strstr(err.msg, "could not undo"));
	assert_host_untouched();
	plan_free(&plan);
}

/* /run is full while the host is given back: every change is undone all
 * the same, none is called not undone, and the journal goes. */
static void test_journal_full_in_undo(void **state)
{
	struct vr_error err = {0};
	struct plan plan;

	(void)state;
	plan3(&plan);
	assert_int_equal(engine_apply(&plan, &err), 0);
	setenv("VMRUN_FAULT_JOURNAL_FULL", "1", 1);
	calls[0] = '\0';
	assert_int_equal(engine_undo(&plan, &err), 0);
	assert_string_equal(calls, "undo:c undo:b undo:a ");
	assert_host_untouched();
	plan_free(&plan);
}

/* And when one undo fails meanwhile, only that one is named. */
static void test_journal_full_undo_fails(void **state)
{
	struct vr_error err = {0};
	struct plan plan;

	(void)state;
	plan3(&plan);
	assert_int_equal(engine_apply(&plan, &err), 0);
	setenv("VMRUN_FAULT_JOURNAL_FULL", "2", 1);
	fail_undo = "b";
	assert_int_equal(engine_undo(&plan, &err), -EIO);
	assert_non_null(strstr(err.msg, "could not undo 1 host change;"));
	assert_non_null(strstr(err.msg, "  set b to b1: still busy"));
	assert_null(strstr(err.msg, "set c to"));
	assert_null(strstr(err.msg, "set a to"));
	assert_non_null(strstr(err.msg, "the journal could not be updated"));
	plan_free(&plan);
}

static void test_undo_twice(void **state)
{
	struct vr_error err = {0};
	struct plan plan;

	(void)state;
	plan3(&plan);
	assert_int_equal(engine_apply(&plan, &err), 0);
	assert_int_equal(engine_undo(&plan, &err), 0);
	calls[0] = '\0';
	assert_int_equal(engine_undo(&plan, &err), 0);
	assert_string_equal(calls, "");
	assert_int_equal(engine_restore("t", &err), 0);
	assert_string_equal(calls, "");
	assert_host_untouched();
	plan_free(&plan);
}

static void test_undo_errors_collected(void **state)
{
	struct vr_error err = {0};
	struct plan plan;

	(void)state;
	plan3(&plan);
	assert_int_equal(engine_apply(&plan, &err), 0);
	calls[0] = '\0';
	fail_undo = "b";
	assert_int_equal(engine_undo(&plan, &err), -EIO);
	/* One failure does not stop the others. */
	assert_string_equal(calls, "undo:c undo:b undo:a ");
	assert_string_equal(err.msg,
			    "could not undo 1 host change; the journal "
			    "/run/vmrun/t.json is kept: fix the cause and run "
			    "`vmrun restore t`:\n"
			    "  set b to b1: still busy");
	assert_string_equal(tl_get("/sys/fake/b"), "b1");
	assert_non_null(tl_get(JOURNAL));
	/* The cause is fixed: restore undoes only what is left. */
	fail_undo = NULL;
	calls[0] = '\0';
	assert_int_equal(engine_restore("t", &err), 0);
	assert_string_equal(calls, "undo:b ");
	assert_host_untouched();
	plan_free(&plan);
}

static void put_journal(const char *states[3])
{
	char *text = xasprintf(
		"{\"version\": 1, \"name\": \"t\", \"pid\": 1, \"ops\": ["
		"{\"type\": \"fake\", \"desc\": \"set a\", \"args\": "
		"{\"key\": \"a\", \"value\": \"a1\"}, \"saved\": {\"value\": "
		"\"a0\"}, \"state\": \"%s\"},"
		"{\"type\": \"fake\", \"desc\": \"set b\", \"args\": "
		"{\"key\": \"b\", \"value\": \"b1\"}, \"saved\": {\"value\": "
		"\"b0\"}, \"state\": \"%s\"},"
		"{\"type\": \"fake\", \"desc\": \"set c\", \"args\": "
		"{\"key\": \"c\", \"value\": \"c1\"}, \"saved\": {\"value\": "
		"\"c0\"}, \"state\": \"%s\"}]}",
		states[0], states[1], states[2]);
	char *dir = hostfs_path("/run/vmrun");

	mkdir(dir, 0700);
	free(dir);
	tl_put(JOURNAL, text, 0644);
	free(text);
}

static void test_restore_from_journal(void **state)
{
	const char *states[3] = {"undone", "applied", "applying"};
	struct vr_error err = {0};

	(void)state;
	tl_put("/sys/fake/b", "b1", 0644);
	tl_put("/sys/fake/c", "half", 0644);
	put_journal(states);
	assert_int_equal(engine_restore("t", &err), 0);
	/* "applying" is undone too; "undone" is not undone again. */
	assert_string_equal(calls, "undo:c undo:b ");
	assert_host_untouched();
}

static void test_restore_nothing(void **state)
{
	struct vr_error err = {0};

	(void)state;
	assert_int_equal(engine_restore("t", &err), 0);
	assert_string_equal(calls, "");
	assert_int_equal(engine_restore("../x", &err), -EINVAL);
	assert_string_equal(err.msg, "'../x' is not a VM name ([A-Za-z0-9_-], "
				     "1 to 32 characters)");
}

static void test_restore_bad_journal(void **state)
{
	struct vr_error err = {0};
	char *dir = hostfs_path("/run/vmrun");
	char *want;

	(void)state;
	mkdir(dir, 0700);
	tl_put(JOURNAL, "{\"version\": 1, \"ops\": [", 0644);
	assert_int_equal(engine_restore("t", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "/run/vmrun/t.json: "));
	tl_put(JOURNAL, "[]", 0644);
	assert_int_equal(engine_restore("t", &err), -EINVAL);
	want = xasprintf("%s/run/vmrun/t.json is not a vmrun journal (no "
			 "version or ops)",
			 hostfs_root());
	assert_string_equal(err.msg, want);
	free(want);
	free(dir);
}

/* One entry restore cannot read does not block the others: they are
 * undone, it is reported and kept in the journal as it was. */
static void test_restore_unknown_entry(void **state)
{
	struct vr_error err = {0};
	char *dir = hostfs_path("/run/vmrun");
	json_object *j, *ops, *v;
	char *path;

	(void)state;
	mkdir(dir, 0700);
	tl_put("/sys/fake/a", "a1", 0644);
	tl_put("/sys/fake/b", "b1", 0644);
	tl_put(JOURNAL,
	       "{\"version\": 1, \"ops\": ["
	       "{\"type\": \"fake\", \"desc\": \"set a\", \"args\": "
	       "{\"key\": \"a\"}, \"saved\": {\"value\": \"a0\"}, \"state\": "
	       "\"applied\"},"
	       "{\"type\": \"warp\", \"desc\": \"d\", \"args\": {}, "
	       "\"state\": \"applied\"},"
	       "{\"state\": \"applied\"},"
	       "{\"type\": \"fake\", \"desc\": \"set b\", \"args\": "
	       "{\"key\": \"b\"}, \"saved\": {\"value\": \"b0\"}, \"state\": "
	       "\"applied\"}]}",
	       0644);
	assert_int_equal(engine_restore("t", &err), -EPERM);
	assert_string_equal(calls, "undo:b undo:a ");
	assert_string_equal(tl_get("/sys/fake/a"), "a0");
	assert_string_equal(tl_get("/sys/fake/b"), "b0");
	assert_non_null(strstr(err.msg, "refused 2 journal entries that "
					"name what vmrun never changes; "
					"everything else was undone. The "
					"journal /run/vmrun/t.json is kept"));
	assert_non_null(strstr(err.msg, "\n  entry 2 (d): its type 'warp' is "
					"not one this vmrun knows"));
	assert_non_null(strstr(err.msg, "\n  entry 3: it lacks type, desc, "
					"args or state"));
	/* the journal keeps the unknown entries as they were */
	path = hostfs_path(JOURNAL);
	j = json_object_from_file(path);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "ops", &ops));
	assert_int_equal(json_object_array_length(ops), 4);
	v = json_object_array_get_idx(ops, 1);
	assert_true(json_object_object_get_ex(v, "type", &v));
	assert_string_equal(json_object_get_string(v), "warp");
	json_object_put(j);
	/* again: nothing left to undo but the same two refusals */
	calls[0] = '\0';
	assert_int_equal(engine_restore("t", &err), -EPERM);
	assert_string_equal(calls, "");
	free(path);
	free(dir);
}

/* Each op type checks what a journal entry names before restore undoes
 * it: entries a vmrun of this VM could not have made are refused. */
static void test_restore_checks(void **state)
{
	static const char *const bad[] = {
		"{\"type\": \"cleanup-path\", \"desc\": \"x\", \"args\": "
		"{\"path\": \"/etc/passwd\"}, \"saved\": null, \"state\": "
		"\"applied\"}",
		"{\"type\": \"file\", \"desc\": \"x\", \"args\": "
		"{\"path\": \"/run/vmrun/u-battery.aml\"}, \"saved\": {}, "
		"\"state\": \"applied\"}",
		"{\"type\": \"hugepage-dir\", \"desc\": \"x\", \"args\": "
		"{\"path\": \"/etc\"}, \"saved\": {\"existed\": false}, "
		"\"state\": \"applied\"}",
		"{\"type\": \"chown\", \"desc\": \"x\", \"args\": {\"path\": "
		"\"/usr/bin/passwd\"}, \"saved\": {\"uid\": 1000, \"gid\": 0, "
		"\"mode\": 2541}, \"state\": \"applied\"}",
		"{\"type\": \"chown\", \"desc\": \"x\", \"args\": {\"path\": "
		"\"/dev/vfio/3\"}, \"saved\": {\"uid\": 1000, \"gid\": 0, "
		"\"mode\": 2541}, \"state\": \"applied\"}",
		"{\"type\": \"process\", \"desc\": \"x\", \"args\": {\"what\": "
		"\"QEMU\", \"vm\": \"t\", \"pid\": 1, \"starttime\": 1, "
		"\"grace-ms\": 5}, \"saved\": null, \"state\": \"applied\"}",
		"{\"type\": \"process\", \"desc\": \"x\", \"args\": {\"what\": "
		"\"QEMU\", \"vm\": \"t\", \"pid\": 4000}, \"saved\": null, "
		"\"state\": \"applied\"}",
		"{\"type\": \"claim\", \"desc\": \"x\", \"args\": {\"bdf\": "
		"\"../../etc/passwd\", \"vm\": \"t\"}, \"saved\": {}, "
		"\"state\": \"applied\"}",
		"{\"type\": \"vfio-bind\", \"desc\": \"x\", \"args\": "
		"{\"bdf\": "
		"\"0000:01:00.0\", \"vm\": \"t\"}, \"saved\": null, \"state\": "
		"\"applied\"}",
		"{\"type\": \"shm-file\", \"desc\": \"x\", \"args\": "
		"{\"path\": "
		"\"/dev/shm/../../etc/passwd\"}, \"saved\": {}, \"state\": "
		"\"applied\"}",
		"{\"type\": \"stop-unit\", \"desc\": \"x\", \"args\": "
		"{\"unit\": "
		"\"--now\"}, \"saved\": {\"state\": \"active\"}, \"state\": "
		"\"applied\"}",
		"{\"type\": \"cgroup\", \"desc\": \"x\", \"args\": {\"path\": "
		"\"/sys/fs/cgroup/system.slice\"}, \"saved\": {\"existed\": "
		"false}, \"state\": \"applied\"}",
		"{\"type\": \"tap\", \"desc\": \"x\", \"args\": {\"tap\": "
		"\"eth0\"}, \"saved\": {}, \"state\": \"applied\"}",
		"{\"type\": \"hugetlbfs-mount\", \"desc\": \"x\", \"args\": "
		"{\"path\": \"/dev/hugepages\"}, \"saved\": {}, \"state\": "
		"\"applied\"}",
	};
	char *dir = hostfs_path("/run/vmrun");
	struct vr_error err = {0};

	(void)state;
	mkdir(dir, 0700);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *text =
			xasprintf("{\"version\": 1, \"ops\": [%s]}", bad[i]);

		tl_put(JOURNAL, text, 0644);
		vr_error_clear(&err);
		if (engine_restore("t", &err) != -EPERM)
			fail_msg("entry %zu was not refused: %s", i, bad[i]);
		assert_non_null(strstr(err.msg, "refused 1 journal entry"));
		assert_non_null(tl_get(JOURNAL));
		free(text);
	}
	assert_non_null(strstr(err.msg, "a hugetlbfs-mount entry that unmounts "
					"and removes /dev/hugepages"));
	free(dir);
}

/* A vfio-bind whose saved drivers are missing says how to give the device
 * back, instead of calling it undone. */
static void test_restore_vfio_no_saved(void **state)
{
	char *dir = hostfs_path("/run/vmrun");
	struct vr_error err = {0};

	(void)state;
	mkdir(dir, 0700);
	tl_put(JOURNAL,
	       "{\"version\": 1, \"ops\": [{\"type\": \"vfio-bind\", "
	       "\"desc\": \"bind 0000:01:00.0 to vfio-pci\", \"args\": "
	       "{\"bdf\": \"0000:01:00.0\", \"vm\": \"t\"}, \"saved\": null, "
	       "\"state\": \"applied\"}]}",
	       0644);
	assert_int_equal(engine_restore("t", &err), -EPERM);
	assert_non_null(strstr(
		err.msg, "  bind 0000:01:00.0 to vfio-pci: 0000:01:00.0: the "
			 "journal does not say which driver it had (saved: "
			 "null), so vmrun cannot give it back. If it is still "
			 "on vfio-pci, give it to the kernel's choice of "
			 "driver: echo > /sys/bus/pci/devices/0000:01:00.0/"
			 "driver_override;"));
	assert_non_null(tl_get(JOURNAL));
	free(dir);
}

/* Kill a child vmrun after op k, then restore in the parent. */
static void fault_after_op(int k)
{
	struct vr_error err = {0};
	struct plan plan;
	char num[16];
	int status;
	pid_t pid;

	plan3(&plan);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		snprintf(num, sizeof(num), "%d", k);
		setenv("VMRUN_FAULT_AFTER_OP", num, 1);
		engine_apply(&plan, &err);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_string_equal(tl_get("/sys/fake/a"), "a1");
	assert_string_equal(tl_get("/sys/fake/c"), k >= 3 ? "c1" : "c0");
	assert_int_equal(engine_restore("t", &err), 0);
	assert_host_untouched();
	plan_free(&plan);
}

static void test_fault_after_op(void **state)
{
	(void)state;
	for (int k = 1; k <= 3; k++)
		fault_after_op(k);
}

static void test_fault_after_undo(void **state)
{
	struct vr_error err = {0};
	struct plan plan;
	int status;
	pid_t pid;

	(void)state;
	plan3(&plan);
	assert_int_equal(engine_apply(&plan, &err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("VMRUN_FAULT_AFTER_UNDO", "2", 1);
		engine_undo(&plan, &err);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_string_equal(tl_get("/sys/fake/a"), "a1");
	assert_string_equal(tl_get("/sys/fake/b"), "b0");
	calls[0] = '\0';
	assert_int_equal(engine_restore("t", &err), 0);
	/* The restore resumes: c and b were marked undone already. */
	assert_string_equal(calls, "undo:a ");
	assert_host_untouched();
	plan_free(&plan);
}

static void test_lock(void **state)
{
	struct vr_error err = {0};
	char *want;
	int fd, fd2;

	(void)state;
	assert_int_equal(lock_take("t", &fd, &err), 0);
	assert_true(fd >= 0);
	/* A second vmrun (another open file description) is refused. */
	assert_int_equal(lock_take("t", &fd2, &err), -EBUSY);
	assert_int_equal(fd2, -1);
	want = xasprintf("VM 't' is already being run by vmrun (pid %ld)",
			 (long)getpid());
	assert_string_equal(err.msg, want);
	free(want);
	/* Other VMs are not affected. */
	assert_int_equal(lock_take("u", &fd2, &err), 0);
	lock_release("u", fd2);
	lock_release("t", fd);
	assert_null(tl_get("/run/vmrun/t.lock"));
	assert_int_equal(lock_take("t", &fd, &err), 0);
	lock_release("t", fd);
}

static void claim_add(struct plan *plan, const char *bdf)
{
	struct profile_pci pci = {0};

	memset(plan, 0, sizeof(*plan));
	plan->profile = &prof;
	plan->paths.journal = xstrdup(JOURNAL);
	assert_int_equal(pci_addr_parse(bdf, &pci.host), 0);
	prof.pci = &pci;
	prof.npci = 1;
	claim_plan(plan, &prof);
	prof.pci = NULL;
	prof.npci = 0;
}

static void test_claims(void **state)
{
	struct vr_error err = {0};
	struct plan plan;
	char *text, *want;
	pid_t other;
	int status;

	(void)state;
	other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(host_mkdir("/run/vmrun/claims", 0700, &err), 0);
	text = xasprintf("other %ld\n", (long)other);
	tl_put("/run/vmrun/claims/0000:08:00.0", text, 0644);
	/* Claimed by a live vmrun of another VM. */
	assert_int_equal(claim_check("0000:08:00.0", "t", &err), -EBUSY);
	want = xasprintf("0000:08:00.0 is in use by VM 'other' (vmrun pid "
			 "%ld): stop it first (vmrun stop other)",
			 (long)other);
	assert_string_equal(err.msg, want);
	assert_int_equal(claim_check("0000:08:00.0", "other", &err), 0);
	claim_add(&plan, "0000:08:00.0");
	assert_int_equal(engine_apply(&plan, &err), -EBUSY);
	assert_string_equal(tl_get("/run/vmrun/claims/0000:08:00.0"), text);
	assert_null(tl_get(JOURNAL));
	/* It dies: the claim is stale and replaced. */
	kill(other, SIGKILL);
	waitpid(other, &status, 0);
	assert_int_equal(claim_check("0000:08:00.0", "t", &err), 0);
	assert_int_equal(engine_apply(&plan, &err), 0);
	free(want);
	want = xasprintf("t %ld\n", (long)getpid());
	assert_string_equal(tl_get("/run/vmrun/claims/0000:08:00.0"), want);
	assert_int_equal(engine_undo(&plan, &err), 0);
	assert_null(tl_get("/run/vmrun/claims/0000:08:00.0"));
	plan_free(&plan);
	/* Undo leaves a claim another VM took meanwhile alone. */
	claim_add(&plan, "0000:08:00.0");
	assert_int_equal(engine_apply(&plan, &err), 0);
	tl_put("/run/vmrun/claims/0000:08:00.0", text, 0644);
	assert_int_equal(engine_undo(&plan, &err), 0);
	assert_string_equal(tl_get("/run/vmrun/claims/0000:08:00.0"), text);
	plan_free(&plan);
	free(want);
	free(text);
}

/* A VM's claims are taken together: with one of them held by another
 * live VM, none is, and the message names the one in use; the Looking
 * Glass file is claimed like a device. */
static void test_claims_all_or_none(void **state)
{
	struct profile_pci pci[2] = {0};
	struct vr_error err = {0};
	struct plan plan = {0};
	char *text;
	pid_t other = fork();
	int status;

	(void)state;
	assert_true(other >= 0);
	if (other == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(host_mkdir("/run/vmrun/claims", 0700, &err), 0);
	text = xasprintf("other %ld\n", (long)other);
	tl_put("/run/vmrun/claims/0000:08:00.1", text, 0644);
	tl_put("/run/vmrun/claims/file%2Fdev%2Fshm%2Flg", text, 0644);
	plan.profile = &prof;
	plan.paths.journal = xstrdup(JOURNAL);
	assert_int_equal(pci_addr_parse("08:00.0", &pci[0].host), 0);
	assert_int_equal(pci_addr_parse("08:00.1", &pci[1].host), 0);
	prof.pci = pci;
	prof.npci = 2;
	prof.lg.enabled = true;
	prof.lg.device = "/dev/shm/lg";
	claim_plan(&plan, &prof);
	assert_int_equal(plan.nops, 1);
	assert_string_equal(plan.ops[0].desc,
			    "claim 0000:08:00.0, 0000:08:00.1, /dev/shm/lg "
			    "for VM 't'");
	assert_int_equal(engine_apply(&plan, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "0000:08:00.1 is in use by VM "
					"'other'"));
	assert_non_null(strstr(err.msg, "/dev/shm/lg is in use by VM "
					"'other'"));
	assert_null(tl_get("/run/vmrun/claims/0000:08:00.0"));
	assert_int_equal(claim_check_file("/dev/shm/lg", "t", &err), -EBUSY);
	kill(other, SIGKILL);
	waitpid(other, &status, 0);
	assert_int_equal(engine_apply(&plan, &err), 0);
	assert_non_null(tl_get("/run/vmrun/claims/0000:08:00.0"));
	assert_non_null(tl_get("/run/vmrun/claims/file%2Fdev%2Fshm%2Flg"));
	assert_int_equal(engine_undo(&plan, &err), 0);
	assert_null(tl_get("/run/vmrun/claims/0000:08:00.1"));
	assert_null(tl_get("/run/vmrun/host.lock"));
	prof.pci = NULL;
	prof.npci = 0;
	prof.lg.enabled = false;
	prof.lg.device = NULL;
	plan_free(&plan);
	free(text);
}

static void shared_plan(struct plan *plan, struct profile *pr, const char *name)
{
	json_object *args = json_object_new_object();

	memset(pr, 0, sizeof(*pr));
	snprintf(pr->vm.name, sizeof(pr->vm.name), "%s", name);
	memset(plan, 0, sizeof(*plan));
	plan->profile = pr;
	plan->paths.journal = xasprintf("/run/vmrun/%s.json", name);
	json_object_object_add(args, "key", json_object_new_string("s"));
	json_object_object_add(args, "value", json_object_new_string("on"));
	plan_add(plan, &shared_type, args, "turn s on");
}

/* Two VMs hold one change: the first applies it, the second joins, the
 * host keeps it while either runs, in both end orders, and only the last
 * one puts the original back; the record goes with it. */
static void test_shared_change(void **state)
{
	struct vr_error err = {0};
	struct profile pa, pb;
	struct plan a, b;

	(void)state;
	for (int order = 0; order < 2; order++) {
		tl_put("/sys/fake/s", "off", 0644);
		shared_plan(&a, &pa, "t");
		shared_plan(&b, &pb, "u");
		calls[0] = '\0';
		assert_int_equal(engine_apply(&a, &err), 0);
		assert_string_equal(tl_get("/sys/fake/s"), "on");
		assert_int_equal(engine_apply(&b, &err), 0);
		assert_string_equal(calls, "save:s apply:s refresh:s ");
		assert_string_equal(tl_get("/sys/fake/s"), "on2");
		assert_non_null(tl_get("/run/vmrun/shared/fake-s.json"));
		calls[0] = '\0';
		assert_int_equal(engine_undo(order ? &b : &a, &err), 0);
		assert_string_equal(calls, "refresh:s ");
		assert_string_equal(tl_get("/sys/fake/s"), "on1");
		assert_int_equal(engine_undo(order ? &a : &b, &err), 0);
		assert_string_equal(calls, "refresh:s undo:s ");
		assert_string_equal(tl_get("/sys/fake/s"), "off");
		assert_null(tl_get("/run/vmrun/shared/fake-s.json"));
		plan_free(&a);
		plan_free(&b);
	}
}

/* A VM that joined and died leaves at its restore; a holder whose
 * journal is gone holds nothing. */
static void test_shared_restore(void **state)
{
	struct vr_error err = {0};
	struct profile pa, pb;
	struct plan a, b;

	(void)state;
	tl_put("/sys/fake/s", "off", 0644);
	shared_plan(&a, &pa, "t");
	shared_plan(&b, &pb, "u");
	assert_int_equal(engine_apply(&a, &err), 0);
	assert_int_equal(engine_apply(&b, &err), 0);
	/* u's vmrun dies: its journal stays, and so does its hold */
	assert_int_equal(engine_undo(&a, &err), 0);
	assert_string_equal(tl_get("/sys/fake/s"), "on1");
	assert_int_equal(engine_restore("u", &err), 0);
	assert_string_equal(tl_get("/sys/fake/s"), "off");
	assert_null(tl_get("/run/vmrun/shared/fake-s.json"));
	plan_free(&a);
	plan_free(&b);
	/* t holds it, u's journal is removed by hand: t is the last */
	shared_plan(&a, &pa, "t");
	shared_plan(&b, &pb, "u");
	assert_int_equal(engine_apply(&b, &err), 0);
	assert_int_equal(engine_apply(&a, &err), 0);
	assert_int_equal(journal_remove("/run/vmrun/u.json", &err), 0);
	assert_int_equal(engine_undo(&a, &err), 0);
	assert_string_equal(tl_get("/sys/fake/s"), "off");
	plan_free(&a);
	plan_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_order_and_undo,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_mode, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apply_failure_rolls_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_failure_rolls_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_full_on_record,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_full_in_undo,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_full_undo_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_twice, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_undo_errors_collected,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_from_journal,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore_bad_journal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore_unknown_entry,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_checks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore_vfio_no_saved,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_after_op, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_after_undo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims_all_or_none, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shared_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shared_restore, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
