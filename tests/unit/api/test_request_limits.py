"""Bodies after authentication: credentials are checked before a byte of the body is read,
bodies past 1 MiB are refused with 413 (the streamed image upload excepted), and refused
anonymous requests are counted and summarised, never written one audit row each."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, Deployment, audit_rows

pytestmark = pytest.mark.unit

TWO_MB = b'{"name": "' + b"a" * (2 * 1024 * 1024) + b'"}'


def _call(
    app: FastAPI, method: str, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[str, Any], int]:
    """Run one request through the ASGI app; returns (status, JSON body, body chunks the
    app asked for)."""
    pulled = 0
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.7", 40000),
        "server": ("testserver", 443),
    }

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": True}
        await asyncio.sleep(3600)  # a client that never sends the rest
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), pulled


def _token(anon: TestClient) -> str:
    response = anon.post(
        "/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
    )
    return str(response.json()["token"])


def test_anonymous_and_invalid_credentials_are_refused_before_the_body_is_read(
    sqlite_deployment: Deployment,
) -> None:
    app = sqlite_deployment.daemon.app
    length = {"content-type": "application/json", "content-length": str(len(TWO_MB))}
    for credentials in ({}, {"authorization": "Bearer not-a-session"}):
        status, body, pulled = _call(
            app, "POST", "/api/v1/organizations", {**length, **credentials}, [TWO_MB]
        )
        assert (status, body["code"], pulled) == (401, 401, 0), body
    # Chunked, with no Content-Length: still not one chunk read.
    status, _, pulled = _call(
        app, "POST", "/api/v1/organizations", {"transfer-encoding": "chunked"}, [TWO_MB]
    )
    assert (status, pulled) == (401, 0)


def test_an_oversized_body_is_refused_with_413(
    anon: TestClient, sqlite_deployment: Deployment
) -> None:
    app = sqlite_deployment.daemon.app
    signed_in = {"authorization": f"Bearer {_token(anon)}", "content-type": "application/json"}
    declared = {**signed_in, "content-length": str(len(TWO_MB))}
    status, body, pulled = _call(app, "POST", "/api/v1/organizations", declared, [TWO_MB])
    assert (status, pulled) == (413, 0)
    assert body["code"] == 413 and "1024 KiB" in body["message"]
    # Without Content-Length the body is read only until it passes the limit.
    chunk = b" " * (256 * 1024)
    status, body, pulled = _call(app, "POST", "/api/v1/organizations", signed_in, [chunk] * 8)
    assert (status, body["code"]) == (413, 413)
    assert pulled == 5
    # Through a client, with the usual error body.
    anon.headers["Authorization"] = signed_in["authorization"]
    response = anon.post(
        "/api/v1/organizations", content=TWO_MB, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert set(response.json()) == {"code", "message"}


def test_the_streamed_image_upload_is_exempt(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    response = admin.post(
        f"/api/v1/nodes/{sqlite_deployment.setup.node_id}/images/images",
        params={"storage_pool_id": sqlite_deployment.setup.default_pool_id, "name": "big.iso"},
        content=b"\0" * (3 * 1024 * 1024),
    )
    assert response.status_code == 202, response.text


def test_anonymous_refusals_are_counted_and_summarised(sqlite_deployment: Deployment) -> None:
    app = sqlite_deployment.daemon.app
    before = len(audit_rows(sqlite_deployment))
    with TestClient(app, base_url="https://testserver") as client:
        for n in range(50):
            client.post("/api/v1/organizations", json={"name": f"sneaky-{n}"})
        client.post("/api/v1/datacenters", json={}, headers={"Authorization": "Bearer nope"})
        assert len(audit_rows(sqlite_deployment)) == before  # nothing written per request
        assert app.state.refusals.flush(sqlite_deployment.factory) == 2
    rows = audit_rows(sqlite_deployment)[before:]
    assert len(rows) == 2
    orgs = next(r for r in rows if r.action == "organization.create")
    assert (orgs.outcome, orgs.status_code, orgs.user_id) == ("failure", 401, None)
    assert orgs.message.startswith("50 anonymous request(s) refused with 401")
    assert orgs.source_address == "testclient"
    datacenters = next(r for r in rows if r.action == "datacenter.create")
    assert datacenters.message.startswith("1 anonymous request(s)")
    assert "not valid" in datacenters.message


def test_the_counter_is_bounded() -> None:
    from cloudenv.api.refusals import OTHER_SOURCES, RefusalCounter

    counter = RefusalCounter(max_keys=10)
    for n in range(1000):
        counter.count(f"198.51.100.{n}", "organization.create", 401, "Sign in first.")
    summaries = counter.drain()
    assert len(summaries) == 11
    assert sum(s.count for s in summaries) == 1000
    assert next(s for s in summaries if s.source_address == OTHER_SOURCES).count == 990
    assert counter.drain() == []


def test_anonymous_refusals_stay_bounded_whatever_the_paths_and_addresses(
    sqlite_deployment: Deployment,
) -> None:
    """Unrouted paths are one action, and once the tally is full every new refusal joins
    one overflow key: memory and rows per flush don't grow with distinct requests."""
    from cloudenv.api.refusals import OTHER_SOURCES, RefusalCounter

    app = sqlite_deployment.daemon.app
    app.state.refusals = counter = RefusalCounter(max_keys=16)
    addresses = iter(f"198.51.{n // 250}.{n % 250}" for n in range(10_000))

    async def from_many_addresses(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["client"] = (next(addresses), 40000)
        await app(scope, receive, send)

    client = TestClient(from_many_addresses, base_url="https://testserver")
    requests = 0
    for n in range(150):
        assert client.get(f"/api/v1/nope-{n}").status_code == 401
        assert client.put(f"/nope-{n}").status_code == 405  # the web UI's paths: GET only
        assert client.post("/api/v1/organizations", json={}).status_code == 401
        requests += 3
    assert len(counter) <= 17
    before = len(audit_rows(sqlite_deployment))
    written = counter.flush(sqlite_deployment.factory)
    rows = audit_rows(sqlite_deployment)[before:]
    assert written == len(rows) <= 17
    assert sum(int(r.message.split(" ", 1)[0]) for r in rows) == requests
    overflow = [r for r in rows if r.source_address == OTHER_SOURCES]
    assert len(overflow) == 1
    assert "401" in overflow[0].message and "405" in overflow[0].message
    assert not any("nope" in r.action for r in rows)
