"""Node and cluster health: the one place its rules and their sentences live.

A node's health comes from three things its agent writes:

- its heartbeat (``nodes.last_seen``, every ``HEARTBEAT_SECONDS``): a node not heard
  from within ``NODE_ALIVE_WINDOW`` is ``dead`` (``unknown`` if it never reported);
- what that heartbeat says about the node (``nodes.health``, :class:`HealthFacts`):
  whether libvirt answers and how much memory is available;
- the usage of its ready storage pools (``pool_nodes``, refreshed by the same agent).

An alive node is ``degraded`` when libvirt is unreachable, a ready pool is at least
``POOL_FULL_PERCENT`` full, or less than ``MEMORY_LOW_FRACTION`` of its memory is
available; else ``healthy``. Each problem is a reason: one sentence that names the node,
says what is wrong and what to do about it.

A cluster's health comes from its nodes (:func:`cluster_health`):

- ``unknown``: it has no nodes;
- ``dead``: no node is alive;
- ``unhealthy``: the alive nodes are no majority (the cluster lost its quorum), or
  none of them can run instances (libvirt unreachable on every one);
- ``degraded``: otherwise, when any node is not healthy;
- ``healthy``: every node is.

Its reasons are the cluster-wide one (if any) followed by every node's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.store.queries import health as q
from cloudenv.store.queries.scope import Scope

#: A ready storage pool at least this full (allocation over capacity, as the pools list
#: shows it) degrades its node.
POOL_FULL_PERCENT = 90.0
#: A node with less than this share of its memory available is degraded.
MEMORY_LOW_FRACTION = 0.05
#: The longest libvirt error text a reason quotes.
ERROR_TEXT_MAX = 200


class HealthStatus(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    DEAD = "dead"
    UNKNOWN = "unknown"


class Hypervisor(StrEnum):
    """What the heartbeat found of libvirt."""

    #: It answered.
    OK = "ok"
    #: The agent has a connection but libvirt did not answer through it.
    UNREACHABLE = "unreachable"
    #: The agent found no libvirt when it started and has no connection to retry: it
    #: needs a restart once libvirt runs.
    ABSENT = "absent"


@dataclass(frozen=True)
class HealthFacts:
    """What a node's heartbeat reports about itself (stored as ``nodes.health``)."""

    hypervisor: Hypervisor
    #: Why libvirt did not answer ("" when it did).
    hypervisor_error: str
    memory_total_bytes: int
    memory_available_bytes: int

    def as_json(self) -> dict[str, Any]:
        return {
            "hypervisor": self.hypervisor.value,
            "hypervisor_error": self.hypervisor_error,
            "memory_total_bytes": self.memory_total_bytes,
            "memory_available_bytes": self.memory_available_bytes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> HealthFacts | None:
        """The stored facts, or None when there are none (or they can't be read: a
        newer agent's shape is ignored rather than misread)."""
        if not data:
            return None
        try:
            return cls(
                hypervisor=Hypervisor(data["hypervisor"]),
                hypervisor_error=str(data.get("hypervisor_error", "")),
                memory_total_bytes=int(data.get("memory_total_bytes", 0)),
                memory_available_bytes=int(data.get("memory_available_bytes", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class PoolUsage:
    """A storage pool ready on a node, with what the node last read of it."""

    name: str
    capacity_bytes: int
    allocation_bytes: int

    @property
    def percent_used(self) -> float:
        return 100 * self.allocation_bytes / self.capacity_bytes if self.capacity_bytes else 0.0


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    reasons: tuple[str, ...] = ()


HEALTHY = Health(HealthStatus.HEALTHY)


class NodeLike(Protocol):
    """What the rules need of a node (``services.tenancy.views.NodeView`` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def alive(self) -> bool: ...
    @property
    def last_seen(self) -> datetime | None: ...


# The rules ----------------------------------------------------------------------------


def node_health(
    node: NodeLike,
    facts: HealthFacts | None = None,
    pools: Sequence[PoolUsage] = (),
    now: datetime | None = None,
) -> Health:
    """A node's health from its liveness, reported facts and pools (see the module)."""
    if node.alive and facts is None and not pools:
        return HEALTHY  # the common case of the tree's thousands, without a sentence
    label = node_label(node)
    if node.last_seen is None:
        return Health(
            HealthStatus.UNKNOWN,
            (
                f"{label} has never reported: start its daemon (cloudenv serve) and check "
                "that it reaches the database.",
            ),
        )
    if not node.alive:
        ago = ago_text((now or clock.now()) - node.last_seen)
        return Health(
            HealthStatus.DEAD,
            (
                f"{label} last seen {ago} ago: check that its daemon (cloudenv serve) runs "
                "and reaches the database, and that the host is up.",
            ),
        )
    reasons: list[str] = []
    if facts is not None:
        hypervisor = _hypervisor_reason(label, facts)
        if hypervisor:
            reasons.append(hypervisor)
    reasons.extend(
        f"{label}: storage pool {pool.name} is {pool.percent_used:.0f} % full "
        f"({gb_text(pool.capacity_bytes - pool.allocation_bytes)} free of "
        f"{gb_text(pool.capacity_bytes)}): free space in it or enlarge it."
        for pool in pools
        if pool.capacity_bytes > 0 and pool.percent_used >= POOL_FULL_PERCENT
    )
    if facts is not None and memory_low(facts):
        reasons.append(
            f"{label}: memory nearly exhausted ({mib_text(facts.memory_available_bytes)} of "
            f"{mib_text(facts.memory_total_bytes)} available): stop or move instances, "
            "or add memory."
        )
    return Health(HealthStatus.DEGRADED if reasons else HealthStatus.HEALTHY, tuple(reasons))


def can_run_instances(health: Health, facts: HealthFacts | None) -> bool:
    """An alive node whose libvirt answered (or that has not said otherwise)."""
    alive = health.status in (HealthStatus.HEALTHY, HealthStatus.DEGRADED)
    return alive and (facts is None or facts.hypervisor == Hypervisor.OK)


def problems(facts: HealthFacts | None, pools: Sequence[PoolUsage] = ()) -> list[str]:
    """What decides an alive node's health, in short stable words, not the figures that
    move every beat (``["libvirt:unreachable", "pool:fast-ssd", "memory"]``): when this
    changes between two heartbeats, the node's health did."""
    found = []
    if facts is not None and facts.hypervisor != Hypervisor.OK:
        found.append(f"libvirt:{facts.hypervisor.value}")
    found.extend(
        f"pool:{pool.name}"
        for pool in pools
        if pool.capacity_bytes > 0 and pool.percent_used >= POOL_FULL_PERCENT
    )
    if facts is not None and memory_low(facts):
        found.append("memory")
    return found


def memory_low(facts: HealthFacts) -> bool:
    total = facts.memory_total_bytes
    return total > 0 and facts.memory_available_bytes < MEMORY_LOW_FRACTION * total


def cluster_health(nodes: Sequence[tuple[Health, bool]]) -> Health:
    """A cluster's health from each node's health and whether it can run instances
    (:func:`can_run_instances`); see the module for the rules."""
    if not nodes:
        return Health(
            HealthStatus.UNKNOWN,
            ("The cluster has no nodes: add one (cloudenv init on a new host) to run instances.",),
        )
    node_reasons = tuple(reason for health, _ in nodes for reason in health.reasons)
    total = len(nodes)
    alive = sum(1 for h, _ in nodes if h.status in (HealthStatus.HEALTHY, HealthStatus.DEGRADED))
    if alive == 0:
        return Health(HealthStatus.DEAD, ("No node of the cluster is alive.", *node_reasons))
    if 2 * alive <= total:
        majority = total // 2 + 1
        return Health(
            HealthStatus.UNHEALTHY,
            (
                f"Only {alive} of {total} nodes are alive: the cluster has lost its majority "
                f"({majority} needed); bring its other nodes back.",
                *node_reasons,
            ),
        )
    if not any(runs for _, runs in nodes):
        return Health(
            HealthStatus.UNHEALTHY,
            ("No alive node can run instances: libvirt is unreachable on each.", *node_reasons),
        )
    if node_reasons:
        return Health(HealthStatus.DEGRADED, node_reasons)
    return HEALTHY


# Reading what the agents reported ---------------------------------------------------------


@dataclass(frozen=True)
class NodeReport:
    """A node's health with what it was judged from."""

    health: Health
    facts: HealthFacts | None

    @property
    def can_run_instances(self) -> bool:
        return can_run_instances(self.health, self.facts)


def node_reports(
    db: Session, nodes: Sequence[NodeLike], scope: Scope, now: datetime | None = None
) -> dict[str, NodeReport]:
    """Each node's health, from what its agent reported: two queries for any number."""
    ids = [n.id for n in nodes]
    reported = q.reported_health(db, ids, scope)
    pools: dict[str, list[PoolUsage]] = {}
    for node_id, name, capacity, allocation in q.ready_pool_usage(db, ids, scope):
        pools.setdefault(node_id, []).append(PoolUsage(name, capacity, allocation))
    now = now or clock.now()
    reports = {}
    for node in nodes:
        facts = HealthFacts.from_json(reported.get(node.id))
        reports[node.id] = NodeReport(node_health(node, facts, pools.get(node.id, ()), now), facts)
    return reports


def ready_pools(db: Session, node_id: str, scope: Scope) -> list[PoolUsage]:
    """The usage of the pools ready on one node, as its agent last read it."""
    return [
        PoolUsage(name, capacity, allocation)
        for _, name, capacity, allocation in q.ready_pool_usage(db, [node_id], scope)
    ]


def clusters_health(
    db: Session,
    nodes_by_cluster: Mapping[str, Sequence[NodeLike]],
    scope: Scope,
    now: datetime | None = None,
) -> dict[str, Health]:
    """The health of each cluster of ``nodes_by_cluster`` (a cluster without nodes is
    simply absent from it: ask :func:`cluster_health` with none)."""
    everyone = [n for nodes in nodes_by_cluster.values() for n in nodes]
    reports = node_reports(db, everyone, scope, now)
    return {
        cluster_id: cluster_health(
            [(reports[n.id].health, reports[n.id].can_run_instances) for n in nodes]
        )
        for cluster_id, nodes in nodes_by_cluster.items()
    }


def liveness_only(nodes: Sequence[NodeLike], now: datetime | None = None) -> Health:
    """A cluster's health from its nodes' heartbeats alone, for views that don't show
    health and must stay cheap (the resource tree)."""
    return cluster_health([(node_health(n, now=now), n.alive) for n in nodes])


# Sentences --------------------------------------------------------------------------------


def node_label(node: NodeLike) -> str:
    """How reasons name a node: its name, and its ID when that is not its name."""
    return node.id if node.name in ("", node.id) else f"{node.name} ({node.id})"


def ago_text(delta: timedelta) -> str:
    """``45 s``, ``2 min``, ``3 h``, ``4 days``: a person's sense of how long."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 120 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def gb_text(count: int) -> str:
    return f"{max(0, count) / 1024**3:.1f} GB"


def mib_text(count: int) -> str:
    return f"{max(0, count) // 1024**2} MiB"


def _hypervisor_reason(label: str, facts: HealthFacts) -> str:
    if facts.hypervisor == Hypervisor.OK:
        return ""
    why = facts.hypervisor_error.strip()
    if len(why) > ERROR_TEXT_MAX:
        why = why[: ERROR_TEXT_MAX - 1] + "…"
    detail = f" ({why.rstrip('.')})" if why else ""
    if facts.hypervisor == Hypervisor.ABSENT:
        return (
            f"{label}: libvirt unreachable since the daemon started{detail}: start it with "
            "scripts/start-libvirt.sh, then restart cloudenv serve."
        )
    return f"{label}: libvirt unreachable{detail}: start it with scripts/start-libvirt.sh."
