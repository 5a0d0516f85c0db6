/* main.c: the command line of vmrun. It parses the options and dispatches
 * through the command table to one command; nothing else happens here. */
#include "cmd/cmd.h"
#include "base/base.h"
#include "host/host.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMRUN_VERSION "0.1.0"

enum arg_kind {
	ARG_PROFILE,
	ARG_NAME,
	ARG_OPT_NAME,
	ARG_NONE,
	ARG_OPT_PROFILE,
	ARG_DOMAIN,
	ARG_OPT_FILE,
};

struct cmd {
	const char *name; /* NULL: the default command, `vmrun PROFILE` */
	int (*run)(const char *arg, const struct cmd_opts *o,
		   struct vr_error *err);
	enum arg_kind arg;
	const char *help;
};

static const struct cmd cmds[] = {
	{NULL, cmd_run, ARG_PROFILE,
	 "run the VM: prepare the host, start QEMU, supervise it, and put "
	 "the host back when it ends (--detach: return once the guest "
	 "runs)"},
	{"--dry-run", cmd_dry_run, ARG_PROFILE,
	 "print the planned host changes and the QEMU command line; change "
	 "nothing"},
	{"--print-argv", cmd_print_argv, ARG_PROFILE,
	 "print only the QEMU argv, one argument per line"},
	{"status", cmd_status, ARG_OPT_NAME,
	 "state of one running VM, or of all"},
	{"stop", cmd_stop, ARG_NAME,
	 "power the VM off (--force: do not wait for the guest) and wait "
	 "until the host is back"},
	{"cont", cmd_cont, ARG_NAME,
	 "let a guest that QEMU paused on an error (a full disk) run again, "
	 "once the cause is fixed"},
	{"prepare", cmd_prepare, ARG_PROFILE,
	 "apply the host changes and leave them in place (undo with "
	 "restore)"},
	{"restore", cmd_restore, ARG_NAME,
	 "undo the host changes a vmrun of VM NAME left behind"},
	{"devices", cmd_devices, ARG_NONE,
	 "the IOMMU groups and their PCI functions, with a verdict per group "
	 "on whether it can go to a guest (--json: machine-readable)"},
	{"doctor", cmd_doctor, ARG_OPT_PROFILE,
	 "check the host (and a profile) for passthrough: one line per check, "
	 "with the fix for each failure; exit status 0 when nothing fails"},
	{"capture", cmd_capture, ARG_OPT_FILE,
	 "write this host in the host fixture format (PCI, CPUs, memory, "
	 "kernel, KVM, disks, network, device holders) to FILE or stdout: "
	 "for a bug report, or a fake host for the tests; changes nothing"},
	{"install-desktop", cmd_install_desktop, ARG_NAME,
	 "add VM NAME to your applications menu: the entry starts "
	 "vmrun@NAME.service (profile /etc/vmrun/NAME.ini) and Looking Glass"},
	{"new", cmd_new, ARG_NAME,
	 "write a commented profile for VM NAME on this host around the GPU "
	 "of --gpu BDF (its IOMMU group, whole cores on its NUMA node, "
	 "hugepages, laptop and boot-GPU settings) to --out FILE or stdout"},
	{"import", cmd_import, ARG_DOMAIN,
	 "turn a libvirt domain (virsh dumpxml) into a profile, to --out "
	 "FILE or stdout; what cannot be carried over is listed with the "
	 "reason"},
};

static void usage(FILE *out)
{
	static const char *const argname[] = {
		"PROFILE",   "NAME",	   "[NAME]", "",
		"[PROFILE]", "DOMAIN.xml", "[FILE]"};

	fprintf(out, "usage: vmrun [OPTIONS] PROFILE\n"
		     "       vmrun [OPTIONS] COMMAND ARG\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  vmrun %s%s%s\n      %s\n",
			cmds[i].name ? cmds[i].name : "",
			cmds[i].name && *argname[cmds[i].arg] ? " " : "",
			argname[cmds[i].arg], cmds[i].help);
	fprintf(out,
		"\noptions:\n"
		"  -d, --detach   run in the background once the guest runs\n"
		"  -f, --force    with stop: skip the guest's power-off\n"
		"  -q, --quiet    only errors and warnings\n"
		"  -v, --verbose  more detail, QMP traffic in the VM log\n"
		"  --root DIR     act on a host root other than / (tests); "
		"also VMRUN_ROOT\n"
		"  --trust        use a profile, hooks and files that users "
		"other than root and\n                 you can change (refused "
		"otherwise; see vmrun(1))\n"
		"  --json         with devices: JSON output\n"
		"  --gpu BDF      with new: the GPU the guest gets\n"
		"  --memory SIZE  with new: guest memory (default: half the "
		"GPU's node, at most 16G)\n"
		"  --vcpus N      with new: vCPUs, whole host cores (default: "
		"the free cores of one\n                 L3 cache)\n"
		"  --looking-glass WxH  with new: Looking Glass at this "
		"resolution\n"
		"  --out FILE     with new, import: write the profile there "
		"(a new file)\n"
		"  -h, --help     this text\n"
		"  --version      print the version\n"
		"\nexit status of a run: 0 the guest powered off, 1 it could "
		"not start (host\nrestored), 2 usage, 3 QEMU crashed, 4 the "
		"guest panicked, 5 the guest was\nstopped by force, 6 the host "
		"could not be fully restored. See vmrun(1).\n");
}

static const struct cmd *cmd_find(const char *word)
{
	for (size_t i = 1; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, word))
			return &cmds[i];
	return NULL;
}

static const struct option opts[] = {
	{"root", required_argument, NULL, 'r'},
	{"detach", no_argument, NULL, 'd'},
	{"force", no_argument, NULL, 'f'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"dry-run", no_argument, NULL, 'D'},
	{"print-argv", no_argument, NULL, 'P'},
	{"json", no_argument, NULL, 'j'},
	{"trust", no_argument, NULL, 'T'},
	{"gpu", required_argument, NULL, 'g'},
	{"memory", required_argument, NULL, 'm'},
	{"vcpus", required_argument, NULL, 'c'},
	{"looking-glass", required_argument, NULL, 'l'},
	{"out", required_argument, NULL, 'o'},
	{NULL, 0, NULL, 0},
};

/* The options that carry a value for one command (new, import). */
static bool value_option(int ch, struct cmd_opts *o)
{
	const char **slot = ch == 'g'	? &o->gpu
			    : ch == 'm' ? &o->memory
			    : ch == 'c' ? &o->vcpus
			    : ch == 'l' ? &o->looking_glass
			    : ch == 'o' ? &o->out
					: NULL;

	if (slot)
		*slot = optarg;
	return slot != NULL;
}

/* The options; -1 to go on with *c, else the exit code (help, version,
 * a bad option). */
static int parse_options(int argc, char **argv, struct cmd_opts *o,
			 const struct cmd **c)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "dfqvh", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			hostfs_set_root(optarg);
			break;
		case 'd':
			o->detach = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'q':
			log_set_level(LOG_WARN);
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vmrun %s\n", VMRUN_VERSION);
			return 0;
		case 'D':
			*c = cmd_find("--dry-run");
			break;
		case 'P':
			*c = cmd_find("--print-argv");
			break;
		case 'j':
			o->json = true;
			break;
		case 'T':
			trust_set_mode(TRUST_OFF);
			break;
		default:
			if (value_option(ch, o))
				break;
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

static bool cmd_is(const struct cmd *c, const char *name)
{
	return c->name && !strcmp(c->name, name);
}

/* Options that belong to one command: -1 when they fit c, else 2. */
static int options_fit(const struct cmd_opts *o, const struct cmd *c)
{
	const char *what = NULL;

	if (o->json && !cmd_is(c, "devices"))
		what = "--json goes with `vmrun devices`";
	else if ((o->gpu || o->memory || o->vcpus || o->looking_glass) &&
		 !cmd_is(c, "new"))
		what = "--gpu, --memory, --vcpus and --looking-glass go with "
		       "`vmrun new`";
	else if (o->out && !cmd_is(c, "new") && !cmd_is(c, "import"))
		what = "--out goes with `vmrun new` and `vmrun import`";
	if (!what)
		return -1;
	fprintf(stderr, "vmrun: %s only\n", what);
	return 2;
}

int main(int argc, char **argv)
{
	struct cmd_opts o = {0};
	const struct cmd *c = &cmds[0];
	struct vr_error err = {0};
	const char *arg = NULL;
	int code;

	/* A reader that goes away (`vmrun x.ini | tee log` over SSH) must not
	 * end a run: writes to a dead stdout or stderr fail with EPIPE, which
	 * vmrun ignores, instead of killing it with a host still prepared.
	 * Children get SIGPIPE back (host/process.c). */
	signal(SIGPIPE, SIG_IGN);
	code = parse_options(argc, argv, &o, &c);
	if (code >= 0)
		return code;
	if (!c->name && optind < argc && cmd_find(argv[optind]))
		c = cmd_find(argv[optind++]);
	if (optind < argc)
		arg = argv[optind++];
	if (optind < argc || (arg && c->arg == ARG_NONE) ||
	    (!arg && (c->arg == ARG_PROFILE || c->arg == ARG_NAME))) {
		fprintf(stderr, "vmrun: %s\n",
			arg ? "too many arguments" : "missing argument");
		usage(stderr);
		return 2;
	}
	code = options_fit(&o, c);
	if (code >= 0)
		return code;
	/* Every command applies the same trust rule (host.h, trust.c):
	 * the ones that change nothing are the ones users run on profiles
	 * they were sent. */
	code = c->run(arg, &o, &err);
	if (code)
		log_plain(LOG_ERROR, "%s", err.msg);
	return code;
}
