/* test_iommu.c: the IOMMU group rules: who moves, who blocks, which
 * functions the host cannot spare, and the verdict of each kind of group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* flags for fn() */
#define BOOT_VGA 1

/* Add a function to h (h->pci moves: take pointers after the last). */
static void fn(struct host *h, const char *bdf, unsigned cls, int grp,
	       const char *drv, int flags)
{
	struct host_pci *d;

	h->pci = realloc(h->pci, (h->npci + 1) * sizeof(*h->pci));
	assert_non_null(h->pci);
	d = &h->pci[h->npci++];
	memset(d, 0, sizeof(*d));
	assert_int_equal(pci_addr_parse(bdf, &d->addr), 0);
	d->cls = cls;
	d->iommu_group = grp;
	d->numa_node = -1;
	d->is_bridge = cls == PCI_CLASS_BRIDGE_PCI;
	d->boot_vga = flags & BOOT_VGA;
	snprintf(d->driver, sizeof(d->driver), "%s", drv);
}

/* Judge group grp of h and check its verdict sentence. */
static void expect_group(const struct host *h, int grp, enum iommu_verdict v,
			 const char *text)
{
	struct iommu_group g;
	char *got;

	iommu_group_judge(h, grp, &g);
	got = iommu_verdict_text(h, &g);
	assert_int_equal(g.verdict, v);
	assert_string_equal(got, text);
	free(got);
	iommu_group_free(&g);
}

static void test_member_blocks(void **state)
{
	struct host h = {0};
	const struct host_pci *bridge, *idle, *vfio, *audio;

	(void)state;
	fn(&h, "00:01.0", 0x0604, 1, "pcieport", 0);
	fn(&h, "01:00.0", 0x0c03, 1, "", 0);
	fn(&h, "02:00.0", 0x0300, 1, "vfio-pci", 0);
	fn(&h, "02:00.1", 0x0403, 1, "snd_hda_intel", 0);
	bridge = &h.pci[0];
	idle = &h.pci[1];
	vfio = &h.pci[2];
	audio = &h.pci[3];
	assert_false(iommu_fn_moves(bridge));
	assert_true(iommu_fn_moves(audio));
	assert_false(iommu_member_blocks(bridge, false));
	assert_false(iommu_member_blocks(idle, false));
	assert_false(iommu_member_blocks(vfio, false));
	assert_true(iommu_member_blocks(audio, false));
	assert_false(iommu_member_blocks(audio, true)); /* the guest takes it */
	free(h.pci);
}

static void test_ready_bridges_platform(void **state)
{
	struct host h = {0};

	(void)state;
	fn(&h, "00:00.0", 0x0600, 0, "", 0);
	fn(&h, "00:01.0", 0x0604, 1, "pcieport", 0);
	fn(&h, "00:14.0", 0x0c05, 2, "piix4_smbus", 0);
	fn(&h, "00:14.3", 0x0601, 2, "", 0);
	fn(&h, "01:00.0", 0x0300, 3, "nvidia", BOOT_VGA);
	fn(&h, "01:00.1", 0x0403, 3, "snd_hda_intel", 0);
	fn(&h, "02:00.0", 0x0c03, 4, "xhci_hcd", 0);
	expect_group(&h, 0, IOMMU_PLATFORM,
		     "host platform devices, they stay with the host");
	expect_group(&h, 1, IOMMU_BRIDGES_ONLY,
		     "bridges only, nothing to pass through");
	expect_group(&h, 2, IOMMU_PLATFORM,
		     "host platform devices, they stay with the host");
	/* the boot GPU and its audio: one device, alone, but the host's
	 * display */
	expect_group(&h, 3, IOMMU_HOST_NEEDS,
		     "could go alone, but the host runs on it: 0000:01:00.0 "
		     "(the host's display GPU)");
	/* a USB controller alone may go too: the host loses it */
	expect_group(&h, 4, IOMMU_READY, "ready to pass through alone");
	assert_string_equal(iommu_fn_critical(&h, &h.pci[6]), "USB controller");
	assert_string_equal(iommu_verdict_key(IOMMU_READY), "ready");
	assert_string_equal(iommu_verdict_key(IOMMU_SHARED), "shared");
	assert_string_equal(iommu_verdict_key(IOMMU_HOST_NEEDS),
			    "host-critical");
	/* the same USB controller, with the host's root disk on it */
	strv_add(&h.pci[6].needs, "/ (ext4 on /dev/sdb2)");
	expect_group(&h, 4, IOMMU_HOST_NEEDS,
		     "could go alone, but the host runs on it: 0000:02:00.0 "
		     "(USB controller: / (ext4 on /dev/sdb2))");
	strv_free(&h.pci[6].needs);
	free(h.pci);
}

static void test_siblings(void **state)
{
	struct host h = {0};
	struct iommu_group g;

	(void)state;
	fn(&h, "00:01.0", 0x0604, 7, "pcieport", 0);
	fn(&h, "01:00.0", 0x0300, 7, "amdgpu", 0);
	fn(&h, "01:00.1", 0x0403, 7, "snd_hda_intel", 0);
	fn(&h, "02:00.0", 0x0401, 7, "snd_ctxfi", 0);
	/* the host shows its console elsewhere, else 01:00.0 would be its
	 * only GPU, and so its display */
	fn(&h, "03:00.0", 0x0300, 8, "i915", BOOT_VGA);
	expect_group(&h, 7, IOMMU_SIBLINGS,
		     "needs its siblings too: 0000:01:00.0, 0000:01:00.1, "
		     "0000:02:00.0 (all of them go to the guest together)");
	iommu_group_judge(&h, 7, &g);
	assert_int_equal(g.nfn, 4); /* the bridge is a member too */
	assert_int_equal(g.nlist, 3);
	iommu_group_free(&g);
	free(h.pci);
}

/* The B550's chipset group, in short. */
static void test_shared(void **state)
{
	struct host h = {0};

	(void)state;
	fn(&h, "02:00.0", 0x0c03, 15, "xhci_hcd", 0);
	fn(&h, "02:00.1", 0x0106, 15, "ahci", 0);
	fn(&h, "02:00.2", 0x0604, 15, "pcieport", 0);
	fn(&h, "04:00.0", 0x0300, 15, "amdgpu", 0);
	fn(&h, "04:00.1", 0x0403, 15, "snd_hda_intel", 0);
	fn(&h, "05:00.0", 0x0108, 15, "nvme", 0);
	fn(&h, "06:00.0", 0x0280, 15, "iwlwifi", 0);
	fn(&h, "07:00.0", 0x0200, 15, "r8169", 0);
	fn(&h, "08:00.0", 0x0300, 16, "nvidia", BOOT_VGA);
	expect_group(&h, 15, IOMMU_SHARED,
		     "shared with host-critical devices: 0000:02:00.0 (USB "
		     "controller), 0000:02:00.1 (SATA controller), "
		     "0000:05:00.0 (NVMe controller), 0000:06:00.0 (network "
		     "controller), 0000:07:00.0 (Ethernet controller)");
	free(h.pci);
}

/* A GPU's own USB-C controller goes with the card; a device of the
 * platform inside one device (a PCH) does not. */
static void test_gpu_functions_and_pch(void **state)
{
	struct host h = {0};

	(void)state;
	fn(&h, "00:1f.0", 0x0601, 9, "", 0);
	fn(&h, "00:1f.3", 0x0403, 9, "snd_hda_intel", 0);
	fn(&h, "00:1f.4", 0x0c05, 9, "i801_smbus", 0);
	fn(&h, "01:00.0", 0x0300, 10, "nvidia", 0);
	fn(&h, "01:00.1", 0x0403, 10, "snd_hda_intel", 0);
	fn(&h, "01:00.2", 0x0c03, 10, "xhci_hcd", 0);
	fn(&h, "01:00.3", 0x0c80, 10, "nvidia-gpu", 0);
	fn(&h, "02:00.0", 0x0300, 11, "nvidia", 0);
	fn(&h, "02:00.2", 0x0c03, 11, "xhci_hcd", 0);
	fn(&h, "03:00.0", 0x0108, 11, "nvme", 0);
	fn(&h, "04:00.0", 0x0300, 12, "i915", BOOT_VGA);
	expect_group(&h, 9, IOMMU_SHARED,
		     "shared with host-critical devices: 0000:00:1f.0 (ISA "
		     "bridge), 0000:00:1f.4 (SMBus controller)");
	expect_group(&h, 10, IOMMU_READY, "ready to pass through alone");
	assert_null(iommu_fn_critical(&h, &h.pci[5]));
	expect_group(&h, 11, IOMMU_SHARED,
		     "shared with host-critical devices: 0000:03:00.0 (NVMe "
		     "controller)");
	free(h.pci);
}

static void test_host_display(void **state)
{
	struct host h = {0};

	(void)state;
	assert_null(iommu_host_display(&h));
	/* one GPU, no boot_vga: it is the host's display */
	fn(&h, "01:00.0", 0x0300, 1, "amdgpu", 0);
	fn(&h, "01:00.1", 0x0403, 1, "snd_hda_intel", 0);
	assert_ptr_equal(iommu_host_display(&h), &h.pci[0]);
	/* two GPUs and no boot_vga: no way to tell */
	fn(&h, "02:00.0", 0x0300, 1, "nvidia", 0);
	assert_null(iommu_host_display(&h));
	h.pci[2].boot_vga = true;
	assert_ptr_equal(iommu_host_display(&h), &h.pci[2]);
	assert_string_equal(iommu_fn_critical(&h, &h.pci[2]),
			    "the host's display GPU");
	/* sharing the group with the host's display is a SHARED group */
	expect_group(&h, 1, IOMMU_SHARED,
		     "shared with host-critical devices: 0000:02:00.0 (the "
		     "host's display GPU)");
	free(h.pci);
	/* a 3D controller has no outputs: never the host's display, even
	 * as the only GPU (a compute card) */
	memset(&h, 0, sizeof(h));
	fn(&h, "00:06.0", 0x0302, -1, "nvidia", 0);
	assert_null(iommu_host_display(&h));
	assert_null(iommu_fn_critical(&h, &h.pci[0]));
	free(h.pci);
}

static void test_group_ids(void **state)
{
	struct host h = {0};
	int *ids = NULL;

	(void)state;
	assert_int_equal(iommu_group_ids(&h, &ids), 0);
	assert_null(ids);
	fn(&h, "00:00.0", 0x0600, 12, "", 0);
	fn(&h, "00:01.0", 0x0604, -1, "", 0);
	fn(&h, "00:02.0", 0x0600, 3, "", 0);
	fn(&h, "00:03.0", 0x0600, 12, "", 0);
	fn(&h, "00:04.0", 0x0600, 0, "", 0);
	assert_int_equal(iommu_group_ids(&h, &ids), 3);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 3);
	assert_int_equal(ids[2], 12);
	free(ids);
	free(h.pci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_blocks),
		cmocka_unit_test(test_ready_bridges_platform),
		cmocka_unit_test(test_siblings),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_gpu_functions_and_pch),
		cmocka_unit_test(test_host_display),
		cmocka_unit_test(test_group_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
