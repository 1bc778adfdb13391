"""Giving back what a queued task held when it is cancelled (``tasks.cancel_task``).

The API wrote rows before queuing the task (an instance being deployed, a device being
attached, a snapshot being taken, an instance marked busy); a task that will never run
must not leave them. Each kind is undone as its failure would be, except that nothing
reached the hypervisor or the disks, so only rows change:

- a deploy: the instance, its devices and the volumes it was to create are removed;
  existing volumes it was given become available again (as a failed deploy's undo);
- a device attach: the device row goes and its volume is free; a detach: it stays;
- a snapshot being taken: its row goes;
- every instance task: the instance returns to the state, desired state and holder it
  had when the task took it (``params["held"]``, written by ``take_instance``);
- an image delete: the image is available again;
- a volume create: its row goes; a resize or destroy: the volume is available again, and
  the instance a resize held is let go (``services.storage.volume_tasks``).

This module must not call a driver or commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from cloudenv.enums import DesiredState, ImageStatus
from cloudenv.errors import Conflict
from cloudenv.services import events
from cloudenv.services.access import Action
from cloudenv.services.compute import attachments, execution
from cloudenv.services.compute.states import InstanceState
from cloudenv.services.events import EventKind
from cloudenv.services.tasks import TaskKind, TaskStatus
from cloudenv.store.queries import compute as q
from cloudenv.store.queries import storage as qs
from cloudenv.store.queries import tasks as qt
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Instance, Task

K = TaskKind
#: States an instance may be left in with no task holding it.
_RESTING = frozenset({InstanceState.RUNNING, InstanceState.STOPPED, InstanceState.ERROR})
#: A task in these states will still run (or is running) and release what it holds.
_STILL_HOLDING = frozenset({TaskStatus.QUEUED, TaskStatus.RUNNING})


def permission(task: Task) -> Action:
    """Who may cancel a task: whoever may ask for it. A task of a kind this version does
    not know (written by a newer node sharing the database) can't be judged or undone
    here, so it is refused rather than guessed at."""
    try:
        kind = TaskKind(task.kind)
    except ValueError:
        raise Conflict(
            f"Task {task.id} is of kind {task.kind!r}, which this node's version of cloudenv "
            "does not know, so it can't cancel it. Cancel it through a node that runs the "
            "version that queued it, or upgrade this node."
        ) from None
    return kind.permission


def check_cancellable(task: Task) -> None:
    """An image import's upload is already on the node, waiting to be moved into its
    pool; only the node's agent can clean it up, so the import runs (or fails) and the
    image is deleted afterwards."""
    if task.kind == K.IMAGE_IMPORT:
        raise Conflict(
            f"Task {task.id} imports an upload that is already on the node; it can't be "
            "cancelled. Delete the image once the import has finished."
        )


def release_cancelled(db: Session, task: Task) -> None:
    """Undo the rows the API wrote for ``task`` (now cancelled; it never ran)."""
    kind, target = task.kind, task.target_id or ""
    if kind == K.IMAGE_DELETE:
        image = qs.get_image(db, target, UNSCOPED)
        if image is not None and image.status == ImageStatus.DELETING:
            image.status = ImageStatus.AVAILABLE
        return
    if kind.startswith("volume."):
        from cloudenv.services.storage import volume_tasks

        volume_tasks.release_cancelled(db, task)
        return
    if not kind.startswith("instance."):
        return
    if kind == K.INSTANCE_DEPLOY:
        _forget_deploy(db, target)
        return
    device_id = task.params.get("device_id")
    if kind == K.INSTANCE_DEVICE_ATTACH and device_id is not None:
        attachments.forget_device(db, int(device_id))
    elif kind == K.INSTANCE_DEVICE_DETACH and device_id is not None:
        attachments.settle_attached(db, int(device_id))
    elif kind == K.INSTANCE_SNAPSHOT_CREATE:
        from cloudenv.services.compute.snapshots import forget_snapshot

        forget_snapshot(db, target, str(task.params.get("snapshot", "")))
    _give_back(db, task)


def _forget_deploy(db: Session, instance_id: str) -> None:
    """The rows a queued deploy wrote: no volume file exists yet, so the volumes it was to
    create are only rows, removed with the instance; volumes it was given are kept."""
    created = {
        str(row.resource_id)
        for row in q.devices(db, instance_id, UNSCOPED)
        if row.resource_id and row.metadata_.get("created_by_deploy")
    }
    execution.forget(db, instance_id, destroy_volumes=False, also_destroy=created)


def _give_back(db: Session, task: Task) -> None:
    """The instance as it was before ``task`` took it: its state and desired state, and
    the task that held it then if that one still holds a claim on it (a Force Stop queued
    over a stop, start or restart that is queued or running: that task will still run and
    release the instance), else nobody. A transient state with no task left to finish it
    becomes error, from which start, kill and destroy are allowed."""
    held = task.params.get("held") or {}
    instance = q.get_instance(db, task.target_id or "", UNSCOPED)
    if instance is None or instance.current_task_id != task.id:
        return
    previous = held.get("task")
    if previous is not None:
        holder = qt.get_task(db, previous, UNSCOPED)
        if holder is not None and holder.status in _STILL_HOLDING:
            _return_to(db, instance, task, holder, held)
            return
    state = InstanceState(held.get("state", InstanceState.ERROR.value))
    message = ""
    if state not in _RESTING:
        state, message = (
            InstanceState.ERROR,
            (
                "A cancelled task left this instance without an action to finish; start, kill "
                "or destroy it."
            ),
        )
    previous_desired = held.get("desired")
    desired = DesiredState(previous_desired) if previous_desired else None
    execution.release(db, instance.id, task.id, state, message, desired=desired)


def _return_to(
    db: Session, instance: Instance, task: Task, holder: Task, held: dict[str, Any]
) -> None:
    """Hand the instance back to ``holder`` with the state and desired state it had, and
    say so (``instance.state_changed``), as taking it did."""
    db.execute(
        update(Instance)
        .where(Instance.id == instance.id, Instance.current_task_id == task.id)
        .values(
            current_task_id=holder.id,
            state=held.get("state", instance.state),
            desired_state=held.get("desired", instance.desired_state),
        )
        .execution_options(synchronize_session=False)
    )
    db.refresh(instance)
    events.publish(
        db,
        EventKind.INSTANCE_STATE_CHANGED,
        organization_id=instance.organization_id,
        target_id=instance.id,
        data=events.instance_data(
            instance.node_id, state=InstanceState(instance.state).value, task_id=holder.id
        ),
    )
