"""Deploying over HTTP: one instance-name rule for deploy and rename, kernel boot images
of the right format, volume names that never collide."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Deployment
from tests.unit.api.test_instances_api import deploy, deploy_body, power, upload

pytestmark = pytest.mark.unit


def _volumes(client: TestClient) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = client.get("/api/v1/volumes").json()
    return volumes


def _destroy(client: TestClient, dep: Deployment, instance_id: str, **params: str) -> None:
    power(client, dep, instance_id, "kill")
    response = client.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", **params}
    )
    assert response.status_code == 202, response.text
    dep.daemon.agent.run_pending()


def test_rename_refuses_control_characters_and_strips(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    instance_id = deploy(admin, sqlite_deployment)
    path = f"/api/v1/instances/{instance_id}"
    for bad in ("a\nb c", "web\t1", "x\x7fyz"):
        refused = admin.patch(path, json={"data": {"name": bad}})
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["field"] == "name"
    assert admin.get(path).json()["instance"]["name"] == "web-1"
    renamed = admin.patch(path, json={"data": {"name": "  db 1  "}})
    assert renamed.status_code == 200, renamed.text
    assert admin.get(path).json()["instance"]["name"] == "db 1"


def test_deploy_refuses_a_name_with_a_newline(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    body = deploy_body(sqlite_deployment, name="web\n1")
    refused = admin.post("/api/v2/instances", json=body)
    assert refused.status_code == 400 and refused.json()["field"] == "name"


@pytest.mark.parametrize(
    ("kernel", "initrd", "field", "said"),
    [
        ("guest.iso", "initrd.gz", "kernel_boot.kernel", "iso"),
        ("initrd.gz", None, "kernel_boot.kernel", "initrd"),
        ("vmlinuz", "guest.iso", "kernel_boot.initrd", "iso"),
        ("vmlinuz", "vmlinuz", "kernel_boot.initrd", "kernel"),
    ],
)
def test_kernel_boot_images_must_have_the_right_format(
    admin: TestClient,
    sqlite_deployment: Deployment,
    kernel: str,
    initrd: str | None,
    field: str,
    said: str,
) -> None:
    dep = sqlite_deployment
    upload(admin, dep, "vmlinuz")
    upload(admin, dep, "initrd.gz", fmt="initrd")
    upload(admin, dep, "guest.iso")
    boot = {"kernel": kernel, "initrd": initrd, "cmdline": "console=ttyS0"}
    body = deploy_body(dep, metadata={"new_volumes": [], "kernel_boot": boot})
    refused = admin.post("/api/v2/instances", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["field"] == field
    named = initrd if field.endswith("initrd") else kernel
    assert f"Image {named} " in refused.json()["message"]
    assert f"is an image of format {said};" in refused.json()["message"]
    assert admin.get("/api/v1/instances", params={"node_id": dep.setup.node_id}).json() == []


def test_volume_names_never_collide(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    first = deploy(admin, dep)  # asserts 202 and a succeeded task
    second = deploy(admin, dep)
    names = sorted(v["name"] for v in _volumes(admin))
    assert names[0] == "web-1-disk0" and names[1].startswith("web-1-disk0-")
    assert len(names[1]) == len("web-1-disk0-") + 6
    _destroy(admin, dep, first)  # keeps its volume, named web-1-disk0
    _destroy(admin, dep, second)
    third = deploy(admin, dep)
    assert third not in (first, second)
    assert len({v["name"] for v in _volumes(admin)}) == 3


def test_volume_names_of_a_long_instance_name_fit(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    long_name = "n" * 255
    deploy(admin, dep, name=long_name)
    deploy(admin, dep, name=long_name)
    names = [v["name"] for v in _volumes(admin)]
    assert all(len(n) <= 255 for n in names) and len(set(names)) == 2
    assert sorted(n.rsplit("-disk0", 1)[1][:1] for n in names) == ["", "-"]
