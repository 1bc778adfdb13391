"""Recording one sampling pass of a node: its own reading and its instances', as the
agent computed them (``agent/metrics.py``).

A pass writes two rows whatever the number of instances: the raw history row (tier 0:
the node's values and every instance's, packed; ``layout.py``) and the node's newest
reading (``metric_latest``, JSON: the node whole, with its counters, uptime, per mount
and per pool storage; of each instance only what the raw row lacks, its counters and
per interface traffic, so the current readers join the two). Then it rolls up whatever
buckets are due and drops what the tiers no longer keep (``rollup.py``), so retention
needs no job of its own and stays per node: no lease, as each node's rows are its own.

The time is passed in (``at``), never read here, so tests and the benchmark drive the
store with a fake clock over a simulated year.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from operator import attrgetter
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy.orm import Session

from cloudenv.services.monitoring import rollup
from cloudenv.services.monitoring.layout import (
    INSTANCE_FIELDS,
    NODE_FIELDS,
    SAMPLE_SECONDS,
    Block,
    subject_agg,
)
from cloudenv.store.queries import metrics as q
from cloudenv.store.queries.scope import Scope


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Used and total bytes of a file system or a storage pool."""

    used: float
    total: float


@dataclass(frozen=True, kw_only=True)
class NodeReading:
    """A node in one pass. The first fields are ``layout.NODE_FIELDS``, in order."""

    cpu: float
    load1: float
    load5: float
    load15: float
    memory_used: float
    memory_total: float
    swap_used: float
    swap_total: float
    storage_used: float
    storage_total: float
    net_rx: float
    net_tx: float
    disk_read: float
    disk_write: float
    cpus: int = 0
    uptime: int = 0  # seconds since boot
    #: Cumulative since boot (for Prometheus, which takes rates itself): bytes received
    #: and sent on all NICs but loopback, read from and written to disks.
    net_rx_bytes: int = 0
    net_tx_bytes: int = 0
    disk_read_bytes: int = 0
    disk_write_bytes: int = 0
    mounts: dict[str, Usage] = field(default_factory=dict)  # mount point -> usage
    pools: dict[str, Usage] = field(default_factory=dict)  # pool id -> usage on this node


class InstanceReading(NamedTuple):
    """A running instance in one pass: ``layout.INSTANCE_FIELDS`` first, in order (the
    history's values), then what only its newest reading keeps. A named tuple: a pass
    makes a thousand, and the history's values are a slice of it."""

    cpu: float
    memory_used: float
    memory_total: float
    net_rx: float
    net_tx: float
    disk_read: float
    disk_write: float
    vcpus: int = 1
    #: Cumulative since the guest started (for Prometheus, which takes rates itself).
    cpu_seconds: float = 0.0
    net_rx_bytes: int = 0
    net_tx_bytes: int = 0
    disk_read_bytes: int = 0
    disk_write_bytes: int = 0
    #: Per interface: (bytes received, bytes sent) since the guest started.
    interfaces: dict[str, tuple[int, int]] = {}


#: Where an instance's history values end in an ``InstanceReading``.
_VALUES = len(INSTANCE_FIELDS)


@dataclass(frozen=True)
class Reading:
    """One pass: the node, and each of its running instances by ID."""

    node: NodeReading
    instances: dict[str, InstanceReading]


_node_values = attrgetter(*NODE_FIELDS)


def record(db: Session, node_id: str, reading: Reading, at: datetime) -> int:
    """Store ``reading`` taken at ``at``; roll up and expire. Returns the rows written
    (the benchmark counts them)."""
    moment = int(at.timestamp())
    start = moment - moment % SAMPLE_SECONDS
    ids = list(reading.instances)
    node = Block.raw(("node",), _node_values(reading.node)).pack(raw=True)
    values: Iterable[float] = chain.from_iterable(
        cast(tuple[float, ...], r[:_VALUES]) for r in reading.instances.values()
    )
    instances = Block.raw(ids, values).pack(raw=True)
    q.put_row(db, node_id, 0, start, node, ",".join(ids), instances)
    # The newest reading: the node whole, and what the history row lacks of each instance.
    rest = {i: r[_VALUES:] for i, r in reading.instances.items()}
    q.put_latest(db, node_id, at, orjson.dumps({"node": reading.node, "instances": rest}))
    return 2 + rollup.roll_up(db, node_id, moment)


def latest(
    db: Session, node_ids: Collection[str], scope: Scope, *, instances: bool = True
) -> dict[str, tuple[datetime, Reading]]:
    """The nodes' newest readings (those that have one), with their instances' unless
    only the nodes' own are wanted."""
    found = {}
    for node_id, time, document in q.latest(db, node_ids, scope):
        raw: dict[str, Any] = orjson.loads(document)
        rest: dict[str, list[Any]] = raw["instances"]
        current = {}
        if instances and rest:
            row = q.raw_row(db, node_id, _slot(time), scope)
            if row is not None:
                block = Block.unpack(row[0], row[1], _VALUES, raw=True)
                for i, subject in enumerate(block.subjects):
                    extra = rest.get(subject)
                    if extra is not None:
                        values = block.sums[i * _VALUES : (i + 1) * _VALUES]
                        current[subject] = _instance(values, extra)
        found[node_id] = (time, Reading(_node(raw["node"]), current))
    return found


def latest_instance(
    db: Session, node_id: str, instance_id: str, scope: Scope
) -> tuple[datetime, InstanceReading] | None:
    """One instance's newest reading, unpacking only its own values."""
    rows = q.latest(db, [node_id], scope)
    if not rows:
        return None
    _, time, document = rows[0]
    extra = orjson.loads(document)["instances"].get(instance_id)
    row = q.raw_row(db, node_id, _slot(time), scope) if extra is not None else None
    if row is None:
        return None
    agg = subject_agg(row[0], row[1], instance_id, _VALUES, raw=True)
    return None if agg is None else (time, _instance(agg.sums, extra))


def _slot(time: datetime) -> int:
    moment = int(time.timestamp())
    return moment - moment % SAMPLE_SECONDS


def _node(raw: dict[str, Any]) -> NodeReading:
    raw["mounts"] = {k: Usage(**v) for k, v in raw.get("mounts", {}).items()}
    raw["pools"] = {k: Usage(**v) for k, v in raw.get("pools", {}).items()}
    return NodeReading(**raw)


def _instance(values: Sequence[float], extra: list[Any]) -> InstanceReading:
    *counters, interfaces = extra
    links = {k: (int(v[0]), int(v[1])) for k, v in interfaces.items()}
    return InstanceReading._make((*values, *counters, links))


def sampling_targets(db: Session, node_id: str) -> tuple[list[str], dict[str, Usage]]:
    """What the node's agent samples: its running instances (the domains it reads stats
    of, of all the hypervisor has), and its ready pools' usage as last read."""
    running = list(q.running_instances(db, node_id))
    pools = {
        pool_id: Usage(used=float(used), total=float(total))
        for pool_id, used, total in q.pool_usage(db, node_id)
    }
    return running, pools
