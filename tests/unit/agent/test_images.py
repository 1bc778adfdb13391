"""The agent's image imports: an import interrupted by a crash is failed and cleaned up
when the agent starts again (staged file, partial file in the pool, image row)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloudenv.services import tasks
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Image
from tests.conftest import Deployment, count_rows

pytestmark = pytest.mark.unit


def _images_url(dep: Deployment) -> str:
    return f"/api/v1/nodes/{dep.setup.node_id}/images/images"


def _staged(dep: Deployment) -> list[Path]:
    staging = dep.daemon.settings.data_dir / "staging"
    return list(staging.iterdir()) if staging.exists() else []


def test_interrupted_import_is_cleaned_up_at_restart(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    response = admin.post(
        _images_url(dep),
        params={"storage_pool_id": dep.setup.default_pool_id, "name": "half.iso"},
        content=b"x" * 4096,
    )
    assert response.status_code == 202, response.text
    task_id = response.json()["task_id"]
    with transaction(dep.factory) as db:
        claim = tasks.claim_next(db, dep.setup.node_id)  # running, then the "crash" ...
    assert claim is not None and claim.id == task_id
    from cloudenv.agent import compute
    from cloudenv.agent.context import TaskContext

    agent = dep.daemon.agent
    ctx = TaskContext(agent.node_id, agent.factory, agent.drivers, lambda **_: None)
    compute.ensure_pools(ctx, {dep.setup.default_pool_id})
    dep.storage.create_volume(  # ... after part of the file reached the pool
        dep.setup.default_pool_id, "image-half.iso", 4096, compute.DiskFormat.RAW
    )
    assert len(_staged(dep)) == 1
    agent.start()
    agent.stop()
    task = admin.get(f"/api/v1/tasks/{task_id}").json()
    assert task["status"] == "failed"
    assert "interrupted" in task["log"][-1]["message"]
    assert count_rows(dep, Image) == 0
    assert _staged(dep) == []
    assert all("image-half.iso" not in files for files in dep.storage.files.values())
