"""The decisions: what libvirt domain a cloudenv ``DomainSpec`` becomes.

The element classes in ``libvirt_xml`` hold no choices; every rule learnt on real hosts
(RUNTIME.md §2-5) lives here, once:

- ``type='qemu'`` for TCG and ``'kvm'`` for KVM. TCG never gets ``host-passthrough`` or
  ``host-model`` (QEMU aborts); KVM gets ``host-passthrough`` unless a model is asked for.
- ``firmware='efi'`` always says whether secure boot is wanted: left implicit, q35 with SMM
  autoselects the Microsoft-keys OVMF that refuses unsigned boot loaders. Secure boot needs
  SMM, hence q35.
- ``<boot dev=/>`` and per-disk ``<boot order=/>`` are never mixed (libvirt refuses it).
- Disks get no ``cache='none'`` (TCG on plain files); CD-ROMs are raw and read-only.
- A serial pty (optionally logged to a file) with a console on it; VNC only on a unix
  socket in libvirt's private directory of the domain (root and QEMU's user only: RFB
  there has no password, so it must not be on TCP where any local account connects).

Invalid combinations raise ``ValueError`` with a message that says what to change; this
module must not talk to libvirt.
"""

from __future__ import annotations

from cloudenv.drivers.compute.base import (
    Accelerator,
    DiskBus,
    DiskSpec,
    DomainSpec,
    Firmware,
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
    """The domain for ``spec``; raises ValueError when the spec asks for something that
    cannot work (secure boot on ``pc``, IDE on ``q35``...)."""
    _check_sizes(spec)
    if "\n" in spec.title:
        raise ValueError(f"Instance {spec.name}: the title must be a single line.")
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
        features=Features(acpi=True, apic=True, smm=True if spec.secure_boot else None),
        clock=Clock(offset="utc"),
        lifecycle=Lifecycle(on_poweroff="destroy", on_reboot="restart", on_crash="destroy"),
        devices=_devices(spec, emulator),
    )


def domain_xml(spec: DomainSpec, *, emulator: str = DEFAULT_EMULATOR) -> str:
    """``build_domain`` as the XML text ``defineXML`` takes."""
    return build_domain(spec, emulator=emulator).to_xml(pretty=True)


def disk_element(disk: DiskSpec) -> Disk:
    """The ``<disk>`` for ``disk``, in a definition or for hot-plug."""
    if disk.device not in DISK_DEVICES:
        raise ValueError(
            f"Disk {disk.target}: device must be 'disk' or 'cdrom', not {disk.device!r}."
        )
    cdrom = disk.device == "cdrom"
    if cdrom and disk.bus is DiskBus.VIRTIO:
        raise ValueError(
            f"CD-ROM {disk.target}: a CD-ROM can't sit on the virtio bus; use ide (pc) or "
            "sata (q35)."
        )
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


def _check_sizes(spec: DomainSpec) -> None:
    topology = (spec.vcpus_sockets, spec.vcpus_cores, spec.vcpus_threads)
    if min(topology) < 1:
        raise ValueError(
            f"Instance {spec.name}: sockets, cores and threads must each be at least 1 "
            f"(got {topology[0]}, {topology[1]}, {topology[2]})."
        )
    if spec.memory_mb < 1:
        raise ValueError(f"Instance {spec.name}: memory must be at least 1 MiB.")


def _is_q35(spec: DomainSpec) -> bool:
    machine = spec.machine
    if machine == "q35" or machine.startswith("pc-q35-"):
        return True
    if machine == "pc" or machine.startswith("pc-i440fx-"):
        return False
    raise ValueError(f"Instance {spec.name}: unknown machine type {machine!r}; use 'pc' or 'q35'.")


def _cpu(spec: DomainSpec) -> CPU:
    topology = CPUTopology(
        sockets=spec.vcpus_sockets, cores=spec.vcpus_cores, threads=spec.vcpus_threads
    )
    if spec.cpu_model is not None:
        return CPU(mode="custom", match="exact", model=spec.cpu_model, topology=topology)
    if spec.accelerator is Accelerator.KVM:
        return CPU(mode="host-passthrough", topology=topology)
    # TCG: host-* modes make QEMU abort; no mode keeps QEMU's default model (qemu64).
    return CPU(topology=topology)


def _os(spec: DomainSpec) -> OS:
    q35 = _is_q35(spec)
    efi = spec.firmware is Firmware.EFI
    features: tuple[FirmwareFeature, ...] = ()
    if spec.secure_boot:
        if not efi:
            raise ValueError(
                f"Instance {spec.name}: secure boot needs EFI firmware; choose firmware "
                "'efi' or turn secure boot off."
            )
        if not q35:
            raise ValueError(
                f"Instance {spec.name}: secure boot needs the q35 machine type (it relies on "
                f"SMM, which {spec.machine!r} lacks); choose machine 'q35' or turn secure "
                "boot off."
            )
        features = (
            FirmwareFeature(name="enrolled-keys", enabled=True),
            FirmwareFeature(name="secure-boot", enabled=True),
        )
    elif efi:
        features = (FirmwareFeature(name="secure-boot", enabled=False),)
    kernel = spec.kernel_boot
    return OS(
        type=OSType(value="hvm", arch="x86_64", machine=spec.machine),
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
        raise ValueError(f"Instance {spec.name}: two disks have the same boot order.")
    if spec.kernel_boot is not None or orders:
        # Direct kernel boot needs no boot device; per-disk orders exclude <boot dev=/>.
        return ()
    unknown = [dev for dev in spec.boot_devices if dev not in BOOT_DEVICES]
    if unknown:
        raise ValueError(
            f"Instance {spec.name}: unknown boot device {unknown[0]!r}; use "
            f"{', '.join(sorted(BOOT_DEVICES))}."
        )
    return spec.boot_devices


def _devices(spec: DomainSpec, emulator: str) -> Devices:
    q35 = _is_q35(spec)
    for disk in spec.disks:
        if q35 and disk.bus is DiskBus.IDE:
            raise ValueError(
                f"Instance {spec.name}: disk {disk.target} is on the ide bus, which q35 "
                "lacks; use sata."
            )
    log = None if spec.serial_log is None else SerialLog(file=spec.serial_log, append=False)
    return Devices(
        emulator=Emulator(path=emulator),
        disks=tuple(disk_element(disk) for disk in spec.disks),
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
