/* boot.c: where this host keeps its kernel command line, so a fix that
 * adds an option names the right file and the command that applies it:
 * GRUB, systemd-boot, rEFInd or NixOS. */
#include "host/host.h"
#include "base/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum boot_loader boot_loader_detect(void)
{
	/* NixOS first: it may run any of the others, generated */
	if (hostfs_exists("/etc/NIXOS") ||
	    hostfs_exists("/etc/nixos/configuration.nix"))
		return BOOT_NIXOS;
	if (hostfs_exists("/etc/kernel/cmdline") ||
	    hostfs_exists("/boot/loader/loader.conf") ||
	    hostfs_exists("/efi/loader/loader.conf"))
		return BOOT_SYSTEMD_BOOT;
	if (hostfs_exists("/boot/refind_linux.conf"))
		return BOOT_REFIND;
	if (hostfs_exists("/etc/default/grub"))
		return BOOT_GRUB;
	return BOOT_UNKNOWN;
}

const char *boot_loader_name(enum boot_loader b)
{
	static const char *const names[] = {
		[BOOT_GRUB] = "GRUB",
		[BOOT_SYSTEMD_BOOT] = "systemd-boot",
		[BOOT_REFIND] = "rEFInd",
		[BOOT_NIXOS] = "NixOS",
		[BOOT_UNKNOWN] = "unknown",
	};

	return names[b];
}

char *boot_cmdline_fix(const char *opts)
{
	switch (boot_loader_detect()) {
	case BOOT_GRUB:
		return xasprintf("add %s to GRUB_CMDLINE_LINUX in "
				 "/etc/default/grub, run update-grub "
				 "(grub2-mkconfig -o /boot/grub2/grub.cfg on "
				 "Fedora) and reboot",
				 opts);
	case BOOT_SYSTEMD_BOOT:
		if (hostfs_exists("/etc/kernel/cmdline"))
			return xasprintf("add %s to /etc/kernel/cmdline "
					 "(systemd-boot), run kernel-install "
					 "add-all (or reinstall the kernel) "
					 "and reboot",
					 opts);
		return xasprintf("add %s to the options line of the entries "
				 "in /boot/loader/entries/ (systemd-boot) "
				 "and reboot",
				 opts);
	case BOOT_REFIND:
		return xasprintf("add %s to the quoted options in "
				 "/boot/refind_linux.conf (rEFInd) and reboot",
				 opts);
	case BOOT_NIXOS:
		return xasprintf("add %s to boot.kernelParams in "
				 "/etc/nixos/configuration.nix, run "
				 "nixos-rebuild switch and reboot",
				 opts);
	case BOOT_UNKNOWN:
		break;
	}
	return xasprintf("add %s to the kernel command line of your boot "
			 "loader and reboot",
			 opts);
}

char *boot_iommu_fix(bool amd)
{
	cleanup_free char *how =
		boot_cmdline_fix(amd ? "iommu=pt" : "intel_iommu=on iommu=pt");

	/* a VM's IOMMU is a device its hypervisor may or may not give it */
	if (host_cpu_is_vm())
		return xasprintf("this host is itself a virtual machine "
				 "(hypervisor in /proc/cpuinfo): only its "
				 "hypervisor can give it an IOMMU (a virtual "
				 "one, such as QEMU's intel-iommu device; ask "
				 "the provider). With one, %s",
				 how);
	/* amd_iommu takes no "on": the AMD IOMMU is on by default once the
	 * firmware has it */
	return xasprintf("enable %s in the firmware setup; %s%s",
			 amd ? "AMD-Vi (IOMMU, SVM)" : "VT-d", how,
			 amd ? " (the AMD IOMMU needs no option to be on; "
			       "iommu=pt spares the host's own devices its "
			       "translation)"
			     : "");
}
