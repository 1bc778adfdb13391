"""What the tenancy services return: plain frozen records with every field a client
sees, derived values (a node's liveness, a cluster's health) already computed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Row
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.services import events
from cloudenv.services.monitoring.health import Health, liveness_only
from cloudenv.store.queries import tenancy as q
from cloudenv.store.tables import Cluster, Datacenter, Organization

#: A node whose agent has not reported for this long is shown as not alive.
NODE_ALIVE_WINDOW = timedelta(seconds=30)


@dataclass(frozen=True)
class OrganizationView:
    id: str
    name: str
    description: str
    creation: datetime
    is_root: bool


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class DatacenterView:
    id: str
    organization_id: str
    name: str
    description: str
    location: Location | None
    creation: datetime


@dataclass(frozen=True)
class ClusterView:
    id: str
    organization_id: str
    datacenter_id: str
    name: str
    description: str
    creation: datetime
    node_count: int
    fault_tolerance: int
    standalone: bool
    leader_id: str | None
    has_leader: bool
    health_status: str
    #: Sentences saying why the cluster is not healthy (``services.monitoring.health``).
    health_reasons: tuple[str, ...] = ()


class NodeView(NamedTuple):
    """A named tuple, not a frozen dataclass: the tree builds thousands, and a tuple is
    made in a fraction of the time."""

    id: str
    organization_id: str
    cluster_id: str
    name: str
    description: str
    ip_address: str | None
    wol_mac: str | None
    creation: datetime
    alive: bool
    last_seen: datetime | None
    joining: bool
    ssh_key: str | None
    client_cert: str | None


@dataclass(frozen=True)
class OrganizationTree:
    organization: OrganizationView
    datacenters: Sequence[DatacenterView]
    clusters: Sequence[ClusterView]
    nodes: Sequence[NodeView]


def organization_view(org: Organization) -> OrganizationView:
    return OrganizationView(org.id, org.name, org.description, org.creation, org.is_root)


def datacenter_view(dc: Datacenter) -> DatacenterView:
    location = None
    if dc.latitude is not None and dc.longitude is not None:
        location = Location(dc.latitude, dc.longitude)
    return DatacenterView(dc.id, dc.organization_id, dc.name, dc.description, location, dc.creation)


class NodeColumns(Protocol):
    """A node row or a light summary row (``store.queries.tenancy.node_summaries``)."""

    @property
    def id(self) -> str: ...
    @property
    def organization_id(self) -> str: ...
    @property
    def cluster_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def ip_address(self) -> str | None: ...
    @property
    def wol_mac(self) -> str | None: ...
    @property
    def creation(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime | None: ...
    @property
    def joining(self) -> bool: ...
    @property
    def ssh_key(self) -> str | None: ...
    @property
    def client_cert(self) -> str | None: ...


def node_is_alive(node: NodeColumns, now: datetime | None = None) -> bool:
    if node.last_seen is None:
        return False
    return (now or clock.now()) - node.last_seen <= NODE_ALIVE_WINDOW


def node_view(node: NodeColumns | Row[Any], now: datetime | None = None) -> NodeView:
    if isinstance(node, Row):
        # A ``node_summaries`` row: by position (NODE_SUMMARY_COLUMNS' order, pinned by
        # tests/unit/api/test_rendering.py), many times faster than by name.
        (id_, org_id, cluster_id, name, description, ip, mac, creation, last_seen) = node[:9]
        joining, ssh_key, client_cert = node[9:]
    else:
        id_, org_id, cluster_id, name = node.id, node.organization_id, node.cluster_id, node.name
        description, ip, mac, creation = (
            node.description, node.ip_address, node.wol_mac, node.creation
        )  # fmt: skip
        last_seen, joining, ssh_key, client_cert = (
            node.last_seen, node.joining, node.ssh_key, node.client_cert
        )  # fmt: skip
    alive = last_seen is not None and (now or clock.now()) - last_seen <= NODE_ALIVE_WINDOW
    return NodeView(
        id_, org_id, cluster_id, name, description, ip, mac, creation, alive, last_seen,
        joining, ssh_key, client_cert,
    )  # fmt: skip


def cluster_view(
    cluster: Cluster, nodes: Sequence[NodeView], health: Health | None = None
) -> ClusterView:
    """``health`` as ``services.monitoring.health.clusters_health`` judged it; without
    it, judged from the nodes' heartbeats alone (for views that don't show it)."""
    health = health or liveness_only(nodes)
    # A cluster keeps quorum while a majority of its nodes is up.
    fault_tolerance = (len(nodes) - 1) // 2
    leader = cluster.leader_id or (nodes[0].id if len(nodes) == 1 else None)
    return ClusterView(
        id=cluster.id,
        organization_id=cluster.organization_id,
        datacenter_id=cluster.datacenter_id,
        name=cluster.name,
        description=cluster.description,
        creation=cluster.creation,
        node_count=len(nodes),
        fault_tolerance=fault_tolerance,
        standalone=len(nodes) <= 1,
        leader_id=leader,
        has_leader=leader is not None,
        health_status=health.status.value,
        health_reasons=health.reasons,
    )


def group_by(items: Sequence[Any], key: str) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for item in items:
        grouped.setdefault(getattr(item, key), []).append(item)
    return grouped


@dataclass(frozen=True)
class TreeVersion:
    """What the resource tree shows changes only with one of these: a tree event (every
    change to an organization, datacenter, cluster or node publishes one in its own
    transaction, whichever node makes it) or a heartbeat (which writes ``last_seen``
    without an event)."""

    event_id: int
    heartbeats: tuple[int, float]


def tree_version(db: Session) -> TreeVersion:
    return TreeVersion(q.latest_tree_event_id(db), q.heartbeat_signature(db))


def tree_valid_until(db: Session, trees: Sequence[OrganizationTree]) -> datetime | None:
    """When the first node shown alive turns not-alive without any write (its heartbeat
    window runs out), or the late-commit bound off SQLite (``events.late_commit_bound``),
    whichever comes first; None if neither applies."""
    ends = [
        node.last_seen + NODE_ALIVE_WINDOW
        for tree in trees
        for node in tree.nodes
        if node.alive and node.last_seen is not None
    ]
    late = events.late_commit_bound(db)
    if late is not None:
        ends.append(late)
    return min(ends, default=None)
