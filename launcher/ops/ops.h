/* ops/ops.h: every host change with its planner (vfio, claims, consoles,
 * hugepages, cpusets, IRQs, Looking Glass, network, run-as, ACPI, files) and
 * the planner of a whole VM. The index of this folder's public API, by file. */
#ifndef VMRUN_OPS_OPS_H
#define VMRUN_OPS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"
#include "profile/profile.h"
#include "host/host.h"
#include "engine/engine.h"
#include "qemu/qemu.h"

/* acpi.c: the fake-battery SSDT vmrun hands to QEMU with -acpitable, for
 * laptop GPU drivers that refuse to run without a battery. */
/* A complete AML table (header with a correct checksum); caller frees. */
uint8_t *acpi_battery_ssdt(size_t *len);

/* claim.c: which VM uses which host PCI function and Looking Glass file.
 * A claim is a file /run/vmrun/claims/KEY holding "NAME PID", valid while
 * that pid lives (KEY: the BDF, or "file" and the escaped path). */
/* 0 when bdf is free for VM vm (no claim, a stale one, or vm's own);
 * -EBUSY with "BDF is in use by VM 'other' (vmrun pid N): stop it first
 * (vmrun stop other)" when a live vmrun of another VM holds it. */
int claim_check(const char *bdf, const char *vm, struct vr_error *err);
/* The same for a file (the Looking Glass shm file or kvmfr device). */
int claim_check_file(const char *path, const char *vm, struct vr_error *err);

/* Add the op that claims every [pci.*] host function and the Looking
 * Glass file of the VM, all at once under the host lock (journaled,
 * released on undo). Nothing when there is nothing to claim. */
void claim_plan(struct plan *plan, const struct profile *p);

extern const struct op_type claim_op;

/* file.c: the "file" op: a file vmrun generates for one run (the
 * fake-battery SSDT), created by apply and removed by undo. */
/* Add an op that creates abs (a host path, e.g. under /run/vmrun) with
 * these bytes and mode; the content travels hex-encoded in the journal. */
void file_plan(struct plan *plan, const char *abs, const void *data, size_t len,
	       unsigned mode, const char *what);

extern const struct op_type file_op_write;
extern const struct op_type file_op_cleanup;

/* console.c: what a host gives up when its boot GPU or only GPU goes to a
 * guest: display manager units, vtconsoles, efifb; and remove-rescan. */
/* Add, in this order: stop-unit per [host] stop-units, vtconsole-unbind
 * per bound vtconsole and efifb-unbind (when unbind-vtconsoles /
 * unbind-efifb say yes, or auto and a boot GPU is passed through), and
 * pci-remove-rescan per device with reset = remove-rescan. Warns about a
 * boot GPU. Pure. */
int console_plan(struct plan *plan, const struct profile *p,
		 const struct host *h, struct vr_error *err);

extern const struct op_type console_op_stop_unit, console_op_vtconsole,
	console_op_efifb, console_op_remove_rescan;
/* The names of the shared records (engine share.c) of an unbound
 * vtconsole and framebuffer: a console another VM unbound is planned too,
 * so this VM holds it as well. malloc'd. */
char *console_vtcon_key(const char *vtcon);
char *console_fb_key(const char *device);

/* cpuset.c: CPU isolation: host tasks confined to the host CPUs, QEMU in a
 * cgroup of its own, host IRQs steered off the guest's CPUs; all undone. */
/* Where QEMU's own cgroup lives (unrooted), under machine.slice as a
 * systemd host expects guests to be. */
#define CPUSET_CGROUP_ROOT   "/sys/fs/cgroup"
#define CPUSET_MACHINE_SLICE "/sys/fs/cgroup/machine.slice"

/* Check vcpu-pin and emulator-pin against the host (errors for CPUs it
 * does not have, warnings for pinning that hurts), and with [cpu] isolate
 * plan the cgroup, slice and IRQ ops (sets plan->paths.cgroup). */
int cpuset_plan(struct plan *plan, const struct profile *p,
		const struct host *h, struct vr_error *err);

/* The ops, for the engine's registry. */
extern const struct op_type cgroup_op_slice;	  /* "cpuset" */
extern const struct op_type cgroup_op_controller; /* "cgroup-controller" */
extern const struct op_type cgroup_op_qemu;	  /* "cgroup" */
extern const struct op_type irq_op_affinity;	  /* "irq-affinity" */

/* Pure set math on CPU lists, exposed for the unit tests. out is sorted
 * and owned by the caller. cpuset_online: the host's online CPUs. */
void cpuset_online(const struct host *h, struct cpulist *out);
void cpuset_minus(const struct cpulist *a, const struct cpulist *b,
		  struct cpulist *out);
void cpuset_union(const struct cpulist *a, const struct cpulist *b,
		  struct cpulist *out);
bool cpuset_intersects(const struct cpulist *a, const struct cpulist *b);
/* Same CPUs, in any order. */
bool cpuset_equal(const struct cpulist *a, const struct cpulist *b);
/* Same set, as kernel list text ("0-3,8"; "" is the empty set). */
bool cpuset_equal_text(const char *a, const char *b);
/* The kernel's hex mask syntax ("303", "1,00000003"); caller frees. */
char *cpuset_mask_format(const struct cpulist *cl);
/* Warnings about pinning that works but hurts (SMT cores split between
 * guest and host, guest SMT siblings on different host cores, emulator
 * CPUs shared with vCPUs); each one is added to warnings. */
void cpuset_pin_warnings(const struct profile *p, const struct host *h,
			 struct strv *warnings);

/* hugepages.c: guest RAM on hugepages: the planner that picks the NUMA node,
 * the pool and the hugetlbfs folder, and the ops that reserve and release. */
/* The host NUMA node guest memory comes from: [memory] numa-node, or with
 * auto the node of the first passed-through device that has one, else 0.
 * The QEMU argv binds host-nodes to the same node. */
int hugepages_node(const struct profile *p, const struct host *h);
/* The same, but -1 when nothing names a node (auto without a device). */
int hugepages_node_known(const struct profile *p, const struct host *h);
/* The node guest RAM is bound to, decided once for the plan and the argv:
 * hugepages_node() with hugepages, else hugepages_node_known(). */
int hugepages_guest_node(const struct profile *p, const struct host *h);

/* Plan the hugepage reservation, the hugetlbfs mount and the per-VM folder
 * (sets plan->paths.hugepage_dir). Nothing without [memory] hugepages.
 * Refuses what cannot work before anything changes: no such pool, no such
 * node, memory not a whole number of pages, more than the node holds. */
int hugepages_plan(struct plan *plan, const struct profile *p,
		   const struct host *h, struct vr_error *err);

/* Part of hugepages_plan: find or mount a hugetlbfs of size_kb pages and
 * plan the per-VM folder in it. */
int hugetlbfs_plan_folder(struct plan *plan, const struct profile *p,
			  unsigned long size_kb, struct vr_error *err);

/* path is VM vm's guest RAM folder: vmrun-VM directly in a hugetlbfs
 * mount (per the host's /proc/mounts) or in one of vmrun's own. */
bool hugetlbfs_is_vm_dir(const char *path, const char *vm);

/* The ops, for the engine's registry. */
extern const struct op_type hugepages_op_reserve; /* "hugepages" */
extern const struct op_type hugetlbfs_op_mount;	  /* "hugetlbfs-mount" */
extern const struct op_type hugetlbfs_op_dir;	  /* "hugepage-dir" */

/* Pure parts, exposed for the unit tests. */

/* Mount point of a usable hugetlbfs mount of size_kb pages in a
 * /proc/mounts stream (a mount without pagesize= has default_kb pages;
 * read-only or size-limited mounts are skipped). malloc'd or NULL. */
char *hugetlbfs_mount_find(FILE *mounts, unsigned long size_kb,
			   unsigned long default_kb);
/* What the host keeps for itself of total bytes of RAM when a guest's
 * memory is in hugepages (1/16, at least 2 GiB). */
uint64_t hugepages_host_keeps(uint64_t total);
/* Pages to add to nr_hugepages so that need pages are free. */
long hugepages_shortfall(long free, long need);
/* "2 MiB", "1 GiB", "10.2 GiB" for messages. */
void hugepages_format_size(uint64_t bytes, char *buf, size_t len);
/* The message of a reservation that fell short; malloc'd. */
char *hugepages_short_message(int node, unsigned long size_kb, long need,
			      long got, long node_free_kb, long avail_kb);

/* layout.c: the shape of a new guest around one GPU (`vmrun new`): the
 * functions that go with it, whole host cores on its NUMA node (an L3
 * cache's where the host shows them), the host's share, memory and the
 * hugepage size. Pure: reads only the host view (probed with
 * HOST_MACHINE for the caches). */
struct layout_req {
	const struct host_pci *gpu;
	unsigned vcpus;	 /* 0: the free cores of one L3 cache (all free
			  * cores when the host shows no caches) */
	uint64_t memory; /* 0: half the node's memory, 1 to 16 GiB */
};

struct layout {
	const struct host_pci **fn; /* what goes: the GPU first */
	size_t nfn;
	enum iommu_verdict verdict;  /* of the GPU's group */
	int node;		     /* the GPU's NUMA node */
	struct cpulist vcpu_pin;     /* core by core, a core's threads
				     * adjacent */
	struct cpulist emulator_pin; /* the host's share of the node */
	size_t host_cores;	     /* the node's first cores, the host's */
	size_t small_cores;	     /* cores of fewer threads (a hybrid CPU's
			     * efficiency cores), left to the host */
	unsigned cores, threads;     /* guest topology (one socket) */
	bool l3_known;		     /* the host shows its L3 caches */
	bool l3_shared;		     /* and every vCPU is on one */
	uint64_t memory;
	enum hugepages hugepages; /* 1G when it fits, else 2M, else none */
	uint64_t host_left;	  /* host memory the guest leaves */
};

/* 0, or -errno with err saying what to ask for instead (vCPUs that are
 * not whole cores or more than the node has, memory the node lacks). */
int layout_choose(const struct host *h, const struct layout_req *req,
		  struct layout *l, struct vr_error *err);
void layout_free(struct layout *l);

/* looking_glass.c: the Looking Glass shared memory: a /dev/shm file made
 * with the right size, owner, group and mode before QEMU starts and removed
 * after, or a kvmfr device checked for size. */
/* Plan the shm file (or the kvmfr size check). Resolves owner and group
 * now, so a missing user or group fails before anything changes. */
int looking_glass_plan(struct plan *plan, const struct profile *p,
		       struct vr_error *err);

extern const struct op_type looking_glass_op_shm, looking_glass_op_kvmfr;

/* net.c: bridged networks: vmrun creates the guest's tap device, attaches
 * it to the bridge before QEMU starts, and deletes it after. */
/* One "tap" op per [net.*] with mode = bridge; the bridge must exist. */
int net_plan(struct plan *plan, const struct profile *p, struct vr_error *err);

extern const struct op_type net_op_tap;

/* runas.c: what [vm] run-as needs. QEMU opens its devices and files as
 * root, then drops to the user (-runas); the host files it may open later
 * are handed to that user for the run and given back after (journaled
 * "chown" ops), and the VM's own persistent files become that user's. */
/* Resolve [vm] run-as now (a missing user fails before any change) and
 * plan a chown of /dev/vfio/N of each passed-through group and of the
 * per-VM hugetlbfs folder. The Looking Glass shm file is left as
 * looking_glass.c makes it: QEMU maps it before it drops privileges and
 * keeps the fd. */
int runas_plan(struct plan *plan, const struct profile *p, const struct host *h,
	       struct vr_error *err);

/* Make a persistent VM file (name in the folder open at dirfd; shown in
 * messages) the run-as user's, and with tree, the entries directly in that
 * folder too (swtpm's state). Not undone: they are the VM's own files.
 * Everything is reached relative to dirfd without following a symlink
 * (fchownat AT_SYMLINK_NOFOLLOW, openat O_NOFOLLOW); symlinks and files
 * with other hard links are refused, so a user who could write the folder
 * cannot have root chown something else. 0 without run-as. */
int runas_own(const struct profile *p, int dirfd, const char *name,
	      const char *shown, bool tree, struct vr_error *err);

extern const struct op_type runas_op_chown;

/* vfio.c: hand host PCI functions to vfio-pci for the guest and give them
 * back to their own drivers after; the IOMMU group checks that come first. */
/* Check every [pci.*] device (exists, not a bridge, has an IOMMU group
 * whose other members the host is not using, claimed by no other running
 * VM), then add the ops: modprobe vfio-pci when it is not loaded, a claim
 * per device, a vfio-bind per device. Pure; all problems are reported
 * together. */
int vfio_plan(struct plan *plan, const struct profile *p, const struct host *h,
	      struct vr_error *err);

/* Wait (up to VMRUN_VFIO_TIMEOUT_MS, default 5000 ms) for the driver of
 * bdf to be want ("" = none). 0, or -ETIMEDOUT with the driver it has in
 * now (cur, "" for none). */
int vfio_wait_driver(const char *bdf, const char *want, char *cur,
		     size_t curlen);

extern const struct op_type vfio_op_bind, vfio_op_modprobe;

/* placement.c: guest RAM's node and its preallocation. */
/* The memory node (hugepages_guest_node) and, for hugepage-backed RAM,
 * the preallocation threads: one per CPU idle while QEMU starts (vCPU
 * and emulator CPUs, or all without pinning) on the memory's node,
 * capped by [memory] prealloc-threads. Free with placement_free. */
void placement_plan(const struct profile *p, const struct host *h,
		    struct qemu_placement *pl);
void placement_free(struct qemu_placement *pl);

/* sound.c: whose sound server QEMU plays to ([audio] backend = pipewire
 * or pa). */
/* [audio] runtime-dir, else /run/user/UID of [vm] run-as, else of the
 * user who ran vmrun (SUDO_UID, PKEXEC_UID), when that folder is theirs;
 * NULL for another backend or no such folder (QEMU's own environment).
 * malloc'd. */
char *sound_dir(const struct profile *p);
/* What QEMU's environment needs for dir: PIPEWIRE_RUNTIME_DIR for QEMU's
 * PipeWire backend (it has no option for its server; the PulseAudio one
 * gets server= in the argv). */
void sound_env(const struct profile *p, const struct host *h, const char *dir,
	       struct strv *env);

/* child.c: a started child as a host change. */
/* Plan an op that records a started child: undoing it terminates the
 * process (SIGTERM, then SIGKILL after grace_ms) if it still runs. */
void child_plan_record(struct plan *plan, const char *what, pid_t pid,
		       int grace_ms);
extern const struct op_type child_op;

/* planner.c: the whole VM. */
/* Pure: no host change. Reads only through the host view. Every op
 * planner above in the order the changes are applied, then the QEMU argv
 * built with what they decided (the memory node, the tap names). */
int planner_build(const struct profile *p, const struct host *h,
		  struct plan *plan, struct vr_error *err);

#endif
