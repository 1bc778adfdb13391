"""When a detached volume becomes free: a live detach only once the guest has released the
disk (libvirt's device-removed event, modelled by the fake driver), and a detach the
running guest can't take live only once the guest has stopped."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Deployment
from tests.unit.api.test_devices_snapshots_metrics import (
    devices,
    run,
    spare_volume,
    volume,
    volume_body,
)
from tests.unit.api.test_instances_api import deploy, power

pytestmark = pytest.mark.unit


@pytest.fixture
def attached(admin: TestClient, sqlite_deployment: Deployment) -> tuple[str, str]:
    """A running instance with a spare volume attached live as data-1 (virtio, vdb)."""
    web = deploy(admin, sqlite_deployment)
    vol = spare_volume(admin, sqlite_deployment)
    body = volume_body(vol)
    response = admin.post(f"/api/v1/instances/{web}/devices", json=body)
    assert run(admin, sqlite_deployment, response)["status"] == "succeeded"
    return web, vol


def test_live_detach_waits_for_the_guest(
    admin: TestClient, sqlite_deployment: Deployment, attached: tuple[str, str]
) -> None:
    web, vol = attached
    fake = sqlite_deployment.compute
    fake.ignore_unplug, fake.detach_timeout = True, 0.2  # the guest never lets go
    task = run(admin, sqlite_deployment, admin.delete(f"/api/v1/instances/{web}/devices/data-1"))
    assert task["status"] == "failed"
    assert "did not release disk vdb" in task["message"] and "stays attached" in task["message"]
    assert devices(admin, web)["data-1"]["status"] == "attached"
    assert (volume(admin, vol)["attached_to"], volume(admin, vol)["attached"]) == (web, True)
    assert admin.get(f"/api/v1/instances/{web}").json()["instance"]["state"] == "running"

    fake.ignore_unplug, fake.unplug_delay, fake.detach_timeout = False, 0.1, 5.0
    task = run(admin, sqlite_deployment, admin.delete(f"/api/v1/instances/{web}/devices/data-1"))
    assert task["status"] == "succeeded", task
    assert "data-1" not in devices(admin, web)
    assert (volume(admin, vol)["attached"], volume(admin, vol)["status"]) == (False, 1)


def test_detach_needing_a_reboot_keeps_the_volume_until_the_guest_stops(
    admin: TestClient, sqlite_deployment: Deployment, attached: tuple[str, str]
) -> None:
    web, vol = attached
    path = f"/api/v1/instances/{web}/devices/data-1"
    response = admin.delete(path, params={"live": "false"})
    assert response.json()["needs_reboot"] is True
    task = run(admin, sqlite_deployment, response)
    assert task["status"] == "succeeded"
    assert "until it stops" in task["log"][-1]["message"]
    assert "vdb" not in [d.target for d in sqlite_deployment.compute.domains[web].disks]
    assert devices(admin, web)["data-1"]["status"] == "detaching"
    assert (volume(admin, vol)["attached_to"], volume(admin, vol)["status"]) == (web, 3)
    again = admin.delete(path, params={"live": "false"})
    assert again.status_code == 409 and "stop the instance" in again.json()["message"]
    taken = admin.post(f"/api/v1/instances/{web}/devices", json=volume_body(vol, name="again"))
    assert taken.status_code == 409

    power(admin, sqlite_deployment, web, "stop")
    assert "data-1" not in devices(admin, web)
    assert (volume(admin, vol)["attached"], volume(admin, vol)["status"]) == (False, 1)


def test_a_guest_that_powers_off_completes_the_detach(
    admin: TestClient, sqlite_deployment: Deployment, attached: tuple[str, str]
) -> None:
    web, vol = attached
    response = admin.delete(f"/api/v1/instances/{web}/devices/data-1", params={"live": "false"})
    run(admin, sqlite_deployment, response)
    sqlite_deployment.daemon.agent._on_lifecycle(web, sqlite_deployment.compute.states[web])
    assert volume(admin, vol)["attached"] is True
    sqlite_deployment.compute.power_off_by_guest(web)
    sqlite_deployment.daemon.agent._on_lifecycle(web, sqlite_deployment.compute.states[web])
    assert "data-1" not in devices(admin, web)
    assert volume(admin, vol)["attached"] is False
