"""What a node's agent reads and records while it attaches or detaches a device.

The API wrote the device row (``status`` attaching/detaching in its metadata) and set the
volume ATTACHING/DETACHING; the agent then settles both: ``settle_attached`` when the
device is (still) plugged in, ``forget_device`` when it is gone or never got in. A detach
the running guest can't take live (IDE/SATA, or ``live`` false) leaves the persistent
definition at once but the guest only when it stops: ``detach_at_stop`` keeps the row and
the volume's claim until then, and ``finish_detaches_at_stop`` completes them when the
instance is observed stopped (or about to be defined afresh). Only the agent calls these,
as the node itself (every read ``UNSCOPED``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv.enums import DeviceType, VolumeStatus
from cloudenv.services import events
from cloudenv.services.events import EventKind
from cloudenv.store.queries import compute as q
from cloudenv.store.queries import storage as qs
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import InstanceDevice, Volume

#: Device metadata flag: its detach completes when the guest stops.
AT_STOP = "detach_at_stop"


@dataclass(frozen=True, kw_only=True)
class DeviceTask:
    """The device a task works on, detached from the session."""

    id: int
    name: str
    target: str
    volume_id: str | None
    pool_id: str | None
    mac: str | None = None  # a NIC's (the designer finds it by this)

    @property
    def label(self) -> str:
        what = (
            f"volume {self.volume_id}"
            if self.volume_id
            else f"NIC {self.mac}"
            if self.mac
            else "CD-ROM"
        )
        return f"device {self.name} ({what})"


def device_for_task(db: Session, device_id: int) -> DeviceTask | None:
    """None when the row is gone (an earlier attempt cleaned it up)."""
    row = q.get_device(db, device_id, UNSCOPED)
    if row is None:
        return None
    volume = _volume(db, row)
    return DeviceTask(
        id=row.id,
        name=row.name,
        target=row.target or "",
        volume_id=volume.id if volume else None,
        pool_id=volume.pool_id if volume else None,
        mac=row.mac if row.type == DeviceType.NIC else None,
    )


def settle_attached(db: Session, device_id: int) -> None:
    """The device is part of the instance: an attach worked, or a detach did not."""
    row = q.get_device(db, device_id, UNSCOPED)
    if row is None:
        return
    row.metadata_ = {**row.metadata_, "status": "attached"}
    volume = _volume(db, row)
    if volume is not None:
        volume.status = VolumeStatus.AVAILABLE
    _publish(db, row, EventKind.INSTANCE_DEVICE_UPDATED)


def forget_device(db: Session, device_id: int) -> None:
    """The device is not part of the instance: a detach worked, or an attach did not. Its
    volume becomes available to any instance of the node; its data is kept."""
    row = q.get_device(db, device_id, UNSCOPED)
    if row is None:
        return
    volume = _volume(db, row)
    if volume is not None:
        volume.instance_id = None
        volume.status = VolumeStatus.AVAILABLE
    db.delete(row)
    _publish(db, row, EventKind.INSTANCE_DEVICE_DELETED)


def detach_at_stop(db: Session, device_id: int) -> None:
    """The device is out of the persistent definition, but the running guest still has it:
    it stays listed (detaching) and its volume stays claimed until the guest stops."""
    row = q.get_device(db, device_id, UNSCOPED)
    if row is None:
        return
    row.metadata_ = {**row.metadata_, "status": "detaching", AT_STOP: True}
    _publish(db, row, EventKind.INSTANCE_DEVICE_UPDATED)


def finish_detaches_at_stop(db: Session, instance_id: str) -> None:
    """The guest is stopped: devices waiting for that are gone; their volumes are free."""
    for row in q.devices(db, instance_id, UNSCOPED):
        if row.metadata_.get(AT_STOP):
            forget_device(db, row.id)


def leaves_at_stop(row: InstanceDevice) -> bool:
    """True for a device whose detach waits for the guest to stop (not defined again)."""
    return bool(row.metadata_.get(AT_STOP))


def _volume(db: Session, row: InstanceDevice) -> Volume | None:
    if row.type != DeviceType.STORAGE_VOLUME or not row.resource_id:
        return None
    return qs.get_volume(db, row.resource_id, UNSCOPED)


def _publish(db: Session, row: InstanceDevice, event: EventKind) -> None:
    instance = q.get_instance(db, row.instance_id, UNSCOPED)
    events.publish(
        db,
        event,
        organization_id=instance.organization_id if instance else None,
        target_id=row.instance_id,
        data=events.instance_data(instance.node_id if instance else None, device=row.name),
    )
