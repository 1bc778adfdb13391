"""Devices of an instance: list, attach (a NIC, a storage volume or a CD-ROM), rename, detach.

Every rule is checked here and the rows are written at once, so a name, a ``/dev`` path or
a volume can't be claimed twice; the hypervisor work is an ``instance.device_attach`` or
``instance.device_detach`` task that holds the instance by the same compare-and-swap as
power actions, and that rolls the rows back when the hypervisor refuses
(``services.compute.attachments``). This module must not call a driver.

A running instance gets a device live when its bus can be hot-plugged (virtio, scsi, usb;
a NIC always: a VM's is a PCI device, a container's a veth); a container's mount point
never (libvirt's LXC driver can't add one to a running container);
otherwise (IDE/SATA, or ``live`` false) only its persistent definition changes and the
reply says ``needs_reboot``. A stopped instance always takes the change at its next start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cloudenv.enums import DeviceType, DiskBus, InstanceType, VolumeStatus
from cloudenv.errors import Conflict, NotFound
from cloudenv.services import events, tasks
from cloudenv.services.access import Action, Principal
from cloudenv.services.compute.device_rows import (
    cdrom_row,
    check_container_device,
    check_device_name,
    device_kind,
    mount_row,
    volume_row,
)
from cloudenv.services.compute.instances import load, path_of, take_instance
from cloudenv.services.compute.interfaces import cluster_macs, nic_row
from cloudenv.services.compute.states import LABELS, InstanceState
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.validation import check_description
from cloudenv.store.queries import compute as q
from cloudenv.store.queries import storage as qs
from cloudenv.store.queries import tenancy as tq
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Instance, InstanceDevice, Task

#: Buses QEMU can add a disk to while the guest runs (IDE and SATA/AHCI can't).
HOTPLUG_BUSES = frozenset({DiskBus.VIRTIO.value, DiskBus.SCSI.value, DiskBus.USB.value})
#: Instance states in which devices may be attached or detached.
CHANGEABLE = frozenset({InstanceState.RUNNING, InstanceState.STOPPED})


@dataclass(frozen=True)
class DeviceRequest:
    """What an attach asks for: ``data`` is the product's ``metadata.data`` object."""

    name: str
    type: int
    data: Mapping[str, Any]
    description: str = ""
    live: bool = True


@dataclass(frozen=True)
class DeviceChange:
    """An accepted attach or detach: the task doing it, and whether the running guest sees
    the change only after a restart."""

    name: str
    needs_reboot: bool
    task: Task


@dataclass(frozen=True, kw_only=True)
class DeviceView:
    name: str
    instance_id: str
    type: int
    metadata: dict[str, Any]
    creation: datetime
    description: str
    resource_id: str | None
    boot_order: int
    is_boot_device: bool
    is_root: bool
    status: str  # attaching | attached | detaching


def list_devices(db: Session, principal: Principal, instance_id: str) -> list[DeviceView]:
    instance = load(db, principal, instance_id, Action.INSTANCE_READ)
    return _views(db, principal, _rows(db, principal, instance.id))


def attach_device(
    db: Session, principal: Principal, instance_id: str, request: DeviceRequest
) -> DeviceChange:
    """Record the device (volume ATTACHING) and queue the task that plugs it in."""
    instance = load(db, principal, instance_id, Action.INSTANCE_DEVICE_ATTACH)
    kind = device_kind(request.type)
    rows = _rows(db, principal, instance.id)
    name = check_device_name(request.name, rows, field="name")
    check_description(request.description)
    _check_state(instance, "attach devices")
    container = instance.type == InstanceType.LXC
    if container:
        check_container_device(kind)
    used = {r.target for r in rows if r.target}
    if kind is DeviceType.NIC:
        node = tq.get_node(db, instance.node_id, UNSCOPED)
        if node is None:
            raise NotFound(f"Node {instance.node_id} no longer exists.")
        row = nic_row(
            db,
            principal,
            instance,
            node,
            request.data,
            field="metadata.data",
            taken=cluster_macs(db, node),
        )
    elif kind is DeviceType.STORAGE_VOLUME and container:
        row = mount_row(db, principal, instance, request.data, rows)
    elif kind is DeviceType.STORAGE_VOLUME:
        row = volume_row(db, principal, instance, request.data, used)
    else:
        row = cdrom_row(db, principal, instance, request.data, used)
    row.name, row.description = name, request.description
    row.metadata_ = {**row.metadata_, "status": "attaching"}
    db.add(row)
    db.flush()
    return _queue(db, principal, instance, row, request.live, tasks.TaskKind.INSTANCE_DEVICE_ATTACH)


def update_device(
    db: Session,
    principal: Principal,
    instance_id: str,
    name: str,
    *,
    new_name: str | Keep = KEEP,
    description: str | Keep = KEEP,
) -> DeviceView:
    """Rename or describe a device; the hypervisor never sees either, so any time."""
    instance = load(db, principal, instance_id, Action.INSTANCE_DEVICE_UPDATE)
    rows = _rows(db, principal, instance.id)
    row = _find(instance, rows, name)
    if not isinstance(new_name, Keep) and new_name != row.name:
        row.name = check_device_name(new_name, rows, field="new_name")
    if not isinstance(description, Keep):
        row.description = check_description(description)
    record_change(
        db,
        principal,
        Action.INSTANCE_DEVICE_UPDATE,
        event=EventKind.INSTANCE_DEVICE_UPDATED,
        target_id=instance.id,
        organization_id=instance.organization_id,
        data=events.instance_data(instance.node_id),
    )
    return _views(db, principal, [row])[0]


def detach_device(
    db: Session,
    principal: Principal,
    instance_id: str,
    name: str,
    *,
    live: bool = True,
    confirm: str | None = None,
) -> DeviceChange:
    """Mark the device (and its volume) DETACHING and queue the task that unplugs it; the
    root volume stays (destroy the instance to free it)."""
    instance = load(db, principal, instance_id, Action.INSTANCE_DEVICE_DETACH)
    row = _find(instance, _rows(db, principal, instance.id), name)
    check_confirm(
        confirm, f"Detaching device {row.name} from instance {instance.name} ({instance.id})"
    )
    if row.is_root:
        raise Conflict(
            f"Device {row.name} of instance {instance.name} ({instance.id}) is the root "
            "volume; it can't be detached. Destroy the instance (its volumes can be kept) "
            "to free it.",
            field="name",
        )
    _check_state(instance, "detach devices")
    if row.metadata_.get("status") == "detaching":
        raise Conflict(
            f"Device {row.name} of instance {instance.name} ({instance.id}) is already being "
            "detached (a disk the running guest can't release live goes when it stops); "
            "stop the instance to finish it.",
            field="name",
        )
    if row.type == DeviceType.STORAGE_VOLUME and row.resource_id:
        volume = qs.get_volume(db, row.resource_id, principal.scope)
        if volume is not None:
            volume.status = VolumeStatus.DETACHING
    row.metadata_ = {**row.metadata_, "status": "detaching"}
    return _queue(db, principal, instance, row, live, tasks.TaskKind.INSTANCE_DEVICE_DETACH)


def _views(db: Session, principal: Principal, rows: list[InstanceDevice]) -> list[DeviceView]:
    image_ids = [r.resource_id for r in rows if r.type == DeviceType.CDROM and r.resource_id]
    names = qs.image_names(db, image_ids, principal.scope)
    return [view(row, names) for row in rows]


def view(row: InstanceDevice, image_names: Mapping[str, str]) -> DeviceView:
    if row.type == DeviceType.NIC:
        data: dict[str, Any] = {
            "vswitch_id": row.resource_id,
            "port_group_name": row.metadata_.get("port_group"),
            "mac": row.mac,
            "model": row.metadata_.get("model", "virtio"),
        }
        return _view(row, data)
    data = {
        "bus": row.bus,
        "dev": f"/dev/{row.target}" if row.target else None,
        "readonly": row.readonly or row.type == DeviceType.CDROM,
    }
    if row.type == DeviceType.STORAGE_VOLUME:
        data.update(volume_id=row.resource_id, serial=row.serial)
        if row.metadata_.get("path"):  # a container's mount point
            data.update(dev=None, path=row.metadata_["path"])
    elif row.type == DeviceType.CDROM:
        data.update(image=image_names.get(row.resource_id or ""), image_id=row.resource_id)
    return _view(row, data)


def _view(row: InstanceDevice, data: dict[str, Any]) -> DeviceView:
    return DeviceView(
        name=row.name,
        instance_id=row.instance_id,
        type=row.type,
        # the integer enum, as the Go client reads it
        metadata={"_type": row.type, "data": data},
        creation=row.creation,
        description=row.description,
        resource_id=row.resource_id,
        boot_order=row.boot_order,
        is_boot_device=row.boot_order > 0,
        is_root=row.is_root,
        status=str(row.metadata_.get("status", "attached")),
    )


def _queue(
    db: Session,
    principal: Principal,
    instance: Instance,
    row: InstanceDevice,
    live: bool,
    kind: tasks.TaskKind,
) -> DeviceChange:
    running = instance.state == InstanceState.RUNNING
    live = running and live and (row.type == DeviceType.NIC or row.bus in HOTPLUG_BUSES)
    task = tasks.queue_task(
        db,
        principal,
        kind,
        node_id=instance.node_id,
        target_id=instance.id,
        organization_id=instance.organization_id,
        path=path_of(db, instance),
        params={"device_id": row.id, "live": live},
    )
    state = InstanceState(instance.state)
    take_instance(db, instance, task, preempt=False, state=state, desired=instance.desired_state)
    return DeviceChange(row.name, running and not live, task)


def _check_state(instance: Instance, what: str) -> None:
    state = InstanceState(instance.state)
    if state not in CHANGEABLE:
        raise Conflict(
            f"Instance {instance.name} ({instance.id}) is {LABELS[state]}; {what} when it is "
            "running or stopped."
        )


def _find(instance: Instance, rows: list[InstanceDevice], name: str) -> InstanceDevice:
    row = next((r for r in rows if r.name == name), None)
    if row is None:
        raise NotFound(
            f"Instance {instance.name} ({instance.id}) has no device named {name!r}.",
            field="name",
        )
    return row


def _rows(db: Session, principal: Principal, instance_id: str) -> list[InstanceDevice]:
    return q.devices(db, instance_id, principal.scope)
