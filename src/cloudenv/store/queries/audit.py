"""Selectors for the audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import AuditRecord


def audit_records(db: Session, scope: Scope, limit: int) -> Sequence[AuditRecord]:
    """Newest first."""
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    return db.scalars(restrict(stmt, AuditRecord.organization_id, scope)).all()
