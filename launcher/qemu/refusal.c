/* refusal.c: QEMU's last words when it will not start, traced back to the
 * profile line that caused them. Pure: text in, a section and key out. */
#include "qemu/qemu.h"

#include <ctype.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A token shorter than this ("usb", "qmp") would match ordinary words. */
#define TOKEN_MIN 4
/* QEMU 7.2's PulseAudio backend: why it could not connect, on a line of
 * its own before the failure ("pulseaudio: Reason: Access denied"). */
#define PA_REASON "pulseaudio: Reason: "

/* The Hyper-V MSRs KVM is asked to set, by the enlightenment that makes
 * QEMU set them (QEMU's hyperv-proto.h). */
static const struct {
	unsigned long lo, hi;
	const char *feature;
} hv_msrs[] = {
	{0x40000002, 0x40000002, "vpindex"},
	{0x40000003, 0x40000003, "reset"},
	{0x40000010, 0x40000010, "runtime"},
	{0x40000020, 0x40000021, "time"},
	{0x40000022, 0x40000023, "frequencies"},
	{0x40000070, 0x40000073, "vapic"},
	{0x40000080, 0x4000009f, "synic"},
	{0x400000b0, 0x400000b7, "stimer"},
	{0x40000100, 0x40000105, "crash"},
	{0x40000106, 0x40000106, "reenlightenment"},
};

/* What to do, by words in QEMU's message. */
static const struct {
	const char *text, *hint;
} hints[] = {
	{"not viable", "every device of that IOMMU group must go to the guest "
		       "or be unbound from its driver (`vmrun devices` lists "
		       "the groups)"},
	{"Image is not in ", "the file is not in that format: set format to "
			     "what `qemu-img info` says it is"},
	{"No such file or directory", "check that the file exists"},
	{"Permission denied", "check the file's owner and mode (QEMU runs as "
			      "[vm] run-as when that is set)"},
	{"Device or resource busy", "another program holds it"},
};

/* QEMU's -msg timestamp=on: "2024-05-01T10:11:12.345678Z " first. */
static const char *skip_stamp(const char *l)
{
	const char *sp = strchr(l, ' ');

	if (!sp || strlen(l) < 11 || !isdigit((unsigned char)l[0]) ||
	    l[4] != '-' || l[7] != '-' || l[10] != 'T')
		return l;
	return sp + 1;
}

/* "qemu-system-x86_64: " (its own name, or argv[0]'s last part). */
static const char *skip_program(const char *l, const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	const char *colon = strstr(l, ": ");
	size_t n = colon ? (size_t)(colon - l) : 0;

	base = base ? base + 1 : argv0;
	if (!n || memchr(l, ' ', n))
		return l;
	if (!strncmp(l, "qemu", 4) ||
	    (strlen(base) == n && !strncmp(l, base, n)))
		return colon + 2;
	return l;
}

/* QEMU names the option it refuses as it was given: "-opt value: ". */
static long by_option(const struct strv *argv, const char *m, const char **rest)
{
	for (size_t i = 1; i + 1 < argv->n; i++) {
		const char *o = argv->v[i], *v = argv->v[i + 1];
		size_t lo = strlen(o), lv = strlen(v);

		if (o[0] != '-' || strncmp(m, o, lo) || m[lo] != ' ' ||
		    strncmp(m + lo + 1, v, lv) || m[lo + 1 + lv] != ':')
			continue;
		*rest = m + lo + 2 + lv;
		while (**rest == ' ')
			(*rest)++;
		return (long)i + 1;
	}
	return -1;
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '/';
}

/* tok in m as a whole word. */
static bool has_word(const char *m, const char *tok)
{
	size_t n = strlen(tok);

	if (n < TOKEN_MIN)
		return false;
	for (const char *s = m; (s = strstr(s, tok)); s++)
		if ((s == m || !word_char(s[-1])) && !word_char(s[n]))
			return true;
	return false;
}

/* The longest of an argument's names (id, node, host address, file)
 * that m mentions; 0 when none. */
static size_t arg_mentioned(const char *arg, const char *m)
{
	static const char *const keys[] = {"id",       "node-name", "host",
					   "filename", "mem-path",  "evdev",
					   "romfile",  "ifname",    "path"};
	json_object *o = arg[0] == '{' ? json_tokener_parse(arg) : NULL;
	size_t best = 0;

	for (size_t k = 0; o && k < ARRAY_SIZE(keys); k++) {
		json_object *v;
		const char *s;

		if (!json_object_object_get_ex(o, keys[k], &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		s = json_object_get_string(v);
		if (has_word(m, s) && strlen(s) > best)
			best = strlen(s);
	}
	json_object_put(o);
	return best;
}

/* An argument whose id, host address or file the message names. */
static long by_token(const struct strv *argv, const struct strv *origin,
		     const char *m)
{
	size_t best = 0, n;
	long at = -1;

	for (size_t i = 1; i < argv->n && i < origin->n; i++) {
		if (!*origin->v[i])
			continue;
		n = arg_mentioned(argv->v[i], m);
		if (n > best) {
			best = n;
			at = (long)i;
		}
	}
	return at;
}

/* "hv-NAME" in m: NAME, else "". */
static void hv_name(const char *m, char *out, size_t len)
{
	const char *s = strstr(m, "hv-");
	size_t n = 0;

	if (s)
		for (s += 3; (isalnum((unsigned char)s[n]) || s[n] == '-'); n++)
			;
	snprintf(out, len, "%.*s", (int)(s ? n : 0), s ? s : "");
}

/* Hyper-V failures QEMU reports without naming an option (KVM refuses
 * an MSR while QEMU sets up a vCPU, then QEMU aborts): the feature, or
 * NULL when m is not one. */
static const char *hv_failure(const char *m, char *name, size_t len)
{
	const char *s = strstr(m, "failed to set MSR 0x");
	unsigned long msr;

	if (strstr(m, "kernel doesn't allow setting HyperV VP_INDEX"))
		return "vpindex";
	if (s) {
		msr = strtoul(s + 18, NULL, 16);
		for (size_t i = 0; i < ARRAY_SIZE(hv_msrs); i++)
			if (msr >= hv_msrs[i].lo && msr <= hv_msrs[i].hi)
				return hv_msrs[i].feature;
		return NULL;
	}
	if (!strstr(m, "Hyper-V") && !strstr(m, "HyperV") && !strstr(m, "hv-"))
		return NULL;
	hv_name(m, name, len);
	return name;
}

static void set_hint(struct qemu_refusal *r, const char *m)
{
	r->hint[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(hints); i++)
		if (strstr(m, hints[i].text)) {
			snprintf(r->hint, sizeof(r->hint), "%s", hints[i].hint);
			return;
		}
}

/* QEMU's audio backend that did not start: "Could not init `pa' audio
 * driver" (it cannot reach its sound server) or "Unknown audio driver
 * `pa'" (its module is not installed). QEMU 7.2 writes them as "audio:
 * ...", no name, no option, and the PulseAudio backend's last words run
 * into the first ("pulseaudio: Failed to initialize PA contextaudio:
 * Could not init ..."): the phrase, and the driver in *drv, else NULL. */
static const char *audio_failure(const char *m, char *drv, size_t len,
				 bool *unknown)
{
	static const char *const phrases[] = {"Could not init `",
					      "Unknown audio driver `"};
	const char *s, *name, *end;

	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++) {
		s = strstr(m, phrases[i]);
		if (!s)
			continue;
		name = s + strlen(phrases[i]);
		end = strchr(name, '\'');
		if (!end || (i == 0 && strncmp(end, "' audio driver", 14)))
			continue;
		snprintf(drv, len, "%.*s", (int)(end - name), name);
		*unknown = i == 1;
		return s;
	}
	return NULL;
}

/* The -audiodev of that driver: its index in argv (-1: none) and its
 * server ("" when it has none). */
static long by_audiodev(const struct strv *argv, const char *drv, char *server,
			size_t len)
{
	json_object *o, *v;
	long at = -1;

	server[0] = '\0';
	for (size_t i = 1; at < 0 && i + 1 < argv->n; i++) {
		if (strcmp(argv->v[i], "-audiodev") || argv->v[i + 1][0] != '{')
			continue;
		o = json_tokener_parse(argv->v[i + 1]);
		if (o && json_object_object_get_ex(o, "driver", &v) &&
		    !strcmp(json_object_get_string(v), drv)) {
			at = (long)i + 1;
			if (json_object_object_get_ex(o, "server", &v))
				snprintf(server, len, "%s",
					 json_object_get_string(v));
		}
		json_object_put(o);
	}
	return at;
}

/* What to do when the backend drv did not start; reason: the PulseAudio
 * backend's ("Access denied"), "" when none. */
static void audio_hint(struct qemu_refusal *r, const char *drv, bool unknown,
		       const char *server, const char *reason)
{
	bool pa = !strcmp(drv, "pa");

	r->hint[0] = '\0';
	if (unknown)
		snprintf(r->hint, sizeof(r->hint),
			 "this QEMU lacks its %s audio module: install it "
			 "(Debian, Ubuntu: qemu-system-gui; Fedora, Arch: "
			 "qemu-audio-%s) or choose another backend",
			 drv, drv);
	else if (pa && strstr(reason, "Access denied"))
		snprintf(r->hint, sizeof(r->hint),
			 "that sound server refuses QEMU, which connects as "
			 "root even with [vm] run-as: PulseAudio admits only "
			 "its own user (vmrun(1), ENVIRONMENT, says how to "
			 "let QEMU in); PipeWire's pulse server admits it");
	else if (pa && *server)
		snprintf(r->hint, sizeof(r->hint),
			 "no sound server answers at %s: log in as that user "
			 "with PipeWire or PulseAudio running, or set [audio] "
			 "runtime-dir to the folder of one (`vmrun doctor` "
			 "checks)",
			 server);
	else if (pa)
		snprintf(r->hint, sizeof(r->hint),
			 "QEMU runs as root and was given no user's sound "
			 "server: set [audio] runtime-dir or [vm] run-as, or "
			 "run vmrun through sudo as that user (`vmrun doctor` "
			 "checks)");
	else if (!strcmp(drv, "pipewire"))
		snprintf(r->hint, sizeof(r->hint),
			 "no PipeWire server answers in QEMU's "
			 "PIPEWIRE_RUNTIME_DIR (`vmrun --dry-run` shows it, "
			 "when a user's was found): log in as that user with "
			 "PipeWire running, or set [audio] runtime-dir");
}

/* An audio backend that did not start, named in m (rest: after the
 * option QEMU names, if it names one): true and *r filled. */
static bool audio_refusal(const struct strv *argv, const struct strv *origin,
			  const char *rest, const char *reason,
			  struct qemu_refusal *r)
{
	char drv[32], server[PATH_MAX];
	const char *m;
	bool unknown;
	long at;

	m = audio_failure(rest, drv, sizeof(drv), &unknown);
	if (!m)
		return false;
	at = by_audiodev(argv, drv, server, sizeof(server));
	if (at < 0 || (size_t)at >= origin->n || !*origin->v[at])
		return false;
	/* a missing module is the backend's, wherever the server is */
	snprintf(r->origin, sizeof(r->origin), "%s",
		 unknown ? "audio backend" : origin->v[at]);
	snprintf(r->message, sizeof(r->message), "%s%s%s%s", m,
		 *reason ? " (" : "", reason, *reason ? ")" : "");
	audio_hint(r, drv, unknown, server, reason);
	return true;
}

static void set_hyperv(struct qemu_refusal *r, const char *feature)
{
	snprintf(r->origin, sizeof(r->origin), "hyperv enlightenments");
	if (*feature)
		snprintf(r->hint, sizeof(r->hint),
			 "remove %s from [hyperv] enlightenments: this host's "
			 "KVM does not let QEMU set it up",
			 feature);
	else
		snprintf(r->hint, sizeof(r->hint),
			 "remove the enlightenment it names from [hyperv] "
			 "enlightenments");
}

/* KVM refuses an MSR that is no Hyper-V one while QEMU sets up a vCPU: a
 * register the CPU model has QEMU set (IA32_ARCH_CAPABILITIES, which -cpu
 * host and max copy from a host that is itself a VM). */
static void set_cpu_model(struct qemu_refusal *r)
{
	snprintf(r->origin, sizeof(r->origin), "cpu model");
	snprintf(r->hint, sizeof(r->hint),
		 "this host's KVM refuses a CPU register (MSR) QEMU sets up "
		 "for that model: set [cpu] model to a named one "
		 "(`qemu-system-x86_64 -cpu help` lists them), or [vm] accel "
		 "= tcg");
}

/* One line of QEMU's output: true and *r filled when it is an error that
 * leads to a profile section. */
static bool line_refusal(const struct strv *argv, const struct strv *origin,
			 const char *line, const char *reason,
			 struct qemu_refusal *r)
{
	const char *m = skip_program(skip_stamp(line), argv->v[0]);
	const char *rest = m, *feature, *from;
	char name[64];
	long at;

	at = by_option(argv, m, &rest);
	/* warn_report(): "warning: " after the option, if any */
	if (!strncmp(rest, "warning: ", 9) || !strncmp(rest, "info: ", 6))
		return false;
	if (audio_refusal(argv, origin, rest, reason, r))
		return true;
	if (at < 0)
		at = by_token(argv, origin, m);
	from = at >= 0 && (size_t)at < origin->n ? origin->v[at] : NULL;
	feature = hv_failure(rest, name, sizeof(name));
	if ((feature || strstr(rest, "failed to set MSR 0x")) &&
	    (!from || !strcmp(from, "cpu"))) {
		snprintf(r->message, sizeof(r->message), "%s", rest);
		if (feature)
			set_hyperv(r, feature);
		else
			set_cpu_model(r);
		return true;
	}
	if (!from || !*from)
		return false;
	snprintf(r->origin, sizeof(r->origin), "%s", from);
	snprintf(r->message, sizeof(r->message), "%s", rest);
	set_hint(r, rest);
	return true;
}

bool qemu_refusal_find(const struct strv *argv, const struct strv *origin,
		       const char *text, struct qemu_refusal *out)
{
	cleanup_free char *copy = xstrdup(text);
	struct qemu_refusal r;
	bool found = false;
	char *save = NULL, reason[128] = "";
	const char *m;

	if (!argv->n)
		return false;
	for (char *l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		l[strcspn(l, "\r")] = '\0';
		/* QEMU 7.2's PulseAudio backend, why it did not connect */
		m = skip_stamp(l);
		if (!strncmp(m, PA_REASON, strlen(PA_REASON)))
			snprintf(reason, sizeof(reason), "%s",
				 m + strlen(PA_REASON));
		if (line_refusal(argv, origin, l, reason, &r)) {
			*out = r;
			found = true;
		}
	}
	return found;
}

char *qemu_refusal_describe(const struct profile *p,
			    const struct qemu_refusal *r)
{
	char label[96];
	const char *key = strchr(r->origin, ' ');
	cleanup_free char *at = NULL;

	snprintf(label, sizeof(label), "%.*s",
		 (int)(key ? (size_t)(key - r->origin) : strlen(r->origin)),
		 r->origin);
	at = profile_where(p, label, key ? key + 1 : NULL);
	return xasprintf("QEMU refused [%s]%s%s (%s): %s%s%s", label,
			 key ? " " : "", key ? key + 1 : "", at, r->message,
			 r->hint[0] ? "; " : "", r->hint);
}
