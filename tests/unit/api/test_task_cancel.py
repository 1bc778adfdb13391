"""Cancelling a queued task (``POST /v1/tasks/{id}/cancel``): it never runs, and what it
held is given back; a running or finished task is refused; another tenant's is 404."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv.store.engine import transaction
from cloudenv.store.tables import Event, Instance, InstanceDevice, Volume
from tests.conftest import Deployment, audit_rows, count_rows
from tests.unit.api.test_devices_snapshots_metrics import devices, spare_volume, volume, volume_body
from tests.unit.api.test_instances_api import deploy, deploy_body, power

pytestmark = pytest.mark.unit


def cancel(client: TestClient, task_id: str) -> Any:
    return client.post(f"/api/v1/tasks/{task_id}/cancel")


def events_of(dep: Deployment, kind: str) -> list[str | None]:
    with transaction(dep.factory) as db:
        return list(db.scalars(select(Event.target_id).where(Event.kind == kind)))


def test_a_cancelled_deploy_leaves_nothing_and_never_runs(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    kept = spare_volume(admin, dep)
    body = deploy_body(dep, metadata={"existing_volumes": [{"volume_id": kept, "dev": "/dev/vdb"}]})
    task_id = admin.post("/api/v2/instances", json=body).json()["task_id"]
    assert volume(admin, kept)["attached"] is True
    calls = len(dep.compute.calls)
    response = cancel(admin, task_id)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled" and response.json()["end_time"]
    assert dep.daemon.agent.run_pending() == 0
    assert admin.get(f"/api/v1/tasks/{task_id}").json()["status"] == "cancelled"
    assert count_rows(dep, Instance) == 0 and count_rows(dep, InstanceDevice) == 0
    assert [v["id"] for v in admin.get("/api/v1/volumes").json()] == [kept]
    assert (volume(admin, kept)["attached"], volume(admin, kept)["status"]) == (False, 1)
    assert len(dep.compute.calls) == calls  # the hypervisor was never asked
    assert events_of(dep, "task.cancelled") == [task_id]
    assert [r.action for r in audit_rows(dep) if r.target_id == task_id] == ["task.cancel"]
    again = cancel(admin, task_id)
    assert again.status_code == 409 and "already cancelled" in again.json()["message"]


def test_a_cancelled_power_task_gives_the_instance_back(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    web = deploy(admin, dep)
    stop = admin.post(f"/api/v1/instances/{web}/power", json={"action": "stop"}).json()
    busy = admin.get(f"/api/v1/instances/{web}").json()["instance"]
    assert (busy["state"], busy["current_task_id"]) == ("stopping", stop["task_id"])
    assert cancel(admin, stop["task_id"]).status_code == 200
    back = admin.get(f"/api/v1/instances/{web}").json()["instance"]
    assert (back["state"], back["desired_state"], back["current_task_id"]) == (
        "running",
        "running",
        None,
    )
    assert dep.daemon.agent.run_pending() == 0
    assert ("shutdown", web) not in dep.compute.calls
    assert power(admin, dep, web, "stop")["status"] == "succeeded"  # free for the next one


def test_a_cancelled_attach_frees_the_volume(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    web = deploy(admin, dep)
    vol = spare_volume(admin, dep)
    attach = admin.post(f"/api/v1/instances/{web}/devices", json=volume_body(vol)).json()
    assert cancel(admin, attach["task_id"]).status_code == 200
    assert "data-1" not in devices(admin, web)
    assert (volume(admin, vol)["attached"], volume(admin, vol)["status"]) == (False, 1)
    assert admin.get(f"/api/v1/instances/{web}").json()["instance"]["current_task_id"] is None


def test_running_and_finished_tasks_are_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    from cloudenv.services import tasks

    dep = sqlite_deployment
    web = deploy(admin, dep)
    finished = admin.get("/api/v1/nodes/" + dep.setup.node_id + "/tasks").json()[0]["id"]
    refused = cancel(admin, finished)
    assert refused.status_code == 409 and "finished" in refused.json()["message"]
    stop = admin.post(f"/api/v1/instances/{web}/power", json={"action": "stop"}).json()
    with transaction(dep.factory) as db:
        assert tasks.claim_next(db, dep.setup.node_id) is not None  # the agent took it
    running = cancel(admin, stop["task_id"])
    assert running.status_code == 409 and "running" in running.json()["message"]
    with transaction(dep.factory) as db:
        assert db.get_one(Instance, web).current_task_id == stop["task_id"]
    assert count_rows(dep, Volume) == 1


def test_other_tenants_task_is_404(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    client, _ = tenant
    web = deploy(admin, sqlite_deployment)
    stop = admin.post(f"/api/v1/instances/{web}/power", json={"action": "stop"}).json()
    response = cancel(client, stop["task_id"])
    assert response.status_code == 404 and response.json()["field"] == "id"
    assert admin.get(f"/api/v1/tasks/{stop['task_id']}").json()["status"] == "queued"
    assert cancel(client, "task-nope").status_code == 404


def _event_data(dep: Deployment, kind: str, target_id: str) -> list[dict[str, Any]]:
    with transaction(dep.factory) as db:
        rows = db.scalars(
            select(Event).where(Event.kind == kind, Event.target_id == target_id).order_by(Event.id)
        )
        return [dict(row.data or {}) for row in rows]


@pytest.mark.parametrize(("action", "state"), [("stop", "stopping"), ("restart", "restarting")])
def test_a_cancelled_force_stop_gives_the_instance_back_to_the_queued_task(
    admin: TestClient, sqlite_deployment: Deployment, action: str, state: str
) -> None:
    dep = sqlite_deployment
    web = deploy(admin, dep)
    first = admin.post(f"/api/v1/instances/{web}/power", json={"action": action}).json()
    kill = admin.post(f"/api/v1/instances/{web}/power", json={"action": "kill"}).json()
    taken = admin.get(f"/api/v1/instances/{web}").json()["instance"]
    assert taken["current_task_id"] == kill["task_id"]  # Force Stop took over the queued task
    assert cancel(admin, kill["task_id"]).status_code == 200
    back = admin.get(f"/api/v1/instances/{web}").json()["instance"]
    assert (back["state"], back["current_task_id"]) == (state, first["task_id"])
    assert _event_data(dep, "instance.state_changed", web)[-1] == {
        "node_id": back["node_id"],
        "state": state,
        "task_id": first["task_id"],
    }
    assert dep.daemon.agent.run_pending() == 1  # the queued task runs, and releases it
    assert admin.get(f"/api/v1/tasks/{first['task_id']}").json()["status"] == "succeeded"
    done = admin.get(f"/api/v1/instances/{web}").json()["instance"]
    assert done["current_task_id"] is None
    assert done["state"] == ("stopped" if action == "stop" else "running")


def test_a_cancel_is_audited_as_task_cancel_whether_granted_or_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    web = deploy(admin, dep)
    stop = admin.post(f"/api/v1/instances/{web}/power", json={"action": "stop"}).json()
    assert cancel(admin, stop["task_id"]).status_code == 200
    assert cancel(admin, stop["task_id"]).status_code == 409
    rows = [(r.action, r.status_code) for r in audit_rows(dep) if r.target_id == stop["task_id"]]
    assert rows == [("task.cancel", 200), ("task.cancel", 409)]


def test_a_task_of_an_unknown_kind_is_refused_with_a_conflict(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    from sqlalchemy import update

    from cloudenv.store.tables import Task

    dep = sqlite_deployment
    web = deploy(admin, dep)
    stop = admin.post(f"/api/v1/instances/{web}/power", json={"action": "stop"}).json()
    with transaction(dep.factory) as db:  # as a newer node sharing the database wrote it
        db.execute(update(Task).where(Task.id == stop["task_id"]).values(kind="instance.hover"))
    response = cancel(admin, stop["task_id"])
    assert response.status_code == 409, response.text
    assert "instance.hover" in response.json()["message"]
    assert "version" in response.json()["message"]
    assert admin.get(f"/api/v1/tasks/{stop['task_id']}").json()["status"] == "queued"
