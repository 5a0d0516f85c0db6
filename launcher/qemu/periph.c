/* periph.c: everything around the guest's core on the QEMU command
 * line: SMBIOS, video, display, sound, USB, evdev, TPM, Looking Glass, ACPI. */
#include "host/host.h"
#include "qemu/build.h"
#include "qemu/qemu.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One -smbios type=N,...: fields with no value are left out, and a type
 * with none at all is not emitted. */
static int smbios_type(struct qemu_build *b, int type, const char *const *kv,
		       size_t n)
{
	cleanup_free char *opt = xasprintf("type=%d", type);
	bool any = false;

	for (size_t i = 0; i + 1 < n; i += 2) {
		cleanup_free char *what = NULL, *esc = NULL;
		char *s;
		int r;

		if (!kv[i + 1] || !*kv[i + 1])
			continue;
		what = xasprintf("[smbios] type %d %s", type, kv[i]);
		r = qb_check_text(b, what, kv[i + 1]);
		if (r)
			return r;
		esc = qemu_opt_escape(kv[i + 1]);
		s = xasprintf("%s,%s=%s", opt, kv[i], esc);
		free(opt);
		opt = s;
		any = true;
	}
	if (any)
		qb_add(b, "-smbios", opt);
	return 0;
}

int qemu_add_smbios(struct qemu_build *b)
{
	const struct profile_smbios *s = &b->p->smbios;
	const struct host *h = b->h;
	bool host = s->mode == SMBIOS_HOST;
	/* The host's UUID is not copied: -uuid is the VM's own. */
	const char *t0[] = {
		"vendor",  host ? h->dmi_bios_vendor : s->bios_vendor,
		"version", host ? h->dmi_bios_version : s->bios_version,
		"date",	   host ? h->dmi_bios_date : s->bios_date};
	const char *t1[] = {"manufacturer",
			    host ? h->dmi_sys_vendor : s->system_manufacturer,
			    "product",
			    host ? h->dmi_product_name : s->system_product,
			    "version",
			    host ? h->dmi_product_version : s->system_version,
			    "serial",
			    host ? h->dmi_product_serial : s->system_serial,
			    "sku",
			    host ? h->dmi_product_sku : s->system_sku,
			    "family",
			    host ? h->dmi_product_family : s->system_family};
	const char *t2[] = {"manufacturer",
			    host ? h->dmi_board_vendor : s->board_manufacturer,
			    "product",
			    host ? h->dmi_board_name : s->board_product,
			    "version",
			    host ? h->dmi_board_version : s->board_version,
			    "serial",
			    host ? h->dmi_board_serial : s->board_serial};
	const char *t3[] = {
		"manufacturer",
		host ? h->dmi_chassis_vendor : s->chassis_manufacturer,
		"version",
		host ? h->dmi_chassis_version : s->chassis_version,
		"serial",
		host ? h->dmi_chassis_serial : s->chassis_serial};
	int r;

	if (s->mode == SMBIOS_NONE)
		return 0;
	r = smbios_type(b, 0, t0, ARRAY_SIZE(t0));
	if (!r)
		r = smbios_type(b, 1, t1, ARRAY_SIZE(t1));
	if (!r)
		r = smbios_type(b, 2, t2, ARRAY_SIZE(t2));
	if (!r)
		r = smbios_type(b, 3, t3, ARRAY_SIZE(t3));
	return r;
}

void qemu_add_video(struct qemu_build *b)
{
	static const char *const drv[] = {[VIDEO_STD] = "VGA",
					  [VIDEO_QXL] = "qxl-vga",
					  [VIDEO_VIRTIO] = "virtio-vga"};
	struct qemu_place pl = {.slot = QEMU_VIDEO_SLOT};
	json_object *o;

	if (b->p->display.video == VIDEO_NONE)
		return;
	o = qb_device(drv[b->p->display.video], "video0");
	qb_place_json(o, &pl);
	qb_json(b, "-device", o);
}

void qemu_add_usb(struct qemu_build *b)
{
	json_object *o;

	if (!b->p->nusb)
		return;
	qb_from(b, "usb device");
	/* 15 ports each of USB 2 and 3, as libvirt's qemu-xhci. */
	o = qb_device("qemu-xhci", "usb");
	json_object_object_add(o, "p2", json_object_new_int(15));
	json_object_object_add(o, "p3", json_object_new_int(15));
	qb_place_json(o, &b->xhci);
	qb_json(b, "-device", o);
	for (size_t i = 0; i < b->p->nusb; i++) {
		const struct usb_dev *u = &b->p->usb[i];
		cleanup_free char *id = xasprintf("usb-host-%zu", i);

		o = qb_device("usb-host", id);
		json_object_object_add(o, "bus",
				       json_object_new_string("usb.0"));
		if (u->by_id) {
			json_object_object_add(
				o, "vendorid",
				json_object_new_int((int)u->vendor));
			json_object_object_add(
				o, "productid",
				json_object_new_int((int)u->product));
		} else {
			json_object_object_add(
				o, "hostbus", json_object_new_int((int)u->bus));
			json_object_object_add(o, "hostport",
					       json_object_new_string(u->port));
		}
		qb_json(b, "-device", o);
	}
}

void qemu_add_looking_glass(struct qemu_build *b)
{
	const struct profile_looking_glass *lg = &b->p->lg;
	cleanup_free char *path = NULL;
	json_object *o;

	if (!lg->enabled)
		return;
	/* A /dev/shm file or the kvmfr device: either way a shared file
	 * mapping the host's Looking Glass client opens too. */
	path = hostfs_path(lg->device ? lg->device : "/dev/shm/looking-glass");
	o = json_object_new_object();
	json_object_object_add(o, "qom-type",
			       json_object_new_string("memory-backend-file"));
	json_object_object_add(o, "id",
			       json_object_new_string("looking-glass"));
	json_object_object_add(o, "mem-path", json_object_new_string(path));
	json_object_object_add(o, "size",
			       json_object_new_int64((int64_t)lg->size));
	json_object_object_add(o, "share", json_object_new_boolean(true));
	qb_json(b, "-object", o);
	o = qb_device("ivshmem-plain", "shmem0");
	json_object_object_add(o, "memdev",
			       json_object_new_string("looking-glass"));
	qb_place_json(o, &b->lg);
	qb_json(b, "-device", o);
}

void qemu_add_balloon(struct qemu_build *b)
{
	json_object *o;

	if (!b->p->memory.balloon)
		return;
	o = qb_device("virtio-balloon-pci", "balloon0");
	qb_place_json(o, &b->balloon);
	qb_json(b, "-device", o);
}

static bool is_keyboard(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strstr(base, "kbd") || strcasestr(base, "keyboard");
}

/* evdev: the keyboard (by its by-id name, else the first device) grabs
 * every device so its toggle switches them together, and repeats keys. */
void qemu_add_input(struct qemu_build *b)
{
	const struct profile_input *in = &b->p->input;
	ssize_t kbd = -1;

	for (size_t i = 0; kbd < 0 && i < in->evdev.n; i++)
		if (is_keyboard(in->evdev.v[i]))
			kbd = (ssize_t)i;
	if (kbd < 0 && in->evdev.n)
		kbd = 0;
	for (size_t i = 0; i < in->evdev.n; i++) {
		cleanup_free char *id = xasprintf("input%zu", i);
		cleanup_free char *path = hostfs_path(in->evdev.v[i]);
		json_object *o = json_object_new_object();

		json_object_object_add(o, "qom-type",
				       json_object_new_string("input-linux"));
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_object_add(o, "evdev",
				       json_object_new_string(path));
		if ((ssize_t)i == kbd) {
			json_object_object_add(o, "grab_all",
					       json_object_new_boolean(true));
			json_object_object_add(o, "repeat",
					       json_object_new_boolean(true));
		}
		if (in->grab_toggle)
			json_object_object_add(
				o, "grab-toggle",
				json_object_new_string(in->grab_toggle));
		qb_json(b, "-object", o);
	}
}

const char *qemu_audio_driver(const struct profile *p,
			      const struct host_qemu *q)
{
	switch (p->audio.backend) {
	case AUDIO_PIPEWIRE:
		if (!q->major || q->major > 8 ||
		    (q->major == 8 && q->minor >= 1))
			return "pipewire";
		return "pa";
	case AUDIO_PA:
		return "pa";
	case AUDIO_ALSA:
		return "alsa";
	default:
		return "spice";
	}
}

static const char *audio_driver(struct qemu_build *b)
{
	const struct host_qemu *q = &b->h->qemu;
	const char *drv = qemu_audio_driver(b->p, q);

	if (b->p->audio.backend == AUDIO_PIPEWIRE && !strcmp(drv, "pa"))
		strv_addf(b->warnings,
			  "QEMU %d.%d has no PipeWire audio backend: using "
			  "PulseAudio (pipewire-pulse)",
			  q->major, q->minor);
	return drv;
}

int qemu_add_audio(struct qemu_build *b)
{
	static const char *const codec[] = {[CODEC_DUPLEX] = "hda-duplex",
					    [CODEC_MICRO] = "hda-micro",
					    [CODEC_OUTPUT] = "hda-output"};
	const struct profile_audio *a = &b->p->audio;
	struct qemu_place pl = {.slot = QEMU_AUDIO_SLOT};
	const char *dir = b->place ? b->place->sound_dir : NULL, *drv;
	cleanup_free char *server = NULL;
	json_object *o;

	if (a->backend == AUDIO_NONE)
		return 0;
	if (a->backend == AUDIO_SPICE && b->p->display.type != DISPLAY_SPICE)
		return vr_errorx(b->err, EINVAL,
				 "[audio] backend = spice needs [display] "
				 "type = spice");
	drv = audio_driver(b);
	/* PulseAudio's socket (PipeWire's pulse server has it too) */
	if (dir && !strcmp(drv, "pa"))
		server = xasprintf("unix:%s/pulse/native", dir);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string("audio0"));
	json_object_object_add(o, "driver", json_object_new_string(drv));
	if (server)
		json_object_object_add(o, "server",
				       json_object_new_string(server));
	/* what QEMU says of its backend leads there (qemu/refusal.c) */
	qb_from(b, a->runtime_dir ? "audio runtime-dir" : "audio backend");
	qb_json(b, "-audiodev", o);
	qb_from(b, "audio");
	o = qb_device(a->model == AUDIO_ICH6_HDA ? "intel-hda"
						 : "ich9-intel-hda",
		      "sound0");
	qb_place_json(o, &pl);
	qb_json(b, "-device", o);
	o = qb_device(codec[a->codec], "sound0-codec0");
	json_object_object_add(o, "bus", json_object_new_string("sound0.0"));
	json_object_object_add(o, "cad", json_object_new_int(0));
	json_object_object_add(o, "audiodev", json_object_new_string("audio0"));
	qb_json(b, "-device", o);
	return 0;
}

int qemu_add_tpm(struct qemu_build *b)
{
	cleanup_free char *path = NULL;
	json_object *o;
	int r;

	switch (b->p->tpm.type) {
	case TPM_SWTPM:
		/* swtpm splits --tpmstate dir=...,mode=... on every comma and
		 * has no escape for one. */
		if (b->p->tpm.state && strchr(b->p->tpm.state, ','))
			return vr_errorx(b->err, EINVAL,
					 "[tpm] state %s contains ',', which "
					 "swtpm's --tpmstate option cannot "
					 "carry: choose a folder without one",
					 b->p->tpm.state);
		path = qb_opt_path(b->paths->swtpm_sock);
		r = qb_check_text(b, "the swtpm socket path", path);
		if (r)
			return r;
		qb_addf(b, "-chardev", "socket,id=chrtpm,path=%s", path);
		qb_add(b, "-tpmdev", "emulator,id=tpm-tpm0,chardev=chrtpm");
		break;
	case TPM_PASSTHROUGH:
		path = qb_opt_path("/dev/tpm0");
		qb_addf(b, "-tpmdev", "passthrough,id=tpm-tpm0,path=%s", path);
		break;
	default:
		return 0;
	}
	o = qb_device("tpm-crb", "tpm0");
	json_object_object_add(o, "tpmdev", json_object_new_string("tpm-tpm0"));
	qb_json(b, "-device", o);
	return 0;
}

int qemu_add_acpi(struct qemu_build *b)
{
	const struct profile_acpi *a = &b->p->acpi;

	for (size_t i = 0; i < a->tables.n; i++) {
		cleanup_free char *path = qb_opt_path(a->tables.v[i]);
		int r = qb_check_text(b, "[acpi] table", path);

		if (r)
			return r;
		/* QEMU reads file=A:B as two tables to concatenate, and ':'
		 * has no escape: such a path would add a host file. */
		if (strchr(path, ':'))
			return vr_errorx(b->err, EINVAL,
					 "[acpi] table %s contains ':', which "
					 "QEMU's -acpitable reads as a list of "
					 "files: rename the file or its folder",
					 a->tables.v[i]);
		qb_addf(b, "-acpitable", "file=%s", path);
	}
	if (a->fake_battery) {
		cleanup_free char *path = qb_opt_path(b->paths->battery);

		qb_addf(b, "-acpitable", "file=%s", path);
	}
	return 0;
}

int qemu_add_display(struct qemu_build *b)
{
	const struct profile_display *d = &b->p->display;
	const char *listen = d->listen ? d->listen : "127.0.0.1";
	cleanup_free char *esc = qemu_opt_escape(listen);
	int r = 0;

	if (d->type == DISPLAY_SPICE || d->type == DISPLAY_VNC)
		r = qb_check_text(b, "[display] listen", listen);
	if (r)
		return r;
	switch (d->type) {
	case DISPLAY_GTK:
		qb_add(b, "-display", "gtk");
		return 0;
	case DISPLAY_SDL:
		qb_add(b, "-display", "sdl");
		return 0;
	case DISPLAY_SPICE:
		qb_addf(b, "-spice", "port=%u,addr=%s,disable-ticketing=on",
			d->port, esc);
		break;
	case DISPLAY_VNC:
		if (d->port < 5900 || d->port > 65535)
			return vr_errorx(b->err, EINVAL,
					 "[display] port %u: VNC ports start "
					 "at 5900 (display 0)",
					 d->port);
		/* An IPv6 address needs brackets before the display. */
		qb_addf(b, "-vnc", "%s%s%s:%u", strchr(listen, ':') ? "[" : "",
			esc, strchr(listen, ':') ? "]" : "", d->port - 5900);
		break;
	default:
		break;
	}
	qb_add(b, "-display", "none");
	return 0;
}
