"""Selectors for the audit trail.

The trail is append-only: nothing here updates a row, and the only deletion is the
retention purge (``delete_before``), which removes rows by age alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.orm import Session

from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import AuditRecord


@dataclass(frozen=True)
class AuditFilter:
    """Which rows of one organization's trail a caller asks for; None fields match all.

    ``action_prefix`` matches a family (``instance.`` for ``instance.*``); ``since`` is
    inclusive and ``until`` exclusive, so consecutive windows never share a row.
    """

    organization_id: str
    #: Also the rows no organization owns (anonymous refusals, sign-ins of unknown names):
    #: the deployment's own, shown in the root organization's trail.
    include_unowned: bool = False
    user_id: str | None = None
    action: str | None = None
    action_prefix: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(f: AuditFilter) -> list[ColumnElement[bool]]:
    owner: ColumnElement[bool] = AuditRecord.organization_id == f.organization_id
    if f.include_unowned:
        owner = or_(owner, AuditRecord.organization_id.is_(None))
    conditions = [owner]
    if f.user_id is not None:
        conditions.append(AuditRecord.user_id == f.user_id)
    if f.action is not None:
        conditions.append(AuditRecord.action == f.action)
    if f.action_prefix is not None:
        # autoescape: '_' (in device_attach, say) is a LIKE wildcard otherwise.
        conditions.append(AuditRecord.action.startswith(f.action_prefix, autoescape=True))
    if f.target_id is not None:
        conditions.append(AuditRecord.target_id == f.target_id)
    if f.since is not None:
        conditions.append(AuditRecord.time >= f.since)
    if f.until is not None:
        conditions.append(AuditRecord.time < f.until)
    return conditions


def _filtered(stmt: Select[Any], f: AuditFilter, scope: Scope) -> Select[Any]:
    # The organization condition alone would do for a visible organization; the scope is
    # applied too so no selector depends on its caller having checked visibility.
    return restrict(stmt.where(*_conditions(f)), AuditRecord.organization_id, scope)


def audit_page(
    db: Session, f: AuditFilter, scope: Scope, *, limit: int, offset: int
) -> Sequence[AuditRecord]:
    """One page of the filtered trail, newest first (the (organization_id, time) index
    serves the order; ``id`` breaks ties between rows of the same instant)."""
    stmt = select(AuditRecord).order_by(AuditRecord.time.desc(), AuditRecord.id.desc())
    stmt = _filtered(stmt, f, scope).limit(limit).offset(offset)
    return db.scalars(stmt).all()


def audit_count(db: Session, f: AuditFilter, scope: Scope) -> int:
    """How many rows the filter matches, over every page."""
    stmt = _filtered(select(func.count()).select_from(AuditRecord), f, scope)
    return int(db.scalar(stmt) or 0)


def delete_before(db: Session, cutoff: datetime, batch: int) -> int:
    """Delete at most ``batch`` of the oldest rows older than ``cutoff``; returns how many
    went. Batched so one purge never holds the database's write lock for long."""
    oldest = select(AuditRecord.id).where(AuditRecord.time < cutoff)
    oldest = oldest.order_by(AuditRecord.id).limit(batch)
    ids = list(db.scalars(oldest))
    if not ids:
        return 0
    db.execute(delete(AuditRecord).where(AuditRecord.id.in_(ids)))
    return len(ids)
