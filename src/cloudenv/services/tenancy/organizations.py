"""Organizations: fully isolated tenants. Creating and deleting them is API-only and
belongs to the root organization; the tree listing is what every UI and client reads."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import Conflict, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.tenancy.renaming import rename
from cloudenv.services.tenancy.views import (
    OrganizationTree,
    cluster_view,
    datacenter_view,
    group_by,
    node_view,
    organization_view,
)
from cloudenv.services.validation import ORGANIZATION_NAME, check_description
from cloudenv.store.queries import tenancy as q
from cloudenv.store.tables import Datacenter, Organization


def list_trees(db: Session, principal: Principal) -> list[OrganizationTree]:
    """Every visible organization with its datacenters, clusters and nodes (4 queries)."""
    return _trees(db, principal, q.organizations(db, principal.scope))


def get_tree(db: Session, principal: Principal, organization_id: str) -> OrganizationTree:
    return _trees(db, principal, [_load(db, principal, organization_id)])[0]


def create_organization(
    db: Session, principal: Principal, *, name: str, description: str = ""
) -> Organization:
    authorize(principal, Action.ORGANIZATION_CREATE, None)
    ORGANIZATION_NAME.check(name)
    check_description(description)
    if q.organization_by_name(db, name) is not None:
        raise Conflict(
            f"An organization named {name!r} already exists; choose another name.", field="name"
        )
    org = Organization(
        id=new_id(Prefix.ORGANIZATION),
        name=name,
        description=description,
        is_root=False,
        creation=clock.now(),
    )
    db.add(org)
    db.flush()
    record_change(
        db,
        principal,
        Action.ORGANIZATION_CREATE,
        event=EventKind.ORGANIZATION_CREATED,
        target_id=org.id,
        organization_id=org.id,
    )
    return org


def update_organization(
    db: Session,
    principal: Principal,
    organization_id: str,
    *,
    name: str | Keep = KEEP,
    description: str | Keep = KEEP,
) -> OrganizationTree:
    org = _load(db, principal, organization_id)
    authorize(principal, Action.ORGANIZATION_UPDATE, org.id)
    rename(
        org,
        rule=ORGANIZATION_NAME,
        name=name,
        description=description,
        taken=lambda wanted: (
            (other := q.organization_by_name(db, wanted)) is not None and other.id != org.id
        ),
        taken_message="An organization named {name} already exists; choose another name.",
    )
    record_change(
        db,
        principal,
        Action.ORGANIZATION_UPDATE,
        event=EventKind.ORGANIZATION_UPDATED,
        target_id=org.id,
        organization_id=org.id,
    )
    return get_tree(db, principal, org.id)


def delete_organization(
    db: Session, principal: Principal, organization_id: str, *, confirm: str | None = None
) -> None:
    org = _load(db, principal, organization_id)
    authorize(principal, Action.ORGANIZATION_DELETE, org.id)
    check_confirm(confirm, f"Deleting organization {org.name} ({org.id})")
    if org.is_root:
        raise Conflict(
            f"Organization {org.name} ({org.id}) is the root organization; "
            "it owns the deployment and cannot be deleted."
        )
    count = q.count_children(db, Datacenter.organization_id, org.id)
    if count:
        raise Conflict(
            f"Organization {org.name} ({org.id}) still has {count} datacenter(s); "
            "delete them first."
        )
    db.delete(org)
    record_change(
        db,
        principal,
        Action.ORGANIZATION_DELETE,
        event=EventKind.ORGANIZATION_DELETED,
        target_id=org.id,
        organization_id=org.id,
    )


def _load(db: Session, principal: Principal, organization_id: str) -> Organization:
    org = q.get_organization(db, organization_id, principal.scope)
    if org is None:
        raise NotFound(f"Organization {organization_id} does not exist.", field="id")
    return org


def _trees(
    db: Session, principal: Principal, orgs: Sequence[Organization]
) -> list[OrganizationTree]:
    ids = [o.id for o in orgs]
    now = clock.now()
    dcs = group_by(
        [datacenter_view(d) for d in q.datacenters(db, principal.scope, ids)], "organization_id"
    )
    node_views = [
        node_view(n, now) for n in q.node_summaries(db, principal.scope, organization_ids=ids)
    ]
    nodes_by_cluster = group_by(node_views, "cluster_id")
    clusters = group_by(
        [
            cluster_view(c, nodes_by_cluster.get(c.id, []))
            for c in q.clusters(db, principal.scope, organization_ids=ids)
        ],
        "organization_id",
    )
    nodes_by_org = group_by(node_views, "organization_id")
    return [
        OrganizationTree(
            organization=organization_view(o),
            datacenters=dcs.get(o.id, []),
            clusters=clusters.get(o.id, []),
            nodes=nodes_by_org.get(o.id, []),
        )
        for o in orgs
    ]
