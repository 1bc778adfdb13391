"""Containers (instance type 1) over HTTP on the fake drivers: a busybox image deployed as
an unprivileged container (its root filesystem unpacked into a directory volume with the
owners shifted, the container driver given the spec), the deploy's refusals, the power
actions through the container driver, mount points and NICs, what containers refuse
(snapshots, CD-ROMs, a second console viewer), and a deploy the daemon died in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.agent import compute
from cloudenv.agent.context import TaskContext
from cloudenv.drivers.compute.base import MountKind, PowerState
from cloudenv.enums import PoolType
from cloudenv.host.subids import NoSubordinateIds, SubordinateIds
from cloudenv.services import tasks
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Instance, InstanceDevice, StoragePool, Volume
from tests.conftest import Deployment, count_rows
from tests.support.container_images import build_busybox_rootfs, tar_of_directory
from tests.unit.api.test_consoles import refusal, ticket
from tests.unit.api.test_container_images_api import upload as upload_image
from tests.unit.api.test_instances_api import deploy_body, power, upload

pytestmark = pytest.mark.unit

IDS = SubordinateIds(uid=100000, gid=100000, count=65536)


@pytest.fixture
def dep(sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """The node's subordinate IDs are the test's, not this machine's /etc/subuid."""
    monkeypatch.setattr(compute, "root_range", lambda: IDS)
    return sqlite_deployment


@pytest.fixture(scope="module")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return tar_of_directory(build_busybox_rootfs(tmp_path_factory.mktemp("bb") / "root"))


@pytest.fixture
def image(admin: TestClient, dep: Deployment, busybox_tar: bytes) -> str:
    task = upload_image(admin, dep, "busybox.tar", busybox_tar)
    assert task["status"] == "succeeded", task
    return "busybox.tar"


def lxc_body(dep: Deployment, **overrides: Any) -> dict[str, Any]:
    metadata = {"_type": "lxc", "init": "/sbin/init", **overrides.pop("metadata", {})}
    body = deploy_body(dep, name="ct-1", type=1, image="busybox.tar", memory=96)
    body["metadata"] = metadata
    body.update(overrides)
    return body


def run(client: TestClient, dep: Deployment, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    dep.daemon.agent.run_pending()
    task: dict[str, Any] = client.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    return task


def deploy_container(client: TestClient, dep: Deployment, **overrides: Any) -> str:
    task = run(client, dep, client.post("/api/v2/instances", json=lxc_body(dep, **overrides)))
    assert task["status"] == "succeeded", task
    return str(task["target_id"])


def new_volume(client: TestClient, dep: Deployment, name: str, driver: str) -> Any:
    """A 1 GB volume of the default pool, made; the creating response."""
    made = client.post(
        "/api/v1/volumes",
        json={"node_id": dep.setup.node_id, "storage_pool_id": dep.setup.default_pool_id,
              "name": name, "size": 1, "driver": driver},
    )  # fmt: skip
    assert run(client, dep, made)["status"] == "succeeded"
    return made


def refused(response: Any, code: int, field: str | None, words: str) -> None:
    assert response.status_code == code, response.text
    assert response.json().get("field") == field, response.json()
    assert words in response.json()["message"], response.json()["message"]


def test_a_busybox_container_deploys_unprivileged_and_runs(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    shown = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert (shown["type"], shown["state"], shown["memory"]) == (1, "running", 96)
    # The VM driver was not asked; the container driver got the whole spec.
    assert instance_id not in dep.compute.domains
    spec = dep.containers.domains[instance_id]
    assert spec.container is not None and spec.container.init == "/sbin/init"
    assert spec.container.idmap is not None and spec.container.idmap.uid == 100000
    assert dep.containers.states[instance_id] == PowerState.RUNNING
    # The image was unpacked into a new directory volume, owners shifted by the range.
    (unpacked,) = [c for c in dep.storage.calls if c[0] == "create_rootfs"]
    assert unpacked[3].endswith("image-busybox.tar")
    assert unpacked[4:] == ("100000", "100000", "None")  # no size: a directory
    assert spec.container.rootfs.endswith(unpacked[2])
    devices = admin.get(f"/api/v1/instances/{instance_id}/devices").json()
    [root] = [d for d in devices if d["is_root"]]
    assert root["metadata"]["data"]["path"] == "/"
    volume = admin.get(f"/api/v1/volumes/{root['resource_id']}").json()
    assert volume["attached"] and volume["status"] == 1


def test_a_privileged_container_keeps_the_owners_and_has_no_id_map(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep, metadata={"privileged": True})
    spec = dep.containers.domains[instance_id]
    assert spec.container is not None and spec.container.idmap is None
    (unpacked,) = [c for c in dep.storage.calls if c[0] == "create_rootfs"]
    assert unpacked[4:6] == ("0", "0")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"image": None}, "image", "A container needs an image"),
        ({"image": "guest.iso"}, "image", "a container needs a container image (type 1"),
        ({"image": "nope.tar"}, "image", "no available image named 'nope.tar'"),
        (
            {"metadata": {"new_volumes": []}},
            None,
            "",  # an unknown key of the LXC metadata: the strict body refuses it
        ),
        ({"metadata": {"init": "sbin/init"}}, "metadata.init", "absolute path"),
        ({"metadata": {"storage_pool_id": "pool-none"}}, "metadata.storage_pool_id", "not enabled"),
        ({"type": 2}, "type", "does not go with metadata._type lxc"),
        ({"metadata": {"rootfs_size": 0}}, "metadata.rootfs_size", "between 1 and 65536 GB"),
    ],
)
def test_bad_container_deploys_change_nothing(
    admin: TestClient,
    dep: Deployment,
    image: str,
    overrides: dict[str, Any],
    field: str | None,
    words: str,
) -> None:
    upload(admin, dep, "guest.iso")
    response = admin.post("/api/v2/instances", json=lxc_body(dep, **overrides))
    assert response.status_code in (400, 404, 409, 422), response.text
    if words:
        refused(response, response.status_code, field, words)
    assert count_rows(dep, Instance) == 0
    assert count_rows(dep, Volume) == 0


def test_a_container_image_and_volumes_are_refused_for_the_wrong_kind(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    vm = admin.post("/api/v2/instances", json=deploy_body(dep, image="busybox.tar"))
    refused(vm, 400, "image", "Deploy it as a container (type 1")
    with_volumes = lxc_body(dep)
    with_volumes["metadata"] = {"_type": "qemu", "new_volumes": []}
    refused(admin.post("/api/v2/instances", json=with_volumes), 400, "type", "does not go")


def test_a_node_without_subordinate_ids_fails_the_deploy_and_leaves_nothing(
    admin: TestClient, dep: Deployment, image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> SubordinateIds:
        raise NoSubordinateIds("/etc/subuid gives root no range of 65536 IDs")

    monkeypatch.setattr(compute, "root_range", missing)
    task = run(admin, dep, admin.post("/api/v2/instances", json=lxc_body(dep)))
    assert task["status"] == "failed"
    assert "can't run unprivileged on this node" in task["message"]
    assert "metadata.privileged" in task["message"] or "privileged" in task["message"]
    assert count_rows(dep, Instance) == 0 and count_rows(dep, Volume) == 0
    assert dep.containers.domains == {}


def test_power_actions_go_to_the_container_driver(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    assert power(admin, dep, instance_id, "stop")["status"] == "succeeded"
    assert dep.containers.states[instance_id] == PowerState.STOPPED
    assert power(admin, dep, instance_id, "start")["status"] == "succeeded"
    assert power(admin, dep, instance_id, "restart")["status"] == "succeeded"
    assert dep.containers.states[instance_id] == PowerState.RUNNING
    assert power(admin, dep, instance_id, "kill")["status"] == "succeeded"
    assert dep.containers.states[instance_id] == PowerState.STOPPED
    verbs = {c[0] for c in dep.containers.calls if c[1:] == (instance_id,)}
    assert {"define", "start", "shutdown", "destroy"} <= verbs
    assert not any(c[1:] == (instance_id,) for c in dep.compute.calls)
    gone = admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": True}
    )
    assert run(admin, dep, gone)["status"] == "succeeded"
    assert dep.containers.domains == {}
    assert count_rows(dep, Volume) == 0
    assert any(c[0] == "delete_volume" for c in dep.storage.calls)


def test_a_stop_its_init_ignores_ends_in_a_forced_stop(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    """busybox's init takes SIGTERM for "reboot": the stop falls back to destroy."""
    instance_id = deploy_container(admin, dep)
    dep.containers.ignore_shutdown = True
    task = power(admin, dep, instance_id, "stop", timeout=1)
    assert task["status"] == "succeeded", task
    assert any("stopping the container now" in line["message"] for line in task["log"])
    assert admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]["state"] == "stopped"


def test_a_directory_volume_is_attached_as_a_mount_point_from_the_next_start(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    made = new_volume(admin, dep, "data", "dir")
    volume_id = made.json()["id"]
    body = {"name": "data", "type": 2, "metadata": {"data": {"volume_id": volume_id,
                                                            "path": "/mnt/data"}}}  # fmt: skip
    response = admin.post(f"/api/v1/instances/{instance_id}/devices", json=body)
    assert response.json()["needs_reboot"] is True
    assert run(admin, dep, response)["status"] == "succeeded"
    spec = dep.containers.domains[instance_id]
    assert spec.container is not None
    assert [(m.target, m.source.endswith(f"{volume_id}.dir")) for m in spec.container.mounts] == [
        ("/mnt/data", True)
    ]
    listed = admin.get(f"/api/v1/instances/{instance_id}/devices").json()
    [shown] = [d for d in listed if d["name"] == "data"]
    assert shown["metadata"]["data"]["path"] == "/mnt/data"
    # A second mount at the same path, a disk image, a CD-ROM: refused.
    again = {**body, "name": "again"}
    refused(
        admin.post(f"/api/v1/instances/{instance_id}/devices", json=again),
        409, "metadata.data.path", "already has a mount point at /mnt/data",
    )  # fmt: skip
    cdrom = {"name": "cdrom0", "type": 7, "metadata": {"data": {"image": "busybox.tar"}}}
    refused(
        admin.post(f"/api/v1/instances/{instance_id}/devices", json=cdrom),
        400, "type", "A container can't take a CD-ROM device",
    )  # fmt: skip
    # Detached while running: from the definition now, from the container when it stops.
    detach = admin.delete(f"/api/v1/instances/{instance_id}/devices/data", params={"live": "false"})
    assert run(admin, dep, detach)["status"] == "succeeded"
    spec = dep.containers.domains[instance_id]
    assert spec.container is not None and spec.container.mounts == ()


def test_a_disk_image_volume_can_not_be_a_mount_point(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    made = new_volume(admin, dep, "disk", "qcow2")
    data = {"volume_id": made.json()["id"], "path": "/mnt/disk"}
    body = {"name": "disk", "type": 2, "metadata": {"data": data}}
    refused(
        admin.post(f"/api/v1/instances/{instance_id}/devices", json=body),
        400, "metadata.data.volume_id", "is a qcow2 disk image, which only QEMU reads",
    )  # fmt: skip


def test_containers_have_no_snapshots_and_no_screen(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    snap = admin.post(f"/api/v1/instances/{instance_id}/snapshots", json={"name": "s1"})
    refused(snap, 400, "instance_id", "containers have no snapshots")
    assert ticket(admin, instance_id)["kind"] == "serial"
    vnc = admin.post(f"/api/v1/instances/{instance_id}/console", json={"kind": "vnc"})
    refused(vnc, 400, "kind", "is a container and has no screen")


def test_a_second_console_viewer_is_refused_with_4409(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    held = dep.containers.open_serial_console(instance_id)  # another window has it
    code, reason = refusal(admin, ticket(admin, instance_id, kind="serial")["websocket"])
    assert code == 4409 and "already open in another window" in reason
    held.close()
    with admin.websocket_connect(ticket(admin, instance_id, kind="serial")["websocket"]) as ws:
        assert b"/ # " in ws.receive_bytes()


def test_an_interrupted_container_deploy_is_undone_at_restart(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    """The daemon died after the root filesystem was unpacked and the container defined."""
    response = admin.post("/api/v2/instances", json=lxc_body(dep))
    task_id = response.json()["task_id"]
    agent = dep.daemon.agent
    with transaction(dep.factory) as db:
        claim = tasks.claim_next(db, dep.setup.node_id)
    assert claim is not None
    ctx = TaskContext(agent.node_id, agent.factory, agent.drivers, lambda **_: None)
    plan = compute._plan(ctx, claim.target_id or "")
    (root,) = plan.disks
    compute.ensure_pools(ctx, {root.pool_id})
    dep.storage.create_rootfs(
        root.pool_id, Path(root.path).name, root.clone_from or "", uid_offset=1, gid_offset=1
    )
    dep.containers.define(compute.domain_spec(plan, ctx))
    # ... and here the process died: the task is still "running".
    agent.start()
    agent.stop()
    task = admin.get(f"/api/v1/tasks/{task_id}").json()
    assert task["status"] == "failed"
    assert "Undid the interrupted deploy" in task["log"][-1]["message"]
    assert "domain inst-" in task["log"][-1]["message"]
    assert count_rows(dep, Instance) == 0
    assert count_rows(dep, Volume) == 0 and count_rows(dep, InstanceDevice) == 0
    assert dep.containers.domains == {}
    left = {name for files in dep.storage.files.values() for name in files}
    assert left == {"image-busybox.tar"}  # the image stays, the unpacked directory is gone


def test_the_node_says_whether_it_runs_containers_and_deploys_follow_it(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    agent = dep.daemon.agent
    agent._report_capabilities()
    url = f"/api/v1/nodes/{dep.setup.node_id}/capabilities"
    assert admin.get(url).json()["x86_64"]["containers"] is True
    agent.drivers.containers = None
    agent.drivers.containers_unavailable = "libvirtd has no LXC driver."
    agent._report_capabilities()
    shown = admin.get(url).json()["x86_64"]
    assert (shown["containers"], shown["containers_reason"]) == (
        False,
        "libvirtd has no LXC driver.",
    )
    refused(
        admin.post("/api/v2/instances", json=lxc_body(dep)),
        409,
        "type",
        "can't run containers: libvirtd has no LXC driver.",
    )
    assert count_rows(dep, Instance) == 0


def _retype(dep: Deployment, pool_type: PoolType) -> None:
    with transaction(dep.factory) as db:
        db.get_one(StoragePool, dep.setup.default_pool_id).type = pool_type


def _rootfs_capacity(dep: Deployment) -> str:
    (unpacked,) = [c for c in dep.storage.calls if c[0] == "create_rootfs"]
    return unpacked[6]


def test_a_root_filesystem_volume_of_the_size_asked_for(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    """rootfs_size: an ext4 volume of that size (raw), which the node mounts at each start."""
    instance_id = deploy_container(admin, dep, metadata={"rootfs_size": 3})
    assert _rootfs_capacity(dep) == str(3 * 1024**3)
    spec = dep.containers.domains[instance_id]
    assert spec.container is not None and spec.container.rootfs_kind is MountKind.FILESYSTEM
    [root] = [d for d in admin.get(f"/api/v1/instances/{instance_id}/devices").json()
              if d["is_root"]]  # fmt: skip
    volume = admin.get(f"/api/v1/volumes/{root['resource_id']}").json()
    assert (volume["size"], volume["metadata"]["driver"]) == (3, "raw")


def test_block_pools_get_a_filesystem_root_and_qemu_only_pools_are_refused(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    _retype(dep, PoolType.LVM)  # in the database only: the deploy is looked at, not run
    queued = admin.post("/api/v2/instances", json=lxc_body(dep, name="ct-lvm"))
    assert queued.status_code == 202, queued.text
    with transaction(dep.factory) as db:
        [instance] = db.query(Instance).filter_by(name="ct-lvm").all()
        [root] = db.query(Volume).filter_by(instance_id=instance.id).all()
        # No size asked: the image's size plus 1 GB, at least 2 GB; a filesystem (raw).
        assert (root.format, root.size_bytes) == ("raw", 2 * 1024**3)
    before = count_rows(dep, Instance)
    for kind in (PoolType.RBD, PoolType.ISCSI):
        _retype(dep, kind)
        refused(
            admin.post("/api/v2/instances", json=lxc_body(dep, name=f"ct-{kind.name}")),
            400, "metadata.storage_pool_id", "reaches only through QEMU",
        )  # fmt: skip
    assert count_rows(dep, Instance) == before


def test_a_raw_volume_is_mounted_as_a_filesystem_formatted_when_blank(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    made = new_volume(admin, dep, "raw", "raw")
    data = {"volume_id": made.json()["id"], "path": "/mnt/raw"}
    response = admin.post(
        f"/api/v1/instances/{instance_id}/devices",
        json={"name": "raw", "type": 2, "metadata": {"data": data}},
    )
    task = run(admin, dep, response)
    assert task["status"] == "succeeded", task
    # Formatted for the container's root (the ID range), then in the definition.
    (formatted,) = [c for c in dep.storage.calls if c[0] == "format_for_mount"]
    assert formatted[1].endswith(f"{made.json()['id']}.raw")
    assert formatted[2:] == ("100000", "100000")
    assert any("an empty ext4 filesystem" in line["message"] for line in task["log"])
    spec = dep.containers.domains[instance_id]
    assert spec.container is not None
    [mount] = spec.container.mounts
    assert (mount.target, mount.kind) == ("/mnt/raw", MountKind.FILESYSTEM)


def test_a_volume_of_a_pool_only_qemu_reaches_is_no_mount_point(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    made = new_volume(admin, dep, "remote", "raw")
    _retype(dep, PoolType.RBD)
    data = {"volume_id": made.json()["id"], "path": "/mnt/remote"}
    refused(
        admin.post(f"/api/v1/instances/{instance_id}/devices",
                   json={"name": "remote", "type": 2, "metadata": {"data": data}}),
        400, "metadata.data.volume_id", "is in a rbd pool, whose volumes the node reaches only",
    )  # fmt: skip
    assert admin.get(f"/api/v1/volumes/{made.json()['id']}").json()["attached"] is False


def test_a_clean_stop_lets_go_of_the_container_s_volumes_and_a_failed_release_is_said(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    instance_id = deploy_container(admin, dep)
    assert power(admin, dep, instance_id, "stop")["status"] == "succeeded"
    assert ("release", instance_id) in dep.containers.calls
    assert power(admin, dep, instance_id, "start")["status"] == "succeeded"
    dep.containers.fail_on["release"] = "umount: target is busy"
    task = power(admin, dep, instance_id, "stop")
    # Stopped all the same: the volumes staying mounted is said, not a failure.
    assert task["status"] == "succeeded", task
    assert any("stay mounted on the node: umount: target is busy" in line["message"]
               for line in task["log"])  # fmt: skip
    assert admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]["state"] == "stopped"


def test_a_container_that_stayed_off_on_its_own_is_let_go_of_by_the_sync(
    admin: TestClient, dep: Deployment, image: str
) -> None:
    """Its volumes are unmounted once two instance syncs in a row saw it stopped; one that
    libvirt restarted meanwhile (its init rebooted) keeps them."""
    instance_id = deploy_container(admin, dep)
    agent, containers = dep.daemon.agent, dep.containers

    def released() -> int:
        return containers.calls.count(("release", instance_id))

    containers.states[instance_id] = PowerState.STOPPED  # a reboot inside: off a moment
    agent._sync_instances()
    containers.states[instance_id] = PowerState.RUNNING  # libvirt started it again
    agent._sync_instances()
    assert released() == 0

    containers.states[instance_id] = PowerState.STOPPED  # powered itself off, for good
    agent._sync_instances()
    assert released() == 0
    agent._sync_instances()
    assert released() == 1
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["state"] == "stopped"
