"""Usage over HTTP with the fake drivers and a host of known usage (tests/support/usage.py):
node and instance series in the product's shape for every range, the cluster's current
usage, a node's current reading (``cloudenv node top``), and ``GET /metrics`` parsed with
Prometheus' own parser: its labels, a token without ``metrics.read`` refused, and another
organization shown nothing of ours."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from cloudenv import clock
from cloudenv.agent.metrics import MetricsSampler
from cloudenv.drivers.compute.base import DomainStats
from cloudenv.drivers.compute.fake import FakeComputeDriver
from tests.conftest import Deployment
from tests.support.principals import add_policy, add_user
from tests.support.usage import GIB, FakeHost
from tests.unit.api.test_instances_api import deploy, power, upload

pytestmark = pytest.mark.unit

NODE_SERIES = {
    "cpu": ["time", "cpu", "cpu_max"],
    "memory": ["time", "used", "used_max", "total", "swap_used", "swap_total"],
    "storage": ["time", "used", "used_max", "total"],
    "network": ["time", "rx", "tx", "rx_max", "tx_max"],
    "disk_io": ["time", "read", "write", "read_max", "write_max"],
    "load": ["time", "load1", "load5", "load15", "load1_max"],
}
STEPS = {"1h": 10, "4h": 60, "1d": 300, "7d": 1800, "30d": 7200, "1y": 86400}


@pytest.fixture
def dep(sqlite_deployment: Deployment) -> Deployment:
    return sqlite_deployment


@pytest.fixture
def web(admin: TestClient, dep: Deployment) -> str:
    """A running instance: 2 vCPUs, 256 MB (the fake guest burns a CPU-second a second
    and uses half its memory)."""
    upload(admin, dep, "guest.iso")
    return deploy(admin, dep, image="guest.iso")


class Passes:
    """The node's sampler on a fake clock and a host of known usage: ``run(n)`` takes the
    next n passes, 10 s apart from 40 s ago (four passes end 10 s ago: the newest reading
    is current, and every pass is in the past, so the ranges show them)."""

    def __init__(self, dep: Deployment) -> None:
        self.host = FakeHost()
        self.moment = 0.0
        self.at = clock.now() - timedelta(seconds=50)
        # The guests' counters on the same clock: each pass sees 10 s of a busy guest's
        # CPU, however fast the passes run here.
        compute = dep.daemon.agent.drivers.compute
        assert isinstance(compute, FakeComputeDriver)
        compute.monotonic = lambda: self.moment
        self.sampler = MetricsSampler(
            dep.setup.node_id,
            dep.factory,
            dep.daemon.agent.drivers,
            probe=self.host,
            monotonic=lambda: self.moment,
            now=lambda: self.at,
        )

    def run(self, count: int) -> None:
        for _ in range(count):
            self.at += timedelta(seconds=10)
            self.moment += 10.0
            self.sampler.sample()


@pytest.fixture
def passes(dep: Deployment) -> Passes:
    return Passes(dep)


def series(client: TestClient, path: str, interval: str) -> dict[str, dict[str, Any]]:
    response = client.get(path, params={"interval": interval})
    assert response.status_code == 200, response.text
    return {s["name"]: s for s in response.json()}


def test_node_series_have_the_products_shape_for_every_range(
    admin: TestClient, dep: Deployment, passes: Passes, web: str
) -> None:
    passes.run(4)
    path = f"/api/v1/nodes/{dep.setup.node_id}/metrics"
    now = int(clock.now().timestamp())
    for interval, step in STEPS.items():
        shown = series(admin, path, interval)
        assert list(shown) == list(NODE_SERIES), interval
        for name, one in shown.items():
            assert set(one) == {"name", "step", "header", "start", "end", "data"}
            assert one["header"] == NODE_SERIES[name] and one["step"] == step
            assert one["start"] <= now - {"1h": 3600}.get(interval, 0) <= one["end"]
            assert one["data"], (interval, name)
            assert all(len(row) == len(one["header"]) for row in one["data"])
            assert all(isinstance(v, float) for row in one["data"] for v in row)
            assert one["data"][-1][0] <= one["end"]
    hour = series(admin, path, "1h")
    # 10 s apart: one point per pass. The host was 25 % busy and received 1,000 B/s
    # (the first pass: since boot); 6 of 16 GiB in use.
    assert len(hour["cpu"]["data"]) == 4
    assert [row[1] for row in hour["cpu"]["data"][1:]] == [25.0, 25.0, 25.0]
    assert [row[1] for row in hour["network"]["data"][1:]] == [1000.0] * 3
    assert hour["memory"]["data"][-1][1:4] == [6.0 * GIB, 6.0 * GIB, 16.0 * GIB]
    assert hour["storage"]["data"][-1][1:] == [50.0 * GIB, 50.0 * GIB, 200.0 * GIB]
    assert hour["load"]["data"][-1][1:] == [1.5, 1.0, 0.5, 1.5]


def test_instance_history_shows_its_cpu_and_memory(
    admin: TestClient, dep: Deployment, passes: Passes, web: str
) -> None:
    passes.run(3)
    shown = series(admin, f"/api/v1/instances/{web}/metrics/history", "1h")
    assert {k: v["header"] for k, v in shown.items()} == {
        "cpu": NODE_SERIES["cpu"],
        "memory": ["time", "used", "used_max", "total"],
        "network": NODE_SERIES["network"],
        "disk_io": NODE_SERIES["disk_io"],
    }
    assert [row[1:3] for row in shown["memory"]["data"]] == [[128.0 * 2**20] * 2] * 3
    cpu = [row[1] for row in shown["cpu"]["data"]]
    assert cpu[0] == 0.0 and all(c > 0 for c in cpu[1:])  # rates need two passes
    for interval in STEPS:
        assert series(admin, f"/api/v1/instances/{web}/metrics/history", interval)["cpu"]["data"]


def test_a_stopped_instance_has_no_current_sample_and_its_history_stops(
    admin: TestClient, dep: Deployment, passes: Passes, web: str
) -> None:
    passes.run(2)
    path = f"/api/v1/instances/{web}/metrics"
    assert admin.get(path).json()["timestamp"] is not None
    power(admin, dep, web, "kill")
    passes.run(2)
    assert admin.get(path).json() == {
        "timestamp": None,
        "cpu_percent": 0.0,
        "memory": {"percent": 0.0, "usage": 0},
        "network": {},
    }
    history = series(admin, f"/api/v1/instances/{web}/metrics/history", "1h")["cpu"]["data"]
    node = series(admin, f"/api/v1/nodes/{dep.setup.node_id}/metrics", "1h")["cpu"]["data"]
    assert len(history) == 2 and len(node) >= 3  # the node goes on, the instance doesn't
    listed = admin.get(f"/api/v1/nodes/{dep.setup.node_id}/metrics/current").json()
    assert listed["instances"] == [] and listed["node"] is not None


def test_interval_must_be_one_the_api_offers(admin: TestClient, dep: Deployment) -> None:
    response = admin.get(f"/api/v1/nodes/{dep.setup.node_id}/metrics", params={"interval": "2h"})
    assert response.status_code == 400
    assert response.json()["field"] == "interval" and "'1h'" in response.json()["message"]


def test_cluster_metrics_are_the_nodes_current_use(
    admin: TestClient, dep: Deployment, passes: Passes, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = f"/api/v1/clusters/{dep.setup.cluster_id}/metrics"
    nothing = admin.get(path, params={"force_refresh": "true"}).json()
    assert nothing == {
        "partial": True,
        "nodes": [],
        "total": {"cpu": 0.0, "memory": 0.0, "storage": 0.0},
    }
    passes.run(2)
    body = admin.get(path, params={"force_refresh": "true"}).json()
    usage = {"cpu": 25.0, "memory": 37.5, "storage": 25.0}  # 6/16 GiB, 50/200 GiB
    assert body == {"partial": False, "nodes": [{"id": dep.setup.node_id, **usage}], "total": usage}
    # A minute later without a pass the node has no current reading: partial.
    later = clock.now() + timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert admin.get(path).json()["partial"] is True


def test_the_current_reading_lists_the_running_instances(
    admin: TestClient, dep: Deployment, passes: Passes, web: str
) -> None:
    body = admin.get(f"/api/v1/nodes/{dep.setup.node_id}/metrics/current").json()
    assert body == {"node_id": dep.setup.node_id, "time": None, "node": None, "instances": []}
    passes.run(2)
    body = admin.get(f"/api/v1/nodes/{dep.setup.node_id}/metrics/current").json()
    assert body["time"].endswith("Z")
    assert body["node"]["mounts"] == {
        "/": {"used": 40.0 * GIB, "total": 100.0 * GIB},
        "/srv": {"used": 10.0 * GIB, "total": 100.0 * GIB},
    }
    assert body["node"]["pools"][dep.setup.default_pool_id]["total"] > 0
    assert body["node"]["cpus"] == 4 and body["node"]["cpu"] == 25.0
    ((instance),) = body["instances"]
    assert instance["id"] == web and instance["name"] == "web-1" and instance["vcpus"] == 2
    assert instance["memory_used"] == 128 * 2**20 and instance["disk_read"] > 0


# GET /metrics -----------------------------------------------------------------------------------


def scrape(client: TestClient) -> dict[str, list[Any]]:
    response = client.get("/api/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def test_prometheus_scrape_carries_ids_and_names(
    admin: TestClient, dep: Deployment, passes: Passes, web: str
) -> None:
    stopped = deploy(admin, dep, image="guest.iso", name="idle-1")
    power(admin, dep, stopped, "kill")
    passes.run(2)
    families = scrape(admin)
    (node_up,) = families["cloudenv_node_up"]
    assert node_up.value == 1
    assert node_up.labels == {
        "organization_id": dep.setup.organization_id,
        "organization_name": "acme",
        "cluster_id": dep.setup.cluster_id,
        "cluster_name": "default",
        "node_id": dep.setup.node_id,
        "node_name": "node-a",
    }
    (cpu,) = families["cloudenv_node_cpu_percent"]
    assert cpu.value == 25.0
    mounts = {
        s.labels["mountpoint"]: s.value for s in families["cloudenv_node_filesystem_size_bytes"]
    }
    assert mounts == {"/": 100.0 * GIB, "/srv": 100.0 * GIB}
    # Counters: the parser strips _total from the family and keeps it on the sample.
    (received,) = families["cloudenv_node_network_receive_bytes"]
    assert received.name == "cloudenv_node_network_receive_bytes_total"
    up = {s.labels["instance_name"]: s.value for s in families["cloudenv_instance_up"]}
    assert up == {"web-1": 1.0, "idle-1": 0.0}
    (memory,) = families["cloudenv_instance_memory_used_bytes"]
    assert memory.labels["instance_id"] == web and memory.labels["node_name"] == "node-a"
    assert memory.value == 128 * 2**20
    assert {s.labels["instance_id"] for s in families["cloudenv_instance_cpu_percent"]} == {web}


@pytest.fixture
def token_client(admin: TestClient, dep: Deployment) -> Any:
    """Makes a bearer client for a new user holding ``statements`` (an API token, as a
    Prometheus server would scrape with)."""

    def make(
        username: str, statements: list[dict[str, Any]], organization_id: str | None = None
    ) -> TestClient:
        policy = add_policy(dep, statements, organization_id=organization_id)
        user = add_user(dep, username, [policy], organization_id=organization_id)
        created = admin.post(f"/api/v1/users/{user}/tokens", json={"name": "prometheus"})
        assert created.status_code == 200, created.text
        client = TestClient(dep.daemon.app, base_url="https://testserver")
        client.headers["Authorization"] = f"Bearer {created.json()['token']}"
        return client

    return make


def test_a_token_without_metrics_read_is_refused(
    dep: Deployment, passes: Passes, web: str, token_client: Any
) -> None:
    passes.run(1)
    reader = token_client("reader", [{"action": "metrics.read", "effect": "allow"}])
    assert web in reader.get("/api/metrics").text
    reads = ("organization", "cluster", "node", "instance")  # everything but metrics
    blind = token_client("blind", [{"action": f"{area}.read", "effect": "allow"} for area in reads])
    refused = blind.get("/api/metrics")
    assert refused.status_code == 403
    assert "metrics.read" in refused.json()["message"]
    assert blind.get(f"/api/v1/nodes/{dep.setup.node_id}/metrics").status_code == 403
    assert blind.get(f"/api/v1/instances/{web}/metrics/history").status_code == 403
    assert blind.get(f"/api/v1/instances/{web}/metrics").status_code == 200  # instance.read


def test_a_policy_on_one_instance_shows_that_instance_only(
    admin: TestClient, dep: Deployment, passes: Passes, web: str, token_client: Any
) -> None:
    other = deploy(admin, dep, image="guest.iso", name="other-1")
    passes.run(1)
    narrow = token_client(
        "narrow", [{"action": "metrics.read", "effect": "allow", "resource": web}]
    )
    families = scrape(narrow)
    assert "cloudenv_node_up" not in families  # the node itself is not allowed
    shown = {s.labels["instance_id"] for s in families["cloudenv_instance_up"]}
    assert shown == {web} and other not in shown


def test_another_organization_sees_none_of_ours(
    admin: TestClient, dep: Deployment, passes: Passes, web: str, tenant: tuple[TestClient, str]
) -> None:
    passes.run(1)
    client, _ = tenant
    text = client.get("/api/metrics").text
    for ours in (web, dep.setup.node_id, dep.setup.cluster_id, dep.setup.organization_id):
        assert ours not in text
    assert client.get(f"/api/v1/nodes/{dep.setup.node_id}/metrics").status_code == 404
    assert client.get(f"/api/v1/instances/{web}/metrics/history").status_code == 404
    assert client.get(f"/api/v1/clusters/{dep.setup.cluster_id}/metrics").status_code == 404
    assert client.get(f"/api/v1/nodes/{dep.setup.node_id}/metrics/current").status_code == 404


def test_times_are_unix_seconds_of_the_passes(
    admin: TestClient, dep: Deployment, passes: Passes
) -> None:
    passes.run(3)
    data = series(admin, f"/api/v1/nodes/{dep.setup.node_id}/metrics", "1h")["cpu"]["data"]
    first = int(passes.at.timestamp()) // 10 * 10 - 20
    assert [row[0] for row in data] == [float(first), float(first + 10), float(first + 20)]


def test_a_pass_without_the_guest_s_memory_keeps_the_last_reading(
    admin: TestClient, dep: Deployment, passes: Passes, web: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libvirt's bulk call leaves out what needs QEMU's monitor when the guest is busy:
    that pass shows the memory in use as the pass before it did, not 0."""
    compute = dep.daemon.agent.drivers.compute
    assert isinstance(compute, FakeComputeDriver)
    passes.run(1)
    read = compute.bulk_stats

    def without_memory() -> dict[str, DomainStats]:
        return {n: replace(s, memory_used_kib=None) for n, s in read().items()}

    monkeypatch.setattr(compute, "bulk_stats", without_memory)
    passes.run(2)
    shown = series(admin, f"/api/v1/instances/{web}/metrics/history", "1h")
    assert [row[1] for row in shown["memory"]["data"]] == [128.0 * 2**20] * 3
