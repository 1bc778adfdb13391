"""Instance usage (``GET /v1/instances/{id}/metrics``): its newest sample, read from the
reading its node's agent wrote at its last pass (``services/monitoring``); the API never
asks a hypervisor.

A stopped instance, or a running one not sampled yet (the agent samples every 10 s),
reads as zeros with ``timestamp`` None: the product's clients decode numbers, so a
missing reading must still be a complete body. A reading older than a minute (the agent
stopped sampling) counts as missing too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cloudenv.services.access import Principal
from cloudenv.services.monitoring.queries import instance_now


@dataclass(frozen=True)
class MetricsView:
    timestamp: datetime | None
    cpu_percent: float
    memory_percent: float
    memory_usage_mb: int
    network: dict[str, dict[str, int]]  # interface -> {rx, tx}: bytes since the guest started


NO_READING = MetricsView(None, 0.0, 0.0, 0, {})


def get_metrics(db: Session, principal: Principal, instance_id: str) -> MetricsView:
    found = instance_now(db, principal, instance_id)
    if found is None:
        return NO_READING
    time, reading = found
    used, total = reading.memory_used, reading.memory_total
    return MetricsView(
        timestamp=time,
        cpu_percent=round(reading.cpu, 1),
        memory_percent=round(100 * used / total, 1) if total else 0.0,
        memory_usage_mb=int(used) // (1024 * 1024),
        network={k: {"rx": rx, "tx": tx} for k, (rx, tx) in sorted(reading.interfaces.items())},
    )
