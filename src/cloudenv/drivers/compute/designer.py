"""The decisions: what libvirt domain a cloudenv ``DomainSpec`` becomes.

The element classes in ``libvirt_xml`` hold no choices; every rule learnt on real hosts
(RUNTIME.md §2-5) lives here, once:

- ``type='qemu'`` for TCG and ``'kvm'`` for KVM. TCG never gets ``host-passthrough`` or
  ``host-model`` (QEMU aborts); KVM gets ``host-passthrough`` unless a model is asked for.
- What a machine type allows (buses, secure boot) and how big a guest may be are the shared
  rules of ``cloudenv.machines``, which the service applies before anything is queued.
- ``firmware='efi'`` always says whether secure boot is wanted: left implicit, q35 with SMM
  autoselects the Microsoft-keys OVMF that refuses unsigned boot loaders. Secure boot needs
  SMM, hence q35.
- ``<boot dev=/>`` and per-disk ``<boot order=/>`` are never mixed (libvirt refuses it).
- Disks get no ``cache='none'`` (TCG on plain files); CD-ROMs are raw and read-only.
- A serial pty (optionally logged to a file) with a console on it; VNC only on a unix
  socket in libvirt's private directory of the domain (root and QEMU's user only: RFB
  there has no password, so it must not be on TCP where any local account connects).

Invalid combinations raise ``InvalidInput`` (``InvalidDomain`` for the designer's own
rules) with a message that says what to change, so a task fails with that reason; this
module must not talk to libvirt.
"""

from __future__ import annotations

from cloudenv.drivers.compute.base import (
    Accelerator,
    DiskSpec,
    DomainSpec,
    Firmware,
    MachineType,
)
from cloudenv.drivers.compute.libvirt_xml import (
    CPU,
    OS,
    VCPU,
    Clock,
    Console,
    CPUTopology,
    Devices,
    Disk,
    DiskDriver,
    DiskSource,
    DiskTarget,
    Domain,
    DomainSnapshot,
    Emulator,
    Features,
    FirmwareFeature,
    Graphics,
    GraphicsListen,
    Input,
    InstanceMetadata,
    Lifecycle,
    Memballoon,
    Memory,
    OSType,
    Serial,
    SerialLog,
    Video,
)
from cloudenv.drivers.errors import InvalidDomain
from cloudenv.machines import Resources, check_resources

__all__ = [
    "BOOT_DEVICES",
    "DEFAULT_EMULATOR",
    "build_domain",
    "disk_element",
    "domain_xml",
    "snapshot_element",
]

DEFAULT_EMULATOR = "/usr/bin/qemu-system-x86_64"
BOOT_DEVICES = frozenset({"hd", "cdrom", "network", "fd"})
DISK_DEVICES = frozenset({"disk", "cdrom"})


def build_domain(spec: DomainSpec, *, emulator: str = DEFAULT_EMULATOR) -> Domain:
    """The domain for ``spec``; raises InvalidInput when the spec asks for something that
    cannot work (secure boot on ``pc``, IDE on ``q35``...)."""
    resources = Resources(
        sockets=spec.vcpus_sockets,
        cores=spec.vcpus_cores,
        threads=spec.vcpus_threads,
        memory_mb=spec.memory_mb,
    )
    check_resources(resources, spec.config.machine, what=f"Instance {spec.name}")
    if "\n" in spec.title:
        raise InvalidDomain(f"Instance {spec.name}: the title must be a single line.")
    return Domain(
        type="kvm" if spec.accelerator is Accelerator.KVM else "qemu",
        name=spec.name,
        uuid=spec.uuid,
        title=spec.title,
        metadata=InstanceMetadata.from_dict(spec.metadata),
        memory=Memory(value=spec.memory_mb, unit="MiB"),
        vcpu=VCPU(count=spec.vcpus),
        cpu=_cpu(spec),
        os=_os(spec),
        features=Features(acpi=True, apic=True, smm=True if spec.config.secure_boot else None),
        clock=Clock(offset="utc"),
        lifecycle=Lifecycle(on_poweroff="destroy", on_reboot="restart", on_crash="destroy"),
        devices=_devices(spec, emulator),
    )


def domain_xml(spec: DomainSpec, *, emulator: str = DEFAULT_EMULATOR) -> str:
    """``build_domain`` as the XML text ``defineXML`` takes."""
    return build_domain(spec, emulator=emulator).to_xml(pretty=True)


def disk_element(disk: DiskSpec, machine: MachineType, *, owner: str = "") -> Disk:
    """The ``<disk>`` for ``disk`` on a guest of ``machine``, in a definition or for
    hot-plug; refused when that machine type has no such bus. ``owner`` names the
    instance in messages."""
    what = f"{owner + ': ' if owner else ''}{'CD-ROM' if disk.device == 'cdrom' else 'disk'}"
    what = f"{what} {disk.target}"
    if disk.device not in DISK_DEVICES:
        raise InvalidDomain(f"{what}: device must be 'disk' or 'cdrom', not {disk.device!r}.")
    cdrom = disk.device == "cdrom"
    machine.check_bus(disk.bus, cdrom=cdrom, what=what, field="bus")
    source = None
    if disk.path:
        block = disk.path.startswith("/dev/")
        source = DiskSource(dev=disk.path) if block else DiskSource(file=disk.path)
    return Disk(
        type="block" if source is not None and source.dev is not None else "file",
        device=disk.device,
        # ISO images are raw whatever the caller's default format says.
        driver=DiskDriver(name="qemu", type="raw" if cdrom else disk.format.value),
        source=source,
        target=DiskTarget(dev=disk.target, bus=disk.bus.value),
        serial=disk.serial,
        readonly=disk.readonly or cdrom,
        boot_order=disk.boot_order,
    )


def snapshot_element(name: str, description: str) -> DomainSnapshot:
    """The ``<domainsnapshot>`` for ``snapshotCreateXML``."""
    return DomainSnapshot(name=name, description=description or None)


def _cpu(spec: DomainSpec) -> CPU:
    topology = CPUTopology(
        sockets=spec.vcpus_sockets, cores=spec.vcpus_cores, threads=spec.vcpus_threads
    )
    if spec.config.cpu_model is not None:
        return CPU(mode="custom", match="exact", model=spec.config.cpu_model, topology=topology)
    if spec.accelerator is Accelerator.KVM:
        return CPU(mode="host-passthrough", topology=topology)
    # TCG: host-* modes make QEMU abort; no mode keeps QEMU's default model (qemu64).
    return CPU(topology=topology)


def _os(spec: DomainSpec) -> OS:
    config = spec.config
    efi = config.firmware is Firmware.EFI
    config.machine.check_firmware(config.firmware, config.secure_boot, what=f"Instance {spec.name}")
    features: tuple[FirmwareFeature, ...] = ()
    if config.secure_boot:
        features = (
            FirmwareFeature(name="enrolled-keys", enabled=True),
            FirmwareFeature(name="secure-boot", enabled=True),
        )
    elif efi:
        features = (FirmwareFeature(name="secure-boot", enabled=False),)
    kernel = spec.kernel_boot
    return OS(
        type=OSType(value="hvm", arch="x86_64", machine=config.machine.name),
        firmware="efi" if efi else None,
        firmware_features=features,
        kernel=None if kernel is None else kernel.kernel,
        initrd=None if kernel is None else kernel.initrd,
        cmdline=kernel.cmdline if kernel is not None and kernel.cmdline else None,
        boot_devs=_boot_devs(spec),
    )


def _boot_devs(spec: DomainSpec) -> tuple[str, ...]:
    orders = [disk.boot_order for disk in spec.disks if disk.boot_order is not None]
    if len(orders) != len(set(orders)):
        raise InvalidDomain(
            f"Instance {spec.name}: two disks have the same boot order; give each its own."
        )
    if spec.kernel_boot is not None or orders:
        # Direct kernel boot needs no boot device; per-disk orders exclude <boot dev=/>.
        return ()
    unknown = [dev for dev in spec.boot_devices if dev not in BOOT_DEVICES]
    if unknown:
        raise InvalidDomain(
            f"Instance {spec.name}: unknown boot device {unknown[0]!r}; use "
            f"{', '.join(sorted(BOOT_DEVICES))}."
        )
    return spec.boot_devices


def _devices(spec: DomainSpec, emulator: str) -> Devices:
    log = None if spec.serial_log is None else SerialLog(file=spec.serial_log, append=False)
    return Devices(
        emulator=Emulator(path=emulator),
        disks=tuple(
            disk_element(disk, spec.config.machine, owner=f"Instance {spec.name}")
            for disk in spec.disks
        ),
        serials=(Serial(type="pty", target_port=0, log=log),),
        consoles=(Console(type="pty", target_type="serial", target_port=0),),
        inputs=(Input(type="tablet", bus="usb"),) if spec.vnc else (),
        graphics=(_vnc(),) if spec.vnc else (),
        videos=(Video(model="vga"),) if spec.vnc else (),
        memballoon=Memballoon(model="none"),
    )


def _vnc() -> Graphics:
    # No path: libvirt makes the socket in /var/lib/libvirt/qemu/domain-<n>-<name>/ (0750,
    # QEMU's user), creates and removes it with the domain; the node's console proxy,
    # running as root, reads the path from the live XML.
    return Graphics(type="vnc", listens=(GraphicsListen(type="socket"),))
