"""``cloudenv policy``, against a real app: create from a JSON file, list, show, delete;
the server's message when a statement is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv.cli import client as cli_client
from cloudenv.cli.client import ApiClient
from cloudenv.cli.main import app
from tests.conftest import Deployment
from tests.support.served_node import ADMIN_PASSWORD

pytestmark = pytest.mark.unit
runner = CliRunner()


@pytest.fixture
def signed_in(sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver/api") as http:
        token = http.post(
            "/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
        ).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        client = object.__new__(ApiClient)
        client.http = http
        monkeypatch.setattr(cli_client.ApiClient, "from_login", classmethod(lambda cls: client))
        yield


def test_create_list_show_delete(signed_in: None, tmp_path: Path) -> None:
    file = tmp_path / "night.json"
    file.write_text(
        json.dumps(
            {
                "name": "Night shift",
                "description": "Power at night.",
                "statements": [{"action": "instance.power", "effect": "allow", "resource": "*"}],
            }
        )
    )
    created = runner.invoke(app, ["policy", "create", str(file), "--json"])
    assert created.exit_code == 0, created.output
    policy_id = json.loads(created.output)["id"]
    listed = runner.invoke(app, ["policy", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [p["name"] for p in json.loads(listed.output)][-1] == "Night shift"
    shown = runner.invoke(app, ["policy", "show", policy_id])
    assert shown.exit_code == 0, shown.output
    assert "instance.power" in shown.output and "Night shift" in shown.output
    deleted = runner.invoke(app, ["policy", "delete", policy_id, "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert runner.invoke(app, ["policy", "show", policy_id]).exit_code == 1


def test_a_wrong_statement_shows_the_servers_message(signed_in: None, tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text(
        json.dumps(
            {"name": "Bad", "statements": [{"action": "instance.reboot", "effect": "allow"}]}
        )
    )
    result = runner.invoke(app, ["policy", "create", str(file)])
    assert result.exit_code == 1
    assert "instance.reboot" in result.output and "policies/actions" in result.output


def test_a_file_that_is_not_a_policy_is_refused_before_sending(
    signed_in: None, tmp_path: Path
) -> None:
    file = tmp_path / "list.json"
    file.write_text("[]")
    result = runner.invoke(app, ["policy", "create", str(file)])
    assert result.exit_code == 1 and "a policy is an object" in result.output
