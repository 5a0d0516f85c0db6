/* testlib.h: helpers shared by the cmocka suites: a temporary host root
 * that vmrun's host paths resolve under, and files in it. Linked into
 * every unit test (tests/testlib.c). */
#ifndef VMRUN_TESTLIB_H
#define VMRUN_TESTLIB_H

/* Make /tmp/NAME.XXXXXX, make it the host root (hostfs_set_root) and
 * return its path (valid until tl_root_remove). Fails the test if it
 * cannot. */
const char *tl_root_make(const char *name);
/* Remove the root made by tl_root_make and everything in it. */
void tl_root_remove(void);
/* The path of abs under the root, host path or not (malloc'd). */
char *tl_path(const char *abs);

/* Write text to abs under the root, making the folders above it, and
 * chmod it to mode. */
void tl_put(const char *abs, const char *text, unsigned mode);
/* The contents of abs under the root (a static buffer, overwritten by the
 * next call), or NULL when it cannot be read. */
const char *tl_get(const char *abs);

/* Remove a folder and everything in it (without following links). */
void tl_tree_remove(const char *dir);

#endif
