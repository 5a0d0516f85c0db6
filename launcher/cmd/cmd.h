/* cmd/cmd.h: the vmrun commands. main.c parses the options and dispatches
 * through a table to one function per command; every command has the same
 * signature and returns an exit code (enum vm_exit) with err filled. The
 * index of cmd/, by file. */
#ifndef VMRUN_CMD_CMD_H
#define VMRUN_CMD_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "base/base.h"
#include "profile/profile.h"
#include "host/host.h"

/* main.c: the options every command gets. */
struct cmd_opts {
	bool detach; /* --detach */
	bool force;  /* stop --force */
	bool json;   /* devices --json */
	/* new: --gpu, --memory, --vcpus, --looking-glass, as given */
	const char *gpu, *memory, *vcpus, *looking_glass;
	const char *out; /* new, import: --out FILE (NULL: stdout) */
};

/* lifecycle.c: a VM's life: run, the dry runs, prepare, restore. */
int cmd_run(const char *profile, const struct cmd_opts *o,
	    struct vr_error *err);
int cmd_dry_run(const char *profile, const struct cmd_opts *o,
		struct vr_error *err);
int cmd_print_argv(const char *profile, const struct cmd_opts *o,
		   struct vr_error *err);
int cmd_prepare(const char *profile, const struct cmd_opts *o,
		struct vr_error *err);
int cmd_restore(const char *name, const struct cmd_opts *o,
		struct vr_error *err);

/* status.c: a running VM, through its control socket: status, stop,
 * cont. */
int cmd_status(const char *name, const struct cmd_opts *o,
	       struct vr_error *err);
int cmd_stop(const char *name, const struct cmd_opts *o, struct vr_error *err);
/* Let a guest that QEMU paused (an I/O error) run again. */
int cmd_cont(const char *name, const struct cmd_opts *o, struct vr_error *err);

/* desktop.c: `vmrun install-desktop NAME`: a menu entry for the invoking
 * user that starts vmrun@NAME.service and, with it, the Looking Glass
 * client. */
/* The entry for profile p from the built-in template
 * (desktop/vmrun@.desktop.in); launcher is vmrun-desktop-launch's path.
 * malloc'd text, or NULL with err filled. */
char *desktop_entry_render(const struct profile *p, const char *launcher,
			   struct vr_error *err);

/* The file the entry of VM name goes to: $XDG_DATA_HOME/applications/
 * vmrun-NAME.desktop, else ~/.local/share/applications/...; under sudo,
 * the invoking user's. malloc'd, or NULL with err filled. */
char *desktop_entry_path(const char *name, struct vr_error *err);

/* Read /etc/vmrun/NAME.ini (the profile vmrun@NAME.service runs) and
 * write the entry; *written gets its path (malloc'd). */
int desktop_install(const char *name, char **written, struct vr_error *err);

/* The command: an exit code (enum vm_exit); prints where the entry went. */
int cmd_install_desktop(const char *name, const struct cmd_opts *o,
			struct vr_error *err);

/* devices.c: `vmrun devices`: the host's IOMMU groups, each function in
 * them, and whether each group can go to a guest, as text or as JSON. */
/* Print h's groups (pure: reads only h). Text is grouped by IOMMU group
 * with a legend; JSON is {"iommu", "groups": [...], "ungrouped": [...]}. */
void devices_print(const struct host *h, bool json, FILE *out);

/* The command: scan the host's PCI functions and print them. 0, or 1
 * with err filled when the scan fails. */
int cmd_devices(const char *arg, const struct cmd_opts *o,
		struct vr_error *err);

/* capture.c: `vmrun capture [FILE]`: this host in the host fixture format
 * (PCI functions, CPUs, nodes, hugepages, the kernel command line,
 * cgroups, KVM, disks and mounts, interfaces, consoles, device holders),
 * to FILE or stdout. Reads only. */
int cmd_capture(const char *file, const struct cmd_opts *o,
		struct vr_error *err);

/* doctor.c: `vmrun doctor [PROFILE]`: a checklist of what passthrough
 * needs from this host (and from one profile), each failure with its fix. */
/* Run every check against the host under hostfs_root() and, when profile
 * is not NULL, that profile; print one line per check to out. Returns the
 * number of failed checks (0: the profile can start). */
unsigned doctor_run(const char *profile, FILE *out);

/* The command: 0 when no check fails, 1 otherwise (err says how many). */
int cmd_doctor(const char *profile, const struct cmd_opts *o,
	       struct vr_error *err);

/* new.c: `vmrun new NAME --gpu BDF`: a commented profile for this host
 * around one GPU (its IOMMU group, whole cores on its node, memory and
 * hugepages, the laptop and boot-GPU settings), checked by the planner:
 * a GPU whose group cannot go gets the planner's explanation, no file. */
int cmd_new(const char *name, const struct cmd_opts *o, struct vr_error *err);

/* Write text to out, a new file (never over an existing one, never
 * through a link; removed again on a failed write), or to stdout when out
 * is NULL. */
int cmd_text_write(const char *out, const char *text, struct vr_error *err);

/* import.c: `vmrun import DOMAIN.xml`: a libvirt domain (virsh dumpxml)
 * as a profile; what cannot be carried over is listed at the top of the
 * profile and on stderr, with the reason. */
int cmd_import(const char *xml, const struct cmd_opts *o, struct vr_error *err);

#endif
