/* desktop.h: `vmrun install-desktop NAME`: a menu entry for the invoking
 * user that starts vmrun@NAME.service and, with it, the Looking Glass client. */
#ifndef VMRUN_DESKTOP_H
#define VMRUN_DESKTOP_H

#include "error.h"
#include "profile.h"

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
int cmd_install_desktop(const char *name, struct vr_error *err);

#endif
