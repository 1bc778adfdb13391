"""The resource tree's cache is never stale and needs no timer: a heartbeat (which writes
``last_seen`` without an event) shows at once, a node turns not-alive the moment its
heartbeat window runs out, and changes the tree doesn't show (instance events) keep it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from cloudenv import clock
from cloudenv.services import events
from cloudenv.services.tenancy import views
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Node
from tests.conftest import Deployment

pytestmark = pytest.mark.unit


def set_last_seen(dep: Deployment, when: datetime) -> None:
    """What a heartbeat of an alive node does: write ``last_seen``, publish nothing."""
    with transaction(dep.factory) as db:
        db.get_one(Node, dep.setup.node_id).last_seen = when


def tree_node(client: TestClient) -> dict[str, object]:
    node: dict[str, object] = client.get("/api/v1/organizations").json()[0]["nodes"][0]
    return node


def test_a_heartbeat_shows_in_the_tree_at_once(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    now = clock.now().replace(microsecond=0)
    set_last_seen(sqlite_deployment, now - timedelta(seconds=20))
    assert tree_node(admin)["last_seen"] == clock.rfc3339(now - timedelta(seconds=20))

    set_last_seen(sqlite_deployment, now - timedelta(seconds=2))

    assert tree_node(admin)["last_seen"] == clock.rfc3339(now - timedelta(seconds=2))


def test_a_node_turns_not_alive_when_its_window_runs_out(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = clock.now()
    set_last_seen(sqlite_deployment, now - timedelta(seconds=20))
    assert tree_node(admin)["alive"] is True

    monkeypatch.setattr(clock, "now", lambda: now + timedelta(seconds=11))  # 31 s, no write

    assert tree_node(admin)["alive"] is False


def test_only_changes_the_tree_shows_change_its_version(sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    with transaction(dep.factory) as db:
        before = views.tree_version(db)
        events.publish(
            db,
            "instance.started",
            organization_id=None,
            target_id="inst-x",
            data=events.instance_data("node-x"),
        )
    with transaction(dep.factory) as db:
        assert views.tree_version(db) == before
        events.publish(db, "datacenter.updated", organization_id=None, target_id="dc-x")
    with transaction(dep.factory) as db:
        after = views.tree_version(db)
    assert after != before and after.heartbeats == before.heartbeats
