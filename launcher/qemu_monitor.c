/* qemu_monitor.c: vmrun's own QMP monitor on the QEMU command line. The
 * dry run shows a socket path; a run swaps in the socketpair's fd. */
#include "hostfs.h"
#include "qemu_argv.h"
#include "util.h"

#include <stdlib.h>

char *qemu_argv_qmp_chardev(const struct vm_paths *paths, int fd)
{
	cleanup_free char *path = NULL, *esc = NULL;

	if (fd >= 0)
		return xasprintf("socket,id=qmp,fd=%d", fd);
	path = hostfs_path(paths->qmp);
	esc = qemu_opt_escape(path);
	return xasprintf("socket,id=qmp,path=%s,server=on,wait=off", esc);
}
