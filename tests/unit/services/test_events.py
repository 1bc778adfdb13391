"""The event vocabulary: past tense, typed, and what the instance actions publish."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv.services import events
from cloudenv.services.events import EventKind
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Event
from tests.conftest import Deployment
from tests.unit.api.test_instances_api import deploy, power

pytestmark = pytest.mark.unit


def test_every_event_kind_says_what_happened() -> None:
    for kind in EventKind:
        resource, _, happening = kind.value.partition(".")
        assert resource and happening.split("_")[-1].endswith("ed"), kind


def test_publish_refuses_a_kind_outside_the_vocabulary(sqlite_deployment: Deployment) -> None:
    refused = pytest.raises(ValueError, match=r"instance\.running")
    with refused, transaction(sqlite_deployment.factory) as db:
        events.publish(db, "instance.running", organization_id=None, target_id=None)  # type: ignore[arg-type]


def _instance_events(dep: Deployment, instance_id: str) -> list[tuple[str, dict[str, object]]]:
    with transaction(dep.factory) as db:
        rows = db.scalars(select(Event).where(Event.target_id == instance_id).order_by(Event.id))
        return [(e.kind, dict(e.data)) for e in rows]


def test_a_power_action_publishes_its_state_then_its_past_tense_event(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    instance_id = deploy(admin, dep)
    assert [k for k, _ in _instance_events(dep, instance_id)] == [
        "instance.created",
        "instance.state_changed",  # running, when the deploy task released it
        "instance.deployed",
    ]
    before = len(_instance_events(dep, instance_id))
    power(admin, dep, instance_id, "stop")
    later = _instance_events(dep, instance_id)[before:]
    assert [k for k, _ in later] == [
        "instance.state_changed",
        "instance.state_changed",
        "instance.stopped",
    ]
    assert [d.get("state") for _, d in later[:2]] == ["stopping", "stopped"]


def test_every_instance_event_names_the_instance_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """A node's page lists its instances and refreshes them from ``data.node_id``; an
    instance event without it would leave that page stale."""
    dep = sqlite_deployment
    instance_id = deploy(admin, dep)
    node_id = dep.setup.node_id
    edit = admin.patch(f"/api/v1/instances/{instance_id}", json={"data": {"description": "edited"}})
    assert edit.status_code == 200, edit.text
    power(admin, dep, instance_id, "stop")
    gone = admin.delete(f"/api/v1/instances/{instance_id}", params={"destroy_volumes": "true"})
    assert gone.status_code == 202, gone.text
    dep.daemon.agent.run_pending()
    seen = _instance_events(dep, instance_id)
    kinds = {kind for kind, _ in seen}
    assert {
        "instance.created",
        "instance.updated",
        "instance.state_changed",
        "instance.deployed",
        "instance.stopped",
        "instance.deleted",
        "instance.destroyed",
    } <= kinds
    assert [(kind, data.get("node_id")) for kind, data in seen] == [
        (kind, node_id) for kind, _ in seen
    ]


def test_publish_refuses_an_instance_event_without_its_node(
    sqlite_deployment: Deployment,
) -> None:
    with pytest.raises(ValueError, match="node_id"), transaction(sqlite_deployment.factory) as db:
        events.publish(db, EventKind.INSTANCE_STARTED, organization_id=None, target_id="i-1")


def test_replies_versioned_by_event_id_are_bounded_where_commits_come_late(
    deployment: Deployment,
) -> None:
    """On PostgreSQL a transaction can commit an older event ID after a newer one was read;
    a tree or list cached under the newer ID would miss that change for good, so there a
    cached reply holds at most ``LATE_COMMIT_WINDOW``. SQLite commits in ID order."""
    from cloudenv import clock

    with transaction(deployment.factory) as db:
        bound = events.late_commit_bound(db)
        backend = db.get_bind().dialect.name
    if backend == "sqlite":
        assert bound is None
    else:
        assert bound is not None
        assert clock.now() < bound <= clock.now() + events.LATE_COMMIT_WINDOW
