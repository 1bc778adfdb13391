"""``cloudenv pool …`` against a node's API in-process: create with a type's settings
(its secret from a file, never echoed), list and show, enable with --wait following
propagation to the green check, disable, and destroy's typed confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv.cli.main import app
from cloudenv.store.engine import transaction
from cloudenv.store.tables import StoragePool
from tests.conftest import Deployment
from tests.unit.cli.test_users_cli import cli

pytestmark = pytest.mark.unit
runner = CliRunner()
__all__ = ["cli"]


def _pool_id(output: str) -> str:
    return output.split("(", 1)[1].split(")", 1)[0]


def test_create_list_enable_disable_destroy(
    cli: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = sqlite_deployment
    cluster, node = dep.setup.cluster_id, dep.setup.node_id
    made = runner.invoke(app, ["pool", "create", cluster, "fast", "--path", "/srv/fast"])
    assert made.exit_code == 0, made.output
    pool_id = _pool_id(made.output)
    listed = runner.invoke(app, ["pool", "list", cluster])
    assert "fast" in listed.output and "/srv/fast" in listed.output and "none" in listed.output

    # The agent is not running in unit tests: --wait's poll runs the node's queue.
    monkeypatch.setattr("cloudenv.cli.pools.time.sleep", lambda _s: dep.daemon.agent.run_pending())
    enabled = runner.invoke(app, ["pool", "enable", pool_id, node, "--wait"])
    assert enabled.exit_code == 0, enabled.output
    assert cli.get(f"/v1/storage_pools/{pool_id}").json()["status"] == "ok"
    assert "ready" in enabled.output

    disabled = runner.invoke(app, ["pool", "disable", pool_id, node])
    assert disabled.exit_code == 0 and "removing" in disabled.output

    refused = runner.invoke(app, ["pool", "destroy", pool_id], input="destroy\n")
    assert refused.exit_code != 0
    assert cli.get(f"/v1/storage_pools/{pool_id}").json()["status"] != "destroying"
    done = runner.invoke(app, ["pool", "destroy", pool_id], input="DESTROY\n")
    assert done.exit_code == 0, done.output
    assert cli.get(f"/v1/storage_pools/{pool_id}").json()["status"] == "destroying"


def test_a_secret_is_read_from_a_file_and_never_shown(
    cli: TestClient, sqlite_deployment: Deployment, tmp_path: Path
) -> None:
    secret = tmp_path / "chap"
    secret.write_text("Chap-Secret-4711\n")
    made = runner.invoke(
        app,
        [
            "pool", "create", sqlite_deployment.setup.cluster_id, "san", "--type", "iscsi",
            "--portal", "192.0.2.10", "--target", "iqn.2003-01.org.example:disk1",
            "--chap-username", "vmhost", "--secret-file", str(secret),
        ],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    shown = runner.invoke(app, ["pool", "show", _pool_id(made.output), "--json"])
    assert '"chap_username": "vmhost"' in shown.output
    assert "Chap-Secret" not in shown.output + made.output
    with transaction(sqlite_deployment.factory) as db:  # sent, without its line break
        stored = db.get_one(StoragePool, _pool_id(made.output)).secrets
    assert stored == {"chap_secret": "Chap-Secret-4711"}


def test_bad_settings_come_back_with_the_servers_reason(
    cli: TestClient, sqlite_deployment: Deployment
) -> None:
    made = runner.invoke(
        app, ["pool", "create", sqlite_deployment.setup.cluster_id, "x", "--path", "relative"]
    )
    assert made.exit_code != 0
    assert "config.path" in made.output and "absolute" in made.output
