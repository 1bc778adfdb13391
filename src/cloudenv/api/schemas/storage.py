"""Pools, volumes and images on the wire (sizes in the product's units)."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import Schema, Timestamp


class PoolUsage(Schema):
    capacity: float = Field(description="GB.")
    allocated: float = Field(description="GB.")
    available: float = Field(description="GB.")
    percent_used: float


class NodePool(Schema):
    id: str
    type: int = Field(description="0 directory, 1 iscsi, 2 lvm, 3 netfs, 4 rbd, 5 zfs.")
    name: str
    initialized: bool
    available: bool
    can_hold_images: bool
    usage: PoolUsage
    volume_count: int


class Image(Schema):
    name: str
    size: int = Field(description="MB.")
    creation: Timestamp
    type: int = Field(description="The instance type it is for (2 qemu).")
    storage_pool_id: str
    id: str
    format: str = Field(description="iso, qcow2, raw, kernel or initrd.")
    status: str = Field(description="uploading, available or deleting.")


class ImageImport(Schema):
    task_id: str
    id: str


class VolumeMetadata(Schema):
    driver: str


class Volume(Schema):
    id: str
    storage_pool_id: str
    node_id: str
    name: str
    fq_name: str
    description: str
    status: int = Field(
        description="0 creating, 1 available, 2 attaching, 3 detaching, "
        "4 destroying, 5 resizing, 6 error."
    )
    size: float = Field(description="GB.")
    metadata: VolumeMetadata
    attached: bool
    attached_to: str | None
    creation: Timestamp
