"""Storage pool propagation: the cluster lease, the pass that queues one pool.sync per
node needing work (and nothing once all is right), retries of failed nodes, the
heartbeat noticing a pool that vanished, compare-and-swap against a concurrent disable,
iSCSI LUNs recorded as volumes, and cleanup of pools marked for destruction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv import clock
from cloudenv.agent import pools as agent_pools
from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.storage.base import VolumeInfo
from cloudenv.enums import PoolNodeStatus, PoolType, TaskStatus
from cloudenv.services.storage import propagation
from cloudenv.store.engine import transaction
from cloudenv.store.queries import leases
from cloudenv.store.tables import Event, PoolNode, StoragePool, Task, Volume
from tests.conftest import Deployment
from tests.unit.api.test_storage_pools_api import (
    add_node,
    add_volume,
    agent_of,
    create,
    enable,
    pool,
)

pytestmark = pytest.mark.unit

ISCSI = {"portal": "192.0.2.10", "target": "iqn.2003-01.org.example:disk1"}


def run_pass(dep: Deployment, node_id: str, after: float = 0.0) -> propagation.PassResult:
    with transaction(dep.factory) as db:
        return propagation.run_pass(db, node_id, now=clock.now() + timedelta(seconds=after))


def syncs(dep: Deployment, status: TaskStatus | None = None) -> list[Task]:
    with transaction(dep.factory) as db:
        stmt = select(Task).where(Task.kind == "pool.sync")
        if status is not None:
            stmt = stmt.where(Task.status == status)
        return list(db.scalars(stmt))


def state(dep: Deployment, pool_id: str, node_id: str) -> PoolNode | None:
    with transaction(dep.factory) as db:
        return db.get(PoolNode, (pool_id, node_id))


# The lease


def test_one_node_holds_the_lease_until_it_expires(deployment: Deployment) -> None:
    now = clock.now()
    later = now + timedelta(seconds=propagation.LEASE_SECONDS)
    with transaction(deployment.factory) as db:
        assert leases.take(db, "job", "node-a", now, later)
        assert not leases.take(db, "job", "node-b", now, later)
        assert leases.take(db, "job", "node-a", now, later)  # renewal
    after = later + timedelta(seconds=1)
    with transaction(deployment.factory) as db:
        assert leases.take(db, "job", "node-b", after, after + timedelta(seconds=90))
        assert not leases.take(db, "job", "node-a", after, after + timedelta(seconds=90))
        assert leases.holder(db, "job") == ("node-b", after + timedelta(seconds=90))


def test_only_the_lease_holder_runs_the_pass_and_another_takes_over(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    other = add_node(dep, "node-b")
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, dep.setup.node_id, other)
    for task in syncs(dep):  # the nudge's tasks: leave the pass work to queue
        with transaction(dep.factory) as db:
            db.delete(db.get_one(Task, task.id))
    assert run_pass(dep, dep.setup.node_id).ran
    assert not run_pass(dep, other).ran  # node-a holds it
    assert len(syncs(dep)) == 2
    taken = run_pass(dep, other, after=propagation.LEASE_SECONDS + 1)  # node-a stopped
    assert taken.ran and taken.queued == []  # both syncs are still queued


# The pass


def test_a_pass_queues_one_sync_per_node_needing_work_and_nothing_once_all_is_right(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    other = add_node(dep, "node-b")
    first, second = create(admin, dep, "one"), create(admin, dep, "two")
    with transaction(dep.factory) as db:
        for pool_id in (first, second):
            for node_id in (dep.setup.node_id, other):
                db.add(PoolNode(pool_id=pool_id, node_id=node_id))
    result = run_pass(dep, dep.setup.node_id)
    assert sorted(result.queued) == sorted([dep.setup.node_id, other])
    assert run_pass(dep, dep.setup.node_id).queued == []  # already queued
    dep.daemon.agent.run_pending()
    other_storage = agent_of(dep, other)
    other_storage.run_pending()
    assert pool(admin, first)["status"] == pool(admin, second)["status"] == "ok"
    calls = list(dep.storage.calls)
    assert run_pass(dep, dep.setup.node_id, after=3600).queued == []
    assert dep.daemon.agent.run_pending() == 0
    assert dep.storage.calls == calls


def test_a_restarted_daemon_changes_nothing_already_right(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, dep.setup.node_id)
    dep.daemon.agent.run_pending()
    calls = list(dep.storage.calls)
    restarted = agent_of(dep, dep.setup.node_id, dep.storage)  # same node, same pools
    assert agent_pools.run_pass(restarted.node_id, dep.factory).queued == []
    assert agent_pools.refresh_usage(restarted.node_id, dep.factory, restarted.drivers) == []
    assert restarted.run_pending() == 0
    assert [c[0] for c in dep.storage.calls[len(calls) :]] == ["pool_usage", "pool_usage"]
    assert pool(admin, pool_id)["status"] == "ok"


def test_a_failed_node_is_retried_after_a_while(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    dep.storage.lacking[PoolType.ZFS] = "zpool tank not found"
    pool_id = create(admin, dep, "tank", type=5, config={})
    enable(admin, pool_id, dep.setup.node_id)
    dep.daemon.agent.run_pending()
    assert pool(admin, pool_id)["status"] == "error"
    assert run_pass(dep, dep.setup.node_id).queued == []  # just tried
    del dep.storage.lacking[PoolType.ZFS]  # the administrator created the zpool
    later = run_pass(dep, dep.setup.node_id, after=propagation.RETRY_SECONDS + 1)
    assert later.queued == [dep.setup.node_id]
    dep.daemon.agent.run_pending()
    assert pool(admin, pool_id)["status"] == "ok"


def test_a_destroyed_pool_no_node_holds_is_forgotten_by_the_pass(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    pool_id = create(admin, dep, "fast")
    with transaction(dep.factory) as db:
        db.get_one(StoragePool, pool_id).destroying = True  # its last node just let it go
    assert run_pass(dep, dep.setup.node_id).forgotten == [pool_id]
    with transaction(dep.factory) as db:
        assert db.get(StoragePool, pool_id) is None
        kinds = set(db.scalars(select(Event.kind).where(Event.target_id == pool_id)))
    assert "pool.deleted" in kinds


# The node's sync


def test_a_disable_while_the_node_defines_the_pool_wins(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, node)
    with transaction(dep.factory) as db:
        (work,) = [w for w in propagation.node_work(db, node) if w.pool_id == pool_id]
    enable(admin, pool_id)  # disabled meanwhile
    with transaction(dep.factory) as db:
        propagation.record_ready(db, node, pool_id, capacity=1, allocation=0, available=1)
        propagation.record_error(db, node, pool_id, "late failure")
    found = state(dep, pool_id, node)
    assert found is not None and found.status == PoolNodeStatus.REMOVING
    assert work.status == PoolNodeStatus.PENDING
    dep.daemon.agent.run_pending()
    assert state(dep, pool_id, node) is None


def test_a_node_that_gained_volumes_keeps_the_pool_and_says_why(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, node)
    dep.daemon.agent.run_pending()
    enable(admin, pool_id)
    add_volume(dep, pool_id, node)  # created between the disable and the sync
    dep.daemon.agent.run_pending()
    assert pool_id in dep.storage.pools
    got = pool(admin, pool_id)
    assert got["status"] == "error"
    assert got["nodes"][0]["state"] == "removing"
    assert got["nodes"][0]["error"].startswith(f"{node}: ")
    assert "1 volume(s)" in got["nodes"][0]["error"]


def test_the_heartbeat_notices_a_pool_that_vanished_and_propagation_brings_it_back(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, node)
    dep.daemon.agent.run_pending()
    dep.storage.remove_pool(pool_id)  # someone ran virsh pool-undefine
    vanished = agent_pools.refresh_usage(node, dep.factory, dep.daemon.agent.drivers)
    assert vanished == [pool_id]
    assert pool(admin, pool_id)["status"] == "pending"
    assert [t.node_id for t in syncs(dep, TaskStatus.QUEUED)] == [node]
    dep.daemon.agent.run_pending()
    assert pool_id in dep.storage.pools
    assert pool(admin, pool_id)["status"] == "ok"


def test_the_heartbeat_refreshes_usage(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(admin, dep, "fast")
    enable(admin, pool_id, node)
    dep.daemon.agent.run_pending()
    dep.storage.files["/srv/pools/fast"]["big"] = VolumeInfo(
        "big", "/srv/pools/fast/big", 10 * 1024**3, 10 * 1024**3, DiskFormat.RAW
    )
    agent_pools.refresh_usage(node, dep.factory, dep.daemon.agent.drivers)
    shown = {p["id"]: p for p in admin.get(f"/api/v1/nodes/{node}/storage/pools").json()}
    assert shown[pool_id]["usage"]["allocated"] == 10.0
    assert shown[pool_id]["usage"]["available"] == 90.0


def test_iscsi_luns_become_volumes_of_the_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(admin, dep, "san", type=1, config=ISCSI)
    luns = dep.storage.files.setdefault(f"iscsi:{pool_id}", {})
    for index in (1, 2):
        name = f"unit:0:0:{index}"
        luns[name] = VolumeInfo(
            name, f"ip-192.0.2.10-lun-{index}", index * 1024**3, 0, DiskFormat.RAW
        )
    enable(admin, pool_id, node)
    dep.daemon.agent.run_pending()
    volumes = {v["name"]: v for v in admin.get(f"/api/v1/volumes?storage_pool_id={pool_id}").json()}
    assert set(volumes) == {"unit:0:0:1", "unit:0:0:2"}
    assert volumes["unit:0:0:2"]["size"] == 2.0
    assert volumes["unit:0:0:1"]["status"] == 1 and volumes["unit:0:0:1"]["node_id"] == node
    with transaction(dep.factory) as db:
        row = db.scalars(select(Volume).where(Volume.name == "unit:0:0:1")).one()
        assert (row.path, row.format, row.organization_id) == (
            "ip-192.0.2.10-lun-1",
            "raw",
            dep.setup.organization_id,
        )
        # One LUN is in use by an instance; the other vanishes from the target.
        db.scalars(select(Volume).where(Volume.name == "unit:0:0:2")).one().instance_id = "inst-x"
    del luns["unit:0:0:1"], luns["unit:0:0:2"]
    with transaction(dep.factory) as db:
        db.get_one(PoolNode, (pool_id, node)).status = PoolNodeStatus.PENDING
        propagation.queue_syncs(db, [node])
    dep.daemon.agent.run_pending()
    names = [v["name"] for v in admin.get(f"/api/v1/volumes?storage_pool_id={pool_id}").json()]
    assert names == ["unit:0:0:2"]  # attached: kept, its disk says what is missing


def test_an_iscsi_pool_can_be_disabled_while_its_luns_are_unattached(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(admin, dep, "san", type=1, config=ISCSI)
    dep.storage.files.setdefault(f"iscsi:{pool_id}", {})["unit:0:0:1"] = VolumeInfo(
        "unit:0:0:1", "lun-1", 1024**3, 0, DiskFormat.RAW
    )
    enable(admin, pool_id, node)
    dep.daemon.agent.run_pending()
    assert len(admin.get(f"/api/v1/volumes?storage_pool_id={pool_id}").json()) == 1
    assert admin.delete(f"/api/v1/storage_pools/{pool_id}").status_code == 200
    dep.daemon.agent.run_pending()
    assert admin.get(f"/api/v1/storage_pools/{pool_id}").status_code == 404
    assert admin.get(f"/api/v1/volumes?storage_pool_id={pool_id}").json() == []


def test_a_task_that_uses_a_pool_ensures_it_with_its_settings(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """``ensure_pools`` (deploy, attach, image import) hands the driver the whole spec."""
    from cloudenv.agent import compute
    from cloudenv.agent.context import TaskContext

    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(
        admin, dep, "san", type=1, config={**ISCSI, "chap_username": "u", "chap_secret": "s"}
    )
    with transaction(dep.factory) as db:
        db.add(PoolNode(pool_id=pool_id, node_id=node))
    ctx = TaskContext(node, dep.factory, dep.daemon.agent.drivers, lambda **_: None)
    compute.ensure_pools(ctx, {pool_id})
    spec = dep.storage.pools[pool_id]
    assert spec.type is PoolType.ISCSI and spec.secrets == {"chap_secret": "s"}
    assert spec.config["portal"] == "192.0.2.10:3260"
    assert pool(admin, pool_id)["status"] == "ok"


def test_a_lun_added_to_a_running_pool_s_target_becomes_a_volume_at_the_rescan(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    pool_id = create(admin, dep, "san", type=1, config=ISCSI)
    enable(admin, pool_id, node)
    dep.daemon.agent.run_pending()
    assert admin.get(f"/api/v1/storage_pools/{pool_id}").json()["status"] == "ok"
    listed = f"/api/v1/volumes?storage_pool_id={pool_id}"
    assert admin.get(listed).json() == []
    dep.storage.add_lun(pool_id, "unit:0:0:1", 1024**3)  # the target gains a LUN
    agent_pools.rescan_luns(node, dep.factory, dep.daemon.agent.drivers)
    assert [v["name"] for v in admin.get(listed).json()] == ["unit:0:0:1"]
    dep.storage.files[f"iscsi:{pool_id}"].clear()  # and loses it again
    agent_pools.rescan_luns(node, dep.factory, dep.daemon.agent.drivers)
    assert admin.get(listed).json() == []
