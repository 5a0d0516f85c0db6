/* kvm.c: whether KVM works on this host, judged by using /dev/kvm as QEMU
 * will (a nested KVM works without vmx/svm in /proc/cpuinfo), and the
 * Hyper-V enlightenments it offers (KVM_GET_SUPPORTED_HV_CPUID). */
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define HV_FEATURES  0x40000003u
#define HV_RECOMMEND 0x40000004u
#define HV_ENTRIES   64

enum hv_reg {
	HV_EAX,
	HV_EDX
};

/* The CPUID bits QEMU checks before it turns an enlightenment on
 * (target/i386/kvm/kvm.c, kvm_hyperv_properties), and what each needs. */
static const struct hv_prop {
	const char *name;
	struct {
		uint32_t leaf;
		enum hv_reg reg;
		uint32_t bits;
	} flags[2];
	const char *needs[2];
} hv_props[] = {
	{"relaxed", {{HV_RECOMMEND, HV_EAX, 1u << 5}}, {NULL}},
	{"vapic", {{HV_FEATURES, HV_EAX, 1u << 4}}, {NULL}},
	{"time", {{HV_FEATURES, HV_EAX, 1u << 1 | 1u << 9}}, {NULL}},
	{"crash", {{HV_FEATURES, HV_EDX, 1u << 10}}, {NULL}},
	{"reset", {{HV_FEATURES, HV_EAX, 1u << 7}}, {NULL}},
	{"vpindex", {{HV_FEATURES, HV_EAX, 1u << 6}}, {NULL}},
	{"runtime", {{HV_FEATURES, HV_EAX, 1u << 0}}, {NULL}},
	{"synic", {{HV_FEATURES, HV_EAX, 1u << 2}}, {"vpindex"}},
	{"stimer", {{HV_FEATURES, HV_EAX, 1u << 3}}, {"synic", "time"}},
	{"frequencies",
	 {{HV_FEATURES, HV_EAX, 1u << 11}, {HV_FEATURES, HV_EDX, 1u << 8}},
	 {NULL}},
	{"reenlightenment", {{HV_FEATURES, HV_EAX, 1u << 13}}, {NULL}},
	{"tlbflush", {{HV_RECOMMEND, HV_EAX, 1u << 2 | 1u << 11}}, {"vpindex"}},
	{"evmcs", {{HV_RECOMMEND, HV_EAX, 1u << 14}}, {"vapic"}},
	{"ipi", {{HV_RECOMMEND, HV_EAX, 1u << 10 | 1u << 11}}, {"vpindex"}},
	{"stimer-direct", {{HV_FEATURES, HV_EDX, 1u << 19}}, {"stimer"}},
};

static const struct hv_prop *hv_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(hv_props); i++)
		if (!strcmp(hv_props[i].name, name))
			return &hv_props[i];
	return NULL;
}

const char *kvm_hv_name(size_t i)
{
	return i < ARRAY_SIZE(hv_props) ? hv_props[i].name : NULL;
}

const char *const *kvm_hv_needs(const char *name)
{
	const struct hv_prop *p = hv_find(name);

	return p ? p->needs : NULL;
}

static uint32_t hv_reg(const struct host_kvm *k, uint32_t leaf, enum hv_reg r)
{
	if (leaf == HV_RECOMMEND)
		return k->hv_recommend_eax;
	return r == HV_EAX ? k->hv_features_eax : k->hv_features_edx;
}

bool kvm_hv_offered(const struct host_kvm *k, const char *name)
{
	const struct hv_prop *p = hv_find(name);

	/* spinlocks, vendor-id and the like need nothing from KVM */
	if (!k->hv_known || !p)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(p->flags); i++)
		if (p->flags[i].bits &&
		    (hv_reg(k, p->flags[i].leaf, p->flags[i].reg) &
		     p->flags[i].bits) != p->flags[i].bits)
			return false;
	return true;
}

/* The system ioctl (KVM_CAP_SYS_HYPERV_CPUID, Linux 5.11); older kernels
 * answer it per vCPU only, and are left unknown. */
static void kvm_probe_hv(struct host_kvm *k, int fd)
{
	struct kvm_cpuid2 *c;

	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SYS_HYPERV_CPUID) <= 0)
		return;
	c = xcalloc(1, sizeof(*c) + HV_ENTRIES * sizeof(c->entries[0]));
	c->nent = HV_ENTRIES;
	if (!ioctl(fd, KVM_GET_SUPPORTED_HV_CPUID, c)) {
		for (uint32_t i = 0; i < c->nent; i++) {
			const struct kvm_cpuid_entry2 *e = &c->entries[i];

			if (e->function == HV_FEATURES) {
				k->hv_features_eax = e->eax;
				k->hv_features_edx = e->edx;
			} else if (e->function == HV_RECOMMEND) {
				k->hv_recommend_eax = e->eax;
			}
		}
		k->hv_known = true;
	}
	free(c);
}

void kvm_probe(struct host_kvm *k)
{
	cleanup_free char *path = hostfs_path("/dev/kvm");
	cleanup_close int fd = -1;
	int vm;

	memset(k, 0, sizeof(*k));
	k->probed = true;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		k->state = errno == ENOENT ? KVM_ABSENT : KVM_UNUSABLE;
		snprintf(k->why, sizeof(k->why), "cannot open /dev/kvm: %s",
			 strerror(errno));
		return;
	}
	k->api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (k->api != KVM_API_VERSION) {
		k->state = KVM_UNUSABLE;
		if (k->api < 0)
			snprintf(k->why, sizeof(k->why),
				 "KVM_GET_API_VERSION on /dev/kvm failed: %s",
				 strerror(errno));
		else
			snprintf(k->why, sizeof(k->why),
				 "/dev/kvm has API version %d, not %d", k->api,
				 KVM_API_VERSION);
		return;
	}
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		k->state = KVM_UNUSABLE;
		snprintf(k->why, sizeof(k->why), "KVM_CREATE_VM failed: %s",
			 strerror(errno));
		return;
	}
	close(vm);
	k->state = KVM_OK;
	kvm_probe_hv(k, fd);
}
