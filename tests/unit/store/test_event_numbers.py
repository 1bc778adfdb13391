"""Events are numbered per organization as they are inserted, also by concurrent
transactions: each organization's numbers run 1, 2, 3 … without duplicates."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest
from sqlalchemy import select

from cloudenv.services import events
from cloudenv.store.engine import make_engine, make_session_factory, transaction
from cloudenv.store.migrate import upgrade
from cloudenv.store.tables import Event

pytestmark = pytest.mark.unit


def test_concurrent_publishers_number_each_organization_densely(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)

    def publish(organization_id: str | None, count: int) -> None:
        for _ in range(count):
            with transaction(factory) as db:
                events.publish(
                    db, "datacenter.updated", organization_id=organization_id, target_id=None
                )

    workers = [
        threading.Thread(target=publish, args=(org, 10))
        for org in ("org-a", "org-a", "org-b", None)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    numbers: dict[str | None, list[int | None]] = defaultdict(list)
    with transaction(factory) as db:
        for event in db.scalars(select(Event).order_by(Event.id)):
            numbers[event.organization_id].append(event.org_seq)
    engine.dispose()
    assert numbers["org-a"] == list(range(1, 21))
    assert numbers["org-b"] == list(range(1, 11))
    assert numbers[None] == [None] * 10


def test_the_migration_numbers_existing_events(database_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from cloudenv.store.migrate import alembic_config

    engine = make_engine(database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0003")
    with engine.begin() as connection:
        for org in ("a", "b", "a", None, "a"):
            connection.execute(
                text(
                    "INSERT INTO events (time, kind, organization_id, data)"
                    " VALUES (CURRENT_TIMESTAMP, 'x.changed', :org, '{}')"
                ),
                {"org": org},
            )
    upgrade(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as db:
        rows = [
            (e.organization_id, e.org_seq) for e in db.scalars(select(Event).order_by(Event.id))
        ]
        events.publish(db, "datacenter.updated", organization_id="a", target_id=None)
    with transaction(factory) as db:
        newest = db.scalars(select(Event).order_by(Event.id.desc())).first()
    engine.dispose()
    assert rows == [("a", 1), ("b", 1), ("a", 2), (None, None), ("a", 3)]
    assert newest is not None and newest.org_seq == 4
