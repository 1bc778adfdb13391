"""``cloudenv volume``, against a real app on the fake drivers: create, list, show, resize,
destroy (which asks for DESTROY), and the server's refusal shown as it is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv.cli import client as cli_client
from cloudenv.cli.client import ApiClient
from cloudenv.cli.main import app
from tests.conftest import Deployment
from tests.support.served_node import ADMIN_PASSWORD
from tests.unit.api.test_volumes_api import ready

pytestmark = pytest.mark.unit
runner = CliRunner()


@pytest.fixture
def dep(sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """Signed in as the administrator; a task the CLI waits for is run by the agent then."""
    dep = sqlite_deployment
    ready(dep)
    with TestClient(dep.daemon.app, base_url="https://testserver/api") as http:
        token = http.post(
            "/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
        ).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        client = object.__new__(ApiClient)
        client.http = http

        def wait_task(self: ApiClient, task_id: str, timeout: float = 0) -> dict[str, Any]:
            dep.daemon.agent.run_pending()
            task: dict[str, Any] = self.get(f"/v1/tasks/{task_id}")
            if task["status"] != "succeeded":
                cli_client.fail(f"Task {task_id} {task['status']}: {task['message']}")
            return task

        monkeypatch.setattr(cli_client.ApiClient, "from_login", classmethod(lambda cls: client))
        monkeypatch.setattr(cli_client.ApiClient, "wait_task", wait_task)
        yield dep


def invoke(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, ["volume", *args], input=stdin)


def test_create_list_show_resize_destroy(dep: Deployment) -> None:
    created = invoke("create", "data-1", "--size", "2", "--description", "scratch")
    assert created.exit_code == 0, created.output
    assert "is available" in created.output
    (volume,) = json.loads(invoke("list", "--json").output)
    volume_id = volume["id"]
    assert (volume["name"], volume["size"], volume["status"]) == ("data-1", 2, 1)
    table = invoke("list", "--pool", dep.setup.default_pool_id)
    assert "data-1" in table.output and "available" in table.output
    shown = invoke("show", volume_id)
    assert "scratch" in shown.output and "qcow2" in shown.output
    grown = invoke("resize", volume_id, "--delta", "1.5")
    assert grown.exit_code == 0, grown.output
    assert f"Volume {volume_id} is now 3.5 GB." in grown.output
    kept = invoke("destroy", volume_id, stdin="destroy\n")
    assert kept.exit_code == 1 and "nothing was changed" in kept.output
    gone = invoke("destroy", volume_id, stdin="DESTROY\n")
    assert gone.exit_code == 0, gone.output
    assert json.loads(invoke("list", "--json").output) == []


def test_a_refusal_shows_the_server_s_message(dep: Deployment) -> None:
    result = invoke("create", "data-1", "--size", "1", "--driver", "vmdk")
    assert result.exit_code == 1
    assert "Volume format 'vmdk' can't be created; use qcow2 or raw" in result.output
    result = invoke("resize", "vol-none", "--delta", "0")
    assert result.exit_code == 1 and "Not sent: delta_gb" in result.output
