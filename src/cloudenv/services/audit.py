"""The audit trail. Successful changes are recorded by the service that makes them, in
the same transaction; refused or failed calls are recorded by the API's error handler in
a transaction of their own, so nothing mutating goes unrecorded."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.services.access import Principal
from cloudenv.store.queries import audit as q
from cloudenv.store.tables import AuditRecord


def record(
    db: Session,
    principal: Principal | None,
    action: str,
    *,
    target_id: str | None,
    organization_id: str | None = None,
    outcome: str = "success",
    status_code: int = 200,
    message: str = "",
    source_address: str | None = None,
) -> None:
    """Append one audit row. ``principal`` is None for anonymous calls (a failed login)."""
    db.add(
        AuditRecord(
            time=clock.now(),
            organization_id=organization_id or (principal.organization_id if principal else None),
            user_id=principal.user_id if principal else None,
            username=principal.username if principal else None,
            action=action,
            target_id=target_id,
            outcome=outcome,
            status_code=status_code,
            message=message[:1024],
            source_address=source_address or (principal.source_address if principal else None),
        )
    )


def list_records(db: Session, principal: Principal, limit: int = 200) -> Sequence[AuditRecord]:
    """Newest first, restricted to the caller's organizations."""
    return list(q.audit_records(db, principal.scope, limit))
