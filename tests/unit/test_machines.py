"""The machine-type value object and the resource rule (``cloudenv.machines``), and the
typed QEMU configuration stored in an instance row (``cloudenv.instance_config``)."""

from __future__ import annotations

import dataclasses

import pytest

from cloudenv.enums import DiskBus
from cloudenv.errors import InvalidInput
from cloudenv.instance_config import KernelBootConfig, QemuConfig
from cloudenv.machines import (
    I440FX,
    MAX_VCPUS,
    Q35,
    Firmware,
    MachineType,
    Resources,
    check_resources,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "family"),
    [("pc", "pc"), ("pc-i440fx-7.2", "pc"), ("q35", "q35"), ("pc-q35-8.2.0", "q35")],
)
def test_known_machine_types_keep_their_name(name: str, family: str) -> None:
    machine = MachineType.parse(name)
    assert (machine.name, machine.family) == (name, family)
    assert machine.is_q35 is (family == "q35")


@pytest.mark.parametrize("name", ["virt", "q35\n", "pc-q35-", "PC", "", "pc-q35-7.2 "])
def test_unknown_machine_types_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="is not known") as refused:
        MachineType.parse(name)
    assert refused.value.field == "metadata.machine_type"


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("pc-i440fx-7.2", "pc"),
        ("pc-i440fx-jammy", "pc"),  # Ubuntu's canonical names
        ("pc-q35-noble", "q35"),
        ("pc-q35-rhel9.4.0", "q35"),  # RHEL's
    ],
)
def test_a_domain_machine_name_is_never_refused(name: str, family: str) -> None:
    """libvirt writes the canonical name of the alias it was given into the domain XML;
    distributions version it their own way, and attaching a disk reads it back."""
    machine = MachineType.of_domain(name)
    assert (machine.name, machine.family) == (name, family)


def test_what_each_machine_type_allows() -> None:
    assert DiskBus.IDE in I440FX.buses and DiskBus.IDE not in Q35.buses
    assert DiskBus.VIRTIO not in I440FX.cdrom_buses | Q35.cdrom_buses
    assert (I440FX.cdrom_bus, Q35.cdrom_bus) == (DiskBus.IDE, DiskBus.SATA)
    assert (I440FX.secure_boot, Q35.secure_boot) == (False, True)
    Q35.check_bus(DiskBus.SATA, cdrom=True, what="x", field="f")
    with pytest.raises(InvalidInput, match="x: the q35 machine type has no ide bus") as refused:
        Q35.check_bus(DiskBus.IDE, cdrom=False, what="x", field="metadata.new_volumes[0].bus")
    assert refused.value.field == "metadata.new_volumes[0].bus"
    assert "use sata, scsi, usb, virtio" in refused.value.message


def test_resource_rule() -> None:
    def res(sockets: int = 1, cores: int = 1, threads: int = 1, memory: int = 256) -> Resources:
        return Resources(sockets=sockets, cores=cores, threads=threads, memory_mb=memory)

    check_resources(res(sockets=5, cores=51), Q35)  # exactly the limit
    check_resources(res(memory=4096), I440FX, node_memory_mb=4096, node_name="n")
    cases = [
        (res(sockets=64, cores=64, threads=64), "cpu", "262144 vCPUs"),
        (res(cores=MAX_VCPUS + 1), "cpu", "more than the 255"),
        (res(threads=0), "cpu.threads", "at least 1"),
        (res(memory=63), "memory", "between 64 and"),
        (res(memory=8192), "memory", "more than node n has (4096 MB)"),
    ]
    for resources, field, words in cases:
        with pytest.raises(InvalidInput) as refused:
            check_resources(
                resources, I440FX, what="Instance w", node_memory_mb=4096, node_name="n"
            )
        assert refused.value.field == field
        assert refused.value.message.startswith("Instance w: ")
        assert words in refused.value.message


def test_config_defaults_are_written_once() -> None:
    """The row, the deploy request and the product's deploy body agree on every default."""
    from cloudenv.api.schemas.compute import QemuMetadata
    from cloudenv.services.compute.requests import DeployRequest

    config = QemuConfig()
    assert (config.machine, config.firmware, config.secure_boot) == (I440FX, Firmware.EFI, False)
    assert QemuConfig.from_json({}) == config
    assert DeployRequest(name="x", type=2).config == config
    body = QemuMetadata.model_validate({"_type": "qemu"})
    assert (
        QemuConfig.parse(
            machine_type=body.machine_type,
            firmware=body.firmware,
            secure_boot=body.secure_boot.enabled,
            cpu_model=body.cpu_model,
        )
        == QemuConfig.parse()
    )


def test_config_json_round_trip() -> None:
    config = QemuConfig(
        machine=MachineType.parse("pc-q35-7.2"),
        cpu_model="Nehalem",
        firmware=Firmware.EFI,
        secure_boot=True,
        kernel_boot=KernelBootConfig(kernel="img-k", initrd="img-i", cmdline="console=ttyS0"),
    )
    stored = config.to_json()
    assert stored == {
        "machine_type": "pc-q35-7.2",
        "cpu_model": "Nehalem",
        "firmware": "efi",
        "secure_boot": True,
        "kernel_boot": {"kernel": "img-k", "initrd": "img-i", "cmdline": "console=ttyS0"},
    }
    assert QemuConfig.from_json(stored) == config
    plain = QemuConfig(firmware=Firmware.BIOS)
    assert QemuConfig.from_json(plain.to_json()) == plain


def test_config_refuses_settings_that_do_not_go_together() -> None:
    with pytest.raises(InvalidInput, match="secure boot needs the q35 machine type"):
        QemuConfig(secure_boot=True)
    with pytest.raises(InvalidInput, match="secure boot needs EFI firmware") as refused:
        QemuConfig(machine=Q35, firmware=Firmware.BIOS, secure_boot=True)
    assert refused.value.field == "metadata.secure_boot"
    with pytest.raises(InvalidInput) as unknown:
        QemuConfig.parse(firmware="uefi")
    assert unknown.value.field == "metadata.firmware"
    with pytest.raises(dataclasses.FrozenInstanceError):
        QemuConfig().secure_boot = True  # type: ignore[misc]
