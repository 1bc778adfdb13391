"""Clusters: groups of nodes that share storage pools and workloads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import NotFound
from cloudenv.services.access import Action, Principal, authorize, readable
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.services.monitoring.health import clusters_health
from cloudenv.services.partial import KEEP, Keep
from cloudenv.services.tenancy.renaming import rename
from cloudenv.services.tenancy.views import ClusterView, cluster_view, group_by, node_view
from cloudenv.services.validation import CLUSTER_NAME
from cloudenv.store.queries import tenancy as q
from cloudenv.store.tables import Cluster


@dataclass(frozen=True)
class ClusterHardware:
    """Capacity summed over the cluster's nodes; ``partial`` when a node did not report."""

    partial: bool
    vcpus: int
    memory_gb: int
    storage_gb: int


def list_clusters(
    db: Session, principal: Principal, datacenter_id: str | None = None
) -> list[ClusterView]:
    """The clusters whose ``cluster.read`` the caller's policies allow."""
    clusters = q.clusters(db, principal.scope, datacenter_id=datacenter_id)
    return _views(db, principal, readable(principal, Action.CLUSTER_READ, clusters, _path))


def get_cluster(db: Session, principal: Principal, cluster_id: str) -> ClusterView:
    return _views(db, principal, [_load(db, principal, cluster_id, Action.CLUSTER_READ)])[0]


def update_cluster(
    db: Session,
    principal: Principal,
    cluster_id: str,
    *,
    name: str | Keep = KEEP,
    description: str | Keep = KEEP,
) -> ClusterView:
    cluster = _load(db, principal, cluster_id, Action.CLUSTER_UPDATE)
    rename(
        cluster,
        rule=CLUSTER_NAME,
        name=name,
        description=description,
        taken=lambda wanted: q.name_taken(
            db, Cluster, cluster.organization_id, wanted, but=cluster.id
        ),
        taken_message="Another cluster of this organization is named {name}; choose another name.",
    )
    record_change(
        db,
        principal,
        Action.CLUSTER_UPDATE,
        event=EventKind.CLUSTER_UPDATED,
        target_id=cluster.id,
        organization_id=cluster.organization_id,
    )
    return get_cluster(db, principal, cluster.id)


def cluster_hardware(db: Session, principal: Principal, cluster_id: str) -> ClusterHardware:
    cluster = _load(db, principal, cluster_id, Action.CLUSTER_READ)
    nodes = q.nodes(db, principal.scope, cluster_ids=[cluster.id])
    now = clock.now()
    partial, vcpus, memory_mb, storage_gb = False, 0, 0, 0.0
    for node in nodes:
        hw = node.hardware or {}
        if not hw or not node_view(node, now).alive:
            partial = True
        vcpus += int(hw.get("vcpus", 0))
        memory_mb += int(hw.get("memory_total_mb", 0))
        storage_gb += sum(float(d.get("size", 0)) for d in hw.get("disks", []))
    return ClusterHardware(partial, vcpus, memory_mb // 1024, int(storage_gb))


def _load(db: Session, principal: Principal, cluster_id: str, action: Action) -> Cluster:
    """The cluster through the caller's scope (NotFound), checked for ``action``."""
    cluster = q.get_cluster(db, cluster_id, principal.scope)
    if cluster is None:
        raise NotFound(f"Cluster {cluster_id} does not exist.", field="id")
    authorize(principal, action, cluster.organization_id, _path(cluster))
    return cluster


def _path(cluster: Cluster) -> tuple[str, str]:
    return (cluster.datacenter_id, cluster.id)


def _views(db: Session, principal: Principal, clusters: Sequence[Cluster]) -> list[ClusterView]:
    items = list(clusters)
    now = clock.now()
    nodes = group_by(
        [
            node_view(n, now)
            for n in q.node_summaries(db, principal.scope, cluster_ids=[c.id for c in items])
        ],
        "cluster_id",
    )
    health = clusters_health(db, nodes, principal.scope, now)
    return [cluster_view(c, nodes.get(c.id, []), health.get(c.id)) for c in items]
