"""``cloudenv user …`` against a node's API in-process: what each command sends and shows,
delete's typed confirmation, an all-or-nothing import's per-row report, an export to a
file without secrets, and passwords read from prompts or files, never arguments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv.cli import client as cli_client
from cloudenv.cli.client import ApiClient
from cloudenv.cli.main import app
from tests.conftest import Deployment, login

pytestmark = pytest.mark.unit
runner = CliRunner()
PASSWORD = "kettle-maple-orbit-lantern"


@pytest.fixture
def cli(sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The CLI signed in as pceadmin, talking to the deployment's app (the same HTTP client
    type the CLI uses, without a network); yields that client for checks."""
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as http:
        from tests.support.served_node import ADMIN_PASSWORD

        login(http, "pceadmin", ADMIN_PASSWORD)
        http.base_url = http.base_url.join("/api")

        def signed_in(cls: type[ApiClient]) -> ApiClient:
            client = object.__new__(ApiClient)
            client.http = http
            return client

        monkeypatch.setattr(cli_client.ApiClient, "from_login", classmethod(signed_in))
        yield http


def _run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["user", *args], input=input)
    return result.exit_code, result.output


def _usernames(http: TestClient) -> list[str]:
    return sorted(u["username"] for u in http.get("/v1/users").json())


def test_create_list_show_and_delete(cli: TestClient, sqlite_deployment: Deployment) -> None:
    org = sqlite_deployment.setup.organization_id
    code, out = _run(
        "create", "ana", "--organization", org, "--random-password", "--policy",
        "pol-builtin-operator", "--linux-user", "ana",
    )  # fmt: skip
    assert code == 0, out
    assert "Created user ana" in out and "shown this once" in out
    (user,) = [u for u in cli.get("/v1/users").json() if u["username"] == "ana"]
    assert user["policies"] == ["pol-builtin-operator"] and user["linux_user"] == "ana"
    code, out = _run("list", "--organization", org, "--json")
    assert code == 0 and '"username": "ana"' in out and '"username": "pceadmin"' in out
    code, out = _run("show", user["id"], "--json")
    assert code == 0 and f'"id": "{user["id"]}"' in out

    code, out = _run("delete", user["id"], input="destroy\n")
    assert code == 1 and "nothing was changed" in out
    assert "ana" in _usernames(cli)
    code, out = _run("delete", user["id"], input="DESTROY\n")
    assert code == 0, out
    assert _usernames(cli) == ["pceadmin"]


def test_server_refusals_are_shown(cli: TestClient, sqlite_deployment: Deployment) -> None:
    code, out = _run("delete", sqlite_deployment.setup.admin_user_id, "--yes")
    assert code == 1 and "owns the deployment" in out


def test_import_reports_each_row_and_is_all_or_nothing(
    cli: TestClient, sqlite_deployment: Deployment, tmp_path: Path
) -> None:
    org = sqlite_deployment.setup.organization_id
    bad = tmp_path / "users.csv"
    bad.write_text("username,random_password\nimp-one,true\nx\n")
    code, out = _run("import", str(bad), "--organization", org)
    assert code == 1 and "none was" in out
    assert "imp-one" in out and "3 to 64" in out  # the per-row table
    assert _usernames(cli) == ["pceadmin"]

    good = tmp_path / "users.json"
    good.write_text('[{"username": "imp-one", "random_password": true}, {"username": "imp-two"}]')
    code, out = _run("import", str(good), "--organization", org, "--dry-run")
    assert code == 0 and "Dry run: 2 would be created" in out
    assert _usernames(cli) == ["pceadmin"]
    code, out = _run("import", str(good), "--organization", org)
    assert code == 0 and "Created 2 users" in out and "shown this once" in out
    assert _usernames(cli) == ["imp-one", "imp-two", "pceadmin"]


def test_export_to_a_file_without_secrets(
    cli: TestClient, sqlite_deployment: Deployment, tmp_path: Path
) -> None:
    org = sqlite_deployment.setup.organization_id
    out_file = tmp_path / "users.csv"
    code, out = _run("export", "--organization", org, "--csv", "--output", str(out_file))
    assert code == 0, out
    text = out_file.read_text()
    assert text.startswith("id,organization_id,username,") and ",pceadmin," in text
    assert "argon2" not in text
    code, out = _run("export", "--organization", org)
    assert code == 0 and '"username": "pceadmin"' in out


def test_set_policies(cli: TestClient, sqlite_deployment: Deployment) -> None:
    org = sqlite_deployment.setup.organization_id
    created = cli.post("/v1/users", json={"organization_id": org, "username": "ana"}).json()
    code, out = _run("set-policies", created["id"], "pol-builtin-auditor", "pol-builtin-operator")
    assert code == 0, out
    assert cli.get(f"/v1/users/{created['id']}").json()["policies"] == [
        "pol-builtin-auditor",
        "pol-builtin-operator",
    ]
    code, out = _run("set-policies", created["id"])
    assert code == 1 and "--none" in out
    code, out = _run("set-policies", created["id"], "--none")
    assert code == 0 and cli.get(f"/v1/users/{created['id']}").json()["policies"] == []


def test_passwd_for_another_user_and_for_oneself(
    cli: TestClient, sqlite_deployment: Deployment, tmp_path: Path
) -> None:
    org = sqlite_deployment.setup.organization_id
    created = cli.post("/v1/users", json={"organization_id": org, "username": "ana"}).json()
    code, out = _run("passwd", created["id"], "--random-password", "--permanent")
    assert code == 0 and "shown this once" in out
    assert cli.get(f"/v1/users/{created['id']}").json()["temporary_password"] is False
    code, out = _run("passwd", created["id"], input=f"{PASSWORD}\n{PASSWORD}x\n")
    assert code == 1 and "differ" in out

    from tests.support.served_node import ADMIN_PASSWORD

    code, out = _run("passwd", input=f"{ADMIN_PASSWORD}\n{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, out
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as fresh:
        login(fresh, "pceadmin", PASSWORD)
