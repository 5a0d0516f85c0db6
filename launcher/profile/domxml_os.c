/* domxml_os.c: a libvirt domain's firmware and machine, features (Hyper-V,
 * KVM, SMM), clock and timers, SMBIOS, and what happens on power-off. */
#include "profile/domxml.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libvirt's <hyperv> children and QEMU's hv-* names for them. */
static const struct {
	const char *xml, *hv;
} hv_names[] = {
	{"relaxed", "relaxed"},
	{"vapic", "vapic"},
	{"spinlocks", "spinlocks"},
	{"vpindex", "vpindex"},
	{"runtime", "runtime"},
	{"synic", "synic"},
	{"stimer", "stimer"},
	{"reset", "reset"},
	{"frequencies", "frequencies"},
	{"reenlightenment", "reenlightenment"},
	{"tlbflush", "tlbflush"},
	{"ipi", "ipi"},
	{"evmcs", "evmcs"},
	{"avic", "avic"},
	{"emsr_bitmap", "emsr-bitmap"},
	{"xmm_input", "xmm-input"},
};

static void hv_append(char **list, const char *item)
{
	char *t = xasprintf("%s%s%s", *list, **list ? "," : "", item);

	free(*list);
	*list = t;
}

/* One child of <hyperv>: its hv-* flag (and sub-flags) into list. */
static void hv_one(struct dx *x, const xmlNode *f, char **list)
{
	const char *name = (const char *)f->name;
	unsigned long long n;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hv_names) && strcmp(hv_names[i].xml, name);
	     i++)
		;
	if (i == ARRAY_SIZE(hv_names)) {
		dx_drop(x, f, "Hyper-V feature vmrun does not know");
		return;
	}
	if (!strcmp(name, "spinlocks")) {
		cleanup_free char *s = NULL;

		if (!dx_num(f, "retries", &n))
			n = 8191;
		s = xasprintf("spinlocks=%llu", n);
		hv_append(list, s);
		return;
	}
	hv_append(list, hv_names[i].hv);
	if (!strcmp(name, "stimer") && dx_child(f, "direct") &&
	    dx_attr_is(dx_child(f, "direct"), "state", "on"))
		hv_append(list, "stimer-direct");
	if (!strcmp(name, "tlbflush")) {
		if (dx_attr_is(dx_child(f, "direct"), "state", "on"))
			hv_append(list, "tlbflush-direct");
		if (dx_attr_is(dx_child(f, "extended"), "state", "on"))
			hv_append(list, "tlbflush-ext");
	}
}

/* [hyperv]: the features that are on, in libvirt's order, then the
 * hypervclock timer as "time". No <hyperv>: none at all. */
static void dx_hyperv(struct dx *x, const xmlNode *hv)
{
	cleanup_free char *list = xstrdup("");
	char v[64];

	if (hv && dx_attr_is(hv, "mode", "passthrough"))
		dx_drop(x, hv,
			"mode='passthrough' (every feature the host "
			"has): vmrun lists them; the usual set instead");
	if (x->hv_time)
		hv_append(&list, "time");
	for (xmlNode *f = hv ? dx_first(hv) : NULL; f; f = dx_next(f)) {
		if (!dx_attr_is(f, "state", "on"))
			continue;
		if (dx_is(f, "vendor_id")) {
			dx_attr(f, "value", v, sizeof(v));
			dx_set(x, f, "hyperv", "vendor-id", "%s", v);
			continue;
		}
		hv_one(x, f, &list);
	}
	if (hv && dx_attr_is(hv, "mode", "passthrough"))
		pdoc_set(x->d, "hyperv", "enlightenments", "default");
	else
		pdoc_set(x->d, "hyperv", "enlightenments", "%s",
			 *list ? list : "none");
}

static void dx_features(struct dx *x, const xmlNode *dom)
{
	static const char *const known[] = {"acpi",   "apic", "pae",	"hap",
					    "hyperv", "kvm",  "vmport", "smm",
					    "ioapic", NULL};
	static const char *const kvm_known[] = {"hidden", NULL};
	const xmlNode *f = dx_child(dom, "features"), *n;

	dx_hyperv(x, f ? dx_child(f, "hyperv") : NULL);
	if (!f)
		return;
	if ((n = dx_child(f, "kvm")))
		dx_others(x, n, kvm_known, "vmrun sets no KVM hints");
	if ((n = dx_child(f, "vmport")) && !dx_attr_is(n, "state", "off"))
		dx_drop(x, n, "vmrun turns the VMware port off");
	if ((n = dx_child(f, "ioapic")) && !dx_attr_is(n, "driver", "kvm"))
		dx_drop(x, n, "vmrun keeps the IOAPIC in KVM");
	x->smm = (n = dx_child(f, "smm")) && !dx_attr_is(n, "state", "off");
	dx_others(x, f, known, NULL);
}

/* <loader>/<nvram>, or libvirt's firmware auto-selection. */
static void dx_firmware(struct dx *x, const xmlNode *os)
{
	const xmlNode *loader = dx_child(os, "loader");
	const xmlNode *nvram = dx_child(os, "nvram"), *fw;
	bool efi = dx_attr_is(os, "firmware", "efi");
	bool secure = false;
	char buf[1024];

	if (!efi && (!loader || !dx_attr_is(loader, "type", "pflash"))) {
		pdoc_set(x->d, "firmware", "type", "seabios");
		if (loader)
			dx_drop(x, loader,
				"a BIOS image of its own: vmrun "
				"uses QEMU's SeaBIOS");
		return;
	}
	pdoc_set(x->d, "firmware", "type", "ovmf");
	if (loader) {
		dx_text(loader, buf, sizeof(buf));
		if (*buf)
			dx_set(x, loader, "firmware", "code", "%s", buf);
		secure = dx_attr_is(loader, "secure", "yes");
	}
	for (fw = dx_child(os, "firmware"), fw = fw ? dx_first(fw) : NULL; fw;
	     fw = dx_next(fw))
		if (dx_attr_is(fw, "name", "secure-boot"))
			secure = dx_attr_is(fw, "enabled", "yes");
	if (secure)
		pdoc_set(x->d, "firmware", "secure-boot", "yes");
	if (nvram && dx_attr(nvram, "template", buf, sizeof(buf)))
		dx_set(x, nvram, "firmware", "vars-template", "%s", buf);
	if (nvram)
		dx_text(nvram, buf, sizeof(buf));
	else /* where libvirt keeps it when the domain names none */
		snprintf(buf, sizeof(buf),
			 "/var/lib/libvirt/qemu/nvram/%s_VARS.fd", x->domname);
	if (*buf)
		dx_set(x, nvram ? nvram : os, "firmware", "vars", "%s", buf);
	if (x->smm != secure)
		dx_drop(x, os,
			"SMM %s: vmrun turns SMM on with Secure Boot "
			"only",
			x->smm ? "on without Secure Boot" : "off");
}

static void dx_machine(struct dx *x, const xmlNode *os)
{
	const xmlNode *t = dx_child(os, "type");
	char m[64];

	if (!t || !dx_attr(t, "machine", m, sizeof(m)))
		return;
	if (!strncmp(m, "pc-q35-", 7) || !strcmp(m, "q35"))
		dx_set(x, t, "vm", "machine", "%s", m);
	else
		dx_drop(x, t, "machine '%s': vmrun runs q35 only", m);
	if (dx_attr(t, "arch", m, sizeof(m)) && strcmp(m, "x86_64"))
		dx_drop(x, t, "arch '%s': vmrun runs x86_64 guests", m);
}

void domxml_os(struct dx *x, const xmlNode *dom)
{
	static const char *const known[] = {
		"type", "loader", "nvram", "boot", "smbios", "firmware", NULL};
	const xmlNode *os = dx_child(dom, "os"), *n;
	char buf[64];

	dx_features(x, dom);
	if (!os) {
		dx_fail(x, dom, "<domain> has no <os>");
		return;
	}
	dx_machine(x, os);
	dx_firmware(x, os);
	for (n = dx_first(os); n; n = dx_next(n))
		if (dx_is(n, "boot") && dx_attr(n, "dev", buf, sizeof(buf)))
			strv_add(&x->os_boot, buf);
	if ((n = dx_child(os, "smbios")) &&
	    dx_attr(n, "mode", buf, sizeof(buf)))
		pdoc_set(x->d, "smbios", "mode", "%s",
			 !strcmp(buf, "sysinfo") ? "custom"
			 : !strcmp(buf, "host")	 ? "host"
						 : "none");
	dx_others(x, os, known,
		  "vmrun boots from the firmware: no boot menu, kernel or "
		  "initrd of its own");
}

void domxml_clock(struct dx *x, const xmlNode *dom)
{
	const xmlNode *c = dx_child(dom, "clock");
	char off[32], name[32];
	bool hpet = true;

	if (c && dx_attr(c, "offset", off, sizeof(off)) &&
	    (!strcmp(off, "localtime") || !strcmp(off, "utc")))
		pdoc_set(x->d, "clock", "base", "%s", off);
	else if (c && *off)
		dx_drop(x, c, "offset '%s': localtime or utc only; utc", off);
	if (!c || !*off)
		pdoc_set(x->d, "clock", "base", "utc");
	for (xmlNode *t = c ? dx_first(c) : NULL; t; t = dx_next(t)) {
		dx_attr(t, "name", name, sizeof(name));
		if (!strcmp(name, "hpet"))
			hpet = !dx_attr_is(t, "present", "no");
		else if (!strcmp(name, "hypervclock"))
			x->hv_time = !dx_attr_is(t, "present", "no");
		else if ((!strcmp(name, "rtc") &&
			  !dx_attr_is(t, "tickpolicy", "catchup")) ||
			 (!strcmp(name, "pit") &&
			  !dx_attr_is(t, "tickpolicy", "delay")) ||
			 (strcmp(name, "rtc") && strcmp(name, "pit")))
			dx_drop(x, t,
				"vmrun's timers are libvirt's defaults for "
				"Windows: RTC catchup, PIT delay");
	}
	pdoc_set(x->d, "clock", "hpet", "%s", hpet ? "yes" : "no");
}

/* <sysinfo type='smbios'> entries and their [smbios] keys. */
static const struct {
	const char *block, *entry, *key;
} smbios_keys[] = {
	{"bios", "vendor", "bios-vendor"},
	{"bios", "version", "bios-version"},
	{"bios", "date", "bios-date"},
	{"system", "manufacturer", "system-manufacturer"},
	{"system", "product", "system-product"},
	{"system", "version", "system-version"},
	{"system", "serial", "system-serial"},
	{"system", "sku", "system-sku"},
	{"system", "family", "system-family"},
	{"baseBoard", "manufacturer", "board-manufacturer"},
	{"baseBoard", "product", "board-product"},
	{"baseBoard", "version", "board-version"},
	{"baseBoard", "serial", "board-serial"},
	{"chassis", "manufacturer", "chassis-manufacturer"},
	{"chassis", "version", "chassis-version"},
	{"chassis", "serial", "chassis-serial"},
};

static void dx_smbios_entry(struct dx *x, const xmlNode *block,
			    const xmlNode *e)
{
	char name[32], v[256];

	dx_attr(e, "name", name, sizeof(name));
	dx_text(e, v, sizeof(v));
	if (!strcmp(name, "uuid") && !strcasecmp(v, x->uuid))
		return; /* the VM's own, [vm] uuid */
	for (size_t i = 0; i < ARRAY_SIZE(smbios_keys); i++)
		if (dx_is(block, smbios_keys[i].block) &&
		    !strcmp(name, smbios_keys[i].entry)) {
			dx_set(x, e, "smbios", smbios_keys[i].key, "%s", v);
			return;
		}
	dx_drop(x, e, "SMBIOS %s %s: no [smbios] key", block->name, name);
}

void domxml_sysinfo(struct dx *x, const xmlNode *dom)
{
	static const char *const known[] = {"bios", "system", "baseBoard",
					    "chassis", NULL};
	const xmlNode *si = dx_child(dom, "sysinfo"), *os = dx_child(dom, "os");
	const xmlNode *mode = os ? dx_child(os, "smbios") : NULL;

	if (!si)
		return;
	if (!dx_attr_is(si, "type", "smbios") ||
	    !dx_attr_is(mode, "mode", "sysinfo")) {
		dx_drop(x, si,
			"libvirt shows it to the guest only as SMBIOS "
			"with <smbios mode='sysinfo'>");
		return;
	}
	for (xmlNode *b = dx_first(si); b; b = dx_next(b))
		for (xmlNode *e = dx_first(b); e; e = dx_next(e))
			if (dx_is(e, "entry"))
				dx_smbios_entry(x, b, e);
	dx_others(x, si, known, "no [smbios] keys for these strings");
}

/* What libvirt does when the guest powers off, reboots or crashes, and
 * the other settings of the domain's life that vmrun fixes. */
void domxml_lifecycle(struct dx *x, const xmlNode *dom)
{
	static const char *const want[][2] = {{"on_poweroff", "destroy"},
					      {"on_reboot", "restart"},
					      {"on_crash", "destroy"}};
	const xmlNode *n;
	char v[32];

	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if ((n = dx_child(dom, want[i][0]))) {
			dx_text(n, v, sizeof(v));
			if (strcmp(v, want[i][1]))
				dx_drop(x, n,
					"vmrun does what libvirt's %s "
					"does here",
					want[i][1]);
		}
	for (n = (n = dx_child(dom, "pm")) ? dx_first(n) : NULL; n;
	     n = dx_next(n))
		if (!dx_attr_is(n, "enabled", "no"))
			dx_drop(x, n,
				"vmrun's guests cannot suspend (S3 and "
				"S4 are off)");
	if ((n = dx_child(dom, "iothreads")))
		dx_drop(x, n, "vmrun runs no I/O threads");
	if ((n = dx_child(dom, "resource")))
		dx_drop(x, n, "vmrun puts QEMU in a cgroup of its own");
	if ((n = dx_child(dom, "seclabel")))
		dx_drop(x, n,
			"vmrun applies no security labels (use [vm] "
			"run-as and [qemu] sandbox)");
	if ((n = dx_child(dom, "genid")))
		dx_drop(x, n, "vmrun gives no VM generation id");
}
