"""Node and cluster health rules (services/monitoring/health.py), each rule and its
reason on its own, with the times given explicitly (no clock is read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from cloudenv.services.monitoring.health import (
    Health,
    HealthFacts,
    HealthStatus,
    Hypervisor,
    PoolUsage,
    ago_text,
    cluster_health,
    node_health,
    problems,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GIB = 1024**3


@dataclass(frozen=True)
class FakeNode:
    id: str
    name: str
    last_seen: datetime | None = NOW
    alive: bool = True


def facts(
    hypervisor: Hypervisor = Hypervisor.OK,
    error: str = "",
    total: int = 16 * GIB,
    available: int = 8 * GIB,
) -> HealthFacts:
    return HealthFacts(hypervisor, error, total, available)


NODE = FakeNode("node-abc", "node-a")


def test_an_alive_node_without_problems_is_healthy_without_reasons() -> None:
    assert node_health(NODE, facts(), [PoolUsage("default", 100 * GIB, 50 * GIB)], NOW) == Health(
        HealthStatus.HEALTHY
    )
    assert node_health(NODE, None, (), NOW).status == HealthStatus.HEALTHY


def test_a_node_never_heard_from_is_unknown_and_says_to_start_its_daemon() -> None:
    health = node_health(FakeNode("node-new", "node-new", last_seen=None, alive=False), now=NOW)
    assert health.status == HealthStatus.UNKNOWN
    assert health.reasons == (
        "node-new has never reported: start its daemon (cloudenv serve) and check that it "
        "reaches the database.",
    )


def test_a_node_whose_heartbeats_stopped_is_dead_with_when_it_was_last_seen() -> None:
    node = FakeNode("node-abc", "node-a", last_seen=NOW - timedelta(seconds=150), alive=False)
    health = node_health(node, facts(), (), NOW)
    assert health.status == HealthStatus.DEAD
    assert len(health.reasons) == 1
    assert health.reasons[0].startswith("node-a (node-abc) last seen 2 min ago: ")
    assert "cloudenv serve" in health.reasons[0]


def test_a_dead_node_is_judged_dead_whatever_its_last_facts_said() -> None:
    node = FakeNode("node-abc", "node-a", last_seen=NOW - timedelta(hours=3), alive=False)
    health = node_health(node, facts(Hypervisor.UNREACHABLE, "gone"), (), NOW)
    assert health.status == HealthStatus.DEAD
    assert "last seen 3 h ago" in health.reasons[0]
    assert not any("libvirt" in r for r in health.reasons)


def test_libvirt_unreachable_degrades_the_node_with_the_script_that_starts_it() -> None:
    health = node_health(NODE, facts(Hypervisor.UNREACHABLE, "Failed to connect socket."), (), NOW)
    assert health.status == HealthStatus.DEGRADED
    assert health.reasons == (
        "node-a (node-abc): libvirt unreachable (Failed to connect socket): start it with "
        "scripts/start-libvirt.sh.",
    )


def test_libvirt_absent_since_start_also_says_to_restart_the_daemon() -> None:
    health = node_health(NODE, facts(Hypervisor.ABSENT, "libvirtd is not running."), (), NOW)
    assert health.status == HealthStatus.DEGRADED
    assert "libvirt unreachable since the daemon started" in health.reasons[0]
    assert health.reasons[0].endswith(
        "start it with scripts/start-libvirt.sh, then restart cloudenv serve."
    )


@pytest.mark.parametrize(
    ("allocated_gib", "degraded"), [(89, False), (90, True), (94, True), (100, True)]
)
def test_a_pool_at_least_90_percent_full_degrades_its_node(
    allocated_gib: int, degraded: bool
) -> None:
    pool = PoolUsage("fast-ssd", 100 * GIB, allocated_gib * GIB)
    health = node_health(NODE, facts(), [pool], NOW)
    assert (health.status == HealthStatus.DEGRADED) is degraded
    if degraded:
        assert health.reasons == (
            f"node-a (node-abc): storage pool fast-ssd is {allocated_gib} % full "
            f"({100 - allocated_gib:.1f} GB free of 100.0 GB): free space in it or enlarge it.",
        )


def test_a_pool_with_no_capacity_reported_is_not_judged() -> None:
    assert node_health(NODE, facts(), [PoolUsage("new", 0, 0)], NOW).status == "healthy"


@pytest.mark.parametrize(("available_mib", "low"), [(799, True), (800, False)])
def test_less_than_5_percent_memory_available_degrades_the_node(
    available_mib: int, low: bool
) -> None:
    health = node_health(NODE, facts(total=16000 * 1024**2, available=available_mib * 1024**2))
    assert (health.status == HealthStatus.DEGRADED) is low
    if low:
        assert health.reasons == (
            f"node-a (node-abc): memory nearly exhausted ({available_mib} MiB of 16000 MiB "
            "available): stop or move instances, or add memory.",
        )


def test_every_problem_of_a_node_is_a_reason_of_its_own() -> None:
    health = node_health(
        NODE,
        facts(Hypervisor.UNREACHABLE, "x", total=100, available=1),
        [PoolUsage("a", 10, 10), PoolUsage("b", 10, 1)],
        NOW,
    )
    assert health.status == HealthStatus.DEGRADED
    assert [r.split(": ")[1].split(" (")[0] for r in health.reasons] == [
        "libvirt unreachable",
        "storage pool a is 100 % full",
        "memory nearly exhausted",
    ]


def test_a_node_named_as_its_id_is_named_once() -> None:
    node = FakeNode("node-abc", "node-abc", last_seen=None, alive=False)
    assert node_health(node).reasons[0].startswith("node-abc has never reported")


# Clusters ---------------------------------------------------------------------------------

HEALTHY = (Health(HealthStatus.HEALTHY), True)
DEAD = (Health(HealthStatus.DEAD, ("b last seen 2 min ago: ...",)), False)
NO_LIBVIRT = (Health(HealthStatus.DEGRADED, ("c: libvirt unreachable: ...",)), False)
POOL_FULL = (Health(HealthStatus.DEGRADED, ("d: storage pool x is 95 % full ...",)), True)


def test_a_cluster_without_nodes_is_unknown() -> None:
    health = cluster_health([])
    assert health.status == HealthStatus.UNKNOWN
    assert "no nodes" in health.reasons[0]


def test_a_cluster_of_healthy_nodes_is_healthy_without_reasons() -> None:
    assert cluster_health([HEALTHY, HEALTHY, HEALTHY]) == Health(HealthStatus.HEALTHY)


def test_a_degraded_node_degrades_its_cluster_with_the_nodes_reason() -> None:
    health = cluster_health([HEALTHY, POOL_FULL, HEALTHY])
    assert health == Health(HealthStatus.DEGRADED, POOL_FULL[0].reasons)


def test_a_dead_node_degrades_a_cluster_that_keeps_its_majority() -> None:
    health = cluster_health([HEALTHY, DEAD, HEALTHY])
    assert health == Health(HealthStatus.DEGRADED, DEAD[0].reasons)


@pytest.mark.parametrize("nodes", [[HEALTHY, DEAD], [HEALTHY, DEAD, DEAD]])
def test_a_cluster_without_a_majority_of_alive_nodes_is_unhealthy(
    nodes: list[tuple[Health, bool]],
) -> None:
    health = cluster_health(nodes)
    assert health.status == HealthStatus.UNHEALTHY
    total = len(nodes)
    assert health.reasons[0] == (
        f"Only 1 of {total} nodes are alive: the cluster has lost its majority "
        f"({total // 2 + 1} needed); bring its other nodes back."
    )
    assert health.reasons[1:] == DEAD[0].reasons * (total - 1)


def test_a_cluster_none_of_whose_alive_nodes_runs_instances_is_unhealthy() -> None:
    health = cluster_health([NO_LIBVIRT])
    assert health.status == HealthStatus.UNHEALTHY
    assert health.reasons == (
        "No alive node can run instances: libvirt is unreachable on each.",
        *NO_LIBVIRT[0].reasons,
    )
    assert cluster_health([NO_LIBVIRT, HEALTHY, HEALTHY]).status == HealthStatus.DEGRADED


def test_a_cluster_with_no_node_alive_is_dead() -> None:
    health = cluster_health([DEAD, DEAD])
    assert health.status == HealthStatus.DEAD
    assert health.reasons == ("No node of the cluster is alive.", *DEAD[0].reasons * 2)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45, "45 s"), (119, "119 s"), (150, "2 min"), (7199, "119 min"),
     (7200, "2 h"), (47 * 3600, "47 h"), (72 * 3600, "3 days")],
)  # fmt: skip
def test_how_long_ago_reads(seconds: int, text: str) -> None:
    assert ago_text(timedelta(seconds=seconds)) == text


def test_what_decides_health_ignores_figures_that_move() -> None:
    assert problems(facts(available=8 * GIB)) == problems(facts(available=7 * GIB)) == []
    assert problems(facts(Hypervisor.UNREACHABLE)) == ["libvirt:unreachable"]
    assert problems(facts(Hypervisor.ABSENT)) == ["libvirt:absent"]
    assert problems(facts(available=GIB // 2)) == ["memory"]
    pools = [PoolUsage("a", 100, 91), PoolUsage("b", 100, 50), PoolUsage("c", 100, 95)]
    assert problems(facts(), pools) == ["pool:a", "pool:c"]
    assert problems(None, pools[1:2]) == []


def test_stored_facts_read_back_and_unreadable_ones_count_as_none() -> None:
    stored = facts(Hypervisor.UNREACHABLE, "why")
    assert HealthFacts.from_json(stored.as_json()) == stored
    assert HealthFacts.from_json(None) is None
    assert HealthFacts.from_json({"hypervisor": "on fire"}) is None
