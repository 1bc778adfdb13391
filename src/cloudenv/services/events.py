"""The change feed: services append events in the same transaction as the change, the
events stream reads them back filtered to what each caller may see.

Cursors: the root organization's callers see every event under its global ``id``; anyone
else sees only their organization's events, numbered by ``org_seq`` (1, 2, 3 … within the
organization), so the IDs a tenant sees reveal nothing about other tenants' activity. A
non-root caller belongs to one organization, so one number is a complete cursor.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import InvalidInput
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
    # The event's number within its organization: the cursor its tenant sees.
    org_seq: int | None = None


# Cursors are 64-bit database integers; anything longer is refused before any query.
MAX_CURSOR = 2**63 - 1


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
    """The newest event's global ID, where a fresh stream starts (0 if there is none)."""
    return db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


def parse_cursor(value: str, field: str) -> int:
    """A client's resume point (``Last-Event-ID`` or ``?since=``) as a bounded integer."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_CURSOR:
        shown = text if len(text) <= 24 else text[:24] + "…"
        raise InvalidInput(
            f"The event ID in {field} ({shown!r}) is not valid: an event ID is a whole number "
            f"from 0 to {MAX_CURSOR}; resume with an ID the stream sent, or omit it to start "
            "from now.",
            field=field,
        )
    return int(text)


def cursor_of(principal: Principal, event: EventView) -> int:
    """The ID ``principal`` sees for ``event``: global for the root organization, the
    organization's own number for everyone else."""
    if principal.scope is None:
        return event.id
    return event.org_seq or 0


def read_since(
    db: Session,
    principal: Principal,
    after: int,
    *,
    up_to_id: int | None = None,
    limit: int = 500,
) -> Sequence[EventView]:
    """Events after the caller's cursor ``after`` that the caller may see, oldest first;
    ``up_to_id`` stops at a global ID (where a live feed takes over)."""
    stmt = select(Event)
    scope = principal.scope
    if scope is None:
        stmt = stmt.where(Event.id > after).order_by(Event.id)
    else:
        stmt = stmt.where(Event.organization_id.in_(scope), Event.org_seq > after).order_by(
            Event.org_seq
        )
    if up_to_id is not None:
        stmt = stmt.where(Event.id <= up_to_id)
    return [_view(e) for e in db.scalars(stmt.limit(limit))]


def read_all_after(
    db: Session, after_id: int, *, missing: Collection[int] = (), limit: int = 1000
) -> Sequence[EventView]:
    """Every event after a global ID, plus any of the ``missing`` IDs below it that have
    appeared since, unfiltered: the one shared poller of a process reads these once and
    hands each to the streams whose callers may see it. (On PostgreSQL a transaction can
    commit a lower ID after a higher one was read; the poller asks again for such gaps.)"""
    newer = Event.id > after_id
    where = or_(newer, Event.id.in_(missing)) if missing else newer
    stmt = select(Event).where(where).order_by(Event.id).limit(limit)
    return [_view(e) for e in db.scalars(stmt)]


def _view(e: Event) -> EventView:
    return EventView(e.id, e.time, e.kind, e.organization_id, e.target_id, e.data, e.org_seq)
