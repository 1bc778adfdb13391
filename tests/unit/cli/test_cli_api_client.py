"""The CLI as an API client: bodies built and checked by the API's own schemas (defaults
written once, there), path segments and query strings encoded by httpx, one confirmation
for every destructive command, and tasks followed on ``/api/v1/events``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv.api.schemas.compute import InstanceDeploy, LxcMetadata, QemuMetadata
from cloudenv.cli import client as cli_client
from cloudenv.cli.client import ApiClient
from cloudenv.cli.main import app
from cloudenv.services import tasks
from cloudenv.store.engine import transaction
from tests.conftest import Deployment

pytestmark = pytest.mark.unit
runner = CliRunner()

TASK = {
    "id": "task-1",
    "kind": "instance.destroy",
    "status": "succeeded",
    "progress": 100,
    "message": "",
    "log": [],
    "target_id": "inst-1",
}


class FakeNode:
    """Answers the CLI's requests like a node would, and records them."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v1/healthcheck":
            return httpx.Response(200, json={"id": "node-x"})
        if path.endswith("/storage/pools"):
            return httpx.Response(200, json=[{"id": "pool-1"}])
        if path == "/api/v1/events":
            return httpx.Response(
                200, text=": connected\n\n", headers={"content-type": "text/event-stream"}
            )
        if path.startswith("/api/v1/tasks/"):
            return httpx.Response(200, json=TASK)
        if request.method in ("POST", "DELETE") and "/auth/" not in path:
            return httpx.Response(
                202 if request.method == "DELETE" else 200, json={"task_id": "task-1", "id": "x-1"}
            )
        return httpx.Response(404, json={"code": 404, "message": f"no {path}"})

    def sent(self, method: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method]


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch) -> FakeNode:
    fake = FakeNode()
    http = httpx.Client(transport=httpx.MockTransport(fake), base_url="https://node/api")
    monkeypatch.setattr(cli_client.ApiClient, "from_login", classmethod(lambda cls: _over(http)))
    return fake


def _over(http: httpx.Client) -> ApiClient:
    """An ApiClient talking through ``http`` (however its constructor connects)."""
    client = object.__new__(ApiClient)
    client.http = http
    return client


def test_deploy_takes_its_defaults_from_the_api_schema(node: FakeNode) -> None:
    """Unset options are left to the API's schema: the body the server reads gets the
    schema's memory and firmware, not a second copy of them in the CLI."""
    result = runner.invoke(app, ["instance", "deploy", "web-1", "--no-wait"])
    assert result.exit_code == 0, result.output
    (post,) = node.sent("POST")
    body = json.loads(post.content)
    parsed = InstanceDeploy.model_validate(body)
    assert parsed.memory == InstanceDeploy.model_fields["memory"].default
    assert isinstance(parsed.metadata, QemuMetadata)
    assert parsed.metadata.firmware == QemuMetadata.model_fields["firmware"].default
    assert parsed.metadata.new_volumes[0].storage_pool_id == "pool-1"
    assert parsed.destination.node_id == "node-x"


def test_a_container_deploy_sends_a_type_1_body_without_volumes(node: FakeNode) -> None:
    result = runner.invoke(
        app, ["instance", "deploy", "ct-1", "--container", "busybox.tar", "--no-wait"]
    )
    assert result.exit_code == 0, result.output
    (post,) = node.sent("POST")
    parsed = InstanceDeploy.model_validate(json.loads(post.content))
    assert (parsed.type, parsed.image) == (1, "busybox.tar")
    assert isinstance(parsed.metadata, LxcMetadata) and not parsed.metadata.privileged
    refused = runner.invoke(app, ["instance", "deploy", "ct-2", "--container", "b", "--iso", "x"])
    assert refused.exit_code == 1 and "leave --iso" in refused.output


def test_bad_values_are_refused_before_anything_is_sent(node: FakeNode) -> None:
    result = runner.invoke(
        app, ["datacenter", "create", "dc-1", "--organization", "org-1", "--latitude", "200"]
    )
    assert result.exit_code == 1
    assert "latitude" in result.output
    assert node.sent("POST") == []


def test_names_stay_one_path_segment(node: FakeNode) -> None:
    result = runner.invoke(app, ["image", "delete", "a?b#c", "--node", "node-x", "--yes"])
    assert result.exit_code == 0, result.output
    (delete,) = node.sent("DELETE")
    assert delete.url.raw_path == b"/api/v1/nodes/node-x/images/images/a%3Fb%23c"


def test_instance_destroy_sends_its_query_as_parameters(node: FakeNode) -> None:
    result = runner.invoke(app, ["instance", "destroy", "inst-1", "--volumes"], input="DESTROY\n")
    assert result.exit_code == 0, result.output
    (delete,) = node.sent("DELETE")
    assert delete.url.path == "/api/v1/instances/inst-1"
    assert dict(delete.url.params) == {"confirm": "DESTROY", "destroy_volumes": "true"}


DESTRUCTIVE = [
    ["org", "delete", "org-1"],
    ["datacenter", "delete", "dc-1"],
    ["instance", "destroy", "inst-1"],
    ["instance", "snapshot", "delete", "inst-1", "snap-1"],
    ["image", "delete", "disk.qcow2", "--node", "node-x"],
    ["policy", "delete", "pol-1"],
]


@pytest.mark.parametrize("command", DESTRUCTIVE, ids=lambda c: "-".join(c[:2]))
def test_destructive_commands_ask_one_way(node: FakeNode, command: list[str]) -> None:
    """Every destructive command asks for DESTROY the same way: a wrong word says so and
    sends nothing, the word sends the DELETE, --yes skips the question."""
    refused = runner.invoke(app, command, input="destroy\n")
    assert refused.exit_code == 1
    assert "Type DESTROY to" in refused.output
    assert "Not confirmed" in refused.output and "nothing was changed" in refused.output
    assert node.sent("DELETE") == []
    confirmed = runner.invoke(app, command, input="DESTROY\n")
    assert confirmed.exit_code == 0, confirmed.output
    skipped = runner.invoke(app, [*command, "--yes"])
    assert skipped.exit_code == 0, skipped.output
    assert len(node.sent("DELETE")) == 2


@pytest.fixture
def served(sqlite_deployment: Deployment) -> Iterator[str]:
    """The deployment's app on a real local HTTP server (streams need a real server)."""
    config = uvicorn.Config(
        sqlite_deployment.daemon.app, host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _later(*steps: tuple[float, Callable[[], None]]) -> threading.Thread:
    def run() -> None:
        for delay, step in steps:
            time.sleep(delay)
            step()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_waiting_on_a_task_follows_events(
    served: str, admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """A task that runs for two seconds is followed on the events stream: its task is read
    once when the stream connects and once at the end, never polled."""
    node_id = sqlite_deployment.setup.node_id
    task_id = admin.post(f"/api/v1/nodes/{node_id}/facts/refresh").json()["task_id"]
    factory = sqlite_deployment.factory

    def step(**changes: Any) -> Callable[[], None]:
        def apply() -> None:
            with transaction(factory) as db:
                if "error" in changes:
                    tasks.finish(db, task_id, error=changes["error"] or None)
                else:
                    tasks.report(db, task_id, progress=changes["progress"])

        return apply

    runner_thread = _later((1.0, step(progress=40)), (1.0, step(error="")))
    seen: list[str] = []
    http = httpx.Client(
        base_url=served + "/api",
        headers={"Authorization": admin.headers["Authorization"]},
        event_hooks={"request": [lambda r: seen.append(f"{r.method} {r.url.path}")]},
    )
    task = _over(http).wait_task(task_id, timeout=20)
    runner_thread.join()
    assert task["status"] == "succeeded" and task["progress"] == 100
    assert seen.count(f"GET /api/v1/tasks/{task_id}") <= 2, seen
    assert "GET /api/v1/events" in seen
