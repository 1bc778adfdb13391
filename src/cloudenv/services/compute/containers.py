"""The container part of a deploy (instance type 1, LXC): what only containers check and
record. A container boots a root filesystem image (type 1) unpacked into a directory
volume, so it takes no ``new_volumes``, ``existing_volumes`` or ``kernel_boot``
(API-COMPAT.md); its root volume is made by the deploy task (``agent.compute``), which
shifts the owners into the node's subordinate IDs unless it is privileged.

Called by ``services.compute.deploy``; writes nothing but the rows it is asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import DeviceType, DiskFormat, InstanceType, PoolType, VolumeStatus
from cloudenv.errors import Conflict, InvalidInput
from cloudenv.ids import Prefix, new_id
from cloudenv.services.access import Principal
from cloudenv.services.compute.requests import DeployRequest
from cloudenv.services.storage.images import ROOTFS, find_image
from cloudenv.services.storage.pools import pool_on_node
from cloudenv.services.storage.volumes import SIZE_MAX_GB
from cloudenv.store.queries import storage as qs
from cloudenv.store.tables import Image, Instance, InstanceDevice, Node, StoragePool, Volume

#: Pools whose volumes can be directories: a root filesystem unpacked as it is.
DIRECTORY_POOLS = frozenset({PoolType.DIRECTORY, PoolType.NETFS})
#: Pools whose volumes the node can mount: files and its own block devices.
FILESYSTEM_POOLS = DIRECTORY_POOLS | frozenset({PoolType.LVM, PoolType.ZFS})
#: A filesystem root volume's size when none is asked for: at least this many GB.
DEFAULT_ROOTFS_MIN_GB = 2
GIB = 1024**3
ROOTFS_DEVICE = "rootfs"


def check_shape(request: DeployRequest) -> None:
    """What a container deploy can't ask for, before the database is read."""
    if not request.image:
        raise InvalidInput(
            "A container needs an image: name a container image (type 1) of the node "
            "(GET /v1/nodes/{id}/images/images).",
            field="image",
        )
    if request.new_volumes or request.existing_volumes:
        raise InvalidInput(
            "A container gets no volumes at deploy; its root filesystem comes from its "
            "image. Attach volumes as mount points once it exists.",
            field="metadata",
        )
    if request.kernel_boot is not None:
        raise InvalidInput(
            "A container runs its image's init, not a kernel; leave kernel_boot out.",
            field="metadata.kernel_boot",
        )


def check_node(node: Node) -> None:
    """The node said (in its capabilities) whether its container driver answered."""
    capabilities = (node.host or {}).get("capabilities") or {}
    for entry in capabilities.values():
        if isinstance(entry, dict) and entry.get("containers") is False:
            reason = str(entry.get("containers_reason") or "its LXC driver is not available")
            raise Conflict(
                f"Node {node.name} ({node.id}) can't run containers: {reason} Deploy to "
                "another node, or start libvirtd with its LXC driver there.",
                field="type",
            )


def container_image(db: Session, principal: Principal, node: Node, name: str) -> Image:
    """The deploy's image, which must be a container image."""
    image = find_image(db, principal, node.id, name, field="image")
    if image.format != ROOTFS or image.instance_type != InstanceType.LXC:
        raise InvalidInput(
            f"Image {image.name} ({image.id}) is a virtual machine's image ({image.format}); "
            "a container needs a container image (type 1: a rootfs tarball or OCI layout).",
            field="image",
        )
    return image


@dataclass(frozen=True)
class RootfsPlan:
    """Where a container's root filesystem goes: a directory volume (``format`` dir), or
    an ext4 filesystem volume of ``size_bytes`` (``format`` raw)."""

    pool: StoragePool
    format: DiskFormat
    size_bytes: int

    @property
    def storage_gb(self) -> int:
        """What it counts against the storage quota."""
        return max(1, math.ceil(self.size_bytes / GIB))


def plan_rootfs(db: Session, node: Node, image: Image, request: DeployRequest) -> RootfsPlan:
    """The pool (``metadata.storage_pool_id``, else the image's) and the volume's form:
    a directory in a directory or netfs pool unless ``metadata.rootfs_size`` asks for a
    filesystem volume, which LVM and ZFS pools always get (their volumes are block
    devices); other pools' volumes are no file or device of the node, so refused."""
    field = "metadata.storage_pool_id" if request.storage_pool_id else "image"
    pool = pool_on_node(db, request.storage_pool_id or image.pool_id, node.id, field=field)
    if pool.type not in FILESYSTEM_POOLS:
        kind = PoolType(pool.type).name.lower()
        raise InvalidInput(
            f"Storage pool {pool.name} ({pool.id}) is a {kind} pool, whose volumes the node "
            "reaches only through QEMU; a container's root filesystem needs a directory, "
            "netfs, LVM or ZFS pool.",
            field="metadata.storage_pool_id",
        )
    wanted = request.rootfs_size_gb
    if wanted is not None and not 1 <= wanted <= SIZE_MAX_GB:
        raise InvalidInput(
            f"rootfs_size must be between 1 and {SIZE_MAX_GB} GB, not {wanted}.",
            field="metadata.rootfs_size",
        )
    if wanted is None and pool.type in DIRECTORY_POOLS:
        return RootfsPlan(pool, DiskFormat.DIR, image.size_bytes)
    size_gb = wanted or max(DEFAULT_ROOTFS_MIN_GB, math.ceil(image.size_bytes / GIB) + 1)
    if size_gb * GIB < image.size_bytes:
        raise InvalidInput(
            f"A {size_gb} GB root filesystem can't hold image {image.name}, which unpacks "
            f"to {math.ceil(image.size_bytes / GIB)} GB; ask for more.",
            field="metadata.rootfs_size",
        )
    return RootfsPlan(pool, DiskFormat.RAW, size_gb * GIB)


def add_rootfs(db: Session, instance: Instance, node: Node, image: Image, root: RootfsPlan) -> None:
    """The root filesystem volume (made by the deploy task) and its device."""
    pool = root.pool
    now, volume_id = clock.now(), new_id(Prefix.VOLUME)
    name = f"{instance.name[:240]}-rootfs"
    if qs.volume_name_taken(db, pool.id, node.id, name):
        name = f"{name}-{volume_id.split('-', 1)[1][:6]}"
    db.add(
        Volume(
            id=volume_id,
            organization_id=node.organization_id,
            node_id=node.id,
            pool_id=pool.id,
            name=name,
            # A directory volume is named by its ID; a filesystem volume as others are.
            file_name=volume_id if root.format == DiskFormat.DIR else f"{volume_id}.raw",
            size_bytes=root.size_bytes,
            format=root.format.value,
            status=VolumeStatus.CREATING,
            instance_id=instance.id,
            creation=now,
        )
    )
    db.add(
        InstanceDevice(
            instance_id=instance.id,
            name=ROOTFS_DEVICE,
            type=DeviceType.STORAGE_VOLUME,
            resource_id=volume_id,
            bus="mount",
            target=None,
            serial=volume_id.split("-", 1)[1][:20],
            is_root=True,
            metadata_={
                "_type": "storage_volume",
                "path": "/",
                "clone_from": image.id,
                "created_by_deploy": True,
            },
            creation=now,
        )
    )
