"""The append-only change feed that ``/api/v1/events`` streams."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.store.base import Base


class Event(Base):
    __tablename__ = "events"
    # The tree's version asks for the newest event of a few kinds (queries/compute.py).
    __table_args__ = (Index("ix_events_kind_id", "kind", "id"),)

    # BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite: both autoincrement.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    time: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    # None: only the root organization sees it (e.g. an organization's own creation).
    organization_id: Mapped[str | None] = mapped_column(String(32), index=True)
    target_id: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
