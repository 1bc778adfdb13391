"""Instance snapshots: list, take, revert to, delete (``/v1/instances/{id}/snapshots``).
Every change is a task."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import TaskRef
from cloudenv.api.schemas.snapshots import Snapshot, SnapshotCreate
from cloudenv.services.compute import snapshots

router = APIRouter(tags=["snapshots"])
PATH = "/v1/instances/{instance_id}/snapshots"


@router.get(PATH, response_model=list[Snapshot], name="instance.snapshot_list")
def list_snapshots(instance_id: str, db: Db, principal: CurrentPrincipal) -> list[Snapshot]:
    return [
        Snapshot.model_validate(s) for s in snapshots.list_snapshots(db, principal, instance_id)
    ]


@router.post(PATH, response_model=TaskRef, status_code=202, name="instance.snapshot_create")
def create(instance_id: str, body: SnapshotCreate, db: Db, principal: CurrentPrincipal) -> TaskRef:
    """Disks, and memory when running. UEFI instances only while stopped."""
    task = snapshots.create_snapshot(db, principal, instance_id, body.name, body.description)
    return TaskRef(task_id=task.id)


@router.post(
    PATH + "/{name}/revert",
    response_model=TaskRef,
    status_code=202,
    name="instance.snapshot_revert",
)
def revert(instance_id: str, name: str, db: Db, principal: CurrentPrincipal) -> TaskRef:
    """Back to the snapshot's disks and power state (and memory, if it was taken running)."""
    return TaskRef(task_id=snapshots.revert_snapshot(db, principal, instance_id, name).id)


@router.delete(
    PATH + "/{name}", response_model=TaskRef, status_code=202, name="instance.snapshot_delete"
)
def delete(
    instance_id: str,
    name: str,
    db: Db,
    principal: CurrentPrincipal,
    confirm: ConfirmQuery = None,
) -> TaskRef:
    task = snapshots.delete_snapshot(db, principal, instance_id, name, confirm=confirm)
    return TaskRef(task_id=task.id)
