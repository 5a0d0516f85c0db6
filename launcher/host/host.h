/* host/host.h: the host as vmrun sees it: every path under the host root,
 * the read-only view (PCI, IOMMU groups, CPUs, NUMA, QEMU), trust of files,
 * and starting programs. The index of this folder's public API, by file. */
#ifndef VMRUN_HOST_HOST_H
#define VMRUN_HOST_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"
#include "profile/profile.h"

/* accounts.c: host groups, under the host root. */
/* Whether group name exists on the host, and its gid. */
bool host_group_find(const char *name, gid_t *gid);
/* The name of group gid, or its number; malloc'd. */
char *host_group_name(gid_t gid);
/* "/run/user/UID" when it is uid's own folder under the host root (not a
 * link, not root's), else NULL; malloc'd. */
char *host_user_runtime_dir(uid_t uid);

/* hostfs.c: every host path goes through the host root (VMRUN_ROOT or
 * --root), so tests run vmrun against a fake tree built from a fixture. */
/* Set once by main ("/" when unset). The string is copied. */
void hostfs_set_root(const char *root);
const char *hostfs_root(void);

/* Path of a host file: "/sys/bus/pci" becomes ROOT/sys/bus/pci. Only
 * paths under /sys, /proc, /dev, /run and /etc are the host's own kernel
 * and runtime interfaces and are rooted; any other path (a disk image, a
 * romfile, a state folder the user names) is returned unchanged; /boot
 * and /efi (the boot loader's files) are rooted too. The
 * result is malloc'd. */
char *hostfs_path(const char *abs);
bool hostfs_is_host_path(const char *abs);

/* Read a whole small file (trailing newline stripped). 0 or -errno. */
int hostfs_read(const char *abs, char *buf, size_t len, struct vr_error *err);
/* Read a decimal integer. */
int hostfs_read_long(const char *abs, long *out, struct vr_error *err);
/* basename of a symlink target ("driver" -> "vfio-pci"); -ENOENT when the
 * link is absent. */
int hostfs_readlink_base(const char *abs, char *buf, size_t len);
bool hostfs_exists(const char *abs);

/* Find an executable: under the host root for host tools (modprobe,
 * systemctl) in the usual sbin/bin folders, or on $PATH for bare names
 * when root is "/". Returns malloc'd path or NULL. */
char *hostfs_find_tool(const char *name);

/* hostio.c: the one place host files are written and host tools are run.
 * Every sysfs/procfs/cgroup write of the plan's operations goes through
 * here. */
/* Write value to the host file abs (rooted via hostfs_path) the way the
 * kernel wants attributes written: open(O_WRONLY), ONE write() of the
 * whole value, close(). No newline is added. 0 or -errno with err set
 * ("write 'vfio-pci' to /sys/...: No such device"). */
int host_write(const char *abs, const char *value, struct vr_error *err);

/* vmrun's own runtime files (journal, claims, lock, generated tables)
 * under /run/vmrun: replace abs atomically with data (temp file in the
 * same folder, fsync, rename, fsync of the folder), so a crash leaves
 * either the old or the new content, never half of one. The folder is
 * created (0700) when missing. */
int host_write_file(const char *abs, const void *data, size_t len,
		    unsigned mode, struct vr_error *err);
/* mkdir -p with mode for the folders created; 0 when it exists. */
int host_mkdir(const char *abs, unsigned mode, struct vr_error *err);
/* unlink; 0 when it is already gone. */
int host_remove(const char *abs, struct vr_error *err);
/* rmdir when empty; a folder still in use is left alone, silently. */
void host_rmdir_empty(const char *abs);

/* Run a host tool (found with hostfs_find_tool) with argv (argv[0] is the
 * tool name, NULL-terminated) via fork/execv, never a shell. When out is
 * not NULL, the tool's stdout (up to outlen - 1 bytes, trailing newline
 * stripped) is stored there. Returns the tool's exit status (>= 0) when
 * it ran, or -errno with err set when it could not be found or started or
 * was killed by a signal. */
int host_run(const char *const argv[], char *out, size_t outlen,
	     struct vr_error *err);

/* host_write in a child process that is given up after timeout_ms: a write
 * the kernel blocks (the unbind of a driver whose device is in use) cannot
 * hang vmrun. -ETIMEDOUT (err set) when it had not returned by then; the
 * child is killed, and the write may still complete later. */
int host_write_timeout(const char *abs, const char *value, long timeout_ms,
		       struct vr_error *err);

/* host.c: a read-only view of the host, enough to plan: PCI functions,
 * CPUs, NUMA nodes, hugepages, firmware files, the QEMU binary. */
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
	char device_name[256]; /* the device's own, "" when it has none */
	char class_name[128];  /* "VGA compatible controller", the same */
	char reset_method[64]; /* sysfs reset_method ("flr bus"), "" if none */
	/* what the host runs on through it (critical.c): "/ (ext4 on
	 * /dev/nvme0n1p2)", "swap on ...", "the default route (enp7s0)" */
	struct strv needs;
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
	/* `-machine help` names (with HOST_QEMU_MACHINES), n = 0 when not
	 * asked or not told */
	struct strv machines;
};

/* boot.c: the boot loader that holds this host's kernel command line. */
enum boot_loader {
	BOOT_GRUB,	   /* /etc/default/grub */
	BOOT_SYSTEMD_BOOT, /* /etc/kernel/cmdline, /boot/loader/ */
	BOOT_REFIND,	   /* /boot/refind_linux.conf */
	BOOT_NIXOS,	   /* boot.kernelParams in configuration.nix */
	BOOT_UNKNOWN,
};
enum boot_loader boot_loader_detect(void);
const char *boot_loader_name(enum boot_loader b);
/* How to add opts ("iommu=pt") to the kernel command line on this host:
 * the file and the command that applies it (malloc'd). */
char *boot_cmdline_fix(const char *opts);
/* How to turn the IOMMU on: the firmware, and the options this vendor
 * wants (Intel: intel_iommu=on iommu=pt; AMD: iommu=pt, as the AMD IOMMU
 * is on by default), malloc'd. */
char *boot_iommu_fix(bool amd);
/* Whether /proc/cpuinfo names an AMD CPU; whether its flags say this
 * host is itself a virtual machine ("hypervisor"). */
bool host_cpu_is_amd(void);
bool host_cpu_is_vm(void);

/* kvm.c: KVM as QEMU will use it. */
enum kvm_state {
	KVM_ABSENT,   /* no /dev/kvm: the module is not loaded */
	KVM_UNUSABLE, /* /dev/kvm is there, but no VM can be made (why) */
	KVM_OK,
};

struct host_kvm {
	bool probed; /* kvm_probe ran (HOST_KVM) */
	enum kvm_state state;
	int api;
	char why[256];
	/* KVM_GET_SUPPORTED_HV_CPUID: the leaves QEMU checks */
	bool hv_known;
	uint32_t hv_features_eax, hv_features_edx, hv_recommend_eax;
};

/* hv_probe.c: QEMU's own answer on a vCPU of the profile's [cpu] model
 * and its Hyper-V enlightenments: KVM may offer one (its CPUID bit) QEMU
 * on this kernel still cannot set up (setting the MSR aborts, hv-vpindex
 * is refused), or refuse an MSR the model itself needs (a nested host). */
enum hv_qemu_state {
	HV_QEMU_UNASKED, /* not asked: no KVM, no QEMU, nothing to ask */
	HV_QEMU_OK,	 /* a vCPU starts with all of them */
	HV_QEMU_REFUSED, /* ... only without those in refused */
	HV_QEMU_UNKNOWN, /* it does not start, but no one is to blame (why) */
	HV_QEMU_NO_VCPU, /* not even the model alone, QEMU says why */
};

struct host_hv_qemu {
	enum hv_qemu_state state;
	/* names QEMU cannot start with, and for each what it does:
	 * "aborts with hv-vapic: failed to set MSR 0x40000073 to 0x0" */
	struct strv refused, why;
	char *unknown_why; /* HV_QEMU_UNKNOWN: "hangs with -cpu host alone: ..." */
	/* HV_QEMU_NO_VCPU: "aborts with -cpu host: failed to set MSR 0x10a
	 * to 0x69", and a named model that starts (NULL: none tried did) */
	char *vcpu_why, *starts;
	unsigned runs; /* QEMU runs it took; 0 when the cache answered */
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
	struct host_kvm kvm;
	struct host_hv_qemu hv_qemu; /* hv_probe_qemu */
	bool vhost_net;	    /* /dev/vhost-net: virtio-net in the kernel */
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
	/* HOST_MACHINE only (machine.c) */
	int *l3_of;   /* [ncpus] lowest CPU sharing its L3 cache; NULL when
		     * the host shows no cache topology */
	bool battery; /* runs on a battery: a laptop */
	char display_manager[64]; /* the unit to stop for the console */
	/* the processes that hold a device now are left to the start, not
	 * held against the profile (vmrun new: it names them itself) */
	bool holders_later;
};

/* What host_probe also fills in. Device names cost the parse of the whole
 * PCI ID database (several ms): a start without passthrough skips it. */
enum host_probe_flags {
	HOST_PCI_NAMES = 1 << 0,     /* host_pci.name and class_name */
	HOST_MACHINE = 1 << 1,	     /* l3_of, battery, display_manager */
	HOST_KVM = 1 << 2,	     /* kvm: open /dev/kvm, make a VM */
	HOST_QEMU_MACHINES = 1 << 3, /* qemu.machines: run -machine help */
};

/* Read the host under hostfs_root(). qemu is the profile's binary (NULL
 * for qemu-system-x86_64 on PATH). Missing optional parts (no IOMMU, no
 * NUMA, no OVMF) are left empty, not errors. */
int host_probe(struct host *h, const char *qemu, unsigned flags,
	       struct vr_error *err);
void host_free(struct host *h);

/* A "KEY: N kB" field of /proc/meminfo or a node's meminfo ("Node 0 KEY:
 * N kB"), in kB; -1 when absent. */
long host_meminfo_kb(const char *text, const char *key);

const struct host_pci *host_pci_find(const struct host *h,
				     const struct pci_addr *a);
/* The PCI function a real sysfs device path (below /sys/devices/) belongs
 * to: its last component that is a PCI address (bridges come before it). */
bool host_pci_path_owner(const char *path, struct pci_addr *a);
/* Enumerate PCI functions with libpci (sysfs under the host root). */
int host_pci_scan(struct host *h, unsigned flags, struct vr_error *err);
/* qemu_version.c: q for the profile's [vm] qemu (NULL: the default on
 * PATH): path NULL when there is none, else its version from `qemu
 * -version`, run only if the trust rule allows (never for a binary others
 * can change), with a timeout (VMRUN_QEMU_PROBE_TIMEOUT_MS, 10 s). */
int host_probe_qemu(struct host_qemu *q, const char *qemu,
		    struct vr_error *err);

/* Whether the host has a PCI ID database for names (pci.ids). */
bool host_pci_ids_present(void);
/* Parse `qemu -version` output ("QEMU emulator version 7.2.22 ...") into
 * q's version numbers. 0, or -EINVAL when it is not there. */
int host_qemu_parse_version(const char *out, struct host_qemu *q);
/* Fill q->machines from `q->path -machine help` (qemu_version.c, with
 * the same trust rule and timeout). */
void host_qemu_machines(struct host_qemu *q);
/* The pool for (node, size), or NULL. */
const struct host_hugepool *host_pool_find(const struct host *h, int node,
					   unsigned long size_kb);

/* machine.c: what kind of machine the host is, for `vmrun new`: which CPUs
 * share an L3 cache (cpuN/cache/index3), whether it has a battery (a
 * laptop), which display manager holds its console. */
/* Fill l3_of, battery and display_manager (host_probe with HOST_MACHINE). */
void machine_probe(struct host *h);

/* critical.c: what the host stands on, per PCI function: file systems
 * mounted from its disks and from volumes on them (/proc/self/mountinfo,
 * /sys/class/block/.../slaves), swap (/proc/swaps), the interface of the
 * default route and those under it (bridges, bonds, VLANs), an active
 * console on its ports. Fills each function's needs; host_probe calls it. */
void critical_scan(struct host *h);
/* d's needs as one line, ", " between them (malloc'd, "" for none). */
char *critical_text(const struct host_pci *d);

/* holders.c: the processes that have a PCI function's device nodes open;
 * unbinding its driver waits for them. */
struct holder {
	pid_t pid;
	char comm[64];
	char unit[128]; /* its systemd unit, "" when it has none */
	bool user_unit; /* a unit of a user's own systemd */
	char node[128]; /* the node it has open ("/dev/dri/card0") */
};

/* d's device nodes: DEVNAME of the uevent files of its drm/ and
 * sound/cardN/ children, and for the nvidia driver /dev/nvidiaN (its
 * minor) and the driver's shared nodes (nvidiactl, nvidia-uvm,
 * nvidia-modeset). */
void holders_nodes(const struct host_pci *d, struct strv *out);
/* The processes (/proc/PID/fd under the host root) that have one of
 * them open, one entry each; *out malloc'd. Returns how many. */
size_t holders_find(const struct host_pci *d, struct holder **out);
/* "Xorg (pid 1342, display-manager.service) has /dev/dri/card0 open;
 * ..." (malloc'd). */
char *holders_text(const struct holder *hs, size_t n);

/* Open /dev/kvm under the host root, check its API version, create (and
 * close) a VM, and read the Hyper-V CPUID leaves KVM supports. */
void kvm_probe(struct host_kvm *k);
/* Whether KVM offers Hyper-V enlightenment name (QEMU's name without
 * "hv-"): true when it is not known (no probe, an old kernel) or name
 * needs nothing of KVM (spinlocks). */
bool kvm_hv_offered(const struct host_kvm *k, const char *name);
/* The enlightenments vmrun knows, by index (NULL past the last), and
 * what one needs on too (NULL-terminated, NULL for an unknown name). */
const char *kvm_hv_name(size_t i);
const char *const *kvm_hv_needs(const char *name);

/* hv_probe.c: QEMU's answer. With accel = kvm (p NULL: model host, the
 * default list), a usable KVM and a trusted QEMU: start it (no shell,
 * timeout) as `-machine q35 -accel kvm -cpu MODEL,hv-A,... -S` with QMP on
 * a socketpair, with all KVM offers of p's list; when no answer comes, with
 * MODEL alone, then each alone (hv_verdict_judge). Cached (root) per binary,
 * kernel, KVM's answer, model and list; a hang is not. Fills h->hv_qemu. */
void hv_probe_qemu(struct host *h, const struct profile *p);

/* hv_verdict.c: the verdict, from tries of sets. */
/* Why QEMU cannot start with enlightenment name, or NULL. */
const char *hv_verdict_refused(const struct host_hv_qemu *q, const char *name);
/* "QEMU 7.2 on this kernel aborts with hv-vapic: ...; fails with
 * hv-vpindex: ...": why it refuses those of names it does (malloc'd). */
char *hv_verdict_text(const struct host_hv_qemu *q,
		      const struct host_qemu *qemu, const struct strv *names);
/* HV_QEMU_NO_VCPU: "QEMU 7.2 cannot start a vCPU of CPU model host on this
 * host's KVM (it aborts ...)", and the fix; malloc'd, else NULL. */
char *hv_verdict_no_vcpu(const struct host_hv_qemu *q,
			 const struct host_qemu *qemu, const char *model);
char *hv_verdict_no_vcpu_fix(const struct host_hv_qemu *q,
			     const struct host_qemu *qemu);
void hv_verdict_free(struct host_hv_qemu *q);

/* iommu.c: IOMMU groups as passthrough sees them: which functions move
 * with their group, which ones the host cannot spare, a verdict per group. */
/* Bridges never leave the host; every other function goes to a guest with
 * its group or not at all. */
bool iommu_fn_moves(const struct host_pci *d);
/* A member that keeps its group from going to a guest: it moves with the
 * group, the guest does not get it (!taken), and a host driver other than
 * vfio-pci holds it now. The planner's rule (vfio_plan.c). */
bool iommu_member_blocks(const struct host_pci *d, bool taken);

/* A function that can drive a display: VGA (0300) or other display
 * controller (0380); a 3D controller (0302) has no outputs. */
bool iommu_fn_display(const struct host_pci *d);
/* The GPU that shows the host's console: the boot_vga one, else the only
 * display function; NULL when there is none or no way to tell. */
const struct host_pci *iommu_host_display(const struct host *h);
/* What the host loses when d goes to a guest ("USB controller", "the
 * host's display GPU"), or NULL when it is an ordinary endpoint. The
 * extra functions of a guest GPU (its USB-C port, audio) go with the card
 * and are not counted. */
const char *iommu_fn_critical(const struct host *h, const struct host_pci *d);
/* Part of the machine itself (host and ISA bridges, SMBus, platform
 * peripherals): never a passthrough candidate. */
bool iommu_fn_platform(const struct host_pci *d);

enum iommu_verdict {
	IOMMU_BRIDGES_ONLY, /* nothing but bridges: nothing to pass */
	IOMMU_PLATFORM,	    /* only platform functions: stays with the host */
	IOMMU_READY,	    /* one device (all its functions): goes alone */
	IOMMU_HOST_NEEDS,   /* one device, but the host runs on it */
	IOMMU_SIBLINGS,	    /* several devices, all of which must go along */
	IOMMU_SHARED,	    /* also holds devices the host needs */
};

struct iommu_group {
	int id;
	enum iommu_verdict verdict;
	const struct host_pci **fn; /* members, bridges too, address order */
	size_t nfn;
	/* SIBLINGS: every member that moves; SHARED: the host-critical ones */
	const struct host_pci **list;
	size_t nlist;
};

/* Judge group id of h (members are pointers into h). */
void iommu_group_judge(const struct host *h, int id, struct iommu_group *g);
void iommu_group_free(struct iommu_group *g);
/* The distinct group ids of h, ascending (malloc'd, NULL when none). */
size_t iommu_group_ids(const struct host *h, int **ids);

/* "ready", "host-critical", "siblings", "shared", "platform", "bridges"
 * (JSON). */
const char *iommu_verdict_key(enum iommu_verdict v);
/* The verdict as a sentence: "ready to pass through alone", "shared with
 * host-critical devices: 0000:02:00.0 (USB controller), ..." (malloc'd). */
char *iommu_verdict_text(const struct host *h, const struct iommu_group *g);

/* trust.c: vmrun runs as root and a profile is code. Before a profile is
 * used, by any command (a run, prepare, --dry-run, --print-argv, doctor,
 * install-desktop), it and the files it names that run, reach QEMU or are
 * written as root must be files only root and the person running vmrun
 * can change. Pure checks (lstat, readlink): nothing is executed.
 *
 * The rule, for the file and for every folder a lookup of its path goes
 * through (each symlink followed, its target checked the same way):
 * - its owner is root or the invoking user (SUDO_UID, else PKEXEC_UID,
 *   else the real uid): an owner can always chmod and write;
 * - not writable by others (o+w), nor by a group with other members
 *   (g+w is fine only for gid 0 or the invoking user's own private group,
 *   named like the user, listing no other member);
 * - no POSIX access ACL whose mask allows writing (named users or groups
 *   may then write);
 * - a folder others can write is still fine when it is sticky (like /tmp)
 *   and the entry looked up in it is owned by root or the invoking user:
 *   the sticky bit stops others from renaming or removing that entry.
 * Checked in full: the profile (before it is parsed), the programs vmrun
 * starts ([vm] qemu, or qemu-system-x86_64, and swtpm as PATH finds them;
 * the [hooks] programs), [pci.*] romfile and [acpi] table files (handed
 * to the guest's firmware), and [vm] state-dir (vmrun creates, chowns and
 * appends to files in it). Checked for the folders only (the file itself
 * may belong to [vm] run-as, and its content only reaches the guest, but
 * nobody else may swap it for a link to a host file): [firmware] vars,
 * [tpm] state, and the [disk.*] files QEMU opens for writing. Firmware
 * code, vars templates and read-only disks only reach the guest and are
 * not checked. */
enum trust_mode {
	TRUST_ENFORCE, /* refuse: the default, for every command */
	TRUST_OFF,     /* --trust: no checks */
};

void trust_set_mode(enum trust_mode mode);
enum trust_mode trust_get_mode(void);

/* The person who ran vmrun: SUDO_UID, else PKEXEC_UID, else getuid(). */
uid_t trust_invoking_uid(void);

/* Append one line per problem of path to out, each naming role ("the
 * profile", "[hooks] pre-start"), the path, what is wrong and the fix.
 * uid is the trusted non-root user. A path that does not exist adds
 * nothing (whoever opens it reports that), but the folders up to the
 * missing name are checked. Returns the lines added. */
size_t trust_path_problems(const char *path, const char *role, uid_t uid,
			   struct strv *out);

/* The trust rule: the one check every command makes. With profile_path,
 * the profile file (call it before the file is parsed, p NULL); with p,
 * everything the parsed profile names (see above). 0, or -EPERM with err
 * listing every problem, its fix and --trust. Always 0 under --trust. */
int trust_check(const char *profile_path, const struct profile *p,
		struct vr_error *err);

/* The same rule for one program about to be executed outside a profile's
 * list (the QEMU binary asked for its version). */
int trust_check_program(const char *path, const char *role,
			struct vr_error *err);

/* notifier.c: desktop notifications from vmrun, which runs as root and
 * has no way to a user's session bus: a child drops to the user (groups,
 * gid, uid) and runs notify-send, else busctl --user, on that user's bus
 * (/run/user/UID/bus, used only when it is the user's own socket). The
 * program is looked up on PATH in folders only root can change. Told: the
 * user who ran vmrun (SUDO_UID, PKEXEC_UID), else [vm] run-as, else every
 * user with an active graphical session on a seat (logind's
 * /run/systemd/sessions); the first of these with a session bus. No user
 * or no notifier is a debug line. The caller's waitpid(-1) loop reaps. */
#define NOTIFIER_MAX	    8	 /* notifiers running at once */
#define NOTIFIER_TIMEOUT_MS 5000 /* then SIGKILL to its process group */
struct notifier_child {
	pid_t pid;
	uid_t uid;
	int64_t deadline; /* ms, monotonic */
	bool killed;
};
struct notifier {
	struct notifier_child c[NOTIFIER_MAX];
	size_t n;
};

/* Tell the users concerned; run_as is [vm] run-as or NULL. How many
 * notifiers were started. Never waits for them. */
size_t notifier_send(struct notifier *n, const char *run_as,
		     const char *summary, const char *body);
/* A child was reaped: true when it was one of n's notifiers. */
bool notifier_reaped(struct notifier *n, pid_t pid, int status);
/* ms until the next notifier's deadline, as a poll() timeout; -1: none. */
int notifier_timeout(const struct notifier *n);
/* SIGKILL to the notifiers past their deadline (reaped as usual). */
void notifier_on_deadline(struct notifier *n);
/* Wait for the notifiers left, each until its deadline, then kill and
 * reap them. */
void notifier_end(struct notifier *n);

/* process.c: the programs vmrun starts (QEMU, swtpm, hooks): fork/exec
 * without a shell, exec errors reported back, and the "process" op that
 * makes sure a recorded child is gone before the host is given back. */
/* A user a child drops to before exec: groups, gid, then uid, checked
 * (a failed or partial drop ends the child before exec). */
#define SPAWN_GROUPS_MAX 64
struct spawn_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[SPAWN_GROUPS_MAX];
	int ngroups;
};

/* The user with that uid from the password and group databases. */
int proc_user(uid_t uid, struct spawn_user *u, struct vr_error *err);
/* Become u for good: groups, gid, uid; then make sure all of them changed
 * and root cannot be taken back (a partial drop must not go on). 0, or -1
 * with errno. */
int proc_become(const struct spawn_user *u);

struct spawn {
	const char *path;      /* program; a bare name is looked up in PATH */
	char *const *argv;     /* argv[0] included, NULL-terminated */
	int pass_fd;	       /* becomes fd 3 in the child; -1 for none */
	int out_fd;	       /* stdout and stderr; -1 to inherit */
	bool own_pgrp;	       /* not signalled by the terminal's ^C */
	bool die_with_parent;  /* SIGTERM when vmrun dies */
	uint64_t memlock;      /* RLIMIT_MEMLOCK, 0 = unchanged */
	bool memlock_optional; /* fine if refused while the program
				    * has CAP_IPC_LOCK (it stays root) */
	const char *cgroup;    /* host cgroup folder to join, or NULL */
	char *const *env;      /* extra NAME=VALUE entries, or NULL */
	bool clear_env;	       /* env only, none of vmrun's own */
	const char *cwd;       /* working folder, or NULL (unchanged) */
	const struct spawn_user *user; /* drop to this user; NULL: root */
};

/* Start the program; 0 and *pid, or the reason it could not be started
 * (exec errors included: they come back through a pipe). */
int proc_spawn(const struct spawn *s, pid_t *pid, struct vr_error *err);

/* Run to completion (hooks): the exit status, or -errno. */
int proc_run(const struct spawn *s, struct vr_error *err);

/* Field 22 of /proc/PID/stat: with the pid it names one process for good
 * (pids are reused). -ESRCH when there is no such process. */
int proc_starttime(pid_t pid, unsigned long long *out);

/* Whether the process is stopped (state T or t in /proc/PID/stat: a
 * SIGSTOP, a debugger). */
bool proc_stopped(pid_t pid);

/* pidfd_open(2); -errno when the kernel lacks it. */
int proc_pidfd(pid_t pid);

/* The programs vmrun starts for a VM (QEMU, swtpm) carry PROC_MARK=NAME in
 * their environment, so that undo stops only a process vmrun started for
 * that VM, even when a pid and its start time come from a journal. */
#define PROC_MARK "VMRUN_VM"
/* Whether pid's environment (/proc/PID/environ, its first PROC_ENV_MAX
 * bytes) holds entry ("NAME=VALUE") exactly. */
#define PROC_ENV_MAX (256 * 1024)
bool proc_has_env(pid_t pid, const char *entry);

/* The file execvp would run for name: name itself when it has a slash
 * (if executable), else the first executable NAME in a $PATH folder.
 * malloc'd; NULL when there is none. */
char *host_which(const char *name);

#endif
