"""Instance devices: list, attach a volume or CD-ROM, rename, detach
(``/v1/instances/{id}/devices/``; the trailing slash is optional)."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.devices import (
    Device,
    DeviceAttached,
    DeviceCreate,
    DeviceDetached,
    DeviceUpdate,
)
from cloudenv.services.compute import devices
from cloudenv.services.compute.devices import DeviceRequest, DeviceView
from cloudenv.services.partial import KEEP

router = APIRouter(tags=["devices"])
PATH = "/v1/instances/{instance_id}/devices"


def _out(view: DeviceView) -> Device:
    return Device.model_validate(view)


@router.get(PATH, response_model=list[Device], name="instance.device_list")
def list_devices(
    instance_id: str, db: Db, principal: CurrentPrincipal, node_id: str | None = None
) -> list[Device]:
    return [_out(v) for v in devices.list_devices(db, principal, instance_id)]


@router.post(PATH, response_model=DeviceAttached, status_code=202, name="instance.device_attach")
def attach(
    instance_id: str,
    body: DeviceCreate,
    db: Db,
    principal: CurrentPrincipal,
    node_id: str | None = None,
) -> DeviceAttached:
    """A storage volume (type 2) or a CD-ROM (type 7); live when the instance runs and the
    bus allows, else ``needs_reboot``."""
    request = DeviceRequest(
        name=body.name,
        type=body.type,
        data=body.metadata.data,
        description=body.description,
        live=body.live,
    )
    change = devices.attach_device(db, principal, instance_id, request)
    return DeviceAttached(
        name=change.name, needs_reboot=change.needs_reboot, task_id=change.task.id
    )


@router.patch(PATH + "/{name}", response_model=Device, name="instance.device_update")
def update(
    instance_id: str,
    name: str,
    body: DeviceUpdate,
    db: Db,
    principal: CurrentPrincipal,
    node_id: str | None = None,
) -> Device:
    view = devices.update_device(
        db,
        principal,
        instance_id,
        name,
        new_name=body.new_name if body.new_name is not None else KEEP,
        description=body.description if body.description is not None else KEEP,
    )
    return _out(view)


@router.delete(
    PATH + "/{name}", response_model=DeviceDetached, status_code=202, name="instance.device_detach"
)
def detach(
    instance_id: str,
    name: str,
    db: Db,
    principal: CurrentPrincipal,
    live: bool = True,
    node_id: str | None = None,
    confirm: ConfirmQuery = None,
) -> DeviceDetached:
    """Not the root volume; a detached volume stays, available to any instance of the node."""
    change = devices.detach_device(db, principal, instance_id, name, live=live, confirm=confirm)
    return DeviceDetached(needs_reboot=change.needs_reboot, task_id=change.task.id)
