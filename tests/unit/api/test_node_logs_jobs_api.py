"""``GET /v1/nodes/{id}/logs`` (the daemon's own log, filtered) and ``GET
/v1/nodes/{id}/jobs`` (the system jobs with their runs), with who may read them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv import clock, daemon_log
from cloudenv.services.iam import builtin
from cloudenv.store.engine import transaction
from cloudenv.store.tables import SystemJob
from tests.conftest import Deployment
from tests.support.principals import add_user, signed_in
from tests.unit.api.test_storage_pools_api import add_node

pytestmark = pytest.mark.unit


@pytest.fixture
def logged(sqlite_deployment: Deployment) -> Iterator[logging.Logger]:
    """The deployment's node logging to its data dir, as ``cloudenv serve`` does."""
    handler = daemon_log.install(sqlite_deployment.daemon.settings.data_dir)
    log = logging.getLogger("cloudenv.agent.test")
    level = log.level
    log.setLevel(logging.DEBUG)
    try:
        yield log
    finally:
        log.setLevel(level)
        daemon_log.uninstall(handler)


def logs(client: TestClient, dep: Deployment, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/nodes/{dep.setup.node_id}/logs", params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_the_log_returns_the_daemons_own_lines_newest_last(
    admin: TestClient, sqlite_deployment: Deployment, logged: logging.Logger
) -> None:
    logged.info("storage propagation: synced %s", ["pool-1"])
    try:
        raise OSError("disk gone")
    except OSError:
        logged.exception("task task-1 (volume.create) crashed")
    lines = logs(admin, sqlite_deployment)
    ours = [line for line in lines if line["matches"]["LOGGER"] == "cloudenv.agent.test"]
    assert [(line["PRIORITY"], line["MESSAGE"].splitlines()[0]) for line in ours] == [
        (6, "storage propagation: synced ['pool-1']"),
        (3, "task task-1 (volume.create) crashed"),
    ]
    first, second = ours
    assert (first["FACILITY"], first["IDENTIFIER"]) == (3, "cloudenv")
    assert second["MESSAGE"].endswith("OSError: disk gone")
    assert set(first["matches"]) == {"LOGGER", "THREAD", "_PID"}
    assert first["matches"]["_PID"].isdigit()
    assert first["time"].endswith("Z") and first["time"] <= second["time"]


def test_the_log_filters_by_time_count_and_severity(
    admin: TestClient, sqlite_deployment: Deployment, logged: logging.Logger
) -> None:
    dep = sqlite_deployment
    start = clock.now().replace(microsecond=0) - timedelta(minutes=10)
    for index in range(5):  # a minute apart
        level = logging.WARNING if index % 2 else logging.INFO
        record = logged.makeRecord(logged.name, level, __file__, 1, "line %d", (index,), None)
        record.created = (start + timedelta(minutes=index)).timestamp()
        logged.handle(record)

    def messages(**params: Any) -> list[str]:
        return [
            line["MESSAGE"]
            for line in logs(admin, dep, **params)
            if line["matches"]["LOGGER"] == "cloudenv.agent.test"
        ]

    assert messages() == [f"line {i}" for i in range(5)]
    assert messages(maxPoints=2) == ["line 3", "line 4"]  # the newest, oldest first
    assert messages(priority=4) == ["line 1", "line 3"]
    # since/until as RFC 3339 or as Unix seconds, both inclusive.
    third = start + timedelta(minutes=2)
    assert messages(since=third.isoformat()) == ["line 2", "line 3", "line 4"]
    assert messages(since=int(third.timestamp()), until=third.timestamp() + 60) == [
        "line 2",
        "line 3",
    ]
    assert messages(until=third.isoformat().replace("+00:00", "Z")) == [
        "line 0",
        "line 1",
        "line 2",
    ]
    # A line's own time, as the log shows it, finds it again.
    shown = next(line for line in logs(admin, dep) if line["MESSAGE"] == "line 1")["time"]
    assert messages(since=shown, until=shown) == ["line 1"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),  # no offset: whose midnight?
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
        ({"maxPoints": 0}, "maxPoints"),
        ({"maxPoints": 10001}, "maxPoints"),
        ({"priority": 8}, "priority"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    admin: TestClient, sqlite_deployment: Deployment, params: dict[str, Any], field: str
) -> None:
    response = admin.get(f"/api/v1/nodes/{sqlite_deployment.setup.node_id}/logs", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


def test_another_nodes_log_is_asked_of_that_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    other = add_node(sqlite_deployment, "node-b")
    response = admin.get(f"/api/v1/nodes/{other}/logs")
    assert response.status_code == 409
    assert response.json()["message"] == (
        f"Node node-b's log is kept on that node; ask its own API "
        f"(https://127.0.0.2:5007/api/v1/nodes/{other}/logs)."
    )


def test_reading_the_log_needs_its_own_permission(
    sqlite_deployment: Deployment, tenant: tuple[TestClient, str], logged: logging.Logger
) -> None:
    """A Console user reads the node but not its log; an Operator does; another tenant
    does not even see the node."""
    dep = sqlite_deployment
    path = f"/api/v1/nodes/{dep.setup.node_id}/logs"
    add_user(dep, "viewer", [builtin.CONSOLE_USER.id])
    add_user(dep, "operator", [builtin.OPERATOR.id])
    with signed_in(dep, "viewer") as client:
        assert client.get(f"/api/v1/nodes/{dep.setup.node_id}").status_code == 200
        refused = client.get(path)
        assert refused.status_code == 403
        assert "node_log.read" in refused.json()["message"]
    with signed_in(dep, "operator") as client:
        assert client.get(path).status_code == 200
    client, _ = tenant
    assert client.get(path).status_code == 404


# Jobs -------------------------------------------------------------------------------------


def jobs(client: TestClient, node_id: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"/api/v1/nodes/{node_id}/jobs")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [j["id"] for j in listed] == sorted(j["id"] for j in listed)
    return {job["id"]: job for job in listed}


def test_the_jobs_show_their_last_and_next_runs(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    assert jobs(admin, dep.setup.node_id) == {}  # its agent never started
    agent = dep.daemon.agent
    agent.jobs.begin()
    listed = jobs(admin, dep.setup.node_id)
    assert set(listed) == set(agent.jobs.jobs)
    beat = listed["heartbeat"]
    assert beat["name"] == "Heartbeat and health report"
    assert (beat["status"], beat["last_run"], beat["interval"]) == ("pending", None, 10.0)
    assert beat["next_run"] is not None
    agent.jobs.run_now("heartbeat")
    after = jobs(admin, dep.setup.node_id)["heartbeat"]
    assert after["status"] == "ok" and after["last_error"] == ""
    assert after["last_run"] is not None and after["next_run"] >= beat["next_run"]
    assert after["last_duration"] >= 0
    assert set(after) == {
        "id", "name", "status", "next_run", "last_run", "interval", "last_duration", "last_error"
    }  # fmt: skip


def test_a_job_long_past_its_next_run_is_late(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """Its agent stopped or is stuck: what the stored rows alone can't say."""
    dep = sqlite_deployment
    dep.daemon.agent.jobs.begin()
    with transaction(dep.factory) as db:
        row = db.get_one(SystemJob, (dep.setup.node_id, "heartbeat"))
        row.next_run = clock.now() - timedelta(minutes=5)
    listed = jobs(admin, dep.setup.node_id)
    assert listed["heartbeat"]["status"] == "late"
    assert listed["audit.purge"]["status"] == "pending"


def test_jobs_are_read_with_the_node_and_hidden_from_other_tenants(
    sqlite_deployment: Deployment, tenant: tuple[TestClient, str]
) -> None:
    dep = sqlite_deployment
    dep.daemon.agent.jobs.begin()
    add_user(dep, "viewer", [builtin.CONSOLE_USER.id])
    with signed_in(dep, "viewer") as client:
        assert "heartbeat" in jobs(client, dep.setup.node_id)
    client, _ = tenant
    assert client.get(f"/api/v1/nodes/{dep.setup.node_id}/jobs").status_code == 404
