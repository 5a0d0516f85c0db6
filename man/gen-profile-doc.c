/* gen-profile-doc.c: writes vmrun.ini(5) from the parser's own schema table
 * (profile_schema_doc()) and the hand-written man/vmrun.ini.5.in around it. */
#include "profile/profile.h"
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What each section is for: the schema has keys, not prose. A section
 * without a line here (or a line for a section the parser does not know)
 * fails the build, so the page and the parser cannot drift apart. */
static const struct {
	const char *section;
	const char *text;
} blurbs[] = {
	{"vm", "The machine itself. The section and its name and memory are "
	       "required."},
	{"firmware", "The firmware: UEFI (OVMF) or legacy BIOS (SeaBIOS)."},
	{"cpu", "The vCPU model and topology, and how vCPUs and host CPUs "
		"are tied together. With accel = kvm, the profile's QEMU "
		"must start a vCPU of model on this host's KVM: vmrun asks it "
		"(as for [hyperv] below) and refuses the start, at the model "
		"line and before the host is changed, when QEMU cannot (a host "
		"that is itself a VM may refuse a register -cpu host and max "
		"copy), naming a model that starts."},
	{"hyperv", "Hyper-V enlightenments, for Windows guests. With accel = "
		   "kvm, each must be offered by this host's KVM and accepted "
		   "by the profile's QEMU on this kernel: vmrun starts that "
		   "QEMU (-cpu MODEL,hv-..., -S, killed after 10 s) to ask, "
		   "and caches its answer in /var/cache/vmrun. The others "
		   "are handled as unsupported says."},
	{"memory", "How guest RAM is backed on the host."},
	{"smbios", "The SMBIOS (DMI) tables the guest sees."},
	{"clock", "The guest's clock."},
	{"pci.NAME", "One host PCI function passed through with vfio-pci, one "
		     "section per function. NAME becomes part of the QEMU "
		     "device id."},
	{"disk.NAME", "One disk or CD-ROM drive."},
	{"net.NAME", "One network card."},
	{"looking-glass", "Shared memory for Looking Glass (an ivshmem "
			  "device), with the size rule under SYNTAX."},
	{"acpi", "Extra ACPI tables."},
	{"usb", "Host USB devices passed through."},
	{"input", "Host input devices passed through with evdev."},
	{"audio", "Guest sound."},
	{"tpm", "A TPM for the guest."},
	{"display", "An emulated display."},
	{"host", "What vmrun does to the host while the guest runs; all of it "
		 "is undone afterwards."},
	{"hooks",
	 "Programs run at fixed phases of a run, with the VM name, the "
	 "phase and (for the stop phases) the reason as arguments. A "
	 "failing pre-start hook stops the start and the host is "
	 "restored."},
	{"qemu", "The escape hatch: what the profile cannot say."},
};

/* Text as roff sees it: backslashes escaped, hyphens as ASCII minus (they
 * are mostly in names one types), a leading control character defused, and
 * a break point after each comma for long lists. */
static void roff_puts(const char *s, FILE *out)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else if (*s == ',')
			fputs(",\\:", out);
		else
			fputc(*s, out);
	}
}

static const char *blurb(const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(blurbs); i++)
		if (!strcmp(blurbs[i].section, section))
			return blurbs[i].text;
	return NULL;
}

/* One line of text ended by a full stop, unless it has one ("..."). */
static void roff_line(const char *label, const char *s, FILE *out)
{
	fputs(label, out);
	roff_puts(s, out);
	fputs(*s && s[strlen(s) - 1] == '.' ? "\n" : ".\n", out);
}

static void key_write(const struct profile_key_doc *k, FILE *out)
{
	fputs(".TP\n.B ", out);
	roff_puts(k->key, out);
	fputc('\n', out);
	roff_line("", k->help, out);
	roff_line(".br\nValues: ", k->values, out);
	if (k->required)
		fputs(".br\nRequired.\n", out);
	else
		roff_line(".br\nDefault: ", *k->def ? k->def : "none", out);
	if (k->repeatable)
		fputs(".br\nRepeatable: each line adds one, in order.\n", out);
}

/* Every section in schema order, its keys under it. */
static int keys_write(FILE *out)
{
	size_t n, seen = 0;
	const struct profile_key_doc *d = profile_schema_doc(&n);
	const char *seen_secs[ARRAY_SIZE(blurbs)];

	for (size_t i = 0; i < n; i++) {
		const char *sec = d[i].section, *text = blurb(sec);

		if (i && !strcmp(sec, d[i - 1].section)) {
			key_write(&d[i], out);
			continue;
		}
		if (!text) {
			fprintf(stderr,
				"gen-profile-doc: section [%s] has no "
				"description: add one to "
				"man/gen-profile-doc.c\n",
				sec);
			return -1;
		}
		for (size_t j = 0; j < seen; j++)
			if (!strcmp(seen_secs[j], sec)) {
				fprintf(stderr,
					"gen-profile-doc: the keys of [%s] are "
					"not together in the schema table\n",
					sec);
				return -1;
			}
		seen_secs[seen++] = sec;
		fputs(".SS [", out);
		roff_puts(sec, out);
		fputs("]\n", out);
		roff_puts(text, out);
		fputc('\n', out);
		key_write(&d[i], out);
	}
	if (seen != ARRAY_SIZE(blurbs)) {
		fprintf(stderr,
			"gen-profile-doc: %zu section descriptions for "
			"%zu sections: remove the ones the parser does "
			"not know\n",
			ARRAY_SIZE(blurbs), seen);
		return -1;
	}
	return 0;
}

/* The template with @VERSION@ filled in and the line @KEYS@ replaced. */
static int template_write(FILE *in, const char *version, FILE *out)
{
	char line[4096];
	int keys = 0;

	while (fgets(line, sizeof(line), in)) {
		const char *s, *at;

		if (!strcmp(line, "@KEYS@\n")) {
			if (keys_write(out))
				return -1;
			keys++;
			continue;
		}
		for (s = line; (at = strstr(s, "@VERSION@"));
		     s = at + strlen("@VERSION@")) {
			fwrite(s, 1, (size_t)(at - s), out);
			fputs(version, out);
		}
		fputs(s, out);
	}
	if (keys != 1) {
		fprintf(stderr, "gen-profile-doc: the template needs one line "
				"@KEYS@\n");
		return -1;
	}
	return ferror(in) ? -1 : 0;
}

int main(int argc, char **argv)
{
	size_t n;
	const struct profile_key_doc *d;
	FILE *in;
	int r;

	if (argc == 2 && !strcmp(argv[1], "--keys")) {
		d = profile_schema_doc(&n);
		for (size_t i = 0; i < n; i++)
			printf("%s\t%s\t%s\t%s\t%d\t%d\n", d[i].section,
			       d[i].key, d[i].values, d[i].def, d[i].required,
			       d[i].repeatable);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr,
			"usage: gen-profile-doc TEMPLATE VERSION\n"
			"       gen-profile-doc --keys    (the schema as TSV: "
			"section, key, values, default, required, "
			"repeatable)\n");
		return 2;
	}
	in = fopen(argv[1], "re");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	r = template_write(in, argv[2], stdout);
	fclose(in);
	if (fflush(stdout) || r)
		return 1;
	return 0;
}
