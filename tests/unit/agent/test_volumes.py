"""The agent's volume tasks when the daemon stopped in the middle of one: at the next
start each is failed and what it left repaired (a half-made volume goes with its row, a
resize is recorded at the size the pool has and lets its instance go, a destroy is
finished)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.agent import compute
from cloudenv.agent.context import TaskContext
from cloudenv.enums import VolumeStatus
from cloudenv.services import tasks
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Volume
from tests.conftest import Deployment, count_rows
from tests.unit.api.test_instances_api import deploy, power, upload
from tests.unit.api.test_volumes_api import GIB, attach, body, create, ready

pytestmark = pytest.mark.unit


@pytest.fixture
def dep(sqlite_deployment: Deployment) -> Deployment:
    ready(sqlite_deployment)
    return sqlite_deployment


def _crash_after_claim(dep: Deployment, task_id: str) -> None:
    """The agent claimed the task (running), then the daemon stopped."""
    with transaction(dep.factory) as db:
        claim = tasks.claim_next(db, dep.setup.node_id)
    assert claim is not None and claim.id == task_id


def _restart(dep: Deployment) -> None:
    dep.daemon.agent.start()
    dep.daemon.agent.stop()


def _task(client: TestClient, task_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"/api/v1/tasks/{task_id}").json()
    assert found["status"] == "failed" and "stopped while this task" in found["message"]
    return found


def _files(dep: Deployment) -> dict[str, Any]:
    return next(iter(dep.storage.files.values()), {})


def test_an_interrupted_create_leaves_neither_data_nor_row(
    admin: TestClient, dep: Deployment
) -> None:
    response = admin.post("/api/v1/volumes", json=body(dep))
    volume_id, task_id = response.json()["id"], response.json()["task_id"]
    _crash_after_claim(dep, task_id)
    agent = dep.daemon.agent
    ctx = TaskContext(agent.node_id, agent.factory, agent.drivers, lambda **_: None)
    compute.ensure_pools(ctx, {dep.setup.default_pool_id})
    dep.storage.create_volume(  # the file was made, the row never said so
        dep.setup.default_pool_id, f"{volume_id}.qcow2", GIB, compute.DiskFormat.QCOW2
    )
    _restart(dep)
    assert "removed what reached the pool" in _task(admin, task_id)["log"][-1]["message"]
    assert count_rows(dep, Volume) == 0
    assert f"{volume_id}.qcow2" not in _files(dep)


def test_an_interrupted_resize_records_the_pool_s_size_and_lets_the_instance_go(
    admin: TestClient, dep: Deployment
) -> None:
    upload(admin, dep, "guest.iso")
    instance = deploy(admin, dep, image="guest.iso")
    volume_id = create(admin, dep, size=1)
    attach(admin, dep, instance, volume_id)
    assert power(admin, dep, instance, "kill")["status"] == "succeeded"
    response = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 2})
    task_id = response.json()["task_id"]
    _crash_after_claim(dep, task_id)
    dep.storage.resize_volume(dep.setup.default_pool_id, f"{volume_id}.qcow2", 3 * GIB)
    _restart(dep)
    assert "is 3 GB, and available" in _task(admin, task_id)["log"][-1]["message"]
    with transaction(dep.factory) as db:
        row = db.get_one(Volume, volume_id)
        assert (row.status, row.size_bytes) == (VolumeStatus.AVAILABLE, 3 * GIB)
    assert power(admin, dep, instance, "start")["status"] == "succeeded"  # not held


def test_an_interrupted_destroy_is_finished(admin: TestClient, dep: Deployment) -> None:
    volume_id = create(admin, dep)
    task_id = admin.delete(f"/api/v1/volumes/{volume_id}").json()["task_id"]
    _crash_after_claim(dep, task_id)
    _restart(dep)
    assert "Finished destroying" in _task(admin, task_id)["log"][-1]["message"]
    assert count_rows(dep, Volume) == 0
    assert f"{volume_id}.qcow2" not in _files(dep)
