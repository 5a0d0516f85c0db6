/* pci.c: the PCI part of the host view: every function with its IDs,
 * class, driver, IOMMU group and names, read with libpci from sysfs. */
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCI_FILL_WANTED                                                        \
	(PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_DRIVER |                   \
	 PCI_FILL_IOMMU_GROUP | PCI_FILL_NUMA_NODE | PCI_FILL_SUBSYS)

/* libpci reports fatal errors through a callback that must not return
 * (its default exits). Ours jumps back to host_pci_scan, which turns the
 * message into an error; one scan at a time, like the rest of vmrun.
 * What libpci held at that moment (an open folder) is lost: it happens
 * once, on a broken sysfs, and beats exiting from library code. */
static jmp_buf pci_jmp;
static char pci_errmsg[512];

__attribute__((format(printf, 1, 2), noreturn)) static void
pci_on_error(char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pci_errmsg, sizeof(pci_errmsg), fmt, ap);
	va_end(ap);
	longjmp(pci_jmp, 1);
}

/* libpci warns, e.g., when config space beyond the header is not readable
 * by a user; what we use is readable, so the warning is not worth showing.
 */
__attribute__((format(printf, 1, 2))) static void pci_on_warning(char *fmt, ...)
{
	(void)fmt;
}

/* One attribute of a function's sysfs folder, "" when absent. */
static void pci_read_attr(const struct host_pci *p, const char *attr, char *buf,
			  size_t len)
{
	char bdf[16], path[96];
	struct vr_error ignored;

	pci_addr_format(&p->addr, bdf, sizeof(bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	if (hostfs_read(path, buf, len, &ignored))
		buf[0] = '\0';
}

/* What libpci does not read: driver_override, boot_vga, reset_method. */
static void pci_read_sysfs(struct host_pci *p)
{
	char vga[8];

	pci_read_attr(p, "driver_override", p->driver_override,
		      sizeof(p->driver_override));
	/* The kernel shows an unset override as "(null)". */
	if (!strcmp(p->driver_override, "(null)"))
		p->driver_override[0] = '\0';
	pci_read_attr(p, "boot_vga", vga, sizeof(vga));
	p->boot_vga = !strcmp(vga, "1");
	pci_read_attr(p, "reset_method", p->reset_method,
		      sizeof(p->reset_method));
}

static void pci_copy_string(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* Fill one host_pci from a libpci device. May longjmp (pci_on_error). */
static void pci_fill_one(struct pci_access *pacc, struct pci_dev *d,
			 struct host_pci *p, unsigned flags)
{
	const char *group;
	unsigned hdr;
	char dn[256];

	pci_fill_info(d, PCI_FILL_WANTED);
	p->addr.domain = (unsigned)d->domain;
	p->addr.bus = d->bus;
	p->addr.dev = d->dev;
	p->addr.fn = d->func;
	p->cls = d->device_class;
	p->vendor = d->vendor_id;
	p->device = d->device_id;
	p->sub_vendor = d->subsys_vendor_id;
	p->sub_device = d->subsys_id;
	p->numa_node = d->numa_node;
	pci_copy_string(p->driver, sizeof(p->driver),
			pci_get_string_property(d, PCI_FILL_DRIVER));
	group = pci_get_string_property(d, PCI_FILL_IOMMU_GROUP);
	p->iommu_group = group ? atoi(group) : -1;
	/* Header type 1 is a PCI-to-PCI bridge; the class says so too, and
	 * is all we have when config space cannot be read. */
	hdr = pci_read_byte(d, PCI_HEADER_TYPE) & 0x7f;
	p->is_bridge =
		hdr == PCI_HEADER_TYPE_BRIDGE || p->cls == PCI_CLASS_BRIDGE_PCI;
	if (flags & HOST_PCI_NAMES) {
		pci_lookup_name(pacc, p->name, sizeof(p->name),
				PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
				p->vendor, p->device);
		pci_lookup_name(pacc, p->class_name, sizeof(p->class_name),
				PCI_LOOKUP_CLASS, p->cls);
		pci_copy_string(p->device_name, sizeof(p->device_name),
				pci_lookup_name(pacc, dn, sizeof(dn),
						PCI_LOOKUP_DEVICE |
							PCI_LOOKUP_NO_NUMBERS,
						p->vendor, p->device));
	}
	pci_read_sysfs(p);
}

static int pci_cmp(const void *a, const void *b)
{
	const struct pci_addr *x = &((const struct host_pci *)a)->addr;
	const struct pci_addr *y = &((const struct host_pci *)b)->addr;
	unsigned kx = x->domain << 16 | x->bus << 8 | x->dev << 3 | x->fn;
	unsigned ky = y->domain << 16 | y->bus << 8 | y->dev << 3 | y->fn;

	return (kx > ky) - (kx < ky);
}

/* Scan and collect; may longjmp out through pci_on_error. */
static void pci_collect(struct pci_access *pacc, struct host *h, unsigned flags)
{
	size_t n = 0;

	pci_init(pacc);
	pci_scan_bus(pacc);
	for (struct pci_dev *d = pacc->devices; d; d = d->next)
		n++;
	h->pci = xcalloc(n ? n : 1, sizeof(*h->pci));
	for (struct pci_dev *d = pacc->devices; d; d = d->next)
		pci_fill_one(pacc, d, &h->pci[h->npci++], flags);
	/* readdir order is no order: sort by address for stable output. */
	qsort(h->pci, h->npci, sizeof(*h->pci), pci_cmp);
}

/* Names come from pci.ids, never udev's hwdb: libpci's hwdb lookup leaks
 * a udev context per call, and hwdb's PCI names are built from the same
 * database. Under a fake root, its own pci.ids holds the fixture's names;
 * a root without one (a host without the database) has no names, not the
 * names of the machine running vmrun. */
static char *pci_setup_names(struct pci_access *pacc)
{
	const char *root = hostfs_root();
	char *ids;

	pacc->id_lookup_mode |= PCI_LOOKUP_NO_HWDB;
	if (!strcmp(root, "/"))
		return NULL;
	ids = xasprintf("%s/usr/share/misc/pci.ids", root);
	pci_set_name_list_path(pacc, ids, 0);
	return ids;
}

bool host_pci_ids_present(void)
{
	static const char *const paths[] = {"/usr/share/misc/pci.ids",
					    "/usr/share/hwdata/pci.ids",
					    "/usr/share/pci.ids"};
	const char *root = hostfs_root();

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		cleanup_free char *p =
			strcmp(root, "/") ? xasprintf("%s%s", root, paths[i])
					  : xstrdup(paths[i]);

		if (!access(p, R_OK))
			return true;
		if (strcmp(root, "/"))
			break; /* a fake root holds it where pci.c looks */
	}
	return false;
}

int host_pci_scan(struct host *h, unsigned flags, struct vr_error *err)
{
	cleanup_free char *sysfs = hostfs_path("/sys/bus/pci");
	cleanup_free char *ids = NULL;
	struct pci_access *pacc;
	int r = 0;

	h->pci = NULL;
	h->npci = 0;
	/* No PCI bus (a container, some VMs): nothing to pass through. */
	if (!hostfs_exists("/sys/bus/pci/devices"))
		return 0;
	pacc = pci_alloc();
	pacc->error = pci_on_error;
	pacc->warning = pci_on_warning;
	pacc->debug = pci_on_warning;
	pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	ids = pci_setup_names(pacc);
	if (pci_set_param(pacc, "sysfs.path", sysfs))
		r = vr_errorx(err, ENOTSUP,
			      "libpci has no sysfs.path parameter: cannot "
			      "read PCI devices under %s",
			      sysfs);
	else if (setjmp(pci_jmp) == 0)
		pci_collect(pacc, h, flags);
	else
		r = vr_errorx(err, EIO, "reading PCI devices under %s: %s",
			      sysfs, pci_errmsg);
	pci_cleanup(pacc);
	return r;
}

/* The PCI function a sysfs device folder belongs to: the last path
 * component that is a PCI address (bridges come before it). */
bool host_pci_path_owner(const char *path, struct pci_addr *a)
{
	const char *devs = strstr(path, "/sys/devices/");
	bool found = false;
	char comp[32];

	for (const char *s = devs; s && *s; s = strchr(s + 1, '/')) {
		const char *c = *s == '/' ? s + 1 : s;
		size_t n = strcspn(c, "/");
		struct pci_addr t;

		if (n != 12)
			continue;
		snprintf(comp, sizeof(comp), "%.*s", (int)n, c);
		if (!pci_addr_parse(comp, &t)) {
			*a = t;
			found = true;
		}
	}
	return found;
}

const struct host_pci *host_pci_find(const struct host *h,
				     const struct pci_addr *a)
{
	for (size_t i = 0; i < h->npci; i++)
		if (pci_addr_eq(&h->pci[i].addr, a))
			return &h->pci[i];
	return NULL;
}
