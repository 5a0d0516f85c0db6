# bench/libvirt_xml.py: the bench VM as a libvirt domain, for the
# contenders that need libvirt (only used when virsh is installed): the
# same machine as vmrun's argv: q35, TCG, OVMF, 512 MiB, 2 vCPUs of model
# max, the demo disk, std VGA, no network, no display.
import os
import subprocess
from xml.sax.saxutils import escape

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def _disk(tmp):
    img = os.path.join(tmp, "boot.img")
    if not os.path.exists(img):
        return ""
    return ("<disk type='file' device='disk'><driver name='qemu' "
            "type='raw' cache='none'/><source file='%s'/>"
            "<target dev='vda' bus='virtio'/></disk>" % escape(img))


def domain_xml(name, tmp):
    return """<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <loader readonly='yes' type='pflash'>%s</loader>
    <nvram template='%s'>%s</nvram>
  </os>
  <features><acpi/></features>
  <cpu mode='maximum'/>
  <clock offset='localtime'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    %s
    <video><model type='vga'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
""" % (escape(name), OVMF_CODE, OVMF_VARS,
       escape(os.path.join(tmp, "libvirt-vars.fd")), _disk(tmp))


def define(name, argv, tmp):
    """Define the domain (argv is vmrun's, for reference in errors)."""
    path = os.path.join(tmp, "libvirt.xml")
    with open(path, "w") as f:
        f.write(domain_xml(name, tmp))
    r = subprocess.run(["virsh", "-q", "define", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError("virsh define %s: %s (vmrun's argv: %s)" %
                           (path, r.stderr.strip(), " ".join(argv)))
    return name


def undefine(name):
    subprocess.run(["virsh", "-q", "destroy", name], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    subprocess.run(["virsh", "-q", "undefine", "--nvram", name],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def daemon_pids():
    """libvirt's daemons (monolithic libvirtd or the modular virtqemud)."""
    pids = []
    for comm in ("libvirtd", "virtqemud"):
        r = subprocess.run(["pidof", comm], stdout=subprocess.PIPE,
                           text=True)
        pids += [(comm, int(p)) for p in r.stdout.split()]
    return pids
