/* profile/profile.h: the parsed profile (PROFILE.md), one struct per section.
 * profile_load is pure: a file in, a fully defaulted struct or errors out. */
#ifndef VMRUN_PROFILE_PROFILE_H
#define VMRUN_PROFILE_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"

#define PROFILE_NAME_MAX 32

enum vm_accel {
	ACCEL_KVM,
	ACCEL_TCG
};
enum fw_type {
	FW_OVMF,
	FW_SEABIOS
};
enum hugepages {
	HUGEPAGES_NONE,
	HUGEPAGES_2M,
	HUGEPAGES_1G
};
enum smbios_mode {
	SMBIOS_NONE,
	SMBIOS_HOST,
	SMBIOS_CUSTOM
};
enum clock_base {
	CLOCK_LOCALTIME,
	CLOCK_UTC
};
enum pci_reset {
	PCI_RESET_AUTO,
	PCI_RESET_REMOVE_RESCAN,
	PCI_RESET_NONE
};
enum disk_format {
	DISK_FORMAT_AUTO,
	DISK_FORMAT_RAW,
	DISK_FORMAT_QCOW2
};
enum disk_iface {
	DISK_VIRTIO,
	DISK_SCSI,
	DISK_SATA,
	DISK_NVME
};
enum disk_media {
	MEDIA_DISK,
	MEDIA_CDROM
};
enum disk_cache {
	CACHE_NONE,
	CACHE_WRITEBACK,
	CACHE_UNSAFE
};
enum disk_aio {
	AIO_IO_URING,
	AIO_NATIVE,
	AIO_THREADS
};
enum net_mode {
	NET_USER,
	NET_BRIDGE,
	NET_TAP,
	NET_NONE
};
enum net_model {
	NIC_VIRTIO,
	NIC_E1000E
};
enum audio_backend {
	AUDIO_NONE,
	AUDIO_PIPEWIRE,
	AUDIO_PA,
	AUDIO_ALSA,
	AUDIO_SPICE
};
enum audio_model {
	AUDIO_ICH9_HDA,
	AUDIO_ICH6_HDA
};
enum audio_codec {
	CODEC_DUPLEX,
	CODEC_MICRO,
	CODEC_OUTPUT
};
enum tpm_type {
	TPM_NONE,
	TPM_SWTPM,
	TPM_PASSTHROUGH
};
enum display_type {
	DISPLAY_NONE,
	DISPLAY_GTK,
	DISPLAY_SDL,
	DISPLAY_SPICE,
	DISPLAY_VNC
};
enum video_type {
	VIDEO_NONE,
	VIDEO_STD,
	VIDEO_QXL,
	VIDEO_VIRTIO
};
enum tristate {
	TRI_AUTO,
	TRI_YES,
	TRI_NO
};

/* Paths below are final: relative paths resolved against the profile's
 * folder, ${name} expanded. NULL means unset. */

struct profile_vm {
	char name[PROFILE_NAME_MAX + 1];
	uint64_t memory; /* bytes */
	bool has_uuid;
	char uuid[37]; /* lower-case canonical form */
	char *machine; /* "q35" or "pc-q35-X.Y" */
	enum vm_accel accel;
	char *qemu;		   /* binary; "qemu-system-x86_64" when unset */
	char *run_as;		   /* user name or NULL */
	char *state_dir;	   /* default /var/lib/vmrun/NAME */
	unsigned shutdown_timeout; /* seconds, default 120 */
};

struct profile_firmware {
	enum fw_type type;
	char *code;	     /* NULL: found on the host at plan time */
	char *vars_template; /* NULL: matched to code at plan time */
	char *vars;	     /* default ${state-dir}/OVMF_VARS.fd */
	bool secure_boot;
};

struct profile_cpu {
	char *model; /* default "host" */
	unsigned sockets, cores, threads;
	unsigned vcpus; /* sockets * cores * threads */
	bool hide_hypervisor;
	struct cpulist vcpu_pin;     /* n == 0: no pinning */
	struct cpulist emulator_pin; /* n == 0: none */
	bool isolate;
};

/* [hyperv] enlightenments = default */
#define PROFILE_HV_DEFAULT                                                     \
	"relaxed,vapic,spinlocks=8191,vpindex,runtime,synic,stimer,reset,"     \
	"frequencies,tlbflush,time"

/* One Hyper-V enlightenment: "spinlocks=8191" is name "spinlocks", value
 * "8191". */
struct hv_feature {
	char *name;
	char *value; /* NULL for plain on/off features */
};

enum hv_unsupported {
	HV_UNSUPPORTED_DROP,   /* left out with a warning */
	HV_UNSUPPORTED_REFUSE, /* the start is refused */
};

struct profile_hyperv {
	struct hv_feature *features; /* resolved: "default" expanded */
	size_t nfeatures;	     /* 0 with "none" */
	char *vendor_id;	     /* <= 12 chars or NULL */
	/* enlightenments this host's KVM does not offer */
	enum hv_unsupported unsupported;
};

struct profile_memory {
	enum hugepages hugepages;
	int numa_node;		   /* -1 = auto */
	unsigned prealloc_threads; /* 0 = auto */
	bool balloon;
};

struct profile_smbios {
	enum smbios_mode mode;
	char *bios_vendor, *bios_version, *bios_date;
	char *system_manufacturer, *system_product, *system_version,
		*system_serial, *system_sku, *system_family;
	char *board_manufacturer, *board_product, *board_version, *board_serial;
	char *chassis_manufacturer, *chassis_version, *chassis_serial;
};

struct profile_clock {
	enum clock_base base;
	bool hpet;
};

struct profile_pci {
	char *name; /* section suffix: [pci.gpu] -> "gpu" */
	int line;   /* line of the section header */
	struct pci_addr host;
	char *romfile;
	bool rombar;
	bool has_guest_address;
	struct pci_addr guest_address; /* domain 0 */
	bool multifunction;
	bool x_vga;
	int vendor_id, device_id, sub_vendor_id, sub_device_id; /* -1 host's */
	enum pci_reset reset;
	unsigned boot;		 /* 0 = none */
	bool take_host_critical; /* even what the host runs on (root disk) */
};

struct profile_disk {
	char *name;
	int line;
	char *file;
	enum disk_format format;
	enum disk_iface iface;
	enum disk_media media;
	enum disk_cache cache;
	enum disk_aio aio;
	bool discard;
	bool readonly; /* resolved: yes for cdrom unless set */
	unsigned boot;
};

struct profile_net {
	char *name;
	int line;
	enum net_mode mode;
	char *bridge;
	char *tap;
	enum net_model model;
	bool has_mac;
	char mac[18]; /* "52:54:00:xx:xx:xx"; derived when unset */
};

struct profile_looking_glass {
	bool enabled;  /* the section is present */
	char *device;  /* /dev/shm/NAME or /dev/kvmfrN */
	bool is_kvmfr; /* device is a kvmfr character device */
	uint64_t size; /* bytes, resolved from auto */
	unsigned width, height;
	bool hdr;
	char *owner; /* NULL: invoking user */
	char *group; /* default "kvm" */
};

struct profile_acpi {
	struct strv tables;
	bool fake_battery;
};

/* [usb] device = VENDOR:PRODUCT or BUS-PORT */
struct usb_dev {
	bool by_id;
	unsigned vendor, product; /* by_id */
	unsigned bus;		  /* !by_id */
	char port[32];		  /* "1.2" style port path, !by_id */
};

struct profile_input {
	struct strv evdev;
	char *grab_toggle; /* NULL: QEMU's default */
};

struct profile_audio {
	enum audio_backend backend;
	enum audio_model model;
	enum audio_codec codec;
	char *runtime_dir; /* the sound server's user's XDG_RUNTIME_DIR */
};

struct profile_tpm {
	enum tpm_type type;
	char *state; /* default ${state-dir}/tpm */
};

struct profile_display {
	enum display_type type;
	enum video_type video; /* resolved: none when any x-vga */
	char *listen;	       /* default 127.0.0.1 */
	unsigned port;	       /* default 5900 */
};

struct profile_host {
	struct strv stop_units;
	enum tristate unbind_vtconsoles;
	enum tristate unbind_efifb;
	bool compact_memory;
	bool irq_affinity;
};

struct profile_hooks {
	struct strv pre_start, post_start, pre_stop, post_stop;
	unsigned timeout; /* seconds a hook may run */
};

/* Where a section or key was set, for what only the host view shows wrong
 * later (profile_where). */
struct profile_loc {
	char label[48];	 /* "cpu", "pci.gpu" */
	const char *key; /* NULL: the section header */
	int line;
};

struct profile {
	char *path; /* the profile file as given */
	char *dir;  /* its folder, absolute */
	struct profile_loc *locs;
	size_t nlocs;
	struct profile_vm vm;
	struct profile_firmware firmware;
	struct profile_cpu cpu;
	struct profile_hyperv hyperv;
	struct profile_memory memory;
	struct profile_smbios smbios;
	struct profile_clock clock;
	struct profile_pci *pci;
	size_t npci;
	struct profile_disk *disk;
	size_t ndisk;
	struct profile_net *net;
	size_t nnet;
	struct profile_looking_glass lg;
	struct profile_acpi acpi;
	struct usb_dev *usb;
	size_t nusb;
	struct profile_input input;
	struct profile_audio audio;
	struct profile_tpm tpm;
	struct profile_display display;
	struct profile_host host;
	struct profile_hooks hooks;
	struct strv qemu_args; /* [qemu] arg */
	bool qemu_sandbox;     /* [qemu] sandbox: QEMU's seccomp filter */
};

/* Parse and validate. On failure every problem found is in err->msg, one
 * per line, as "FILE:LINE: message". */
int profile_load(const char *path, struct profile *p, struct vr_error *err);
/* Same from a string (tests); name is used in messages, dir for relative
 * paths. */
int profile_load_string(const char *text, const char *name, const char *dir,
			struct profile *p, struct vr_error *err);
void profile_free(struct profile *p);

/* "FILE:LINE" of [label] key in p, else of its section header, else
 * "FILE": errors the host view finds (a CPU it lacks, a device in use)
 * point at the line to change as parse errors do. malloc'd. */
char *profile_where(const struct profile *p, const char *label,
		    const char *key);
/* Prefix err's message with profile_where(p, label, key) and ": ".
 * Returns -err->code, for `return profile_error_at(...)`. */
int profile_error_at(const struct profile *p, const char *label,
		     const char *key, struct vr_error *err);

/* rom.c: a vBIOS image's own account of itself. */
#define ROM_DEVS_MAX 16
struct rom_info {
	uint64_t file_len;  /* bytes in the file */
	uint64_t image_len; /* bytes its header declares (512-byte blocks) */
	bool has_pcir;	    /* a PCI data structure was found */
	unsigned vendor, device;
	unsigned devs[ROM_DEVS_MAX]; /* PCIR 3.0 device list */
	unsigned ndevs;
};
/* Read path's header and PCI data structure: 0, -EINVAL when it does not
 * start with 0x55AA, or -errno. */
int rom_read(const char *path, struct rom_info *ri);
/* Whether the firmware would run it on a device showing these IDs. */
bool rom_matches(const struct rom_info *ri, unsigned vendor, unsigned device);

/* A VM or section name: [A-Za-z0-9_-], 1 to PROFILE_NAME_MAX characters. */
bool profile_name_valid(const char *name);
/* The same as an error for a NAME given on the command line. */
int profile_name_check(const char *name, struct vr_error *err);

/* Looking Glass's own rule for size = auto. */
uint64_t profile_lg_auto_size(unsigned width, unsigned height, bool hdr);

/* The schema, for docs and --help: one entry per key. */
struct profile_key_doc {
	const char *section; /* "vm", "pci.NAME" */
	const char *key;
	const char *values; /* what is allowed */
	const char *def;    /* default, "" for none */
	const char *help;
	bool repeatable;
	bool required;
};
const struct profile_key_doc *profile_schema_doc(size_t *n);

/* pdoc.c: a profile written as text (`vmrun new`, `vmrun import`): keys
 * checked against the schema and values against what the parser reads
 * back, sections in the schema's order, comments wrapped. The first
 * problem is kept in err and returned by pdoc_write. */
struct pdoc_sec;
struct pdoc {
	struct strv head; /* comment lines at the top */
	struct pdoc_sec *sec;
	size_t nsec;
	struct vr_error err;
};

/* A comment at the top of the file. */
void pdoc_head(struct pdoc *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An item of a list at the top: "; - text", continued indented. */
void pdoc_head_item(struct pdoc *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A comment in section ("cpu", "pci.gpu"), made when new. */
void pdoc_comment(struct pdoc *d, const char *section, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* key = value; -EINVAL for an unknown key, a non-repeatable key set twice
 * or a value the parser would not read back (err says which). */
int pdoc_set(struct pdoc *d, const char *section, const char *key,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A key shown commented out ("; key = value"), for the reader to change. */
void pdoc_hint(struct pdoc *d, const char *section, const char *key,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Whether key is set in section. */
bool pdoc_has(struct pdoc *d, const char *section, const char *key);
/* Whether v reads back as written; *why says why not. */
bool pdoc_value_ok(const char *v, const char **why);
/* Write the whole section commented out (a section with no key set is
 * written so anyway: its header alone would turn it on). */
void pdoc_disable(struct pdoc *d, const char *section);
/* The text, or the first problem. */
int pdoc_write(const struct pdoc *d, FILE *f, struct vr_error *err);
void pdoc_free(struct pdoc *d);
/* "16G", "512M": a size the way a profile writes it. */
void pdoc_size(uint64_t bytes, char *buf, size_t len);

/* domxml.c (and domxml_*.c): a libvirt domain, the XML `virsh dumpxml`
 * prints, read with libxml2 into d: every element a profile can say, and
 * for each it cannot, a line "<elem> (line N): why" in dropped. 0, or
 * -EINVAL with err "FILE:LINE: what is wrong" for XML that is not
 * well-formed or not a domain. */
int domxml_import(const char *text, size_t len, const char *file,
		  struct pdoc *d, struct strv *dropped, struct vr_error *err);

#endif
