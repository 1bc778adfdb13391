"""The compute driver interface: what the agent may ask of a hypervisor.

Every verb is idempotent where it can be (defining an existing domain redefines it,
destroying a stopped one does nothing), so a reconcile pass repeated after a crash
converges. Domains are named by the instance ID, so the name alone finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

# An interface's VLAN is a port group's, in the network driver's terms.
from cloudenv.drivers.network.base import PortVlan as PortVlan
from cloudenv.drivers.network.base import VlanMode as VlanMode

# Re-exported (the "as" form): drivers and their callers take the disk enums, the machine
# types and the instance configuration from here.
from cloudenv.enums import DiskBus as DiskBus
from cloudenv.enums import DiskFormat as DiskFormat
from cloudenv.instance_config import QemuConfig as QemuConfig
from cloudenv.machines import Firmware as Firmware
from cloudenv.machines import MachineType as MachineType


class Accelerator(StrEnum):
    """How guests run: hardware KVM, or QEMU's software emulation (TCG)."""

    KVM = "kvm"
    TCG = "tcg"


class PowerState(StrEnum):
    """What the hypervisor reports, reduced to what the platform acts on."""

    RUNNING = "running"
    STOPPED = "stopped"  # defined, not running (shut off, crashed and cleaned up)
    PAUSED = "paused"
    SHUTTING_DOWN = "shutting_down"


@dataclass(frozen=True)
class VolumeSource:
    """A volume of a storage pool defined on this node, named as the storage driver names
    it (``<disk type='volume'>``): libvirt resolves it when the guest starts or the disk is
    hot-plugged (a logical volume's device, an iSCSI LUN reached by QEMU's own initiator)."""

    pool: str  # the pool's name on the node: its ID
    volume: str  # the volume's name in the pool (a LUN: libvirt's "unit:0:0:1")


@dataclass(frozen=True)
class NetworkHost:
    name: str
    port: int | None = None


@dataclass(frozen=True, kw_only=True)
class NetworkSource:
    """A disk QEMU reaches over the network itself (``<disk type='network'>``), for pools
    whose volumes libvirt can't hand to a guest by name (RBD). The key stays in the libvirt
    secret ``secret_usage`` (of type ``secret_type``); only its name is written here."""

    protocol: str  # "rbd"
    name: str  # "<ceph pool>/<image>"
    hosts: tuple[NetworkHost, ...]
    username: str | None = None
    secret_type: str | None = None  # "ceph"
    secret_usage: str | None = None


@dataclass(frozen=True, kw_only=True)
class DiskSpec:
    """A disk or CD-ROM as the guest sees it.

    ``path`` is the file (or block device, under /dev) on the node, unless ``source`` says
    the data is a pool's volume or a network image (``drivers.storage.base.disk_source``
    decides which, from the pool's type); ``serial`` lets tests and guests find the disk
    whatever name the guest kernel gives it.
    """

    path: str
    source: VolumeSource | NetworkSource | None = None
    target: str  # "vda", "sdb", "hdc": libvirt's target dev (a hint to the guest)
    bus: DiskBus
    format: DiskFormat = DiskFormat.QCOW2
    device: str = "disk"  # "disk" or "cdrom"
    readonly: bool = False
    serial: str | None = None
    boot_order: int | None = None


@dataclass(frozen=True, kw_only=True)
class InterfaceSpec:
    """A guest NIC on an Open vSwitch bridge (a vSwitch), with its port group's VLAN.

    libvirt joins the guest's tap to ``bridge`` and sets ``vlan`` on the port when the
    guest starts; the MAC is how the network driver finds that port again."""

    mac: str  # "52:54:00:..." (lower case)
    bridge: str  # the vSwitch's name, which is its bridge's
    vlan: PortVlan
    model: str = "virtio"  # "virtio" | "e1000"


@dataclass(frozen=True)
class DirectKernelBoot:
    kernel: str
    initrd: str | None = None
    cmdline: str = ""


@dataclass(frozen=True, kw_only=True)
class IdMapping:
    """An unprivileged container's user namespace: IDs 0..count-1 inside are
    ``uid``.. and ``gid``.. on the host (a range of root's in /etc/subuid, /etc/subgid)."""

    uid: int
    gid: int
    count: int = 65536


class MountKind(StrEnum):
    """What a container's volume is on the node."""

    DIRECTORY = "directory"  # a directory volume: bind-mounted as it is
    FILESYSTEM = "filesystem"  # a raw file or block device holding a filesystem


@dataclass(frozen=True, kw_only=True)
class MountSpec:
    """A volume mounted at ``target``, a path inside the container: a directory
    bind-mounted, or a filesystem volume the node mounts while the container runs."""

    source: str
    target: str
    readonly: bool = False
    kind: MountKind = MountKind.DIRECTORY


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    """What makes a domain a container: its root filesystem (a directory on the node,
    unpacked from an image with the owners ``idmap`` shifts), the program it starts as
    PID 1, and its mount points. ``idmap`` None: privileged (root inside is root)."""

    rootfs: str
    #: A directory, or a filesystem volume mounted on the node while the container runs.
    rootfs_kind: MountKind = MountKind.DIRECTORY
    init: str = "/sbin/init"
    idmap: IdMapping | None = None
    mounts: tuple[MountSpec, ...] = ()
    #: Written to its /etc/hostname (libvirt names the running container after the domain;
    #: the distribution's init sets this one). None: left as the image has it.
    hostname: str | None = None


@dataclass(frozen=True, kw_only=True)
class DomainSpec:
    """Everything needed to define a VM or a container. Built by the agent from an
    instance's rows.

    ``config`` is the instance's stored configuration (machine type, firmware, CPU model);
    ``kernel_boot`` is its direct kernel boot resolved to files on this node. ``container``
    is set for a container (then disks, kernel boot, VNC and config are not used)."""

    name: str  # the instance ID
    uuid: str
    title: str  # the instance's display name
    vcpus_sockets: int
    vcpus_cores: int
    vcpus_threads: int
    memory_mb: int
    accelerator: Accelerator
    config: QemuConfig  # always given: its defaults are the instance row's, not ours
    disks: tuple[DiskSpec, ...] = ()
    interfaces: tuple[InterfaceSpec, ...] = ()
    kernel_boot: DirectKernelBoot | None = None
    boot_devices: tuple[str, ...] = ("hd",)  # "hd", "cdrom", "network" (when no boot_order)
    vnc: bool = True
    serial_log: str | None = None  # file that keeps the whole serial output
    metadata: dict[str, str] = field(default_factory=dict)
    container: ContainerSpec | None = None

    @property
    def vcpus(self) -> int:
        return self.vcpus_sockets * self.vcpus_cores * self.vcpus_threads


@dataclass(frozen=True, kw_only=True, slots=True)
class DomainStats:
    """A running domain's counters: cumulative since it started, except memory."""

    cpu_time_ns: int
    vcpus: int
    memory_kib: int
    memory_used_kib: int | None  # as the guest reports it (balloon), else QEMU's RSS; None
    interfaces: dict[str, tuple[int, int]]  # name -> (rx bytes, tx bytes)
    disk_read_bytes: int = 0  # all its disks together
    disk_write_bytes: int = 0


@dataclass(frozen=True, kw_only=True)
class SnapshotInfo:
    name: str
    description: str
    created: int  # Unix seconds
    state: str  # the domain's state when taken ("running", "shutoff")
    current: bool


@dataclass(frozen=True)
class VncEndpoint:
    """A running guest's VNC display: a unix socket only root and QEMU's user reach."""

    socket: str


class ConsoleStream(Protocol):
    """A byte stream to a guest's serial console. ``recv`` blocks; b"" means closed."""

    def recv(self, max_bytes: int = 4096) -> bytes: ...
    def send(self, data: bytes) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class CpuModel:
    name: str
    vendor: str
    usable: bool


@dataclass(frozen=True)
class MachineCapability:
    name: str
    max_vcpus: int


@dataclass(frozen=True, kw_only=True)
class ArchCapabilities:
    """One architecture's guest capabilities, as ``GET /v1/nodes/{id}/capabilities`` shows."""

    arch: str
    wordsize: int
    emulator: str
    kvm_supported: bool  # hardware KVM that can boot real guests (not merely /dev/kvm)
    accelerator: Accelerator  # what this node will use
    accelerator_reason: str
    firmware: dict[str, list[str]]  # "bios": [...], "efi": [loader paths]
    cpu_models: tuple[CpuModel, ...]
    default_machine: str
    machines: tuple[MachineCapability, ...]
    features: dict[str, bool]


LifecycleCallback = Callable[[str, PowerState], None]
"""Called with (domain name, new state) when a domain changes state on its own."""


class ComputeDriver(Protocol):
    """A hypervisor on this node."""

    def capabilities(self) -> dict[str, ArchCapabilities]:
        """Guest capabilities per architecture (read once; cheap to call again)."""
        ...

    def define(self, spec: DomainSpec) -> None:
        """Make the persistent domain match ``spec`` (create or replace; not started).
        On failure nothing new is left defined."""
        ...

    def undefine(self, name: str) -> None:
        """Forget a stopped domain, with its UEFI variables and snapshots' metadata.
        Missing: no error. Running: Conflict."""
        ...

    def start(self, name: str) -> None:
        """Power on. Already running: no error."""
        ...

    def release(self, name: str) -> None:
        """Let go of what the node holds for a domain that stopped (a container's
        filesystem volumes mounted on the node). Running or missing: nothing."""
        ...

    def shutdown(self, name: str) -> None:
        """Ask the guest to power off (ACPI); returns at once. Not running: no error."""
        ...

    def destroy(self, name: str) -> None:
        """Power off now, like pulling the plug. Not running: no error."""
        ...

    def reboot(self, name: str) -> None:
        """Reset the running guest (hard reset: works without guest cooperation)."""
        ...

    def state(self, name: str) -> PowerState | None:
        """The domain's state, or None when no such domain is defined."""
        ...

    def list_domains(self) -> dict[str, PowerState]:
        """Every domain this node's hypervisor knows, by name."""
        ...

    def stats(self, name: str) -> DomainStats: ...

    def bulk_stats(self) -> dict[str, DomainStats]:
        """Every running domain's stats by name, in ONE call to the hypervisor (libvirt's
        bulk stats), so a sampling pass costs the same call whatever the number of
        guests. A domain that stops meanwhile is simply absent."""
        ...

    def attach_disk(self, name: str, disk: DiskSpec, *, live: bool) -> None:
        """Add a disk to the persistent definition, and to the running guest if ``live``."""
        ...

    def detach_disk(self, name: str, target: str, *, live: bool) -> None: ...

    def attach_interface(self, name: str, nic: InterfaceSpec, *, live: bool) -> None:
        """Add a NIC to the persistent definition, and to the running guest if ``live``."""
        ...

    def detach_interface(self, name: str, mac: str, *, live: bool) -> None:
        """Remove the NIC with this MAC (live: once the guest has let go). Missing: no
        error."""
        ...

    def resize_disk(self, name: str, target: str, capacity_bytes: int) -> None:
        """Grow disk ``target`` (``vdb``) of the running guest to ``capacity_bytes``, live:
        QEMU grows the file or RBD image itself (a logical volume or zvol must have been
        grown first) and the guest sees the new size at once. Never shrinks (InvalidInput);
        not running or no such disk: DriverError, nothing changed."""
        ...

    def snapshot_create(self, name: str, snapshot: str, description: str) -> None: ...
    def snapshot_list(self, name: str) -> list[SnapshotInfo]: ...
    def snapshot_revert(self, name: str, snapshot: str) -> None: ...
    def snapshot_delete(self, name: str, snapshot: str) -> None: ...

    def vnc_endpoint(self, name: str) -> VncEndpoint | None:
        """Where the running guest's VNC display listens (a unix socket), if it has one."""
        ...

    def open_serial_console(self, name: str) -> ConsoleStream:
        """A new stream to the guest's first serial port, on its own connection (a blocking
        read on a shared connection stalls every other call)."""
        ...

    def serial_history(self, name: str, max_bytes: int) -> bytes:
        """The last ``max_bytes`` the guest wrote to its serial port since it started (its
        serial log), so a console opened after boot still shows the boot. b"" if none."""
        ...

    def watch_lifecycle(self, callback: LifecycleCallback) -> None:
        """Call ``callback`` from a background thread whenever a domain changes state."""
        ...

    def close(self) -> None: ...
