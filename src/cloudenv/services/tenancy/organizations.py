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
    """Every visible organization the caller's policies allow listing, with the
    datacenters, clusters and nodes they allow reading (4 queries)."""
    return readable_trees(principal, scope_trees(db, principal.scope))


def scope_trees(db: Session, scope: q.Scope) -> list[OrganizationTree]:
    """Every organization ``scope`` sees, whole: what the tree's cache keeps per scope,
    before each caller's policies filter it (``readable_trees``)."""
    return _trees(db, scope, q.organizations(db, scope))


def get_tree(db: Session, principal: Principal, organization_id: str) -> OrganizationTree:
    org = _load(db, principal, organization_id)
    authorize(principal, Action.ORGANIZATION_READ, org.id)
    return readable_trees(principal, _trees(db, principal.scope, [org]), organizations=None)[0]


def reads_whole_tree(principal: Principal) -> bool:
    """Whether the caller's policies allow listing every organization and reading every
    datacenter, cluster and node it sees: then the tree needs no filtering (and is served
    from the cached bytes)."""
    return all(principal.check_for(a) is None for a in (Action.ORGANIZATION_LIST, *TREE_READS))


#: What reading each level below an organization takes.
TREE_READS = (Action.DATACENTER_READ, Action.CLUSTER_READ, Action.NODE_READ)


def readable_trees(
    principal: Principal,
    trees: Sequence[OrganizationTree],
    *,
    organizations: Action | None = Action.ORGANIZATION_LIST,
) -> list[OrganizationTree]:
    """``trees`` with only what the caller's policies allow: each organization by
    ``organizations`` (listing them; None: already checked), its datacenters, clusters
    and nodes each by its ``*.read`` at its path, each judged on its own, so a node may
    show under a cluster that does not."""
    org_check = principal.check_for(organizations) if organizations else None
    dc_check, cluster_check, node_check = (principal.check_for(a) for a in TREE_READS)
    if org_check is dc_check is cluster_check is node_check is None:
        return list(trees)
    kept = []
    for tree in trees:
        org = tree.organization.id
        if org_check is not None and not org_check((org,)):
            continue
        datacenters = tree.datacenters
        if dc_check is not None:
            datacenters = [d for d in datacenters if dc_check((org, d.id))]
        clusters = tree.clusters
        if cluster_check is not None:
            clusters = [c for c in clusters if cluster_check((org, c.datacenter_id, c.id))]
        nodes = tree.nodes
        if node_check is not None:
            place = {c.id: c.datacenter_id for c in tree.clusters}
            nodes = [
                n
                for n in nodes
                if node_check((org, place.get(n.cluster_id, ""), n.cluster_id, n.id))
            ]
        kept.append(OrganizationTree(tree.organization, datacenters, clusters, nodes))
    return kept


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
    # What they just changed, shown back even without organization.read.
    trees = _trees(db, principal.scope, [org])
    return readable_trees(principal, trees, organizations=None)[0]


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


def _trees(db: Session, scope: q.Scope, orgs: Sequence[Organization]) -> list[OrganizationTree]:
    ids = [o.id for o in orgs]
    now = clock.now()
    dcs = group_by([datacenter_view(d) for d in q.datacenters(db, scope, ids)], "organization_id")
    node_views = [node_view(n, now) for n in q.node_summaries(db, scope, organization_ids=ids)]
    nodes_by_cluster = group_by(node_views, "cluster_id")
    clusters = group_by(
        [
            cluster_view(c, nodes_by_cluster.get(c.id, []))
            for c in q.clusters(db, scope, organization_ids=ids)
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
