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

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import InstanceType
from cloudenv.enums import SnapshotStatus as SnapshotStatus  # stored in snapshots.status
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.instance_config import QemuConfig
from cloudenv.machines import Firmware
from cloudenv.services import events, tasks
from cloudenv.services.access import Action, Principal
from cloudenv.services.compute.instances import load, path_of, take_instance
from cloudenv.services.compute.states import LABELS, InstanceState
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.validation import SNAPSHOT_NAME, check_description
from cloudenv.store.queries import compute as q
from cloudenv.store.queries.scope import UNSCOPED, Scope
from cloudenv.store.tables import Instance, Snapshot, Task

#: Instance states in which snapshots may be taken, reverted to or deleted.
SNAPSHOTTABLE = frozenset({InstanceState.RUNNING, InstanceState.STOPPED})


@dataclass(frozen=True)
class SnapshotView:
    name: str
    instance_id: str
    description: str
    status: str
    creation: datetime


def list_snapshots(db: Session, principal: Principal, instance_id: str) -> list[SnapshotView]:
    instance = load(db, principal, instance_id, Action.INSTANCE_READ)
    return [_view(s) for s in q.snapshots(db, instance.id, principal.scope)]


def create_snapshot(
    db: Session, principal: Principal, instance_id: str, name: str, description: str = ""
) -> Task:
    instance = load(db, principal, instance_id, Action.INSTANCE_SNAPSHOT)
    SNAPSHOT_NAME.check(name)
    check_description(description)
    if _find(db, principal.scope, instance.id, name) is not None:
        raise Conflict(
            f"Instance {instance.name} ({instance.id}) already has a snapshot named {name!r}; "
            "choose another name or delete that one.",
            field="name",
        )
    _check(db, principal, instance, "snapshotted")
    db.add(
        Snapshot(
            instance_id=instance.id,
            name=name,
            description=description,
            status=SnapshotStatus.CREATING,
            creation=clock.now(),
        )
    )
    return _queue(db, principal, instance, tasks.TaskKind.INSTANCE_SNAPSHOT_CREATE, name)


def revert_snapshot(db: Session, principal: Principal, instance_id: str, name: str) -> Task:
    """Back to the snapshot's disks, and to its power state (and memory, if taken running)."""
    instance = load(db, principal, instance_id, Action.INSTANCE_SNAPSHOT)
    snapshot = _existing(db, principal, instance, name)
    if snapshot.status != SnapshotStatus.READY:
        raise Conflict(
            f"Snapshot {name} of instance {instance.name} ({instance.id}) is "
            f"{snapshot.status}, so it can't be reverted to; delete it.",
            field="name",
        )
    _check(db, principal, instance, "reverted to a snapshot")
    return _queue(db, principal, instance, tasks.TaskKind.INSTANCE_SNAPSHOT_REVERT, name)


def delete_snapshot(
    db: Session, principal: Principal, instance_id: str, name: str, *, confirm: str | None = None
) -> Task:
    instance = load(db, principal, instance_id, Action.INSTANCE_SNAPSHOT)
    _existing(db, principal, instance, name)
    check_confirm(confirm, f"Deleting snapshot {name} of instance {instance.name} ({instance.id})")
    _check(db, principal, instance, "stripped of a snapshot")
    return _queue(db, principal, instance, tasks.TaskKind.INSTANCE_SNAPSHOT_DELETE, name)


def snapshot_description(db: Session, instance_id: str, name: str) -> str:
    snapshot = _find(db, UNSCOPED, instance_id, name)
    return snapshot.description if snapshot else ""


def record_snapshot(db: Session, instance_id: str, name: str, status: SnapshotStatus) -> None:
    snapshot = _find(db, UNSCOPED, instance_id, name)
    if snapshot is not None:
        snapshot.status = SnapshotStatus(status)
        _publish(db, instance_id, name, {"status": snapshot.status.value})


def forget_snapshot(db: Session, instance_id: str, name: str) -> None:
    """Drop the row once the hypervisor has no such snapshot (the delete task's success
    publishes ``instance.snapshot_deleted``; this says the row changed)."""
    snapshot = _find(db, UNSCOPED, instance_id, name)
    if snapshot is not None:
        db.delete(snapshot)
        _publish(db, instance_id, name, {"status": "deleted"})


def _check(db: Session, principal: Principal, instance: Instance, what: str) -> None:
    state = InstanceState(instance.state)
    label = f"Instance {instance.name} ({instance.id})"
    if instance.type == InstanceType.LXC:
        raise InvalidInput(
            f"{label} is a container; containers have no snapshots on this platform version "
            "(their root filesystem is a directory, not a disk image).",
            field="instance_id",
        )
    if state not in SNAPSHOTTABLE:
        raise Conflict(f"{label} is {LABELS[state]}; it can be {what} when running or stopped.")
    firmware = QemuConfig.from_json(instance.config).firmware
    if state is InstanceState.RUNNING and firmware is Firmware.EFI:
        raise Conflict(
            f"{label} is running: UEFI virtual machines can be snapshotted only while stopped "
            "(libvirt limitation); stop it first."
        )
    volumes = q.writable_volumes(db, instance.id, principal.scope)
    raw = [v.name for v in volumes if v.format != "qcow2"]
    if raw:
        raise Conflict(
            f"{label} has volume(s) {', '.join(raw)} in a format other than qcow2; snapshots "
            "are kept inside qcow2 volumes, so detach those first."
        )


def _queue(
    db: Session, principal: Principal, instance: Instance, kind: tasks.TaskKind, name: str
) -> Task:
    task = tasks.queue_task(
        db,
        principal,
        kind,
        node_id=instance.node_id,
        target_id=instance.id,
        organization_id=instance.organization_id,
        path=path_of(db, instance),
        params={"snapshot": name},
    )
    state = InstanceState(instance.state)
    take_instance(db, instance, task, preempt=False, state=state, desired=instance.desired_state)
    return task


def _existing(db: Session, principal: Principal, instance: Instance, name: str) -> Snapshot:
    snapshot = _find(db, principal.scope, instance.id, name)
    if snapshot is None:
        raise NotFound(
            f"Instance {instance.name} ({instance.id}) has no snapshot named {name!r}.",
            field="name",
        )
    return snapshot


def _find(db: Session, scope: Scope, instance_id: str, name: str) -> Snapshot | None:
    return q.get_snapshot(db, instance_id, name, scope)


def _view(snapshot: Snapshot) -> SnapshotView:
    return SnapshotView(
        snapshot.name,
        snapshot.instance_id,
        snapshot.description,
        snapshot.status,
        snapshot.creation,
    )


def _publish(db: Session, instance_id: str, name: str, data: dict[str, str]) -> None:
    instance = q.get_instance(db, instance_id, UNSCOPED)
    events.publish(
        db,
        EventKind.INSTANCE_SNAPSHOT_UPDATED,
        organization_id=instance.organization_id if instance else None,
        target_id=instance_id,
        data=events.instance_data(instance.node_id if instance else None, snapshot=name, **data),
    )
