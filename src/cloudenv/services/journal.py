"""Every change a user makes leaves two traces in its own transaction: an event for live
views (the tree, the UI) and an audit row for accountability. ``record_change`` writes
both, so no service can write one and forget the other. Queuing work goes through
``tasks.queue_task`` instead, which writes the task with its event and audit row."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from cloudenv.services import audit, events
from cloudenv.services.access import Action, Principal
from cloudenv.services.events import EventKind


def record_change(
    db: Session,
    principal: Principal,
    action: Action,
    *,
    event: EventKind,
    target_id: str,
    organization_id: str | None,
    status_code: int = 200,
    data: dict[str, Any] | None = None,
    message: str = "",
) -> None:
    """``action`` as the caller asked it (``datacenter.create``), ``event`` as what
    happened (``datacenter.created``); ``data`` goes into the event, ``message`` (what
    changed, when the action alone doesn't say) into the audit row."""
    events.publish(db, event, organization_id=organization_id, target_id=target_id, data=data)
    audit.record(
        db,
        principal,
        action,
        target_id=target_id,
        organization_id=organization_id,
        status_code=status_code,
        message=message,
    )
