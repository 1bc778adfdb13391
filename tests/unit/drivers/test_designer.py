"""The designer's decisions, checked by XPath on the XML it produces."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from cloudenv.drivers.compute.base import (
    Accelerator,
    DirectKernelBoot,
    DiskBus,
    DiskFormat,
    DiskSpec,
    DomainSpec,
    Firmware,
    MachineType,
    NetworkHost,
    NetworkSource,
    QemuConfig,
    VolumeSource,
)
from cloudenv.drivers.compute.designer import (
    build_domain,
    disk_element,
    domain_xml,
    snapshot_element,
)
from cloudenv.drivers.compute.libvirt_xml import NAMESPACE, DomainSnapshot, parse_xml
from cloudenv.drivers.errors import InvalidDomain, InvalidInput
from cloudenv.machines import I440FX, Q35

pytestmark = pytest.mark.unit

NSMAP = {"cloudenv": NAMESPACE}

ROOT_DISK = DiskSpec(
    path="/var/lib/cloudenv/pools/p1/vol-1.qcow2",
    target="vda",
    bus=DiskBus.VIRTIO,
    serial="ce-vol-1",
)
ISO = DiskSpec(
    path="/var/cache/cloudenv/iso/guest.iso",
    target="hdc",
    bus=DiskBus.IDE,
    format=DiskFormat.RAW,
    device="cdrom",
)


CONFIG_FIELDS = ("machine", "firmware", "secure_boot", "cpu_model")


def make_spec(**changes: Any) -> DomainSpec:
    """A BIOS pc domain spec; ``machine``, ``firmware``, ``secure_boot`` and ``cpu_model``
    go into its configuration."""
    config: dict[str, Any] = {"firmware": Firmware.BIOS}
    config.update({key: changes.pop(key) for key in CONFIG_FIELDS if key in changes})
    if "machine" in config:
        config["machine"] = MachineType.parse(config["machine"])
    spec = DomainSpec(
        name="inst-0f3a",
        uuid="4a46a163-fb6e-4ae7-8a5c-891381a09e59",
        title="web-1",
        vcpus_sockets=1,
        vcpus_cores=1,
        vcpus_threads=1,
        memory_mb=256,
        accelerator=Accelerator.TCG,
        config=QemuConfig(**config),
        disks=(ROOT_DISK,),
    )
    return dataclasses.replace(spec, **changes)


def render(spec: DomainSpec) -> ET.Element:
    return parse_xml(domain_xml(spec))


def one(root: ET.Element, path: str) -> ET.Element:
    found = root.findall(path, NSMAP)
    assert len(found) == 1, f"{path}: {len(found)} matches"
    return found[0]


def test_tcg_direct_kernel_boot() -> None:
    spec = make_spec(
        kernel_boot=DirectKernelBoot(
            kernel="/var/cache/g/vmlinuz", initrd="/var/cache/g/initrd.gz", cmdline="console=ttyS0"
        )
    )
    root = render(spec)
    assert root.get("type") == "qemu"
    assert one(root, "os/kernel").text == "/var/cache/g/vmlinuz"
    assert one(root, "os/initrd").text == "/var/cache/g/initrd.gz"
    assert one(root, "os/cmdline").text == "console=ttyS0"
    assert root.findall("os/boot") == []
    assert one(root, "os/type").attrib == {"arch": "x86_64", "machine": "pc"}
    assert one(root, "os/type").text == "hvm"
    cpu = one(root, "cpu")
    assert cpu.get("mode") is None  # no host-passthrough/host-model under TCG
    assert cpu.find("model") is None


def test_kernel_boot_without_initrd_or_cmdline() -> None:
    root = render(make_spec(kernel_boot=DirectKernelBoot(kernel="/k")))
    assert root.find("os/initrd") is None
    assert root.find("os/cmdline") is None


def test_tcg_with_a_cpu_model() -> None:
    cpu = one(render(make_spec(cpu_model="Nehalem")), "cpu")
    assert (cpu.get("mode"), cpu.get("match")) == ("custom", "exact")
    assert one(cpu, "model").text == "Nehalem"


def test_kvm_uses_host_passthrough_unless_a_model_is_given() -> None:
    root = render(make_spec(accelerator=Accelerator.KVM))
    assert root.get("type") == "kvm"
    assert one(root, "cpu").get("mode") == "host-passthrough"
    custom = render(make_spec(accelerator=Accelerator.KVM, cpu_model="EPYC"))
    assert one(custom, "cpu").get("mode") == "custom"
    assert one(custom, "cpu/model").text == "EPYC"


def test_bios_iso_boot() -> None:
    root = render(make_spec(disks=(ROOT_DISK, ISO), boot_devices=("cdrom", "hd")))
    assert root.find("os").get("firmware") is None  # type: ignore[union-attr]
    assert root.find("os/firmware") is None
    assert [b.get("dev") for b in root.findall("os/boot")] == ["cdrom", "hd"]
    cdrom = one(root, "devices/disk[@device='cdrom']")
    assert one(cdrom, "target").attrib == {"dev": "hdc", "bus": "ide"}
    assert one(cdrom, "driver").attrib == {"name": "qemu", "type": "raw"}
    assert one(cdrom, "source").get("file") == "/var/cache/cloudenv/iso/guest.iso"
    assert cdrom.find("readonly") is not None


def test_efi_q35_secure_boot_off() -> None:
    iso = dataclasses.replace(ISO, target="sdc", bus=DiskBus.SATA)
    root = render(make_spec(machine="q35", firmware=Firmware.EFI, disks=(ROOT_DISK, iso)))
    assert one(root, "os").get("firmware") == "efi"
    assert one(root, "os/type").get("machine") == "q35"
    feature = one(root, "os/firmware/feature")
    assert feature.attrib == {"enabled": "no", "name": "secure-boot"}
    assert root.find("features/smm") is None
    assert one(root, "devices/disk[@device='cdrom']/target").get("bus") == "sata"


def test_efi_q35_secure_boot_on() -> None:
    root = render(make_spec(machine="q35", firmware=Firmware.EFI, secure_boot=True))
    features = {f.get("name"): f.get("enabled") for f in root.findall("os/firmware/feature")}
    assert features == {"secure-boot": "yes", "enrolled-keys": "yes"}
    assert one(root, "features/smm").get("state") == "on"


def test_secure_boot_on_pc_is_refused() -> None:
    with pytest.raises(InvalidInput, match="secure boot needs the q35 machine type"):
        build_domain(make_spec(machine="pc", firmware=Firmware.EFI, secure_boot=True))


def test_secure_boot_without_efi_is_refused() -> None:
    with pytest.raises(InvalidInput, match="secure boot needs EFI firmware"):
        build_domain(make_spec(machine="q35", secure_boot=True))


def test_ide_on_q35_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"q35 machine type has no ide bus.*; use sata") as err:
        build_domain(make_spec(machine="q35", disks=(ISO,)))
    assert "Instance inst-0f3a: CD-ROM hdc" in err.value.message
    disk = dataclasses.replace(ROOT_DISK, bus=DiskBus.IDE)
    with pytest.raises(InvalidInput, match="Instance inst-0f3a: disk vda: the q35 machine type"):
        build_domain(make_spec(machine="q35", disks=(disk,)))


def test_unknown_machine_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Machine type 'virt' is not known"):
        build_domain(make_spec(machine="virt"))


def test_versioned_machine_types_are_accepted() -> None:
    root = render(make_spec(machine="pc-q35-7.2", firmware=Firmware.EFI, secure_boot=True))
    assert one(root, "os/type").get("machine") == "pc-q35-7.2"


def test_per_disk_boot_order_replaces_os_boot() -> None:
    iso = dataclasses.replace(ISO, boot_order=1)
    disk = dataclasses.replace(ROOT_DISK, boot_order=2)
    root = render(make_spec(disks=(disk, iso), boot_devices=("cdrom",)))
    assert root.findall("os/boot") == []
    orders = {
        d.find("target").get("dev"): d.find("boot").get("order")  # type: ignore[union-attr]
        for d in root.findall("devices/disk")
    }
    assert orders == {"vda": "2", "hdc": "1"}


def test_duplicate_boot_order_is_refused() -> None:
    iso = dataclasses.replace(ISO, boot_order=1)
    disk = dataclasses.replace(ROOT_DISK, boot_order=1)
    with pytest.raises(InvalidDomain, match="same boot order"):
        build_domain(make_spec(disks=(disk, iso)))


def test_unknown_boot_device_is_refused() -> None:
    with pytest.raises(InvalidDomain, match="unknown boot device 'usb'"):
        build_domain(make_spec(boot_devices=("usb",)))


def test_serial_log_and_console() -> None:
    root = render(make_spec(serial_log="/var/log/cloudenv/serial/inst-0f3a.log"))
    serial = one(root, "devices/serial[@type='pty']")
    assert one(serial, "log").attrib == {
        "file": "/var/log/cloudenv/serial/inst-0f3a.log",
        "append": "off",
    }
    assert one(serial, "target").get("port") == "0"
    console = one(root, "devices/console[@type='pty']")
    assert one(console, "target").attrib == {"type": "serial", "port": "0"}


def test_serial_without_log() -> None:
    root = render(make_spec())
    assert one(root, "devices/serial").find("log") is None
    one(root, "devices/console")


def test_vnc_on_a_unix_socket_never_tcp() -> None:
    """RFB on the socket has no password: no port, no address any local account reaches;
    libvirt picks the socket's path in its private directory of the domain."""
    root = render(make_spec(vnc=True))
    vnc = one(root, "devices/graphics[@type='vnc']")
    assert vnc.attrib == {"type": "vnc"}
    assert one(vnc, "listen").attrib == {"type": "socket"}
    assert one(root, "devices/video/model").get("type") == "vga"
    assert one(root, "devices/input").attrib == {"type": "tablet", "bus": "usb"}


def test_no_vnc_means_no_display_devices() -> None:
    root = render(make_spec(vnc=False))
    for path in ("devices/graphics", "devices/video", "devices/input"):
        assert root.find(path) is None, path


def test_vcpus_and_topology() -> None:
    root = render(make_spec(vcpus_sockets=2, vcpus_cores=3, vcpus_threads=2))
    assert one(root, "vcpu").text == "12"
    assert one(root, "cpu/topology").attrib == {"sockets": "2", "cores": "3", "threads": "2"}


def test_zero_cores_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least 1"):
        build_domain(make_spec(vcpus_cores=0))


def test_identity_memory_and_metadata() -> None:
    root = render(make_spec(memory_mb=1024, metadata={"project": "prj-1", "owner": "usr-2"}))
    assert one(root, "name").text == "inst-0f3a"
    assert one(root, "uuid").text == "4a46a163-fb6e-4ae7-8a5c-891381a09e59"
    assert one(root, "title").text == "web-1"
    memory = one(root, "memory")
    assert (memory.get("unit"), memory.text) == ("MiB", "1024")
    items = root.findall("metadata/cloudenv:instance/cloudenv:item", NSMAP)
    assert {i.get("key"): i.text for i in items} == {"project": "prj-1", "owner": "usr-2"}
    assert 'xmlns:cloudenv="https://cloudenv.dev/xmlns/instance/1"' in domain_xml(make_spec())


def test_multiline_title_is_refused() -> None:
    with pytest.raises(InvalidDomain, match="single line"):
        build_domain(make_spec(title="a\nb"))


def test_fixed_devices_features_and_lifecycle() -> None:
    root = render(make_spec())
    assert one(root, "features/acpi") is not None
    assert one(root, "features/apic") is not None
    assert one(root, "clock").get("offset") == "utc"
    assert one(root, "devices/memballoon").get("model") == "none"
    actions = {tag: one(root, tag).text for tag in ("on_poweroff", "on_reboot", "on_crash")}
    assert actions == {"on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "destroy"}
    assert one(root, "devices/emulator").text == "/usr/bin/qemu-system-x86_64"
    other = parse_xml(domain_xml(make_spec(), emulator="/usr/libexec/qemu-kvm"))
    assert one(other, "devices/emulator").text == "/usr/libexec/qemu-kvm"


def test_disk_element_qcow2_file() -> None:
    root = disk_element(ROOT_DISK, I440FX).to_element()
    assert root.attrib == {"type": "file", "device": "disk"}
    assert one(root, "driver").attrib == {"name": "qemu", "type": "qcow2"}  # no cache=
    assert one(root, "source").attrib == {"file": "/var/lib/cloudenv/pools/p1/vol-1.qcow2"}
    assert one(root, "target").attrib == {"dev": "vda", "bus": "virtio"}
    assert one(root, "serial").text == "ce-vol-1"
    assert root.find("readonly") is None
    assert root.find("boot") is None


def test_disk_element_raw_block_device_read_only() -> None:
    spec = DiskSpec(
        path="/dev/vg0/data",
        target="sdb",
        bus=DiskBus.SCSI,
        format=DiskFormat.RAW,
        readonly=True,
    )
    root = disk_element(spec, I440FX).to_element()
    assert root.get("type") == "block"
    assert one(root, "source").attrib == {"dev": "/dev/vg0/data"}
    assert one(root, "driver").get("type") == "raw"
    assert root.find("readonly") is not None


def test_disk_element_pool_volume_has_no_mode() -> None:
    """An iSCSI LUN (or a logical volume) by its pool and name; libvirt resolves it. No
    mode= (libvirt refuses it on iscsi-direct pools: RUNTIME.md section 7)."""
    spec = DiskSpec(
        path="unit:0:0:1",
        source=VolumeSource(pool="pool-1", volume="unit:0:0:1"),
        target="vdb",
        bus=DiskBus.VIRTIO,
        format=DiskFormat.RAW,
    )
    root = disk_element(spec, I440FX).to_element()
    assert root.attrib == {"type": "volume", "device": "disk"}
    assert one(root, "source").attrib == {"pool": "pool-1", "volume": "unit:0:0:1"}
    assert one(root, "driver").attrib == {"name": "qemu", "type": "raw"}


def test_disk_element_rbd_image_names_the_secret_not_the_key() -> None:
    spec = DiskSpec(
        path="vol-1.raw",
        source=NetworkSource(
            protocol="rbd",
            name="rbdpool/vol-1.raw",
            hosts=(NetworkHost("10.0.0.1", 6789), NetworkHost("mon2")),
            username="libvirt",
            secret_type="ceph",
            secret_usage="cloudenv-pool-p1",
        ),
        target="vdb",
        bus=DiskBus.VIRTIO,
        format=DiskFormat.RAW,
    )
    root = disk_element(spec, I440FX).to_element()
    assert root.get("type") == "network"
    source = one(root, "source")
    assert source.attrib == {"protocol": "rbd", "name": "rbdpool/vol-1.raw"}
    assert [h.attrib for h in source.findall("host")] == [
        {"name": "10.0.0.1", "port": "6789"},
        {"name": "mon2"},
    ]
    assert one(source, "auth").attrib == {"username": "libvirt"}
    assert one(source, "auth/secret").attrib == {"type": "ceph", "usage": "cloudenv-pool-p1"}


def test_disk_element_cdrom_is_raw_whatever_the_format() -> None:
    cdrom = disk_element(dataclasses.replace(ISO, format=DiskFormat.QCOW2), I440FX)
    assert cdrom.driver is not None
    assert cdrom.driver.type == "raw"
    assert cdrom.readonly


def test_disk_element_refuses_cdrom_on_virtio_and_odd_devices() -> None:
    with pytest.raises(InvalidInput, match="CD-ROM hdc: a CD-ROM can't sit on the virtio bus"):
        disk_element(dataclasses.replace(ISO, bus=DiskBus.VIRTIO), I440FX)
    with pytest.raises(InvalidDomain, match="'disk' or 'cdrom'"):
        disk_element(dataclasses.replace(ROOT_DISK, device="floppy"), I440FX)


def test_disk_element_refuses_a_bus_the_machine_type_lacks() -> None:
    """Hot-plug goes through the same machine-type rule as a definition."""
    with pytest.raises(InvalidInput, match="q35 machine type has no ide bus") as refused:
        disk_element(dataclasses.replace(ROOT_DISK, bus=DiskBus.IDE), Q35, owner="Instance x")
    assert refused.value.message.startswith("Instance x: disk vda:")
    assert disk_element(dataclasses.replace(ROOT_DISK, bus=DiskBus.IDE), I440FX).target.bus == "ide"


def test_snapshot_element() -> None:
    assert snapshot_element("s1", "before upgrade") == DomainSnapshot(
        name="s1", description="before upgrade"
    )
    assert snapshot_element("s1", "").description is None
