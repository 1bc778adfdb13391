"""Pools, volumes and images on the wire (sizes in the product's units)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp
from cloudenv.services.storage.volumes import SIZE_MAX_GB


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
    type: int = Field(
        description="The instance type it is for: 1 lxc (a container's root filesystem), 2 qemu."
    )
    storage_pool_id: str
    id: str
    format: str = Field(
        description="iso, qcow2, raw, kernel or initrd (qemu); rootfs (lxc: a normalised "
        "root filesystem tarball, whether a rootfs tarball or an OCI layout was uploaded)."
    )
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


class VolumeCreate(RequestBody):
    node_id: str = Field(description="The node that holds the volume.")
    storage_pool_id: str = Field(description="A pool enabled and ready on that node.")
    name: str = Field(description="Unique in the pool on that node.", examples=["data-1"])
    size: float = Field(
        gt=0, le=SIZE_MAX_GB, description="GB (GiB, 1024³ bytes); fractions allowed.", examples=[10]
    )
    driver: str = Field(
        description="qcow2 or raw (raw only on block pools: lvm, rbd, zfs); dir: a directory "
        "(directory and netfs pools), which containers mount.",
        examples=["qcow2"],
    )
    description: str = ""


class VolumeCreated(Schema):
    id: str = Field(description="The new volume's ID.")
    task_id: str = Field(description="The task creating it on the node.")


class VolumeResize(RequestBody):
    delta_gb: float = Field(
        gt=0, le=SIZE_MAX_GB, description="GiB to add to the current size.", examples=[5]
    )
    live: bool = Field(
        default=False,
        description="Grow it under its running instance (QEMU block resize). Without it a "
        "volume in use by a running instance is refused: stop the instance for a cold resize.",
    )


# Cluster storage pools --------------------------------------------------------------------

PoolStatusText = Literal["none", "ok", "error", "pending", "destroying"]
PoolNodeStateText = Literal["pending", "ready", "error", "removing"]


class StoragePoolNode(Schema):
    node_id: str
    state: PoolNodeStateText = Field(
        description="pending (not defined there yet), ready, error, or removing (being "
        "stopped and undefined there)."
    )
    error: str | None = Field(
        description='Why the node failed, naming it (e.g. "node-…: volume group vg0 not '
        'found"); null when it did not.',
    )


class StoragePool(Schema):
    id: str = Field(examples=["pool-qthm_iLrflJ_DtSS1l4Gx"])
    cluster_id: str
    name: str
    type: int = Field(description="0 directory, 1 iscsi, 2 lvm, 3 netfs, 4 rbd, 5 zfs.")
    description: str
    node_count: int = Field(description="How many nodes it is enabled on.")
    can_hold_images: bool
    is_default: bool
    creation: Timestamp
    status: PoolStatusText = Field(
        description="none (enabled on no node: the grey dash), ok (available on every "
        "enabled node: the green check), error (the red X: nodes[].error says why), pending "
        "(propagation in progress), destroying (marked for destruction; its name stays "
        "taken until cleanup finishes)."
    )
    nodes: list[StoragePoolNode]
    config: dict[str, Any] = Field(
        description="The type's settings, without the write-only ones (passwords, CHAP "
        "secrets, Ceph keys), which are never returned."
    )


class StoragePoolCreate(RequestBody):
    name: str = Field(
        description="Unique in the cluster; can't be changed later.", examples=["fast-nvme"]
    )
    type: int = Field(
        ge=0, le=5, description="0 directory, 1 iscsi, 2 lvm, 3 netfs, 4 rbd, 5 zfs.", examples=[0]
    )
    description: str = ""
    can_hold_images: bool = Field(
        default=False, description="Whether images (ISOs) may be kept in it (file pools only)."
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The type's settings: directory {path}; netfs {protocol: nfs|cifs, "
        "server, export, path, username?, domain?, password?} (a CIFS login goes into a "
        "credentials file only root reads on each node); iscsi {portal: host[:port], target: "
        "IQN, initiator?: IQN, chap_username?, chap_secret?}; lvm {volume_group?}; rbd "
        "{monitors: [host[:port]], pool, user?, key?}; zfs {pool?}. password, chap_secret "
        "and key are write-only.",
        examples=[{"path": "/var/lib/cloudenv/pools/fast"}],
    )


class StoragePoolUpdate(RequestBody):
    node_ids: list[str] | None = Field(
        default=None,
        description="The nodes (of the pool's cluster) it should be enabled on; it is "
        "disabled on every other node. Absent: unchanged.",
        examples=[["node-qthm_iLrflJ_DtSS1l4Gx"]],
    )
    # Not in the document: a client that sends a name is told why it can't be changed.
    name: SkipJsonSchema[Any] = Field(default=None, exclude=True)
