/* qemu_argv.h: the complete qemu-system-x86_64 command line for a profile,
 * modelled on what libvirt generates for the same VM. Pure. */
#ifndef VMRUN_QEMU_ARGV_H
#define VMRUN_QEMU_ARGV_H

#include "error.h"
#include "host.h"
#include "plan.h"
#include "profile.h"
#include "util.h"

/* Append the whole argv (binary first) to argv; notes such as Hyper-V
 * features dropped under TCG go to warnings. */
int qemu_argv_build(const struct profile *p, const struct host *h,
		    const struct vm_paths *paths, struct strv *argv,
		    struct strv *warnings, struct vr_error *err);

#endif
