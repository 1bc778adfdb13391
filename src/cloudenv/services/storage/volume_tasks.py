"""What a node's agent reads and records while it creates, resizes or destroys a volume
(``agent/volumes.py``), and what a cancelled volume task gives back.

The API set the volume's status (creating, resizing, destroying) by compare-and-swap and,
for a resize of an attached volume, made the task hold the instance; each outcome here
puts the volume back to a resting status and lets the instance go. Only the agent calls
the ``record_*``/``forget_*`` functions, as the node itself: every read is ``UNSCOPED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from cloudenv.enums import PoolType, VolumeStatus
from cloudenv.errors import NotFound
from cloudenv.services.compute import execution
from cloudenv.services.compute.states import InstanceState
from cloudenv.services.events import EventKind
from cloudenv.services.storage.volumes import publish
from cloudenv.services.tasks import TaskKind
from cloudenv.store.queries import compute as qc
from cloudenv.store.queries import storage as q
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Task, Volume


@dataclass(frozen=True, kw_only=True)
class VolumePlan:
    """The volume a task works on, detached from the session."""

    id: str
    name: str
    node_id: str
    pool_id: str
    pool_type: PoolType
    file_name: str
    format: str
    size_bytes: int
    status: VolumeStatus

    @property
    def label(self) -> str:
        return f"volume {self.name} ({self.id})"


def volume_for_task(db: Session, volume_id: str) -> VolumePlan:
    volume = q.get_volume(db, volume_id, UNSCOPED)
    if volume is None:
        raise NotFound(f"Volume {volume_id} no longer exists.")
    pool = q.get_pool(db, volume.pool_id, UNSCOPED)
    return VolumePlan(
        id=volume.id,
        name=volume.name,
        node_id=volume.node_id,
        pool_id=volume.pool_id,
        pool_type=PoolType(pool.type) if pool is not None else PoolType.DIRECTORY,
        file_name=volume.file_name,
        format=volume.format,
        size_bytes=volume.size_bytes,
        status=VolumeStatus(volume.status),
    )


def record_created(db: Session, volume_id: str, *, size_bytes: int, path: str) -> bool:
    """The volume exists on the node: available, with the size and path the driver
    reported. False when its row is gone (nothing to record; the caller deletes the data)."""
    done = db.execute(
        update(Volume)
        .where(Volume.id == volume_id, Volume.status == VolumeStatus.CREATING.value)
        .values(status=VolumeStatus.AVAILABLE.value, size_bytes=size_bytes, path=path)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def record_path(db: Session, volume_id: str, path: str) -> None:
    """Where the driver put a volume deploy created (how a guest's disk reaches it)."""
    volume = q.get_volume(db, volume_id, UNSCOPED)
    if volume is not None:
        volume.path = path


def forget_failed(db: Session, volume_id: str, reason: str) -> None:
    """A create that failed (or was interrupted) left no data: its row goes too."""
    volume = q.get_volume(db, volume_id, UNSCOPED)
    if volume is None or volume.status != VolumeStatus.CREATING:
        return
    db.delete(volume)
    publish(db, volume, EventKind.VOLUME_DELETED, reason=reason[:200])


def record_resized(
    db: Session,
    volume_id: str,
    task_id: str,
    *,
    size_bytes: int | None,
    instance_id: str | None,
) -> None:
    """The resize ended: the volume is available again, at ``size_bytes`` when known
    (what the node now has: the new size, or what a failure left), and the instance the
    task held is let go in the state it is in."""
    volume = q.get_volume(db, volume_id, UNSCOPED)
    if volume is not None and volume.status == VolumeStatus.RESIZING:
        volume.status = VolumeStatus.AVAILABLE
        if size_bytes is not None and size_bytes > 0:
            volume.size_bytes = size_bytes
        publish(db, volume)
    if instance_id:
        _let_go(db, instance_id, task_id)


def forget_destroyed(db: Session, volume_id: str) -> None:
    """The data is gone: so is the row (the task's success publishes ``volume.deleted``)."""
    db.execute(
        delete(Volume).where(Volume.id == volume_id, Volume.status == VolumeStatus.DESTROYING.value)
    )


def destroy_failed(db: Session, volume_id: str, *, unknown: bool = False) -> None:
    """The data could not be deleted: the volume stays, available (destroy it again), or
    in error when what is left can't be told."""
    volume = q.get_volume(db, volume_id, UNSCOPED)
    if volume is not None and volume.status == VolumeStatus.DESTROYING:
        volume.status = VolumeStatus.ERROR if unknown else VolumeStatus.AVAILABLE
        publish(db, volume)


def mark_error(db: Session, volume_id: str) -> None:
    """What an interrupted task left could not be repaired: the volume is in error (it
    can still be destroyed)."""
    volume = q.get_volume(db, volume_id, UNSCOPED)
    if volume is not None:
        volume.status = VolumeStatus.ERROR
        publish(db, volume)


def release_cancelled(db: Session, task: Task) -> None:
    """A queued volume task was cancelled (it never ran): a create's row goes (no data
    was made), a resize or destroy leaves the volume available, and the instance a resize
    held is let go."""
    volume = q.get_volume(db, task.target_id or "", UNSCOPED)
    params: dict[str, Any] = task.params or {}
    if task.kind == TaskKind.VOLUME_CREATE:
        forget_failed(db, task.target_id or "", "cancelled")
    elif task.kind == TaskKind.VOLUME_RESIZE:
        record_resized(
            db,
            task.target_id or "",
            task.id,
            size_bytes=None,
            instance_id=params.get("instance_id"),
        )
    elif task.kind == TaskKind.VOLUME_DESTROY and volume is not None:
        destroy_failed(db, volume.id)


def _let_go(db: Session, instance_id: str, task_id: str) -> None:
    instance = qc.get_instance(db, instance_id, UNSCOPED)
    if instance is not None and instance.current_task_id == task_id:
        execution.release(db, instance_id, task_id, InstanceState(instance.state))
