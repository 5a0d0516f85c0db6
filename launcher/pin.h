/* pin.h: vCPU pinning while QEMU is still paused (-S): each vCPU thread to
 * its vcpu-pin CPU, every other QEMU thread to emulator-pin. */
#ifndef VMRUN_PIN_H
#define VMRUN_PIN_H

#include <sys/types.h>

#include "error.h"
#include "profile.h"
#include "qmp.h"

/* Reads query-cpus-fast; no-op without vcpu-pin and emulator-pin. */
int pin_threads(struct qmp *q, pid_t qemu, const struct profile_cpu *cpu,
		struct vr_error *err);

#endif
