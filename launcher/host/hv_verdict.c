/* hv_verdict.c: QEMU's verdict on a vCPU of a CPU model and a list of
 * Hyper-V enlightenments, found from tries of sets (hv_probe.c runs them):
 * whether the model alone starts, which enlightenments it cannot start a
 * vCPU with, and the verdict as a line of the cache. */
#include "host/host.h"
#include "host/qemu_probe.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define HV_MSG_MAX 200

static bool listed(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

/* "spinlocks=8191" of want for name "spinlocks", or NULL. */
static const char *want_token(const struct strv *want, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < want->n; i++)
		if (!strncmp(want->v[i], name, n) &&
		    (want->v[i][n] == '\0' || want->v[i][n] == '='))
			return want->v[i];
	return NULL;
}

/* QEMU's -cpu property for a token, as the run writes it. */
static void arg_add(struct strv *args, const char *tok)
{
	size_t n = strcspn(tok, "=");
	char *a = tok[n] ? xasprintf("hv-%s", tok)
			 : xasprintf("hv-%.*s=on", (int)n, tok);

	if (!listed(args, a))
		strv_add(args, a);
	free(a);
}

/* name and what it needs (needs first), the value from want when there. */
static void closure_add(const struct strv *want, const char *name,
			struct strv *args, int depth)
{
	const char *const *needs = kvm_hv_needs(name);
	const char *tok = want_token(want, name);

	for (size_t i = 0; depth < 8 && needs && i < 2 && needs[i]; i++)
		closure_add(want, needs[i], args, depth + 1);
	arg_add(args, tok ? tok : name);
}

static int need_depth(const char *name, int depth)
{
	const char *const *needs = kvm_hv_needs(name);
	int d = 0;

	for (size_t i = 0; depth < 8 && needs && i < 2 && needs[i]; i++) {
		int n = 1 + need_depth(needs[i], depth + 1);

		d = n > d ? n : d;
	}
	return d;
}

/* Whether name, or something it needs, is one of refused. */
static bool needs_refused(const struct strv *refused, const char *name,
			  int depth)
{
	const char *const *needs = kvm_hv_needs(name);

	if (listed(refused, name))
		return true;
	for (size_t i = 0; depth < 8 && needs && i < 2 && needs[i]; i++)
		if (needs_refused(refused, needs[i], depth + 1))
			return true;
	return false;
}

static char *tok_name(const char *tok)
{
	return xasprintf("%.*s", (int)strcspn(tok, "="), tok);
}

static int judge_try(const struct hv_try *t, const char *model,
		     const struct strv *args, struct host_hv_qemu *out,
		     char *how, char *msg)
{
	out->runs++;
	how[0] = msg[0] = '\0';
	return t->run(t->ctx, model, args, how, 64, msg, HV_MSG_MAX + 1);
}

/* Each alone, with what it needs; what needs a culprit is not tried (the
 * planner leaves it out with its prerequisite). Least needing first, so a
 * culprit is found before what needs it. */
static void judge_each(const struct strv *want, const struct hv_try *t,
		       struct host_hv_qemu *out)
{
	char how[64], msg[HV_MSG_MAX + 1];

	for (int depth = 0; depth < 8; depth++)
		for (size_t i = 0; i < want->n; i++) {
			cleanup_free char *name = tok_name(want->v[i]);
			struct strv args = {0};

			if (need_depth(name, 0) != depth ||
			    needs_refused(&out->refused, name, 0))
				continue;
			closure_add(want, name, &args, 0);
			if (judge_try(t, t->model, &args, out, how, msg)) {
				strv_add(&out->refused, name);
				strv_addf(&out->why, "%s with hv-%s: %s", how,
					  name, msg);
			}
			strv_free(&args);
		}
}

/* The model alone does not start, and QEMU said why: the verdict, with a
 * named model that starts for the fix. */
static void judge_no_vcpu(const struct hv_try *t, struct host_hv_qemu *out,
			  const char *how, const char *msg)
{
	char h[64], m[HV_MSG_MAX + 1];
	struct strv none = {0};

	out->state = HV_QEMU_NO_VCPU;
	out->vcpu_why = xasprintf("%s with -cpu %s: %s", how, t->model, msg);
	for (size_t i = 0; t->named && t->named[i]; i++)
		if (strcmp(t->named[i], t->model) &&
		    judge_try(t, t->named[i], &none, out, h, m) ==
			    HV_TRY_STARTS) {
			out->starts = xstrdup(t->named[i]);
			return;
		}
}

void hv_verdict_judge(const struct strv *want, const struct hv_try *t,
		      struct host_hv_qemu *out)
{
	struct strv all = {0}, none = {0};
	char how[64], msg[HV_MSG_MAX + 1], whole[HV_MSG_MAX + 70];
	int r;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < want->n; i++)
		arg_add(&all, want->v[i]);
	/* with nothing asked, the first try is the model alone */
	r = judge_try(t, t->model, &all, out, how, msg);
	if (r && want->n) {
		snprintf(whole, sizeof(whole), "%s with all of them: %s", how,
			 msg);
		r = judge_try(t, t->model, &none, out, how, msg);
		if (!r) {
			judge_each(want, t, out);
			out->state = out->refused.n ? HV_QEMU_REFUSED
						    : HV_QEMU_UNKNOWN;
			if (!out->refused.n)
				out->unknown_why = xasprintf(
					"%s, though it starts with each alone",
					whole);
			goto out;
		}
	}
	if (r == HV_TRY_STARTS) {
		out->state = HV_QEMU_OK;
	} else if (r == HV_TRY_REFUSED) {
		judge_no_vcpu(t, out, how, msg);
	} else {
		/* a hang or a silent end blames nothing, the model neither */
		out->state = HV_QEMU_UNKNOWN;
		out->unknown_why = xasprintf("%s with -cpu %s alone: %s", how,
					     t->model, msg);
	}
out:
	strv_free(&all);
}

const char *hv_verdict_refused(const struct host_hv_qemu *q, const char *name)
{
	for (size_t i = 0; q->state == HV_QEMU_REFUSED && i < q->refused.n; i++)
		if (!strcmp(q->refused.v[i], name))
			return q->why.v[i];
	return NULL;
}

char *hv_verdict_text(const struct host_hv_qemu *q,
		      const struct host_qemu *qemu, const struct strv *names)
{
	char *s = qemu->major ? xasprintf("QEMU %d.%d on this kernel",
					  qemu->major, qemu->minor)
			      : xstrdup("QEMU on this kernel");
	const char *why;
	char *t;

	for (size_t i = 0, n = 0; i < names->n; i++) {
		why = hv_verdict_refused(q, names->v[i]);
		if (!why)
			continue;
		t = xasprintf("%s%s %s", s, n++ ? ";" : "", why);
		free(s);
		s = t;
	}
	return s;
}

char *hv_verdict_no_vcpu(const struct host_hv_qemu *q,
			 const struct host_qemu *qemu, const char *model)
{
	if (q->state != HV_QEMU_NO_VCPU)
		return NULL;
	if (!qemu->major)
		return xasprintf("QEMU cannot start a vCPU of CPU model %s on "
				 "this host's KVM (it %s)",
				 model, q->vcpu_why);
	return xasprintf("QEMU %d.%d cannot start a vCPU of CPU model %s on "
			 "this host's KVM (it %s)",
			 qemu->major, qemu->minor, model, q->vcpu_why);
}

char *hv_verdict_no_vcpu_fix(const struct host_hv_qemu *q,
			     const struct host_qemu *qemu)
{
	cleanup_free char *starts =
		q->starts ? xasprintf("%s starts here; ", q->starts) : NULL;

	if (q->state != HV_QEMU_NO_VCPU)
		return NULL;
	return xasprintf("set [cpu] model to a named model (%s`%s -cpu help` "
			 "lists them), or [vm] accel = tcg (slow)",
			 starts ? starts : "",
			 qemu->path ? qemu->path : "qemu-system-x86_64");
}

void hv_verdict_free(struct host_hv_qemu *q)
{
	strv_free(&q->refused);
	strv_free(&q->why);
	free(q->unknown_why);
	free(q->vcpu_why);
	free(q->starts);
	memset(q, 0, sizeof(*q));
}

/* "ok", "unknown\tWHY", "novcpu\tWHY[\tMODEL]" or "refused\tNAME\tWHY...":
 * the texts hold no tab or newline (hv_message makes sure). */
char *hv_verdict_format(const struct host_hv_qemu *q)
{
	char *s, *t;

	if (q->state == HV_QEMU_OK)
		return xstrdup("ok");
	if (q->state == HV_QEMU_UNKNOWN)
		return xasprintf("unknown\t%s", q->unknown_why);
	if (q->state == HV_QEMU_NO_VCPU)
		return xasprintf("novcpu\t%s%s%s", q->vcpu_why,
				 q->starts ? "\t" : "",
				 q->starts ? q->starts : "");
	s = xstrdup("refused");
	for (size_t i = 0; i < q->refused.n; i++) {
		t = xasprintf("%s\t%s\t%s", s, q->refused.v[i], q->why.v[i]);
		free(s);
		s = t;
	}
	return s;
}

/* "WHY" or "WHY\tMODEL" after "novcpu". */
static int parse_no_vcpu(char **save, struct host_hv_qemu *q)
{
	char *why = strtok_r(NULL, "\t", save);
	char *model = why ? strtok_r(NULL, "\t", save) : NULL;

	if (!why || (model && strtok_r(NULL, "\t", save)))
		return -EINVAL;
	q->state = HV_QEMU_NO_VCPU;
	q->vcpu_why = xstrdup(why);
	q->starts = model ? xstrdup(model) : NULL;
	return 0;
}

int hv_verdict_parse(const char *line, struct host_hv_qemu *q)
{
	cleanup_free char *copy = xstrdup(line);
	char *save = NULL, *word = strtok_r(copy, "\t", &save), *why;

	memset(q, 0, sizeof(*q));
	if (word && !strcmp(word, "ok") && !strtok_r(NULL, "\t", &save)) {
		q->state = HV_QEMU_OK;
		return 0;
	}
	if (word && !strcmp(word, "unknown") &&
	    (why = strtok_r(NULL, "\t", &save)) &&
	    !strtok_r(NULL, "\t", &save)) {
		q->state = HV_QEMU_UNKNOWN;
		q->unknown_why = xstrdup(why);
		return 0;
	}
	if (word && !strcmp(word, "novcpu"))
		return parse_no_vcpu(&save, q);
	if (!word || strcmp(word, "refused"))
		return -EINVAL;
	while ((word = strtok_r(NULL, "\t", &save))) {
		why = strtok_r(NULL, "\t", &save);
		if (!why) {
			hv_verdict_free(q);
			return -EINVAL;
		}
		strv_add(&q->refused, word);
		strv_add(&q->why, why);
	}
	q->state = q->refused.n ? HV_QEMU_REFUSED : HV_QEMU_UNASKED;
	return q->refused.n ? 0 : -EINVAL;
}
