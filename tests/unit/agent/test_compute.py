"""The agent under races and failures: Force Stop during a restart, undo steps that fail,
destroy that fails half-way, a hypervisor that can't be asked, crash texts kept in the log."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv.drivers.compute.base import PowerState
from cloudenv.errors import DriverError
from cloudenv.services import tasks
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Event, Instance, Volume
from tests.conftest import Deployment, count_rows
from tests.unit.api.test_instances_api import deploy, deploy_body, power

pytestmark = pytest.mark.unit


@pytest.fixture
def iso(admin: TestClient, sqlite_deployment: Deployment) -> str:
    from tests.unit.api.test_instances_api import upload

    upload(admin, sqlite_deployment, "guest.iso")
    return "guest.iso"


def _state(admin: TestClient, instance_id: str) -> dict:
    return admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]


def test_force_stop_during_a_restart_is_not_undone(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    sqlite_deployment.compute.ignore_shutdown = True  # the guest ignores the button
    restart = admin.post(
        f"/api/v1/instances/{instance_id}/power", json={"action": "restart", "timeout": 30}
    )
    agent = sqlite_deployment.daemon.agent
    with transaction(sqlite_deployment.factory) as db:
        claim = tasks.claim_next(db, sqlite_deployment.setup.node_id)
    assert claim is not None and claim.id == restart.json()["task_id"]
    runner = threading.Thread(target=agent._run, args=(claim,))
    runner.start()  # waits for a shutdown that never comes
    time.sleep(0.5)
    kill = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    assert kill.status_code == 202
    agent.run_pending()  # the kill: the domain goes down, which the restart then sees
    runner.join(20)
    assert not runner.is_alive()
    assert sqlite_deployment.compute.states[instance_id] == PowerState.STOPPED
    instance = _state(admin, instance_id)
    assert instance["state"] == "stopped" and instance["current_task_id"] is None


def test_a_failing_undo_step_still_removes_the_rows(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    sqlite_deployment.compute.fail_on["start"] = "QEMU refused to start."
    sqlite_deployment.compute.fail_on["undefine"] = "libvirt is confused."
    response = admin.post("/api/v2/instances", json=deploy_body(sqlite_deployment, image=iso))
    sqlite_deployment.daemon.agent.run_pending()
    task = admin.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    assert task["status"] == "failed"
    assert count_rows(sqlite_deployment, Instance) == 0
    assert count_rows(sqlite_deployment, Volume) == 0


def test_destroy_that_fails_half_way_keeps_rows_and_can_be_repeated(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    power(admin, sqlite_deployment, instance_id, "kill")
    sqlite_deployment.storage.fail_next("delete_volume", DriverError("disk busy"))
    first = admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": "true"}
    )
    sqlite_deployment.daemon.agent.run_pending()
    assert admin.get(f"/api/v1/tasks/{first.json()['task_id']}").json()["status"] == "failed"
    assert _state(admin, instance_id)["state"] == "error"
    assert count_rows(sqlite_deployment, Volume) == 1  # the row still names the file
    again = admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": "true"}
    )
    sqlite_deployment.daemon.agent.run_pending()
    assert admin.get(f"/api/v1/tasks/{again.json()['task_id']}").json()["status"] == "succeeded"
    assert count_rows(sqlite_deployment, Volume) == 0
    files = {n for f in sqlite_deployment.storage.files.values() for n in f}
    assert not any(name.startswith("vol-") for name in files)


def test_a_crash_with_an_unreachable_hypervisor_leaves_the_instance_in_error(
    admin: TestClient, sqlite_deployment: Deployment, iso: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)

    def broken(*_args: object) -> None:
        raise RuntimeError("secret detail /var/lib/cloudenv/pools")

    monkeypatch.setattr(sqlite_deployment.compute, "shutdown", broken)
    monkeypatch.setattr(sqlite_deployment.compute, "state", broken)
    task = power(admin, sqlite_deployment, instance_id, "stop")
    assert task["status"] == "failed" and "/var/lib" not in task["message"]
    assert "node's log" in task["message"]
    instance = _state(admin, instance_id)
    assert instance["state"] == "error" and instance["current_task_id"] is None
    monkeypatch.undo()
    assert power(admin, sqlite_deployment, instance_id, "kill")["status"] == "succeeded"


def _events(dep: Deployment, target_id: str) -> list[str]:
    """The instance's events other than state changes: what tasks said they did."""
    with transaction(dep.factory) as db:
        rows = db.scalars(select(Event.kind).where(Event.target_id == target_id))
        return [kind for kind in rows if kind != "instance.state_changed"]


@pytest.mark.parametrize("action", ["stop", "restart", "start"])
def test_a_power_task_that_lost_the_instance_leaves_the_hypervisor_alone(
    admin: TestClient, sqlite_deployment: Deployment, iso: str, action: str
) -> None:
    dep = sqlite_deployment
    instance_id = deploy(admin, dep, image=iso)
    if action == "start":
        assert power(admin, dep, instance_id, "kill")["status"] == "succeeded"
    queued = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": action})
    kill = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    assert kill.status_code == 202  # Force Stop took over the queued task
    with transaction(dep.factory) as db:
        claim = tasks.claim_next(db, dep.setup.node_id)
    assert claim is not None and claim.id == queued.json()["task_id"]
    calls, announced = len(dep.compute.calls), _events(dep, instance_id)
    dep.daemon.agent._run(claim)  # the older task runs first, no longer holding it
    touched = [call for call in dep.compute.calls[calls:] if call[0] != "state"]
    assert touched == []  # no ACPI shutdown, no define, no start
    task = admin.get(f"/api/v1/tasks/{claim.id}").json()
    assert task["status"] == "failed"
    assert "no longer holds" in task["message"] and kill.json()["task_id"] in task["message"]
    assert _state(admin, instance_id)["current_task_id"] == kill.json()["task_id"]
    assert _events(dep, instance_id) == announced  # no "instance.stopped" for nothing
    assert dep.daemon.agent.run_pending() == 1  # the Force Stop then does its job
    instance = _state(admin, instance_id)
    assert (instance["state"], instance["current_task_id"]) == ("stopped", None)
