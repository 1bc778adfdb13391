"""The OpenAPI document declares, on every operation, the errors it answers, with the one
ErrorBody schema: provoked errors on every route (anonymous, missing object, bad body,
oversized body) are checked against the document, so client generators and fuzzers see
the real contract."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.api.event_feed import STREAMS_PER_USER, feed_for
from cloudenv.services import auth
from cloudenv.store.engine import transaction
from tests.conftest import ADMIN_PASSWORD, Deployment
from tests.unit.api.contract import Operation, minimal, operations

pytestmark = pytest.mark.unit

ERROR_REF = "#/components/schemas/ErrorBody"
PUBLIC = {"GET /api/v1/healthcheck", "POST /api/v1/auth/login"}


def _send(client: TestClient, op: Operation, body: Any = None, content: bytes | None = None) -> int:
    response = client.request(
        op.method.upper(),
        op.concrete_path,
        params=op.required_query,
        json=body if content is None else None,
        content=content,
        headers={"content-type": "application/json"} if content is not None else None,
    )
    assert set(response.json()) <= {"code", "message", "field"} or response.status_code < 400
    return response.status_code


def test_every_error_response_uses_the_shared_error_schema(anon: TestClient) -> None:
    document = anon.get("/api/v1/openapi.json").json()
    # details: per-row outcomes of a refused import (POST /v1/users/import).
    assert set(document["components"]["schemas"]["ErrorBody"]["properties"]) == {
        "code",
        "message",
        "field",
        "details",
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for op in operations(document):
        errors = {s: r for s, r in op.spec["responses"].items() if int(s) >= 400}
        assert "422" not in errors, op
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (str(op), status)
        if str(op) not in PUBLIC:
            assert 401 in op.declared, op


def test_errors_provoked_on_every_route_are_declared(admin: TestClient) -> None:
    """Anonymous → 401, a missing object → 404, a bad body → 400, a 2 MiB body → 413, and
    each status answered is one the document declares for that operation."""
    document = admin.get("/api/v1/openapi.json").json()
    anon, admin_token = admin, admin.headers.pop("Authorization")
    anon.cookies.clear()  # the session cookie set at sign-in
    checked: dict[str, set[int]] = {}
    for op in operations(document):
        seen = checked.setdefault(str(op), set())
        body = minimal(document, op.json_body) if op.json_body else None
        if str(op) not in PUBLIC:
            status = _send(anon, op, body)
            assert status == 401, (str(op), status)
            seen.add(status)
        anon.headers["Authorization"] = admin_token
        try:
            if "{" in op.path:
                status = _send(anon, op, body)
                assert status in (400, 404), (str(op), status)
                seen.add(status)
            if op.json_body:
                status = _send(anon, op, content=b"[1, 2]")
                assert status == 400, (str(op), status)
                seen.add(status)
                status = _send(anon, op, content=b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}')
                assert status == 413, (str(op), status)
                seen.add(status)
        finally:
            del anon.headers["Authorization"]
        assert seen <= op.declared, (str(op), seen - op.declared)
    assert any(404 in seen for seen in checked.values())
    assert len(checked) >= 40


def test_limits_a_route_answers_beyond_its_shape_are_declared(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """The event stream refuses a user's ninth stream (429) and a bad cursor (400); both
    are statuses its shape doesn't show, so the route declares them itself."""
    document = admin.get("/api/v1/openapi.json").json()
    stream = next(op for op in operations(document) if str(op) == "GET /api/v1/events")
    app = sqlite_deployment.daemon.app
    with transaction(sqlite_deployment.factory) as db:
        login = auth.login(db, "pceadmin", ADMIN_PASSWORD, session_hours=1)
    feed = feed_for(app.state, sqlite_deployment.factory)
    loop = asyncio.new_event_loop()
    held = [feed.reserve(loop, login.principal, login.token) for _ in range(STREAMS_PER_USER)]
    try:
        refused = admin.get("/api/v1/events", params={"timeout": 0.1})
    finally:
        for subscription in held:
            feed.unsubscribe(subscription)
        loop.close()
    assert refused.status_code == 429, refused.text
    assert set(refused.json()) <= {"code", "message", "field"}
    bad_cursor = admin.get("/api/v1/events", params={"since": "x" * 20, "timeout": 0.1})
    assert bad_cursor.status_code == 400, bad_cursor.text
    assert {400, 429} <= stream.declared, stream.declared
    schema = stream.spec["responses"]["429"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": ERROR_REF}
