"""Reading usage: a node's or an instance's series over a range, a cluster's current
usage, a node's current reading with its instances'.

A range is read from the one tier that shows it in a few hundred points
(``layout.Interval.tier``). The newest part of a range, after the last bucket rolled up
into that tier (today, for a year's range), is made at read time from the tiers below,
down to the raw samples, so every range reaches the last pass: at most a few dozen small
rows more.

A node's series read only the node's own column of its rows; an instance's read its
node's rows and unpack only that instance's values. Times are Unix seconds, sizes bytes,
rates bytes per second, CPU in percent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import NotFound
from cloudenv.services import paths
from cloudenv.services.access import Action, Principal, authorize, full_path
from cloudenv.services.compute.instances import load
from cloudenv.services.compute.states import InstanceState
from cloudenv.services.monitoring.layout import (
    INSTANCE_FIELDS,
    INSTANCE_SERIES,
    NODE_FIELDS,
    NODE_SERIES,
    TIERS,
    Agg,
    Column,
    Interval,
    Take,
    Tier,
    single_agg,
    subject_agg,
)
from cloudenv.services.monitoring.store import (
    InstanceReading,
    Reading,
    latest,
    latest_instance,
)
from cloudenv.services.tenancy.nodes import require_node
from cloudenv.store.queries import metrics as q
from cloudenv.store.queries import tenancy as tq
from cloudenv.store.tables import Node

#: A newest reading older than this is no current reading: the node's agent stopped
#: sampling (six passes missed), or the node is down.
STALE_SECONDS = 60


@dataclass(frozen=True)
class Series:
    """One chart: ``data`` rows are [time, *columns]; ``header`` names them."""

    name: str
    step: int
    header: list[str]
    start: int
    end: int
    data: list[list[float]]


Reader = Callable[[Tier, int, int], list[tuple[int, Agg]]]


def node_history(
    db: Session, principal: Principal, node_id: str, interval: Interval
) -> list[Series]:
    node = _node(db, principal, node_id)
    scope, width = principal.scope, len(NODE_FIELDS)

    def read(tier: Tier, since: int, until: int) -> list[tuple[int, Agg]]:
        rows = q.node_values(db, node.id, tier.level, since, until, scope)
        raw = tier.level == 0
        return [(int(start), single_agg(blob, width, raw=raw)) for start, blob in rows]

    return _history(db, node.id, read, interval, NODE_SERIES, NODE_FIELDS)


def instance_history(
    db: Session, principal: Principal, instance_id: str, interval: Interval
) -> list[Series]:
    instance = load(db, principal, instance_id, Action.METRICS_READ)
    scope, width, subject = principal.scope, len(INSTANCE_FIELDS), instance.id

    def read(tier: Tier, since: int, until: int) -> list[tuple[int, Agg]]:
        rows = q.instance_values(db, instance.node_id, tier.level, since, until, scope)
        raw, points = tier.level == 0, []
        for start, subjects, blob in rows:
            agg = subject_agg(subjects, blob, subject, width, raw=raw)
            if agg is not None:
                points.append((int(start), agg))
        return points

    return _history(db, instance.node_id, read, interval, INSTANCE_SERIES, INSTANCE_FIELDS)


def _history(
    db: Session,
    node_id: str,
    read: Reader,
    interval: Interval,
    series: dict[str, tuple[Column, ...]],
    fields: Sequence[str],
) -> list[Series]:
    now = int(clock.now().timestamp())
    tier = interval.tier
    since = _floor(now - interval.seconds, tier.step)
    spans = q.tier_spans(db, node_id, None)
    points = _points(read, spans, tier, since, now + 1)
    index = {f: i for i, f in enumerate(fields)}
    shown = []
    for name, columns in series.items():
        picks = [(index[c.field], c.take is Take.MAXIMUM) for c in columns]
        data = [
            [float(start), *(round(a.maxes[i] if top else a.average(i), 2) for i, top in picks)]
            for start, a in points
        ]
        header = ["time", *(c.name for c in columns)]
        shown.append(Series(name, tier.step, header, since, now, data))
    return shown


def _points(
    read: Reader, spans: dict[int, tuple[int, int]], tier: Tier, since: int, until: int
) -> list[tuple[int, Agg]]:
    """The buckets of ``tier`` in [since, until): its rows, then the buckets it has not
    rolled up yet made from the tiers below (recursively, down to the raw samples)."""
    points = read(tier, since, until)
    if tier.level == 0:
        return points
    done = spans.get(tier.level)
    tail = max(since, done[1] + tier.step) if done is not None else since
    if tail >= until:
        return points
    buckets: dict[int, Agg] = {}
    for start, agg in _points(read, spans, TIERS[tier.level - 1], tail, until):
        bucket = _floor(start, tier.step)
        held = buckets.get(bucket)
        buckets[bucket] = agg if held is None else held.merged(agg)
    return points + sorted(buckets.items())


def _floor(moment: int, step: int) -> int:
    return moment - moment % step


def _node(db: Session, principal: Principal, node_id: str) -> Node:
    node = require_node(db, principal, node_id)
    authorize(principal, Action.METRICS_READ, node.organization_id, paths.node_path(db, node.id))
    return node


# Current usage ------------------------------------------------------------------------------


def fresh(time: datetime, now: datetime) -> bool:
    return now - time <= timedelta(seconds=STALE_SECONDS)


@dataclass(frozen=True)
class NodeUsage:
    """A node's current use, in percent (what the cluster's overview shows)."""

    id: str
    cpu: float
    memory: float
    storage: float


@dataclass(frozen=True)
class ClusterUsage:
    #: Some node of the cluster has no current reading (down, or its agent stopped).
    partial: bool
    nodes: list[NodeUsage]
    total: NodeUsage  # id: the cluster's


def cluster_usage(db: Session, principal: Principal, cluster_id: str) -> ClusterUsage:
    """Each node's CPU, memory and storage use in percent, and the cluster's: CPU
    weighted by the nodes' CPUs, memory and storage as used over total bytes."""
    cluster = tq.get_cluster(db, cluster_id, principal.scope)
    if cluster is None:
        raise NotFound(f"Cluster {cluster_id} does not exist.", field="id")
    where = paths.cluster_path(cluster.datacenter_id, cluster.id)
    authorize(principal, Action.METRICS_READ, cluster.organization_id, where)
    labels = q.node_labels(db, principal.scope, cluster_id=cluster.id)
    readings = latest(db, [n[0] for n in labels], principal.scope, instances=False)
    now = clock.now()
    partial, usages = False, []
    cpu_busy = cpus = memory_used = memory_total = storage_used = storage_total = 0.0
    for node in labels:
        found = readings.get(node[0])
        if found is None or not fresh(found[0], now):
            partial = True
            continue
        reading = found[1].node
        usages.append(
            NodeUsage(
                node[0],
                round(reading.cpu, 2),
                _percent(reading.memory_used, reading.memory_total),
                _percent(reading.storage_used, reading.storage_total),
            )
        )
        cpu_busy += reading.cpu * max(reading.cpus, 1)
        cpus += max(reading.cpus, 1)
        memory_used += reading.memory_used
        memory_total += reading.memory_total
        storage_used += reading.storage_used
        storage_total += reading.storage_total
    total = NodeUsage(
        cluster.id,
        round(cpu_busy / cpus, 2) if cpus else 0.0,
        _percent(memory_used, memory_total),
        _percent(storage_used, storage_total),
    )
    return ClusterUsage(partial, usages, total)


def _percent(used: float, total: float) -> float:
    return round(100.0 * used / total, 2) if total > 0 else 0.0


@dataclass(frozen=True)
class InstanceNow:
    id: str
    name: str
    reading: InstanceReading


@dataclass(frozen=True)
class NodeNow:
    """A node's newest reading (None when it has no current one) and its running
    instances' that the caller may read, by name."""

    node_id: str
    time: datetime | None
    reading: Reading | None
    instances: list[InstanceNow]


def node_now(db: Session, principal: Principal, node_id: str) -> NodeNow:
    node = _node(db, principal, node_id)
    found = latest(db, [node.id], principal.scope).get(node.id)
    if found is None or not fresh(found[0], clock.now()):
        return NodeNow(node.id, None, None, [])
    time, reading = found
    check = principal.check_for(Action.METRICS_READ)
    node_path = paths.node_path(db, node.id)
    shown = []
    for instance_id, name, _node_id, organization_id, _state in q.instance_labels(
        db, [node.id], principal.scope
    ):
        current = reading.instances.get(instance_id)
        if current is None:
            continue
        if check is not None and not check(full_path(organization_id, (*node_path, instance_id))):
            continue
        shown.append(InstanceNow(instance_id, name, current))
    return NodeNow(node.id, time, reading, shown)


def instance_now(
    db: Session, principal: Principal, instance_id: str
) -> tuple[datetime, InstanceReading] | None:
    """The instance's newest reading, if it runs and its node sampled it lately (the
    caller may read the instance: ``instance.read``)."""
    instance = load(db, principal, instance_id, Action.INSTANCE_READ)
    if instance.state != InstanceState.RUNNING:
        return None
    found = latest_instance(db, instance.node_id, instance.id, principal.scope)
    if found is None or not fresh(found[0], clock.now()):
        return None
    return found
