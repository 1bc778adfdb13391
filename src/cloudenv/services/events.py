"""The change feed: services append events in the same transaction as the change, the
events stream reads them back filtered to what each caller may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.services.access import Principal
from cloudenv.store.tables import Event


@dataclass(frozen=True)
class EventView:
    id: int
    time: datetime
    kind: str
    organization_id: str | None
    target_id: str | None
    data: dict[str, Any]


def publish(
    db: Session,
    kind: str,
    *,
    organization_id: str | None,
    target_id: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append an event such as ``datacenter.created``; it becomes visible on commit."""
    db.add(
        Event(
            time=clock.now(),
            kind=kind,
            organization_id=organization_id,
            target_id=target_id,
            data=data or {},
        )
    )


def latest_id(db: Session) -> int:
    """The newest event's ID, where a fresh stream starts (0 if there is none)."""
    return db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


def read_since(
    db: Session, principal: Principal, after_id: int, limit: int = 500
) -> Sequence[EventView]:
    """Events after ``after_id`` that the caller may see, oldest first."""
    stmt = select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)
    scope = principal.scope
    if scope is not None:
        stmt = stmt.where(Event.organization_id.in_(scope))
    return [
        EventView(e.id, e.time, e.kind, e.organization_id, e.target_id, e.data)
        for e in db.scalars(stmt)
    ]
