"""Health on the wire: what a node's heartbeat reports becomes ``health_status`` and
``health_reasons`` on the node and its cluster (list, read, datacenter detail); a node
whose heartbeats stopped says when it was last seen."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv import clock
from cloudenv.agent.drivers import Drivers
from cloudenv.agent.health import collect_facts
from cloudenv.drivers.compute.base import PowerState
from cloudenv.drivers.compute.fake import FakeComputeDriver
from cloudenv.enums import PoolNodeStatus
from cloudenv.errors import DriverError
from cloudenv.host.system import memory
from cloudenv.services.monitoring.health import HealthFacts, Hypervisor
from cloudenv.services.tenancy import nodes
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Event, Node, PoolNode
from tests.conftest import Deployment
from tests.unit.api.test_storage_pools_api import add_node

pytestmark = pytest.mark.unit

GIB = 1024**3
FINE = HealthFacts(Hypervisor.OK, "", 16 * GIB, 8 * GIB)


def beat(dep: Deployment, facts: HealthFacts | None, node_id: str | None = None) -> None:
    with transaction(dep.factory) as db:
        nodes.heartbeat(db, node_id or dep.setup.node_id, facts)


def node_body(client: TestClient, node_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/nodes/{node_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["node"])


def cluster_body(client: TestClient, dep: Deployment) -> dict[str, Any]:
    response = client.get(f"/api/v1/clusters/{dep.setup.cluster_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["cluster"])


def test_a_healthy_node_and_cluster_say_so_with_no_reasons(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    beat(sqlite_deployment, FINE)
    node = node_body(admin, sqlite_deployment.setup.node_id)
    assert (node["health_status"], node["health_reasons"]) == ("healthy", [])
    cluster = cluster_body(admin, sqlite_deployment)
    assert (cluster["health_status"], cluster["health_reasons"]) == ("healthy", [])


def test_libvirt_unreachable_on_the_only_node_makes_the_cluster_unhealthy(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    beat(dep, HealthFacts(Hypervisor.UNREACHABLE, "Failed to connect socket.", 16 * GIB, 8 * GIB))
    node = node_body(admin, dep.setup.node_id)
    assert node["health_status"] == "degraded"
    (reason,) = node["health_reasons"]
    assert reason == (
        f"node-a ({dep.setup.node_id}): libvirt unreachable (Failed to connect socket): "
        "start it with scripts/start-libvirt.sh."
    )
    cluster = cluster_body(admin, dep)
    assert cluster["health_status"] == "unhealthy"
    assert cluster["health_reasons"] == [
        "No alive node can run instances: libvirt is unreachable on each.",
        reason,
    ]


def test_a_nearly_full_pool_degrades_the_node_and_its_cluster(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    beat(dep, FINE)
    with transaction(dep.factory) as db:
        state = db.get_one(PoolNode, (dep.setup.default_pool_id, dep.setup.node_id))
        state.status = PoolNodeStatus.READY
        state.capacity_bytes, state.allocation_bytes = 100 * GIB, 94 * GIB
        state.available_bytes = 6 * GIB
    reason = (
        f"node-a ({dep.setup.node_id}): storage pool default is 94 % full "
        "(6.0 GB free of 100.0 GB): free space in it or enlarge it."
    )
    assert node_body(admin, dep.setup.node_id)["health_reasons"] == [reason]
    cluster = cluster_body(admin, dep)
    assert (cluster["health_status"], cluster["health_reasons"]) == ("degraded", [reason])
    listed = admin.get("/api/v1/clusters", params={"datacenter_id": dep.setup.datacenter_id})
    assert listed.json()[0]["health_reasons"] == [reason]
    detail = admin.get(f"/api/v1/datacenters/{dep.setup.datacenter_id}").json()
    assert detail["clusters"][0]["health_reasons"] == [reason]


def test_exhausted_memory_degrades_the_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    beat(sqlite_deployment, HealthFacts(Hypervisor.OK, "", 16 * GIB, 100 * 1024**2))
    node = node_body(admin, sqlite_deployment.setup.node_id)
    assert node["health_status"] == "degraded"
    assert "memory nearly exhausted (100 MiB of 16384 MiB available)" in node["health_reasons"][0]


def test_a_node_whose_heartbeats_stopped_is_named_in_its_clusters_reasons(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    beat(dep, FINE)
    second, third = add_node(dep, "node-b"), add_node(dep, "node-c")
    beat(dep, FINE, third)
    assert cluster_body(admin, dep)["health_status"] == "healthy"
    with transaction(dep.factory) as db:  # its agent stopped two and a half minutes ago
        db.get_one(Node, second).last_seen = clock.now() - timedelta(seconds=150)
    cluster = cluster_body(admin, dep)
    assert cluster["health_status"] == "degraded"  # two of three alive: still a majority
    (reason,) = cluster["health_reasons"]
    assert re.fullmatch(
        rf"node-b \({second}\) last seen \d+ min ago: check that its daemon \(cloudenv serve\) "
        r"runs and reaches the database, and that the host is up\.",
        reason,
    ), reason
    node = node_body(admin, second)
    assert (node["alive"], node["health_status"], node["health_reasons"]) == (
        False,
        "dead",
        [reason],
    )
    with transaction(dep.factory) as db:
        db.get_one(Node, third).last_seen = None  # never reported
    cluster = cluster_body(admin, dep)
    assert cluster["health_status"] == "unhealthy"
    assert cluster["health_reasons"][0].startswith("Only 1 of 3 nodes are alive")
    assert cluster["health_reasons"][2] == (
        f"node-c ({third}) has never reported: start its daemon (cloudenv serve) and check "
        "that it reaches the database."
    )


def _node_updates(dep: Deployment) -> int:
    with transaction(dep.factory) as db:
        rows = db.scalars(
            select(Event).where(Event.kind == "node.updated", Event.target_id == dep.setup.node_id)
        )
        return len(list(rows))


def test_a_heartbeat_that_changes_the_nodes_health_publishes_its_update(
    sqlite_deployment: Deployment,
) -> None:
    """So the web UI learns of it through the event stream; figures that move every beat
    (memory available) publish nothing."""
    dep = sqlite_deployment
    beat(dep, FINE)
    before = _node_updates(dep)
    beat(dep, HealthFacts(Hypervisor.OK, "", 16 * GIB, 7 * GIB))
    assert _node_updates(dep) == before
    beat(dep, HealthFacts(Hypervisor.UNREACHABLE, "gone", 16 * GIB, 7 * GIB))
    assert _node_updates(dep) == before + 1
    beat(dep, FINE)
    assert _node_updates(dep) == before + 2
    # A pool filling up (its usage read by another job) shows at the next heartbeat.
    with transaction(dep.factory) as db:
        state = db.get_one(PoolNode, (dep.setup.default_pool_id, dep.setup.node_id))
        state.status = PoolNodeStatus.READY
        state.capacity_bytes, state.allocation_bytes = 100 * GIB, 95 * GIB
    beat(dep, FINE)
    assert _node_updates(dep) == before + 3
    beat(dep, FINE)
    assert _node_updates(dep) == before + 3


class UnreachableCompute(FakeComputeDriver):
    def list_domains(self) -> dict[str, PowerState]:
        raise DriverError("Failed to connect socket to '/var/run/libvirt/libvirt-sock'.")


def test_the_heartbeat_job_reports_libvirt_and_memory(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    agent = dep.daemon.agent
    agent.drivers.compute = UnreachableCompute()
    agent.jobs.run_now("heartbeat")
    node = node_body(admin, dep.setup.node_id)
    assert node["health_status"] == "degraded"
    assert node["health_reasons"][0].endswith(
        "libvirt unreachable (Failed to connect socket to "
        "'/var/run/libvirt/libvirt-sock'): start it with scripts/start-libvirt.sh."
    )
    with transaction(dep.factory) as db:
        reported = db.get_one(Node, dep.setup.node_id).health
    assert reported is not None and reported["memory_total_bytes"] == memory()[0] > 0


def test_a_node_that_found_no_libvirt_at_start_says_to_restart_the_daemon() -> None:
    drivers = Drivers(
        None, None, unavailable="libvirtd is not running. Start it with scripts/start-libvirt.sh."
    )
    facts = collect_facts(drivers, memory=lambda: (100, 50))
    assert facts == HealthFacts(Hypervisor.ABSENT, "libvirtd is not running.", 100, 50)
    ok = collect_facts(Drivers(FakeComputeDriver(), None), memory=lambda: (100, 50))
    assert ok.hypervisor == Hypervisor.OK


def test_memory_is_read_from_meminfo(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text(
        "MemTotal:       16318504 kB\nMemFree:         1022108 kB\n"
        "MemAvailable:    9563412 kB\nBuffers:          250000 kB\n"
    )
    assert memory(tmp_path) == (16318504 * 1024, 9563412 * 1024)
    assert memory(tmp_path / "nowhere") == (0, 0)
