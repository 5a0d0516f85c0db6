/* new_write.c: the profile `vmrun new` writes: every choice made for this
 * host with its reason, and the keys a user may want to change shown. */
#include "cmd/new.h"
#include "host/host.h"
#include "ops/ops.h"
#include "profile/profile.h"
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

#define VENDOR_NVIDIA 0x10de
#define VENDOR_AMD    0x1002
#define HOST_LEFT_MIN (4 * GIB) /* below this the host is short */

static const char *fn_kind(const struct host_pci *d)
{
	static const struct {
		unsigned cls;
		const char *kind;
	} kinds[] = {
		{0x0403, "audio"}, {0x0c03, "usb"}, {0x0c80, "ucsi"},
		{0x0300, "vga"},   {0x0302, "3d"},  {0x0380, "display"},
		{0x0480, "media"}, {0x0200, "net"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i].cls == d->cls)
			return kinds[i].kind;
	return "fn";
}

static bool same_device(const struct host_pci *a, const struct host_pci *b)
{
	return a->addr.domain == b->addr.domain && a->addr.bus == b->addr.bus &&
	       a->addr.dev == b->addr.dev;
}

/* [pci.NAME] of function i: gpu, then gpu-audio, gpu-usb... for the
 * card's own functions, audio-0a00... for the group's other devices. */
static char *fn_section(const struct layout *l, size_t i)
{
	const struct host_pci *d = l->fn[i], *gpu = l->fn[0];
	char *s;

	if (!i)
		return xstrdup("pci.gpu");
	if (same_device(d, gpu))
		s = xasprintf("pci.gpu-%s", fn_kind(d));
	else
		s = xasprintf("pci.%s-%02x%02x", fn_kind(d), d->addr.bus,
			      d->addr.dev);
	for (size_t j = 1; j < i; j++)
		if (fn_kind(l->fn[j]) == fn_kind(d) &&
		    same_device(l->fn[j], gpu) == same_device(d, gpu)) {
			char *t = xasprintf("%s-%u", s, d->addr.fn);

			free(s);
			return t;
		}
	return s;
}

static bool gpu_is_display(const struct new_req *q)
{
	return q->lr.gpu->boot_vga || iommu_host_display(&q->h) == q->lr.gpu;
}

/* A laptop's discrete GPU: no outputs of its own, and a driver that looks
 * for it at guest bus 01 and for a battery. */
static bool laptop_dgpu(const struct new_req *q)
{
	return q->h.battery &&
	       (q->lr.gpu->vendor == VENDOR_NVIDIA || !gpu_is_display(q));
}

static void write_head(const struct new_req *q, struct pdoc *d)
{
	const struct host_pci *gpu = q->lr.gpu;
	char bdf[16];

	pci_addr_format(&gpu->addr, bdf, sizeof(bdf));
	pdoc_head(d,
		  "%s%sThe profile `vmrun new` wrote for VM '%s' on this "
		  "host, around the GPU at %s (%s).",
		  q->out ? q->out : "", q->out ? ": " : "", q->name, bdf,
		  gpu->name[0] ? gpu->name : "no name in pci.ids");
	pdoc_head(d, "Each choice is explained above its key; a key shown "
		     "commented out is one you may want to change (remove "
		     "the '; ' to use it). `vmrun doctor` checks the profile "
		     "against this host, `vmrun --dry-run` shows what a "
		     "start would do, and vmrun.ini(5) describes every key.");
}

static void write_vm(const struct new_req *q, struct pdoc *d)
{
	char mem[32], left[32];

	pdoc_set(d, "vm", "name", "%s", q->name);
	pdoc_size(q->l.memory, mem, sizeof(mem));
	pdoc_size(q->l.host_left, left, sizeof(left));
	pdoc_comment(d, "vm",
		     "%s for the guest, from NUMA node %d (the GPU's); the "
		     "host keeps %s.",
		     mem, q->l.node, left);
	pdoc_set(d, "vm", "memory", "%s", mem);
	pdoc_hint(d, "vm", "machine", "q35");
	pdoc_hint(d, "vm", "state-dir", "/var/lib/vmrun/${name}");
	pdoc_comment(d, "firmware",
		     "Windows 11 wants UEFI with Secure Boot, and a TPM 2.0 "
		     "([tpm] below). OVMF is found in the usual places.");
	pdoc_set(d, "firmware", "type", "ovmf");
	pdoc_set(d, "firmware", "secure-boot", "yes");
	pdoc_hint(d, "firmware", "code", "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
}

static void write_pins(const struct new_req *q, struct pdoc *d)
{
	const struct layout *l = &q->l;
	cleanup_free char *emu = cpulist_format(&l->emulator_pin);
	cleanup_free char *set = cpulist_format(&l->vcpu_pin);
	cleanup_free char *pin = xstrdup("");

	for (size_t i = 0; i < l->vcpu_pin.n; i++) {
		char *t = xasprintf("%s%s%d", pin, i ? "," : "",
				    l->vcpu_pin.cpu[i]);

		free(pin);
		pin = t;
	}
	pdoc_comment(d, "cpu",
		     "%u whole cores of node %d, the GPU's (host CPUs %s)%s. "
		     "vCPUs are pinned core by core, a core's %u threads "
		     "next to each other, as the guest numbers its threads.",
		     l->cores, l->node, set,
		     !l->l3_known   ? ""
		     : l->l3_shared ? ", all on one L3 cache"
				    : ", over more than one L3 cache (no "
				      "single cache has that many cores free)",
		     l->threads);
	pdoc_set(d, "cpu", "vcpu-pin", "%s", pin);
	pdoc_comment(d, "cpu",
		     "The node's first %s (CPUs %s) stay%s with the host, "
		     "and QEMU's own threads run there.",
		     l->host_cores == 1 ? "core" : "cores", emu,
		     l->host_cores == 1 ? "s" : "");
	pdoc_set(d, "cpu", "emulator-pin", "%s", emu);
	if (l->small_cores)
		pdoc_comment(
			d, "cpu",
			"The node's %zu cores of fewer threads (efficiency "
			"cores) stay with the host too: the guest's cores "
			"are all alike.",
			l->small_cores);
	if (q->h.cgroup2) {
		pdoc_comment(d, "cpu",
			     "While the guest runs, host tasks keep to the "
			     "CPUs outside vcpu-pin.");
		pdoc_set(d, "cpu", "isolate", "yes");
		return;
	}
	pdoc_comment(d, "cpu",
		     "isolate = yes would keep host tasks off the guest's "
		     "CPUs, but vmrun does that on cgroup v2 only and this "
		     "host runs cpusets on cgroup v1: boot with "
		     "systemd.unified_cgroup_hierarchy=1, then set it.");
	pdoc_set(d, "cpu", "isolate", "no");
}

static void write_cpu(const struct new_req *q, struct pdoc *d)
{
	const struct layout *l = &q->l;

	pdoc_comment(d, "cpu",
		     "One socket of %u cores with %u thread%s each: the "
		     "topology of the pins below.",
		     l->cores, l->threads, l->threads == 1 ? "" : "s");
	pdoc_set(d, "cpu", "sockets", "1");
	pdoc_set(d, "cpu", "cores", "%u", l->cores);
	pdoc_set(d, "cpu", "threads", "%u", l->threads);
	write_pins(q, d);
	pdoc_hint(d, "cpu", "model", "host");
	if (q->lr.gpu->vendor != VENDOR_NVIDIA)
		return;
	pdoc_comment(d, "cpu",
		     "NVIDIA's Windows drivers before 465 stop with Code 43 "
		     "when they see a hypervisor: hide it, and show Hyper-V "
		     "a vendor id of its own ([hyperv] below).");
	pdoc_set(d, "cpu", "hide-hypervisor", "yes");
	pdoc_comment(d, "hyperv",
		     "Any 12 characters other than KVM's own (KVMKVMKVM), for "
		     "NVIDIA's driver.");
	pdoc_set(d, "hyperv", "vendor-id", "1234567890ab");
	pdoc_hint(d, "hyperv", "enlightenments", "default");
}

static void write_memory(const struct new_req *q, struct pdoc *d)
{
	const struct layout *l = &q->l;
	char mem[32];

	pdoc_size(l->memory, mem, sizeof(mem));
	if (l->hugepages == HUGEPAGES_1G)
		pdoc_comment(d, "memory",
			     "Guest memory from 1 GiB pages: node %d can "
			     "make them and %s is a whole number of them.",
			     l->node, mem);
	else if (l->hugepages == HUGEPAGES_2M)
		pdoc_comment(d, "memory",
			     "Guest memory from 2 MiB pages (1 GiB pages do "
			     "not fit: the host has no such pool on node %d, "
			     "too little free memory there, or %s is not a "
			     "whole number of GiB).",
			     l->node, mem);
	else
		pdoc_comment(d, "memory",
			     "No hugepages: node %d has too little free "
			     "memory for %s of them now. Free some and set "
			     "hugepages = 2M or 1G.",
			     l->node, mem);
	pdoc_set(d, "memory", "hugepages", "%s",
		 l->hugepages == HUGEPAGES_1G	? "1G"
		 : l->hugepages == HUGEPAGES_2M ? "2M"
						: "none");
	pdoc_comment(d, "memory",
		     "Memory on the GPU's node, where its DMA goes.");
	pdoc_set(d, "memory", "numa-node", "%d", l->node);
	pdoc_comment(d, "clock", "Windows keeps the clock in local time.");
	pdoc_set(d, "clock", "base", "localtime");
}

/* The pci sections; a laptop's discrete GPU at guest 01:00.F. */
static void write_pci(const struct new_req *q, struct pdoc *d)
{
	const struct layout *l = &q->l;
	bool laptop = laptop_dgpu(q), multi = false;

	for (size_t i = 1; i < l->nfn; i++)
		multi |= same_device(l->fn[i], l->fn[0]);
	for (size_t i = 0; i < l->nfn; i++) {
		const struct host_pci *f = l->fn[i];
		cleanup_free char *sec = fn_section(l, i);
		bool own = same_device(f, l->fn[0]);
		char bdf[16];

		pci_addr_format(&f->addr, bdf, sizeof(bdf));
		if (!i && l->nfn > 1)
			pdoc_comment(d, sec,
				     "%s and everything else of IOMMU group "
				     "%d go to the guest together: a group "
				     "goes whole or not at all.",
				     f->name[0] ? f->name : "the GPU",
				     f->iommu_group);
		else if (i)
			pdoc_comment(d, sec, "%s%s", f->name,
				     own ? ", of the same card"
					 : ", which shares the GPU's IOMMU "
					   "group");
		pdoc_set(d, sec, "host", "%s", bdf);
		if (laptop && own) {
			if (!i)
				pdoc_comment(d, sec,
					     "A laptop GPU's driver looks for "
					     "the card at guest bus 01.");
			pdoc_set(d, sec, "guest-address", "01:00.%u",
				 f->addr.fn);
		}
		if (!i && multi)
			pdoc_set(d, sec, "multifunction", "yes");
		if (i)
			continue;
		if (laptop && f->sub_vendor)
			pdoc_hint(d, sec, "sub-vendor-id", "0x%04x",
				  f->sub_vendor);
		if (laptop && f->sub_device)
			pdoc_hint(d, sec, "sub-device-id", "0x%04x",
				  f->sub_device);
		if (gpu_is_display(q))
			pdoc_comment(d, sec,
				     "A boot GPU often needs a clean dump of "
				     "its vBIOS (romfile) to start again in "
				     "the guest.");
		pdoc_hint(d, sec, "romfile", "/var/lib/vmrun/%s.rom", q->name);
		if (q->lr.gpu->vendor == VENDOR_AMD)
			pdoc_comment(d, sec,
				     "Older AMD cards (Polaris, Vega) do not "
				     "reset between guests: if the second "
				     "start shows nothing, try reset = "
				     "remove-rescan.");
		pdoc_hint(d, sec, "reset", "remove-rescan");
	}
}

static void write_console(const struct new_req *q, struct pdoc *d)
{
	char bdf[16];

	if (!gpu_is_display(q))
		return;
	pci_addr_format(&q->lr.gpu->addr, bdf, sizeof(bdf));
	pdoc_comment(d, "host",
		     "%s is the boot GPU: the host's consoles and desktop run "
		     "on it. While the guest has it the display manager "
		     "(%s) is stopped and the virtual consoles and the EFI "
		     "framebuffer let go of the card; all come back when the "
		     "guest ends. Run vmrun from another machine (SSH) or a "
		     "systemd unit, not from that desktop.",
		     bdf, q->h.display_manager);
	pdoc_set(d, "host", "stop-units", "%s", q->h.display_manager);
	pdoc_set(d, "host", "unbind-vtconsoles", "yes");
	pdoc_set(d, "host", "unbind-efifb", "yes");
}

static bool system_unit(const struct holder *hd)
{
	return hd->unit[0] && !hd->user_unit;
}

void new_holders(struct new_req *q)
{
	for (size_t i = 0; i < q->l.nfn; i++) {
		struct holder *hs = NULL;
		size_t n;

		if (!strcmp(q->l.fn[i]->driver, "vfio-pci"))
			continue;
		n = holders_find(q->l.fn[i], &hs);
		if (n) {
			q->holders = xrealloc(q->holders,
					      (q->nholders + n) * sizeof(*hs));
			memcpy(q->holders + q->nholders, hs, n * sizeof(*hs));
			q->nholders += n;
		}
		free(hs);
	}
}

/* Whether unit is already stopped for the card (or by an earlier
 * holder): the display manager of a boot GPU. */
static bool unit_stopped(const struct new_req *q, size_t upto, const char *unit)
{
	if (gpu_is_display(q) && !strcmp(unit, q->h.display_manager))
		return true;
	for (size_t i = 0; i < upto; i++)
		if (system_unit(&q->holders[i]) &&
		    !strcmp(q->holders[i].unit, unit))
			return true;
	return false;
}

/* The system services that hold the card now (nvidia-persistenced, a
 * display manager): stopped while the guest has it, started after. */
static void write_holders(const struct new_req *q, struct pdoc *d)
{
	for (size_t i = 0; i < q->nholders; i++) {
		const struct holder *hd = &q->holders[i];

		if (!system_unit(hd) || unit_stopped(q, i, hd->unit))
			continue;
		pdoc_comment(d, "host",
			     "%s (%s) has %s open, and the card's driver "
			     "cannot let go of it while it does: vmrun stops "
			     "the service before it binds the card and starts "
			     "it again after.",
			     hd->comm, hd->unit, hd->node);
		pdoc_set(d, "host", "stop-units", "%s", hd->unit);
	}
}

static void write_storage(const struct new_req *q, struct pdoc *d)
{
	(void)q;
	pdoc_comment(d, "disk.system",
		     "The guest's disk: a placeholder. Create the image "
		     "(qemu-img create -f qcow2 FILE 128G, with the VM's "
		     "state-dir made first) or set file to a block device "
		     "(/dev/disk/by-id/...) and format = raw. SATA needs no "
		     "driver in the Windows installer; virtio is faster once "
		     "the virtio-win drivers are in.");
	pdoc_set(d, "disk.system", "file", "${state-dir}/system.qcow2");
	pdoc_set(d, "disk.system", "format", "qcow2");
	pdoc_set(d, "disk.system", "interface", "sata");
	pdoc_set(d, "disk.system", "boot", "2");
	pdoc_comment(d, "disk.install",
		     "The installer: uncomment and point file at the ISO.");
	pdoc_set(d, "disk.install", "file", "/path/to/Win11.iso");
	pdoc_set(d, "disk.install", "media", "cdrom");
	pdoc_set(d, "disk.install", "interface", "sata");
	pdoc_set(d, "disk.install", "boot", "1");
	pdoc_disable(d, "disk.install");
	pdoc_comment(d, "net.lan",
		     "NAT through QEMU; for the guest on the LAN: mode = "
		     "bridge and bridge = br0. Windows has e1000e drivers "
		     "built in; virtio needs virtio-win.");
	pdoc_set(d, "net.lan", "mode", "user");
	pdoc_set(d, "net.lan", "model", "e1000e");
}

static void write_extras(const struct new_req *q, struct pdoc *d)
{
	unsigned w = q->lg_width, hgt = q->lg_height;
	bool laptop = laptop_dgpu(q);
	char size[32];

	if (!w && laptop) {
		w = 1920;
		hgt = 1080;
	}
	if (w) {
		pdoc_size(profile_lg_auto_size(w, hgt, false), size,
			  sizeof(size));
		pdoc_comment(d, "looking-glass",
			     "%sLooking Glass shows the guest's screen in a "
			     "window on the host; %ux%u needs %s of shared "
			     "memory (size = auto computes it).",
			     laptop && !q->lg_width
				     ? "The laptop GPU has no screen of its "
				       "own: "
				     : "",
			     w, hgt, size);
		pdoc_set(d, "looking-glass", "resolution", "%ux%u", w, hgt);
		pdoc_hint(d, "looking-glass", "device",
			  "/dev/shm/looking-glass");
		if (!host_group_find("kvm", NULL)) {
			pdoc_comment(d, "looking-glass",
				     "This host has no group kvm: the shared "
				     "memory is yours and root's.");
			pdoc_set(d, "looking-glass", "group", "root");
		}
	}
	if (laptop) {
		pdoc_comment(d, "acpi",
			     "A laptop GPU's driver wants a battery: vmrun "
			     "gives the guest a full one.");
		pdoc_set(d, "acpi", "fake-battery", "yes");
	}
	pdoc_comment(d, "tpm", "A TPM 2.0 for Windows 11, from swtpm.");
	pdoc_set(d, "tpm", "type", "swtpm");
	pdoc_comment(d, "audio",
		     "Guest sound on the host: uncomment (the GPU's HDMI "
		     "audio needs nothing).");
	pdoc_hint(d, "audio", "backend", "pipewire");
}

/* Programs of a user's that hold the card: the profile cannot stop
 * them, the user quits them before the start. */
static void warn_holders(const struct new_req *q, const char *file)
{
	struct holder *hs = xcalloc(q->nholders + 1, sizeof(*hs));
	cleanup_free char *text = NULL;
	size_t n = 0;

	for (size_t i = 0; i < q->nholders; i++)
		if (!system_unit(&q->holders[i]))
			hs[n++] = q->holders[i];
	if (n) {
		text = holders_text(hs, n);
		log_warn("the card is in use now: %s. Its driver cannot let "
			 "go of it while they do, so quit them (a user unit: "
			 "systemctl --user stop it) before you start the VM; "
			 "`vmrun doctor %s` says when it is free",
			 text, file ? file : "PROFILE");
	}
	free(hs);
}

void new_warn(const struct new_req *q, const char *file)
{
	const struct layout *l = &q->l;
	char left[32], mem[32];

	hugepages_format_size(l->host_left, left, sizeof(left));
	hugepages_format_size(l->memory, mem, sizeof(mem));
	if (l->host_left < HOST_LEFT_MIN)
		log_warn("the guest leaves the host %s of memory; under 4 GiB "
			 "the host may swap or fail to start the guest: give "
			 "less with --memory",
			 left);
	if (l->hugepages == HUGEPAGES_NONE)
		log_warn("node %d has too little free memory for the guest's "
			 "%s in hugepages: the profile uses none",
			 l->node, mem);
	warn_holders(q, file);
}

void new_write(const struct new_req *q, struct pdoc *d)
{
	write_head(q, d);
	write_vm(q, d);
	write_cpu(q, d);
	write_memory(q, d);
	write_pci(q, d);
	write_console(q, d);
	write_holders(q, d);
	write_storage(q, d);
	write_extras(q, d);
}
