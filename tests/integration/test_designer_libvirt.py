"""The designer's XML against the real libvirtd on this host: libvirt must accept it
(``defineXML``), keep what we asked for (read back with ``Domain.from_xml``), and for EFI
pick the firmware we meant when the domain starts. Every domain is undefined afterwards,
with its NVRAM, whatever happens."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import libvirt
import pytest

from cloudenv.drivers.compute.base import (
    Accelerator,
    DirectKernelBoot,
    DiskBus,
    DiskSpec,
    DomainSpec,
    Firmware,
    QemuConfig,
)
from cloudenv.drivers.compute.designer import domain_xml
from cloudenv.drivers.compute.libvirt_xml import Domain
from cloudenv.machines import Q35

pytestmark = pytest.mark.integration

LIBVIRT_SOCKET = Path("/run/libvirt/libvirt-sock")
URI = "qemu:///system"


@pytest.fixture(scope="module")
def conn() -> Iterator[libvirt.virConnect]:
    if not LIBVIRT_SOCKET.exists():
        pytest.fail(
            f"libvirtd is not running ({LIBVIRT_SOCKET} is missing): start it with "
            "scripts/start-libvirt.sh (as root), then run these tests again."
        )
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    connection = libvirt.open(URI)
    try:
        yield connection
    finally:
        connection.close()


def unique_spec(**changes: Any) -> DomainSpec:
    spec = DomainSpec(
        name=f"cetest-{secrets.token_hex(4)}",
        uuid=str(uuid.uuid4()),
        title="designer test",
        vcpus_sockets=1,
        vcpus_cores=2,
        vcpus_threads=1,
        memory_mb=128,
        accelerator=Accelerator.TCG,
        config=QemuConfig(firmware=Firmware.BIOS),
        metadata={"project": "prj-test", "owner": "usr-test"},
    )
    return dataclasses.replace(spec, **changes)


@contextmanager
def defined(conn: libvirt.virConnect, spec: DomainSpec) -> Iterator[libvirt.virDomain]:
    """Define ``spec``; on the way out stop and undefine it (with NVRAM and snapshots)."""
    domain = conn.defineXML(domain_xml(spec))
    try:
        yield domain
    finally:
        try:
            if domain.isActive():
                domain.destroy()
        finally:
            domain.undefineFlags(
                libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
                | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
            )


def read_back(domain: libvirt.virDomain) -> Domain:
    return Domain.from_xml(domain.XMLDesc(0))


def test_tcg_direct_kernel_domain_is_accepted(conn: libvirt.virConnect) -> None:
    spec = unique_spec(
        kernel_boot=DirectKernelBoot(
            kernel="/var/cache/cloudenv-test/vmlinuz",
            initrd="/var/cache/cloudenv-test/initrd.gz",
            cmdline="console=ttyS0,115200 panic=-1",
        ),
        disks=(
            DiskSpec(
                path="/var/lib/cloudenv-test/root.qcow2",
                target="vda",
                bus=DiskBus.VIRTIO,
                serial="ce-root",
            ),
        ),
        serial_log="/var/log/libvirt/qemu/cetest-serial.log",
    )
    with defined(conn, spec) as domain:
        live = read_back(domain)

    assert (live.type, live.name, live.uuid, live.title) == (
        "qemu",
        spec.name,
        spec.uuid,
        "designer test",
    )
    assert live.metadata is not None
    assert live.metadata.as_dict() == {"project": "prj-test", "owner": "usr-test"}
    assert live.memory.kib == 128 * 1024
    assert live.vcpu.count == 2
    assert live.cpu is not None
    assert live.cpu.mode not in ("host-passthrough", "host-model")
    assert live.cpu.topology is not None
    topology = live.cpu.topology
    assert (topology.sockets, topology.cores, topology.threads) == (1, 2, 1)
    assert live.os.kernel == "/var/cache/cloudenv-test/vmlinuz"
    assert live.os.initrd == "/var/cache/cloudenv-test/initrd.gz"
    assert live.os.cmdline == "console=ttyS0,115200 panic=-1"
    assert live.os.type.machine is not None
    assert live.os.type.machine.startswith("pc-i440fx-")
    assert live.features is not None
    assert (live.features.acpi, live.features.apic) == (True, True)
    assert live.lifecycle.on_poweroff == "destroy"
    (disk,) = live.devices.disks
    assert (disk.target.dev, disk.target.bus, disk.serial) == ("vda", "virtio", "ce-root")
    assert disk.driver is not None
    assert (disk.driver.type, disk.driver.cache) == ("qcow2", None)
    (serial,) = live.devices.serials
    assert serial.log is not None
    assert serial.log.file == "/var/log/libvirt/qemu/cetest-serial.log"
    (console,) = live.devices.consoles
    assert (console.target_type, console.target_port) == ("serial", 0)
    (vnc,) = live.devices.graphics
    # VNC on a unix socket libvirt makes per guest, never on a TCP port (issue 10, finding 9).
    assert (vnc.type, vnc.port, vnc.listen) == ("vnc", None, None)
    assert [listen.type for listen in vnc.listens] == ["socket"]
    assert [video.model for video in live.devices.videos] == ["vga"]
    assert live.devices.memballoon is not None
    assert live.devices.memballoon.model == "none"


def test_q35_efi_domain_starts_with_plain_ovmf(conn: libvirt.virConnect) -> None:
    # An empty CD-ROM drive: the guest needs no files to start (OVMF falls to its shell).
    spec = unique_spec(
        config=QemuConfig(machine=Q35, firmware=Firmware.EFI),
        disks=(DiskSpec(path="", target="sdc", bus=DiskBus.SATA, device="cdrom"),),
        boot_devices=("cdrom", "hd"),
    )
    with defined(conn, spec) as domain:
        inactive = read_back(domain)
        assert inactive.os.firmware == "efi"
        assert inactive.os.firmware_feature("secure-boot") is False
        assert inactive.os.boot_devs == ("cdrom", "hd")
        (cdrom,) = inactive.devices.disks
        assert (cdrom.device, cdrom.target.bus, cdrom.readonly) == ("cdrom", "sata", True)

        domain.create()
        running = read_back(domain)

    assert running.id is not None
    assert running.os.loader is not None
    assert running.os.loader.path is not None
    # Not the Microsoft-keys build that refuses unsigned boot loaders.
    assert ".ms." not in running.os.loader.path
    assert running.os.loader.secure is not True
    assert running.os.nvram is not None
    assert running.os.nvram.path == f"/var/lib/libvirt/qemu/nvram/{spec.name}_VARS.fd"
    (vnc,) = running.devices.graphics
    assert vnc.port is None
    assert vnc.socket is not None
    assert vnc.socket.startswith("/var/lib/libvirt/qemu/")
    (console,) = running.devices.consoles
    assert console.tty is not None
    assert console.tty.startswith("/dev/pts/")
    assert not Path(f"/var/lib/libvirt/qemu/nvram/{spec.name}_VARS.fd").exists()


def test_q35_secure_boot_domain_starts_with_secure_firmware(conn: libvirt.virConnect) -> None:
    spec = unique_spec(
        config=QemuConfig(machine=Q35, firmware=Firmware.EFI, secure_boot=True), vnc=False
    )
    with defined(conn, spec) as domain:
        inactive = read_back(domain)
        assert inactive.features is not None
        assert inactive.features.smm is True
        assert inactive.os.firmware_feature("secure-boot") is True
        domain.create()
        running = read_back(domain)

    assert running.os.loader is not None
    assert running.os.loader.secure is True
    assert running.devices.graphics == ()
