/* test_vfio.c: the vfio, console and file ops on a hand-made sysfs tree
 * (no kernel emulation: nothing binds, so every "did not" path shows), and
 * the planner's refusals on a synthetic host view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ops/ops.h"
#include "host/host.h"
#include "engine/engine.h"
#include "testlib.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEV "/sys/bus/pci/devices/0000:08:00.0"

static void link_driver(const char *drv)
{
	char *l = tl_path(DEV "/driver");
	char *t = xasprintf("../../drivers/%s", drv);

	unlink(l);
	if (drv)
		assert_int_equal(symlink(t, l), 0);
	free(t);
	free(l);
}

static int setup(void **state)
{
	(void)state;
	tl_root_make("test_vfio");
	tl_put(DEV "/driver_override", "(null)\n", 0644);
	tl_put("/sys/bus/pci/drivers/nvidia/unbind", "", 0644);
	tl_put("/sys/bus/pci/drivers/vfio-pci/unbind", "", 0644);
	tl_put("/sys/bus/pci/drivers_probe", "", 0644);
	link_driver("nvidia");
	setenv("VMRUN_VFIO_TIMEOUT_MS", "50", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tl_root_remove();
	return 0;
}

static struct op bind_op(void)
{
	struct op op = {.type = &vfio_op_bind};

	op.args = json_object_new_object();
	json_object_object_add(op.args, "bdf",
			       json_object_new_string("0000:08:00.0"));
	return op;
}

static void op_release(struct op *op)
{
	json_object_put(op->args);
	json_object_put(op->saved);
}

static void test_bind_timeout(void **state)
{
	struct vr_error err = {0};
	struct op op = bind_op();

	(void)state;
	assert_int_equal(op.type->save(&op, &err), 0);
	assert_string_equal(op_saved(&op, "driver"), "nvidia");
	assert_string_equal(op_saved(&op, "driver_override"), "");
	assert_int_equal(op.type->apply(&op, &err), -EIO);
	/* The steps libvirt takes, in order, each one write. */
	assert_string_equal(tl_get(DEV "/driver_override"), "vfio-pci");
	assert_string_equal(tl_get("/sys/bus/pci/drivers/nvidia/unbind"),
			    "0000:08:00.0");
	assert_string_equal(tl_get("/sys/bus/pci/drivers_probe"),
			    "0000:08:00.0");
	assert_string_equal(err.msg, "0000:08:00.0 did not bind to vfio-pci "
				     "within 50 ms (driver: nvidia); check "
				     "dmesg");
	/* Undo on the half-applied op: still on its own driver, so only
	 * the override is cleared. */
	tl_put("/sys/bus/pci/drivers_probe", "", 0644);
	tl_put(DEV "/driver_override", "", 0644);
	assert_int_equal(op.type->undo(&op, &err), 0);
	assert_string_equal(tl_get(DEV "/driver_override"), "\n");
	assert_string_equal(tl_get("/sys/bus/pci/drivers_probe"), "");
	op_release(&op);
}

static void test_unbind_timeout(void **state)
{
	struct vr_error err = {0};
	struct op op = bind_op();

	(void)state;
	assert_int_equal(op.type->save(&op, &err), 0);
	link_driver("vfio-pci");
	assert_int_equal(op.type->undo(&op, &err), -EIO);
	assert_string_equal(tl_get("/sys/bus/pci/drivers/vfio-pci/unbind"),
			    "0000:08:00.0");
	assert_string_equal(tl_get("/sys/bus/pci/drivers_probe"),
			    "0000:08:00.0");
	assert_string_equal(err.msg,
			    "0000:08:00.0 did not go back to nvidia within 50 "
			    "ms (driver: vfio-pci); check dmesg\n"
			    "to retry by hand: echo 0000:08:00.0 > "
			    "/sys/bus/pci/drivers/nvidia/bind");
	op_release(&op);
}

/* A vmrun that died left its claim stale, and another VM took the device:
 * undo must not pull it from under that VM. */
static void test_unbind_claimed(void **state)
{
	struct vr_error err = {0};
	struct op op = bind_op();
	char *text, *want;
	pid_t other;

	(void)state;
	json_object_object_add(op.args, "vm", json_object_new_string("win"));
	assert_int_equal(op.type->save(&op, &err), 0);
	link_driver("vfio-pci");
	other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		pause();
		_exit(0);
	}
	text = xasprintf("other %ld\n", (long)other);
	tl_put("/run/vmrun/claims/0000:08:00.0", text, 0600);
	assert_int_equal(op.type->undo(&op, &err), -EBUSY);
	want = xasprintf("0000:08:00.0 is in use by VM 'other' (vmrun pid "
			 "%ld): stop it first (vmrun stop other)",
			 (long)other);
	assert_string_equal(err.msg, want);
	assert_string_equal(tl_get("/sys/bus/pci/drivers/vfio-pci/unbind"), "");
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	free(want);
	free(text);
	op_release(&op);
}

static void test_bind_already_vfio(void **state)
{
	struct vr_error err = {0};
	struct op op = bind_op();

	(void)state;
	link_driver("vfio-pci");
	assert_int_equal(op.type->save(&op, &err), 0);
	assert_int_equal(op.type->apply(&op, &err), 0);
	assert_int_equal(op.type->undo(&op, &err), 0);
	/* Nothing written: it stays on vfio-pci. */
	assert_string_equal(tl_get(DEV "/driver_override"), "(null)\n");
	assert_string_equal(tl_get("/sys/bus/pci/drivers_probe"), "");
	op_release(&op);
}

static void test_bind_gone(void **state)
{
	struct vr_error err = {0};
	struct op op = bind_op();
	char *want;

	(void)state;
	json_object_object_add(op.args, "bdf",
			       json_object_new_string("0000:0b:00.0"));
	assert_int_equal(op.type->save(&op, &err), -ENOENT);
	want = xasprintf("0000:0b:00.0 is not on the PCI bus: read "
			 "%s/sys/bus/pci/devices/0000:0b:00.0/driver_override: "
			 "No such file or directory",
			 hostfs_root());
	assert_string_equal(err.msg, want);
	free(want);
	op_release(&op);
}

static struct op arg_op(const struct op_type *type, const char *key,
			const char *value)
{
	struct op op = {.type = type};

	op.args = json_object_new_object();
	json_object_object_add(op.args, key, json_object_new_string(value));
	return op;
}

static void test_modprobe(void **state)
{
	struct vr_error err = {0};
	struct op op = arg_op(&vfio_op_modprobe, "module", "vfio-pci");

	(void)state;
	json_object_object_add(op.args, "driver",
			       json_object_new_string("vfio-pkg"));
	assert_int_equal(op.type->save(&op, &err), 0);
	assert_int_equal(op.type->apply(&op, &err), -ENOENT);
	assert_string_equal(err.msg, "modprobe not found in /usr/sbin, "
				     "/usr/bin, /sbin or /bin: install it");
	tl_put("/usr/sbin/modprobe", "#!/bin/sh\nexit 1\n", 0755);
	assert_int_equal(op.type->apply(&op, &err), -EIO);
	assert_string_equal(err.msg, "modprobe vfio-pci failed (exit status "
				     "1): is the module built for this kernel "
				     "(uname -r)?");
	tl_put("/usr/sbin/modprobe", "#!/bin/sh\nexit 0\n", 0755);
	assert_int_equal(op.type->apply(&op, &err), -ENOENT);
	assert_string_equal(err.msg, "modprobe vfio-pci succeeded but "
				     "/sys/bus/pci/drivers/vfio-pkg did not "
				     "appear");
	tl_put("/usr/sbin/modprobe",
	       "#!/bin/sh\nmkdir -p \"$(dirname \"$0\")/../../sys/bus/pci/"
	       "drivers/vfio-pkg\"\n",
	       0755);
	assert_int_equal(op.type->apply(&op, &err), 0);
	assert_int_equal(op.type->undo(&op, &err), 0);
	op_release(&op);
}

/* A systemctl whose units are files under the root; STOPFAIL set in the
 * environment makes stop fail, STICKY makes it do nothing. */
static const char systemctl[] =
	"#!/bin/sh\n"
	"d=\"$(dirname \"$0\")/../../units\"\n"
	"case $1 in\n"
	"is-active) cat \"$d/$2\" 2>/dev/null || echo inactive;"
	" [ \"$(cat \"$d/$2\" 2>/dev/null)\" = active ] ;;\n"
	"stop) [ -n \"$STOPFAIL\" ] && exit 5;"
	" [ -n \"$STICKY\" ] || echo inactive >\"$d/$2\" ;;\n"
	"start) echo active >\"$d/$2\" ;;\n"
	"esac\n";

static void test_stop_unit(void **state)
{
	struct vr_error err = {0};
	struct op op = arg_op(&console_op_stop_unit, "unit", "gdm.service");

	(void)state;
	tl_put("/usr/bin/systemctl", systemctl, 0755);
	tl_put("/units/gdm.service", "active\n", 0644);
	assert_int_equal(op.type->save(&op, &err), 0);
	assert_string_equal(op_saved(&op, "state"), "active");
	setenv("STOPFAIL", "1", 1);
	assert_int_equal(op.type->apply(&op, &err), -EIO);
	assert_string_equal(err.msg,
			    "systemctl stop gdm.service failed (exit "
			    "status 5); see journalctl -u gdm.service");
	unsetenv("STOPFAIL");
	setenv("STICKY", "1", 1);
	assert_int_equal(op.type->apply(&op, &err), -EBUSY);
	assert_string_equal(err.msg, "gdm.service is still active after "
				     "systemctl stop");
	unsetenv("STICKY");
	assert_int_equal(op.type->apply(&op, &err), 0);
	assert_string_equal(tl_get("/units/gdm.service"), "inactive\n");
	assert_int_equal(op.type->undo(&op, &err), 0);
	assert_string_equal(tl_get("/units/gdm.service"), "active\n");
	/* Twice is harmless. */
	assert_int_equal(op.type->undo(&op, &err), 0);
	op_release(&op);
}

static void test_vtconsole(void **state)
{
	struct vr_error err = {0};
	struct op op = arg_op(&console_op_vtconsole, "vtcon", "vtcon1");

	(void)state;
	tl_put("/sys/class/vtconsole/vtcon1/bind", "1", 0644);
	assert_int_equal(op.type->save(&op, &err), 0);
	assert_int_equal(op.type->apply(&op, &err), 0);
	assert_string_equal(tl_get("/sys/class/vtconsole/vtcon1/bind"), "0");
	assert_int_equal(op.type->undo(&op, &err), 0);
	assert_string_equal(tl_get("/sys/class/vtconsole/vtcon1/bind"), "1");
	assert_int_equal(op.type->undo(&op, &err), 0);
	op_release(&op);
}

static void test_file_op(void **state)
{
	static const unsigned char data[] = {0x53, 0x53, 0x44,
					     0x54, 0x00, 0xff};
	struct vr_error err = {0};
	struct plan plan = {0};
	struct op *op;
	char *path = tl_path("/run/vmrun/x.battery.aml");
	unsigned char buf[16];
	struct stat st;
	FILE *f;

	(void)state;
	file_plan(&plan, "/run/vmrun/x.battery.aml", data, sizeof(data), 0644,
		  "fake-battery SSDT");
	op = &plan.ops[0];
	assert_string_equal(op->desc, "create /run/vmrun/x.battery.aml "
				      "(fake-battery SSDT, 6 bytes)");
	assert_string_equal(op_arg(op, "hex"), "5353445400ff");
	assert_int_equal(op->type->save(op, &err), 0);
	assert_int_equal(op->type->apply(op, &err), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf), f), sizeof(data));
	fclose(f);
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(op->type->undo(op, &err), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(op->type->undo(op, &err), 0);
	json_object_object_add(op->args, "hex", json_object_new_string("5g"));
	assert_int_equal(op->type->apply(op, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "/run/vmrun/x.battery.aml: content is not hex");
	free(path);
	plan_free(&plan);
}

static void host_add(struct host *h, const char *bdf, unsigned cls, int grp,
		     const char *drv, const char *name)
{
	struct host_pci *d;

	h->pci = xrealloc(h->pci, (h->npci + 1) * sizeof(*h->pci));
	d = &h->pci[h->npci++];
	memset(d, 0, sizeof(*d));
	assert_int_equal(pci_addr_parse(bdf, &d->addr), 0);
	d->cls = cls;
	d->iommu_group = grp;
	d->numa_node = -1;
	d->is_bridge = cls == PCI_CLASS_BRIDGE_PCI;
	snprintf(d->driver, sizeof(d->driver), "%s", drv);
	snprintf(d->name, sizeof(d->name), "%s", name);
}

static void host_fake(struct host *h)
{
	memset(h, 0, sizeof(*h));
	host_add(h, "00:01.0", 0x0604, 1, "pcieport", "Root Port");
	host_add(h, "01:00.0", 0x0300, 1, "nvidia", "GPU");
	host_add(h, "01:00.1", 0x0403, 1, "snd_hda_intel", "GPU Audio");
	host_add(h, "02:00.0", 0x0c03, 1, "xhci_hcd", "USB");
	host_add(h, "03:00.0", 0x0c03, 1, "", "Idle");
	host_add(h, "04:00.0", 0x0200, -1, "r8169", "NIC");
}

static void profile_dev(struct profile *p, const char *name, const char *bdf)
{
	struct profile_pci *pp;

	p->pci = xrealloc(p->pci, (p->npci + 1) * sizeof(*p->pci));
	pp = &p->pci[p->npci++];
	memset(pp, 0, sizeof(*pp));
	pp->name = (char *)name;
	assert_int_equal(pci_addr_parse(bdf, &pp->host), 0);
}

static void test_plan_group(void **state)
{
	struct vr_error err = {0};
	struct profile p = {0};
	struct plan plan = {0};
	struct host h;

	(void)state;
	host_fake(&h);
	snprintf(p.vm.name, sizeof(p.vm.name), "win");
	profile_dev(&p, "gpu", "01:00.0");
	assert_int_equal(vfio_plan(&plan, &p, &h, &err), -EINVAL);
	assert_string_equal(
		err.msg,
		"the profile: [pci.gpu] host = 0000:01:00.0: IOMMU group 1 "
		"also holds 2 "
		"devices the host is using, and a group can only go to a "
		"guest whole. The group:\n"
		"  0000:00:01.0 Root Port (bridge, stays with the host)\n"
		"  0000:01:00.0 GPU (in this profile)\n"
		"  0000:01:00.1 GPU Audio (driver snd_hda_intel)\n"
		"  0000:02:00.0 USB (driver xhci_hcd)\n"
		"  0000:03:00.0 Idle (driver none)\n"
		"  Either pass all of them through (a [pci.NAME] section "
		"each), move the card to a slot with its own IOMMU group, or "
		"run a kernel with the ACS override patch "
		"(pcie_acs_override=downstream,multifunction), which splits "
		"the group but lets its devices reach each other's memory "
		"behind the IOMMU's back");
	assert_int_equal(plan.nops, 0);
	/* The whole group (bar the bridge and the idle one): accepted. */
	profile_dev(&p, "audio", "01:00.1");
	profile_dev(&p, "usb", "02:00.0");
	assert_int_equal(vfio_plan(&plan, &p, &h, &err), 0);
	assert_int_equal(plan.nops, 3);
	assert_string_equal(plan.ops[0].desc, "bind 0000:01:00.0 (GPU) to "
					      "vfio-pci (driver now: nvidia)");
	assert_ptr_equal(plan.ops[2].type, &vfio_op_bind);
	plan_free(&plan);
	/* the claims are one op, for all the devices (planner.c adds it
	 * before any change) */
	claim_plan(&plan, &p);
	assert_int_equal(plan.nops, 1);
	assert_string_equal(plan.ops[0].desc,
			    "claim 0000:01:00.0, 0000:01:00.1, 0000:02:00.0 "
			    "for VM 'win'");
	plan_free(&plan);
	free(p.pci);
	free(h.pci);
}

static void test_plan_refusals(void **state)
{
	struct vr_error err = {0};
	struct profile p = {0};
	struct plan plan = {0};
	struct host h;

	(void)state;
	host_fake(&h);
	snprintf(p.vm.name, sizeof(p.vm.name), "win");
	profile_dev(&p, "rp", "00:01.0");
	profile_dev(&p, "gone", "0b:00.0");
	profile_dev(&p, "nic", "04:00.0");
	assert_int_equal(vfio_plan(&plan, &p, &h, &err), -EINVAL);
	/* Every problem at once. */
	assert_string_equal(
		err.msg,
		"the profile: [pci.rp] host = 0000:00:01.0 is a PCI bridge "
		"(class 0604); pass the devices behind it instead\n"
		"the profile: [pci.gone] host = 0000:0b:00.0: no such PCI "
		"device on this host; see `lspci -D` or `vmrun devices`\n"
		"the profile: [pci.nic] host = 0000:04:00.0 has no IOMMU "
		"group: this host's IOMMU is off, and without it no device "
		"can be passed through (`vmrun doctor` says how to turn it "
		"on)");
	assert_int_equal(plan.nops, 0);
	free(p.pci);
	free(h.pci);
}

static void test_plan_modprobe_and_claims(void **state)
{
	struct vr_error err = {0};
	struct profile p = {0};
	struct plan plan = {0};
	char *dir = tl_path("/sys/bus/pci/drivers/vfio-pci");
	char *path = tl_path("/sys/bus/pci/drivers/vfio-pci/unbind");
	struct host h;
	char *text;
	pid_t other;

	(void)state;
	host_fake(&h);
	snprintf(p.vm.name, sizeof(p.vm.name), "win");
	profile_dev(&p, "gpu", "01:00.0");
	profile_dev(&p, "audio", "01:00.1");
	profile_dev(&p, "usb", "02:00.0");
	/* The idle member of the group belongs to another running VM. */
	other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		pause();
		_exit(0);
	}
	text = xasprintf("other %ld\n", (long)other);
	tl_put("/run/vmrun/claims/0000:03:00.0", text, 0600);
	free(text);
	assert_int_equal(vfio_plan(&plan, &p, &h, &err), -EINVAL);
	text = xasprintf("0000:03:00.0 is in use by VM 'other' (vmrun pid "
			 "%ld): stop it first (vmrun stop other)",
			 (long)other);
	assert_string_equal(err.msg, text);
	free(text);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	/* vfio-pci not loaded: modprobe comes first. */
	unlink(path);
	rmdir(dir);
	assert_int_equal(vfio_plan(&plan, &p, &h, &err), 0);
	assert_int_equal(plan.nops, 4);
	assert_ptr_equal(plan.ops[0].type, &vfio_op_modprobe);
	assert_string_equal(plan.ops[0].desc, "load the vfio-pci module (it "
					      "stays loaded after)");
	plan_free(&plan);
	free(path);
	free(dir);
	free(p.pci);
	free(h.pci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bind_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unbind_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unbind_claimed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bind_already_vfio, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bind_gone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_modprobe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_unit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vtconsole, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_file_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_group, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plan_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plan_modprobe_and_claims,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
