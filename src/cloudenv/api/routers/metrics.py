"""Instance usage: ``GET /v1/instances/{id}/metrics``, the latest sample the node's agent
took (every few seconds); zeros with ``timestamp`` null while there is none."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.metrics import InstanceMetrics, InterfaceTraffic, MemoryUsage
from cloudenv.services.compute import metrics

router = APIRouter(tags=["instances"])


@router.get(
    "/v1/instances/{instance_id}/metrics",
    response_model=InstanceMetrics,
    name="instance.metrics",
)
def instance_metrics(
    instance_id: str, db: Db, principal: CurrentPrincipal, node_id: str | None = None
) -> InstanceMetrics:
    view = metrics.get_metrics(db, principal, instance_id)
    return InstanceMetrics(
        timestamp=view.timestamp,
        cpu_percent=view.cpu_percent,
        memory=MemoryUsage(percent=view.memory_percent, usage=view.memory_usage_mb),
        network={k: InterfaceTraffic(rx=v["rx"], tx=v["tx"]) for k, v in view.network.items()},
    )
