/* acpi.h: the fake-battery SSDT vmrun hands to QEMU with -acpitable, for
 * laptop GPU drivers that refuse to run without a battery. */
#ifndef VMRUN_ACPI_H
#define VMRUN_ACPI_H

#include <stddef.h>
#include <stdint.h>

/* A complete AML table (header with a correct checksum); caller frees. */
uint8_t *acpi_battery_ssdt(size_t *len);

#endif
