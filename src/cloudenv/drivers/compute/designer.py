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
- A disk on a pool's volume is ``<disk type='volume'>`` without ``mode=`` (libvirt refuses
  it for iscsi-direct pools); an RBD image is ``<disk type='network'>`` (libvirt 9 can't
  back a volume disk with an rbd pool); a path under /dev is ``type='block'``.
- A NIC is ``<interface type='bridge'>`` on its vSwitch's OVS bridge with
  ``<virtualport type='openvswitch'/>`` (RUNTIME.md §8) and the port group's VLAN: access,
  one tag; trunk, ``trunk='yes'`` with every VLAN and the native one ``nativeMode='untagged'``;
  untagged, no ``<vlan>``. libvirt sets it only when the tap joins the bridge (it can't change
  it live), so the agent also applies it through OVSDB after a start or a hot-plug.
- A serial pty (optionally logged to a file) with a console on it; VNC only on a unix
  socket in libvirt's private directory of the domain (root and QEMU's user only: RFB
  there has no password, so it must not be on TCP where any local account connects).

Invalid combinations raise ``InvalidInput`` (``InvalidDomain`` for the designer's own
rules) with a message that says what to change, so a task fails with that reason; this
module must not talk to libvirt.
"""

from __future__ import annotations

import re

from cloudenv.drivers.compute.base import (
    Accelerator,
    DiskSpec,
    DomainSpec,
    Firmware,
    InterfaceSpec,
    MachineType,
    NetworkSource,
    PortVlan,
    VlanMode,
    VolumeSource,
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
    DiskAuth,
    DiskDriver,
    DiskSource,
    DiskSourceHost,
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
    Interface,
    Lifecycle,
    Memballoon,
    Memory,
    OSType,
    Serial,
    SerialLog,
    Video,
    Vlan,
    VlanTag,
)
from cloudenv.drivers.errors import InvalidDomain
from cloudenv.machines import Resources, check_resources

__all__ = [
    "BOOT_DEVICES",
    "DEFAULT_EMULATOR",
    "build_domain",
    "disk_element",
    "domain_xml",
    "interface_element",
    "snapshot_element",
]

DEFAULT_EMULATOR = "/usr/bin/qemu-system-x86_64"
BOOT_DEVICES = frozenset({"hd", "cdrom", "network", "fd"})
DISK_DEVICES = frozenset({"disk", "cdrom"})
NIC_MODELS = frozenset({"virtio", "e1000"})
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


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
    kind, source = _disk_source(disk)
    return Disk(
        type=kind,
        device=disk.device,
        # ISO images are raw whatever the caller's default format says.
        driver=DiskDriver(name="qemu", type="raw" if cdrom else disk.format.value),
        source=source,
        target=DiskTarget(dev=disk.target, bus=disk.bus.value),
        serial=disk.serial,
        readonly=disk.readonly or cdrom,
        boot_order=disk.boot_order,
    )


def interface_element(nic: InterfaceSpec, *, owner: str = "") -> Interface:
    """The ``<interface>`` for ``nic``, in a definition or for hot-plug."""
    what = f"{owner + ': ' if owner else ''}NIC {nic.mac}"
    if MAC.fullmatch(nic.mac) is None:
        raise InvalidDomain(f"{what}: the MAC must be six lower-case hex pairs (52:54:00:..).")
    if nic.model not in NIC_MODELS:
        raise InvalidDomain(f"{what}: model {nic.model!r} is not one of virtio, e1000.")
    if not nic.bridge:
        raise InvalidDomain(f"{what}: no vSwitch (bridge) given.")
    return Interface(
        mac=nic.mac,
        bridge=nic.bridge,
        virtualport="openvswitch",
        vlan=vlan_element(nic.vlan),
        model=nic.model,
    )


def vlan_element(vlan: PortVlan) -> Vlan | None:
    """A port group's VLAN as libvirt writes it onto the OVS port (none when untagged)."""
    if vlan.mode is VlanMode.UNTAGGED:
        return None
    if vlan.mode is VlanMode.ACCESS:
        if vlan.tag is None:
            raise InvalidDomain("An access port group needs a VLAN ID.")
        return Vlan(tags=(VlanTag(id=vlan.tag),))
    ids = sorted(set(vlan.trunks) | ({vlan.tag} if vlan.tag is not None else set()))
    if not ids:
        # A trunk of every VLAN: an OVS port with no VLAN columns is just that.
        return None
    tags = tuple(VlanTag(id=i, native_mode="untagged" if i == vlan.tag else None) for i in ids)
    return Vlan(tags=tags, trunk=True)


def _disk_source(disk: DiskSpec) -> tuple[str, DiskSource | None]:
    """The ``<disk type=>`` and ``<source>``: a pool's volume by name (libvirt resolves it;
    no ``mode=``, which libvirt allows only for kernel-iSCSI pools), a network image with
    the name of the secret holding its key, a device under /dev, or a file (no path: an
    empty CD-ROM drive)."""
    if isinstance(disk.source, VolumeSource):
        return "volume", DiskSource(pool=disk.source.pool, volume=disk.source.volume)
    if isinstance(disk.source, NetworkSource):
        network = disk.source
        auth = None
        if network.username is not None:
            auth = DiskAuth(
                username=network.username,
                secret_type=network.secret_type or "",
                secret_usage=network.secret_usage,
            )
        hosts = tuple(DiskSourceHost(name=h.name, port=h.port) for h in network.hosts)
        source = DiskSource(protocol=network.protocol, name=network.name, hosts=hosts, auth=auth)
        return "network", source
    if not disk.path:
        return "file", None
    if disk.path.startswith("/dev/"):
        return "block", DiskSource(dev=disk.path)
    return "file", DiskSource(file=disk.path)


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
        interfaces=tuple(
            interface_element(nic, owner=f"Instance {spec.name}") for nic in spec.interfaces
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
