/* doctor_check.h: what the checks of `vmrun doctor` share (private to
 * doctor*.c): the loaded context, the check table's row, the report call. */
#ifndef VMRUN_DOCTOR_CHECK_H
#define VMRUN_DOCTOR_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "base/base.h"
#include "host/host.h"
#include "engine/engine.h"
#include "profile/profile.h"

enum doctor_status {
	DOCTOR_OK,
	DOCTOR_WARN,
	DOCTOR_FAIL,
	DOCTOR_SKIP
};

struct doctor {
	FILE *out;
	const char *profile_path; /* NULL: host checks only */
	struct profile profile;
	const struct profile *p; /* NULL: no profile, or it did not parse */
	struct vr_error profile_err;
	struct host host;
	const struct host *h;	  /* NULL: the host could not be read */
	struct vr_error host_err; /* why h is NULL */
	struct vr_error qemu_err; /* the QEMU probe failed (h still read) */
	struct plan plan;
	bool planned;
	struct vr_error plan_err;
	unsigned count[DOCTOR_SKIP + 1];
};

struct doctor_check {
	const char *name;
	void (*run)(struct doctor *d, const struct doctor_check *c);
	const char *fix; /* shown under a warn or FAIL unless run gives one */
};

/* Print one line of check c: status, name, detail; the fix (fix, else
 * c->fix; "" for none, when the detail gives its own advice) under a warn
 * or FAIL. */
void doctor_report(struct doctor *d, const struct doctor_check *c,
		   enum doctor_status st, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* doctor_host.c: the CPU, the kernel and its modules. */
void doctor_check_host_view(struct doctor *d, const struct doctor_check *c);
void doctor_check_virt(struct doctor *d, const struct doctor_check *c);
void doctor_check_kvm(struct doctor *d, const struct doctor_check *c);
void doctor_check_vcpu(struct doctor *d, const struct doctor_check *c);
void doctor_check_hyperv(struct doctor *d, const struct doctor_check *c);
void doctor_check_iommu(struct doctor *d, const struct doctor_check *c);
void doctor_check_cmdline(struct doctor *d, const struct doctor_check *c);
void doctor_check_vfio(struct doctor *d, const struct doctor_check *c);
void doctor_check_msrs(struct doctor *d, const struct doctor_check *c);
void doctor_check_cgroup(struct doctor *d, const struct doctor_check *c);
void doctor_check_memlock(struct doctor *d, const struct doctor_check *c);

/* doctor_profile.c: what one profile needs: memory, programs, the plan. */
void doctor_check_profile(struct doctor *d, const struct doctor_check *c);
void doctor_check_hugepages(struct doctor *d, const struct doctor_check *c);
void doctor_check_ovmf(struct doctor *d, const struct doctor_check *c);
void doctor_check_qemu(struct doctor *d, const struct doctor_check *c);
void doctor_check_swtpm(struct doctor *d, const struct doctor_check *c);
void doctor_check_audio(struct doctor *d, const struct doctor_check *c);
void doctor_check_kvmfr(struct doctor *d, const struct doctor_check *c);
void doctor_check_plan(struct doctor *d, const struct doctor_check *c);
void doctor_check_devices(struct doctor *d, const struct doctor_check *c);

/* Shared by both: does the check matter for this profile (all do
 * without one)? */
bool doctor_needs_kvm(const struct doctor *d);
bool doctor_needs_passthrough(const struct doctor *d);

#endif
