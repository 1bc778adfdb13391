"""Users, their sign-in sessions, API tokens and second factors, IAM policies, and
lockouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.store.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Sign-in is by user name alone, so names are unique across organizations.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: The password was set by an administrator (or generated): change it at next sign-in.
    temporary_password: Mapped[bool] = mapped_column(default=False)
    #: Signs in through an external provider (LDAP, OIDC), so has no local password.
    external: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    #: Locked by an administrator (cleared only by one); lockouts after failed sign-ins
    #: are rows of ``user_lockouts`` and end by themselves.
    locked: Mapped[bool] = mapped_column(default=False)
    expiry: Mapped[datetime | None]
    mfa_enabled: Mapped[bool] = mapped_column(default=False)
    #: The TOTP secret (base32); set at enrolment, in force once ``mfa_enabled``.
    mfa_secret: Mapped[str | None] = mapped_column(String(64))
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


class ApiToken(Base):
    """A named, long-lived credential for scripts and clients (``Authorization: Bearer``).
    Like sessions, only the SHA-256 of the secret is kept; it is shown once at creation."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expiry: Mapped[datetime | None]
    last_used: Mapped[datetime | None]
    creation: Mapped[datetime]


class RecoveryCode(Base):
    """A single-use MFA recovery code (its SHA-256), given out at enrolment."""

    __tablename__ = "mfa_recovery_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    used: Mapped[datetime | None]


class Policy(Base):
    """An organization's own IAM policy. The built-in ones (Administrator, Operator,
    Auditor, Console user) are defined in code (``services.iam.builtin``), not stored."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(512), default="")
    statements: Mapped[list[dict[str, Any]]]
    #: Bumped on every change, so compiled policies cached by (id, revision) stay right.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    creation: Mapped[datetime]


class UserPolicy(Base):
    """A policy given to a user, in order (statements are evaluated in that order).
    ``policy_id`` is not a foreign key: it may name a built-in policy."""

    __tablename__ = "user_policies"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Lockout(Base):
    """An account locked after too many failed sign-ins; it ends at ``until`` by itself
    or when an administrator clears it (``cleared``)."""

    __tablename__ = "user_lockouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[str] = mapped_column(String(32), index=True)
    locked_at: Mapped[datetime]
    until: Mapped[datetime] = mapped_column(index=True)
    failures: Mapped[int]
    source_address: Mapped[str | None] = mapped_column(String(64))
    cleared: Mapped[datetime | None]
    cleared_by: Mapped[str | None] = mapped_column(String(64))
