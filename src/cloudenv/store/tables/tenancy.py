"""The resource tree: organizations > datacenters > clusters > nodes.

Every row below an organization carries ``organization_id`` itself, so the tenant
filter is one indexed comparison and never a join.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.store.base import Base


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(512), default="")
    is_root: Mapped[bool] = mapped_column(default=False)
    creation: Mapped[datetime]
    #: Sign-in lockout: this many failures within the window lock an account this long.
    lockout_threshold: Mapped[int] = mapped_column(default=5)
    lockout_window_minutes: Mapped[int] = mapped_column(default=15)
    lockout_minutes: Mapped[int] = mapped_column(default=15)
    #: Users of this organization must enrol a second factor before they may work.
    require_mfa: Mapped[bool] = mapped_column(default=False)
    #: Quotas; None is unlimited.
    quota_vcpus: Mapped[int | None]
    quota_memory_mb: Mapped[int | None]
    quota_storage_gb: Mapped[int | None]
    quota_instances: Mapped[int | None]


class Datacenter(Base):
    __tablename__ = "datacenters"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(512), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    creation: Mapped[datetime]


class Cluster(Base):
    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    datacenter_id: Mapped[str] = mapped_column(ForeignKey("datacenters.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(512), default="")
    fault_tolerance: Mapped[int] = mapped_column(default=0)
    leader_id: Mapped[str | None] = mapped_column(String(32))
    creation: Mapped[datetime]


class Node(Base):
    """A server running cloudenv. ``hardware`` and ``host`` are facts its agent reports."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(512), default="")
    ip_address: Mapped[str | None] = mapped_column(String(64))
    wol_mac: Mapped[str | None] = mapped_column(String(32))
    joining: Mapped[bool] = mapped_column(default=False)
    ssh_key: Mapped[str | None]
    client_cert: Mapped[str | None]
    last_seen: Mapped[datetime | None]
    hardware: Mapped[dict[str, Any]] = mapped_column(default=dict)
    host: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: What the agent's last heartbeat said about the node's health (hypervisor reachable,
    #: memory available); ``services.monitoring.health`` reads it. Null until reported.
    health: Mapped[dict[str, Any] | None]
    creation: Mapped[datetime]
