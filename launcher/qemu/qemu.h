/* qemu/qemu.h: the complete qemu-system-x86_64 command line for a profile,
 * modelled on what libvirt generates for the same VM. Pure. */
#ifndef VMRUN_QEMU_QEMU_H
#define VMRUN_QEMU_QEMU_H

#include "base/base.h"
#include "profile/profile.h"
#include "host/host.h"
#include "engine/engine.h"

/* Where guest RAM goes and who touches it first, as the planner decided
 * (ops/placement.c): the argv builder only writes it down. */
struct qemu_placement {
	int mem_node;		   /* NUMA node guest RAM is bound to, -1 */
	unsigned prealloc_threads; /* 0: RAM is not preallocated */
	/* CPUs the preallocation threads run on (a thread-context), n == 0:
	 * the node's CPUs when mem_node >= 0, else anywhere */
	struct cpulist prealloc_cpus;
	/* the runtime folder of the user whose sound server QEMU plays to
	 * ([audio] backend = pipewire or pa); NULL: QEMU's environment */
	char *sound_dir;
};

/* Append the whole argv (binary first) to argv; notes such as Hyper-V
 * features dropped under TCG go to warnings. origin gets one entry per
 * argv element: the profile section it comes from and, after a space,
 * the key ("pci.gpu", "disk.boot file", "hyperv enlightenments"), or ""
 * for what vmrun adds of its own. */
int qemu_argv_build(const struct profile *p, const struct host *h,
		    const struct vm_paths *paths,
		    const struct qemu_placement *place, struct strv *argv,
		    struct strv *origin, struct strv *warnings,
		    struct vr_error *err);

/* The host tap device QEMU uses for a [net.NAME] with mode = bridge (the
 * plan creates it before start): "vmrun-VM" for a VM's only bridged net,
 * "vmrun-VM-NET" when there are several, and "vmrun-" plus a hash of both
 * names when that would pass the kernel's 15 characters. Caller frees. */
char *qemu_tap_name(const struct profile *p, const struct profile_net *n);

/* The [disk.*] (index into p->disk) a QEMU block node or device belongs
 * to, from a BLOCK_IO_ERROR's node-name ("disk0-format") or qom-path /
 * device (".../disk-NAME/..."); -1 when none does. */
long qemu_disk_of_node(const struct profile *p, const char *node,
		       const char *device);

/* QEMU's -audiodev driver for [audio] backend: QEMU gained a PipeWire
 * backend in 8.1, older ones reach PipeWire through its PulseAudio server
 * (pipewire-pulse), "pa". */
const char *qemu_audio_driver(const struct profile *p,
			      const struct host_qemu *q);

/* The -chardev value of vmrun's own QMP monitor (id "qmp"): with fd < 0 a
 * unix socket at paths->qmp that QEMU creates (the pasteable --dry-run
 * form); with fd >= 0 the connected socket vmrun hands QEMU as that fd (a
 * run: no file, nobody else can connect). Malloc'd. */
char *qemu_argv_qmp_chardev(const struct vm_paths *paths, int fd);

/* refusal.c: QEMU's messages when it will not start, traced back to the
 * profile. An error line names the option it refuses ("-device {...}:
 * msg", after the -msg timestamp and QEMU's name), or the id, host
 * address or file of one, or is a failure known to come from one setting
 * (a Hyper-V MSR KVM refused: "failed to set MSR 0x40000073"). */
struct qemu_refusal {
	char origin[96];   /* as in qemu_argv_build(): "pci.gpu",
			    * "hyperv enlightenments" */
	char message[512]; /* QEMU's words, less timestamp, name, option */
	char hint[256];	   /* what to do, "" when nothing obvious */
};

/* The last error line in text (what QEMU printed) that leads to a profile
 * section, given the argv QEMU ran with and its origins: true and *out
 * filled; false when none does (warnings never do). */
bool qemu_refusal_find(const struct strv *argv, const struct strv *origin,
		       const char *text, struct qemu_refusal *out);
/* "QEMU refused [pci.gpu] (FILE:LINE): message; hint". Malloc'd. */
char *qemu_refusal_describe(const struct profile *p,
			    const struct qemu_refusal *r);

#endif
