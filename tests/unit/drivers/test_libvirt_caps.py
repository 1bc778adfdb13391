"""Parsing libvirt's capabilities XML, on documents captured from a real libvirtd.

tests/unit/drivers/data/ holds, unedited, what libvirt 9.0 + QEMU 7.2 + OVMF 2022.11
(Debian 12) answered on a TCG-only test VM with a nested kvm-pvm /dev/kvm:

* libvirt-capabilities.xml:       virsh capabilities
* libvirt-domcaps-qemu-pc.xml:    virsh domcapabilities --virttype qemu --arch x86_64 --machine pc
* libvirt-domcaps-qemu-q35.xml:   ... --virttype qemu --machine q35
* libvirt-domcaps-kvm-q35.xml:    ... --virttype kvm --machine q35 (libvirt claims KVM works)
"""

from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from cloudenv.drivers.compute import libvirt_caps
from cloudenv.drivers.compute.base import Accelerator, ArchCapabilities, CpuModel, MachineCapability
from cloudenv.drivers.compute.libvirt_caps import (
    build_arch_capabilities,
    host_arch,
    parse_capabilities,
    parse_domain_capabilities,
    read_capabilities,
)
from cloudenv.errors import DriverError
from cloudenv.host.accel import AcceleratorProbe

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data"
CAPS = (DATA / "libvirt-capabilities.xml").read_text()
DOMCAPS_PC = (DATA / "libvirt-domcaps-qemu-pc.xml").read_text()
DOMCAPS_Q35 = (DATA / "libvirt-domcaps-qemu-q35.xml").read_text()
DOMCAPS_KVM_Q35 = (DATA / "libvirt-domcaps-kvm-q35.xml").read_text()

OVMF = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_SECBOOT = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
OVMF_MS = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"

PVM = AcceleratorProbe(False, "KVM here is kvm-pvm (nested paravirtual KVM).")
TCG_REASON = "TCG because KVM is not usable."


def test_host_arch() -> None:
    assert host_arch(CAPS) == "x86_64"


def test_capabilities_guest_arches() -> None:
    guests = parse_capabilities(CAPS)

    assert set(guests) == {"x86_64", "i686"}
    x86 = guests["x86_64"]
    assert x86.os_type == "hvm"
    assert x86.wordsize == 64
    assert x86.emulator == "/usr/bin/qemu-system-x86_64"
    assert guests["i686"].wordsize == 32
    assert guests["i686"].emulator == "/usr/bin/qemu-system-i386"
    # libvirt claims both, though KVM here can't boot a guest: not what decides.
    assert x86.domain_types == ("qemu", "kvm")


def test_capabilities_machines() -> None:
    x86 = parse_capabilities(CAPS)["x86_64"]
    machines = {m.name: m for m in x86.machines}

    assert len(x86.machines) == 60
    assert machines["pc-i440fx-7.2"] == MachineCapability("pc-i440fx-7.2", 255)
    assert machines["pc"] == MachineCapability("pc", 255)
    assert machines["q35"] == MachineCapability("q35", 288)
    assert machines["pc-q35-7.2"].max_vcpus == 288
    assert machines["isapc"].max_vcpus == 1
    assert "microvm" in machines


def test_default_machine_is_the_alias_of_qemus_default() -> None:
    x86 = parse_capabilities(CAPS)["x86_64"]

    assert x86.default_machine == "pc"
    assert x86.default_machine_canonical == "pc-i440fx-7.2"


def test_capabilities_features() -> None:
    x86 = parse_capabilities(CAPS)["x86_64"]

    assert x86.features["acpi"] is True
    assert x86.features["apic"] is True
    assert x86.features["disksnapshot"] is True
    assert "pae" not in x86.features  # only i686 lists pae/nonpae
    assert parse_capabilities(CAPS)["i686"].features["pae"] is True


def test_domain_specific_machines_override_the_arch_list() -> None:
    xml = """<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
      <guest><os_type>hvm</os_type>
        <arch name='x86_64'><wordsize>64</wordsize>
          <emulator>/usr/bin/qemu-system-x86_64</emulator>
          <machine maxCpus='255'>pc-i440fx-7.2</machine>
          <machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>
          <domain type='qemu'/>
          <domain type='kvm'>
            <emulator>/usr/libexec/qemu-kvm</emulator>
            <machine canonical='pc-q35-rhel9.2.0' maxCpus='710'>q35</machine>
            <machine maxCpus='710'>pc-q35-rhel9.2.0</machine>
          </domain>
        </arch></guest>
      <guest><os_type>exe</os_type><arch name='x86_64'><domain type='lxc'/></arch></guest>
    </capabilities>"""

    qemu = parse_capabilities(xml, "qemu")["x86_64"]
    kvm = parse_capabilities(xml, "kvm")["x86_64"]

    assert qemu.emulator == "/usr/bin/qemu-system-x86_64"
    assert qemu.default_machine == "pc"
    assert kvm.emulator == "/usr/libexec/qemu-kvm"
    assert kvm.default_machine == "q35"
    assert kvm.default_machine_canonical == "pc-q35-rhel9.2.0"
    assert [m.name for m in kvm.machines] == ["q35", "pc-q35-rhel9.2.0"]


def test_domcaps_pc() -> None:
    caps = parse_domain_capabilities(DOMCAPS_PC)

    assert caps.emulator == "/usr/bin/qemu-system-x86_64"
    assert caps.domain_type == "qemu"
    assert caps.machine == "pc-i440fx-7.2"
    assert caps.arch == "x86_64"
    assert caps.max_vcpus == 255
    assert caps.firmware == ("efi",)
    # i440fx has no SMM: only the non-Secure-Boot OVMF build.
    assert caps.efi_loaders == (OVMF,)
    assert caps.loader_types == ("rom", "pflash")
    assert caps.secure_boot is False
    assert caps.iothreads is True


def test_domcaps_q35() -> None:
    caps = parse_domain_capabilities(DOMCAPS_Q35)

    assert caps.machine == "pc-q35-7.2"
    assert caps.max_vcpus == 288
    assert caps.efi_loaders == (OVMF_MS, OVMF_SECBOOT, OVMF)
    assert caps.secure_boot is True


def test_domcaps_cpu_models_under_tcg() -> None:
    caps = parse_domain_capabilities(DOMCAPS_Q35)
    models = {m.name: m for m in caps.cpu_models}

    assert len(caps.cpu_models) == 53
    assert models["qemu64"] == CpuModel("qemu64", "unknown", True)
    assert models["Westmere"] == CpuModel("Westmere", "Intel", True)
    assert models["Opteron_G2"] == CpuModel("Opteron_G2", "AMD", True)
    assert models["EPYC"] == CpuModel("EPYC", "AMD", False)
    assert models["Dhyana"].vendor == "Hygon"
    assert caps.cpu_modes == {
        "host-passthrough": False,
        "maximum": True,
        "host-model": True,
        "custom": True,
    }


def test_domcaps_under_kvm_pvm() -> None:
    caps = parse_domain_capabilities(DOMCAPS_KVM_Q35)
    models = {m.name: m for m in caps.cpu_models}

    assert caps.domain_type == "kvm"
    assert caps.cpu_modes["host-passthrough"] is True
    assert models["qemu64"].usable is False  # the nested kvm-pvm exposes almost nothing


def test_domcaps_without_firmware_support() -> None:
    caps = parse_domain_capabilities(
        "<domainCapabilities><path>/usr/bin/qemu-system-x86_64</path><domain>qemu</domain>"
        "<machine>isapc</machine><arch>x86_64</arch>"
        "<os supported='yes'><loader supported='no'/></os>"
        "<cpu><mode name='custom' supported='no'/></cpu></domainCapabilities>"
    )

    assert caps.efi_loaders == ()
    assert caps.secure_boot is False
    assert caps.cpu_models == ()
    assert caps.max_vcpus is None
    assert caps.iothreads is False


def arch_caps(seabios: str | None = "/usr/share/seabios/bios-256k.bin") -> ArchCapabilities:
    guest = parse_capabilities(CAPS)["x86_64"]
    domcaps = [parse_domain_capabilities(DOMCAPS_PC), parse_domain_capabilities(DOMCAPS_Q35)]
    return build_arch_capabilities(
        guest,
        domcaps,
        kvm_supported=False,
        accelerator="tcg",
        accelerator_reason=TCG_REASON,
        seabios=seabios,
    )


def test_arch_capabilities() -> None:
    caps = arch_caps()

    assert caps.arch == "x86_64"
    assert caps.wordsize == 64
    assert caps.emulator == "/usr/bin/qemu-system-x86_64"
    assert caps.kvm_supported is False
    assert caps.accelerator is Accelerator.TCG
    assert caps.accelerator_reason == TCG_REASON
    assert caps.default_machine == "pc"
    names = [m.name for m in caps.machines]
    assert "pc-i440fx-7.2" in names
    assert "q35" in names
    assert caps.firmware == {
        "bios": ["/usr/share/seabios/bios-256k.bin"],
        # the default machine's loaders first, then what q35 adds
        "efi": [OVMF, OVMF_MS, OVMF_SECBOOT],
    }
    assert len(caps.cpu_models) == 53
    assert caps.features == {
        "acpi": True,
        "apic": True,
        "uefi": True,
        "secure_boot": True,
        "disk_snapshot": True,
        "iothreads": True,
        "host_passthrough": False,
        "host_model": True,
    }


def test_arch_capabilities_seabios_unknown() -> None:
    assert arch_caps(seabios=None).firmware["bios"] == ["seabios"]


def test_secure_boot_needs_q35() -> None:
    guest = parse_capabilities(CAPS)["x86_64"]
    caps = build_arch_capabilities(
        guest,
        [parse_domain_capabilities(DOMCAPS_PC)],
        kvm_supported=False,
        accelerator=Accelerator.TCG,
        accelerator_reason=TCG_REASON,
    )

    assert caps.features["uefi"] is True
    assert caps.features["secure_boot"] is False
    assert caps.firmware["efi"] == [OVMF]


def test_find_seabios(tmp_path: Path) -> None:
    real = tmp_path / "seabios" / "bios-256k.bin"
    real.parent.mkdir()
    real.write_bytes(b"\0")
    link = tmp_path / "qemu-bios-256k.bin"
    link.symlink_to(real)

    assert libvirt_caps.find_seabios([str(tmp_path / "missing"), str(link)]) == str(real)
    assert libvirt_caps.find_seabios([str(tmp_path / "missing")]) is None


class FakeConnection:
    """Answers with the captured documents and records what was asked."""

    def __init__(self, caps: str = CAPS) -> None:
        self.caps = caps
        self.asked: list[tuple[str | None, str | None, str | None, str | None]] = []

    def getCapabilities(self) -> str:
        return self.caps

    def getDomainCapabilities(
        self, emulatorbin: str | None, arch: str | None, machine: str | None, virttype: str | None
    ) -> str:
        self.asked.append((emulatorbin, arch, machine, virttype))
        if virttype == "kvm":
            return DOMCAPS_KVM_Q35
        return DOMCAPS_Q35 if machine == "q35" else DOMCAPS_PC


def test_read_capabilities_tcg() -> None:
    conn = FakeConnection()

    result = read_capabilities(conn, PVM, "tcg", TCG_REASON)

    assert list(result) == ["x86_64"]
    caps = result["x86_64"]
    assert caps.accelerator is Accelerator.TCG
    assert caps.kvm_supported is False
    assert caps.accelerator_reason == TCG_REASON
    assert OVMF in caps.firmware["efi"]
    assert caps.features["secure_boot"] is True
    assert conn.asked == [
        ("/usr/bin/qemu-system-x86_64", "x86_64", "pc", "qemu"),
        ("/usr/bin/qemu-system-x86_64", "x86_64", "q35", "qemu"),
    ]


def test_read_capabilities_kvm_asks_for_kvm_and_trusts_the_probe() -> None:
    conn = FakeConnection()
    usable = AcceleratorProbe(True, "Hardware KVM is available (kvm_intel loaded, CPU flag vmx).")

    caps = read_capabilities(conn, usable, Accelerator.KVM, "KVM chosen automatically.")["x86_64"]

    assert {virttype for *_, virttype in conn.asked} == {"kvm"}
    assert caps.accelerator is Accelerator.KVM
    assert caps.kvm_supported is True
    assert caps.features["host_passthrough"] is True


def test_read_capabilities_probe_overrules_libvirts_kvm_claim() -> None:
    caps = read_capabilities(FakeConnection(), PVM, Accelerator.TCG, TCG_REASON)["x86_64"]

    assert "kvm" in parse_capabilities(CAPS)["x86_64"].domain_types
    assert caps.kvm_supported is False


def test_read_capabilities_without_a_guest_for_the_host_arch() -> None:
    caps = CAPS.replace("<arch name='x86_64'>", "<arch name='aarch64'>")

    with pytest.raises(DriverError, match=r"no hvm guest for this host's architecture x86_64"):
        read_capabilities(FakeConnection(caps), PVM, "tcg", TCG_REASON)


def test_read_capabilities_wraps_libvirt_errors() -> None:
    class Broken(FakeConnection):
        def getCapabilities(self) -> str:
            raise libvirt.libvirtError("Cannot recv data: Connection reset by peer")

    with pytest.raises(DriverError, match="capabilities from libvirt failed"):
        read_capabilities(Broken(), PVM, "tcg", TCG_REASON)
