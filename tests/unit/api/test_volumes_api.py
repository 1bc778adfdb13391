"""Volumes over HTTP on the fake drivers: create, read, resize (cold, live), destroy, each
of the seed's refusals, the storage quota, tenant isolation, and the compare-and-swap that
keeps a resize, an attach and a destroy of one volume from both winning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv.enums import PoolNodeStatus, PoolType, VolumeStatus
from cloudenv.errors import Conflict
from cloudenv.services.access import SYSTEM
from cloudenv.services.compute.claims import claim_volume
from cloudenv.services.storage import volumes as volumes_service
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Event, PoolNode, StoragePool, Task, Volume
from tests.conftest import Deployment, audit_rows, count_rows, login
from tests.unit.api.test_devices_snapshots_metrics import volume_body
from tests.unit.api.test_instances_api import deploy, power, upload
from tests.unit.api.test_node_console import add_tenant_node

pytestmark = pytest.mark.unit

GIB = 1024**3


@pytest.fixture
def dep(sqlite_deployment: Deployment) -> Deployment:
    ready(sqlite_deployment)
    return sqlite_deployment


def ready(dep: Deployment, pool_id: str | None = None) -> None:
    """The pool is ready on the node, as propagation leaves it."""
    with transaction(dep.factory) as db:
        state = db.get_one(PoolNode, (pool_id or dep.setup.default_pool_id, dep.setup.node_id))
        state.status = PoolNodeStatus.READY


def body(dep: Deployment, **overrides: Any) -> dict[str, Any]:
    return {
        "node_id": dep.setup.node_id,
        "storage_pool_id": dep.setup.default_pool_id,
        "name": "data-1",
        "size": 1.5,
        "driver": "qcow2",
        **overrides,
    }


def run(client: TestClient, dep: Deployment, response: Any) -> dict[str, Any]:
    """Run the task a 202 reply queued; return the task."""
    assert response.status_code == 202, response.text
    dep.daemon.agent.run_pending()
    task: dict[str, Any] = client.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    return task


def create(client: TestClient, dep: Deployment, **overrides: Any) -> str:
    response = client.post("/api/v1/volumes", json=body(dep, **overrides))
    assert run(client, dep, response)["status"] == "succeeded"
    return str(response.json()["id"])


def get(client: TestClient, volume_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/volumes/{volume_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def refused(response: Any, code: int, field: str | None, words: str) -> None:
    assert response.status_code == code, response.text
    assert response.json().get("field") == field, response.json()
    assert words in response.json()["message"], response.json()["message"]


def volume_events(dep: Deployment, volume_id: str) -> list[tuple[str, dict[str, Any]]]:
    with transaction(dep.factory) as db:
        rows = db.scalars(select(Event).where(Event.target_id == volume_id).order_by(Event.id))
        return [(e.kind, dict(e.data)) for e in rows]


def attach(client: TestClient, dep: Deployment, instance_id: str, volume_id: str) -> None:
    response = client.post(f"/api/v1/instances/{instance_id}/devices", json=volume_body(volume_id))
    assert run(client, dep, response)["status"] == "succeeded"


def test_create_read_list_and_destroy_a_volume(admin: TestClient, dep: Deployment) -> None:
    response = admin.post("/api/v1/volumes", json=body(dep, description="scratch"))
    assert response.status_code == 202, response.text
    volume_id = response.json()["id"]
    assert get(admin, volume_id)["status"] == VolumeStatus.CREATING
    assert run(admin, dep, response)["status"] == "succeeded"

    shown = get(admin, volume_id)
    file_name = f"{volume_id}.qcow2"
    assert shown == {
        "id": volume_id,
        "storage_pool_id": dep.setup.default_pool_id,
        "node_id": dep.setup.node_id,
        "name": "data-1",
        "fq_name": f"{dep.setup.default_pool_id}/{file_name}",
        "description": "scratch",
        "status": VolumeStatus.AVAILABLE,
        "size": 1.5,
        "metadata": {"driver": "qcow2"},
        "attached": False,
        "attached_to": None,
        "creation": shown["creation"],
    }
    created = ("create_volume", dep.setup.default_pool_id, file_name, str(3 * GIB // 2), "qcow2")
    assert created in dep.storage.calls
    with transaction(dep.factory) as db:
        assert db.get_one(Volume, volume_id).path.endswith(f"/{file_name}")
    listed = admin.get("/api/v1/volumes", params={"storage_pool_id": dep.setup.default_pool_id})
    assert [v["id"] for v in listed.json()] == [volume_id]
    assert admin.get("/api/v1/volumes", params={"storage_pool_id": "pool-none"}).json() == []

    gone = admin.delete(f"/api/v1/volumes/{volume_id}", params={"confirm": "DESTROY"})
    assert get(admin, volume_id)["status"] == VolumeStatus.DESTROYING
    assert run(admin, dep, gone)["status"] == "succeeded"
    assert admin.get(f"/api/v1/volumes/{volume_id}").status_code == 404
    assert ("delete_volume", dep.setup.default_pool_id, file_name) in dep.storage.calls
    pool_files = next(iter(dep.storage.files.values()))
    assert file_name not in pool_files
    kinds = [kind for kind, _ in volume_events(dep, volume_id)]
    assert kinds == [
        "volume.updated",  # creating
        "volume.created",
        "volume.updated",  # destroying
        "volume.deleted",
    ]
    assert all(data["node_id"] == dep.setup.node_id for _, data in volume_events(dep, volume_id))
    audited = [(r.action, r.target_id) for r in audit_rows(dep)]
    assert ("volume.create", volume_id) in audited and ("volume.delete", volume_id) in audited


def test_a_wrong_confirmation_word_destroys_nothing(admin: TestClient, dep: Deployment) -> None:
    volume_id = create(admin, dep)
    response = admin.delete(f"/api/v1/volumes/{volume_id}", params={"confirm": "yes"})
    refused(response, 400, "confirm", "not the confirmation word")
    assert get(admin, volume_id)["status"] == VolumeStatus.AVAILABLE


@pytest.mark.parametrize(
    ("overrides", "code", "field", "words"),
    [
        ({"storage_pool_id": "pool-unknown"}, 404, "storage_pool_id", "does not exist"),
        ({"node_id": "node-unknown"}, 404, "node_id", "does not exist"),
        ({"driver": "vmdk"}, 400, "driver", "use qcow2 or raw"),
        ({"size": 0}, 400, "size", ""),
        ({"name": "two\nlines"}, 400, "name", "printable"),
    ],
)
def test_create_refusals(
    admin: TestClient,
    dep: Deployment,
    overrides: dict[str, Any],
    code: int,
    field: str,
    words: str,
) -> None:
    refused(admin.post("/api/v1/volumes", json=body(dep, **overrides)), code, field, words)
    assert count_rows(dep, Volume) == 0


def test_a_name_is_unique_in_its_pool_on_the_node(admin: TestClient, dep: Deployment) -> None:
    create(admin, dep, name="data-1")
    again = admin.post("/api/v1/volumes", json=body(dep, name="data-1"))
    refused(again, 409, "name", "already has a volume named 'data-1'")


def test_a_pool_not_ready_on_the_node_is_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment  # the pool as set-up left it: pending
    response = admin.post("/api/v1/volumes", json=body(dep))
    refused(response, 409, "storage_pool_id", "is not ready on node node-a yet")
    with transaction(dep.factory) as db:
        state = db.get_one(PoolNode, (dep.setup.default_pool_id, dep.setup.node_id))
        state.status, state.message = PoolNodeStatus.ERROR, "directory /x is missing"
    response = admin.post("/api/v1/volumes", json=body(dep))
    refused(response, 409, "storage_pool_id", "is in error on node node-a: directory /x is missing")
    assert count_rows(dep, Volume) == 0


def _retype(dep: Deployment, pool_type: PoolType) -> None:
    with transaction(dep.factory) as db:
        db.get_one(StoragePool, dep.setup.default_pool_id).type = pool_type


def test_block_pools_take_raw_volumes_and_iscsi_pools_none(
    admin: TestClient, dep: Deployment
) -> None:
    _retype(dep, PoolType.LVM)
    response = admin.post("/api/v1/volumes", json=body(dep, driver="qcow2"))
    refused(response, 400, "driver", "is a lvm pool: its volumes are block devices")
    assert create(admin, dep, driver="raw")
    _retype(dep, PoolType.ISCSI)
    response = admin.post("/api/v1/volumes", json=body(dep, name="lun", driver="raw"))
    refused(response, 400, "storage_pool_id", "its volumes are the target's LUNs")


def test_over_quota_create_leaves_nothing(admin: TestClient, dep: Deployment) -> None:
    quotas = {"vcpus": None, "memory_mb": None, "storage_gb": 2, "instances": None}
    org = dep.setup.organization_id
    assert admin.put(f"/api/v1/organizations/{org}/quotas", json=quotas).status_code == 200
    create(admin, dep, size=1.5)
    tasks_before = count_rows(dep, Task)
    response = admin.post("/api/v1/volumes", json=body(dep, name="data-2", size=1))
    refused(
        response,
        409,
        "size",
        "storage quota is 2 GB; 2 GB are in use and this volume asks for 1 GB",
    )
    assert count_rows(dep, Volume) == 1 and count_rows(dep, Task) == tasks_before
    volume_id = admin.get("/api/v1/volumes").json()[0]["id"]
    grow = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1, "live": False})
    refused(grow, 409, "delta_gb", "this resize asks for 1 GB more")
    shown = get(admin, volume_id)
    assert (shown["status"], shown["size"]) == (VolumeStatus.AVAILABLE, 1.5)


def test_a_failed_create_leaves_neither_data_nor_row(admin: TestClient, dep: Deployment) -> None:
    from cloudenv.errors import DriverError

    dep.storage.fail_next("create_volume", DriverError("the disk is full"))
    response = admin.post("/api/v1/volumes", json=body(dep))
    task = run(admin, dep, response)
    assert task["status"] == "failed"
    assert "the disk is full" in task["message"] and "Nothing was left behind" in task["message"]
    assert count_rows(dep, Volume) == 0
    assert not any(next(iter(dep.storage.files.values())))
    assert volume_events(dep, response.json()["id"])[-1][0] == "volume.deleted"


def test_cold_resize_of_a_free_volume(admin: TestClient, dep: Deployment) -> None:
    volume_id = create(admin, dep, size=1)
    response = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 2})
    assert get(admin, volume_id)["status"] == VolumeStatus.RESIZING
    assert run(admin, dep, response)["status"] == "succeeded"
    assert (get(admin, volume_id)["size"], get(admin, volume_id)["status"]) == (3, 1)
    expected = ("resize_volume", dep.setup.default_pool_id, f"{volume_id}.qcow2", str(3 * GIB))
    assert dep.storage.calls[-1] == expected
    assert [k for k, _ in volume_events(dep, volume_id)][-3:] == [
        "volume.updated",
        "volume.updated",
        "volume.resized",
    ]
    live = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1, "live": True})
    refused(live, 409, "live", "is not attached to a running instance")


@pytest.fixture
def web(admin: TestClient, dep: Deployment) -> tuple[str, str]:
    """A running instance with a second volume (vdb) attached: (instance, volume)."""
    upload(admin, dep, "guest.iso")
    instance = deploy(admin, dep, image="guest.iso")
    volume_id = create(admin, dep, size=1)
    attach(admin, dep, instance, volume_id)
    return instance, volume_id


def test_live_resize_grows_the_disk_of_the_running_guest(
    admin: TestClient, dep: Deployment, web: tuple[str, str]
) -> None:
    instance, volume_id = web
    response = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1, "live": True})
    assert response.status_code == 202, response.text
    # The task holds the instance: no power action or device change meanwhile.
    stop = admin.post(f"/api/v1/instances/{instance}/power", json={"action": "stop"})
    refused(stop, 409, None, f"busy with task {response.json()['task_id']}")
    assert run(admin, dep, response)["status"] == "succeeded"
    assert dep.compute.disk_sizes[(instance, "vdb")] == 2 * GIB
    assert not [c for c in dep.storage.calls if c[0] == "resize_volume"]  # QEMU grew it
    assert get(admin, volume_id)["size"] == 2
    shown = admin.get(f"/api/v1/instances/{instance}").json()["instance"]
    assert shown["state"] == "running"
    assert power(admin, dep, instance, "kill")["status"] == "succeeded"  # let go


def test_a_running_guest_s_volume_needs_live_or_a_stop(
    admin: TestClient, dep: Deployment, web: tuple[str, str]
) -> None:
    instance, volume_id = web
    cold = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1, "live": False})
    refused(cold, 409, "live", "may lead to data corruption or loss. Stop the instance first")
    assert power(admin, dep, instance, "kill")["status"] == "succeeded"
    live = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1, "live": True})
    refused(live, 409, "live", "which is stopped, so it can't be resized live")
    cold = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1, "live": False})
    assert run(admin, dep, cold)["status"] == "succeeded"
    assert dep.storage.calls[-1][0] == "resize_volume" and get(admin, volume_id)["size"] == 2
    assert power(admin, dep, instance, "start")["status"] == "succeeded"


def test_an_iscsi_lun_is_never_resized(admin: TestClient, dep: Deployment) -> None:
    volume_id = create(admin, dep, driver="raw")
    _retype(dep, PoolType.ISCSI)
    response = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1})
    refused(response, 409, "id", "its size is set on the iSCSI target")
    gone = admin.delete(f"/api/v1/volumes/{volume_id}")
    refused(gone, 409, "id", "LUNs are removed on the iSCSI target")


def test_an_attached_volume_is_not_destroyed(
    admin: TestClient, dep: Deployment, web: tuple[str, str]
) -> None:
    instance, volume_id = web
    response = admin.delete(f"/api/v1/volumes/{volume_id}", params={"confirm": "DESTROY"})
    refused(
        response,
        409,
        "id",
        "A volume cannot be destroyed while it is attached to an instance: detach it",
    )
    assert instance in response.json()["message"]
    assert get(admin, volume_id)["status"] == VolumeStatus.AVAILABLE


def test_a_busy_volume_refuses_a_second_change(admin: TestClient, dep: Deployment) -> None:
    volume_id = create(admin, dep)
    first = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1})
    assert first.status_code == 202
    second = admin.delete(f"/api/v1/volumes/{volume_id}")
    refused(second, 409, "id", "is resizing, so it can't be destroyed")
    cancelled = admin.post(f"/api/v1/tasks/{first.json()['task_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert get(admin, volume_id)["status"] == VolumeStatus.AVAILABLE


def test_cancelling_a_queued_create_removes_the_row(admin: TestClient, dep: Deployment) -> None:
    response = admin.post("/api/v1/volumes", json=body(dep))
    cancelled = admin.post(f"/api/v1/tasks/{response.json()['task_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert admin.get(f"/api/v1/volumes/{response.json()['id']}").status_code == 404


def test_another_tenant_sees_and_touches_none_of_it(
    admin: TestClient, dep: Deployment, tenant: tuple[TestClient, str]
) -> None:
    client, org_b = tenant
    volume_id = create(admin, dep)
    for response in (
        client.get(f"/api/v1/volumes/{volume_id}"),
        client.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1}),
        client.delete(f"/api/v1/volumes/{volume_id}"),
    ):
        refused(response, 404, "id", f"Volume {volume_id} does not exist.")
    assert client.get("/api/v1/volumes").json() == []
    refused(client.post("/api/v1/volumes", json=body(dep)), 404, "node_id", "does not exist")
    # Its own node, our pool: the pool is not there for it.
    own = add_tenant_node(dep, org_b)
    response = client.post("/api/v1/volumes", json=body(dep, node_id=own))
    refused(response, 404, "storage_pool_id", "does not exist")
    assert get(admin, volume_id)["status"] == VolumeStatus.AVAILABLE


# Races: each test interleaves a second, committed transaction between the service's read
# of the volume (it looks available) and its compare-and-swap; the swap must lose.


def _interleave(monkeypatch: pytest.MonkeyPatch, name: str, meanwhile: Callable[[], None]) -> None:
    """Run ``meanwhile`` (its own transaction, committed) right after the service's
    ``name`` check passed on what it read."""
    original, pending = getattr(volumes_service, name), [meanwhile]

    def checked(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        while pending:  # once: ``meanwhile`` may call the same service
            pending.pop()()
        return result

    monkeypatch.setattr(volumes_service, name, checked)


def _free_volume(client: TestClient, dep: Deployment) -> tuple[str, str]:
    """(an instance, an available volume attached to nothing)."""
    upload(client, dep, "guest.iso")
    instance = deploy(client, dep, image="guest.iso")
    return instance, create(client, dep)


def test_a_resize_loses_to_an_attach_that_came_first(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready(deployment)
    with TestClient(deployment.daemon.app, base_url="https://testserver") as client:
        login(client, "pceadmin", _admin_password())
        instance, volume_id = _free_volume(client, deployment)

        def attach_first() -> None:
            with transaction(deployment.factory) as db:
                row = db.get_one(Volume, volume_id)
                claim_volume(db, row, instance, status=VolumeStatus.ATTACHING, field="x")

        _interleave(monkeypatch, "_check_available", attach_first)
        response = client.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1})
    refused(response, 409, "id", f"was just attached to instance {instance}")
    with transaction(deployment.factory) as db:
        row = db.get_one(Volume, volume_id)
        assert (row.status, row.instance_id, row.size_bytes) == (
            VolumeStatus.ATTACHING,
            instance,
            GIB * 3 // 2,
        )


def test_an_attach_loses_to_a_resize_that_came_first(admin: TestClient, dep: Deployment) -> None:
    instance, volume_id = _free_volume(admin, dep)
    resize = admin.post(f"/api/v1/volumes/{volume_id}/resize", json={"delta_gb": 1})
    assert resize.status_code == 202
    with transaction(dep.factory) as db, pytest.raises(Conflict, match="no longer available"):
        row = db.get_one(Volume, volume_id)
        claim_volume(db, row, instance, status=VolumeStatus.ATTACHING, field="x")


def test_of_two_destroys_one_wins(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    ready(deployment)
    with TestClient(deployment.daemon.app, base_url="https://testserver") as client:
        login(client, "pceadmin", _admin_password())
        volume_id = create(client, deployment)
        won: list[str] = []

        def destroy_first() -> None:
            with transaction(deployment.factory) as db:
                won.append(volumes_service.destroy_volume(db, SYSTEM, volume_id).id)

        _interleave(monkeypatch, "check_confirm", destroy_first)
        response = client.delete(f"/api/v1/volumes/{volume_id}")
    refused(response, 409, "id", "is destroying, so it can't be destroyed")
    with transaction(deployment.factory) as db:
        queued = db.scalars(select(Task).where(Task.kind == "volume.destroy")).all()
        assert [t.id for t in queued] == won


def _admin_password() -> str:
    from tests.support.served_node import ADMIN_PASSWORD

    return ADMIN_PASSWORD


def test_deploy_s_new_volumes_follow_the_pool_type_and_record_their_path(
    admin: TestClient, dep: Deployment
) -> None:
    from tests.unit.api.test_instances_api import deploy_body

    _retype(dep, PoolType.ZFS)
    refused(
        admin.post("/api/v2/instances", json=deploy_body(dep)),
        400,
        "metadata.new_volumes[0].driver",
        "is a zfs pool: its volumes are block devices",
    )
    raw = {"new_volumes": [{**deploy_body(dep)["metadata"]["new_volumes"][0], "driver": "raw"}]}
    instance = deploy(admin, dep, metadata=raw)
    (volume,) = admin.get("/api/v1/volumes").json()
    assert volume["attached_to"] == instance and volume["metadata"]["driver"] == "raw"
    with transaction(dep.factory) as db:
        path = db.get_one(Volume, volume["id"]).path
    reported = dep.storage.volume_info(dep.setup.default_pool_id, f"{volume['id']}.raw")
    assert reported is not None and path == reported.path  # a zvol, as the driver said
    assert path.startswith("/dev/zvol/")
    _retype(dep, PoolType.ISCSI)
    refused(
        admin.post("/api/v2/instances", json=deploy_body(dep, name="web-2", metadata=raw)),
        400,
        "metadata.new_volumes[0].storage_pool_id",
        "its volumes are the target's LUNs",
    )


def _pool_location(dep: Deployment) -> str:
    return dep.storage.pools[dep.setup.default_pool_id].path
