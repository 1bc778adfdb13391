"""The rules deploy and edit share, over HTTP with fake drivers: what a machine type allows
(findings 7: refused with 400 before anything is queued, and a refusal that reaches the
driver fails its task with the reason) and how big an instance may be (finding 8: one
resource rule, so an edit can't give an instance what a deploy would refuse)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv.store.engine import transaction
from cloudenv.store.tables import Instance, InstanceDevice, Task, Volume
from tests.conftest import Deployment, count_rows
from tests.unit.api.test_instances_api import deploy, deploy_body, power, upload

pytestmark = pytest.mark.unit

# (resources in the deploy body's shape, the field the refusal names); the fixture node
# has 32768 MB of memory.
BAD_RESOURCES = [
    ({"cpu": {"sockets": 64, "cores": 64, "threads": 64}}, "cpu"),
    ({"cpu": {"sockets": 16, "cores": 16, "threads": 1}}, "cpu"),
    ({"cpu": {"sockets": 1, "cores": 0, "threads": 1}}, "cpu.cores"),
    ({"cpu": {"sockets": 1, "cores": 1, "threads": -1}}, "cpu.threads"),
    ({"memory": 63}, "memory"),
    ({"memory": 32769}, "memory"),
]


@pytest.fixture
def iso(admin: TestClient, sqlite_deployment: Deployment) -> str:
    upload(admin, sqlite_deployment, "guest.iso")
    return "guest.iso"


def _q35(**changes: Any) -> dict[str, Any]:
    return {"machine_type": "q35", "firmware": "efi", **changes}


def _tasks(dep: Deployment) -> int:
    return count_rows(dep, Task)


@pytest.mark.parametrize(("resources", "field"), BAD_RESOURCES)
def test_deploy_refuses_resources_outside_the_rule(
    admin: TestClient, sqlite_deployment: Deployment, resources: dict[str, Any], field: str
) -> None:
    response = admin.post("/api/v2/instances", json=deploy_body(sqlite_deployment, **resources))
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert count_rows(sqlite_deployment, Instance) == 0
    assert _tasks(sqlite_deployment) == 0


@pytest.mark.parametrize(("resources", "field"), BAD_RESOURCES)
def test_edit_refuses_what_deploy_refuses(
    admin: TestClient, sqlite_deployment: Deployment, resources: dict[str, Any], field: str
) -> None:
    """PATCH 64x64x64 once gave an instance 262,144 vCPUs; now the same rule refuses it."""
    instance_id = deploy(admin, sqlite_deployment)
    power(admin, sqlite_deployment, instance_id, "kill")
    path = f"/api/v1/instances/{instance_id}"
    before = admin.get(path).json()["instance"]
    response = admin.patch(path, json={"data": {"action": "update_resources", **resources}})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert admin.get(path).json()["instance"] == before


def test_edit_within_the_rule_is_applied_at_the_next_start(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    instance_id = deploy(admin, sqlite_deployment)
    power(admin, sqlite_deployment, instance_id, "kill")
    changed = admin.patch(
        f"/api/v1/instances/{instance_id}",
        json={"data": {"cpu": {"sockets": 5, "cores": 51, "threads": 1}, "memory": 32768}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["instance"]["vcpus"] == 255
    assert power(admin, sqlite_deployment, instance_id, "start")["status"] == "succeeded"
    spec = sqlite_deployment.compute.domains[instance_id]
    assert (spec.vcpus, spec.memory_mb) == (255, 32768)


@pytest.mark.parametrize(
    ("metadata", "field", "words"),
    [
        (
            _q35(new_volumes=[{"storage_pool_id": "POOL", "size": 1, "bus": "ide"}]),
            "metadata.new_volumes[0].bus",
            "q35 machine type has no ide bus",
        ),
        (
            _q35(firmware="bios", secure_boot={"enabled": True}),
            "metadata.secure_boot",
            "secure boot needs EFI firmware",
        ),
        ({"firmware": "uefi"}, "metadata.firmware", "use bios or efi"),
        ({"machine_type": "virt"}, "metadata.machine_type", "use pc (i440fx) or q35"),
    ],
)
def test_deploy_refuses_what_the_machine_type_lacks_before_queuing(
    admin: TestClient,
    sqlite_deployment: Deployment,
    metadata: dict[str, Any],
    field: str,
    words: str,
) -> None:
    """A q35 deploy with an IDE disk was accepted with 202 and then failed "unexpectedly"."""
    for volume in metadata.get("new_volumes", []):
        volume["storage_pool_id"] = sqlite_deployment.setup.default_pool_id
    body = deploy_body(sqlite_deployment, metadata=metadata)
    response = admin.post("/api/v2/instances", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert words in response.json()["message"]
    assert count_rows(sqlite_deployment, Instance) == 0
    assert count_rows(sqlite_deployment, Volume) == 0
    assert _tasks(sqlite_deployment) == 0
    assert sqlite_deployment.compute.calls == []


def test_q35_iso_deploy_puts_the_cdrom_on_sata(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso, metadata=_q35())
    spec = sqlite_deployment.compute.domains[instance_id]
    assert spec.config.machine.name == "q35"
    assert [(d.device, d.bus.value) for d in spec.disks] == [("disk", "virtio"), ("cdrom", "sata")]


def test_a_refusal_reaching_the_driver_fails_the_task_with_its_reason(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """A row the service would refuse today (written before the rule existed) reaches the
    designer: the task fails with the designer's reason, not "failed unexpectedly"."""
    instance_id = deploy(admin, sqlite_deployment, metadata=_q35())
    power(admin, sqlite_deployment, instance_id, "kill")
    with transaction(sqlite_deployment.factory) as db:
        device = db.scalars(
            select(InstanceDevice).where(InstanceDevice.instance_id == instance_id)
        ).one()
        device.bus = "ide"
    task = power(admin, sqlite_deployment, instance_id, "start")
    assert task["status"] == "failed"
    assert "unexpectedly" not in task["message"]
    assert "the q35 machine type has no ide bus" in task["message"], task["message"]
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["state"] == "stopped" and instance["current_task_id"] is None


def test_attach_refuses_a_bus_the_machine_type_lacks(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, metadata=_q35())
    response = admin.post(
        f"/api/v1/instances/{instance_id}/devices",
        json={
            "name": "cd1",
            "type": 7,
            "metadata": {"_type": "cdrom", "data": {"image": iso, "bus": "ide"}},
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "metadata.data.bus"
    assert "q35 machine type has no ide bus" in response.json()["message"]
