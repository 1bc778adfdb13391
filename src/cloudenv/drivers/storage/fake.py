"""An in-memory StorageDriver for unit tests: same semantics as the libvirt driver, no
filesystem, no libvirt.

Pools and volumes live in dictionaries; every call is appended to ``calls`` as a
tuple of strings so tests can assert what the agent asked for. Like a directory pool,
volumes belong to the pool's *path*: removing a pool keeps them, ensuring a pool at the
same path shows them again; a pool without a path (block pools: LVM, ZFS, RBD, iSCSI) keeps
them under ``<type>:<pool id>``. Images to clone from are registered with ``add_image``;
an iSCSI target's LUNs with ``add_lun``; ``fail_next`` makes the next call of a verb raise a
given error (a failing component); ``lacking`` names pool types whose backend this pretend
node lacks, with the message a real node would give (e.g. ``{PoolType.LVM: "volume group
vg0 not found"}``): ensuring such a pool that is not defined yet raises Unsupported. A CIFS
pool's credentials file is kept in ``credential_files`` (path -> content) while the pool is
defined, as the libvirt driver writes it.

The per-type rules are the libvirt driver's own (``pool_design``): the same settings are
refused, an iSCSI pool's volumes can't be created, resized or deleted (nor images copied
or uploaded into them), pools other than directory and netfs take raw volumes only (an
image copied into one is written as raw; an upload must be raw).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, replace

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.errors import CloudenvError, Conflict, InvalidInput, NotFound, Unsupported
from cloudenv.drivers.storage.base import (
    FILE_POOL_TYPES,
    FILESYSTEM_POOL_TYPES,
    LUN_POOL_TYPES,
    PoolSpec,
    PoolType,
    PoolUsage,
    ProgressCallback,
    VolumeInfo,
    check_volume_name,
)
from cloudenv.drivers.storage.libvirt_xml import (
    IscsiDirectPool,
    LogicalPool,
    RbdPool,
    ZfsPool,
)
from cloudenv.drivers.storage.pool_design import (
    CREDENTIALS_DIR,
    PoolDesign,
    describe,
    design_pool,
    same_definition,
)

FAKE_INITIATOR = "iqn.2026-12.org.cloudenv:fake-node"

_MAGIC = {b"QFI\xfb": DiskFormat.QCOW2, b"KDMV": DiskFormat.VMDK}


@dataclass(frozen=True)
class FakeImage:
    """An image file the fake pretends exists on the node."""

    virtual_size: int
    format: DiskFormat = DiskFormat.RAW


class FakeStorageDriver:
    """StorageDriver kept in memory. ``capacity_bytes`` is every pool's filesystem size."""

    def __init__(
        self,
        capacity_bytes: int = 100 * 1024**3,
        lacking: dict[PoolType, str] | None = None,
        credentials_dir: str = CREDENTIALS_DIR,
    ) -> None:
        self.capacity_bytes = capacity_bytes
        self.lacking = dict(lacking or {})
        self.credentials_dir = credentials_dir
        self.credential_files: dict[str, str] = {}  # path -> content
        self.calls: list[tuple[str, ...]] = []
        self.pools: dict[str, PoolSpec] = {}
        self.designs: dict[str, PoolDesign] = {}
        self.files: dict[str, dict[str, VolumeInfo]] = {}  # pool path -> name -> volume
        self.images: dict[str, FakeImage] = {}
        self.formatted: set[str] = set()  # volumes format_for_mount made a filesystem
        self._failures: dict[str, CloudenvError] = {}

    # -- test helpers ----------------------------------------------------------------

    def add_image(self, path: str, virtual_size: int, fmt: DiskFormat = DiskFormat.RAW) -> None:
        """Pretend an image file exists at ``path`` (a clone source)."""
        self.images[path] = FakeImage(virtual_size, fmt)

    def fail_next(self, verb: str, error: CloudenvError) -> None:
        """The next call of ``verb`` (e.g. "clone_volume") raises ``error``, changing nothing."""
        self._failures[verb] = error

    def _record(self, verb: str, *args: object) -> None:
        self.calls.append((verb, *(str(a) for a in args)))
        failure = self._failures.pop(verb, None)
        if failure is not None:
            raise failure

    # -- pools -----------------------------------------------------------------------

    def ensure_pool(self, spec: PoolSpec) -> PoolUsage:
        """Post-condition: the pool exists (running). Settings the libvirt driver refuses:
        the same refusal; defined otherwise: Conflict; not defined yet and its type
        ``lacking``: Unsupported."""
        self._record("ensure_pool", spec.name, spec.type.name, spec.path)
        design = design_pool(
            spec,
            iscsi_direct=True,
            initiator=FAKE_INITIATOR,
            credentials_dir=self.credentials_dir,
        )
        have = self.designs.get(spec.name)
        if have is not None:
            if not same_definition(have.pool, design.pool):
                raise Conflict(
                    f"Storage pool {spec.name} already exists {describe(have.pool)} (type "
                    f"{have.libvirt_type}), not as the {design.libvirt_type} pool "
                    f"{describe(design.pool)}; remove it first or choose another pool."
                )
            self._write_credentials(design)
            return self._usage(spec.name)
        if spec.type in self.lacking:
            raise Unsupported(f"Storage pool {spec.name}: {self.lacking[spec.type]}")
        self._write_credentials(design)
        path = (
            posixpath.normpath(spec.path) if spec.path else f"{spec.type.name.lower()}:{spec.name}"
        )
        self.pools[spec.name] = replace(spec, path=path)
        self.designs[spec.name] = design
        self.files.setdefault(path, {})
        return self._usage(spec.name)

    def add_lun(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Pretend the iSCSI target of ``pool`` has a LUN ``name`` (e.g. "unit:0:0:1"); one
        of 0 bytes is a controller, which ``list_volumes`` leaves out as libvirt's does."""
        design = self.designs[pool]
        assert isinstance(design.pool, IscsiDirectPool)
        host = design.pool.hosts[0]
        lun = name.rsplit(":", 1)[-1]
        path = f"ip-{host.name}:{host.port}-iscsi-{design.pool.target}-lun-{lun}"
        info = VolumeInfo(name, path, capacity_bytes, capacity_bytes, DiskFormat.RAW)
        return self._add(pool, info)

    def _volumes(self, pool: str) -> dict[str, VolumeInfo]:
        spec = self.pools.get(pool)
        if spec is None:
            raise NotFound(f"Storage pool {pool} is not defined on this node; ensure it first.")
        return self.files[spec.path]

    def _usage(self, pool: str) -> PoolUsage:
        used = sum(v.allocation_bytes for v in self._volumes(pool).values())
        return PoolUsage(self.capacity_bytes, used, self.capacity_bytes - used, True)

    def pool_usage(self, pool: str) -> PoolUsage:
        self._record("pool_usage", pool)
        return self._usage(pool)

    def remove_pool(self, pool: str) -> None:
        """Post-condition: no such pool; its volumes stay with its path. Missing: fine."""
        self._record("remove_pool", pool)
        self.pools.pop(pool, None)
        design = self.designs.pop(pool, None)
        if design is not None and design.credentials is not None:
            self.credential_files.pop(design.credentials.path, None)

    def _write_credentials(self, design: PoolDesign) -> None:
        """The pool's credentials file, (re)written as the libvirt driver writes it."""
        if design.credentials is not None:
            self.credential_files[design.credentials.path] = design.credentials.content

    # -- volumes ---------------------------------------------------------------------

    def _writable(self, pool: str, fmt: DiskFormat | None = None) -> None:
        """The libvirt driver's refusals for making or changing a volume in ``pool``."""
        self._volumes(pool)
        spec = self.pools[pool]
        kind = self.designs[pool].libvirt_type
        if spec.type in LUN_POOL_TYPES:
            raise Unsupported(
                f"Storage pool {pool}: an iSCSI pool's volumes are the target's LUNs; create "
                "or resize LUNs on the target (they are listed here once it has them)."
            )
        if spec.type in FILE_POOL_TYPES:
            return
        if fmt is not None and fmt is not DiskFormat.RAW:
            raise InvalidInput(
                f"Storage pool {pool} is a {kind} pool, which holds raw volumes only; choose "
                f"raw, or a directory or netfs pool for {fmt.value}.",
                field="fmt",
            )

    def _path(self, pool: str, name: str) -> str:
        """Where libvirt would say the volume is: a file, a device, ``<ceph pool>/<name>``."""
        design = self.designs[pool].pool
        if isinstance(design, LogicalPool):
            return f"{design.path}/{name}"
        if isinstance(design, ZfsPool):
            return f"/dev/zvol/{design.zpool}/{name}"
        if isinstance(design, RbdPool):
            return f"{design.ceph_pool}/{name}"
        return posixpath.join(self.pools[pool].path, name)

    def _new(
        self, pool: str, name: str, capacity: int, allocation: int, fmt: DiskFormat
    ) -> VolumeInfo:
        check_volume_name(name)
        volumes = self._volumes(pool)
        if name in volumes:
            raise Conflict(
                f"Volume {name} already exists in pool {pool}; delete it first or use another name."
            )
        return VolumeInfo(name, self._path(pool, name), capacity, allocation, fmt)

    def _add(self, pool: str, volume: VolumeInfo) -> VolumeInfo:
        self._volumes(pool)[volume.name] = volume
        return volume

    def create_volume(
        self, pool: str, name: str, capacity_bytes: int, fmt: DiskFormat
    ) -> VolumeInfo:
        self._record("create_volume", pool, name, capacity_bytes, fmt.value)
        self._writable(pool, fmt)
        return self._add(pool, self._new(pool, name, capacity_bytes, 0, fmt))

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
        self._record("create_rootfs", pool, name, tarball, uid_offset, gid_offset, capacity_bytes)
        fmt = DiskFormat.DIR if capacity_bytes is None else DiskFormat.RAW
        self._writable(pool, fmt)
        kinds = FILE_POOL_TYPES if capacity_bytes is None else FILESYSTEM_POOL_TYPES
        if self.pools[pool].type not in kinds:
            raise Unsupported(
                f"Storage pool {pool} holds no directories; unpack container root "
                "filesystems into a directory or netfs pool."
                if capacity_bytes is None
                else f"Storage pool {pool}'s volumes are no file or device of this node; a "
                "container's filesystem volume needs a directory, netfs, LVM or ZFS pool."
            )
        # The image's tarball: a volume of some pool (uploaded there), or a registered image.
        held = [v for files in self.files.values() for v in files.values() if v.path == tarball]
        if not held and tarball not in self.images:
            raise NotFound(f"Image file {tarball} does not exist on this node.")
        size = held[0].capacity_bytes if held else self.images[tarball].virtual_size
        if capacity_bytes is None:
            return self._add(pool, self._new(pool, name, size, size, fmt))
        return self._add(pool, self._new(pool, name, capacity_bytes, size, fmt))

    def format_for_mount(self, path: str, *, uid: int, gid: int) -> bool:
        self._record("format_for_mount", path, uid, gid)
        formatted = path not in self.formatted
        self.formatted.add(path)
        return formatted

    def clone_volume(
        self,
        pool: str,
        name: str,
        source_path: str,
        fmt: DiskFormat,
        capacity_bytes: int | None,
        progress: ProgressCallback | None = None,
    ) -> VolumeInfo:
        """Records the copy; the source must have been registered with ``add_image``. The
        volume is ``capacity_bytes`` or the image's virtual size, whichever is larger."""
        self._record("clone_volume", pool, name, source_path, fmt.value, capacity_bytes)
        self._writable(pool, fmt)
        volume = self._new(pool, name, 0, 0, fmt)
        image = self.images.get(source_path)
        if image is None:
            raise NotFound(f"Image file {source_path} does not exist on this node.")
        if capacity_bytes is not None and capacity_bytes < image.virtual_size:
            raise InvalidInput(
                f"Volume {name} can't be {capacity_bytes} bytes: image {source_path} needs "
                f"{image.virtual_size} bytes; ask for at least that much.",
                field="capacity_bytes",
            )
        if progress is not None:
            progress(image.virtual_size, image.virtual_size)
        capacity = max(capacity_bytes or 0, image.virtual_size)
        return self._add(
            pool, replace(volume, capacity_bytes=capacity, allocation_bytes=image.virtual_size)
        )

    def upload_volume(
        self,
        pool: str,
        name: str,
        chunks: Iterable[bytes],
        size: int,
        fmt: DiskFormat,
        progress: ProgressCallback | None = None,
    ) -> VolumeInfo:
        """Consumes the stream (keeping only its first bytes, to tell the format)."""
        self._record("upload_volume", pool, name, size, fmt.value)
        self._writable(pool, fmt)
        volume = self._new(pool, name, size, size, fmt)
        done, head = 0, b""
        for chunk in chunks:
            done += len(chunk)
            if done > size:
                break
            head = (head + chunk)[:4] if len(head) < 4 else head
            if progress is not None:
                progress(done, size)
        if done != size:
            got = f"more than {size}" if done > size else str(done)
            raise InvalidInput(
                f"Upload of volume {name} to pool {pool} sent {got} bytes, expected "
                f"exactly {size}; nothing was kept, send the whole file again.",
                field="size",
            )
        found = _MAGIC.get(head, DiskFormat.RAW)
        if found is not fmt:
            raise InvalidInput(
                f"Upload of volume {name} is a {found.value} image, not a {fmt.value} image; "
                "upload it with its real format.",
                field="fmt",
            )
        return self._add(pool, volume)

    def volume_info(self, pool: str, name: str) -> VolumeInfo | None:
        self._record("volume_info", pool, name)
        return self._volumes(pool).get(name)

    def list_volumes(self, pool: str) -> list[VolumeInfo]:
        self._record("list_volumes", pool)
        luns = self.pools[pool].type in LUN_POOL_TYPES if pool in self.pools else False
        volumes = self._volumes(pool).values()
        return sorted((v for v in volumes if v.capacity_bytes or not luns), key=lambda v: v.name)

    def resize_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Grow only; the same size is a no-op; smaller: InvalidInput."""
        self._record("resize_volume", pool, name, capacity_bytes)
        self._writable(pool)
        current = self._volumes(pool).get(name)
        if current is None:
            raise NotFound(f"Volume {name} does not exist in pool {pool}.")
        if capacity_bytes < current.capacity_bytes:
            raise InvalidInput(
                f"Volume {name} is {current.capacity_bytes} bytes and can only grow; "
                f"{capacity_bytes} bytes would shrink it. Ask for at least its current size.",
                field="capacity_bytes",
            )
        return self._add(pool, replace(current, capacity_bytes=capacity_bytes))

    def delete_volume(self, pool: str, name: str) -> None:
        """Missing: no error."""
        self._record("delete_volume", pool, name)
        self._writable(pool)
        self._volumes(pool).pop(name, None)


__all__ = ["FakeImage", "FakeStorageDriver"]
