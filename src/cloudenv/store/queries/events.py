"""Selectors for the change feed. An event carries ``organization_id`` (None: only the
root organization sees it). Two cursors: the global ``id`` for callers who see every
organization, the organization's own ``org_seq`` for everyone else (see
``services/events.py``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cloudenv.store.queries.scope import UNSCOPED, Scope, restrict
from cloudenv.store.tables import Event


def newest_id(db: Session) -> int:
    """The newest event's global ID (0 if there is none): where a fresh stream starts. An
    ID alone tells a caller nothing about any tenant's rows, so it takes no scope."""
    found: int | None = db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    return found or 0


def since(
    db: Session, scope: Scope, after: int, *, up_to_id: int | None, limit: int
) -> Sequence[Event]:
    """Events ``scope`` sees after the cursor ``after``, oldest first: global IDs when it
    sees every organization, the organization's numbering otherwise. ``up_to_id`` stops at
    a global ID."""
    if scope is UNSCOPED:
        stmt = select(Event).where(Event.id > after).order_by(Event.id)
    else:
        stmt = select(Event).where(Event.org_seq > after).order_by(Event.org_seq)
    if up_to_id is not None:
        stmt = stmt.where(Event.id <= up_to_id)
    return db.scalars(restrict(stmt, Event.organization_id, scope).limit(limit)).all()


def after_id(
    db: Session, scope: Scope, after: int, *, missing: Collection[int], limit: int
) -> Sequence[Event]:
    """Events ``scope`` sees after a global ID, plus any of the ``missing`` IDs below it
    that have appeared since, by global ID."""
    newer = Event.id > after
    where = or_(newer, Event.id.in_(missing)) if missing else newer
    stmt = select(Event).where(where).order_by(Event.id).limit(limit)
    return db.scalars(restrict(stmt, Event.organization_id, scope)).all()
