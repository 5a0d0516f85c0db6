/* test_hv_verdict.c: finding whether QEMU can start a vCPU of a CPU model
 * at all, and which Hyper-V enlightenments it cannot start one with, from
 * tries of sets (a QEMU played by a table), and the verdict's line in the
 * cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"
#include "host/qemu_probe.h"
#include "base/base.h"

/* A QEMU on some kernel: a try fails when its -cpu holds one of bad (with
 * how and msg of that entry), or holds all of pair (an interaction). */
struct fake_qemu {
	const char *const *bad;	 /* "hv-vapic=on", ... NULL-ended */
	const char *const *how;	 /* how and msg for each of bad */
	const char *const *pair; /* two args failing only together, or NULL */
	bool host_fails;	 /* even -cpu host alone, saying why */
	int host_answer;	 /* how it fails: HV_TRY_REFUSED, or UNSURE */
	const char *starts;	 /* the one named model that starts */
	struct strv tried;	 /* each try's args, comma-joined */
	struct strv models;	 /* each try's model */
};

static bool has(const struct strv *args, const char *a)
{
	for (size_t i = 0; i < args->n; i++)
		if (!strcmp(args->v[i], a))
			return true;
	return false;
}

static int fake_run(void *ctx, const char *model, const struct strv *args,
		    char *how, size_t hlen, char *msg, size_t mlen)
{
	struct fake_qemu *q = ctx;
	char *s = xstrdup("");

	for (size_t i = 0; i < args->n; i++) {
		char *t = xasprintf("%s%s%s", s, i ? "," : "", args->v[i]);

		free(s);
		s = t;
	}
	strv_add(&q->tried, s);
	strv_add(&q->models, model);
	free(s);
	if (q->starts && !strcmp(model, q->starts))
		return HV_TRY_STARTS;
	if (q->host_fails && q->host_answer == HV_TRY_UNSURE) {
		snprintf(how, hlen, "hangs");
		snprintf(msg, mlen, "no QMP answer within 400 ms");
		return HV_TRY_UNSURE;
	}
	if (q->host_fails) {
		snprintf(how, hlen, "aborts");
		snprintf(msg, mlen, "failed to set MSR 0x10a to 0x69");
		return HV_TRY_REFUSED;
	}
	for (size_t i = 0; q->bad && q->bad[i]; i++)
		if (has(args, q->bad[i])) {
			snprintf(how, hlen, "%s", q->how[2 * i]);
			snprintf(msg, mlen, "%s", q->how[2 * i + 1]);
			return HV_TRY_REFUSED;
		}
	if (q->pair && has(args, q->pair[0]) && has(args, q->pair[1])) {
		snprintf(how, hlen, "fails");
		snprintf(msg, mlen, "they do not get along");
		return HV_TRY_REFUSED;
	}
	return HV_TRY_STARTS;
}

#define DEFAULT_LIST                                                           \
	"relaxed,vapic,spinlocks=8191,vpindex,runtime,synic,stimer,reset,"     \
	"frequencies,tlbflush,time"

static const char *const named[] = {"EPYC", "qemu64", NULL};

/* The verdict of q on list ("relaxed,vapic"; "" for none) with -cpu model. */
static void judge_model(struct fake_qemu *q, const char *model,
			const char *list, struct host_hv_qemu *v)
{
	struct hv_try t = {
		.run = fake_run, .ctx = q, .model = model, .named = named};
	char *copy = xstrdup(list), *save = NULL;
	struct strv want = {0};

	for (char *w = strtok_r(copy, ",", &save); w;
	     w = strtok_r(NULL, ",", &save))
		strv_add(&want, w);
	hv_verdict_judge(&want, &t, v);
	strv_free(&want);
	free(copy);
}

static void judge(struct fake_qemu *q, const char *list, struct host_hv_qemu *v)
{
	judge_model(q, "host", list, v);
}

static void done(struct fake_qemu *q, struct host_hv_qemu *v)
{
	hv_verdict_free(v);
	strv_free(&q->tried);
	strv_free(&q->models);
}

/* The cloud host's QEMU 7.2: hv-vapic and hv-time abort, hv-vpindex is
 * refused; what needs vpindex or time is never tried on its own. */
static void test_culprits(void **state)
{
	static const char *const bad[] = {"hv-vapic=on", "hv-time=on",
					  "hv-vpindex=on", NULL};
	static const char *const how[] = {
		"aborts", "failed to set MSR 0x40000073 to 0x0",
		"aborts", "failed to set MSR 0x40000021 to 0x0",
		"fails",  "kernel doesn't allow setting HyperV VP_INDEX"};
	struct fake_qemu q = {.bad = bad, .how = how};
	struct host_hv_qemu v;

	(void)state;
	judge(&q, DEFAULT_LIST, &v);
	assert_int_equal(v.state, HV_QEMU_REFUSED);
	/* the whole list, -cpu host, then the 8 that need nothing */
	assert_int_equal(v.runs, 10);
	assert_int_equal(q.tried.n, 10);
	assert_string_equal(q.tried.v[1], "");
	assert_string_equal(q.tried.v[3], "hv-vapic=on");
	assert_string_equal(q.tried.v[4], "hv-spinlocks=8191");
	assert_int_equal(v.refused.n, 3);
	assert_string_equal(v.refused.v[0], "vapic");
	assert_string_equal(v.refused.v[1], "vpindex");
	assert_string_equal(v.refused.v[2], "time");
	assert_string_equal(hv_verdict_refused(&v, "vapic"),
			    "aborts with hv-vapic: failed to set MSR "
			    "0x40000073 to 0x0");
	assert_string_equal(hv_verdict_refused(&v, "vpindex"),
			    "fails with hv-vpindex: kernel doesn't allow "
			    "setting HyperV VP_INDEX");
	assert_null(hv_verdict_refused(&v, "relaxed"));
	assert_null(hv_verdict_refused(&v, "synic"));
	done(&q, &v);
}

/* A feature is tried with what it needs, values kept: synic alone is
 * "hv-vpindex,hv-synic"; stimer, after them, with synic's and time's. */
static void test_needs_first(void **state)
{
	static const char *const bad[] = {"hv-time=on", NULL};
	static const char *const how[] = {"aborts", "failed to set MSR"};
	struct fake_qemu q = {.bad = bad, .how = how};
	struct host_hv_qemu v;

	(void)state;
	/* listed before what it needs: still judged after it */
	judge(&q, "stimer,synic,vpindex,time", &v);
	assert_int_equal(v.state, HV_QEMU_REFUSED);
	assert_int_equal(v.refused.n, 1);
	assert_string_equal(v.refused.v[0], "time");
	/* whole, host, vpindex, time (depth 0), synic (1); stimer needs time */
	assert_int_equal(q.tried.n, 5);
	assert_string_equal(q.tried.v[2], "hv-vpindex=on");
	assert_string_equal(q.tried.v[3], "hv-time=on");
	assert_string_equal(q.tried.v[4], "hv-vpindex=on,hv-synic=on");
	done(&q, &v);
}

static void test_all_start(void **state)
{
	struct fake_qemu q = {0};
	struct host_hv_qemu v;

	(void)state;
	judge(&q, DEFAULT_LIST, &v);
	assert_int_equal(v.state, HV_QEMU_OK);
	assert_int_equal(v.runs, 1);
	assert_string_equal(q.tried.v[0],
			    "hv-relaxed=on,hv-vapic=on,hv-spinlocks=8191,"
			    "hv-vpindex=on,hv-runtime=on,hv-synic=on,"
			    "hv-stimer=on,hv-reset=on,hv-frequencies=on,"
			    "hv-tlbflush=on,hv-time=on");
	assert_null(hv_verdict_refused(&v, "vapic"));
	done(&q, &v);
}

/* QEMU that cannot start a vCPU of the model at all, and says why: the
 * model is to blame, no enlightenment; a named model that starts is
 * found for the fix. */
static void test_host_fails(void **state)
{
	struct fake_qemu q = {.host_fails = true, .starts = "qemu64"};
	struct host_hv_qemu v;

	(void)state;
	judge(&q, DEFAULT_LIST, &v);
	assert_int_equal(v.state, HV_QEMU_NO_VCPU);
	/* all, host alone, then EPYC (fails) and qemu64 (starts) */
	assert_int_equal(v.runs, 4);
	assert_string_equal(q.models.v[1], "host");
	assert_string_equal(q.tried.v[1], "");
	assert_string_equal(q.models.v[2], "EPYC");
	assert_string_equal(q.tried.v[2], "");
	assert_string_equal(v.vcpu_why, "aborts with -cpu host: failed to set "
					"MSR 0x10a to 0x69");
	assert_string_equal(v.starts, "qemu64");
	assert_null(v.unknown_why);
	assert_null(hv_verdict_refused(&v, "relaxed"));
	done(&q, &v);
}

/* With no enlightenment asked, the one try is the model alone. */
static void test_model_alone(void **state)
{
	struct fake_qemu q = {0};
	struct host_hv_qemu v;

	(void)state;
	judge_model(&q, "EPYC-Rome", "", &v);
	assert_int_equal(v.state, HV_QEMU_OK);
	assert_int_equal(v.runs, 1);
	assert_string_equal(q.models.v[0], "EPYC-Rome");
	assert_string_equal(q.tried.v[0], "");
	done(&q, &v);
	/* it fails: the named models are tried, but not the model itself */
	q.host_fails = true;
	judge_model(&q, "EPYC", "", &v);
	assert_int_equal(v.state, HV_QEMU_NO_VCPU);
	assert_int_equal(v.runs, 2);
	assert_string_equal(q.models.v[1], "qemu64");
	assert_string_equal(v.vcpu_why, "aborts with -cpu EPYC: failed to set "
					"MSR 0x10a to 0x69");
	assert_null(v.starts);
	done(&q, &v);
}

/* A hang (or an end without a word) is no refusal: nobody is blamed, the
 * model neither, and no named model is tried. */
static void test_host_unsure(void **state)
{
	struct fake_qemu q = {.host_fails = true, .host_answer = HV_TRY_UNSURE};
	struct host_hv_qemu v;

	(void)state;
	judge(&q, "", &v);
	assert_int_equal(v.state, HV_QEMU_UNKNOWN);
	assert_int_equal(v.runs, 1);
	assert_string_equal(v.unknown_why, "hangs with -cpu host alone: no "
					   "QMP answer within 400 ms");
	assert_null(v.vcpu_why);
	done(&q, &v);
	judge(&q, DEFAULT_LIST, &v);
	assert_int_equal(v.state, HV_QEMU_UNKNOWN);
	assert_int_equal(v.runs, 2);
	assert_null(hv_verdict_refused(&v, "relaxed"));
	done(&q, &v);
}

/* Two that fail only together: no one culprit, nothing left out. */
static void test_only_together(void **state)
{
	static const char *const pair[] = {"hv-relaxed=on", "hv-reset=on"};
	struct fake_qemu q = {.pair = pair};
	struct host_hv_qemu v;

	(void)state;
	judge(&q, "relaxed,reset", &v);
	assert_int_equal(v.state, HV_QEMU_UNKNOWN);
	assert_int_equal(v.runs, 4);
	assert_string_equal(v.unknown_why,
			    "fails with all of them: they do not get along, "
			    "though it starts with each alone");
	assert_null(hv_verdict_refused(&v, "relaxed"));
	done(&q, &v);
}

static void test_cache_line(void **state)
{
	struct host_hv_qemu v = {.state = HV_QEMU_REFUSED}, back;
	struct host_qemu qemu = {.major = 7, .minor = 2};
	struct strv names = {0};
	char *line, *text;

	(void)state;
	strv_add(&v.refused, "vapic");
	strv_add(&v.why, "aborts with hv-vapic: failed to set MSR 0x40000073");
	strv_add(&v.refused, "vpindex");
	strv_add(&v.why, "fails with hv-vpindex: kernel doesn't allow it");
	line = hv_verdict_format(&v);
	assert_string_equal(line, "refused\tvapic\taborts with hv-vapic: "
				  "failed to set MSR 0x40000073\tvpindex\t"
				  "fails with hv-vpindex: kernel doesn't "
				  "allow it");
	assert_int_equal(hv_verdict_parse(line, &back), 0);
	assert_int_equal(back.state, HV_QEMU_REFUSED);
	assert_string_equal(hv_verdict_refused(&back, "vpindex"),
			    "fails with hv-vpindex: kernel doesn't allow it");
	strv_add(&names, "relaxed");
	strv_add(&names, "vapic");
	strv_add(&names, "vpindex");
	text = hv_verdict_text(&back, &qemu, &names);
	assert_string_equal(text, "QEMU 7.2 on this kernel aborts with "
				  "hv-vapic: failed to set MSR 0x40000073; "
				  "fails with hv-vpindex: kernel doesn't "
				  "allow it");
	free(text);
	free(line);
	hv_verdict_free(&back);
	hv_verdict_free(&v);
	strv_free(&names);
	assert_int_equal(hv_verdict_parse("ok", &back), 0);
	assert_int_equal(back.state, HV_QEMU_OK);
	assert_int_equal(hv_verdict_parse("unknown\thangs", &back), 0);
	assert_string_equal(back.unknown_why, "hangs");
	hv_verdict_free(&back);
	assert_int_equal(hv_verdict_parse("novcpu", &back), -EINVAL);
	assert_int_equal(hv_verdict_parse("novcpu\twhy\tEPYC\tmore", &back),
			 -EINVAL);
	assert_int_equal(hv_verdict_parse("refused\tvapic", &back), -EINVAL);
	assert_int_equal(hv_verdict_parse("refused", &back), -EINVAL);
	assert_int_equal(hv_verdict_parse("ok\tmore", &back), -EINVAL);
	assert_int_equal(hv_verdict_parse("", &back), -EINVAL);
}

/* The no-vCPU verdict in the cache, with and without a model that
 * starts, and its sentence and fix. */
static void test_no_vcpu_line(void **state)
{
	struct host_hv_qemu v = {.state = HV_QEMU_NO_VCPU}, back;
	struct host_qemu qemu = {.major = 7, .minor = 2, .path = "/usr/bin/q"};
	char *line, *text;

	(void)state;
	v.vcpu_why = xstrdup("aborts with -cpu host: failed to set MSR 0x10a "
			     "to 0x69");
	v.starts = xstrdup("EPYC");
	line = hv_verdict_format(&v);
	assert_string_equal(line, "novcpu\taborts with -cpu host: failed to "
				  "set MSR 0x10a to 0x69\tEPYC");
	assert_int_equal(hv_verdict_parse(line, &back), 0);
	assert_int_equal(back.state, HV_QEMU_NO_VCPU);
	assert_string_equal(back.vcpu_why, v.vcpu_why);
	assert_string_equal(back.starts, "EPYC");
	assert_null(hv_verdict_refused(&back, "vapic"));
	text = hv_verdict_no_vcpu(&back, &qemu, "host");
	assert_string_equal(text, "QEMU 7.2 cannot start a vCPU of CPU model "
				  "host on this host's KVM (it aborts with "
				  "-cpu host: failed to set MSR 0x10a to "
				  "0x69)");
	free(text);
	text = hv_verdict_no_vcpu_fix(&back, &qemu);
	assert_string_equal(text, "set [cpu] model to a named model (EPYC "
				  "starts here; `/usr/bin/q -cpu help` lists "
				  "them), or [vm] accel = tcg (slow)");
	free(text);
	free(line);
	hv_verdict_free(&back);
	free(v.starts);
	v.starts = NULL;
	line = hv_verdict_format(&v);
	assert_string_equal(line, "novcpu\taborts with -cpu host: failed to "
				  "set MSR 0x10a to 0x69");
	assert_int_equal(hv_verdict_parse(line, &back), 0);
	assert_null(back.starts);
	text = hv_verdict_no_vcpu_fix(&back, &qemu);
	assert_string_equal(text, "set [cpu] model to a named model "
				  "(`/usr/bin/q -cpu help` lists them), or "
				  "[vm] accel = tcg (slow)");
	free(text);
	free(line);
	hv_verdict_free(&back);
	hv_verdict_free(&v);
	/* another verdict has no such sentence */
	v.state = HV_QEMU_OK;
	assert_null(hv_verdict_no_vcpu(&v, &qemu, "host"));
	assert_null(hv_verdict_no_vcpu_fix(&v, &qemu));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_culprits),
		cmocka_unit_test(test_needs_first),
		cmocka_unit_test(test_all_start),
		cmocka_unit_test(test_host_fails),
		cmocka_unit_test(test_model_alone),
		cmocka_unit_test(test_host_unsure),
		cmocka_unit_test(test_only_together),
		cmocka_unit_test(test_cache_line),
		cmocka_unit_test(test_no_vcpu_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
