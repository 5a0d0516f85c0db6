/* hostio.h: the one place host files are written and host tools are run.
 * Every sysfs/procfs/cgroup write of the plan's operations goes through here. */
#ifndef VMRUN_HOSTIO_H
#define VMRUN_HOSTIO_H

#include <stddef.h>

#include "error.h"

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

#endif
