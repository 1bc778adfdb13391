"""The CLI against a real app (in-process): ``cloudenv login`` asks for the one-time code
when the node says one is needed, and ``cloudenv token`` creates, lists and deletes API
tokens that then sign requests in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv import clock
from cloudenv.cli import client as cli_client
from cloudenv.cli import session
from cloudenv.cli.client import ApiClient
from cloudenv.cli.main import app
from tests.conftest import TENANT_PASSWORD, Deployment
from tests.support.signin import signed_in

pytestmark = pytest.mark.unit
runner = CliRunner()
URL = "https://node.example:5007"


@pytest.fixture
def cli_node(
    sqlite_deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Deployment:
    """The CLI talks to the deployment's app; its login is kept under ``tmp_path``."""
    monkeypatch.setenv("CLOUDENV_CONFIG_DIR", str(tmp_path / "cli"))
    monkeypatch.setattr(session, "_pin_certificate", lambda *_a: tmp_path / "ca.pem")

    def connect(_cls: Any, url: str, cert_file: Path, token: str | None = None) -> ApiClient:
        http = TestClient(sqlite_deployment.daemon.app, base_url="https://testserver/api")
        if token:
            http.headers["Authorization"] = f"Bearer {token}"
        return ApiClient(http)

    monkeypatch.setattr(cli_client.ApiClient, "connect", classmethod(connect))
    sqlite_deployment.add_tenant(username="bob")
    return sqlite_deployment


def _saved_login(tmp_path: Path) -> dict[str, str]:
    saved: dict[str, str] = json.loads((tmp_path / "cli" / "login.json").read_text())
    return saved


def test_login_asks_for_the_one_time_code(cli_node: Deployment, tmp_path: Path) -> None:
    client = TestClient(cli_node.daemon.app, base_url="https://testserver")
    signed_in(client, "bob", TENANT_PASSWORD)
    secret = client.post("/api/v1/auth/mfa/enroll").json()["secret"]
    totp = pyotp.TOTP(secret)
    assert client.post("/api/v1/auth/mfa/confirm", json={"code": totp.now()}).status_code == 200
    args = ["login", "--url", URL, "--username", "bob", "--password-stdin"]
    # The confirming code is spent: the next step's code signs in (within the drift window).
    code = totp.at(clock.now().timestamp() + 30)
    result = runner.invoke(app, args, input=f"{TENANT_PASSWORD}\n{code}\n")
    assert result.exit_code == 0, result.output
    assert "Signed in" in result.output
    assert _saved_login(tmp_path)["username"] == "bob"
    wrong = runner.invoke(app, args, input=f"{TENANT_PASSWORD}\n000000\n")
    assert wrong.exit_code == 1
    assert "one-time code is wrong" in wrong.output


def test_token_commands(cli_node: Deployment, tmp_path: Path) -> None:
    login = ["login", "--url", URL, "--username", "bob", "--password-stdin"]
    assert runner.invoke(app, login, input=f"{TENANT_PASSWORD}\n").exit_code == 0
    created = runner.invoke(app, ["token", "create", "--name", "ci", "--json"])
    assert created.exit_code == 0, created.output
    token = json.loads(created.output)
    assert token["token"].startswith("cetok_")
    listed = runner.invoke(app, ["token", "list", "--json"])
    assert [t["name"] for t in json.loads(listed.output)] == ["ci"]
    with TestClient(cli_node.daemon.app, base_url="https://testserver") as by_token:
        by_token.headers["Authorization"] = f"Bearer {token['token']}"
        assert by_token.get("/api/v1/auth/me").json()["username"] == "bob"
        deleted = runner.invoke(app, ["token", "delete", token["id"], "--yes"])
        assert deleted.exit_code == 0, deleted.output
        assert by_token.get("/api/v1/auth/me").status_code == 401
    human = runner.invoke(app, ["token", "create", "--name", "two", "--expiry", "2099-01-01"])
    assert human.exit_code == 0, human.output
    assert "shown only now" in human.output and "cetok_" in human.output
    assert "2099-01-01" in runner.invoke(app, ["token", "list"]).output
