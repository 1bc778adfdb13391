"""Datacenters: list, create, read, edit, delete."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import Created, Empty
from cloudenv.api.schemas.tenancy import (
    Datacenter,
    DatacenterCreate,
    DatacenterDetail,
    DatacenterUpdate,
)
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.tenancy import datacenters
from cloudenv.services.tenancy.views import Location

router = APIRouter(prefix="/v1/datacenters", tags=["datacenters"])


@router.get("", response_model=list[Datacenter], name="datacenter.list")
def list_datacenters(
    db: Db, principal: CurrentPrincipal, organization_id: str | None = None
) -> list[Datacenter]:
    return [
        Datacenter.model_validate(d)
        for d in datacenters.list_datacenters(db, principal, organization_id)
    ]


@router.post("", response_model=Created, name="datacenter.create")
def create_datacenter(body: DatacenterCreate, db: Db, principal: CurrentPrincipal) -> Created:
    location = Location(body.location.latitude, body.location.longitude) if body.location else None
    dc = datacenters.create_datacenter(
        db,
        principal,
        organization_id=body.organization_id,
        name=body.name,
        description=body.description,
        location=location,
    )
    return Created(id=dc.id)


@router.get("/{datacenter_id}", response_model=DatacenterDetail, name="datacenter.read")
def get_datacenter(datacenter_id: str, db: Db, principal: CurrentPrincipal) -> DatacenterDetail:
    return DatacenterDetail.model_validate(datacenters.get_datacenter(db, principal, datacenter_id))


@router.patch("/{datacenter_id}", response_model=Datacenter, name="datacenter.update")
def update_datacenter(
    datacenter_id: str, body: DatacenterUpdate, db: Db, principal: CurrentPrincipal
) -> Datacenter:
    given = body.model_fields_set
    location: Location | Keep | None = KEEP
    if "location" in given:
        location = (
            Location(body.location.latitude, body.location.longitude) if body.location else None
        )
    view = datacenters.update_datacenter(
        db,
        principal,
        datacenter_id,
        name=body.name if body.name is not None else KEEP,
        description=body.description if body.description is not None else KEEP,
        location=location,
    )
    return Datacenter.model_validate(view)


@router.delete("/{datacenter_id}", response_model=Empty, name="datacenter.delete")
def delete_datacenter(
    datacenter_id: str, db: Db, principal: CurrentPrincipal, confirm: ConfirmQuery = None
) -> Empty:
    datacenters.delete_datacenter(db, principal, datacenter_id, confirm=confirm)
    return Empty()
