"""Instance usage (``GET /v1/instances/{id}/metrics``), read from the latest sample the
node's agent wrote into ``instance_metrics``; the API never asks a hypervisor.

A stopped instance, or a running one not sampled yet (the agent samples every few
seconds), reads as zeros with ``timestamp`` None: the product's clients decode numbers,
so a missing reading must still be a complete body. A sample older than
``STALE_SECONDS`` (the agent stopped sampling) counts as missing too.

``running_instances`` and ``record_samples`` are the agent's side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.services.access import Action, Principal
from cloudenv.services.compute.instances import load
from cloudenv.services.compute.states import InstanceState
from cloudenv.store.queries import compute as q
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables.compute import InstanceMetrics

STALE_SECONDS = 60


@dataclass(frozen=True)
class Sample:
    """One reading of one instance, as the agent computed it."""

    instance_id: str
    time: datetime
    cpu_percent: float
    memory_kib: int
    memory_used_kib: int | None
    network: dict[str, dict[str, int]] = field(default_factory=dict)  # if -> {rx, tx} bytes


@dataclass(frozen=True)
class MetricsView:
    timestamp: datetime | None
    cpu_percent: float
    memory_percent: float
    memory_usage_mb: int
    network: dict[str, dict[str, int]]


NO_READING = MetricsView(None, 0.0, 0.0, 0, {})


def get_metrics(db: Session, principal: Principal, instance_id: str) -> MetricsView:
    instance = load(db, principal, instance_id, Action.INSTANCE_READ)
    row = q.latest_metrics(db, instance.id, principal.scope)
    if row is None or instance.state != InstanceState.RUNNING:
        return NO_READING
    if clock.now() - row.time > timedelta(seconds=STALE_SECONDS):
        return NO_READING
    used = row.memory_used_kib or 0
    return MetricsView(
        timestamp=row.time,
        cpu_percent=round(row.cpu_percent, 1),
        memory_percent=round(100 * used / row.memory_kib, 1) if row.memory_kib else 0.0,
        memory_usage_mb=used // 1024,
        network={k: dict(v) for k, v in row.network.items()},
    )


def running_instances(db: Session, node_id: str) -> Sequence[str]:
    """The node's instances the agent should sample."""
    return q.instance_ids(db, node_id, UNSCOPED, state=InstanceState.RUNNING)


def record_samples(db: Session, node_id: str, samples: Iterable[Sample]) -> None:
    """Keep each sampled instance's newest reading; drop the readings of this node's
    instances that were not sampled (stopped, or gone from the hypervisor)."""
    kept = []
    for sample in samples:
        row = q.latest_metrics(db, sample.instance_id, UNSCOPED)
        if row is None:
            row = InstanceMetrics(instance_id=sample.instance_id)
            db.add(row)
        row.time = sample.time
        row.cpu_percent = sample.cpu_percent
        row.memory_kib = sample.memory_kib
        row.memory_used_kib = sample.memory_used_kib
        row.network = sample.network
        kept.append(sample.instance_id)
    q.delete_metrics_except(db, node_id, kept)
