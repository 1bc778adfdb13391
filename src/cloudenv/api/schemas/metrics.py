"""Instance usage on the wire (``GET /v1/instances/{id}/metrics``)."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import Schema, Timestamp


class MemoryUsage(Schema):
    percent: float = Field(description="Of the instance's memory.", examples=[42.5])
    usage: int = Field(description="MB in use (0 when the guest doesn't tell).", examples=[870])


class InterfaceTraffic(Schema):
    rx: int = Field(description="Bytes received since the instance started.")
    tx: int = Field(description="Bytes sent since the instance started.")


class InstanceMetrics(Schema):
    timestamp: Timestamp | None = Field(
        description="When the node sampled it; null when the instance is stopped or not "
        "sampled yet (then every number is 0)."
    )
    cpu_percent: float = Field(description="Of all its vCPUs together, 0-100.", examples=[12.5])
    memory: MemoryUsage
    network: dict[str, InterfaceTraffic] = Field(description="Per interface.")
