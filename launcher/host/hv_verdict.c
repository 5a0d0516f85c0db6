/* hv_verdict.c: QEMU's verdict on a list of Hyper-V enlightenments, found
 * from tries of sets (hv_probe.c runs them): which ones it cannot start a
 * vCPU with, and the verdict as a line of the cache. */
#include "host/host.h"
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

static int judge_try(const struct hv_try *t, const struct strv *args,
		     struct host_hv_qemu *out, char *how, char *msg)
{
	out->runs++;
	how[0] = msg[0] = '\0';
	return t->run(t->ctx, args, how, 64, msg, HV_MSG_MAX + 1);
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
			if (judge_try(t, &args, out, how, msg)) {
				strv_add(&out->refused, name);
				strv_addf(&out->why, "%s with hv-%s: %s", how,
					  name, msg);
			}
			strv_free(&args);
		}
}

void hv_verdict_judge(const struct strv *want, const struct hv_try *t,
		      struct host_hv_qemu *out)
{
	struct strv all = {0}, none = {0};
	char how[64], msg[HV_MSG_MAX + 1], whole[HV_MSG_MAX + 70];

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < want->n; i++)
		arg_add(&all, want->v[i]);
	out->state = HV_QEMU_OK;
	if (!judge_try(t, &all, out, how, msg))
		goto out;
	snprintf(whole, sizeof(whole), "%s with all of them: %s", how, msg);
	out->state = HV_QEMU_UNKNOWN;
	if (judge_try(t, &none, out, how, msg)) {
		out->unknown_why =
			xasprintf("%s with -cpu host alone: %s", how, msg);
		goto out;
	}
	judge_each(want, t, out);
	if (out->refused.n)
		out->state = HV_QEMU_REFUSED;
	else
		out->unknown_why = xasprintf("%s, though it starts with each "
					     "alone",
					     whole);
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

void hv_verdict_free(struct host_hv_qemu *q)
{
	strv_free(&q->refused);
	strv_free(&q->why);
	free(q->unknown_why);
	memset(q, 0, sizeof(*q));
}

/* "ok", "unknown\tWHY" or "refused\tNAME\tWHY...": the texts hold no tab
 * or newline (hv_text makes sure). */
char *hv_verdict_format(const struct host_hv_qemu *q)
{
	char *s, *t;

	if (q->state == HV_QEMU_OK)
		return xstrdup("ok");
	if (q->state == HV_QEMU_UNKNOWN)
		return xasprintf("unknown\t%s", q->unknown_why);
	s = xstrdup("refused");
	for (size_t i = 0; i < q->refused.n; i++) {
		t = xasprintf("%s\t%s\t%s", s, q->refused.v[i], q->why.v[i]);
		free(s);
		s = t;
	}
	return s;
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
