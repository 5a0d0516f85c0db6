/* devices.c: `vmrun devices`, the listing every passthrough guide pastes a
 * shell loop for, with a verdict per IOMMU group (iommu.c has the rules). */
#include "cmd/cmd.h"
#include "host/host.h"
#include "base/base.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static const char legend[] =
	"Verdicts: \"ready to pass through alone\": the group holds one "
	"device (a GPU\nand its audio count as one) and can go to a guest as "
	"it is. \"could go alone,\nbut the host runs on it\": its disks hold "
	"mounted file systems or swap, it\ncarries the default route or a "
	"console, or it is the host's display; vmrun\nrefuses the first "
	"kinds unless the profile says take-host-critical = yes.\n\"needs "
	"its siblings too\": every function listed must go to the same "
	"guest (a\n[pci.NAME] section each). \"shared with host-critical "
	"devices\": the group\nalso holds devices the host needs (USB, "
	"storage, network, its display);\nuse a card in another slot, or the "
	"ACS override patch at your own risk.\nBridges always stay with the "
	"host. Pass a function with [pci.NAME] host =\nADDRESS in a profile; "
	"`vmrun doctor PROFILE` checks the result.\n";

static json_object *hex4(unsigned v)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%04x", v & 0xffff);
	return json_object_new_string(buf);
}

static json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static json_object *fn_json(const struct host *h, const struct host_pci *d)
{
	json_object *o = json_object_new_object();
	json_object *needs = json_object_new_array();
	char bdf[16];

	for (size_t i = 0; i < d->needs.n; i++)
		json_object_array_add(needs,
				      json_object_new_string(d->needs.v[i]));
	pci_addr_format(&d->addr, bdf, sizeof(bdf));
	json_object_object_add(o, "address", json_object_new_string(bdf));
	json_object_object_add(o, "class", hex4(d->cls));
	json_object_object_add(o, "class_name", str_or_null(d->class_name));
	json_object_object_add(o, "vendor", hex4(d->vendor));
	json_object_object_add(o, "device", hex4(d->device));
	json_object_object_add(o, "subsystem_vendor", hex4(d->sub_vendor));
	json_object_object_add(o, "subsystem_device", hex4(d->sub_device));
	json_object_object_add(o, "name", str_or_null(d->name));
	json_object_object_add(o, "driver", str_or_null(d->driver));
	json_object_object_add(o, "driver_override",
			       str_or_null(d->driver_override));
	json_object_object_add(
		o, "numa_node",
		d->numa_node >= 0 ? json_object_new_int(d->numa_node) : NULL);
	json_object_object_add(o, "boot_vga",
			       json_object_new_boolean(d->boot_vga));
	json_object_object_add(o, "bridge",
			       json_object_new_boolean(!iommu_fn_moves(d)));
	json_object_object_add(o, "host_critical",
			       str_or_null(iommu_fn_critical(h, d)));
	json_object_object_add(o, "reset_method", str_or_null(d->reset_method));
	json_object_object_add(o, "host_needs", needs);
	return o;
}

static json_object *group_json(const struct host *h,
			       const struct iommu_group *g)
{
	json_object *o = json_object_new_object();
	json_object *with = json_object_new_array();
	json_object *fns = json_object_new_array();
	cleanup_free char *text = iommu_verdict_text(h, g);
	char bdf[16];

	json_object_object_add(o, "group", json_object_new_int(g->id));
	json_object_object_add(
		o, "verdict",
		json_object_new_string(iommu_verdict_key(g->verdict)));
	json_object_object_add(o, "summary", json_object_new_string(text));
	for (size_t i = 0; i < g->nlist; i++)
		json_object_array_add(
			with, json_object_new_string(pci_addr_format(
				      &g->list[i]->addr, bdf, sizeof(bdf))));
	json_object_object_add(o, "with", with);
	for (size_t i = 0; i < g->nfn; i++)
		json_object_array_add(fns, fn_json(h, g->fn[i]));
	json_object_object_add(o, "functions", fns);
	return o;
}

static json_object *devices_json(const struct host *h)
{
	json_object *o = json_object_new_object();
	json_object *groups = json_object_new_array();
	json_object *ungrouped = json_object_new_array();
	int *ids = NULL;
	size_t n = iommu_group_ids(h, &ids);

	json_object_object_add(o, "iommu", json_object_new_boolean(n > 0));
	for (size_t i = 0; i < n; i++) {
		struct iommu_group g;

		iommu_group_judge(h, ids[i], &g);
		json_object_array_add(groups, group_json(h, &g));
		iommu_group_free(&g);
	}
	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].iommu_group < 0)
			json_object_array_add(ungrouped,
					      fn_json(h, &h->pci[i]));
	json_object_object_add(o, "groups", groups);
	json_object_object_add(o, "ungrouped", ungrouped);
	free(ids);
	return o;
}

/* "driver nvidia, NUMA node 1, boot VGA (the host's display GPU)" */
static void print_fn_details(FILE *out, const struct host *h,
			     const struct host_pci *d)
{
	const char *critical = iommu_fn_critical(h, d);

	fprintf(out, "                %s%s", d->driver[0] ? "driver " : "",
		d->driver[0] ? d->driver : "no driver");
	if (d->driver_override[0])
		fprintf(out, ", driver_override %s", d->driver_override);
	if (d->numa_node >= 0)
		fprintf(out, ", NUMA node %d", d->numa_node);
	if (d->boot_vga)
		fprintf(out, ", boot VGA");
	if (!iommu_fn_moves(d))
		fprintf(out, ", bridge (stays with the host)");
	else if (critical)
		fprintf(out, ", %s: %s",
			iommu_fn_platform(d) ? "platform" : "host-critical",
			critical);
	fputc('\n', out);
	for (size_t i = 0; i < d->needs.n; i++)
		fprintf(out, "                the host runs on it: %s\n",
			d->needs.v[i]);
}

static void print_fn(FILE *out, const struct host *h, const struct host_pci *d)
{
	char bdf[16], cls[8], ids[16];
	bool numeric;

	pci_addr_format(&d->addr, bdf, sizeof(bdf));
	/* libpci names an unknown subclass "Base class [1300]" already,
	 * and without an ID database gives numbers: "Class 0302", "Device
	 * 10de:2335" */
	snprintf(cls, sizeof(cls), "[%04x]", d->cls);
	snprintf(ids, sizeof(ids), "%04x:%04x", d->vendor, d->device);
	numeric = !strncmp(d->class_name, "Class ", 6);
	fprintf(out, "  %s  %s%s%s: %s", bdf,
		d->class_name[0] ? d->class_name : "Class",
		strstr(d->class_name, cls) || numeric ? "" : " ",
		strstr(d->class_name, cls) || numeric ? "" : cls, d->name);
	if (!strstr(d->name, ids))
		fprintf(out, " [%s]", ids);
	fputc('\n', out);
	print_fn_details(out, h, d);
}

/* text at column col, wrapped at 76, ending the line */
static void print_wrapped(FILE *out, const char *text, size_t col)
{
	for (const char *w = text; *w;) {
		size_t n = strcspn(w, " ");

		if (col + n > 76 && col) {
			fputc('\n', out);
			col = 0;
		} else if (w != text) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)n, w);
		col += n;
		w += n + (w[n] == ' ');
	}
	fprintf(out, ".\n");
}

static void print_text(const struct host *h, FILE *out)
{
	int *ids = NULL;
	size_t n = iommu_group_ids(h, &ids), nungrouped = 0;

	if (!h->npci) {
		fprintf(out, "No PCI devices found under %s/sys/bus/pci.\n",
			strcmp(hostfs_root(), "/") ? hostfs_root() : "");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct iommu_group g;
		cleanup_free char *text = NULL;

		iommu_group_judge(h, ids[i], &g);
		text = iommu_verdict_text(h, &g);
		fprintf(out, "IOMMU group %d: %s\n", g.id, text);
		for (size_t j = 0; j < g.nfn; j++)
			print_fn(out, h, g.fn[j]);
		iommu_group_free(&g);
	}
	free(ids);
	for (size_t i = 0; i < h->npci; i++)
		nungrouped += h->pci[i].iommu_group < 0;
	if (nungrouped && !n) {
		cleanup_free char *fix = boot_iommu_fix(host_cpu_is_amd());

		fprintf(out, "No IOMMU groups: the IOMMU is off, so no device "
			     "can be passed through.\nTurn it on: ");
		print_wrapped(out, fix, 11);
		fprintf(out, "`vmrun doctor` checks the result.\n");
	}
	if (nungrouped)
		fprintf(out, "\n%s\n",
			n ? "Not in any IOMMU group (cannot be passed through):"
			  : "The PCI functions of this host:");
	for (size_t i = 0; i < h->npci; i++)
		if (h->pci[i].iommu_group < 0)
			print_fn(out, h, &h->pci[i]);
	if (n)
		fprintf(out, "\n%s", legend);
}

void devices_print(const struct host *h, bool json, FILE *out)
{
	json_object *o;

	if (!json) {
		print_text(h, out);
		return;
	}
	o = devices_json(h);
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int cmd_devices(const char *arg, const struct cmd_opts *o, struct vr_error *err)
{
	struct host h = {0};

	(void)arg;
	/* Only the PCI part of the host view: no QEMU run, no NUMA read. */
	if (host_pci_scan(&h, HOST_PCI_NAMES, err))
		return 1;
	critical_scan(&h);
	devices_print(&h, o->json, stdout);
	host_free(&h);
	return 0;
}
