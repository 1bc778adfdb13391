"""Tasks: queued by the API, run by the node's agent, followed over HTTP; tasks a crash
left running are failed at start-up."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from cloudenv.errors import InvalidInput
from cloudenv.services import tasks
from cloudenv.services.access import SYSTEM
from cloudenv.store.engine import transaction
from tests.conftest import Deployment

pytestmark = pytest.mark.unit


def test_refresh_task_runs_through_the_agent(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    node_id = sqlite_deployment.setup.node_id
    response = admin.post(f"/api/v1/nodes/{node_id}/facts/refresh")
    assert response.status_code == 202
    task_id = response.json()["task_id"]
    assert task_id.startswith("task-")
    queued = admin.get(f"/api/v1/tasks/{task_id}").json()
    assert queued["status"] == "queued" and queued["progress"] == 0
    assert sqlite_deployment.daemon.agent.run_pending() == 1
    done = admin.get(f"/api/v1/tasks/{task_id}").json()
    assert done["status"] == "succeeded" and done["progress"] == 100
    assert done["log"][0]["message"] == "Reading hardware and host facts"
    # The agent stored this host's real facts, replacing the fixture's fake ones.

    hardware = admin.get(f"/api/v1/nodes/{node_id}/hardware").json()
    assert hardware["vcpus"] == os.cpu_count()
    listed = admin.get(f"/api/v1/nodes/{node_id}/tasks").json()
    assert listed[0]["id"] == task_id and listed[0]["type"] == "node.refresh_facts"


def test_unknown_task_kind_fails_with_a_message(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    with transaction(sqlite_deployment.factory) as db:
        task = tasks.queue_task(
            db,
            SYSTEM,
            tasks.TaskKind.NODE_REFRESH_FACTS,
            node_id=sqlite_deployment.setup.node_id,
            target_id=None,
            organization_id=None,
            path=(),
        )
        task.kind = "instance.teleport"
        task_id = task.id
    sqlite_deployment.daemon.agent.run_pending()
    with transaction(sqlite_deployment.factory) as db:
        failed = tasks.get_task(db, SYSTEM, task_id)
        assert failed.status == "failed"
        assert "does not know how to run instance.teleport" in failed.message
    # The node's task list carries the message too: the web UI's Tasks tab shows it.
    listed = admin.get(f"/api/v1/nodes/{sqlite_deployment.setup.node_id}/tasks").json()
    entry = next(t for t in listed if t["id"] == task_id)
    assert "does not know how to run instance.teleport" in entry["message"]


def test_interrupted_tasks_fail_at_start(sqlite_deployment: Deployment) -> None:
    node_id = sqlite_deployment.setup.node_id
    with transaction(sqlite_deployment.factory) as db:
        task = tasks.queue_task(
            db,
            SYSTEM,
            tasks.TaskKind.NODE_REFRESH_FACTS,
            node_id=node_id,
            target_id=node_id,
            organization_id=None,
            path=(),
        )
        task_id = task.id
    with transaction(sqlite_deployment.factory) as db:
        assert tasks.claim_next(db, node_id) is not None  # running, then the "crash"
    agent = sqlite_deployment.daemon.agent
    agent.start()
    agent.stop()
    with transaction(sqlite_deployment.factory) as db:
        task = tasks.get_task(db, SYSTEM, task_id)
        assert task.status == "failed" and "stopped while this task was running" in task.message


def test_a_task_is_claimed_once(sqlite_deployment: Deployment) -> None:
    node_id = sqlite_deployment.setup.node_id
    with transaction(sqlite_deployment.factory) as db:
        tasks.queue_task(
            db,
            SYSTEM,
            tasks.TaskKind.NODE_REFRESH_FACTS,
            node_id=node_id,
            target_id=node_id,
            organization_id=None,
            path=(),
        )
    with transaction(sqlite_deployment.factory) as db:
        first = tasks.claim_next(db, node_id)
    with transaction(sqlite_deployment.factory) as db:
        second = tasks.claim_next(db, node_id)
    assert first is not None and second is None


def test_other_tenants_tasks_are_invisible(
    tenant: tuple[TestClient, str], admin: TestClient, sqlite_deployment: Deployment
) -> None:
    client, _ = tenant
    node_id = sqlite_deployment.setup.node_id
    task_id = admin.post(f"/api/v1/nodes/{node_id}/facts/refresh").json()["task_id"]
    assert client.get(f"/api/v1/tasks/{task_id}").status_code == 404


def _queue(dep: Deployment, *, organization_id: str | None, target_id: str | None) -> str:
    with transaction(dep.factory) as db:
        task = tasks.queue_task(
            db,
            SYSTEM,
            tasks.TaskKind.NODE_REFRESH_FACTS,
            node_id=dep.setup.node_id,
            target_id=target_id,
            organization_id=organization_id,
            path=(),
        )
        return task.id


def _set(dep: Deployment, task_id: str, **values: object) -> None:
    with transaction(dep.factory) as db:
        task = tasks.get_task(db, SYSTEM, task_id)
        for name, value in values.items():
            setattr(task, name, value)


def test_recent_tasks_newest_first_with_their_kind_in_words(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node_id = dep.setup.node_id
    ids = [_queue(dep, organization_id=None, target_id=node_id) for _ in range(3)]
    # Creation times set apart on purpose, so the order checked is the list's, not luck's.
    for day, task_id in enumerate(ids, start=1):
        _set(dep, task_id, creation=datetime(2030, 1, day, tzinfo=UTC))
    listed = admin.get("/api/v1/tasks")
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()] == ids[::-1]
    first = listed.json()[0]
    assert first["description"] == tasks.TaskKind.NODE_REFRESH_FACTS.description
    assert first["kind"] == "node.refresh_facts" and first["status"] == "queued"
    node_name = admin.get(f"/api/v1/nodes/{node_id}").json()["node"]["name"]
    assert first["target_id"] == node_id and first["target_name"] == node_name
    # One task read alone carries the same words.
    assert admin.get(f"/api/v1/tasks/{ids[0]}").json()["description"] == first["description"]
    assert [t["id"] for t in admin.get("/api/v1/tasks", params={"limit": 2}).json()] == [
        ids[2],
        ids[1],
    ]


def test_recent_tasks_filtered_by_status_and_target(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node_id = dep.setup.node_id
    on_node = _queue(dep, organization_id=None, target_id=node_id)
    elsewhere = _queue(dep, organization_id=None, target_id=None)
    _set(dep, elsewhere, status=tasks.TaskStatus.FAILED, message="The disk is full.")
    by_target = admin.get("/api/v1/tasks", params={"target_id": node_id}).json()
    assert [t["id"] for t in by_target] == [on_node]
    failed = admin.get("/api/v1/tasks", params={"status": "failed"}).json()
    assert [(t["id"], t["message"]) for t in failed] == [(elsewhere, "The disk is full.")]
    assert admin.get("/api/v1/tasks", params={"status": "running"}).json() == []


def test_an_unknown_kind_is_described_by_its_name(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    task_id = _queue(sqlite_deployment, organization_id=None, target_id=None)
    _set(sqlite_deployment, task_id, kind="instance.teleport")
    (listed,) = admin.get("/api/v1/tasks").json()
    assert listed["description"] == "instance.teleport"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": tasks.RECENT_MAX + 1}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"status": "sleeping"}, "status"),
    ],
)
def test_recent_tasks_refuse_bad_parameters_by_name(
    admin: TestClient, params: dict[str, object], field: str
) -> None:
    response = admin.get("/api/v1/tasks", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400 and body["field"] == field and field in body["message"]


def test_the_recent_tasks_limit_is_the_service_s_rule(sqlite_deployment: Deployment) -> None:
    with transaction(sqlite_deployment.factory) as db, pytest.raises(InvalidInput) as refused:
        tasks.list_recent_tasks(db, SYSTEM, limit=tasks.RECENT_MAX + 1)
    assert refused.value.field == "limit"


def test_recent_tasks_are_the_caller_s_organization_s(
    tenant: tuple[TestClient, str], admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    client, org_id = tenant
    # Their task names our node as its target: they learn the ID they gave, not its name.
    theirs = _queue(dep, organization_id=org_id, target_id=dep.setup.node_id)
    ours = [
        _queue(dep, organization_id=dep.setup.organization_id, target_id=dep.setup.node_id),
        _queue(dep, organization_id=None, target_id=None),  # work on the node itself
    ]
    seen = client.get("/api/v1/tasks", params={"limit": tasks.RECENT_MAX})
    assert [(t["id"], t["target_name"]) for t in seen.json()] == [(theirs, None)]
    # Asking for our target by ID finds nothing of ours either.
    by_target = client.get("/api/v1/tasks", params={"target_id": dep.setup.node_id}).json()
    assert [t["id"] for t in by_target] == [theirs]
    # The root organization sees every organization's tasks.
    assert {t["id"] for t in admin.get("/api/v1/tasks").json()} == {theirs, *ours}
