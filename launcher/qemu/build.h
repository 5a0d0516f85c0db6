/* build.h: private to qemu/ (build.c, argv.c, pci.c, disk_net.c,
 * periph.c, hyperv.c): one argv being built, and its helpers. */
#ifndef VMRUN_QEMU_BUILD_H
#define VMRUN_QEMU_BUILD_H

#include <json-c/json.h>
#include <stdbool.h>

#include "base/base.h"
#include "host/host.h"
#include "engine/engine.h"
#include "profile/profile.h"

/* Root ports fill q35 slots 0x02..0x1a, eight functions each: slot 0x01
 * is the video device and 0x1b the HD Audio controller, as in libvirt. */
#define QEMU_PORT_SLOT0	    0x02
#define QEMU_PORT_SLOT_LAST 0x1a
#define QEMU_PORTS_MAX	    ((QEMU_PORT_SLOT_LAST - QEMU_PORT_SLOT0 + 1) * 8)
#define QEMU_VIDEO_SLOT	    0x01
#define QEMU_AUDIO_SLOT	    0x1b
#define QEMU_LPC_SLOT	    0x1f

/* Where a PCI device sits in the guest: bus 0 is pcie.0 itself, bus N the
 * root port "pci.N" (which firmware numbers N, as ports are enumerated in
 * order). Unused (bus 0, slot 0) for devices that are not on PCI. */
struct qemu_place {
	unsigned bus, slot, fn;
	bool multifunction;
};

struct qemu_build {
	const struct profile *p;
	const struct host *h;
	const struct vm_paths *paths;
	const struct qemu_placement *place; /* the planner's choices */
	struct strv *argv;
	struct strv *origin; /* parallel to argv: see qemu_argv_build() */
	char from[80];	     /* the origin of the arguments added now */
	struct strv *warnings;
	struct vr_error *err;
	unsigned nports;
	bool port_taken[QEMU_PORTS_MAX + 1];
	struct qemu_place *pci;	 /* [p->npci] */
	struct qemu_place *disk; /* [p->ndisk] */
	struct qemu_place *net;	 /* [p->nnet] */
	struct qemu_place scsi, xhci, lg, balloon;
};

/* The profile section, and key, the arguments added from now on come
 * from ("pci.gpu", "hyperv enlightenments"; "" for vmrun's own), so a
 * QEMU error naming one of them can point at the profile line. */
void qb_from(struct qemu_build *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The arguments added since the last qb_from() get its origin (the
 * builder calls it once more at the end). */
void qb_sync_origin(struct qemu_build *b);
/* "-opt" "value" */
void qb_add(struct qemu_build *b, const char *opt, const char *val);
void qb_addf(struct qemu_build *b, const char *opt, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "-opt" JSON: the object is consumed. */
void qb_json(struct qemu_build *b, const char *opt, json_object *o);
/* A profile string that goes into a key=value option: control characters
 * are refused (they would garble logs and --print-argv). */
int qb_check_text(struct qemu_build *b, const char *what, const char *s);
/* -cpu is split on every comma by QEMU (no ",," escape there): what
 * lands in it must be a plain token (letters, digits, "-_." and extra). */
int qb_check_token(struct qemu_build *b, const char *what, const char *s,
		   const char *extra);
/* A file path for a key=value option: rooted, commas doubled. */
char *qb_opt_path(const char *path);
/* Add bus, multifunction and addr of a placement to a -device object. */
void qb_place_json(json_object *o, const struct qemu_place *pl);
json_object *qb_device(const char *driver, const char *id);

/* hyperv.c: the hv-* flags of -cpu. */
int qemu_cpu_hyperv(struct qemu_build *b, struct strv *f);

/* qemu_pci.c */
int qemu_pci_place(struct qemu_build *b);
void qemu_pci_add_ports(struct qemu_build *b);
void qemu_pci_add_vfio(struct qemu_build *b);

/* qemu_devices.c */
int qemu_add_disks(struct qemu_build *b);
int qemu_add_nets(struct qemu_build *b);

/* qemu_periph.c */
int qemu_add_smbios(struct qemu_build *b);
void qemu_add_video(struct qemu_build *b);
void qemu_add_usb(struct qemu_build *b);
void qemu_add_looking_glass(struct qemu_build *b);
void qemu_add_balloon(struct qemu_build *b);
void qemu_add_input(struct qemu_build *b);
int qemu_add_audio(struct qemu_build *b);
int qemu_add_tpm(struct qemu_build *b);
int qemu_add_acpi(struct qemu_build *b);
int qemu_add_display(struct qemu_build *b);

#endif
