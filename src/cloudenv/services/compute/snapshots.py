"""Snapshots of an instance: list, create, revert, delete.

Each change is an ``instance.snapshot_*`` task holding the instance by the same
compare-and-swap as power actions, so a snapshot never races a stop or another snapshot.
Snapshots are libvirt internal snapshots (disks, plus memory when running), kept inside
the qcow2 volumes. With UEFI (pflash) firmware libvirt takes, reverts and deletes them
only while the domain is shut off (RUNTIME.md §5), so a running UEFI instance is refused
here rather than failing in the task. Rows: ``creating`` → ``ready`` or ``error``.

The last three functions are the agent's: it records what the hypervisor did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import DeviceType
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.instance_config import QemuConfig
from cloudenv.machines import Firmware
from cloudenv.services import events, tasks
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.compute.instances import DESTROY_WORD, load, take_instance
from cloudenv.services.compute.states import LABELS, InstanceState
from cloudenv.services.journal import record_change
from cloudenv.services.validation import check_description
from cloudenv.store.tables import Instance, InstanceDevice, Snapshot, Task, Volume

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: Instance states in which snapshots may be taken, reverted to or deleted.
SNAPSHOTTABLE = frozenset({InstanceState.RUNNING, InstanceState.STOPPED})


class SnapshotStatus(StrEnum):
    #: Its task is taking it.
    CREATING = "creating"
    #: The hypervisor has it; it can be reverted to.
    READY = "ready"
    #: Taking it failed (the task says why); only deleting it is left.
    ERROR = "error"


_EVENTS = {
    tasks.TaskKind.INSTANCE_SNAPSHOT_CREATE: "instance.snapshot_creating",
    tasks.TaskKind.INSTANCE_SNAPSHOT_REVERT: "instance.snapshot_reverting",
    tasks.TaskKind.INSTANCE_SNAPSHOT_DELETE: "instance.snapshot_deleting",
}


@dataclass(frozen=True)
class SnapshotView:
    name: str
    instance_id: str
    description: str
    status: str
    creation: datetime


def list_snapshots(db: Session, principal: Principal, instance_id: str) -> list[SnapshotView]:
    instance = load(db, principal, instance_id)
    stmt = select(Snapshot).where(Snapshot.instance_id == instance.id)
    return [_view(s) for s in db.scalars(stmt.order_by(Snapshot.creation, Snapshot.id))]


def create_snapshot(
    db: Session, principal: Principal, instance_id: str, name: str, description: str = ""
) -> Task:
    instance = load(db, principal, instance_id)
    authorize(principal, Action.INSTANCE_SNAPSHOT, instance.organization_id)
    if not _NAME.match(name):
        raise InvalidInput(
            f"Snapshot name {name!r} is not valid: use 1 to 64 letters, digits, '_', '.' or '-'.",
            field="name",
        )
    check_description(description)
    if _find(db, instance.id, name) is not None:
        raise Conflict(
            f"Instance {instance.name} ({instance.id}) already has a snapshot named {name!r}; "
            "choose another name or delete that one.",
            field="name",
        )
    _check(db, instance, "snapshotted")
    db.add(
        Snapshot(
            instance_id=instance.id,
            name=name,
            description=description,
            status=SnapshotStatus.CREATING.value,
            creation=clock.now(),
        )
    )
    return _queue(db, principal, instance, tasks.TaskKind.INSTANCE_SNAPSHOT_CREATE, name)


def revert_snapshot(db: Session, principal: Principal, instance_id: str, name: str) -> Task:
    """Back to the snapshot's disks, and to its power state (and memory, if taken running)."""
    instance = load(db, principal, instance_id)
    authorize(principal, Action.INSTANCE_SNAPSHOT, instance.organization_id)
    snapshot = _existing(db, instance, name)
    if snapshot.status != SnapshotStatus.READY:
        raise Conflict(
            f"Snapshot {name} of instance {instance.name} ({instance.id}) is "
            f"{snapshot.status}, so it can't be reverted to; delete it.",
            field="name",
        )
    _check(db, instance, "reverted to a snapshot")
    return _queue(db, principal, instance, tasks.TaskKind.INSTANCE_SNAPSHOT_REVERT, name)


def delete_snapshot(
    db: Session, principal: Principal, instance_id: str, name: str, *, confirm: str | None
) -> Task:
    instance = load(db, principal, instance_id)
    authorize(principal, Action.INSTANCE_SNAPSHOT, instance.organization_id)
    _existing(db, instance, name)
    if confirm != DESTROY_WORD:
        raise InvalidInput(
            f"Deleting snapshot {name} of instance {instance.name} can't be undone: confirm "
            f"with confirm={DESTROY_WORD}.",
            field="confirm",
        )
    _check(db, instance, "stripped of a snapshot")
    return _queue(db, principal, instance, tasks.TaskKind.INSTANCE_SNAPSHOT_DELETE, name)


def snapshot_description(db: Session, instance_id: str, name: str) -> str:
    snapshot = _find(db, instance_id, name)
    return snapshot.description if snapshot else ""


def record_snapshot(db: Session, instance_id: str, name: str, status: str) -> None:
    snapshot = _find(db, instance_id, name)
    if snapshot is not None:
        snapshot.status = status
        _publish(db, instance_id, f"instance.snapshot_{status}", name)


def forget_snapshot(db: Session, instance_id: str, name: str) -> None:
    snapshot = _find(db, instance_id, name)
    if snapshot is not None:
        db.delete(snapshot)
        _publish(db, instance_id, "instance.snapshot_deleted", name)


def _check(db: Session, instance: Instance, what: str) -> None:
    state = InstanceState(instance.state)
    label = f"Instance {instance.name} ({instance.id})"
    if state not in SNAPSHOTTABLE:
        raise Conflict(f"{label} is {LABELS[state]}; it can be {what} when running or stopped.")
    firmware = QemuConfig.from_json(instance.config).firmware
    if state is InstanceState.RUNNING and firmware is Firmware.EFI:
        raise Conflict(
            f"{label} is running: UEFI virtual machines can be snapshotted only while stopped "
            "(libvirt limitation); stop it first."
        )
    raw = db.scalars(
        select(Volume.name)
        .join(InstanceDevice, InstanceDevice.resource_id == Volume.id)
        .where(
            InstanceDevice.instance_id == instance.id,
            InstanceDevice.type == DeviceType.STORAGE_VOLUME.value,
            InstanceDevice.readonly.is_(False),
            Volume.format != "qcow2",
        )
    ).all()
    if raw:
        raise Conflict(
            f"{label} has volume(s) {', '.join(raw)} in a format other than qcow2; snapshots "
            "are kept inside qcow2 volumes, so detach those first."
        )


def _queue(
    db: Session, principal: Principal, instance: Instance, kind: tasks.TaskKind, name: str
) -> Task:
    task = tasks.create_task(
        db,
        principal,
        kind,
        node_id=instance.node_id,
        target_id=instance.id,
        organization_id=instance.organization_id,
        params={"snapshot": name},
    )
    state = InstanceState(instance.state)
    take_instance(db, instance, task, preempt=False, state=state, desired=instance.desired_state)
    record_change(
        db,
        principal,
        Action.INSTANCE_SNAPSHOT,
        event=_EVENTS[kind],
        target_id=instance.id,
        organization_id=instance.organization_id,
        status_code=202,
    )
    return task


def _existing(db: Session, instance: Instance, name: str) -> Snapshot:
    snapshot = _find(db, instance.id, name)
    if snapshot is None:
        raise NotFound(
            f"Instance {instance.name} ({instance.id}) has no snapshot named {name!r}.",
            field="name",
        )
    return snapshot


def _find(db: Session, instance_id: str, name: str) -> Snapshot | None:
    stmt = select(Snapshot).where(Snapshot.instance_id == instance_id, Snapshot.name == name)
    snapshot: Snapshot | None = db.scalar(stmt)
    return snapshot


def _view(snapshot: Snapshot) -> SnapshotView:
    return SnapshotView(
        snapshot.name,
        snapshot.instance_id,
        snapshot.description,
        snapshot.status,
        snapshot.creation,
    )


def _publish(db: Session, instance_id: str, event: str, name: str) -> None:
    instance = db.get(Instance, instance_id)
    events.publish(
        db,
        event,
        organization_id=instance.organization_id if instance else None,
        target_id=instance_id,
        data={"snapshot": name},
    )
