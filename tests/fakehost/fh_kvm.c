/* fh_kvm.c: /dev/kvm of a fake host root: the system ioctls vmrun uses to
 * judge KVM (API version, creating a VM, the Hyper-V CPUID leaves). */

/*
 * ROOT/dev/kvm is a plain file; ROOT/.fakehost/kvm (written by the
 * builder from the fixture's kvm line) says what it answers:
 *   vm ok|EBUSY                     KVM_CREATE_VM succeeds or fails
 *   hv LEAF EAX EBX ECX EDX         one KVM_GET_SUPPORTED_HV_CPUID entry
 * A VM is an fd of /dev/null: closing it is all vmrun does with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fh_shim.h"

#define KVM_API 12

/* Whether fd is ROOT/dev/kvm. */
bool fh_is_kvm_fd(int fd)
{
	char link[64], path[PATH_MAX], want[PATH_MAX];
	ssize_t n;

	if (!fh_root_load())
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return !strcmp(path, fh_pathf(want, "%s/dev/kvm", fh_root));
}

static FILE *kvm_state(void)
{
	char p[PATH_MAX];

	return fopen(fh_pathf(p, "%s/.fakehost/kvm", fh_root), "re");
}

static int create_vm(void)
{
	char line[256];
	FILE *f = kvm_state();
	int e = 0;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "vm ", 3) && strncmp(line + 3, "ok", 2))
			e = EBUSY;
	if (f)
		fclose(f);
	if (!f || e) {
		errno = f ? e : ENODEV;
		return -1;
	}
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

/* Fill the caller's kvm_cpuid2 as the kernel does: E2BIG when nent is
 * too small for every entry. */
static int hv_cpuid(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 e = {0};
	unsigned leaf, a, b, cx, d;
	char line[256];
	FILE *f = kvm_state();
	__u32 n = 0;

	if (!f) {
		errno = ENODEV;
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "hv %x %x %x %x %x", &leaf, &a, &b, &cx, &d) !=
		    5)
			continue;
		if (n < c->nent) {
			e.function = leaf;
			e.eax = a;
			e.ebx = b;
			e.ecx = cx;
			e.edx = d;
			c->entries[n] = e;
		}
		n++;
	}
	fclose(f);
	if (n > c->nent) {
		errno = E2BIG;
		return -1;
	}
	c->nent = n;
	return 0;
}

int fh_kvm_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd;
	switch (req) {
	case KVM_GET_API_VERSION:
		return KVM_API;
	case KVM_CREATE_VM:
		return create_vm();
	case KVM_CHECK_EXTENSION:
		return (unsigned long)arg == KVM_CAP_SYS_HYPERV_CPUID;
	case KVM_GET_SUPPORTED_HV_CPUID:
		return hv_cpuid(arg);
	}
	errno = EINVAL;
	return -1;
}
