"""Datacenters: groups of clusters by place or purpose, with an optional map location."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import Conflict, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services.access import Action, Principal, authorize, readable
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.monitoring.health import clusters_health
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.tenancy.renaming import rename
from cloudenv.services.tenancy.views import (
    ClusterView,
    DatacenterView,
    Location,
    cluster_view,
    datacenter_view,
    group_by,
    node_view,
)
from cloudenv.services.validation import (
    DATACENTER_NAME,
    check_description,
    check_location,
)
from cloudenv.store.queries import tenancy as q
from cloudenv.store.tables import Cluster, Datacenter


@dataclass(frozen=True)
class DatacenterDetail:
    datacenter: DatacenterView
    clusters: list[ClusterView]


def list_datacenters(
    db: Session, principal: Principal, organization_id: str | None = None
) -> list[DatacenterView]:
    """The datacenters whose ``datacenter.read`` the caller's policies allow."""
    ids = None if organization_id is None else [organization_id]
    found = q.datacenters(db, principal.scope, ids)
    return [
        datacenter_view(d)
        for d in readable(principal, Action.DATACENTER_READ, found, lambda d: (d.id,))
    ]


def get_datacenter(db: Session, principal: Principal, datacenter_id: str) -> DatacenterDetail:
    """The datacenter and those of its clusters the caller's policies allow reading."""
    dc = _load(db, principal, datacenter_id)
    authorize(principal, Action.DATACENTER_READ, dc.organization_id, (dc.id,))
    clusters = readable(
        principal,
        Action.CLUSTER_READ,
        q.clusters(db, principal.scope, datacenter_id=dc.id),
        lambda c: (c.datacenter_id, c.id),
    )
    now = clock.now()
    nodes = group_by(
        [
            node_view(n, now)
            for n in q.node_summaries(db, principal.scope, cluster_ids=[c.id for c in clusters])
        ],
        "cluster_id",
    )
    health = clusters_health(db, nodes, principal.scope, now)
    return DatacenterDetail(
        datacenter_view(dc),
        [cluster_view(c, nodes.get(c.id, []), health.get(c.id)) for c in clusters],
    )


def create_datacenter(
    db: Session,
    principal: Principal,
    *,
    organization_id: str,
    name: str,
    description: str = "",
    location: Location | None = None,
) -> Datacenter:
    org = q.get_organization(db, organization_id, principal.scope)
    if org is None:
        raise NotFound(f"Organization {organization_id} does not exist.", field="organization_id")
    authorize(principal, Action.DATACENTER_CREATE, org.id)
    DATACENTER_NAME.check(name)
    check_description(description)
    if location is not None:
        check_location(location.latitude, location.longitude)
    if q.name_taken(db, Datacenter, org.id, name):
        raise Conflict(
            f"Organization {org.name} already has a datacenter named {name!r}; "
            "choose another name.",
            field="name",
        )
    dc = Datacenter(
        id=new_id(Prefix.DATACENTER),
        organization_id=org.id,
        name=name,
        description=description,
        latitude=location.latitude if location else None,
        longitude=location.longitude if location else None,
        creation=clock.now(),
    )
    db.add(dc)
    record_change(
        db,
        principal,
        Action.DATACENTER_CREATE,
        event=EventKind.DATACENTER_CREATED,
        target_id=dc.id,
        organization_id=org.id,
    )
    return dc


def update_datacenter(
    db: Session,
    principal: Principal,
    datacenter_id: str,
    *,
    name: str | Keep = KEEP,
    description: str | Keep = KEEP,
    location: Location | Keep | None = KEEP,
) -> DatacenterView:
    """Change the given fields; ``location=None`` clears the location."""
    dc = _load(db, principal, datacenter_id)
    authorize(principal, Action.DATACENTER_UPDATE, dc.organization_id, (dc.id,))
    rename(
        dc,
        rule=DATACENTER_NAME,
        name=name,
        description=description,
        taken=lambda wanted: q.name_taken(db, Datacenter, dc.organization_id, wanted, but=dc.id),
        taken_message="Another datacenter of this organization is named {name}; "
        "choose another name.",
    )
    if not isinstance(location, Keep):
        if location is None:
            dc.latitude = dc.longitude = None
        else:
            dc.latitude, dc.longitude = check_location(location.latitude, location.longitude)
    record_change(
        db,
        principal,
        Action.DATACENTER_UPDATE,
        event=EventKind.DATACENTER_UPDATED,
        target_id=dc.id,
        organization_id=dc.organization_id,
    )
    return datacenter_view(dc)


def delete_datacenter(
    db: Session, principal: Principal, datacenter_id: str, *, confirm: str | None = None
) -> None:
    dc = _load(db, principal, datacenter_id)
    authorize(principal, Action.DATACENTER_DELETE, dc.organization_id, (dc.id,))
    check_confirm(confirm, f"Deleting datacenter {dc.name} ({dc.id})")
    count = q.count_children(db, Cluster.datacenter_id, dc.id)
    if count:
        raise Conflict(
            f"Datacenter {dc.name} ({dc.id}) still has {count} cluster(s); "
            "move or remove them first."
        )
    db.delete(dc)
    record_change(
        db,
        principal,
        Action.DATACENTER_DELETE,
        event=EventKind.DATACENTER_DELETED,
        target_id=dc.id,
        organization_id=dc.organization_id,
    )


def _load(db: Session, principal: Principal, datacenter_id: str) -> Datacenter:
    dc = q.get_datacenter(db, datacenter_id, principal.scope)
    if dc is None:
        raise NotFound(f"Datacenter {datacenter_id} does not exist.", field="id")
    return dc
