/* hostfs.h: every host path goes through the host root (VMRUN_ROOT or
 * --root), so tests run vmrun against a fake tree built from a fixture. */
#ifndef VMRUN_HOSTFS_H
#define VMRUN_HOSTFS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Set once by main ("/" when unset). The string is copied. */
void hostfs_set_root(const char *root);
const char *hostfs_root(void);

/* Path of a host file: "/sys/bus/pci" becomes ROOT/sys/bus/pci. Only
 * paths under /sys, /proc, /dev, /run and /etc are the host's own kernel
 * and runtime interfaces and are rooted; any other path (a disk image, a
 * romfile, a state folder the user names) is returned unchanged. The
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

#endif
