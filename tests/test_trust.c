/* test_trust.c: the trust rule on real files and folders of various modes
 * and owners (run as root; "another user" is nobody), and the policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host/host.h"
#include "testlib.h"

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static char base[64];
static uid_t nobody = 65534;
static gid_t nogroup = 65534;

static char *at(const char *rel)
{
	return xasprintf("%s/%s", base, rel);
}

static void mkfile(const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
	cleanup_free char *p = at(rel);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs("[vm]\n", f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	assert_int_equal(chown(p, uid, gid), 0);
}

static void mkfolder(const char *rel, mode_t mode, uid_t uid)
{
	cleanup_free char *p = at(rel);

	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, mode), 0);
	assert_int_equal(chown(p, uid, 0), 0);
}

/* The problems of base/rel, as one string (lines joined by '|'). */
static char *problems(const char *rel, uid_t uid)
{
	cleanup_free char *p = rel[0] == '/' ? xstrdup(rel) : at(rel);
	struct strv out = {0};
	char *all = xstrdup("");

	trust_path_problems(p, "the profile", uid, &out);
	for (size_t i = 0; i < out.n; i++) {
		char *next = xasprintf("%s%s%s", all, i ? "|" : "", out.v[i]);

		free(all);
		all = next;
	}
	strv_free(&out);
	return all;
}

static void expect_clean(const char *rel, uid_t uid)
{
	cleanup_free char *got = problems(rel, uid);

	if (*got)
		fail_msg("%s: unexpected problems: %s", rel, got);
}

static void expect_problem(const char *rel, uid_t uid, const char *want)
{
	cleanup_free char *got = problems(rel, uid);

	if (!strstr(got, want))
		fail_msg("%s: wanted \"%s\" in \"%s\"", rel, want, got);
}

static int setup(void **state)
{
	const struct passwd *pw = getpwnam("nobody");

	(void)state;
	if (pw) {
		nobody = pw->pw_uid;
		nogroup = pw->pw_gid;
	}
	snprintf(base, sizeof(base), "/tmp/test-trust.XXXXXX");
	assert_non_null(mkdtemp(base));
	unsetenv("SUDO_UID");
	unsetenv("PKEXEC_UID");
	trust_set_mode(TRUST_ENFORCE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_tree_remove(base);
	return 0;
}

/* The layout the test suites use: root's files in root's 0700 folder in
 * /tmp (sticky, world-writable), and the repository (0755, root's). */
static void test_root_files_pass(void **state)
{
	(void)state;
	mkfile("p.ini", 0644, 0, 0);
	expect_clean("p.ini", 0);
	mkfolder("d", 0755, 0);
	mkfile("d/q.ini", 0600, 0, 0);
	expect_clean("d/q.ini", 0);
	/* root's group may write: only root is in it */
	mkfile("g.ini", 0664, 0, 0);
	expect_clean("g.ini", 0);
}

static void test_missing_adds_nothing(void **state)
{
	(void)state;
	expect_clean("no/such/file.ini", 0);
}

static void test_other_writable_file(void **state)
{
	(void)state;
	mkfile("p.ini", 0666, 0, 0);
	expect_problem("p.ini", 0,
		       "it is writable by everyone (mode 0666); fix: chmod "
		       "o-w ");
}

static void test_foreign_owner(void **state)
{
	cleanup_free char *p = at("p.ini");
	cleanup_free char *want = NULL;

	(void)state;
	mkfile("p.ini", 0644, nobody, nogroup);
	want = xasprintf("the profile %s: it belongs to user 'nobody', not to "
			 "root or you; fix: chown root %s",
			 p, p);
	expect_problem("p.ini", 0, want);
}

/* sudo -u alice: alice's own files are trusted, by SUDO_UID. */
static void test_invoking_user_owner(void **state)
{
	char uid[16];

	(void)state;
	mkfile("p.ini", 0644, nobody, nogroup);
	expect_clean("p.ini", nobody);
	snprintf(uid, sizeof(uid), "%u", (unsigned)nobody);
	setenv("SUDO_UID", uid, 1);
	assert_int_equal(trust_invoking_uid(), nobody);
	{
		cleanup_free char *p = at("p.ini");
		struct vr_error err = {0};

		assert_int_equal(trust_check(p, NULL, &err), 0);
	}
	unsetenv("SUDO_UID");
}

static void test_invoking_uid_sources(void **state)
{
	(void)state;
	assert_int_equal(trust_invoking_uid(), getuid());
	setenv("PKEXEC_UID", "1234", 1);
	assert_int_equal(trust_invoking_uid(), 1234);
	setenv("SUDO_UID", "4321", 1);
	assert_int_equal(trust_invoking_uid(), 4321);
	setenv("SUDO_UID", "x12", 1);
	unsetenv("PKEXEC_UID");
	assert_int_equal(trust_invoking_uid(), getuid());
	unsetenv("SUDO_UID");
}

/* A group with other members (or unknown members) may not write; even
 * the invoking user's group when it is not their private group. */
static void test_group_writable(void **state)
{
	(void)state;
	mkfile("p.ini", 0664, 0, nogroup);
	expect_problem("p.ini", 0,
		       "it is writable by group 'nogroup' (mode 0664); fix: "
		       "chmod g-w ");
	/* nobody's primary group is nogroup, but not named "nobody" */
	mkfile("q.ini", 0664, nobody, nogroup);
	expect_problem("q.ini", nobody, "writable by group 'nogroup'");
	/* readable by the group is fine */
	mkfile("r.ini", 0640, 0, nogroup);
	expect_clean("r.ini", 0);
}

static void test_open_folder(void **state)
{
	cleanup_free char *d = at("d");
	cleanup_free char *want = NULL;

	(void)state;
	mkfolder("d", 0777, 0);
	mkfile("d/p.ini", 0644, 0, 0);
	want = xasprintf("the folder %s is writable by everyone (mode 0777); "
			 "fix: chmod o-w %s",
			 d, d);
	expect_problem("d/p.ini", 0, want);
}

static void test_foreign_folder(void **state)
{
	(void)state;
	mkfolder("d", 0755, nobody);
	mkfile("d/p.ini", 0644, 0, 0);
	expect_problem("d/p.ini", 0, "/d belongs to user 'nobody'");
	/* the folders above count too */
	mkfolder("d/e", 0755, 0);
	mkfile("d/e/p.ini", 0644, 0, 0);
	expect_problem("d/e/p.ini", 0, "/d belongs to user 'nobody'");
}

/* Sticky shared folders (like /tmp): fine for our own entries only. */
static void test_sticky_folder(void **state)
{
	cleanup_free char *g = NULL;

	(void)state;
	mkfolder("t", 01777, 0);
	mkfile("t/ours.ini", 0644, 0, 0);
	expect_clean("t/ours.ini", 0);
	mkfile("t/theirs.ini", 0644, nobody, nogroup);
	expect_problem("t/theirs.ini", 0, "/t/theirs.ini is in ");
	expect_problem("t/theirs.ini", 0,
		       "a folder others can write, and belongs to user "
		       "'nobody'; fix: move it");
	/* a folder of theirs in it: everything below is theirs to swap */
	mkfolder("t/sub", 0755, nobody);
	mkfile("t/sub/p.ini", 0644, 0, 0);
	expect_problem("t/sub/p.ini", 0, "/t/sub is in ");
	/* group-writable and sticky behaves the same */
	mkfolder("g", 01775, 0);
	g = at("g");
	assert_int_equal(chown(g, 0, nogroup), 0);
	mkfile("g/ours.ini", 0644, 0, 0);
	expect_clean("g/ours.ini", 0);
}

static void test_symlinks(void **state)
{
	cleanup_free char *target = NULL;
	cleanup_free char *link = NULL;

	(void)state;
	/* a safe link to a file in an open folder: the target's folder */
	mkfolder("open", 0777, 0);
	mkfile("open/p.ini", 0644, 0, 0);
	target = at("open/p.ini");
	link = at("link.ini");
	assert_int_equal(symlink(target, link), 0);
	expect_problem("link.ini", 0, "/open is writable by everyone");
	free(link);
	/* relative links resolve against the link's folder */
	link = at("rel.ini");
	assert_int_equal(symlink("open/p.ini", link), 0);
	expect_problem("rel.ini", 0, "/open is writable by everyone");
	free(link);
	/* a link inside an open folder to a safe file */
	mkfile("safe.ini", 0644, 0, 0);
	link = at("open/l.ini");
	free(target);
	target = at("safe.ini");
	assert_int_equal(symlink(target, link), 0);
	expect_problem("open/l.ini", 0, "/open is writable by everyone");
	/* a loop stops the walk */
	free(link);
	link = at("loop");
	assert_int_equal(symlink("loop", link), 0);
	expect_clean("loop", 0);
}

static void test_dot_dot(void **state)
{
	(void)state;
	mkfolder("open", 0777, 0);
	mkfolder("d", 0755, 0);
	mkfile("d/p.ini", 0644, 0, 0);
	/* the lookup goes through open/ even though the file is not in it */
	expect_problem("open/../d/p.ini", 0, "/open is writable by everyone");
	expect_clean("d/./../d/p.ini", 0);
}

static void test_relative_path(void **state)
{
	char cwd[4096];

	(void)state;
	mkfolder("open", 0777, 0);
	mkfile("open/p.ini", 0644, 0, 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(base), 0);
	{
		struct strv out = {0};

		assert_int_equal(
			trust_path_problems("open/p.ini", "x", 0, &out), 1);
		assert_non_null(strstr(out.v[0], "/open is writable by "
						 "everyone"));
		strv_free(&out);
	}
	assert_int_equal(chdir(cwd), 0);
}

/* A POSIX ACL naming another user: ACL_USER_OBJ rw, ACL_USER nobody rw,
 * ACL_GROUP_OBJ r, ACL_MASK rw, ACL_OTHER r, in the kernel's xattr
 * format (version 2, entries of tag, perm, id; little-endian). */
static void test_acl(void **state)
{
	struct {
		uint16_t tag, perm;
		uint32_t id;
	} e[5] = {{0x01, 6, 0xffffffff},
		  {0x02, 6, 0},
		  {0x04, 4, 0xffffffff},
		  {0x10, 6, 0xffffffff},
		  {0x20, 4, 0xffffffff}};
	unsigned char buf[4 + sizeof(e)];
	uint32_t version = 2;
	cleanup_free char *p = at("p.ini");

	(void)state;
	e[1].id = nobody;
	memcpy(buf, &version, 4);
	memcpy(buf + 4, e, sizeof(e));
	mkfile("p.ini", 0644, 0, 0);
	if (setxattr(p, "system.posix_acl_access", buf, sizeof(buf), 0) < 0) {
		print_message("# no ACLs here (%s)\n", strerror(errno));
		skip();
	}
	expect_problem("p.ini", 0,
		       "it has an ACL that may let other users write (see "
		       "getfacl ");
}

static void test_policy(void **state)
{
	cleanup_free char *p = at("p.ini");
	struct vr_error err = {0};

	(void)state;
	mkfile("p.ini", 0666, 0, 0);
	assert_int_equal(trust_check(p, NULL, &err), -EPERM);
	assert_non_null(strstr(err.msg, "refusing to use files that users "
					"other than root and you can change:"));
	assert_non_null(strstr(err.msg, "writable by everyone"));
	assert_non_null(strstr(err.msg, "or pass --trust if you trust "
					"everyone who can write them"));
	vr_error_clear(&err);
	trust_set_mode(TRUST_OFF);
	assert_int_equal(trust_check(p, NULL, &err), 0);
	trust_set_mode(TRUST_ENFORCE);
	assert_int_equal(err.code, 0);
}

/* Every file the profile names is checked, under its key's name. */
static void test_profile_files(void **state)
{
	struct profile prof;
	struct vr_error err = {0};
	char *pre = NULL;

	(void)state;
	memset(&prof, 0, sizeof(prof));
	mkfolder("open", 0777, 0);
	mkfile("open/hook", 0755, 0, 0);
	mkfile("open/rom", 0644, 0, 0);
	mkfile("open/ssdt.aml", 0644, 0, 0);
	mkfile("open/qemu", 0755, 0, 0);
	mkfile("safe-hook", 0755, 0, 0);
	pre = at("safe-hook");
	strv_add(&prof.hooks.pre_start, pre);
	free(pre);
	pre = at("open/hook");
	strv_add(&prof.hooks.post_stop, pre);
	free(pre);
	prof.vm.qemu = at("open/qemu");
	prof.npci = 1;
	prof.pci = calloc(1, sizeof(*prof.pci));
	prof.pci[0].name = xstrdup("gpu");
	prof.pci[0].romfile = at("open/rom");
	pre = at("open/ssdt.aml");
	strv_add(&prof.acpi.tables, pre);
	free(pre);
	assert_int_equal(trust_check(NULL, &prof, &err), -EPERM);
	assert_non_null(strstr(err.msg, "  [vm] qemu "));
	assert_non_null(strstr(err.msg, "  [hooks] post-stop "));
	assert_null(strstr(err.msg, "[hooks] pre-start"));
	assert_non_null(strstr(err.msg, "  [pci.gpu] romfile "));
	assert_non_null(strstr(err.msg, "  [acpi] table "));
	/* a bare program name is looked up on PATH: not a file here */
	free(prof.vm.qemu);
	prof.vm.qemu = xstrdup("qemu-system-x86_64");
	strv_free(&prof.hooks.post_stop);
	strv_free(&prof.acpi.tables);
	free(prof.pci[0].romfile);
	prof.pci[0].romfile = NULL;
	vr_error_clear(&err);
	assert_int_equal(trust_check(NULL, &prof, &err), 0);
	free(prof.vm.qemu);
	free(prof.pci[0].name);
	free(prof.pci);
	strv_free(&prof.hooks.pre_start);
}

/* A program file with this shell text, mode 0755, owned by uid. */
static void mkprog(const char *rel, const char *text, uid_t uid)
{
	cleanup_free char *p = at(rel);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", text);
	fclose(f);
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(chown(p, uid, 0), 0);
}

/* What a run would execute is found as exec finds it: a bare [vm] qemu
 * and swtpm on PATH are checked where PATH finds them. */
static void test_programs_on_path(void **state)
{
	cleanup_free char *open_dir = at("open");
	cleanup_free char *old = xstrdup(getenv("PATH"));
	cleanup_free char *path = xasprintf("%s:%s", open_dir, old);
	struct profile prof;
	struct vr_error err = {0};

	(void)state;
	memset(&prof, 0, sizeof(prof));
	mkfolder("open", 0777, 0);
	mkprog("open/my-qemu", "exit 0", 0);
	mkprog("open/swtpm", "exit 0", 0);
	setenv("PATH", path, 1);
	prof.vm.qemu = xstrdup("my-qemu");
	prof.tpm.type = TPM_SWTPM;
	assert_int_equal(trust_check(NULL, &prof, &err), -EPERM);
	assert_non_null(strstr(err.msg, "  [vm] qemu "));
	assert_non_null(strstr(err.msg, "/open/my-qemu: the folder "));
	assert_non_null(strstr(err.msg, "  swtpm ([tpm] type = swtpm) "));
	setenv("PATH", old, 1);
	free(prof.vm.qemu);
}

/* The state folder is checked like the profile (owner, mode, every
 * folder); the files written as root, folders only. */
static void test_written_paths(void **state)
{
	struct profile prof;
	struct vr_error err = {0};

	(void)state;
	memset(&prof, 0, sizeof(prof));
	prof.vm.qemu = xstrdup("/nonexistent/qemu");
	mkfolder("users", 0755, nobody);
	mkfolder("users/state", 0700, nobody);
	prof.vm.state_dir = at("users/state");
	assert_int_equal(trust_check(NULL, &prof, &err), -EPERM);
	assert_non_null(strstr(err.msg, "  [vm] state-dir "));
	assert_non_null(strstr(err.msg, "belongs to user 'nobody'"));
	free(prof.vm.state_dir);
	/* root's state folder: the vars and TPM state in it may be the
	 * run-as user's own (folders only are checked) */
	mkfolder("state", 0700, 0);
	mkfile("state/OVMF_VARS.fd", 0600, nobody, nogroup);
	mkfolder("state/tpm", 0700, nobody);
	prof.vm.state_dir = at("state");
	prof.firmware.type = FW_OVMF;
	prof.firmware.vars = at("state/OVMF_VARS.fd");
	prof.tpm.type = TPM_SWTPM;
	prof.tpm.state = at("state/tpm");
	vr_error_clear(&err);
	trust_set_mode(TRUST_ENFORCE);
	{
		/* swtpm on PATH is not the point here */
		cleanup_free char *old = xstrdup(getenv("PATH"));

		setenv("PATH", "/nonexistent", 1);
		assert_int_equal(trust_check(NULL, &prof, &err), 0);
		/* but vars in another user's folder could be swapped */
		free(prof.firmware.vars);
		prof.firmware.vars = at("users/state/vars.fd");
		assert_int_equal(trust_check(NULL, &prof, &err), -EPERM);
		assert_non_null(strstr(err.msg, "  [firmware] vars "));
		setenv("PATH", old, 1);
	}
	free(prof.vm.qemu);
	free(prof.vm.state_dir);
	free(prof.firmware.vars);
	free(prof.tpm.state);
}

/* QEMU opens writable disks as root: nobody else may swap them. */
static void test_disks(void **state)
{
	struct profile prof;
	struct vr_error err = {0};

	(void)state;
	memset(&prof, 0, sizeof(prof));
	prof.vm.qemu = xstrdup("/nonexistent/qemu");
	mkfolder("open", 0777, 0);
	mkfile("open/disk.img", 0600, 0, 0);
	prof.ndisk = 1;
	prof.disk = calloc(1, sizeof(*prof.disk));
	prof.disk[0].name = xstrdup("root");
	prof.disk[0].file = at("open/disk.img");
	assert_int_equal(trust_check(NULL, &prof, &err), -EPERM);
	assert_non_null(strstr(err.msg, "  [disk.root] file "));
	prof.disk[0].readonly = true;
	vr_error_clear(&err);
	assert_int_equal(trust_check(NULL, &prof, &err), 0);
	free(prof.disk[0].name);
	free(prof.disk[0].file);
	free(prof.disk);
	free(prof.vm.qemu);
}

/* The version probe never executes a QEMU binary others can change, and
 * gives up on one that does not answer. */
static void test_qemu_probe(void **state)
{
	cleanup_free char *marker = at("ran");
	cleanup_free char *evil = at("open/qemu");
	cleanup_free char *slow = at("slow-qemu");
	cleanup_free char *text = xasprintf("touch %s\nexit 0", marker);
	struct host_qemu q = {0};
	struct vr_error err = {0};

	(void)state;
	mkfolder("open", 0777, 0);
	mkprog("open/qemu", text, 0);
	assert_int_equal(host_probe_qemu(&q, evil, &err), -EPERM);
	assert_non_null(strstr(err.msg, "not running "));
	assert_non_null(strstr(err.msg, "writable by everyone"));
	assert_int_equal(access(marker, F_OK), -1);
	free(q.path);
	memset(&q, 0, sizeof(q));
	mkprog("slow-qemu", "exec sleep 600", 0);
	setenv("VMRUN_QEMU_PROBE_TIMEOUT_MS", "300", 1);
	vr_error_clear(&err);
	assert_int_equal(host_probe_qemu(&q, slow, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "-version did not answer within "
					"300 ms"));
	unsetenv("VMRUN_QEMU_PROBE_TIMEOUT_MS");
	free(q.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root_files_pass, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_adds_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_writable_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreign_owner, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invoking_user_owner, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invoking_uid_sources,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_writable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_folder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreign_folder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sticky_folder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dot_dot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_acl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_programs_on_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_written_paths, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qemu_probe, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
