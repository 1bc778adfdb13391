"""Tasks: long work as durable rows a node's agent executes (incus calls them operations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.enums import TaskStatus
from cloudenv.store.base import Base, StrEnumColumn


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_node_status", "node_id", "status"),
        # The recent-tasks list (newest first) reads the last rows of this index.
        Index("ix_tasks_creation", "creation"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[str | None] = mapped_column(String(32), index=True)
    node_id: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[TaskStatus] = mapped_column(StrEnumColumn(TaskStatus, 16))
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(String(1024), default="")
    log: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(String(32))
    creation: Mapped[datetime]
    start_time: Mapped[datetime | None]
    end_time: Mapped[datetime | None]
