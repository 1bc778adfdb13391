"""``GET /metrics``: the nodes' and instances' current usage in Prometheus' text exposition
format (version 0.0.4), so an existing Prometheus (and Grafana over it) scrapes cloudenv
with an API token.

Every series carries the IDs and names of its organization, cluster and node, and an
instance's its own (``instance_id``, ``instance_name``: not ``instance``, which
Prometheus sets to the scraped target). What the caller sees is what its scope and its
``metrics.read`` policies allow, object by object, as every list does. Values are the
newest pass's (gauges), and for traffic and CPU time the hypervisor's and kernel's
counters (``_total``), from which Prometheus takes rates itself. ``cloudenv_node_up`` and
``cloudenv_instance_up`` say which have a current reading (a stopped instance, a node
whose agent stopped: 0, and nothing else about them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.services.access import Action, Principal, full_path
from cloudenv.services.monitoring.queries import fresh
from cloudenv.services.monitoring.store import InstanceReading, NodeReading, Reading, latest
from cloudenv.store.queries import metrics as q

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


@dataclass
class _Family:
    help: str
    kind: str  # gauge | counter
    samples: list[tuple[Labels, float]] = field(default_factory=list)


def _memory_used(reading: NodeReading) -> float:
    return reading.memory_used


_NODE: Sequence[tuple[str, str, str, Callable[[NodeReading], float]]] = (
    ("cpu_percent", "gauge", "CPU busy, in percent of all the node's CPUs.", lambda r: r.cpu),
    ("cpus", "gauge", "Logical CPUs of the node.", lambda r: r.cpus),
    ("load1", "gauge", "Load average over 1 minute.", lambda r: r.load1),
    ("load5", "gauge", "Load average over 5 minutes.", lambda r: r.load5),
    ("load15", "gauge", "Load average over 15 minutes.", lambda r: r.load15),
    ("memory_used_bytes", "gauge", "Memory in use (total less available).", _memory_used),
    ("memory_total_bytes", "gauge", "Memory of the node.", lambda r: r.memory_total),
    ("swap_used_bytes", "gauge", "Swap in use.", lambda r: r.swap_used),
    ("swap_total_bytes", "gauge", "Swap of the node.", lambda r: r.swap_total),
    (
        "network_receive_bytes_total",
        "counter",
        "Bytes received on all NICs but loopback.",
        lambda r: r.net_rx_bytes,
    ),
    (
        "network_transmit_bytes_total",
        "counter",
        "Bytes sent on all NICs but loopback.",
        lambda r: r.net_tx_bytes,
    ),
    ("disk_read_bytes_total", "counter", "Bytes read from disks.", lambda r: r.disk_read_bytes),
    (
        "disk_written_bytes_total",
        "counter",
        "Bytes written to disks.",
        lambda r: r.disk_write_bytes,
    ),
    ("uptime_seconds", "gauge", "Seconds since the node booted.", lambda r: r.uptime),
)
_INSTANCE: Sequence[tuple[str, str, str, Callable[[InstanceReading], float]]] = (
    ("cpu_percent", "gauge", "CPU busy, in percent of the instance's vCPUs.", lambda r: r.cpu),
    ("vcpus", "gauge", "vCPUs of the instance.", lambda r: r.vcpus),
    (
        "cpu_seconds_total",
        "counter",
        "CPU time the instance used since it started.",
        lambda r: r.cpu_seconds,
    ),
    (
        "memory_used_bytes",
        "gauge",
        "Memory in use, as the guest reports it (else the host's resident size of it).",
        lambda r: r.memory_used,
    ),
    ("memory_total_bytes", "gauge", "Memory of the instance.", lambda r: r.memory_total),
    (
        "network_receive_bytes_total",
        "counter",
        "Bytes the instance received on all its interfaces.",
        lambda r: r.net_rx_bytes,
    ),
    (
        "network_transmit_bytes_total",
        "counter",
        "Bytes the instance sent on all its interfaces.",
        lambda r: r.net_tx_bytes,
    ),
    ("disk_read_bytes_total", "counter", "Bytes read from its disks.", lambda r: r.disk_read_bytes),
    (
        "disk_written_bytes_total",
        "counter",
        "Bytes written to its disks.",
        lambda r: r.disk_write_bytes,
    ),
)


def exposition(db: Session, principal: Principal) -> str:
    """The text a scrape gets: every family, with HELP and TYPE, then its samples."""
    families: dict[str, _Family] = {}

    def add(name: str, kind: str, text: str, labels: Labels, value: float) -> None:
        families.setdefault(name, _Family(text, kind)).samples.append((labels, value))

    check = principal.check_for(Action.METRICS_READ)
    nodes = []
    for node_id, node, cluster_id, cluster, datacenter_id, org_id, org in q.node_labels(
        db, principal.scope
    ):
        where = (datacenter_id, cluster_id, node_id)
        labels: Labels = (
            ("organization_id", org_id),
            ("organization_name", org),
            ("cluster_id", cluster_id),
            ("cluster_name", cluster),
            ("node_id", node_id),
            ("node_name", node),
        )
        # A node the policies don't allow still carries the instances on it they allow.
        allowed = check is None or check(full_path(org_id, where))
        nodes.append((node_id, where, labels, allowed))
    now = clock.now()
    readings: dict[str, Reading] = {
        node_id: reading
        for node_id, (time, reading) in latest(db, [n[0] for n in nodes], principal.scope).items()
        if fresh(time, now)
    }
    for node_id, _where, labels, allowed in nodes:
        if not allowed:
            continue
        reading = readings.get(node_id)
        up = 1 if reading else 0
        add("cloudenv_node_up", "gauge", "1: the node has a current reading.", labels, up)
        if reading is None:
            continue
        for name, kind, text, value in _NODE:
            add(f"cloudenv_node_{name}", kind, text, labels, value(reading.node))
        _storage(add, labels, reading.node)
    by_node = {n[0]: n for n in nodes}
    for instance_id, name, node_id, org_id, _state in q.instance_labels(
        db, list(by_node), principal.scope
    ):
        _, where, node_labels, _allowed = by_node[node_id]
        if check is not None and not check(full_path(org_id, (*where, instance_id))):
            continue
        ours: Labels = (*node_labels, ("instance_id", instance_id), ("instance_name", name))
        on = readings.get(node_id)
        current = on.instances.get(instance_id) if on is not None else None
        add(
            "cloudenv_instance_up",
            "gauge",
            "1: the instance runs and has a current reading.",
            ours,
            1 if current else 0,
        )
        if current is None:
            continue
        for metric, kind, text, read in _INSTANCE:
            add(f"cloudenv_instance_{metric}", kind, text, ours, read(current))
    return _render(families)


def _storage(
    add: Callable[[str, str, str, Labels, float], None], labels: Labels, node: NodeReading
) -> None:
    for mount, usage in sorted(node.mounts.items()):
        where = (*labels, ("mountpoint", mount))
        add(f"{_FS}_used_bytes", "gauge", "Used bytes of a file system.", where, usage.used)
        add(f"{_FS}_size_bytes", "gauge", "Size of a file system.", where, usage.total)
    for pool, usage in sorted(node.pools.items()):
        where = (*labels, ("pool_id", pool))
        add(f"{_POOL}_used_bytes", "gauge", "Used bytes of a storage pool.", where, usage.used)
        add(f"{_POOL}_size_bytes", "gauge", "Capacity of a storage pool.", where, usage.total)


_FS = "cloudenv_node_filesystem"
_POOL = "cloudenv_node_pool"


def _render(families: dict[str, _Family]) -> str:
    lines = []
    for name, family in families.items():
        lines.append(f"# HELP {name} {family.help}")
        lines.append(f"# TYPE {name} {family.kind}")
        for labels, value in family.samples:
            pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{pairs}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))
