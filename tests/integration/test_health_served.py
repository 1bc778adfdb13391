"""Health, the daemon's log and its system jobs on a node served by the real commands
(``cloudenv init``, ``cloudenv serve --workers 2``: the agent in the parent process, the
API in two worker processes).

The node's heartbeats are stopped by freezing the parent process (SIGSTOP), as a hung
agent would leave them: the workers go on answering, and the cluster's health and
reasons must say which node stopped reporting; once it runs again (SIGCONT) they recover.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from tests.support.libvirt import ensure_libvirtd
from tests.support.served_node import Server, init_node, serving

pytestmark = pytest.mark.integration

T = TypeVar("T")
#: Seconds to wait for something the daemon does by itself (a heartbeat, a job's next
#: run, a node turning dead 30 s after its last heartbeat) on a loaded host.
PATIENCE = 120.0


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = PATIENCE) -> T:
    """``probe()``'s first truthy answer, asked every second; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(1.0)
    pytest.fail(f"{what}: not seen within {timeout:.0f} s (last: {last!r})")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ensure_libvirtd()  # a node without libvirt is rightly not healthy
    node = init_node(tmp_path_factory.mktemp("health"))
    with serving(node, extra_args=["--workers", "2"]) as server:
        yield server


@pytest.fixture
def admin(served: Server) -> Iterator[httpx.Client]:
    with served.admin() as client:
        yield client


def get(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_jobs_list_the_system_jobs_with_runs_that_move(
    served: Server, admin: httpx.Client
) -> None:
    node_id = served.health["id"]
    path = f"/api/v1/nodes/{node_id}/jobs"
    jobs = {job["id"]: job for job in get(admin, path)}
    assert {"heartbeat", "instance.sync", "metrics.sample", "audit.purge"} <= set(jobs)
    # Run while the agent started: the heartbeat and the purges.
    assert jobs["audit.purge"]["status"] == "ok" and jobs["audit.purge"]["last_run"]
    first = jobs["heartbeat"]

    def moved() -> dict[str, Any] | None:
        beat = {job["id"]: job for job in get(admin, path)}["heartbeat"]
        return beat if beat["last_run"] and beat["last_run"] > (first["last_run"] or "") else None

    later = wait_for("the heartbeat job running again", moved)
    assert later["status"] == "ok"
    assert later["next_run"] > first["next_run"]


def test_the_log_holds_the_daemons_own_lines_from_every_process(
    served: Server, admin: httpx.Client
) -> None:
    node_id = served.health["id"]
    path = f"/api/v1/nodes/{node_id}/logs"

    def started_lines() -> list[dict[str, Any]]:
        return [
            line
            for line in get(admin, path, maxPoints=10000)
            if line["MESSAGE"].startswith("Application startup complete")
        ]

    # Each API worker says so, in its own process (not the parent's, which runs the agent).
    started = wait_for("both workers' startup lines", lambda: len(started_lines()) >= 2 or None)
    assert started
    lines = started_lines()
    assert {line["IDENTIFIER"] for line in lines} == {"uvicorn"}
    pids = {line["matches"]["_PID"] for line in lines}
    assert len(pids) >= 2 and str(served.process.pid) not in pids
    # The parent's lines are there too (its agent, its migrations, its supervisor).
    every = get(admin, path, maxPoints=10000)
    assert str(served.process.pid) in {line["matches"]["_PID"] for line in every}
    assert all(line["FACILITY"] == 3 and 0 <= line["PRIORITY"] <= 7 for line in every)
    # Filters: the newest line alone; nothing after the newest; only errors and worse.
    (newest,) = get(admin, path, maxPoints=1)
    assert newest["time"] >= every[-1]["time"]
    assert get(admin, path, since=time.time() + 3600) == []
    assert all(line["PRIORITY"] <= 3 for line in get(admin, path, priority=3))
    middle = every[len(every) // 2]["time"]
    assert all(line["time"] >= middle for line in get(admin, path, since=middle, maxPoints=10000))


def test_a_node_whose_heartbeats_stop_turns_its_cluster_dead_with_the_reason(
    served: Server, admin: httpx.Client
) -> None:
    node_id = served.health["id"]
    detail = get(admin, f"/api/v1/nodes/{node_id}")["node"]
    cluster_path = f"/api/v1/clusters/{detail['cluster_id']}"

    def cluster() -> dict[str, Any]:
        return dict(get(admin, cluster_path)["cluster"])

    healthy = wait_for("a healthy cluster", lambda: cluster()["health_status"] == "healthy")
    assert healthy
    assert cluster()["health_reasons"] == []

    os.kill(served.process.pid, signal.SIGSTOP)  # the agent stops; the workers answer on
    try:
        dead = wait_for(
            "the cluster turning dead", lambda: (c := cluster())["health_status"] == "dead" and c
        )
        assert dead["health_reasons"][0] == "No node of the cluster is alive."
        reason = dead["health_reasons"][1]
        assert reason.startswith(f"{detail['name']} ({node_id}) last seen ")
        assert " ago: check that its daemon (cloudenv serve) runs" in reason
        node = get(admin, f"/api/v1/nodes/{node_id}")["node"]
        assert (node["alive"], node["health_status"]) == (False, "dead")
        assert node["health_reasons"] == [reason] or node["health_reasons"][0].startswith(
            f"{detail['name']} ({node_id}) last seen "
        )
        late = wait_for(
            "the heartbeat job reported late",
            lambda: (
                {j["id"]: j for j in get(admin, f"/api/v1/nodes/{node_id}/jobs")}["heartbeat"][
                    "status"
                ]
                == "late"
            ),
        )
        assert late
    finally:
        os.kill(served.process.pid, signal.SIGCONT)
    back = wait_for("the cluster healthy again", lambda: cluster()["health_status"] == "healthy")
    assert back
