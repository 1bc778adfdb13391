"""Deploying an instance whose root disk is a copy of an image onto a pool of block
volumes (LVM here; ZFS and RBD follow the same driver path), over HTTP on the fake drivers:
the deploy succeeds, the image is copied as raw into a volume of the asked size, the
domain reaches the volume through its pool, and a failed copy leaves no volume behind."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cloudenv.drivers.compute.base import DiskFormat, VolumeSource
from cloudenv.errors import DriverError
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Volume
from tests.conftest import Deployment, count_rows
from tests.unit.api.test_images_api import QCOW2
from tests.unit.api.test_instances_api import deploy, deploy_body, upload
from tests.unit.api.test_storage_pools_api import create, enable

pytestmark = pytest.mark.unit

GIB = 1024**3


def _lvm_pool_with_image(admin: TestClient, dep: Deployment) -> tuple[str, str]:
    """An LVM pool enabled (and green) on the node, and a qcow2 image in the default
    directory pool; returns (pool id, the image file's path on the node)."""
    pool_id = create(admin, dep, "fast-lvm", type=2, config={"volume_group": "vg0"})
    enable(admin, pool_id, dep.setup.node_id)
    dep.daemon.agent.run_pending()  # propagation defines it on the node
    assert admin.get(f"/api/v1/storage_pools/{pool_id}").json()["status"] == "ok"
    upload(admin, dep, "base.qcow2", QCOW2)
    (file_name,) = [c[2] for c in dep.storage.calls if c[0] == "upload_volume"]
    image = dep.storage.volume_info(dep.setup.default_pool_id, file_name)
    assert image is not None
    dep.storage.add_image(image.path, 512 * 1024**2, DiskFormat.QCOW2)  # its virtual size
    return pool_id, image.path


def _on(pool_id: str) -> dict[str, object]:
    return {
        "new_volumes": [
            {
                "storage_pool_id": pool_id,
                "size": 2,
                "bus": "virtio",
                "dev": "/dev/vda",
                "driver": "raw",
            }
        ]
    }


def test_a_deploy_copies_its_image_into_an_lvm_pool(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    pool_id, image_path = _lvm_pool_with_image(admin, dep)
    instance_id = deploy(admin, dep, image="base.qcow2", metadata=_on(pool_id))
    (volume,) = admin.get(f"/api/v1/volumes?storage_pool_id={pool_id}").json()
    file_name = f"{volume['id']}.raw"
    assert (
        "clone_volume",
        pool_id,
        file_name,
        image_path,
        "raw",
        str(2 * GIB),
    ) in dep.storage.calls
    copied = dep.storage.volume_info(pool_id, file_name)
    assert copied is not None
    assert (copied.path, copied.capacity_bytes) == (f"/dev/vg0/{file_name}", 2 * GIB)
    with transaction(dep.factory) as db:
        assert db.get_one(Volume, volume["id"]).path == copied.path
    assert volume["attached_to"] == instance_id and volume["status"] == 1
    root = dep.compute.domains[instance_id].disks[0]
    assert root.source == VolumeSource(pool=pool_id, volume=file_name)
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert instance["state"] == "running"


def test_a_failed_copy_into_an_lvm_pool_leaves_no_volume(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    pool_id, _ = _lvm_pool_with_image(admin, dep)
    dep.storage.fail_next("clone_volume", DriverError("qemu-img convert: No space left"))
    response = admin.post(
        "/api/v2/instances", json=deploy_body(dep, image="base.qcow2", metadata=_on(pool_id))
    )
    assert response.status_code == 202, response.text
    dep.daemon.agent.run_pending()
    task = admin.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    assert task["status"] == "failed" and "No space left" in task["message"], task
    assert ("delete_volume", pool_id) == dep.storage.calls[-1][:2]  # the deploy's undo
    assert dep.storage.list_volumes(pool_id) == []
    assert count_rows(dep, Volume) == 0
