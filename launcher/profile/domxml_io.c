/* domxml_io.c: a libvirt domain's sound, video, remote display, input and
 * balloon ([audio], [display], [input], [memory] balloon), the devices a
 * profile has no word for, and the boot order of <os><boot>. */
#include "profile/domxml.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PULSE_SOCKET "/pulse/native" /* in a user's runtime folder */

/* Whose server: <audio runtimeDir> (PipeWire's), or a serverName that is
 * the PulseAudio socket of a runtime folder, into dir ("" for none). */
static void audio_server(struct dx *x, const xmlNode *a, char *dir, size_t len)
{
	char v[PATH_MAX];
	const char *s = v;
	size_t n, tail = strlen(PULSE_SOCKET);

	dir[0] = '\0';
	if (dx_attr(a, "runtimeDir", v, sizeof(v))) {
		snprintf(dir, len, "%s", v);
	} else if (dx_attr(a, "serverName", v, sizeof(v))) {
		s += strncmp(v, "unix:", 5) ? 0 : 5;
		n = strlen(s);
		if (s[0] == '/' && n > tail &&
		    !strcmp(s + n - tail, PULSE_SOCKET))
			snprintf(dir, len, "%.*s", (int)(n - tail), s);
		else
			dx_drop(x, a,
				"vmrun reaches a sound server through its "
				"user's runtime folder ([audio] runtime-dir, "
				"the server's socket in it), not %s",
				v);
	}
	if (dx_child(a, "input") || dx_child(a, "output"))
		dx_drop(x, a,
			"vmrun leaves the streams' settings to the sound "
			"server");
}

/* libvirt's <audio type> and the [audio] backend for it; dir gets the
 * runtime folder of its server, "" when libvirt names none. */
static const char *audio_backend(struct dx *x, const xmlNode *devs,
				 const xmlNode *sound, char *dir, size_t len)
{
	const xmlNode *ref = dx_child(sound, "audio"), *a = NULL;
	char id[16] = "", type[32] = "";

	dx_attr(ref, "id", id, sizeof(id));
	for (const xmlNode *n = dx_first(devs); n; n = dx_next(n))
		if (dx_is(n, "audio") && (!*id || dx_attr_is(n, "id", id)) &&
		    !a)
			a = n;
	dir[0] = '\0';
	if (!a) /* libvirt's default: SPICE's own audio, else none */
		return x->spice ? "spice" : NULL;
	dx_attr(a, "type", type, sizeof(type));
	audio_server(x, a, dir, len);
	return !strcmp(type, "pulseaudio") ? "pa"
	       : !strcmp(type, "pipewire") ? "pipewire"
	       : !strcmp(type, "alsa")	   ? "alsa"
	       : !strcmp(type, "spice")	   ? "spice"
					   : NULL;
}

static void dx_sound(struct dx *x, const xmlNode *devs, const xmlNode *n)
{
	const char *backend;
	char model[32], codec[32], dir[PATH_MAX];

	dx_attr(n, "model", model, sizeof(model));
	if (pdoc_has(x->d, "audio", "backend") ||
	    (strcmp(model, "ich9") && strcmp(model, "ich6"))) {
		dx_drop(x, n,
			"vmrun gives the guest one HD Audio card (ich9 or "
			"ich6)");
		return;
	}
	backend = audio_backend(x, devs, n, dir, sizeof(dir));
	if (!backend) {
		dx_drop(x, n,
			"a sound card without host audio: vmrun adds one "
			"with [audio] backend = pipewire, pa or alsa");
		return;
	}
	pdoc_set(x->d, "audio", "backend", "%s", backend);
	pdoc_set(x->d, "audio", "model", "%s-hda", model);
	if (dx_attr(dx_child(n, "codec"), "type", codec, sizeof(codec)))
		dx_set(x, n, "audio", "codec", "%s", codec);
	if (*dir && (!strcmp(backend, "pa") || !strcmp(backend, "pipewire")))
		pdoc_set(x->d, "audio", "runtime-dir", "%s", dir);
}

static void dx_video(struct dx *x, const xmlNode *n)
{
	const xmlNode *m = dx_child(n, "model");
	char type[32] = "";

	dx_attr(m, "type", type, sizeof(type));
	if (pdoc_has(x->d, "display", "video")) {
		dx_drop(x, n, "vmrun gives the guest one emulated video card");
		return;
	}
	if (!strcmp(type, "vga") || !strcmp(type, "none") ||
	    !strcmp(type, "qxl") || !strcmp(type, "virtio")) {
		pdoc_set(x->d, "display", "video", "%s",
			 !strcmp(type, "vga") ? "std" : type);
	} else {
		pdoc_set(x->d, "display", "video", "std");
		dx_drop(x, n,
			"vmrun's video cards are std (vga), qxl and "
			"virtio; std");
	}
	if (!strcmp(type, "qxl") &&
	    ((dx_attr(m, "ram", type, sizeof(type)) && strcmp(type, "65536")) ||
	     (dx_attr(m, "vram", type, sizeof(type)) &&
	      strcmp(type, "65536")) ||
	     (dx_attr(m, "vgamem", type, sizeof(type)) &&
	      strcmp(type, "16384"))))
		dx_drop(x, m, "QXL memory sizes: vmrun keeps QEMU's defaults");
	if (m && dx_first(m))
		dx_drop(x, dx_first(m), "3D acceleration: vmrun has none");
}

static void dx_graphics(struct dx *x, const xmlNode *n)
{
	static const char *const known[] = {"listen", NULL};
	char type[32], listen[64], port[16];
	unsigned long long p;

	dx_attr(n, "type", type, sizeof(type));
	if (pdoc_has(x->d, "display", "type") ||
	    (strcmp(type, "spice") && strcmp(type, "vnc") &&
	     strcmp(type, "sdl"))) {
		dx_drop(x, n,
			"vmrun shows the guest on one spice, vnc, sdl or "
			"gtk display");
		return;
	}
	pdoc_set(x->d, "display", "type", "%s", type);
	if (!strcmp(type, "sdl"))
		return;
	if (dx_attr(n, "listen", listen, sizeof(listen)) ||
	    dx_attr(dx_child(n, "listen"), "address", listen, sizeof(listen)))
		dx_set(x, n, "display", "listen", "%s", listen);
	if (!dx_attr_is(n, "autoport", "yes") && dx_num(n, "port", &p) && p > 0)
		pdoc_set(x->d, "display", "port", "%llu", p);
	else if (dx_attr(n, "autoport", port, sizeof(port)))
		dx_drop(x, n,
			"autoport (libvirt takes a free port at start): "
			"vmrun uses port 5900 unless [display] port says "
			"otherwise");
	dx_others(x, n, known,
		  "vmrun's spice and vnc take an address and a port only");
}

static void dx_input(struct dx *x, const xmlNode *n)
{
	const xmlNode *src = dx_child(n, "source");
	char v[256];

	if (dx_attr_is(n, "type", "evdev") &&
	    dx_attr(src, "dev", v, sizeof(v))) {
		dx_set(x, n, "input", "evdev", "%s", v);
		if (dx_attr(src, "grabToggle", v, sizeof(v)))
			dx_set(x, src, "input", "grab-toggle", "%s", v);
	} else if (dx_attr_is(n, "bus", "ps2")) {
		; /* q35's own PS/2 keyboard and mouse */
	} else {
		dx_drop(x, n, "vmrun's guests have PS/2 and evdev input only");
	}
}

static const char *const dx_silent[] = {"controller", "audio", NULL};

/* <emulator>: [vm] qemu unless it is qemu-system-x86_64 in a usual place. */
static void dx_emulator(struct dx *x, const xmlNode *n)
{
	char path[1024];

	dx_text(n, path, sizeof(path));
	if (*path && strcmp(path, "/usr/bin/qemu-system-x86_64") &&
	    strcmp(path, "/usr/local/bin/qemu-system-x86_64"))
		dx_set(x, n, "vm", "qemu", "%s", path);
}

/* What a profile has no word for, and why. */
static void dx_other(struct dx *x, const xmlNode *n)
{
	for (size_t i = 0; dx_silent[i]; i++)
		if (dx_is(n, dx_silent[i]))
			return;
	if (dx_is(n, "emulator")) {
		dx_emulator(x, n);
	} else if (dx_is(n, "memballoon")) {
		pdoc_set(x->d, "memory", "balloon", "%s",
			 dx_attr_is(n, "model", "none") ? "no" : "yes");
	} else if (dx_is(n, "channel") || dx_is(n, "serial") ||
		   dx_is(n, "console") || dx_is(n, "parallel")) {
		dx_drop(x, n,
			"vmrun's guests have no serial ports or "
			"channels (no SPICE agent, no guest agent)");
	} else if (dx_is(n, "redirdev")) {
		dx_drop(x, n,
			"no USB redirection: pass USB devices with "
			"[usb] device");
	} else {
		dx_drop(x, n, "vmrun has no such device");
	}
}

void domxml_devices(struct dx *x, const xmlNode *devs)
{
	unsigned ndisk = 0, nnet = 0, nctl = 0;
	const xmlNode *first_ctl = NULL;

	for (const xmlNode *n = dx_first(devs); n; n = dx_next(n)) {
		if (dx_is(n, "graphics") && dx_attr_is(n, "type", "spice"))
			x->spice = true;
		if (dx_is(n, "controller") && dx_attr_is(n, "type", "scsi"))
			x->virtio_scsi = dx_attr_is(n, "model", "virtio-scsi");
		if (dx_is(n, "controller") && !nctl++)
			first_ctl = n;
	}
	for (const xmlNode *n = dx_first(devs); n; n = dx_next(n)) {
		if (dx_is(n, "disk") || dx_is(n, "interface") ||
		    dx_is(n, "hostdev") || dx_is(n, "shmem") || dx_is(n, "tpm"))
			domxml_devices_main(x, n, &ndisk, &nnet);
		else if (dx_is(n, "sound"))
			dx_sound(x, devs, n);
		else if (dx_is(n, "video"))
			dx_video(x, n);
		else if (dx_is(n, "graphics"))
			dx_graphics(x, n);
		else if (dx_is(n, "input"))
			dx_input(x, n);
		else
			dx_other(x, n);
	}
	if (!pdoc_has(x->d, "display", "video"))
		pdoc_set(x->d, "display", "video", "none");
	if (!dx_child(devs, "memballoon")) /* libvirt adds one */
		pdoc_set(x->d, "memory", "balloon", "yes");
	if (nctl > 1)
		dx_drop(x, first_ctl,
			"and the other %u controllers: vmrun makes its own "
			"PCIe root ports and SATA, SCSI and USB controllers",
			nctl - 1);
	else if (nctl)
		dx_drop(x, first_ctl,
			"vmrun makes its own PCIe root ports and SATA, SCSI "
			"and USB controllers");
}

/* <os><boot dev='hd'/>: boot indexes for the first disk and CD-ROM, in
 * the order given, when no device has a <boot order> of its own. */
void domxml_boot_order(struct dx *x, const xmlNode *dom)
{
	const xmlNode *os = dx_child(dom, "os");
	unsigned order = 1;

	if (x->boot_orders || !os)
		return;
	for (size_t i = 0; i < x->os_boot.n; i++) {
		const char *dev = x->os_boot.v[i];
		const char *sec = !strcmp(dev, "hd")	  ? x->boot_disk
				  : !strcmp(dev, "cdrom") ? x->boot_cdrom
							  : "";

		if (*sec && !pdoc_has(x->d, sec, "boot"))
			pdoc_set(x->d, sec, "boot", "%u", order++);
		else if (!*sec)
			dx_drop(x, os,
				"<boot dev='%s'>: vmrun boots from disks "
				"and CD-ROMs",
				dev);
	}
}
