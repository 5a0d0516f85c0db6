/* new.c: `vmrun new NAME --gpu BDF`: a commented profile for this host,
 * shaped by its topology (ops/layout.c) and checked by the planner. */
#include "cmd/cmd.h"
#include "cmd/new.h"
#include "ops/ops.h"
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_text_write(const char *out, const char *text, struct vr_error *err)
{
	size_t len = strlen(text);
	cleanup_close int fd = -1;

	if (!out) {
		fputs(text, stdout);
		return fflush(stdout) ? vr_error(err, errno, "stdout") : 0;
	}
	/* never over an existing file, never through a link */
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0)
		return vr_error(err, errno, "cannot create %s%s", out,
				errno == EEXIST ? " (it exists: remove it or "
						  "choose another --out)"
						: "");
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0) {
			int e = errno;

			unlink(out);
			return vr_error(err, e, "write %s", out);
		}
		text += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		int e = errno;

		unlink(out);
		return vr_error(err, e, "write %s", out);
	}
	return 0;
}

/* The options of `new`, checked; 0 or -EINVAL with err set. */
static int new_options(const struct cmd_opts *o, struct new_req *q,
		       struct vr_error *err)
{
	unsigned long long n;

	if (!o->gpu)
		return vr_errorx(err, EINVAL,
				 "new: --gpu BDF is required: the GPU to pass "
				 "through (`vmrun devices` lists them)");
	if (pci_addr_parse(o->gpu, &q->gpu))
		return vr_errorx(err, EINVAL,
				 "--gpu %s: not a PCI address (DDDD:BB:DD.F "
				 "or BB:DD.F)",
				 o->gpu);
	if (o->memory && parse_size(o->memory, &q->lr.memory))
		return vr_errorx(err, EINVAL,
				 "--memory %s: not a size (e.g. 16G, 8192M)",
				 o->memory);
	if (o->vcpus) {
		if (parse_uint(o->vcpus, 512, &n) || !n)
			return vr_errorx(err, EINVAL,
					 "--vcpus %s: give a number of vCPUs "
					 "from 1 to 512",
					 o->vcpus);
		q->lr.vcpus = (unsigned)n;
	}
	if (o->looking_glass && (sscanf(o->looking_glass, "%ux%u", &q->lg_width,
					&q->lg_height) != 2 ||
				 q->lg_width < 320 || q->lg_height < 200 ||
				 q->lg_width > 16384 || q->lg_height > 16384))
		return vr_errorx(err, EINVAL,
				 "--looking-glass %s: give the guest's "
				 "resolution as WIDTHxHEIGHT (e.g. 2560x1440)",
				 o->looking_glass);
	return 0;
}

static int new_gpu(struct new_req *q, struct vr_error *err)
{
	char bdf[16];

	pci_addr_format(&q->gpu, bdf, sizeof(bdf));
	q->lr.gpu = host_pci_find(&q->h, &q->gpu);
	if (!q->lr.gpu)
		return vr_errorx(err, ENODEV,
				 "--gpu %s: no such PCI device on this host; "
				 "`vmrun devices` lists them",
				 bdf);
	if (q->lr.gpu->cls >> 8 != PCI_CLASS_VGA >> 8)
		return vr_errorx(err, EINVAL,
				 "--gpu %s is a %s (class %04x), not a GPU; "
				 "`vmrun devices` lists the host's devices",
				 bdf,
				 q->lr.gpu->class_name[0]
					 ? q->lr.gpu->class_name
					 : "device",
				 q->lr.gpu->cls);
	return 0;
}

/* The planner on the written text: a group that cannot go is refused
 * with the explanation --dry-run gives; other problems (no OVMF yet) only
 * warn, `vmrun doctor` says how to fix them. A user's program holding the
 * card now is not held against the profile: new_warn names it. */
static int new_check(struct new_req *q, const char *text, const char *dir,
		     struct vr_error *err)
{
	struct profile p;
	struct plan plan = {0};
	struct vr_error e = {0};
	int r = profile_load_string(text, q->out ? q->out : "(new profile)",
				    dir, &p, err);

	if (r)
		return vr_error_prefix(err, "vmrun new wrote a profile it "
					    "cannot read back (a bug)");
	q->h.holders_later = true;
	r = vfio_plan(&plan, &p, &q->h, err);
	plan_free(&plan);
	if (r) {
		profile_free(&p);
		return vr_error_prefix(err, "no profile written");
	}
	if (planner_build(&p, &q->h, &plan, &e))
		log_warn("the profile does not plan on this host yet: %s\n"
			 "`vmrun doctor` on it says what to fix",
			 e.msg);
	else
		plan_free(&plan);
	profile_free(&p);
	return 0;
}

static char *new_text(struct new_req *q, struct vr_error *err)
{
	struct pdoc d = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	new_write(q, &d);
	f = open_memstream(&text, &len);
	if (!f) {
		pdoc_free(&d);
		vr_error(err, errno, "open_memstream");
		return NULL;
	}
	r = pdoc_write(&d, f, err);
	fclose(f);
	pdoc_free(&d);
	if (r) {
		free(text);
		vr_error_prefix(err, "vmrun new made a bad profile (a bug)");
		return NULL;
	}
	return text;
}

static int new_run(struct new_req *q, struct vr_error *err)
{
	cleanup_free char *text = NULL, *copy = NULL, *cwd = NULL;
	const char *dir;
	int r = new_gpu(q, err);

	if (!r)
		r = layout_choose(&q->h, &q->lr, &q->l, err);
	if (r)
		return r;
	new_holders(q);
	text = new_text(q, err);
	copy = xstrdup(q->out ? q->out : ".");
	dir = q->out ? dirname(copy) : copy;
	cwd = realpath(dir, NULL);
	r = text ? new_check(q, text, cwd ? cwd : dir, err) : -EINVAL;
	if (!r) {
		new_warn(q, q->out);
		r = cmd_text_write(q->out, text, err);
	}
	if (!r && q->out)
		log_info("wrote %s; `vmrun doctor %s` checks it against this "
			 "host",
			 q->out, q->out);
	layout_free(&q->l);
	free(q->holders);
	return r;
}

int cmd_new(const char *name, const struct cmd_opts *o, struct vr_error *err)
{
	struct new_req q = {.name = name, .out = o->out};
	int r = profile_name_check(name, err);

	if (!r)
		r = new_options(o, &q, err);
	if (!r)
		r = host_probe(&q.h, NULL, HOST_PCI_NAMES | HOST_MACHINE, err);
	if (r)
		return 1;
	r = new_run(&q, err);
	host_free(&q.h);
	return r ? 1 : 0;
}
