"""The append-only change feed that ``/api/v1/events`` streams.

Each event has two numbers: ``id``, global, which only the root organization's streams show,
and ``org_seq``, counted per organization, which a tenant's stream shows, so a tenant's
event IDs say nothing about how busy other tenants are. ``org_seq`` is assigned at insert
from the ``event_sequences`` counter row of the event's organization; that row stays locked
until the transaction ends, so an organization's events commit in ``org_seq`` order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Index, Integer, String, Table, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from cloudenv.store.base import Base


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # The tree's version asks for the newest event of a few kinds (queries/tenancy.py).
        Index("ix_events_kind_id", "kind", "id"),
        Index("ix_events_organization_id_org_seq", "organization_id", "org_seq"),
    )

    # BIGINT on PostgreSQL, INTEGER (rowid alias) on SQLite: both autoincrement.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    time: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    # None: only the root organization sees it (e.g. an organization's own creation).
    organization_id: Mapped[str | None] = mapped_column(String(32), index=True)
    target_id: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The event's number within its organization (None when organization_id is None).
    org_seq: Mapped[int | None] = mapped_column(BigInteger)


class EventSequence(Base):
    """The last ``org_seq`` handed out per organization."""

    __tablename__ = "event_sequences"

    organization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger)


@event.listens_for(Event, "before_insert")
def _number_within_organization(_mapper: Mapper[Event], connection: Connection, row: Event) -> None:
    """Give the event the next number of its organization, whoever publishes it."""
    if row.organization_id is None or row.org_seq is not None:
        return
    insert = sqlite_insert if connection.dialect.name == "sqlite" else pg_insert
    table = EventSequence.__table__
    assert isinstance(table, Table)
    stmt = (
        insert(table)
        .values(organization_id=row.organization_id, last=1)
        .on_conflict_do_update(
            index_elements=[table.c.organization_id], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )
    row.org_seq = connection.execute(stmt).scalar_one()
