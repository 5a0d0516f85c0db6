/* fh_shim.h: declarations shared by the fakehost.so sources (private to the
 * shim; hidden, so the library exports only the interposed libc calls). */
#ifndef FAKEHOST_FH_SHIM_H
#define FAKEHOST_FH_SHIM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NOT_MINE  1    /* handler result: an ordinary write after all */
#define VAL_MAX	  4096 /* a sysfs store sees at most a page */
#define MASK_BITS 1024 /* CPUs / nodes a list may name */
#define MAX_NODES 64

struct mask {
	uint64_t w[MASK_BITS / 64];
};

/* One intercepted write: the file's real path, its path below ROOT and
 * the value as a string. */
struct req {
	char path[PATH_MAX];
	const char *rel;
	char val[VAL_MAX];
};

#pragma GCC visibility push(hidden)

/* fakehost.c: the next definitions of the calls the shim interposes,
 * and the state of the current call. */
extern ssize_t (*fh_real_write)(int, const void *, size_t);
extern int (*fh_real_mkdir)(const char *, mode_t);
extern int (*fh_real_rmdir)(const char *);
/* Set while the shim runs, so its own calls go straight through. */
extern __thread int fh_busy;
/* realpath of FAKEHOST_ROOT, recomputed on each intercepted call. */
extern __thread char fh_root[PATH_MAX];
extern __thread size_t fh_root_len;

bool fh_root_load(void);
bool fh_below_root(const char *p);
int fh_lock_root(void);
void fh_unlock_root(int fd);

/* fh_file.c */
ssize_t fh_raw_write(int fd, const void *buf, size_t n);
__attribute__((format(printf, 2, 3))) char *fh_pathf(char *out, const char *fmt,
						     ...);
bool fh_exists(const char *path);
bool fh_is_dir(const char *path);
int fh_read_str(const char *path, char *buf, size_t len);
int fh_write_str(const char *path, const char *s);
long fh_read_long(const char *path, long dflt);
void fh_write_long(const char *path, long v);
const char *fh_base_name(const char *path);
char *fh_dir_name(const char *path, char *out);
int fh_link_base(const char *path, char *out, size_t len);
int fh_make_link(const char *from_dir, const char *to, const char *name);
void fh_rm_rf(const char *path);
void fh_mkdir_p(const char *path);

/* fh_value.c */
int fh_parse_ulong(const char *s, unsigned long *out);
const char *fh_dev_arg(char *val);
bool fh_mask_has(const struct mask *m, unsigned bit);
bool fh_mask_empty(const struct mask *m);
bool fh_mask_subset(const struct mask *a, const struct mask *b);
struct mask fh_mask_and(const struct mask *a, const struct mask *b);
int fh_mask_parse_list(const char *s, struct mask *m);
int fh_mask_parse_hex(const char *s, struct mask *m);
void fh_mask_format_hex(const struct mask *m, unsigned nbits, char *out);
int fh_read_mask(const char *path, struct mask *m);
int fh_write_mask(const char *path, const struct mask *m);

/* Write handlers (fakehost.c's rule table): 0, NOT_MINE or -errno. */

/* fh_pci.c */
int fh_do_pci_bind(struct req *r);
int fh_do_pci_unbind(struct req *r);
int fh_do_platform_bind(struct req *r);
int fh_do_platform_unbind(struct req *r);
int fh_do_drivers_probe(struct req *r);
int fh_do_driver_override(struct req *r);
int fh_do_pci_remove(struct req *r);
int fh_do_pci_bus_rescan(struct req *r);
int fh_do_pci_dev_rescan(struct req *r);
int fh_do_pci_reset(struct req *r);

/* fh_mem.c */
long fh_default_hpage_kb(void);
int fh_do_hp_node(struct req *r);
int fh_do_hp_global(struct req *r);
int fh_do_compact_memory(struct req *r);
int fh_do_drop_caches(struct req *r);

/* fh_cgroup.c */
bool fh_is_cgroup(const char *dir);
int fh_do_cpuset_cpus(struct req *r);
int fh_do_cpuset_mems(struct req *r);
int fh_do_cgroup_procs(struct req *r);
int fh_do_subtree_control(struct req *r);
bool fh_cg_target(int dirfd, const char *path, char *out);
int fh_cg_mkdir(const char *dir, mode_t mode);
int fh_cg_rmdir(const char *dir);

/* fh_misc.c */
int fh_do_irq_list(struct req *r);
int fh_do_irq_hex(struct req *r);
int fh_do_vtcon_bind(struct req *r);
bool fh_mount_target(const char *tgt, char *out);
int fh_fake_mount(const char *src, const char *tgt, const char *type,
		  unsigned long flags, const void *data);
int fh_fake_umount(const char *tgt, int flags);

/* fh_holders.c */
int fh_wait_unheld(struct req *r);

/* fh_kvm.c */
bool fh_is_kvm_fd(int fd);
int fh_kvm_ioctl(int fd, unsigned long req, void *arg);

#pragma GCC visibility pop

#endif
