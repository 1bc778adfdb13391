"""Devices, snapshots and metrics of an instance over HTTP with fake drivers: live and
persistent attach/detach with their refusals and roll-back, snapshots through tasks (and
the UEFI refusal), metrics from the agent's sampler, and tenant isolation on every route."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.agent.metrics import MetricsSampler
from cloudenv.drivers.compute.base import DiskSpec
from cloudenv.services import tasks
from cloudenv.store.engine import transaction
from tests.conftest import Deployment
from tests.unit.api.test_instances_api import deploy, power, upload

pytestmark = pytest.mark.unit

Plug = tuple[str, str, str, bool]  # (verb, domain, target, live)
UEFI_REFUSAL = "UEFI virtual machines can be snapshotted only while stopped (libvirt limitation)"
NO_READING = {
    "timestamp": None,
    "cpu_percent": 0.0,
    "memory": {"percent": 0.0, "usage": 0},
    "network": {},
}


@pytest.fixture
def dep(sqlite_deployment: Deployment) -> Deployment:
    return sqlite_deployment


@pytest.fixture
def plugs(dep: Deployment, monkeypatch: pytest.MonkeyPatch) -> list[Plug]:
    """Every attach_disk/detach_disk the agent makes, with its ``live`` flag."""
    fake, calls = dep.compute, list[Plug]()
    attach, detach = fake.attach_disk, fake.detach_disk

    def attach_disk(name: str, disk: DiskSpec, *, live: bool) -> None:
        calls.append(("attach", name, disk.target, live))
        attach(name, disk, live=live)

    def detach_disk(name: str, target: str, *, live: bool) -> None:
        calls.append(("detach", name, target, live))
        detach(name, target, live=live)

    monkeypatch.setattr(fake, "attach_disk", attach_disk)
    monkeypatch.setattr(fake, "detach_disk", detach_disk)
    return calls


@pytest.fixture
def web(admin: TestClient, dep: Deployment) -> str:
    """A running BIOS instance on pc: disk0 (vda, root) and cdrom0 (hdc, ide)."""
    upload(admin, dep, "guest.iso")
    return deploy(admin, dep, image="guest.iso")


def spare_volume(client: TestClient, dep: Deployment, name: str = "donor") -> str:
    """An available volume of the node, attached to nothing (left by a destroyed instance)."""
    donor = deploy(client, dep, name=name)
    power(client, dep, donor, "kill")
    client.delete(f"/api/v1/instances/{donor}", params={"confirm": "DESTROY"})
    dep.daemon.agent.run_pending()
    (volume,) = [v for v in client.get("/api/v1/volumes").json() if not v["attached"]]
    return str(volume["id"])


def volume_body(volume_id: str, name: str = "data-1", **data: Any) -> dict[str, Any]:
    data = {"volume_id": volume_id, "bus": "virtio", "dev": "/dev/vdb", **data}
    return {"name": name, "type": 2, "metadata": {"_type": "storage_volume", "data": data}}


def run(client: TestClient, dep: Deployment, response: Any) -> dict[str, Any]:
    """Run the task a 202 reply queued; return the task."""
    assert response.status_code == 202, response.text
    dep.daemon.agent.run_pending()
    task: dict[str, Any] = client.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    return task


def devices(client: TestClient, instance_id: str) -> dict[str, dict[str, Any]]:
    listed = client.get(f"/api/v1/instances/{instance_id}/devices/").json()
    return {d["name"]: d for d in listed}


def volume(client: TestClient, volume_id: str) -> dict[str, Any]:
    return next(v for v in client.get("/api/v1/volumes").json() if v["id"] == volume_id)


def test_attach_a_volume_live_list_and_detach_it(
    admin: TestClient, dep: Deployment, web: str, plugs: list[Plug]
) -> None:
    vol = spare_volume(admin, dep)
    response = admin.post(f"/api/v1/instances/{web}/devices/", json=volume_body(vol))
    assert response.json()["name"] == "data-1" and response.json()["needs_reboot"] is False
    assert volume(admin, vol)["status"] == 2  # attaching until the task ran
    assert run(admin, dep, response)["status"] == "succeeded"
    assert plugs == [("attach", web, "vdb", True)]
    listed = devices(admin, web)
    assert list(listed) == ["disk0", "cdrom0", "data-1"]
    data_1, serial = listed["data-1"], vol.split("-", 1)[1][:20]
    data = {"bus": "virtio", "dev": "/dev/vdb", "readonly": False, "volume_id": vol}
    assert data_1["metadata"] == {"_type": 2, "data": {**data, "serial": serial}}
    assert (data_1["type"], data_1["resource_id"], data_1["status"]) == (2, vol, "attached")
    assert (data_1["boot_order"], data_1["is_boot_device"], data_1["is_root"]) == (0, False, False)
    assert listed["disk0"]["is_root"] is True and listed["cdrom0"]["type"] == 7
    assert listed["cdrom0"]["metadata"]["data"]["image"] == "guest.iso"
    assert (volume(admin, vol)["attached_to"], volume(admin, vol)["status"]) == (web, 1)
    assert "vdb" in [d.target for d in dep.compute.domains[web].disks]
    gone = admin.delete(f"/api/v1/instances/{web}/devices/data-1/", params={"live": "true"})
    assert gone.json()["needs_reboot"] is False
    assert run(admin, dep, gone)["status"] == "succeeded"
    assert plugs[-1] == ("detach", web, "vdb", True)
    assert "data-1" not in devices(admin, web)
    assert (volume(admin, vol)["attached"], volume(admin, vol)["status"]) == (False, 1)
    assert admin.get(f"/api/v1/instances/{web}").json()["instance"]["state"] == "running"


def test_attach_to_a_stopped_instance_is_applied_at_start(
    admin: TestClient, dep: Deployment, web: str, plugs: list[Plug]
) -> None:
    vol = spare_volume(admin, dep)
    power(admin, dep, web, "kill")
    body = volume_body(vol, dev="/dev/sdb", bus="scsi")
    response = admin.post(f"/api/v1/instances/{web}/devices", json={**body, "live": True})
    assert response.json()["needs_reboot"] is False
    assert run(admin, dep, response)["status"] == "succeeded"
    assert plugs == [("attach", web, "sdb", False)]
    assert power(admin, dep, web, "start")["status"] == "succeeded"
    disks = dep.compute.domains[web].disks
    assert [(d.target, d.bus) for d in disks][-1] == ("sdb", "scsi")


def test_cdrom_on_pc_while_running_needs_a_reboot(
    admin: TestClient, dep: Deployment, web: str, plugs: list[Plug]
) -> None:
    upload(admin, dep, "tools.iso")
    body = {"name": "tools", "type": 7, "metadata": {"data": {"image": "tools.iso"}}}
    response = admin.post(f"/api/v1/instances/{web}/devices", json={**body, "live": True})
    assert (response.json()["name"], response.json()["needs_reboot"]) == ("tools", True)
    assert run(admin, dep, response)["status"] == "succeeded"
    assert plugs == [("attach", web, "hdd", False)]  # hdc is cdrom0's
    data = devices(admin, web)["tools"]["metadata"]["data"]
    assert (data["bus"], data["dev"], data["image"]) == ("ide", "/dev/hdd", "tools.iso")


def test_device_refusals_change_nothing(admin: TestClient, dep: Deployment, web: str) -> None:
    vol = spare_volume(admin, dep)
    other = deploy(admin, dep, name="other")
    root_of_other = devices(admin, other)["disk0"]["resource_id"]
    path, vid = f"/api/v1/instances/{web}/devices", "metadata.data.volume_id"
    cases: list[tuple[dict[str, Any], int, str | None, str]] = [
        (volume_body(vol, name="my disk"), 400, "name", "without spaces"),
        (volume_body(vol, name="ab"), 400, "name", "3 to 32"),
        (volume_body(vol, name="disk0"), 409, "name", "already has a device named 'disk0'"),
        (volume_body(root_of_other), 409, vid, f"attached to instance {other}"),
        (volume_body(vol, dev="/dev/vda"), 409, "metadata.data.dev", "/dev/vda"),
        (volume_body(vol, dev="vdb"), 400, "metadata.data.dev", "not valid"),
        (volume_body(vol, bus="pci"), 400, "metadata.data.bus", "ide, sata, scsi, virtio, usb"),
        (volume_body("vol-missing"), 404, vid, "does not exist"),
        ({**volume_body(vol), "type": 4}, 400, "type", "type 4 (USB) is not supported yet"),
        ({**volume_body(vol), "type": 1}, 400, "metadata.data.vswitch_id", "is required"),
        ({**volume_body(vol), "type": 9}, 400, "type", "type 9 is not known"),
    ]
    for body, status, field, words in cases:
        response = admin.post(path, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json().get("field") == field and words in response.json()["message"]
    root = admin.delete(f"{path}/disk0")
    assert root.status_code == 409
    assert "is the root volume; it can't be detached" in root.json()["message"]
    assert admin.delete(f"{path}/nope").status_code == 404
    assert list(devices(admin, web)) == ["disk0", "cdrom0"]
    assert (volume(admin, vol)["attached"], volume(admin, vol)["status"]) == (False, 1)
    assert admin.get(f"/api/v1/instances/{web}").json()["instance"]["current_task_id"] is None


def test_a_refused_attach_rolls_the_rows_back(admin: TestClient, dep: Deployment, web: str) -> None:
    vol = spare_volume(admin, dep)
    dep.compute.fail_on["attach_disk"] = "Failed attaching disk vdb: no PCI slot"
    task = run(
        admin,
        dep,
        admin.post(f"/api/v1/instances/{web}/devices", json=volume_body(vol)),
    )
    assert task["status"] == "failed" and "no PCI slot" in task["message"]
    assert "removed again; the volume is available" in task["message"]
    assert "data-1" not in devices(admin, web)
    assert (volume(admin, vol)["attached"], volume(admin, vol)["status"]) == (False, 1)
    instance = admin.get(f"/api/v1/instances/{web}").json()["instance"]
    assert (instance["state"], instance["current_task_id"]) == ("running", None)


def test_rename_and_describe_a_device(admin: TestClient, dep: Deployment, web: str) -> None:
    path = f"/api/v1/instances/{web}/devices"
    renamed = admin.patch(f"{path}/cdrom0/", json={"new_name": "installer", "description": "ISO"})
    assert (renamed.json()["name"], renamed.json()["description"]) == ("installer", "ISO")
    taken = admin.patch(f"{path}/installer", json={"new_name": "disk0"})
    assert taken.status_code == 409 and taken.json()["field"] == "new_name"
    assert run(admin, dep, admin.delete(f"{path}/installer"))["status"] == "succeeded"
    # An IDE CD-ROM leaves the running guest only when it stops (test_device_detach_timing).
    assert devices(admin, web)["installer"]["status"] == "detaching"
    power(admin, dep, web, "kill")
    assert list(devices(admin, web)) == ["disk0"]


def test_interrupted_attach_is_undone(admin: TestClient, dep: Deployment, web: str) -> None:
    vol = spare_volume(admin, dep)
    response = admin.post(f"/api/v1/instances/{web}/devices", json=volume_body(vol))
    with transaction(dep.factory) as db:  # claimed; then the daemon died
        assert tasks.claim_next(db, dep.setup.node_id) is not None
    agent = dep.daemon.agent
    agent.start()
    agent.stop()
    task = admin.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    assert task["status"] == "failed"
    assert "Finished the interrupted attach" in task["log"][-1]["message"]
    assert "data-1" not in devices(admin, web)
    assert (volume(admin, vol)["attached"], volume(admin, vol)["status"]) == (False, 1)
    assert admin.get(f"/api/v1/instances/{web}").json()["instance"]["current_task_id"] is None


def test_snapshots_through_tasks(admin: TestClient, dep: Deployment, web: str) -> None:
    path = f"/api/v1/instances/{web}/snapshots"
    created = admin.post(path, json={"name": "before-upgrade", "description": "v1"})
    assert admin.get(path).json()[0]["status"] == "creating"
    busy = admin.post(f"/api/v1/instances/{web}/power", json={"action": "stop"})
    assert busy.status_code == 409 and "busy with task" in busy.json()["message"]
    assert run(admin, dep, created)["status"] == "succeeded"
    (snapshot,) = admin.get(path).json()
    assert (snapshot["name"], snapshot["status"]) == ("before-upgrade", "ready")
    assert [s.name for s in dep.compute.snapshots[web]] == ["before-upgrade"]
    assert admin.post(path, json={"name": "before-upgrade"}).status_code == 409
    assert admin.post(path, json={"name": "a b"}).json()["field"] == "name"
    assert admin.post(path, json={"name": "x" * 65}).status_code == 400
    reverted = run(admin, dep, admin.post(f"{path}/before-upgrade/revert"))
    assert reverted["status"] == "succeeded"
    assert ("snapshot_revert", web, "before-upgrade") in dep.compute.calls
    assert admin.post(f"{path}/nope/revert").status_code == 404
    mistyped = admin.delete(f"{path}/before-upgrade", params={"confirm": "yes"})
    assert mistyped.status_code == 400 and mistyped.json()["field"] == "confirm"
    deleted = admin.delete(f"{path}/before-upgrade")  # the client asked its user
    assert run(admin, dep, deleted)["status"] == "succeeded"
    assert admin.get(path).json() == [] and dep.compute.snapshots[web] == []
    assert admin.get(f"/api/v1/instances/{web}").json()["instance"]["state"] == "running"


def test_uefi_snapshots_only_while_stopped(admin: TestClient, dep: Deployment) -> None:
    upload(admin, dep, "guest.iso")
    uefi = deploy(admin, dep, image="guest.iso", metadata={"firmware": "efi"})
    path = f"/api/v1/instances/{uefi}/snapshots"
    refused = admin.post(path, json={"name": "s1"})
    assert refused.status_code == 409 and f"{UEFI_REFUSAL}; stop it first" in refused.text
    assert admin.get(path).json() == []
    power(admin, dep, uefi, "stop")
    task = run(admin, dep, admin.post(path, json={"name": "s1"}))
    assert task["status"] == "succeeded"


def test_metrics_come_from_the_sampler(admin: TestClient, dep: Deployment, web: str) -> None:
    path = f"/api/v1/instances/{web}/metrics"
    assert admin.get(path, params={"node_id": dep.setup.node_id}).json() == NO_READING
    sampler = MetricsSampler(dep.setup.node_id, dep.factory, dep.daemon.agent.drivers)
    first = sampler.sample()
    assert [(i, r.cpu) for i, r in first.instances.items()] == [(web, 0.0)]
    time.sleep(0.05)
    sampler.sample()
    body = admin.get(path).json()
    # The fake guest burns one CPU-second per second on its 2 vCPUs: 50 %.
    assert 45.0 <= body["cpu_percent"] <= 55.0, body
    assert body["memory"] == {"percent": 50.0, "usage": 128}
    assert body["network"] == {} and body["timestamp"].endswith("Z")
    assert type(body["memory"]["usage"]) is int
    power(admin, dep, web, "kill")
    assert sampler.sample().instances == {}
    assert admin.get(path).json() == NO_READING


def test_other_tenants_get_404_on_every_route(
    admin: TestClient, tenant: tuple[TestClient, str], dep: Deployment, web: str
) -> None:
    client, _ = tenant
    base = f"/api/v1/instances/{web}"
    calls = [
        client.get(f"{base}/devices/"),
        client.post(f"{base}/devices/", json=volume_body("vol-x")),
        client.patch(f"{base}/devices/disk0/", json={"description": "x"}),
        client.delete(f"{base}/devices/cdrom0/"),
        client.get(f"{base}/snapshots"),
        client.post(f"{base}/snapshots", json={"name": "s1"}),
        client.post(f"{base}/snapshots/s1/revert"),
        client.delete(f"{base}/snapshots/s1", params={"confirm": "DESTROY"}),
        client.get(f"{base}/metrics"),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls), [c.text for c in calls]
    assert "does not exist" in calls[0].json()["message"]
    assert list(devices(admin, web)) == ["disk0", "cdrom0"]


def test_go_client_device_type_is_the_integer_enum(
    admin: TestClient, dep: Deployment, web: str
) -> None:
    spare = spare_volume(admin, dep)
    body = {
        "name": "data-1",
        "type": 2,
        "metadata": {
            "_type": 2,  # what the Go client sends
            "data": {"volume_id": spare, "bus": "virtio", "dev": "/dev/vdb"},
        },
    }
    response = admin.post(f"/api/v1/instances/{web}/devices/", json=body)
    assert response.status_code == 202, response.text
    dep.daemon.agent.run_pending()
    task = admin.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    assert task["status"] == "succeeded", task
    listed = devices(admin, web)
    assert listed["data-1"]["metadata"]["_type"] == 2
    assert listed["disk0"]["metadata"]["_type"] == 2
    assert listed["cdrom0"]["metadata"]["_type"] == 7
