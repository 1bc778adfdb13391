"""Storage pools, their state on each node, volumes and images.

A pool is configured once per cluster and enabled on nodes (``pool_nodes`` holds each
node's observed state); volumes and images live on one node, inside one pool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.enums import ImageStatus, InstanceType, PoolNodeStatus, PoolType, VolumeStatus
from cloudenv.store.base import Base, IntEnumColumn, StrEnumColumn


class StoragePool(Base):
    __tablename__ = "storage_pools"
    __table_args__ = (UniqueConstraint("cluster_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    type: Mapped[PoolType] = mapped_column(IntEnumColumn(PoolType))
    description: Mapped[str] = mapped_column(String(512), default="")
    #: The type's settings as ``services.storage.pool_config`` checked them, secrets left
    #: out (``{"path": ...}`` for a directory pool).
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The type's write-only settings (CHAP or CIFS password, Ceph key): never rendered,
    #: handed only to the node that defines the pool (libvirt keeps them in a secret).
    secrets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    can_hold_images: Mapped[bool] = mapped_column(default=False)
    is_default: Mapped[bool] = mapped_column(default=False)
    #: Marked for destruction: propagation removes it from every node, then the row (its
    #: name stays taken until then).
    destroying: Mapped[bool] = mapped_column(default=False)
    creation: Mapped[datetime]


class PoolNode(Base):
    """A pool enabled on a node, with what that node's agent last observed."""

    __tablename__ = "pool_nodes"

    pool_id: Mapped[str] = mapped_column(
        ForeignKey("storage_pools.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    status: Mapped[PoolNodeStatus] = mapped_column(
        StrEnumColumn(PoolNodeStatus, 16), default=PoolNodeStatus.PENDING
    )
    message: Mapped[str] = mapped_column(String(1024), default="")
    capacity_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    allocation_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    available_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    updated: Mapped[datetime | None]
    #: When propagation last tried this node (a failed one is retried after a while).
    attempted: Mapped[datetime | None]


class JobLease(Base):
    """Which node runs a cluster-wide system job (e.g. storage propagation) until when.

    Taken and renewed by compare-and-swap (``UPDATE … WHERE holder = me OR expires <
    now``), so one node of a cluster runs the job at a time and another takes over when
    the holder stops renewing.
    """

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(32))
    expires: Mapped[datetime]


class Volume(Base):
    __tablename__ = "volumes"
    __table_args__ = (UniqueConstraint("pool_id", "node_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("storage_pools.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(512), default="")
    file_name: Mapped[str] = mapped_column(String(255))  # inside the pool: "<id>.qcow2"
    #: Where the node's driver put it (a file, a block device, or a LUN's name), as the
    #: driver reported it: how a guest's disk reaches it.
    path: Mapped[str] = mapped_column(String(1024), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(8))  # qcow2 | raw | vmdk
    status: Mapped[VolumeStatus] = mapped_column(IntEnumColumn(VolumeStatus))
    instance_id: Mapped[str | None] = mapped_column(String(32), index=True)
    creation: Mapped[datetime]


class Image(Base):
    """An installation medium or disk image in a pool that can hold images."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("pool_id", "node_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("storage_pools.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))  # iso | qcow2 | raw | kernel | initrd
    instance_type: Mapped[InstanceType] = mapped_column(
        IntEnumColumn(InstanceType), default=InstanceType.QEMU
    )
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[ImageStatus] = mapped_column(StrEnumColumn(ImageStatus, 16))
    creation: Mapped[datetime]
