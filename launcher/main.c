/* main.c: the command line of vmrun. It parses global options and
 * dispatches to one command; commands live in their own modules. */
#include "error.h"
#include "hostfs.h"
#include "plan.h"
#include "vm.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMRUN_VERSION "0.1.0"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* the command failed; the host is as it was */
	EXIT_USAGE = 2, /* bad command line */
};

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(int argc, char **argv, struct vr_error *err);
};

static int cmd_dry_run(int argc, char **argv, struct vr_error *err);
static int cmd_print_argv(int argc, char **argv, struct vr_error *err);
static int cmd_prepare(int argc, char **argv, struct vr_error *err);
static int cmd_restore(int argc, char **argv, struct vr_error *err);

static const struct cmd cmds[] = {
	{"--dry-run", "PROFILE",
	 "print the planned host changes and the QEMU command line; change "
	 "nothing",
	 cmd_dry_run},
	{"--print-argv", "PROFILE",
	 "print only the QEMU argv, one argument per line", cmd_print_argv},
	{"prepare", "PROFILE",
	 "apply the host changes and leave them in place (undo with restore)",
	 cmd_prepare},
	{"restore", "NAME",
	 "undo the host changes a vmrun of VM NAME left behind", cmd_restore},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: vmrun [--root DIR] COMMAND ARGS\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  vmrun %s %s\n      %s\n", cmds[i].name,
			cmds[i].args, cmds[i].help);
	fprintf(out, "\noptions:\n"
		     "  --root DIR   act on a host root other than / (tests); "
		     "also VMRUN_ROOT\n"
		     "  -h, --help   this text\n"
		     "  --version    print the version\n");
}

static int one_arg(int argc, char **argv, const char *what,
		   struct vr_error *err)
{
	if (argc != 2)
		return vr_errorx(err, EXIT_USAGE, "%s takes one %s (see vmrun "
					     "--help)",
				 argv[0], what);
	return 0;
}

static int load(int argc, char **argv, struct vm *vm, struct vr_error *err)
{
	int r = one_arg(argc, argv, "profile", err);

	return r ? r : vm_load(argv[1], vm, err);
}

static int cmd_dry_run(int argc, char **argv, struct vr_error *err)
{
	struct vm vm;
	int r = load(argc, argv, &vm, err);

	if (r)
		return r;
	vm_print_dry_run(&vm, stdout);
	vm_free(&vm);
	return 0;
}

static int cmd_print_argv(int argc, char **argv, struct vr_error *err)
{
	struct vm vm;
	int r = load(argc, argv, &vm, err);

	if (r)
		return r;
	vm_print_argv(&vm, stdout);
	vm_free(&vm);
	return 0;
}

static int cmd_prepare(int argc, char **argv, struct vr_error *err)
{
	struct vm vm;
	int r = load(argc, argv, &vm, err);

	if (r)
		return r;
	for (size_t i = 0; i < vm.plan.warnings.n; i++)
		fprintf(stderr, "vmrun: warning: %s\n", vm.plan.warnings.v[i]);
	r = vm_prepare(&vm, err);
	if (!r)
		printf("host prepared for '%s'; undo with: vmrun restore %s\n",
		       vm.profile.vm.name, vm.profile.vm.name);
	vm_free(&vm);
	return r;
}

static int cmd_restore(int argc, char **argv, struct vr_error *err)
{
	int r = one_arg(argc, argv, "VM name", err);

	return r ? r : plan_restore(argv[1], err);
}

static const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct vr_error err = {0};
	const struct cmd *cmd;
	int c, r;

	/* Stop at the first non-option so commands keep their own args;
	 * --dry-run and --print-argv are commands spelled as options. */
	while (optind < argc && !cmd_find(argv[optind]) &&
	       (c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			hostfs_set_root(optarg);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("vmrun %s\n", VMRUN_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = cmd_find(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "vmrun: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	r = cmd->run(argc - optind, argv + optind, &err);
	if (r) {
		fprintf(stderr, "vmrun: %s\n", err.msg);
		return err.code == EXIT_USAGE ? EXIT_USAGE : EXIT_FAIL;
	}
	return EXIT_OK;
}
