"""Instances over HTTP with fake drivers: deploy from an ISO or a kernel, power actions and
their refusals, destroy with and without volumes, failed and interrupted deploys that
leave nothing behind, bad input that changes nothing, and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import attributes

from cloudenv.drivers.compute.base import PowerState
from cloudenv.errors import DriverError
from cloudenv.services.compute import instances as instances_service
from cloudenv.store.tables import Instance, InstanceDevice, Volume
from tests.conftest import Deployment, count_rows

pytestmark = pytest.mark.unit


def upload(
    client: TestClient,
    dep: Deployment,
    name: str,
    data: bytes = b"x" * 4096,
    fmt: str | None = None,
) -> dict[str, Any]:
    params = {"storage_pool_id": dep.setup.default_pool_id, "name": name}
    if fmt:
        params["format"] = fmt
    response = client.post(
        f"/api/v1/nodes/{dep.setup.node_id}/images/images", params=params, content=data
    )
    assert response.status_code == 202, response.text
    assert dep.daemon.agent.run_pending() >= 1
    return response.json()


def deploy_body(dep: Deployment, **overrides: Any) -> dict[str, Any]:
    metadata = {
        "_type": "qemu",
        "machine_type": "pc",
        "firmware": "bios",
        "new_volumes": [
            {
                "storage_pool_id": dep.setup.default_pool_id,
                "size": 1,
                "bus": "virtio",
                "dev": "/dev/vda",
                "driver": "qcow2",
            }
        ],
    }
    metadata.update(overrides.pop("metadata", {}))
    body = {
        "destination": {"node_id": dep.setup.node_id},
        "name": "web-1",
        "type": 2,
        "architecture": "x86_64",
        "cpu": {"sockets": 1, "cores": 2, "threads": 1},
        "memory": 256,
        "networks": [],
        "autostart": False,
        "metadata": metadata,
    }
    body.update(overrides)
    return body


def deploy(client: TestClient, dep: Deployment, **overrides: Any) -> str:
    response = client.post("/api/v2/instances", json=deploy_body(dep, **overrides))
    assert response.status_code == 202, response.text
    task_id = response.json()["task_id"]
    dep.daemon.agent.run_pending()
    task = client.get(f"/api/v1/tasks/{task_id}").json()
    assert task["status"] == "succeeded", task
    return str(task["target_id"])


def power(
    client: TestClient, dep: Deployment, instance_id: str, action: str, **extra: Any
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/instances/{instance_id}/power", json={"action": action, **extra}
    )
    assert response.status_code == 202, response.text
    dep.daemon.agent.run_pending()
    return client.get(f"/api/v1/tasks/{response.json()['task_id']}").json()


@pytest.fixture
def iso(admin: TestClient, sqlite_deployment: Deployment) -> str:
    upload(admin, sqlite_deployment, "guest.iso")
    return "guest.iso"


def test_image_upload_and_listing(admin: TestClient, sqlite_deployment: Deployment) -> None:
    upload(admin, sqlite_deployment, "boot.iso", b"\0" * (3 * 1024 * 1024 + 1))
    images = admin.get(f"/api/v1/nodes/{sqlite_deployment.setup.node_id}/images/images").json()
    assert [(i["name"], i["size"], i["type"], i["format"], i["status"]) for i in images] == [
        ("boot.iso", 4, 2, "iso", "available")
    ]
    assert sqlite_deployment.storage.calls[-1][:1] == ("upload_volume",)


@pytest.mark.parametrize(
    ("params", "body", "field"),
    [
        ({"name": "../etc"}, b"x", "name"),
        ({"name": "mystery.bin"}, b"x", "format"),
        ({"name": "ok.iso", "storage_pool_id": "pool-nope"}, b"x", "storage_pool_id"),
        ({"name": "empty.iso"}, b"", "size"),
    ],
)
def test_bad_uploads_are_refused(
    admin: TestClient,
    sqlite_deployment: Deployment,
    params: dict[str, str],
    body: bytes,
    field: str,
) -> None:
    query = {"storage_pool_id": sqlite_deployment.setup.default_pool_id, **params}
    response = admin.post(
        f"/api/v1/nodes/{sqlite_deployment.setup.node_id}/images/images", params=query, content=body
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert admin.get(f"/api/v1/nodes/{sqlite_deployment.setup.node_id}/images/images").json() == []
    staging = sqlite_deployment.daemon.settings.data_dir / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []


def test_deploy_from_iso(admin: TestClient, sqlite_deployment: Deployment, iso: str) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["state"] == "running" and instance["vcpus"] == 2
    assert instance["current_task_id"] is None
    spec = sqlite_deployment.compute.domains[instance_id]
    assert spec.title == "web-1" and spec.memory_mb == 256
    assert [(d.target, d.bus, d.device) for d in spec.disks] == [
        ("vda", "virtio", "disk"),
        ("hdc", "ide", "cdrom"),
    ]
    assert spec.disks[0].serial and spec.disks[0].path.endswith(".qcow2")
    volumes = admin.get(
        "/api/v1/volumes", params={"node_id": sqlite_deployment.setup.node_id}
    ).json()
    assert volumes[0]["attached_to"] == instance_id and volumes[0]["status"] == 1
    assert volumes[0]["size"] == 1.0
    listed = admin.get(
        "/api/v1/instances", params={"node_id": sqlite_deployment.setup.node_id}
    ).json()
    assert [i["id"] for i in listed] == [instance_id]


def test_deploy_by_direct_kernel_boot(admin: TestClient, sqlite_deployment: Deployment) -> None:
    upload(admin, sqlite_deployment, "vmlinuz")
    upload(admin, sqlite_deployment, "initrd.gz", fmt="initrd")
    instance_id = deploy(
        admin,
        sqlite_deployment,
        metadata={
            "new_volumes": [],
            "kernel_boot": {"kernel": "vmlinuz", "initrd": "initrd.gz", "cmdline": "console=ttyS0"},
        },
    )
    spec = sqlite_deployment.compute.domains[instance_id]
    assert spec.kernel_boot is not None
    assert spec.kernel_boot.kernel.endswith("image-vmlinuz")
    assert spec.kernel_boot.cmdline == "console=ttyS0" and spec.disks == ()


def test_power_cycle(admin: TestClient, sqlite_deployment: Deployment, iso: str) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    state = lambda: admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]["state"]  # noqa: E731
    assert power(admin, sqlite_deployment, instance_id, "stop")["status"] == "succeeded"
    assert state() == "stopped"
    assert power(admin, sqlite_deployment, instance_id, "start")["status"] == "succeeded"
    assert state() == "running"
    assert power(admin, sqlite_deployment, instance_id, "restart")["status"] == "succeeded"
    assert state() == "running"
    assert power(admin, sqlite_deployment, instance_id, "kill")["status"] == "succeeded"
    assert state() == "stopped"
    assert sqlite_deployment.compute.states[instance_id] == PowerState.STOPPED


def test_stop_timeout_says_use_force_stop(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    sqlite_deployment.compute.ignore_shutdown = True
    task = power(admin, sqlite_deployment, instance_id, "stop", timeout=1)
    assert task["status"] == "failed"
    assert task["message"] == "The guest did not shut down within 1 s; use Force Stop."
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["state"] == "running" and instance["current_task_id"] is None
    assert power(admin, sqlite_deployment, instance_id, "kill")["status"] == "succeeded"


@pytest.mark.parametrize(
    ("action", "message"),
    [("stop", "not running"), ("restart", "not running"), ("kill", "already stopped")],
)
def test_power_refusals_on_a_stopped_instance(
    admin: TestClient, sqlite_deployment: Deployment, iso: str, action: str, message: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    power(admin, sqlite_deployment, instance_id, "kill")
    response = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": action})
    assert response.status_code == 409 and message in response.json()["message"]


def test_force_stop_never_takes_over_a_destroy(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = sqlite_deployment
    instance_id = deploy(admin, dep)
    power(admin, dep, instance_id, "kill")
    destroying = admin.delete(f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY"})
    assert destroying.status_code == 202, destroying.text
    destroy_task = destroying.json()["task_id"]
    path = f"/api/v1/instances/{instance_id}"
    assert admin.get(path).json()["instance"]["state"] == "destroying"

    refused = admin.post(f"{path}/power", json={"action": "kill"})
    assert refused.status_code == 409, refused.text

    real_load = instances_service.load

    def stale_load(*args: Any, **kwargs: Any) -> Any:
        """A read from before the destroy: still stopping, held by an older task."""
        instance = real_load(*args, **kwargs)
        attributes.set_committed_value(instance, "state", "stopping")
        attributes.set_committed_value(instance, "current_task_id", "task-stale")
        return instance

    monkeypatch.setattr(instances_service, "load", stale_load)
    refused = admin.post(f"{path}/power", json={"action": "kill"})
    assert refused.status_code == 409, refused.text
    message = refused.json()["message"]
    assert destroy_task in message and "task-stale" not in message
    monkeypatch.undo()
    instance = admin.get(path).json()["instance"]
    assert (instance["state"], instance["current_task_id"]) == ("destroying", destroy_task)
    dep.daemon.agent.run_pending()
    assert admin.get(f"/api/v1/tasks/{destroy_task}").json()["status"] == "succeeded"


def test_busy_instance_refuses_a_second_action_but_kill_takes_over(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    first = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "stop"})
    assert first.status_code == 202  # queued, not run yet: the instance is busy
    second = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "restart"})
    assert second.status_code == 409
    kill = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    assert kill.status_code == 202
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["current_task_id"] == kill.json()["task_id"]


def test_destroy_rules(admin: TestClient, sqlite_deployment: Deployment, iso: str) -> None:
    """The product's clients confirm with their user and send no word; a word that is
    sent must be DESTROY. The state rule holds either way."""
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    running = admin.delete(f"/api/v1/instances/{instance_id}", params={"destroy_volumes": "true"})
    assert running.status_code == 409 and "stop it first" in running.json()["message"]
    power(admin, sqlite_deployment, instance_id, "kill")
    for wrong in ("yes", "destroy", "", "DESTROY "):
        refused = admin.delete(f"/api/v1/instances/{instance_id}", params={"confirm": wrong})
        assert refused.status_code == 400 and refused.json()["field"] == "confirm", wrong
        assert "DESTROY" in refused.json()["message"]
    assert count_rows(sqlite_deployment, Instance) == 1
    response = admin.delete(
        f"/api/v1/instances/{instance_id}/",
        params={"node_id": sqlite_deployment.setup.node_id, "destroy_volumes": "true"},
    )
    assert response.status_code == 202
    sqlite_deployment.daemon.agent.run_pending()
    assert admin.get(f"/api/v1/instances/{instance_id}").status_code == 404
    assert count_rows(sqlite_deployment, Volume) == 0
    assert instance_id not in sqlite_deployment.compute.domains
    assert any(c[0] == "delete_volume" for c in sqlite_deployment.storage.calls)


def test_destroy_keeping_volumes(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    power(admin, sqlite_deployment, instance_id, "kill")
    admin.delete(f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY"})
    sqlite_deployment.daemon.agent.run_pending()
    volumes = admin.get("/api/v1/volumes").json()
    assert len(volumes) == 1 and volumes[0]["attached"] is False
    assert volumes[0]["status"] == 1
    # The kept volume can be attached to a new instance.
    second = deploy(
        admin,
        sqlite_deployment,
        name="web-2",
        metadata={
            "new_volumes": [],
            "existing_volumes": [{"volume_id": volumes[0]["id"], "dev": "/dev/vda"}],
        },
    )
    assert admin.get("/api/v1/volumes").json()[0]["attached_to"] == second


def test_failed_deploy_leaves_nothing(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    sqlite_deployment.compute.fail_on["start"] = "QEMU refused to start: no memory."
    response = admin.post("/api/v2/instances", json=deploy_body(sqlite_deployment, image=iso))
    sqlite_deployment.daemon.agent.run_pending()
    task = admin.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    assert task["status"] == "failed" and "no memory" in task["message"]
    removed = task["log"][-2]["message"]
    assert "Removed after the failure" in removed and "volume vol-" in removed
    assert "domain inst-" in removed
    assert count_rows(sqlite_deployment, Instance) == 0
    assert count_rows(sqlite_deployment, Volume) == 0
    assert count_rows(sqlite_deployment, InstanceDevice) == 0
    assert sqlite_deployment.compute.domains == {}
    left = {name for files in sqlite_deployment.storage.files.values() for name in files}
    assert left == {"image-guest.iso"}


def test_interrupted_deploy_is_undone_at_restart(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    """The daemon died after the volume was made and the domain defined."""
    from cloudenv.services import tasks
    from cloudenv.store.engine import transaction

    response = admin.post("/api/v2/instances", json=deploy_body(sqlite_deployment, image=iso))
    task_id = response.json()["task_id"]
    sqlite_deployment.compute.fail_on["start"] = "the daemon died here"
    agent = sqlite_deployment.daemon.agent
    with transaction(sqlite_deployment.factory) as db:
        claim = tasks.claim_next(db, sqlite_deployment.setup.node_id)
    assert claim is not None
    from cloudenv.agent import compute
    from cloudenv.agent.context import TaskContext

    ctx = TaskContext(agent.node_id, agent.factory, agent.drivers, lambda **_: None)
    plan = compute._plan(ctx, claim.target_id or "")
    compute.ensure_pools(ctx, {plan.disks[0].pool_id})
    sqlite_deployment.storage.create_volume(
        plan.disks[0].pool_id,
        plan.disks[0].path.rsplit("/", 1)[1],
        1 << 30,
        compute.DiskFormat.QCOW2,
    )
    sqlite_deployment.compute.define(compute.domain_spec(plan, ctx))
    # ... and here the process died: the task is still "running".
    del sqlite_deployment.compute.fail_on["start"]
    agent.start()
    agent.stop()
    task = admin.get(f"/api/v1/tasks/{task_id}").json()
    assert task["status"] == "failed" and "stopped while this task was running" in task["message"]
    assert "Undid the interrupted deploy" in task["log"][-1]["message"]
    assert count_rows(sqlite_deployment, Instance) == 0
    assert count_rows(sqlite_deployment, Volume) == 0
    assert sqlite_deployment.compute.domains == {}
    left = {name for files in sqlite_deployment.storage.files.values() for name in files}
    assert left == {"image-guest.iso"}  # the uploaded image stays, the volume is gone


def test_interrupted_deploy_keeps_volumes_it_did_not_create(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    from cloudenv.services import tasks
    from cloudenv.store.engine import transaction

    first = deploy(admin, sqlite_deployment, image=iso)
    power(admin, sqlite_deployment, first, "kill")
    admin.delete(f"/api/v1/instances/{first}", params={"confirm": "DESTROY"})
    sqlite_deployment.daemon.agent.run_pending()
    kept = admin.get("/api/v1/volumes").json()[0]["id"]
    response = admin.post(
        "/api/v2/instances",
        json=deploy_body(
            sqlite_deployment,
            name="web-2",
            metadata={"existing_volumes": [{"volume_id": kept, "dev": "/dev/vdb"}]},
        ),
    )
    with transaction(sqlite_deployment.factory) as db:
        assert tasks.claim_next(db, sqlite_deployment.setup.node_id) is not None
    agent = sqlite_deployment.daemon.agent
    agent.start()  # the deploy was "running" when the daemon died
    agent.stop()
    task = admin.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    assert "Undid the interrupted deploy" in task["log"][-1]["message"]
    volumes = admin.get("/api/v1/volumes").json()
    assert [(v["id"], v["attached"], v["status"]) for v in volumes] == [(kept, False, 1)]
    names = {n for files in sqlite_deployment.storage.files.values() for n in files}
    assert f"{kept}.qcow2" in names


def test_guest_that_powers_itself_off_becomes_stopped(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    agent = sqlite_deployment.daemon.agent
    sqlite_deployment.compute.watch_lifecycle(agent._on_lifecycle)
    sqlite_deployment.compute.power_off_by_guest(instance_id)
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["state"] == "stopped" and instance["desired_state"] == "stopped"


def test_a_late_sighting_of_a_stop_does_not_undo_a_restart(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    """A restart's shutdown is reported by libvirt (or read by the 5 s sync) and may reach
    the database after the restart has released the instance, running again: that old
    sighting must not mark a running guest stopped. Found by the served-node power test."""
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    power(admin, sqlite_deployment, instance_id, "restart")
    agent = sqlite_deployment.daemon.agent
    agent._on_lifecycle(instance_id, PowerState.STOPPED)  # the shutdown, seen late
    listing = {instance_id: PowerState.STOPPED}
    sqlite_deployment.compute.list_domains = lambda: listing  # type: ignore[method-assign]
    agent._sync_instances()  # a listing read while it was off, written after
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert (instance["state"], instance["desired_state"]) == ("running", "running")

    sqlite_deployment.compute.states[instance_id] = PowerState.STOPPED  # a real power-off
    agent._on_lifecycle(instance_id, PowerState.STOPPED)  # still counts
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["state"] == "stopped"


def test_autostart_at_daemon_start(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso, autostart=True)
    power(admin, sqlite_deployment, instance_id, "kill")
    agent = sqlite_deployment.daemon.agent
    agent.start()
    agent.stop()
    agent.run_pending()
    assert admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]["state"] == "running"


def test_edit_name_always_and_resources_only_when_stopped(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    path = f"/api/v1/instances/{instance_id}"
    renamed = admin.patch(path, json={"data": {"action": "update_info_fields", "name": "db-1"}})
    assert renamed.json()["instance"]["name"] == "db-1"
    busy = admin.patch(path, json={"data": {"action": "update_resources", "memory": 512}})
    assert busy.status_code == 409 and "stop it" in busy.json()["message"]
    power(admin, sqlite_deployment, instance_id, "kill")
    assert admin.patch(path, json={"data": {"memory": 32}}).status_code == 400
    changed = admin.patch(
        path, json={"data": {"memory": 512, "cpu": {"sockets": 1, "cores": 4, "threads": 1}}}
    )
    assert changed.json()["instance"]["memory"] == 512
    assert changed.json()["instance"]["vcpus"] == 4
    power(admin, sqlite_deployment, instance_id, "start")
    assert sqlite_deployment.compute.domains[instance_id].memory_mb == 512


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"memory": 63}, "memory"),
        ({"name": "ab"}, "name"),
        ({"type": 1}, "type"),  # a container with a VM's metadata
        ({"networks": [{"vswitch_id": "x", "port_group_name": "y"}]}, "networks[0].vswitch_id"),
        ({"destination": {}}, "destination"),
        ({"cpu": {"sockets": 0, "cores": 1, "threads": 1}}, "cpu.sockets"),
        (
            {"metadata": {"new_volumes": [{"storage_pool_id": "pool-unknown", "size": 1}]}},
            "metadata.new_volumes[0].storage_pool_id",
        ),
        (
            {"metadata": {"secure_boot": {"enabled": True}, "firmware": "efi"}},
            "metadata.secure_boot",
        ),
        (
            {
                "metadata": {
                    "new_volumes": [
                        {"storage_pool_id": "POOL", "size": 1, "dev": "/dev/vda"},
                        {"storage_pool_id": "POOL", "size": 1, "dev": "/dev/vda"},
                    ]
                }
            },
            "metadata.new_volumes[1]",
        ),
        (
            {"metadata": {"new_volumes": [{"storage_pool_id": "POOL", "size": 1, "dev": "vda"}]}},
            "metadata.new_volumes[0].dev",
        ),
        ({"image": "missing.iso"}, "image"),
    ],
)
def test_bad_deploys_change_nothing(
    admin: TestClient, sqlite_deployment: Deployment, overrides: dict[str, Any], field: str
) -> None:
    body = deploy_body(sqlite_deployment, **overrides)
    for volume in body["metadata"].get("new_volumes", []):
        if volume["storage_pool_id"] == "POOL":
            volume["storage_pool_id"] = sqlite_deployment.setup.default_pool_id
    response = admin.post("/api/v2/instances", json=body)
    assert response.status_code in (400, 404), response.text
    assert response.json()["field"] == field, response.json()
    assert count_rows(sqlite_deployment, Instance) == 0
    assert count_rows(sqlite_deployment, Volume) == 0


def test_deploy_to_a_cluster_picks_a_live_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    from cloudenv.services.tenancy import nodes
    from cloudenv.store.engine import transaction

    with transaction(sqlite_deployment.factory) as db:
        nodes.heartbeat(db, sqlite_deployment.setup.node_id)
    body = deploy_body(
        sqlite_deployment, destination={"cluster_id": sqlite_deployment.setup.cluster_id}
    )
    response = admin.post("/api/v2/instances", json=body)
    assert response.status_code == 202, response.text
    sqlite_deployment.daemon.agent.run_pending()
    instance = admin.get(
        "/api/v1/instances", params={"cluster_id": sqlite_deployment.setup.cluster_id}
    ).json()[0]
    assert instance["node_id"] == sqlite_deployment.setup.node_id


def test_other_tenants_cannot_see_or_touch_instances(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment, iso: str
) -> None:
    client, _ = tenant
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    assert client.get(f"/api/v1/instances/{instance_id}").status_code == 404
    assert (
        client.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"}).status_code
        == 404
    )
    assert (
        client.delete(f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY"}).status_code
        == 404
    )
    assert (
        client.get("/api/v1/instances", params={"node_id": sqlite_deployment.setup.node_id}).json()
        == []
    )
    assert client.post("/api/v2/instances", json=deploy_body(sqlite_deployment)).status_code == 404


def test_node_pools_and_capabilities(admin: TestClient, sqlite_deployment: Deployment) -> None:
    node_id = sqlite_deployment.setup.node_id
    agent = sqlite_deployment.daemon.agent
    agent.start()
    agent.stop()
    caps = admin.get(f"/api/v1/nodes/{node_id}/capabilities").json()
    assert caps["x86_64"]["accelerator"] == "tcg"
    assert {"name": "pc-q35-7.2", "max_vcpus": 288} in caps["x86_64"]["machines"]
    pools = admin.get(f"/api/v1/nodes/{node_id}/storage/pools").json()
    assert pools[0]["id"] == sqlite_deployment.setup.default_pool_id
    assert pools[0]["can_hold_images"] is True and type(pools[0]["volume_count"]) is int


def test_driver_errors_fail_the_task_with_their_message(
    admin: TestClient, sqlite_deployment: Deployment, iso: str
) -> None:
    instance_id = deploy(admin, sqlite_deployment, image=iso)
    sqlite_deployment.compute.fail_on["destroy"] = "Failed powering off: device busy"
    task = power(admin, sqlite_deployment, instance_id, "kill")
    assert task["status"] == "failed" and task["message"] == "Failed powering off: device busy"
    assert DriverError  # the message is the driver's, unchanged


def test_a_crashing_handler_does_not_leave_the_instance_busy(
    admin: TestClient, sqlite_deployment: Deployment, iso: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception (not a refusal) in a handler still frees the instance."""
    instance_id = deploy(admin, sqlite_deployment, image=iso)

    def explode(name: str) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(sqlite_deployment.compute, "shutdown", explode)
    task = power(admin, sqlite_deployment, instance_id, "stop")
    assert task["status"] == "failed" and "unexpectedly" in task["message"]
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["current_task_id"] is None and instance["state"] == "running"
    assert power(admin, sqlite_deployment, instance_id, "kill")["status"] == "succeeded"
