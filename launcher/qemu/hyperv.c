/* hyperv.c: the Hyper-V enlightenments of -cpu: the profile's list, less
 * what the accelerator cannot give (TCG; a KVM that does not offer one, or
 * one QEMU cannot start a vCPU with on this kernel), and what depends on
 * those, with a warning or a refusal. */
#include "qemu/build.h"
#include "host/host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Hyper-V features TCG cannot give a guest: QEMU 7.2 refuses hv-vpindex
 * under TCG, the next ones need it (QEMU's hyperv.rst), and the evmcs
 * family describes KVM's nested VMX, which TCG does not have. */
static const char *const tcg_hv_refused[] = {
	"vpindex", "synic",	  "stimer",	  "stimer-direct",
	"ipi",	   "tlbflush",	  "tlbflush-ext", "tlbflush-direct",
	"evmcs",   "emsr-bitmap",
};

static bool tcg_refuses(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(tcg_hv_refused); i++)
		if (!strcmp(name, tcg_hv_refused[i]))
			return true;
	return false;
}

static bool listed(const struct strv *sv, const char *name)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], name))
			return true;
	return false;
}

/* A feature whose prerequisite is left out goes too. */
static bool needs_dropped(const char *name, const struct strv *lacks)
{
	const char *const *needs = kvm_hv_needs(name);

	for (size_t i = 0; needs && i < 2 && needs[i]; i++)
		if (listed(lacks, needs[i]))
			return true;
	return false;
}

/* What the host cannot give of the profile's list: what its KVM does not
 * offer, what QEMU on this kernel cannot start a vCPU with (hv_probe.c),
 * then what needs those, until nothing more goes. */
struct hv_gone {
	struct strv kvm, qemu, deps;
};

static void hv_gone_find(const struct qemu_build *b, struct hv_gone *g)
{
	const struct profile_hyperv *hv = &b->p->hyperv;
	bool more = true;

	for (size_t i = 0; i < hv->nfeatures; i++) {
		const char *n = hv->features[i].name;

		if (!kvm_hv_offered(&b->h->kvm, n))
			strv_add(&g->kvm, n);
		else if (hv_verdict_refused(&b->h->hv_qemu, n))
			strv_add(&g->qemu, n);
	}
	while (more) {
		more = false;
		for (size_t i = 0; i < hv->nfeatures; i++) {
			const char *n = hv->features[i].name;

			if (listed(&g->kvm, n) || listed(&g->qemu, n) ||
			    listed(&g->deps, n) ||
			    (!needs_dropped(n, &g->kvm) &&
			     !needs_dropped(n, &g->qemu) &&
			     !needs_dropped(n, &g->deps)))
				continue;
			strv_add(&g->deps, n);
			more = true;
		}
	}
}

static void hv_gone_free(struct hv_gone *g)
{
	strv_free(&g->kvm);
	strv_free(&g->qemu);
	strv_free(&g->deps);
}

static char *joined(const struct strv *sv)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < sv->n; i++) {
		char *t = xasprintf("%s%s%s", s, i ? "," : "", sv->v[i]);

		free(s);
		s = t;
	}
	return s;
}

/* " (and stimer,synic, which need them)", or "" */
static char *deps_text(const struct strv *deps)
{
	cleanup_free char *d = joined(deps);

	return deps->n ? xasprintf(" (and %s, which need them)", d)
		       : xstrdup("");
}

/* The start refused at the enlightenments line: the profile asks for
 * list, which the host cannot give (why). */
static int hv_refuse(struct qemu_build *b, const char *list, const char *why,
		     const struct hv_gone *g)
{
	cleanup_free char *at = profile_where(b->p, "hyperv", "enlightenments");
	cleanup_free char *d = deps_text(&g->deps);

	return vr_errorx(b->err, ENOTSUP,
			 "%s: [hyperv] enlightenments asks for %s, which %s. "
			 "Remove them%s, or set [hyperv] unsupported = drop to "
			 "leave them out with a warning",
			 at, list, why, d);
}

/* KVM lacks some: left out with a warning, or refused when the profile
 * says so. 0, or -errno with b->err filled. */
static int kvm_verdict(struct qemu_build *b, const struct hv_gone *g)
{
	cleanup_free char *l = joined(&g->kvm);
	cleanup_free char *d = deps_text(&g->deps);

	if (!g->kvm.n)
		return 0;
	if (b->p->hyperv.unsupported == HV_UNSUPPORTED_REFUSE)
		return hv_refuse(b, l,
				 "this host's KVM does not offer (KVM_GET_"
				 "SUPPORTED_HV_CPUID): QEMU would refuse to "
				 "start or abort",
				 g);
	strv_addf(b->warnings,
		  "this host's KVM does not offer the Hyper-V enlightenments "
		  "%s: left out%s",
		  l, g->qemu.n ? "" : d);
	return 0;
}

/* QEMU cannot start with some (it aborts, or refuses): the same. */
static int qemu_verdict(struct qemu_build *b, const struct hv_gone *g)
{
	cleanup_free char *l = joined(&g->qemu), *which = NULL;
	cleanup_free char *d = deps_text(&g->deps);
	cleanup_free char *why =
		hv_verdict_text(&b->h->hv_qemu, &b->h->qemu, &g->qemu);

	if (!g->qemu.n)
		return 0;
	if (b->p->hyperv.unsupported == HV_UNSUPPORTED_REFUSE) {
		which = xasprintf("QEMU cannot start a vCPU with here (%s)",
				  why);
		return hv_refuse(b, l, which, g);
	}
	strv_addf(b->warnings,
		  "%s: the Hyper-V enlightenments %s are left out%s", why, l,
		  d);
	return 0;
}

static int add_features(struct qemu_build *b, struct strv *f,
			const struct strv *gone, struct strv *tcg_gone)
{
	const struct profile_hyperv *hv = &b->p->hyperv;
	bool tcg = b->p->vm.accel == ACCEL_TCG;
	int r;

	for (size_t i = 0; i < hv->nfeatures; i++) {
		const struct hv_feature *hf = &hv->features[i];

		r = qb_check_token(b, "[hyperv] enlightenment", hf->name, "");
		if (!r && hf->value)
			r = qb_check_token(b, "[hyperv] enlightenment value",
					   hf->value, "");
		if (r)
			return r;
		if (tcg && tcg_refuses(hf->name)) {
			strv_add(tcg_gone, hf->name);
			continue;
		}
		if (listed(gone, hf->name))
			continue;
		strv_addf(f, "hv-%s=%s", hf->name,
			  hf->value ? hf->value : "on");
	}
	return 0;
}

int qemu_cpu_hyperv(struct qemu_build *b, struct strv *f)
{
	const struct profile_hyperv *hv = &b->p->hyperv;
	struct strv gone = {0}, tcg_gone = {0};
	struct hv_gone g = {0};
	cleanup_free char *tcg_list = NULL;
	size_t before = f->n;
	int r = 0;

	if (b->p->vm.accel == ACCEL_KVM)
		hv_gone_find(b, &g);
	for (size_t i = 0; i < g.kvm.n; i++)
		strv_add(&gone, g.kvm.v[i]);
	for (size_t i = 0; i < g.qemu.n; i++)
		strv_add(&gone, g.qemu.v[i]);
	for (size_t i = 0; i < g.deps.n; i++)
		strv_add(&gone, g.deps.v[i]);
	r = kvm_verdict(b, &g);
	if (!r)
		r = qemu_verdict(b, &g);
	if (!r)
		r = add_features(b, f, &gone, &tcg_gone);
	tcg_list = joined(&tcg_gone);
	if (!r && tcg_gone.n)
		strv_addf(b->warnings,
			  "accel = tcg: Hyper-V enlightenments %s left out "
			  "(TCG cannot provide them)",
			  tcg_list);
	if (!r && hv->vendor_id) {
		r = qb_check_token(b, "[hyperv] vendor-id", hv->vendor_id,
				   " !#$%&()*+/:;<=>?@[]^{|}~");
		if (!r && f->n == before)
			strv_add(b->warnings,
				 "[hyperv] vendor-id does not reach the guest: "
				 "QEMU sends it only with an enlightenment on, "
				 "and none is left");
		if (!r)
			strv_addf(f, "hv-vendor-id=%s", hv->vendor_id);
	}
	hv_gone_free(&g);
	strv_free(&gone);
	strv_free(&tcg_gone);
	return r;
}
