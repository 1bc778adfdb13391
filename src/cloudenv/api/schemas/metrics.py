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


class MetricSeries(Schema):
    """One chart of ``GET /v1/nodes/{id}/metrics`` or ``.../instances/{id}/metrics/history``."""

    name: str = Field(
        description="cpu, memory, storage, network, disk_io or load (an instance's: cpu, "
        "memory, network, disk_io).",
        examples=["cpu"],
    )
    step: int = Field(description="Seconds each point spans.", examples=[10])
    header: list[str] = Field(
        description="Names of the columns of each row of data: time first, then the "
        "values (averages over the step; *_max: the largest sample in it).",
        examples=[["time", "cpu", "cpu_max"]],
    )
    start: int = Field(description="The range's start, Unix seconds.", examples=[1767225600])
    end: int = Field(description="The range's end (now), Unix seconds.", examples=[1767229200])
    data: list[list[float]] = Field(
        description="One row per step that has samples, oldest first: [time (Unix "
        "seconds, the step's start), values...]. Steps without samples (the node was "
        "down, the instance stopped) have no row. Units: CPU percent (a node: of all "
        "its CPUs; an instance: of its vCPUs), memory and storage bytes, network and "
        "disk bytes per second, load as the kernel's load average.",
        examples=[[[1767225600.0, 12.5, 40.0]]],
    )


class UsagePercent(Schema):
    cpu: float = Field(description="CPU busy, percent.", examples=[23.5])
    memory: float = Field(description="Memory in use, percent of its total.", examples=[61.2])
    storage: float = Field(
        description="Local file systems in use, percent of their size.", examples=[40.0]
    )


class NodeUsagePercent(Schema):
    id: str = Field(description="The node.", examples=["node-VrP6KxEw19aQb2hTnY4Ld"])
    cpu: float = Field(description="CPU busy, percent of all its CPUs.", examples=[23.5])
    memory: float = Field(description="Memory in use, percent of its total.", examples=[61.2])
    storage: float = Field(
        description="Local file systems in use, percent of their size.", examples=[40.0]
    )


class ClusterMetrics(Schema):
    partial: bool = Field(
        description="Some node of the cluster has no current reading (down, or its agent "
        "stopped sampling): it is left out of nodes and total."
    )
    nodes: list[NodeUsagePercent]
    total: UsagePercent = Field(
        description="The cluster's: CPU weighted by the nodes' CPUs; memory and storage "
        "as bytes used over bytes in total."
    )


class StorageUse(Schema):
    used: float = Field(description="Bytes in use.")
    total: float = Field(description="Bytes in all.")


class NodeNowValues(Schema):
    cpu: float = Field(description="CPU busy, percent of all the node's CPUs.")
    cpus: int
    load1: float
    load5: float
    load15: float
    memory_used: float = Field(description="Bytes (total less available).")
    memory_total: float
    swap_used: float
    swap_total: float
    storage_used: float = Field(description="Bytes used of its local file systems.")
    storage_total: float
    net_rx: float = Field(description="Bytes per second received (physical NICs).")
    net_tx: float
    disk_read: float = Field(description="Bytes per second read from disks.")
    disk_write: float
    uptime: int = Field(description="Seconds since the node booted.")
    mounts: dict[str, StorageUse] = Field(description="Per mount point (one per device).")
    pools: dict[str, StorageUse] = Field(description="Per storage pool ready on the node.")


class InstanceNowValues(Schema):
    id: str
    name: str
    cpu: float = Field(description="CPU busy, percent of its vCPUs.")
    vcpus: int
    memory_used: float = Field(description="Bytes in use.")
    memory_total: float
    net_rx: float = Field(description="Bytes per second received.")
    net_tx: float
    disk_read: float = Field(description="Bytes per second read.")
    disk_write: float


class NodeMetricsNow(Schema):
    """cloudenv's own: what ``cloudenv node top`` and ``instance top`` show."""

    node_id: str
    time: Timestamp | None = Field(
        description="When the node last sampled; null when it has no current reading."
    )
    node: NodeNowValues | None
    instances: list[InstanceNowValues] = Field(
        description="Its running instances with a reading, by name."
    )
