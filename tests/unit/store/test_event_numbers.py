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
