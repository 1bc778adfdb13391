"""The storage driver interface: pools on this node and the volumes inside them.

Pools are named by their ID; volumes by a file name the platform chooses
(``<volume id>.qcow2``), so nothing depends on what a user called them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cloudenv.drivers.compute.base import DiskFormat, NetworkHost, NetworkSource, VolumeSource
from cloudenv.drivers.errors import InvalidInput
from cloudenv.enums import PoolType as PoolType  # re-exported for drivers

#: A volume is one file named after it; this is what one file name may take, in bytes.
NAME_MAX_BYTES = 255


@dataclass(frozen=True)
class PoolSpec:
    """A pool as the node must define it.

    ``config`` holds the type's settings as ``services.storage.pool_config`` checked and
    stored them (the keys are listed there); ``secrets`` the write-only ones (a CHAP or
    CIFS password, a Ceph key), which the driver gives libvirt as a secret and never
    writes into the pool's XML or a log.
    """

    name: str  # the pool ID
    type: PoolType
    path: str = ""  # target path (directory and netfs pools: where files live)
    config: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    secrets: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class PoolUsage:
    capacity_bytes: int
    allocation_bytes: int
    available_bytes: int
    active: bool


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    path: str
    capacity_bytes: int
    allocation_bytes: int
    format: DiskFormat


def check_volume_name(name: str) -> None:
    """Every driver's rule for a volume's file name: plain (no slash, NUL or leading dot,
    which would leave the pool or hide the file) and at most NAME_MAX_BYTES of UTF-8,
    refused as InvalidInput before anything is written (not ENAMETOOLONG halfway)."""
    if not name or name.startswith(".") or "/" in name or "\x00" in name:
        raise InvalidInput(
            f"Volume name {name!r} is not a plain file name; use letters, digits, '-', "
            "'_' and '.' without a leading dot or a slash.",
            field="name",
        )
    if len(name.encode()) > NAME_MAX_BYTES:
        raise InvalidInput(
            f"Volume name {name[:40]!r}... is {len(name.encode())} bytes long; a file name "
            f"takes at most {NAME_MAX_BYTES} bytes, so choose a shorter name.",
            field="name",
        )


#: Pool types whose volumes are files in a directory on the node (a guest's disk is the file).
FILE_POOL_TYPES = frozenset({PoolType.DIRECTORY, PoolType.NETFS})
#: Pool types whose volumes are block devices of the node (a logical volume, a zvol).
DEVICE_POOL_TYPES = frozenset({PoolType.LVM, PoolType.ZFS})
#: Pool types whose volumes can hold a container's filesystem: a file or a device the node
#: mounts (an RBD image or an iSCSI LUN reached by QEMU itself is neither).
FILESYSTEM_POOL_TYPES = FILE_POOL_TYPES | DEVICE_POOL_TYPES
#: Pool types whose volumes are a target's LUNs: listed, never created, resized or deleted.
LUN_POOL_TYPES = frozenset({PoolType.ISCSI})

DEFAULT_PORTS = {PoolType.ISCSI: 3260, PoolType.RBD: 6789}


def secret_usage_id(pool: str) -> str:
    """The usage id of the libvirt secret that holds a pool's CHAP password or Ceph key:
    how the pool's ``<auth>`` and an RBD disk's ``<auth>`` find it."""
    return f"cloudenv-pool-{pool}"


def split_host_port(value: str, default_port: int | None = None) -> tuple[str, int | None]:
    """``"host[:port]"`` (``"[v6]:port"`` for IPv6) as (host, port); no port: the default."""
    host, port = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, port = value.split(":")
    if port and not port.isdigit():
        raise InvalidInput(f"{value!r} is not host[:port]; the port must be a number.")
    return host, int(port) if port else default_port


def disk_source(
    pool_type: PoolType, pool: str, config: Mapping[str, Any], volume: str, *, keyed: bool = True
) -> str | VolumeSource | NetworkSource:
    """How a guest's disk reaches ``volume`` (its name in the pool: ``Volume.file_name``,
    a LUN's libvirt name) of pool ``pool`` (the pool's ID) — the ONE place that decides it.

    Decided by the pool's type, not by the path a driver reported, because a deploy plans
    its disks before their volumes exist:

    - directory and netfs: the file, ``<config path>/<volume>`` (a str);
    - iscsi, lvm, zfs: ``VolumeSource(pool, volume)``, which libvirt resolves when the guest
      starts (a LUN through QEMU's initiator, a logical volume's or zvol's device);
    - rbd: ``NetworkSource`` ``rbd`` ``<ceph pool>/<volume>`` on the monitors, logged in as
      the pool's user with the pool's secret when the pool has a key (``keyed``: its
      ``secrets`` hold one; libvirt can't resolve rbd volumes by name).
    """
    if pool_type in FILE_POOL_TYPES:
        return os.path.join(str(config.get("path", "")), volume)
    if pool_type is PoolType.RBD:
        monitors = [split_host_port(str(m), None) for m in config.get("monitors", [])]
        user = config.get("user") if keyed else None
        return NetworkSource(
            protocol="rbd",
            name=f"{config.get('pool', '')}/{volume}",
            hosts=tuple(NetworkHost(host, port) for host, port in monitors),
            username=str(user) if user else None,
            secret_type="ceph" if user else None,
            secret_usage=secret_usage_id(pool) if user else None,
        )
    return VolumeSource(pool=pool, volume=volume)


ProgressCallback = Callable[[int, int], None]
"""Called with (bytes done, bytes total) during long copies."""


class StorageDriver(Protocol):
    def ensure_pool(self, spec: PoolSpec) -> PoolUsage:
        """Define, build and start the pool (autostart on), unless it already runs."""
        ...

    def pool_usage(self, pool: str) -> PoolUsage: ...

    def remove_pool(self, pool: str) -> None:
        """Stop and undefine the pool; its directory and files stay."""
        ...

    def create_volume(
        self, pool: str, name: str, capacity_bytes: int, fmt: DiskFormat
    ) -> VolumeInfo:
        """A new empty volume. Exists already: Conflict."""
        ...

    def clone_volume(
        self,
        pool: str,
        name: str,
        source_path: str,
        fmt: DiskFormat,
        capacity_bytes: int | None,
        progress: ProgressCallback | None = None,
    ) -> VolumeInfo:
        """A new volume holding a copy of ``source_path`` (an image), converted to ``fmt``
        and grown to ``capacity_bytes`` when given."""
        ...

    def upload_volume(
        self,
        pool: str,
        name: str,
        chunks: Iterable[bytes],
        size: int,
        fmt: DiskFormat,
        progress: ProgressCallback | None = None,
    ) -> VolumeInfo:
        """A new volume filled from a byte stream of exactly ``size`` bytes (images)."""
        ...

    def create_rootfs(
        self,
        pool: str,
        name: str,
        tarball: str,
        *,
        uid_offset: int,
        gid_offset: int,
        capacity_bytes: int | None = None,
    ) -> VolumeInfo:
        """A new volume holding the normalised rootfs ``tarball`` (an image's file)
        unpacked, its owners shifted by the offsets (an unprivileged container's ID map).
        ``capacity_bytes`` None: a directory volume (directory and netfs pools only). Else
        a raw volume of that size holding an ext4 filesystem with the files
        (``drivers.storage.filesystems``): a file in directory and netfs pools, a block
        device in logical and zfs pools; pools whose volumes are no file or device of
        this node (rbd, iSCSI): Unsupported. On failure nothing of it is left. Name
        taken: Conflict."""
        ...

    def format_for_mount(self, path: str, *, uid: int, gid: int) -> bool:
        """Make the raw volume at ``path`` (its file or device) an empty ext4 filesystem
        owned by ``uid``:``gid`` if it is blank, to be a container's mount point; True if
        it was formatted, False if it already held a filesystem. Other data:
        Unsupported."""
        ...

    def volume_info(self, pool: str, name: str) -> VolumeInfo | None: ...

    def list_volumes(self, pool: str) -> list[VolumeInfo]: ...

    def resize_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo: ...

    def delete_volume(self, pool: str, name: str) -> None:
        """Delete the volume's data (a directory volume with everything in it). Missing:
        no error."""
        ...
