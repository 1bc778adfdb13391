"""An iSCSI pool's LUNs as volumes through the API, on the fake drivers: propagation
records the target's LUN, which then is attached to an instance like any volume; being
the target's (never made or removed by cloudenv), it outlives an instance destroyed with
its volumes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.enums import PoolNodeStatus
from cloudenv.services.storage import propagation
from cloudenv.store.engine import transaction
from cloudenv.store.tables import PoolNode
from tests.conftest import Deployment
from tests.unit.api.test_devices_snapshots_metrics import volume_body
from tests.unit.api.test_instances_api import deploy, power
from tests.unit.api.test_volumes_api import ready, run

pytestmark = pytest.mark.unit

MIB = 1024**2
IQN = "iqn.2026-11.test.cloudenv:luns"


@pytest.fixture
def dep(sqlite_deployment: Deployment) -> Deployment:
    ready(sqlite_deployment)
    return sqlite_deployment


def _sync(dep: Deployment, pool_id: str) -> None:
    """Bring the pool to its definition on the node again (what a pass does for a row
    that needs work), so the driver's current LUNs are recorded."""
    with transaction(dep.factory) as db:
        db.get_one(PoolNode, (pool_id, dep.setup.node_id)).status = PoolNodeStatus.PENDING
        propagation.queue_syncs(db, [dep.setup.node_id])
    dep.daemon.agent.run_pending()


def _lun(admin: TestClient, dep: Deployment) -> tuple[str, dict[str, Any]]:
    """An iSCSI pool enabled on the node whose target has LUN 1: (pool, its volume)."""
    cluster = admin.get(f"/api/v1/nodes/{dep.setup.node_id}").json()["node"]["cluster_id"]
    config = {"portal": "127.0.0.1:3260", "target": IQN}
    created = admin.post(
        f"/api/v1/clusters/{cluster}/storage_pools",
        json={"name": "luns", "type": 1, "config": config},
    )
    assert created.status_code == 200, created.text
    pool_id = str(created.json()["id"])
    enabled = admin.patch(
        f"/api/v1/storage_pools/{pool_id}", json={"node_ids": [dep.setup.node_id]}
    )
    assert enabled.status_code == 200, enabled.text
    dep.daemon.agent.run_pending()  # defined on the node: now its target can have a LUN
    dep.storage.add_lun(pool_id, "unit:0:0:1", 64 * MIB)
    _sync(dep, pool_id)
    (lun,) = admin.get("/api/v1/volumes", params={"storage_pool_id": pool_id}).json()
    return pool_id, lun


def test_an_instance_destroyed_with_its_volumes_leaves_an_attached_lun(
    admin: TestClient, dep: Deployment
) -> None:
    pool_id, lun = _lun(admin, dep)
    assert (lun["name"], lun["status"], lun["attached"]) == ("unit:0:0:1", 1, False)
    instance = deploy(admin, dep)
    attach = admin.post(f"/api/v1/instances/{instance}/devices", json=volume_body(lun["id"]))
    assert run(admin, dep, attach)["status"] == "succeeded"
    assert power(admin, dep, instance, "kill")["status"] == "succeeded"

    destroyed = admin.delete(
        f"/api/v1/instances/{instance}",
        params={"confirm": "DESTROY", "destroy_volumes": "true"},
    )
    task = run(admin, dep, destroyed)
    assert task["status"] == "succeeded", task
    assert admin.get(f"/api/v1/instances/{instance}").status_code == 404
    # The instance's own volume went; the LUN is the target's: kept, free again.
    kept = admin.get(f"/api/v1/volumes/{lun['id']}").json()
    assert (kept["status"], kept["attached"], kept["attached_to"]) == (1, False, None)
    assert [v["id"] for v in admin.get("/api/v1/volumes").json()] == [lun["id"]]
    assert not [c for c in dep.storage.calls if c[:2] == ("delete_volume", pool_id)]
    assert dep.storage.volume_info(pool_id, "unit:0:0:1") is not None


def test_a_pool_whose_lun_is_attached_stays_until_it_is_detached(
    admin: TestClient, dep: Deployment
) -> None:
    """LUNs can't be destroyed through cloudenv, so the refusals say to detach them."""
    pool_id, lun = _lun(admin, dep)
    instance = deploy(admin, dep)
    attach = admin.post(f"/api/v1/instances/{instance}/devices", json=volume_body(lun["id"]))
    assert run(admin, dep, attach)["status"] == "succeeded"
    where = f"1 attached LUN volume(s) on node node-a ({dep.setup.node_id})"

    disable = admin.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []})
    assert disable.status_code == 409, disable.text
    assert disable.json()["field"] == "node_ids"
    assert disable.json()["message"] == (
        f"Storage pool luns ({pool_id}) can't be disabled on {where}; detach them from "
        "their instances first."
    )
    destroy = admin.delete(f"/api/v1/storage_pools/{pool_id}", params={"confirm": "DESTROY"})
    assert destroy.status_code == 409, destroy.text
    assert destroy.json()["message"] == (
        f"Storage pool luns ({pool_id}) can't be destroyed: it still holds {where}. Detach "
        "them from their instances, then destroy it."
    )

    detach = admin.delete(f"/api/v1/instances/{instance}/devices/data-1", params={"live": "true"})
    assert run(admin, dep, detach)["status"] == "succeeded"
    disable = admin.patch(f"/api/v1/storage_pools/{pool_id}", json={"node_ids": []})
    assert disable.status_code == 200, disable.text
    dep.daemon.agent.run_pending()
    assert admin.get(f"/api/v1/volumes/{lun['id']}").status_code == 404
    assert pool_id not in dep.storage.pools
    destroy = admin.delete(f"/api/v1/storage_pools/{pool_id}", params={"confirm": "DESTROY"})
    assert destroy.status_code == 200, destroy.text
