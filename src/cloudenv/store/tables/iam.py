"""Users and their sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.store.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Sign-in is by user name alone, so names are unique across organizations.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(default=True)
    locked: Mapped[bool] = mapped_column(default=False)
    expiry: Mapped[datetime | None]
    mfa_enabled: Mapped[bool] = mapped_column(default=False)
    is_root: Mapped[bool] = mapped_column(default=False)
    linux_user: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(512), default="")
    failed_logins: Mapped[int] = mapped_column(default=0)
    last_failed_login: Mapped[datetime | None]
    last_login: Mapped[datetime | None]
    creation: Mapped[datetime]


class Session_(Base):
    """A signed-in session; the token itself is never stored, only its SHA-256."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime]
    expires: Mapped[datetime] = mapped_column(index=True)
