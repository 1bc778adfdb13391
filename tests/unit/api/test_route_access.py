"""Every operation of the app's OpenAPI document: anonymous callers get 401 (except the
public routes), and another tenant gets 404 for our objects, never 403 or 200, and finds
none of them in any list.

Operations are read from the app itself (``tests/support/walk.py``), so a new route is
walked without anyone adding it here. A route whose path parameter, required query
parameter or body the walk can't fill fails the test by name: whoever adds the route says
there how to call it, and so can't forget either guard. Policies within one's own
organization are test_isolation.py's.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cloudenv.store.tables import Task
from tests.conftest import Deployment, count_rows
from tests.support.routes import http_endpoints, other_routes, websocket_paths
from tests.support.walk import (
    PUBLIC,
    STREAMS,
    UNDOCUMENTED,
    Objects,
    Operation,
    components,
    make_objects,
    names_ids,
    operations,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def objects(admin: TestClient, sqlite_deployment: Deployment) -> Objects:
    return make_objects(admin, sqlite_deployment)


@pytest.fixture
def walked(sqlite_deployment: Deployment) -> list[Operation]:
    found = operations(sqlite_deployment.daemon.app)
    names = {str(o) for o in found}
    public = PUBLIC - UNDOCUMENTED
    assert names >= public, f"public routes that no longer exist: {public - names}"
    return found


def _state(admin: TestClient, dep: Deployment, objects: Objects) -> tuple[Any, ...]:
    """What another tenant or an anonymous caller must not change."""
    return (
        count_rows(dep, Task),
        admin.get(f"/api/v1/instances/{objects.instance}").json(),
        admin.get(f"/api/v1/instances/{objects.instance}/devices").json(),
        admin.get(f"/api/v1/instances/{objects.instance}/snapshots").json(),
        admin.get("/api/v1/organizations").json(),
        admin.get(f"/api/v1/policies/{objects.policy}").json(),
        admin.get("/api/v1/users").json(),
        admin.get(f"/api/v1/nodes/{objects.node}/license").json(),
        admin.get("/api/v1/license_issuers").json(),
    )


def test_every_route_is_in_the_document(sqlite_deployment: Deployment) -> None:
    """The walks read the OpenAPI document: a route hidden from it would go unwalked."""
    app = sqlite_deployment.daemon.app
    documented = {str(o) for o in operations(app)}
    routes = {str(e) for e in http_endpoints(app)}
    assert routes - UNDOCUMENTED == documented, routes ^ documented


def test_anonymous_callers_get_401_on_every_route(
    admin: TestClient, sqlite_deployment: Deployment, objects: Objects, walked: list[Operation]
) -> None:
    dep = sqlite_deployment
    schemas = components(dep.daemon.app)
    before = _state(admin, dep, objects)
    with TestClient(dep.daemon.app, base_url="https://testserver") as nobody:
        answers = {
            str(o): objects.call(nobody, o, dep, schemas) for o in walked if str(o) not in PUBLIC
        }
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


def _names_an_object(operation: Operation, schemas: dict[str, Any]) -> bool:
    """Whether the call names one of A's objects: in its path, or an organization or
    object in the query or body of a change (a datacenter created in A, a deploy to A's
    node). Self-service changes (one's own password, second factor, session) name none."""
    if operation.path_params:
        return True
    return operation.mutating and (
        "organization_id" in operation.query or names_ids(operation.body_schema, schemas)
    )


def test_another_tenants_objects_are_404_on_every_route(
    admin: TestClient,
    tenant: tuple[TestClient, str],
    sqlite_deployment: Deployment,
    objects: Objects,
    walked: list[Operation],
) -> None:
    dep = sqlite_deployment
    schemas = components(dep.daemon.app)
    client, _ = tenant
    before = _state(admin, dep, objects)
    naming = [o for o in walked if o.signed_in and _names_an_object(o, schemas)]
    answers = {str(o): objects.call(client, o, dep, schemas) for o in naming}
    wrong = {k: (r.status_code, r.text[:200]) for k, r in answers.items() if r.status_code != 404}
    assert not wrong, f"routes that answer another tenant with something else: {wrong}"
    assert all(set(r.json()) <= {"code", "message", "field"} for r in answers.values())
    assert _state(admin, dep, objects) == before


def test_lists_show_another_tenant_none_of_our_objects(
    tenant: tuple[TestClient, str],
    sqlite_deployment: Deployment,
    objects: Objects,
    walked: list[Operation],
) -> None:
    """Reads without path parameters, asked with our IDs as filters, and reads of the
    tenant's own organization (its audit, say): nothing of ours."""
    client, own_org = tenant
    reads = [
        o
        for o in walked
        if o.method == "GET" and o.signed_in and str(o) not in STREAMS and not o.path_params
    ]
    own = [o for o in walked if o.method == "GET" and o.path_params == ["organization_id"]]
    leaks = {}
    for operation in reads:
        ids = [q for q in operation.query if q.endswith("_id")]
        for filters in [{}, *({q: objects.path_value(operation, q)} for q in ids)]:
            response = client.get(operation.path, params=filters)
            assert response.status_code in (200, 400, 404), (str(operation), response.text)
            if response.status_code != 200:
                continue  # a refusal may name the ID the caller gave; it shows nothing of ours
            seen = [i for i in objects.ids() if i in response.text]
            if seen:
                leaks[f"{operation} {filters}"] = seen
    for operation in own:
        response = client.get(operation.url({"organization_id": own_org}))
        assert response.status_code == 200, (str(operation), response.text)
        seen = [i for i in objects.ids() if i in response.text]
        if seen:
            leaks[f"{operation} (their own organization)"] = seen
    assert reads and own and not leaks, f"lists that show another tenant our objects: {leaks}"
