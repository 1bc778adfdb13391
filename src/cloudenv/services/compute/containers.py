"""The container part of a deploy (instance type 1, LXC): what only containers check and
record. A container boots a root filesystem image (type 1) unpacked into a directory
volume, so it takes no ``new_volumes``, ``existing_volumes`` or ``kernel_boot``
(API-COMPAT.md); its root volume is made by the deploy task (``agent.compute``), which
shifts the owners into the node's subordinate IDs unless it is privileged.

Called by ``services.compute.deploy``; writes nothing but the rows it is asked for.
"""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import DeviceType, InstanceType, PoolType, VolumeStatus
from cloudenv.errors import Conflict, InvalidInput
from cloudenv.ids import Prefix, new_id
from cloudenv.services.access import Principal
from cloudenv.services.compute.requests import DeployRequest
from cloudenv.services.storage.images import ROOTFS, find_image
from cloudenv.services.storage.pools import pool_on_node
from cloudenv.store.queries import storage as qs
from cloudenv.store.tables import Image, Instance, InstanceDevice, Node, Volume

#: Pools a root filesystem can be unpacked into: their volumes are directories' files.
DIRECTORY_POOLS = frozenset({PoolType.DIRECTORY, PoolType.NETFS})
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


def storage_gb(image: Image) -> int:
    """What the root filesystem counts against the storage quota: the image's size."""
    return max(1, math.ceil(image.size_bytes / GIB))


def add_rootfs(
    db: Session, instance: Instance, node: Node, image: Image, request: DeployRequest
) -> None:
    """The root filesystem volume (a directory, made by the deploy task) and its device."""
    field = "metadata.storage_pool_id" if request.storage_pool_id else "image"
    pool = pool_on_node(db, request.storage_pool_id or image.pool_id, node.id, field=field)
    if pool.type not in DIRECTORY_POOLS:
        kind = PoolType(pool.type).name.lower()
        raise InvalidInput(
            f"Storage pool {pool.name} ({pool.id}) is a {kind} pool; a container's root "
            "filesystem is unpacked into a directory, so choose a directory or netfs pool.",
            field="metadata.storage_pool_id",
        )
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
            file_name=volume_id,  # a directory
            size_bytes=image.size_bytes,
            format="dir",
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
