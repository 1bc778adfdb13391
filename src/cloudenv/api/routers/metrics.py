"""Usage: an instance's newest sample (``GET /v1/instances/{id}/metrics``), node and
instance series over a range, a cluster's current usage, a node's current reading with
its instances' (cloudenv's own, for ``cloudenv node top``), and ``GET /metrics`` for
Prometheus. Every answer is read from what the nodes' agents recorded (every 10 s); the
API never asks a hypervisor."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.rendering import json_response
from cloudenv.api.schemas.metrics import (
    ClusterMetrics,
    InstanceMetrics,
    InterfaceTraffic,
    MemoryUsage,
    MetricSeries,
    NodeMetricsNow,
)
from cloudenv.services.compute import metrics
from cloudenv.services.monitoring import prometheus, queries
from cloudenv.services.monitoring.layout import Interval

router = APIRouter(tags=["metrics"])


@router.get(
    "/v1/instances/{instance_id}/metrics",
    response_model=InstanceMetrics,
    name="instance.metrics",
    tags=["instances"],
)
def instance_metrics(
    instance_id: str, db: Db, principal: CurrentPrincipal, node_id: str | None = None
) -> InstanceMetrics:
    """The newest sample; zeros with ``timestamp`` null while there is none."""
    view = metrics.get_metrics(db, principal, instance_id)
    return InstanceMetrics(
        timestamp=view.timestamp,
        cpu_percent=view.cpu_percent,
        memory=MemoryUsage(percent=view.memory_percent, usage=view.memory_usage_mb),
        network={k: InterfaceTraffic(rx=v["rx"], tx=v["tx"]) for k, v in view.network.items()},
    )


def _series(shown: list[queries.Series]) -> Response:
    return json_response([asdict(s) for s in shown])


@router.get(
    "/v1/instances/{instance_id}/metrics/history",
    response_model=list[MetricSeries],
    name="instance.metrics_history",
    tags=["instances"],
)
def instance_history(
    instance_id: str, db: Db, principal: CurrentPrincipal, interval: Interval = Interval.ONE_HOUR
) -> Response:
    """The instance's cpu, memory, network and disk_io series over the range."""
    return _series(queries.instance_history(db, principal, instance_id, interval))


@router.get(
    "/v1/nodes/{node_id}/metrics",
    response_model=list[MetricSeries],
    name="node.metrics",
    tags=["nodes"],
)
def node_history(
    node_id: str, db: Db, principal: CurrentPrincipal, interval: Interval = Interval.ONE_HOUR
) -> Response:
    """The node's cpu, memory, storage, network, disk_io and load series over the range."""
    return _series(queries.node_history(db, principal, node_id, interval))


@router.get(
    "/v1/nodes/{node_id}/metrics/current",
    response_model=NodeMetricsNow,
    name="node.metrics_current",
    tags=["nodes"],
)
def node_now(node_id: str, db: Db, principal: CurrentPrincipal) -> Response:
    """The node's newest reading and its running instances' (cloudenv's own)."""
    now = queries.node_now(db, principal, node_id)
    node: dict[str, Any] | None = None
    if now.reading is not None:
        node = asdict(now.reading.node)
        for key in ("net_rx_bytes", "net_tx_bytes", "disk_read_bytes", "disk_write_bytes"):
            node.pop(key)
    instances = [
        {
            "id": i.id,
            "name": i.name,
            "cpu": i.reading.cpu,
            "vcpus": i.reading.vcpus,
            "memory_used": i.reading.memory_used,
            "memory_total": i.reading.memory_total,
            "net_rx": i.reading.net_rx,
            "net_tx": i.reading.net_tx,
            "disk_read": i.reading.disk_read,
            "disk_write": i.reading.disk_write,
        }
        for i in now.instances
    ]
    reply = NodeMetricsNow.model_validate(
        {"node_id": now.node_id, "time": now.time, "node": node, "instances": instances}
    )
    return json_response(reply.model_dump(mode="json"))


@router.get(
    "/v1/clusters/{cluster_id}/metrics",
    response_model=ClusterMetrics,
    name="cluster.metrics",
    tags=["clusters"],
)
def cluster_metrics(
    cluster_id: str, db: Db, principal: CurrentPrincipal, force_refresh: bool = False
) -> ClusterMetrics:
    """Each node's current CPU, memory and storage use in percent, and the cluster's.
    Read from the nodes' newest samples (at most 10 s old), so ``force_refresh`` is
    accepted and has nothing to refresh."""
    return ClusterMetrics.model_validate(queries.cluster_usage(db, principal, cluster_id))


@router.get(
    "/metrics",
    name="prometheus.metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
def prometheus_metrics(db: Db, principal: CurrentPrincipal) -> Response:
    """Current usage of the nodes and instances the caller may read, in Prometheus' text
    format (0.0.4). Scrape with an API token: ``authorization: {credentials: <token>}``,
    ``metrics_path: /api/metrics``, ``scheme: https``."""
    text = prometheus.exposition(db, principal)
    return Response(text, media_type=prometheus.CONTENT_TYPE)
