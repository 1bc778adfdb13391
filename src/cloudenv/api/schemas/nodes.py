"""A node's detail and hardware facts on the wire."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import Schema, Timestamp
from cloudenv.api.schemas.compute import Instance
from cloudenv.api.schemas.tenancy import NodeWithHealth


class NodeOS(Schema):
    kernel: str = Field(examples=["6.1.0-26-amd64"])
    architecture: str = Field(examples=["x86_64"])
    uefi: bool


class NodeTime(Schema):
    time: int = Field(description="Unix seconds, now.")
    timezone: str = Field(examples=["Etc/UTC"])
    uptime: int = Field(description="Seconds since the host booted.")


class NodeDetail(Schema):
    node: NodeWithHealth
    instances: list[Instance] = Field(
        description="The node's instances that the caller may see, as instance lists show them."
    )
    hostname: str
    os: NodeOS
    time: NodeTime
    pce_version: str


class CpuSpeed(Schema):
    current: float = Field(description="GHz.")


class CpuCores(Schema):
    physical: int
    performance: int
    efficiency: int


class Cpu(Schema):
    manufacturer: str
    brand: str
    speed: CpuSpeed
    governor: str
    cores: CpuCores
    processors: int
    sockets: int
    flags: list[str]
    virtualization: bool = Field(description="VT-x or AMD-V present.")


class Voltage(Schema):
    current: float
    min: float
    max: float


class MemoryData(Schema):
    size: int = Field(description="MB.")
    type: str
    ecc: bool
    voltage: Voltage


class MemoryBank(Schema):
    bank: int
    empty: bool
    data: MemoryData


class Disk(Schema):
    device: str
    name: str
    size: float = Field(description="GB.")
    serial: str
    interface: str
    smart_status: str
    vendor: str
    temperature: int


class Usb(Schema):
    bus: int
    device: int
    vendor_id: str
    product_id: str
    vendor: str
    name: str
    type: str
    removable: bool
    max_power: int = Field(description="mA.")


class NodeHardware(Schema):
    vcpus: int
    cpu: Cpu
    memory: list[MemoryBank]
    disks: list[Disk]
    usb: list[Usb]


class PciDevice(Schema):
    slot: str
    class_: str = Field(alias="class", serialization_alias="class")
    vendor: str
    device: str
    revision: str
    prog_if: str
    iommu_group: str
    marked_for_passthrough: bool


class LogEntry(Schema):
    """One line of the node's daemon log, with the journal's field names."""

    PRIORITY: int = Field(
        description="syslog severity: 2 critical, 3 error, 4 warning, 6 info, 7 debug.",
        examples=[6],
    )
    FACILITY: int = Field(description="syslog facility: 3 (system daemons).", examples=[3])
    IDENTIFIER: str = Field(
        description="The program that logged it: cloudenv, or a library of it (uvicorn).",
        examples=["cloudenv"],
    )
    MESSAGE: str = Field(description="The line; a traceback follows its first line.")
    matches: dict[str, str] = Field(
        description="Fields the line can be told apart by, as strings: LOGGER (the Python "
        "logger), THREAD, _PID.",
        examples=[{"LOGGER": "cloudenv.agent.loop", "THREAD": "cloudenv-jobs", "_PID": "812"}],
    )
    time: str = Field(
        description="When it was logged: RFC 3339 with microseconds (as since/until take it).",
        examples=["2026-11-24T07:21:26.042817Z"],
    )


class SystemJob(Schema):
    """One of the node's system jobs: periodic upkeep its agent runs."""

    id: str = Field(description="The job's stable name.", examples=["heartbeat"])
    name: str = Field(description="What it does.", examples=["Heartbeat and health report"])
    status: str = Field(
        description="pending (not run since the agent started), running, ok, failed (see "
        "last_error), or late (its next run is long past: the agent stopped or is stuck).",
        examples=["ok"],
    )
    next_run: Timestamp | None
    last_run: Timestamp | None
    interval: float = Field(description="Seconds between runs.", examples=[10.0])
    last_duration: float | None = Field(description="Seconds the last run took.")
    last_error: str = Field(description="Why the last run failed; empty when it did not.")
