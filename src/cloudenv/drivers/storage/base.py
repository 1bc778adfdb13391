"""The storage driver interface: pools on this node and the volumes inside them.

Pools are named by their ID; volumes by a file name the platform chooses
(``<volume id>.qcow2``), so nothing depends on what a user called them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.errors import InvalidInput
from cloudenv.enums import PoolType as PoolType  # re-exported for drivers

#: A volume is one file named after it; this is what one file name may take, in bytes.
NAME_MAX_BYTES = 255


@dataclass(frozen=True)
class PoolSpec:
    name: str  # the pool ID
    type: PoolType
    path: str  # target path (directory pools)


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

    def volume_info(self, pool: str, name: str) -> VolumeInfo | None: ...

    def list_volumes(self, pool: str) -> list[VolumeInfo]: ...

    def resize_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo: ...

    def delete_volume(self, pool: str, name: str) -> None:
        """Delete the volume's data. Missing: no error."""
        ...
