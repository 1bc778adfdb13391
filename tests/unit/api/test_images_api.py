"""The image routes of a node: deleting an image that instances use or that is already
being deleted, and the upload route (off the event loop, one short unit of work before and
after the body, refusing uploads meant for another node)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv.services.storage import images as image_service
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Image, Task
from tests.conftest import Deployment, count_rows
from tests.unit.api.test_instances_api import deploy, deploy_body, upload

pytestmark = pytest.mark.unit

QCOW2 = b"QFI\xfb" + b"\0" * 4092


def _images_url(dep: Deployment) -> str:
    return f"/api/v1/nodes/{dep.setup.node_id}/images/images"


def _staged(dep: Deployment) -> list[Path]:
    staging = dep.daemon.settings.data_dir / "staging"
    return list(staging.iterdir()) if staging.exists() else []


# -- deleting images in use ------------------------------------------------------------


def test_deleting_a_cdrom_image_in_use_is_a_conflict(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    upload(admin, sqlite_deployment, "guest.iso")
    instance_id = deploy(admin, sqlite_deployment, image="guest.iso")
    response = admin.delete(f"{_images_url(sqlite_deployment)}/guest.iso")
    assert response.status_code == 409, response.text
    message = response.json()["message"]
    assert instance_id in message and "web-1" in message and "detach" in message
    listed = admin.get(_images_url(sqlite_deployment)).json()
    assert [i["status"] for i in listed] == ["available"]


def test_deleting_a_kernel_boot_image_in_use_is_a_conflict(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    upload(admin, sqlite_deployment, "vmlinuz")
    upload(admin, sqlite_deployment, "initrd.gz", fmt="initrd")
    instance_id = deploy(
        admin,
        sqlite_deployment,
        metadata={"new_volumes": [], "kernel_boot": {"kernel": "vmlinuz", "initrd": "initrd.gz"}},
    )
    for name in ("vmlinuz", "initrd.gz"):
        response = admin.delete(f"{_images_url(sqlite_deployment)}/{name}")
        assert response.status_code == 409, response.text
        assert instance_id in response.json()["message"]


def test_deleting_the_clone_source_of_a_deploying_instance_is_a_conflict(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    upload(admin, sqlite_deployment, "base.qcow2", QCOW2)
    response = admin.post(
        "/api/v2/instances", json=deploy_body(sqlite_deployment, image="base.qcow2")
    )
    assert response.status_code == 202, response.text  # the deploy is queued, not run
    response = admin.delete(f"{_images_url(sqlite_deployment)}/base.qcow2")
    assert response.status_code == 409, response.text
    assert "web-1" in response.json()["message"]
    # once deployed, the disk no longer needs the image
    sqlite_deployment.daemon.agent.run_pending()
    response = admin.delete(f"{_images_url(sqlite_deployment)}/base.qcow2")
    assert response.status_code == 202, response.text


def test_deleting_an_image_twice_queues_one_task(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    upload(admin, sqlite_deployment, "spare.iso")
    first = admin.delete(f"{_images_url(sqlite_deployment)}/spare.iso")
    assert first.status_code == 202, first.text
    second = admin.delete(f"{_images_url(sqlite_deployment)}/spare.iso")
    assert second.status_code == 409, second.text
    assert "already being deleted" in second.json()["message"]
    with transaction(sqlite_deployment.factory) as db:
        kinds = list(db.scalars(select(Task.kind).where(Task.kind == "image.delete")))
    assert len(kinds) == 1


# -- the upload route --------------------------------------------------------------------


def test_upload_through_another_node_is_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    app = sqlite_deployment.daemon.app
    app.state.settings = dataclasses.replace(app.state.settings, node_id="node-elsewhere")
    response = admin.post(
        _images_url(sqlite_deployment),
        params={"storage_pool_id": sqlite_deployment.setup.default_pool_id, "name": "a.iso"},
        content=b"x" * 4096,
    )
    assert response.status_code == 409, response.text
    node_id = sqlite_deployment.setup.node_id
    assert response.json()["message"] == (
        f"Upload images through the node that holds them (node {node_id}); "
        "this is node node-elsewhere."
    )
    assert _staged(sqlite_deployment) == []
    assert count_rows(sqlite_deployment, Image) == 0


def test_upload_checks_run_off_the_event_loop_and_commit_before_the_body(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudenv.api.routers import storage as router

    seen: dict[str, Any] = {}
    real_check, real_start, real_stage = (
        image_service.check_import,
        image_service.start_import,
        router.stage,
    )

    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def check_import(db: Session, *args: Any) -> str:
        seen["check_on_loop"], seen["check_db"] = on_loop(), db
        return real_check(db, *args)

    def start_import(db: Session, *args: Any) -> Any:
        seen["start_on_loop"] = on_loop()
        seen["same_session"] = db is seen["check_db"]
        return real_start(db, *args)

    async def stage(*args: Any) -> str:
        seen["open_while_staging"] = seen["check_db"].in_transaction()
        return await real_stage(*args)

    monkeypatch.setattr(image_service, "check_import", check_import)
    monkeypatch.setattr(image_service, "start_import", start_import)
    monkeypatch.setattr(router, "stage", stage)
    upload(admin, sqlite_deployment, "quick.iso")
    assert seen == {
        "check_on_loop": False,
        "check_db": seen["check_db"],
        "open_while_staging": False,
        "start_on_loop": False,
        "same_session": False,
    }


def test_a_failure_after_staging_removes_the_staged_file(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudenv.errors import Conflict

    def start_import(*_args: Any) -> Any:
        raise Conflict("Someone else took that name meanwhile.", field="name")

    monkeypatch.setattr(image_service, "start_import", start_import)
    response = admin.post(
        _images_url(sqlite_deployment),
        params={"storage_pool_id": sqlite_deployment.setup.default_pool_id, "name": "b.iso"},
        content=b"x" * 4096,
    )
    assert response.status_code == 409, response.text
    assert response.json()["field"] == "name"
    assert _staged(sqlite_deployment) == []
    assert count_rows(sqlite_deployment, Image) == 0
