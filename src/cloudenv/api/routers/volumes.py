"""Volumes: list (with a node and pool filter), read, create on a node's pool, resize,
destroy. Every change is a task on the volume's node."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import TaskRef
from cloudenv.api.schemas.storage import (
    Volume,
    VolumeCreate,
    VolumeCreated,
    VolumeMetadata,
    VolumeResize,
)
from cloudenv.services.storage import volumes

router = APIRouter(tags=["storage"])
GB = 1024**3


def _volume(v: volumes.Volume) -> Volume:
    return Volume(
        id=v.id,
        storage_pool_id=v.pool_id,
        node_id=v.node_id,
        name=v.name,
        fq_name=f"{v.pool_id}/{v.file_name}",
        description=v.description,
        status=v.status,
        size=round(v.size_bytes / GB, 2),
        metadata=VolumeMetadata(driver=v.format),
        attached=v.instance_id is not None,
        attached_to=v.instance_id,
        creation=v.creation,
    )


@router.get("/v1/volumes", response_model=list[Volume], name="volume.list")
def list_volumes(
    db: Db,
    principal: CurrentPrincipal,
    node_id: str | None = None,
    storage_pool_id: str | None = None,
) -> list[Volume]:
    found = volumes.list_volumes(db, principal, node_id=node_id, pool_id=storage_pool_id)
    return [_volume(v) for v in found]


@router.post("/v1/volumes", response_model=VolumeCreated, status_code=202, name="volume.create")
def create_volume(body: VolumeCreate, db: Db, principal: CurrentPrincipal) -> VolumeCreated:
    """An empty volume in a pool of the node (the pool must be ready there); the storage
    quota counts it at once."""
    request = volumes.CreateRequest(
        node_id=body.node_id,
        pool_id=body.storage_pool_id,
        name=body.name,
        size_gb=body.size,
        driver=body.driver,
        description=body.description,
    )
    volume, task = volumes.create_volume(db, principal, request)
    return VolumeCreated(id=volume.id, task_id=task.id)


@router.get("/v1/volumes/{volume_id}", response_model=Volume, name="volume.get")
def get_volume(volume_id: str, db: Db, principal: CurrentPrincipal) -> Volume:
    return _volume(volumes.get_volume(db, principal, volume_id))


@router.post(
    "/v1/volumes/{volume_id}/resize", response_model=TaskRef, status_code=202, name="volume.resize"
)
def resize_volume(
    volume_id: str, body: VolumeResize, db: Db, principal: CurrentPrincipal
) -> TaskRef:
    """Add ``delta_gb`` GiB. A volume in use by a running instance grows live only with
    ``live`` (else stop the instance for a cold resize); iSCSI LUNs can't be resized."""
    task = volumes.resize_volume(db, principal, volume_id, delta_gb=body.delta_gb, live=body.live)
    return TaskRef(task_id=task.id)


@router.delete(
    "/v1/volumes/{volume_id}", response_model=TaskRef, status_code=202, name="volume.delete"
)
def destroy_volume(
    volume_id: str, db: Db, principal: CurrentPrincipal, confirm: ConfirmQuery = None
) -> TaskRef:
    """Delete the volume's data, then its record; refused while it is attached."""
    return TaskRef(task_id=volumes.destroy_volume(db, principal, volume_id, confirm=confirm).id)
