"""``GET /api/v1/events`` under trial: streams end with their session, tenants see their own
event numbering, cursors are bounded, many streams share one database poller, and a user's
streams are capped."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, update

from cloudenv.api.event_feed import feed_for
from cloudenv.store.engine import transaction
from cloudenv.store.tables import User
from tests.conftest import Deployment
from tests.support.served_node import ADMIN_PASSWORD

pytestmark = pytest.mark.unit


def _token(client: TestClient) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")


class StreamReader(threading.Thread):
    """One SSE stream read to its end on its own client (the test client returns a streamed
    body only once the app finishes it); records status, text and how long it lasted."""

    def __init__(self, dep: Deployment, token: str, **params: Any) -> None:
        super().__init__(daemon=True)
        self.dep, self.token, self.params = dep, token, params
        self.status = 0
        self.text = ""
        self.seconds = 0.0

    def run(self) -> None:
        started = time.monotonic()
        with (
            TestClient(self.dep.daemon.app, base_url="https://testserver") as client,
            client.stream(
                "GET",
                "/api/v1/events",
                params=self.params,
                headers={"Authorization": f"Bearer {self.token}"},
            ) as response,
        ):
            self.status = response.status_code
            self.text = "".join(response.iter_text())
        self.seconds = time.monotonic() - started

    def events(self) -> list[dict[str, Any]]:
        lines = self.text.splitlines()
        return [json.loads(line[6:]) for line in lines if line.startswith("data: ")]


def _create_dc(client: TestClient, name: str, organization_id: str) -> str:
    reply = client.post(
        "/api/v1/datacenters", json={"name": name, "organization_id": organization_id}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["id"])


def _read(client: TestClient, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The ``id:`` lines and the decoded ``data:`` of a short stream."""
    with client.stream("GET", "/api/v1/events", params={"timeout": 0.6, **params}) as response:
        assert response.status_code == 200, response.read()
        lines = "".join(response.iter_text()).splitlines()
    ids = [line[4:] for line in lines if line.startswith("id: ")]
    return ids, [json.loads(line[6:]) for line in lines if line.startswith("data: ")]


def test_a_logged_out_token_ends_its_stream(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """Logging a token out ends the streams opened with it within seconds, and nothing
    published after the logout reaches them."""
    org = sqlite_deployment.setup.organization_id
    doomed = admin.post(
        "/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
    ).json()["token"]
    reader = StreamReader(sqlite_deployment, doomed, timeout=20)
    reader.start()
    time.sleep(1.0)
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as other:
        other.headers["Authorization"] = f"Bearer {doomed}"
        assert other.post("/api/v1/auth/logout").status_code in (200, 204)
    later = _create_dc(admin, "after-logout", org)
    reader.join(25)
    assert reader.status == 200
    assert reader.seconds < 10, f"the stream outlived its logged-out session ({reader.seconds} s)"
    assert later not in {e["target_id"] for e in reader.events()}


def test_a_disabled_user_loses_its_stream(
    tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    client, _ = tenant
    reader = StreamReader(sqlite_deployment, _token(client), timeout=20)
    reader.start()
    time.sleep(1.0)
    with transaction(sqlite_deployment.factory) as db:
        db.execute(update(User).where(User.username == "alice").values(enabled=False))
    reader.join(25)
    assert reader.seconds < 10, f"a disabled user's stream lived on ({reader.seconds} s)"


def test_tenant_event_ids_do_not_count_other_tenants(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    """A tenant's event IDs run 1, 2, 3 … over its own events: the root organization's five
    changes between two of them leave no gap; resuming by either form still works."""
    client, org_id = tenant
    root_org = sqlite_deployment.setup.organization_id
    first = _create_dc(client, "mine-1", org_id)
    for n in range(5):
        _create_dc(admin, f"root-{n}", root_org)
    second = _create_dc(client, "mine-2", org_id)
    ids, seen = _read(client, since=0)
    assert [e["target_id"] for e in seen][-2:] == [first, second]
    numbers = [int(i) for i in ids]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
    assert [e["id"] for e in seen] == numbers
    assert [e["target_id"] for e in _read(client, since=numbers[-2])[1]] == [second]
    with client.stream(
        "GET",
        "/api/v1/events",
        params={"timeout": 0.6},
        headers={"Last-Event-ID": str(numbers[-2])},
    ) as response:
        text = "".join(response.iter_text())
    assert f"id: {numbers[-1]}\n" in text and first not in text
    # The root organization's view stays global and sees the tenant's events too.
    root_targets = {e["target_id"] for e in _read(admin, since=0)[1]}
    assert {first, second} <= root_targets


@pytest.mark.parametrize(
    ("params", "headers", "field"),
    [
        ({}, {"Last-Event-ID": "1" * 25}, "Last-Event-ID"),
        ({}, {"Last-Event-ID": "12abc"}, "Last-Event-ID"),
        ({"since": "1" * 23}, {}, "since"),
        ({"since": "-1"}, {}, "since"),
    ],
    ids=["huge-header", "junk-header", "huge-since", "negative-since"],
)
def test_bad_cursors_are_refused_before_streaming(
    admin: TestClient, params: dict[str, str], headers: dict[str, str], field: str
) -> None:
    reply = admin.get("/api/v1/events", params={"timeout": 0.3, **params}, headers=headers)
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["field"] == field and "event ID" in body["message"]


@contextmanager
def _event_reads(dep: Deployment) -> Iterator[list[str]]:
    """Every statement that reads the events table while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM events" in statement:
            seen.append(statement)

    event.listen(dep.daemon.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(dep.daemon.engine, "before_cursor_execute", record)


def test_streams_share_one_poller(admin: TestClient, sqlite_deployment: Deployment) -> None:
    """Six streams of 2 s poll the database as one: far fewer reads than six pollers at
    4 Hz would make (48), and every stream still gets the change."""
    token = _token(admin)
    readers = [StreamReader(sqlite_deployment, token, timeout=2) for _ in range(6)]
    with _event_reads(sqlite_deployment) as reads:
        for reader in readers:
            reader.start()
        time.sleep(0.8)
        dc = _create_dc(admin, "fanned-out", sqlite_deployment.setup.organization_id)
        for reader in readers:
            reader.join(10)
    for reader in readers:
        assert dc in {e["target_id"] for e in reader.events()}
    assert len(reads) <= 20, f"{len(reads)} reads of the events table for six streams"


def test_a_user_may_hold_eight_streams(admin: TestClient, sqlite_deployment: Deployment) -> None:
    token = _token(admin)
    readers = [StreamReader(sqlite_deployment, token, timeout=5) for _ in range(8)]
    for reader in readers:
        reader.start()
    # All eight open (not a fixed sleep: on a loaded machine the streams open late).
    app = sqlite_deployment.daemon.app
    feed = feed_for(app.state, app.state.session_factory)
    deadline = time.monotonic() + 5
    while feed.count() < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    refused = admin.get("/api/v1/events", params={"timeout": 0.2})
    for reader in readers:
        reader.join(10)
    assert refused.status_code == 429, refused.text
    assert "8" in refused.json()["message"]
    assert all(reader.status == 200 for reader in readers)
    # Once they end, the user may stream again.
    assert admin.get("/api/v1/events", params={"timeout": 0.2}).status_code == 200


def test_a_late_commit_below_the_newest_id_still_reaches_streams(
    sqlite_deployment: Deployment,
) -> None:
    """On PostgreSQL a transaction may commit event 3 after event 5 was read; the shared
    poller asks again for the IDs it skipped, so event 3 is not lost."""
    from cloudenv import clock
    from cloudenv.api.event_feed import EventFeed, StreamEnded
    from cloudenv.services import auth
    from cloudenv.services.events import EventView
    from cloudenv.store.tables import Event

    factory = sqlite_deployment.factory
    with transaction(factory) as db:
        login = auth.login(db, "pceadmin", ADMIN_PASSWORD, session_hours=1)

    def add(event_id: int) -> None:
        with transaction(factory) as db:
            db.add(Event(id=event_id, time=clock.now(), kind="test.late", organization_id=None))

    async def scenario() -> list[int]:
        feed = EventFeed(factory)
        loop = asyncio.get_running_loop()
        subscription = feed.reserve(loop, login.principal, login.token)
        high = await asyncio.to_thread(feed.activate, subscription)
        await asyncio.to_thread(add, high + 5)
        await asyncio.sleep(0.8)
        await asyncio.to_thread(add, high + 2)
        seen: list[int] = []
        while len(seen) < 2:
            item = await asyncio.wait_for(subscription.next(), 5)
            assert isinstance(item, EventView), item
            seen.append(item.id - high)
        feed.unsubscribe(subscription)
        assert not isinstance(item, StreamEnded)
        return seen

    assert asyncio.run(scenario()) == [5, 2]
