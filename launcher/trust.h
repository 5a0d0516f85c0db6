/* trust.h: vmrun runs as root and a profile is code. Before a profile is
 * used, it and the files it names that run or reach QEMU must be files
 * only root and the person running vmrun can change. Pure checks (stat).
 *
 * The rule, for the file and for every folder a lookup of its path goes
 * through (each symlink followed, its target checked the same way):
 * - its owner is root or the invoking user (SUDO_UID, else PKEXEC_UID,
 *   else the real uid): an owner can always chmod and write;
 * - not writable by others (o+w), nor by a group with other members
 *   (g+w is fine only for gid 0 or the invoking user's own private group,
 *   named like the user, listing no other member);
 * - no POSIX access ACL whose mask allows writing (named users or groups
 *   may then write);
 * - a folder others can write is still fine when it is sticky (like /tmp)
 *   and the entry looked up in it is owned by root or the invoking user:
 *   the sticky bit stops others from renaming or removing that entry.
 * Checked: the profile (before it is parsed), [vm] qemu when it is a path,
 * the [hooks] programs (run as root), [pci.*] romfile and [acpi] table
 * files (handed to the guest's firmware). Disks, firmware and the OVMF
 * vars only reach the guest, not the host, and are not checked. */
#ifndef VMRUN_TRUST_H
#define VMRUN_TRUST_H

#include <sys/types.h>

#include "error.h"
#include "profile.h"
#include "util.h"

enum trust_mode {
	TRUST_ENFORCE, /* refuse (run, prepare): the default */
	TRUST_WARN,    /* warn and go on (--dry-run, --print-argv) */
	TRUST_OFF,     /* --trust: no checks */
};

void trust_set_mode(enum trust_mode mode);
enum trust_mode trust_get_mode(void);

/* The person who ran vmrun: SUDO_UID, else PKEXEC_UID, else getuid(). */
uid_t trust_invoking_uid(void);

/* Append one line per problem of path to out, each naming role ("the
 * profile", "[hooks] pre-start"), the path, what is wrong and the fix.
 * uid is the trusted non-root user. A path that does not exist adds
 * nothing (whoever opens it reports that). Returns the lines added. */
size_t trust_path_problems(const char *path, const char *role, uid_t uid,
			   struct strv *out);

/* The profile file itself, before it is parsed. */
int trust_check_profile_file(const char *path, struct vr_error *err);
/* The files the parsed profile names (see above). */
int trust_check_profile(const struct profile *p, struct vr_error *err);

#endif
