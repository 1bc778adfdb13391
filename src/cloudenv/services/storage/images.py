"""Images: installation media (ISO), disk images (qcow2, raw) and boot files (kernel,
initrd) for virtual machines, and container root filesystems, kept in a pool that can hold
images, on one node.

An upload is staged by the API in the node's data dir (streamed, size-checked), then an
``image.import`` task moves it into the pool through the storage driver, with progress.

A container image is uploaded as a rootfs tarball (format ``rootfs``: plain, gzip, xz,
bzip2 or zstd) or an OCI image layout in a tar (format ``oci``); the import checks every
entry (``drivers.images``) and stores one normalised, uncompressed tarball, so the image
row says format ``rootfs`` and instance type 1 (lxc) whichever was uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import ImageStatus, InstanceType
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.instance_config import QemuConfig
from cloudenv.services import events, paths, tasks
from cloudenv.services.access import Action, Principal, authorize, readable
from cloudenv.services.compute.states import InstanceState
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.storage.pools import pool_on_node
from cloudenv.services.validation import IMAGE_FILE_PREFIX, IMAGE_NAME
from cloudenv.store.queries import compute as qc
from cloudenv.store.queries import storage as q
from cloudenv.store.queries import tenancy as qt
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Image, Instance, Node, Task

#: What a container image is stored as (whatever it was uploaded as).
ROOTFS = "rootfs"
#: Upload formats of container images: a rootfs tarball, an OCI image layout (a tar).
CONTAINER_FORMATS = (ROOTFS, "oci")
IMAGE_FORMATS = ("iso", "qcow2", "raw", "kernel", "initrd", *CONTAINER_FORMATS)
_SUFFIXES = {
    ".iso": "iso",
    ".qcow2": "qcow2",
    ".img": "raw",
    ".raw": "raw",
    # before ".tar": a layout's tar is no rootfs tarball
    ".oci.tar": "oci",
    ".oci": "oci",
    ".tar": ROOTFS,
    ".tar.gz": ROOTFS,
    ".tgz": ROOTFS,
    ".tar.xz": ROOTFS,
    ".txz": ROOTFS,
    ".tar.zst": ROOTFS,
    ".tzst": ROOTFS,
    ".tar.bz2": ROOTFS,
    ".tbz2": ROOTFS,
}


@dataclass(frozen=True, kw_only=True)
class ImageView:
    id: str
    name: str
    size_bytes: int
    creation: datetime
    type: int
    storage_pool_id: str
    format: str
    status: str  # an ImageStatus


def guess_format(name: str) -> str | None:
    lowered = name.lower()
    for suffix, fmt in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return fmt
    if lowered.startswith(("vmlinuz", "bzimage", "kernel")):
        return "kernel"
    if lowered.startswith("initrd") or lowered.endswith((".cpio.gz", ".cpio")):
        return "initrd"
    return None


@dataclass(frozen=True)
class ImportRequest:
    node_id: str
    pool_id: str
    name: str
    size_bytes: int
    format: str | None


def check_import(db: Session, principal: Principal, request: ImportRequest) -> str:
    """Every rule an upload must pass, checked before its bytes are read. Returns the
    image's format."""
    node = qt.get_node(db, request.node_id, principal.scope)
    if node is None:
        raise NotFound(f"Node {request.node_id} does not exist.", field="node_id")
    return _check(db, principal, node, request)


def start_import(
    db: Session, principal: Principal, request: ImportRequest, staged_path: str
) -> tuple[Image, Task]:
    """Record an uploaded (staged) image and queue the task that moves it into the pool."""
    node = qt.get_node(db, request.node_id, principal.scope)
    if node is None:
        raise NotFound(f"Node {request.node_id} does not exist.", field="node_id")
    fmt = _check(db, principal, node, request)
    container = fmt in CONTAINER_FORMATS
    image = Image(
        id=new_id(Prefix.IMAGE),
        organization_id=node.organization_id,
        node_id=node.id,
        pool_id=request.pool_id,
        name=request.name,
        file_name=f"{IMAGE_FILE_PREFIX}{request.name}",
        format=ROOTFS if container else fmt,
        instance_type=InstanceType.LXC if container else InstanceType.QEMU,
        size_bytes=request.size_bytes,
        status=ImageStatus.UPLOADING,
        creation=clock.now(),
    )
    db.add(image)
    events.publish(
        db, EventKind.IMAGE_CREATED, organization_id=node.organization_id, target_id=image.id
    )
    task = tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.IMAGE_IMPORT,
        node_id=node.id,
        target_id=image.id,
        organization_id=node.organization_id,
        path=paths.on_node(db, node.id, image.id),
        # source: how the agent reads a container image's upload (rootfs tarball or layout)
        params={"staged_path": staged_path, **({"source": fmt} if container else {})},
    )
    return image, task


def _check(db: Session, principal: Principal, node: Node, request: ImportRequest) -> str:
    authorize(principal, Action.IMAGE_CREATE, node.organization_id, paths.node_path(db, node.id))
    name, fmt = request.name, request.format
    IMAGE_NAME.check(name)
    fmt = fmt or guess_format(name)
    if fmt not in IMAGE_FORMATS:
        raise InvalidInput(
            f"Say what {name!r} is with format= one of {', '.join(IMAGE_FORMATS)} "
            "(it could not be told from the name).",
            field="format",
        )
    if request.size_bytes <= 0:
        raise InvalidInput(
            "The upload is empty; send the image's bytes with a Content-Length.", field="size"
        )
    pool = pool_on_node(db, request.pool_id, node.id, field="storage_pool_id")
    if not pool.can_hold_images:
        raise InvalidInput(
            f"Storage pool {pool.name} ({pool.id}) cannot hold images.", field="storage_pool_id"
        )
    if q.image_name_taken(db, pool.id, node.id, name):
        raise Conflict(
            f"Pool {pool.name} on this node already has an image named {name!r}; "
            "delete it first or choose another name.",
            field="name",
        )
    state = q.pool_node(db, pool.id, node.id, principal.scope)
    if state is not None and state.available_bytes and request.size_bytes > state.available_bytes:
        raise InvalidInput(
            f"The image has {request.size_bytes} bytes but pool {pool.name} has "
            f"only {state.available_bytes} free.",
            field="size",
        )
    return fmt


def list_images(db: Session, principal: Principal, node_id: str) -> list[ImageView]:
    """The node's images whose ``image.read`` the caller's policies allow."""
    found = q.images(db, node_id, principal.scope)
    return [
        _view(i) for i in readable(principal, Action.IMAGE_READ, found, lambda i: image_path(db, i))
    ]


def image_path(db: Session, image: Image) -> tuple[str, ...]:
    """(datacenter, cluster, node, image)."""
    return paths.on_node(db, image.node_id, image.id)


def find_image(db: Session, principal: Principal, node_id: str, name: str, *, field: str) -> Image:
    """An available image of the node by name (what deploy and CD-ROM bodies refer to),
    among those the caller's organization may see: a name never reaches another
    tenant's image."""
    image = q.image_by_name(db, node_id, name, principal.scope, status=ImageStatus.AVAILABLE)
    if image is None:
        raise InvalidInput(
            f"Node {node_id} has no available image named {name!r} "
            "(GET /v1/nodes/{id}/images/images lists them).",
            field=field,
        )
    return image


def delete_image(
    db: Session, principal: Principal, node_id: str, name: str, *, confirm: str | None = None
) -> Task:
    image = q.image_by_name(db, node_id, name, principal.scope)
    if image is None:
        raise NotFound(f"Node {node_id} has no image named {name!r}.", field="name")
    authorize(principal, Action.IMAGE_DELETE, image.organization_id, image_path(db, image))
    check_confirm(confirm, f"Deleting image {image.name} ({image.id})")
    if image.status == ImageStatus.UPLOADING:
        raise Conflict(f"Image {name!r} is still being imported; wait for its task.")
    if image.status == ImageStatus.DELETING:
        raise Conflict(f"Image {name!r} is already being deleted; wait for its task.")
    users = _users(db, image)
    if users:
        listed = ", ".join(f"{i.name} ({i.id})" for i in users)
        raise Conflict(
            f"Image {name!r} is in use by instance(s) {listed}; detach it from them or "
            "destroy them first."
        )
    image.status = ImageStatus.DELETING
    return tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.IMAGE_DELETE,
        node_id=node_id,
        target_id=image.id,
        organization_id=image.organization_id,
        path=image_path(db, image),
    )


def _users(db: Session, image: Image) -> list[Instance]:
    """The instances of the image's node that use it: as a CD-ROM, as the kernel or initrd
    they boot, or as the source a disk is still being cloned from (while deploying)."""
    # Unscoped: an image in use by anyone on the node must stay, whoever asks.
    instances = qc.instances(db, UNSCOPED, node_id=image.node_id)
    using = qc.cdrom_holders(db, image.id, UNSCOPED)
    creating = {i.id for i in instances if i.state == InstanceState.CREATING}
    if creating:
        for device in qc.devices_of_instances(db, creating, UNSCOPED):
            if (device.metadata_ or {}).get("clone_from") == image.id:
                using.add(device.instance_id)
    for instance in instances:
        boot = QemuConfig.from_json(instance.config).kernel_boot
        if boot is not None and image.id in (boot.kernel, boot.initrd):
            using.add(instance.id)
    return [i for i in instances if i.id in using]


def _view(image: Image) -> ImageView:
    return ImageView(
        id=image.id,
        name=image.name,
        size_bytes=image.size_bytes,
        creation=image.creation,
        type=image.instance_type,
        storage_pool_id=image.pool_id,
        format=image.format,
        status=image.status,
    )


@dataclass(frozen=True, kw_only=True)
class ImagePlan:
    id: str
    name: str
    pool_id: str
    file_name: str
    format: str
    size_bytes: int
    status: str = ""


def image_for_task(db: Session, image_id: str) -> ImagePlan:
    image = q.get_image(db, image_id, UNSCOPED)
    if image is None:
        raise NotFound(f"Image {image_id} no longer exists.")
    return ImagePlan(
        id=image.id,
        name=image.name,
        pool_id=image.pool_id,
        file_name=image.file_name,
        format=image.format,
        size_bytes=image.size_bytes,
        status=image.status,
    )


def record_import(
    db: Session, image_id: str, *, ok: bool, message: str = "", size_bytes: int | None = None
) -> None:
    """The agent finished moving the upload into the pool (``size_bytes``: what it takes
    there, when not what was uploaded: a container image's normalised tarball); a failed
    import leaves no image."""
    image = q.get_image(db, image_id, UNSCOPED)
    if image is None:
        return
    if ok:
        image.status = ImageStatus.AVAILABLE
        if size_bytes is not None:
            image.size_bytes = size_bytes
        events.publish(
            db,
            EventKind.IMAGE_UPDATED,
            organization_id=image.organization_id,
            target_id=image.id,
            data={"status": image.status.value},
        )
    else:
        db.delete(image)
        events.publish(
            db,
            EventKind.IMAGE_DELETED,
            organization_id=image.organization_id,
            target_id=image.id,
            data={"reason": message[:200]},
        )


def forget_image(db: Session, image_id: str) -> None:
    """Drop the row once the file is gone (the delete task's success publishes
    ``image.deleted``)."""
    image = q.get_image(db, image_id, UNSCOPED)
    if image is not None:
        db.delete(image)
