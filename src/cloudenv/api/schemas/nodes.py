"""A node's detail and hardware facts on the wire."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import Schema
from cloudenv.api.schemas.compute import Instance
from cloudenv.api.schemas.tenancy import NodeFull


class NodeOS(Schema):
    kernel: str = Field(examples=["6.1.0-26-amd64"])
    architecture: str = Field(examples=["x86_64"])
    uefi: bool


class NodeTime(Schema):
    time: int = Field(description="Unix seconds, now.")
    timezone: str = Field(examples=["Etc/UTC"])
    uptime: int = Field(description="Seconds since the host booted.")


class NodeDetail(Schema):
    node: NodeFull
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
