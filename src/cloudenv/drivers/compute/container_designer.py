"""The decisions for containers: what libvirt LXC domain a ``DomainSpec`` with a
``container`` part becomes (the VM counterpart is ``designer``).

Rules learnt on real hosts (RUNTIME.md §6a), written once here:

- ``<os><type>exe</type><init>`` runs the image's init as the container's PID 1.
- ``<features><privnet/>`` always: without it a container with no ``<interface>`` shares
  the HOST's network namespace (its NICs, addresses and routes).
- The root filesystem is a ``<filesystem type='mount'>`` of the unpacked directory at
  ``/``; each mount point another one at its path inside. Filesystem volumes are never
  ``type='file'``/``'block'``: libvirt would mount them inside the user namespace, which
  the kernel refuses; the node mounts them (``container_mounts``) and they come here as
  directories.
- Memory: ``<memory>`` and ``<memtune><hard_limit>`` at the same size. The hard limit is
  the cgroup limit the OOM killer enforces inside (``<memory>`` alone is only what libvirt's
  /proc/meminfo shows).
- CPUs: ``<vcpu>`` is what the container's /proc shows; ``<cputune>`` caps it for real
  (CFS quota of N CPUs per 100 ms period, and shares in proportion).
- Unprivileged (``idmap`` set): ``<idmap>`` maps root and the first 65536 IDs inside to the
  node's subordinate range the root filesystem was unpacked with.
- NICs are the VMs' ``<interface type='bridge'>`` on the OVS bridge with the port group's
  VLAN (``designer.interface_element``): libvirt makes a veth whose host end joins OVS.
- One ``<console type='pty'/>`` (the container's /dev/console), which ``openConsole`` streams.
- ``on_reboot`` restart and ``on_poweroff``/``on_crash`` destroy, as for VMs.

Must not talk to libvirt; invalid specs raise ``InvalidDomain`` saying what to change.
"""

from __future__ import annotations

import posixpath

from cloudenv.drivers.compute.base import ContainerSpec, DomainSpec, MountKind, MountSpec
from cloudenv.drivers.compute.designer import interface_element
from cloudenv.drivers.compute.libvirt_xml import (
    OS,
    VCPU,
    Console,
    CpuTune,
    Devices,
    Domain,
    Emulator,
    Features,
    Filesystem,
    IdMap,
    IdRange,
    InstanceMetadata,
    Lifecycle,
    Memory,
    MemTune,
    OSType,
)
from cloudenv.drivers.errors import InvalidDomain

__all__ = ["CFS_PERIOD_US", "LXC_EMULATOR", "build_container", "container_xml", "mount_element"]

LXC_EMULATOR = "/usr/lib/libvirt/libvirt_lxc"
#: The CFS period of ``<cputune>``: N vCPUs get N x this much CPU time per period.
CFS_PERIOD_US = 100_000
#: cgroup v1 cpu.shares of one CPU (the kernel's default for a group).
SHARES_PER_CPU = 1024
MIN_MEMORY_MB = 16


def build_container(spec: DomainSpec, *, emulator: str = LXC_EMULATOR) -> Domain:
    """The ``<domain type='lxc'>`` for ``spec``; InvalidDomain when it can't work."""
    container = spec.container
    what = f"Container {spec.name}"
    if container is None:
        raise InvalidDomain(f"{what}: the spec has no container part (root filesystem, init).")
    _check(spec, container, what)
    return Domain(
        type="lxc",
        name=spec.name,
        uuid=spec.uuid,
        title=spec.title,
        metadata=InstanceMetadata.from_dict(spec.metadata),
        memory=Memory(value=spec.memory_mb, unit="MiB"),
        memtune=MemTune(hard_limit_kib=spec.memory_mb * 1024),
        vcpu=VCPU(count=spec.vcpus),
        cputune=CpuTune(
            shares=SHARES_PER_CPU * spec.vcpus,
            period=CFS_PERIOD_US,
            quota=CFS_PERIOD_US * spec.vcpus,
        ),
        os=OS(type=OSType(value="exe"), init=container.init),
        idmap=_idmap(container),
        features=Features(privnet=True),
        lifecycle=Lifecycle(on_poweroff="destroy", on_reboot="restart", on_crash="destroy"),
        devices=Devices(
            emulator=Emulator(path=emulator),
            filesystems=(
                Filesystem(source=container.rootfs, target="/"),
                *(mount_element(m, owner=what) for m in container.mounts),
            ),
            interfaces=tuple(interface_element(nic, owner=what) for nic in spec.interfaces),
            consoles=(Console(type="pty"),),
        ),
    )


def container_xml(spec: DomainSpec, *, emulator: str = LXC_EMULATOR) -> str:
    """``build_container`` as the XML text ``defineXML`` takes."""
    return build_container(spec, emulator=emulator).to_xml(pretty=True)


def mount_element(mount: MountSpec, *, owner: str = "") -> Filesystem:
    """The ``<filesystem>`` that bind-mounts ``mount.source`` at ``mount.target``."""
    what = f"{owner + ': ' if owner else ''}mount point {mount.target!r}"
    _check_target(mount.target, what)
    _check_directory(mount, what)
    if not posixpath.isabs(mount.source):
        raise InvalidDomain(f"{what}: the source {mount.source!r} is not an absolute path.")
    return Filesystem(source=mount.source, target=mount.target, readonly=mount.readonly)


def _check(spec: DomainSpec, container: ContainerSpec, what: str) -> None:
    if spec.memory_mb < MIN_MEMORY_MB:
        raise InvalidDomain(f"{what}: memory must be at least {MIN_MEMORY_MB} MB.")
    if spec.vcpus < 1:
        raise InvalidDomain(f"{what}: it needs at least one CPU.")
    if "\n" in spec.title:
        raise InvalidDomain(f"{what}: the title must be a single line.")
    if not posixpath.isabs(container.rootfs) or container.rootfs == "/":
        raise InvalidDomain(
            f"{what}: the root filesystem {container.rootfs!r} must be an absolute path of "
            "its own directory, not the host's /."
        )
    _check_directory(
        MountSpec(source=container.rootfs, target="/", kind=container.rootfs_kind),
        f"{what}: the root filesystem",
    )
    if not posixpath.isabs(container.init) or "\x00" in container.init:
        raise InvalidDomain(
            f"{what}: init {container.init!r} must be an absolute path inside the container "
            "(e.g. /sbin/init)."
        )
    targets = [m.target for m in container.mounts]
    if len(set(targets)) != len(targets):
        raise InvalidDomain(f"{what}: two mount points share a path; give each its own.")
    if container.idmap is not None and container.idmap.count < 1:
        raise InvalidDomain(f"{what}: the ID map must map at least one ID.")


def _check_directory(mount: MountSpec, what: str) -> None:
    """libvirt gets directories only: a filesystem volume is mounted by the node first
    (``container_mounts.HostMounts.plan`` turns it into its mount directory)."""
    if mount.kind is not MountKind.DIRECTORY:
        raise InvalidDomain(
            f"{what}: {mount.source} is a filesystem volume; the node mounts it and libvirt "
            "gets the directory (plan the spec with HostMounts first)."
        )


def _check_target(target: str, what: str) -> None:
    normal = posixpath.normpath(target) if target else ""
    if not target.startswith("/") or normal != target or target == "/" or "\x00" in target:
        raise InvalidDomain(
            f"{what}: the path inside the container must be absolute and normalised, and "
            "not / itself (e.g. /mnt/data)."
        )


def _idmap(container: ContainerSpec) -> IdMap | None:
    mapping = container.idmap
    if mapping is None:
        return None
    return IdMap(
        uids=(IdRange(kind="uid", start=0, target=mapping.uid, count=mapping.count),),
        gids=(IdRange(kind="gid", start=0, target=mapping.gid, count=mapping.count),),
    )
