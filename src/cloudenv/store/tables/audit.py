"""The audit trail: one row per mutating call, successful or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.store.base import Base


class AuditRecord(Base):
    __tablename__ = "audit_log"
    # The organization's audit list: newest first, filtered within one organization.
    __table_args__ = (Index("ix_audit_log_organization_id_time", "organization_id", "time"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    time: Mapped[datetime] = mapped_column(index=True)
    organization_id: Mapped[str | None] = mapped_column(String(32), index=True)
    user_id: Mapped[str | None] = mapped_column(String(32))
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int]
    message: Mapped[str] = mapped_column(String(1024), default="")
    source_address: Mapped[str | None] = mapped_column(String(64))
