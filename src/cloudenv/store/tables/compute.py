"""Instances (virtual machines now, containers later) and their devices.

``desired_state`` is what the user asked for; ``state`` is what the node's agent last
observed or is doing. ``current_task_id`` marks the instance busy: a second action is
refused by compare-and-swap while it is set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.enums import (
    ConsoleKind,
    DesiredState,
    DeviceType,
    InstanceState,
    InstanceType,
    SnapshotStatus,
)
from cloudenv.store.base import Base, IntEnumColumn, StrEnumColumn


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(512), default="")
    type: Mapped[InstanceType] = mapped_column(IntEnumColumn(InstanceType))
    architecture: Mapped[str] = mapped_column(String(16))
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    cpu_sockets: Mapped[int]
    cpu_cores: Mapped[int]
    cpu_threads: Mapped[int]
    memory_mb: Mapped[int]
    autostart: Mapped[bool] = mapped_column(default=True)
    # qemu: machine_type, cpu_model, firmware, secure_boot, kernel_boot; lxc: init
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    desired_state: Mapped[DesiredState] = mapped_column(StrEnumColumn(DesiredState, 16))
    state: Mapped[InstanceState] = mapped_column(StrEnumColumn(InstanceState, 16), index=True)
    state_message: Mapped[str] = mapped_column(String(1024), default="")
    current_task_id: Mapped[str | None] = mapped_column(String(32))
    creation: Mapped[datetime]


class InstanceDevice(Base):
    """A device of an instance: a storage volume or CD-ROM now; NICs, TPM, USB, PCI later."""

    __tablename__ = "instance_devices"
    __table_args__ = (UniqueConstraint("instance_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(512), default="")
    type: Mapped[DeviceType] = mapped_column(IntEnumColumn(DeviceType))
    resource_id: Mapped[str | None] = mapped_column(String(32))  # vol-… or img-…
    bus: Mapped[str | None] = mapped_column(String(8))
    target: Mapped[str | None] = mapped_column(String(16))  # libvirt target dev: vda, sdc
    serial: Mapped[str | None] = mapped_column(String(32))
    boot_order: Mapped[int] = mapped_column(default=0)
    is_root: Mapped[bool] = mapped_column(default=False)
    readonly: Mapped[bool] = mapped_column(default=False)
    #: A NIC's MAC address (unique in the cluster: the services check it).
    mac: Mapped[str | None] = mapped_column(String(17), index=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    creation: Mapped[datetime]


class ConsoleToken(Base):
    """A short-lived, single-use ticket for one user to one console: an instance's screen
    or serial port (``instance_id``), or a shell on a node (``node_id``); exactly one of
    the two is set."""

    __tablename__ = "console_tokens"
    __table_args__ = (
        CheckConstraint("(instance_id IS NULL) <> (node_id IS NULL)", name="one_target"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    node_id: Mapped[str | None] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[ConsoleKind] = mapped_column(StrEnumColumn(ConsoleKind, 8))
    expires: Mapped[datetime]
    used: Mapped[bool] = mapped_column(default=False)


class Snapshot(Base):
    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("instance_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(512), default="")
    status: Mapped[SnapshotStatus] = mapped_column(StrEnumColumn(SnapshotStatus, 16))
    creation: Mapped[datetime]
