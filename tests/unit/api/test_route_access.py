"""Every route of the app, including routes added later: anonymous callers get 401 (except
the public routes listed here), and another tenant's objects are 404, never 403 or 200.

The routes are read from the app itself, so a new route is walked without anyone adding
it here. A route whose path parameter, required query parameter or body this module does
not know how to fill fails the test by name: whoever adds the route says here how to call
it, and so can't forget either guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cloudenv.store.tables import Task
from tests.conftest import Deployment, count_rows
from tests.support.routes import Endpoint, http_endpoints, other_routes, websocket_paths
from tests.unit.api.test_instances_api import deploy, deploy_body, upload

pytestmark = pytest.mark.unit

#: Answer without credentials, on purpose.
PUBLIC = {
    "GET /api/v1/healthcheck",  # load balancers and `cloudenv` probing a node
    "POST /api/v1/auth/login",
    "GET /api/v1/openapi.json",  # the contract client generators read
}
#: Streams, walked by their own tests (test_audit_and_events.py filters them per tenant).
STREAMS = {"GET /api/v1/events"}
#: Routes without path parameters whose body (or required query) names an object:
#: another tenant's is 404.
BODY_NAMES_AN_OBJECT = {
    "POST /api/v1/datacenters",
    "POST /api/v2/instances",
    "POST /api/v1/users",
    "POST /api/v1/users/import",
}


@dataclass(frozen=True)
class Objects:
    """One object of each kind, all of tenant A (the root organization)."""

    organization: str
    datacenter: str
    cluster: str
    node: str
    pool: str
    instance: str
    volume: str
    task: str
    device: str
    snapshot: str
    image: str
    user: str
    token: str

    def path_value(self, endpoint: Endpoint, param: str) -> str:
        """A's object for ``param`` of ``endpoint``; fails on a parameter it doesn't know."""
        by_name = {
            "organization_id": self.organization,
            "datacenter_id": self.datacenter,
            "cluster_id": self.cluster,
            "node_id": self.node,
            "instance_id": self.instance,
            "task_id": self.task,
            "target_id": self.instance,  # a filter of the task list
            "volume_id": self.volume,
            "storage_pool_id": self.pool,
            "user_id": self.user,
            "token_id": self.token,
        }
        if param in by_name:
            return by_name[param]
        named = {"devices": self.device, "snapshots": self.snapshot, "images": self.image}
        kind = endpoint.segments_before.get(param, "")
        if param == "name" and kind in named:
            return named[kind]
        pytest.fail(
            f"{endpoint}: no object to fill path parameter {{{param}}} with; add one of "
            f"tenant A's objects for it to Objects.path_value in {__name__}"
        )

    def query(self, endpoint: Endpoint) -> dict[str, str]:
        known = {
            "node_id": self.node,
            "storage_pool_id": self.pool,
            "confirm": "DESTROY",
            "name": "stolen.iso",
            "organization_id": self.organization,
        }
        missing = [q for q in endpoint.required_query if q not in known]
        if missing:
            pytest.fail(f"{endpoint}: no value for required query parameter(s) {missing}")
        return {q: known[q] for q in endpoint.query if q in known}

    def body(self, endpoint: Endpoint, dep: Deployment) -> dict[str, Any]:
        """Keyword arguments for the request: a valid body, so the reply is about access."""
        if endpoint.body is None:
            return {}
        if endpoint.body == "application/octet-stream":
            return {"content": b"x" * 4096}
        bodies: dict[str, Any] = {
            "POST /api/v1/auth/login": {"username": "pceadmin", "password": "wrong-Passw0rd"},
            "POST /api/v1/organizations": {"name": "stolen"},
            "PATCH /api/v1/organizations/{organization_id}": {"name": "stolen"},
            "PUT /api/v1/organizations/{organization_id}/quotas": {
                "vcpus": 0,
                "memory_mb": 0,
                "storage_gb": 0,
                "instances": 0,
            },
            "POST /api/v1/datacenters": {"name": "stolen", "organization_id": self.organization},
            "PATCH /api/v1/datacenters/{datacenter_id}": {"name": "stolen"},
            "PATCH /api/v1/clusters/{cluster_id}": {"name": "stolen"},
            "POST /api/v2/instances": deploy_body(dep, name="stolen"),
            "PATCH /api/v1/instances/{instance_id}": {"data": {"name": "stolen"}},
            "POST /api/v1/instances/{instance_id}/power": {"action": "kill"},
            "POST /api/v1/instances/{instance_id}/console": {},
            "POST /api/v1/nodes/{node_id}/console": {},
            "POST /api/v1/instances/{instance_id}/devices": {
                "name": "stolen",
                "type": 2,
                "metadata": {
                    "_type": "storage_volume",
                    "data": {"volume_id": self.volume, "bus": "virtio", "dev": "/dev/vdz"},
                },
            },
            "PATCH /api/v1/instances/{instance_id}/devices/{name}": {"description": "stolen"},
            "POST /api/v1/instances/{instance_id}/snapshots": {"name": "stolen"},
            "POST /api/v1/users": {"organization_id": self.organization, "username": "stolen"},
            "POST /api/v1/users/import": [{"username": "stolen"}],
            "PATCH /api/v1/users/{user_id}": {"description": "stolen"},
            "PUT /api/v1/users/{user_id}/policies": {"policy_ids": []},
            "POST /api/v1/auth/password": {
                "current_password": "wrong-Passw0rd",
                "new_password": "stolen-kettle-orbit",
            },
            "POST /api/v1/auth/mfa/confirm": {"code": "123456"},
            "POST /api/v1/auth/mfa/disable": {"password": "wrong-Passw0rd"},
            "POST /api/v1/users/{user_id}/tokens": {"name": "stolen"},
            "POST /api/v1/users/{user_id}/invalidate-sessions": {"invalidate_current": "true"},
            "PATCH /api/v1/organizations/{organization_id}/security": {"require_mfa": True},
        }
        if str(endpoint) not in bodies:
            pytest.fail(f"{endpoint}: takes a body; add a valid one to Objects.body")
        return {"json": bodies[str(endpoint)]}

    def call(self, client: TestClient, endpoint: Endpoint, dep: Deployment) -> httpx.Response:
        params = {p: self.path_value(endpoint, p) for p in endpoint.path_params}
        return client.request(
            endpoint.method,
            endpoint.url(params),
            params=self.query(endpoint),
            **self.body(endpoint, dep),
        )

    def ids(self) -> list[str]:
        return [v for k, v in vars(self).items() if k not in ("device", "snapshot", "image")]


@pytest.fixture
def objects(admin: TestClient, sqlite_deployment: Deployment) -> Objects:
    dep = sqlite_deployment
    upload(admin, dep, "guest.iso")
    instance = deploy(admin, dep, image="guest.iso")
    snapshot = admin.post(f"/api/v1/instances/{instance}/snapshots", json={"name": "snap-1"})
    assert snapshot.status_code == 202, snapshot.text
    dep.daemon.agent.run_pending()
    (volume,) = admin.get("/api/v1/volumes").json()
    setup = dep.setup
    token = admin.post(f"/api/v1/users/{setup.admin_user_id}/tokens", json={"name": "a"})
    assert token.status_code == 200, token.text
    return Objects(
        organization=setup.organization_id,
        datacenter=setup.datacenter_id,
        cluster=setup.cluster_id,
        node=setup.node_id,
        pool=setup.default_pool_id,
        instance=instance,
        volume=volume["id"],
        task=snapshot.json()["task_id"],
        device="disk0",
        snapshot="snap-1",
        image="guest.iso",
        user=setup.admin_user_id,
        token=token.json()["id"],
    )


@pytest.fixture
def endpoints(sqlite_deployment: Deployment) -> list[Endpoint]:
    found = http_endpoints(sqlite_deployment.daemon.app)
    names = {str(e) for e in found}
    assert names >= PUBLIC, f"public routes that no longer exist: {PUBLIC - names}"
    return found


def _state(admin: TestClient, dep: Deployment, objects: Objects) -> tuple[Any, ...]:
    """What another tenant or an anonymous caller must not change."""
    return (
        count_rows(dep, Task),
        admin.get(f"/api/v1/instances/{objects.instance}").json(),
        admin.get(f"/api/v1/instances/{objects.instance}/devices").json(),
        admin.get(f"/api/v1/instances/{objects.instance}/snapshots").json(),
        admin.get("/api/v1/organizations").json(),
        admin.get("/api/v1/users").json(),
    )


def test_anonymous_callers_get_401_on_every_route(
    anon: TestClient,
    admin: TestClient,
    sqlite_deployment: Deployment,
    objects: Objects,
    endpoints: list[Endpoint],
) -> None:
    dep = sqlite_deployment
    before = _state(admin, dep, objects)
    with TestClient(dep.daemon.app, base_url="https://testserver") as nobody:
        answers = {str(e): objects.call(nobody, e, dep) for e in endpoints if str(e) not in PUBLIC}
    wrong = {k: (r.status_code, r.text[:200]) for k, r in answers.items() if r.status_code != 401}
    assert not wrong, f"routes that answer anonymous callers with something else: {wrong}"
    assert all(r.json()["code"] == 401 for r in answers.values())
    assert _state(admin, dep, objects) == before


@pytest.mark.parametrize(
    "path", ["/api/v1/consoles/vnc", "/api/v1/consoles/serial", "/api/v1/consoles/shell"]
)
def test_console_websockets_close_4401_without_a_ticket(anon: TestClient, path: str) -> None:
    """Console WebSockets take no session but a single-use ticket that only
    POST .../console hands out (walked above); without one they close at once."""
    with anon.websocket_connect(path) as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_bytes()
    assert closed.value.code == 4401


def test_every_route_is_walked(sqlite_deployment: Deployment) -> None:
    """A new WebSocket route must be added to the test above, with its own guard; a mount
    (static files, another app) has no methods to walk, so it is named here on purpose."""
    app = sqlite_deployment.daemon.app
    assert sorted(websocket_paths(app)) == [
        "/api/v1/consoles/serial",
        "/api/v1/consoles/shell",
        "/api/v1/consoles/vnc",
    ]
    assert other_routes(app) == []


def test_another_tenants_objects_are_404_on_every_route(
    admin: TestClient,
    tenant: tuple[TestClient, str],
    sqlite_deployment: Deployment,
    objects: Objects,
    endpoints: list[Endpoint],
) -> None:
    dep = sqlite_deployment
    client, _ = tenant
    before = _state(admin, dep, objects)
    naming = [e for e in endpoints if e.path_params or str(e) in BODY_NAMES_AN_OBJECT]
    answers = {str(e): objects.call(client, e, dep) for e in naming}
    wrong = {k: (r.status_code, r.text[:200]) for k, r in answers.items() if r.status_code != 404}
    assert not wrong, f"routes that answer another tenant with something else: {wrong}"
    assert all(set(r.json()) == {"code", "message", "field"} for r in answers.values())
    assert _state(admin, dep, objects) == before


def test_lists_show_another_tenant_none_of_our_objects(
    admin: TestClient,
    tenant: tuple[TestClient, str],
    sqlite_deployment: Deployment,
    objects: Objects,
    endpoints: list[Endpoint],
) -> None:
    """Routes without path parameters, asked with our IDs as filters: nothing of ours."""
    client, _ = tenant
    reads = [
        e
        for e in endpoints
        if e.method == "GET" and not e.path_params and str(e) not in PUBLIC | STREAMS
    ]
    leaks = {}
    for endpoint in reads:
        ids = [q for q in endpoint.query if q.endswith("_id")]
        for filters in [{}, *({q: objects.path_value(endpoint, q)} for q in ids)]:
            response = client.get(endpoint.path, params=filters)
            assert response.status_code in (200, 400, 404), (str(endpoint), response.text)
            seen = [i for i in objects.ids() if i in response.text]
            if seen:
                leaks[f"{endpoint} {filters}"] = seen
    assert reads and not leaks, f"lists that show another tenant our objects: {leaks}"
