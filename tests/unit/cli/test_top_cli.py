"""``cloudenv node top`` and ``cloudenv instance top`` against a node's API in-process,
after sampling passes with a host of known usage: one table with ``--once``, the replies
with ``--json``, a node without a current reading said so, the live loop refreshing
until interrupted."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv.cli import output
from cloudenv.cli.main import app
from tests.conftest import Deployment
from tests.unit.api.test_instances_api import deploy, upload
from tests.unit.api.test_metrics_api import Passes
from tests.unit.cli.test_users_cli import cli

pytestmark = pytest.mark.unit
runner = CliRunner()
__all__ = ["cli"]


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as they need: a row on one line (the console is made at import)."""
    monkeypatch.setattr(output.console, "width", 200)


@pytest.fixture
def web(cli: TestClient, admin: TestClient, sqlite_deployment: Deployment) -> str:
    upload(admin, sqlite_deployment, "guest.iso")
    return deploy(admin, sqlite_deployment, image="guest.iso")


def test_node_top_once_shows_the_nodes_usage(
    cli: TestClient, sqlite_deployment: Deployment, web: str
) -> None:
    waiting = runner.invoke(app, ["node", "top", "--once"])
    assert waiting.exit_code == 0, waiting.output
    assert "No current reading from node-a." in waiting.output
    Passes(sqlite_deployment).run(2)
    shown = runner.invoke(app, ["node", "top", "--once"])
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if "node-a" in line)
    # The fake host: 25 % of 4 CPUs busy, 6 of 16 GiB, 50 of 200 GiB, 1,000 B/s in.
    for text in ("25.0% of 4", "6.0 GiB / 16.0 GiB (38%)", "50.0 GiB / 200.0 GiB (25%)"):
        assert text in row, row
    assert "1000 B/s" in row and row.rstrip().endswith("1 │")  # one instance runs


def test_node_top_json_is_the_api_reply(cli: TestClient, sqlite_deployment: Deployment) -> None:
    Passes(sqlite_deployment).run(1)
    node = sqlite_deployment.setup.node_id
    result = runner.invoke(app, ["node", "top", node, "--once", "--json"])
    assert result.exit_code == 0, result.output
    (reading,) = json.loads(result.output)
    assert reading["node_id"] == node and reading["node"]["memory_total"] == 16 * 1024**3


def test_instance_top_lists_running_instances_busiest_first(
    cli: TestClient, sqlite_deployment: Deployment, web: str
) -> None:
    Passes(sqlite_deployment).run(2)
    result = runner.invoke(app, ["instance", "top", "--once", "--sort", "memory"])
    assert result.exit_code == 0, result.output
    assert "Running instances (1)" in result.output
    row = next(line for line in result.output.splitlines() if web in line)
    assert "web-1" in row and "of 2" in row and "128.0 MiB / 256.0 MiB (50%)" in row
    refused = runner.invoke(app, ["instance", "top", "--once", "--sort", "disk"])
    assert refused.exit_code != 0 and "cpu, memory or name" in refused.output


def test_top_refreshes_until_interrupted(
    cli: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes = Passes(sqlite_deployment)
    slept = []

    def sleep(seconds: float) -> None:  # each refresh follows a pass; the third is Ctrl-C
        slept.append(seconds)
        if len(slept) == 3:
            raise KeyboardInterrupt
        passes.run(1)

    monkeypatch.setattr("cloudenv.cli.top.time.sleep", sleep)
    result = runner.invoke(app, ["node", "top", "--interval", "2"])
    assert result.exit_code == 0, result.output
    assert slept == [2.0, 2.0, 2.0]
    assert "25.0% of 4" in result.output  # a refresh after the first pass shows it
