"""Tasks: queued by the API, run by the node's agent, followed over HTTP; tasks a crash
left running are failed at start-up."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

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
