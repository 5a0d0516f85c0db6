/* host.h: a read-only view of the host, enough to plan: PCI functions,
 * CPUs, NUMA nodes, hugepages, firmware files, the QEMU binary. */
#ifndef VMRUN_HOST_H
#define VMRUN_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

#define PCI_CLASS_VGA	     0x0300
#define PCI_CLASS_AUDIO	     0x0403
#define PCI_CLASS_BRIDGE_PCI 0x0604

struct host_pci {
	struct pci_addr addr;
	unsigned cls; /* base class << 8 | subclass, e.g. 0x0300 */
	unsigned vendor, device;
	unsigned sub_vendor, sub_device; /* 0 when none */
	char driver[64];		 /* "" when unbound */
	char driver_override[64];	 /* "" when none */
	int iommu_group;		 /* -1 when no IOMMU */
	int numa_node;			 /* -1 when unknown */
	bool boot_vga;
	bool is_bridge;	       /* header type 1 (PCI-to-PCI) or class 0x0604 */
	char name[256];	       /* "Vendor Device" from libpci's ID database */
	char class_name[128];  /* "VGA compatible controller", the same */
	char reset_method[64]; /* sysfs reset_method ("flr bus"), "" if none */
};

struct host_node {
	int id;
	struct cpulist cpus;
	uint64_t mem_total, mem_free; /* bytes */
};

/* One hugepage pool: per node, per size. */
struct host_hugepool {
	int node;
	unsigned long size_kb; /* 2048, 1048576 */
	long nr, free;
};

struct host_qemu {
	char *path; /* resolved binary, NULL when not found */
	int major, minor, micro;
};

struct host {
	struct host_pci *pci;
	size_t npci;
	int ncpus;
	/* [ncpus] core of each CPU: the lowest CPU among its SMT siblings, so
	 * siblings are equal; -1 for an offline CPU */
	int *core_of;
	int threads_per_core;
	bool cpu_amd; /* AuthenticAMD: topoext for SMT guests */
	struct host_node *nodes;
	size_t nnodes;
	struct host_hugepool *pools;
	size_t npools;
	char *ovmf_code, *ovmf_vars; /* first found pair, NULL when none */
	char *ovmf_code_sb, *ovmf_vars_sb; /* secure-boot pair */
	struct host_qemu qemu;
	char cmdline[4096]; /* /proc/cmdline */
	bool cgroup2;	    /* unified hierarchy at /sys/fs/cgroup */
	/* /sys/class/dmi/id fields for [smbios] mode = host; NULL if absent */
	char *dmi_bios_vendor, *dmi_bios_version, *dmi_bios_date;
	char *dmi_sys_vendor, *dmi_product_name, *dmi_product_version,
		*dmi_product_serial, *dmi_product_uuid, *dmi_product_sku,
		*dmi_product_family;
	char *dmi_board_vendor, *dmi_board_name, *dmi_board_version,
		*dmi_board_serial;
	char *dmi_chassis_vendor, *dmi_chassis_version, *dmi_chassis_serial;
};

/* What host_probe also fills in. Device names cost the parse of the whole
 * PCI ID database (several ms): a start without passthrough skips it. */
enum host_probe_flags {
	HOST_PCI_NAMES = 1 << 0, /* host_pci.name and class_name */
};

/* Read the host under hostfs_root(). qemu is the profile's binary (NULL
 * for qemu-system-x86_64 on PATH). Missing optional parts (no IOMMU, no
 * NUMA, no OVMF) are left empty, not errors. */
int host_probe(struct host *h, const char *qemu, unsigned flags,
	       struct vr_error *err);
void host_free(struct host *h);

const struct host_pci *host_pci_find(const struct host *h,
				     const struct pci_addr *a);
/* Enumerate PCI functions with libpci (sysfs under the host root). */
int host_pci_scan(struct host *h, unsigned flags, struct vr_error *err);
/* Parse `qemu -version` output ("QEMU emulator version 7.2.22 ...") into
 * q's version numbers. 0, or -EINVAL when it is not there. */
int host_qemu_parse_version(const char *out, struct host_qemu *q);
/* The pool for (node, size), or NULL. */
const struct host_hugepool *host_pool_find(const struct host *h, int node,
					   unsigned long size_kb);

#endif
