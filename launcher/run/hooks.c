/* hooks.c: [hooks] programs. A hook is a program the user trusts like the
 * profile itself; it runs without a shell, with our output as its own. */
#include "run/run.h"
#include "base/base.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct strv *phase_hooks(const struct profile *p,
				      const char *phase)
{
	if (!strcmp(phase, "pre-start"))
		return &p->hooks.pre_start;
	if (!strcmp(phase, "post-start"))
		return &p->hooks.post_start;
	if (!strcmp(phase, "pre-stop"))
		return &p->hooks.pre_stop;
	return &p->hooks.post_stop;
}

int hooks_run(const struct profile *p, const char *phase, const char *reason,
	      struct vr_error *err)
{
	const struct strv *hooks = phase_hooks(p, phase);

	for (size_t i = 0; i < hooks->n; i++) {
		char *argv[] = {hooks->v[i], (char *)p->vm.name, (char *)phase,
				(char *)reason, NULL};
		char *env[5] = {
			xasprintf("VMRUN_NAME=%s", p->vm.name),
			xasprintf("VMRUN_PHASE=%s", phase),
			xasprintf("VMRUN_REASON=%s", reason ? reason : ""),
			xasprintf("VMRUN_PROFILE=%s", p->path),
			NULL,
		};
		struct spawn s = {
			.path = hooks->v[i],
			.argv = argv,
			.pass_fd = -1,
			.out_fd = -1,
			.env = env,
		};
		int r;

		log_info("%s hook: %s", phase, hooks->v[i]);
		r = proc_run(&s, err);
		for (size_t j = 0; env[j]; j++)
			free(env[j]);
		if (r > 0)
			return vr_errorx(err, ECANCELED,
					 "%s hook %s exited with status %d",
					 phase, hooks->v[i], r);
		if (r < 0)
			return vr_error_prefix(err, "%s hook", phase);
	}
	return 0;
}
