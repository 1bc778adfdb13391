"""Every mutating call leaves an audit row, refused ones too; the event stream carries
changes, filtered to what the caller may see."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Deployment, audit_rows
from tests.support.routes import http_endpoints

pytestmark = pytest.mark.unit


def test_successful_changes_are_audited(admin: TestClient, sqlite_deployment: Deployment) -> None:
    org_id = admin.post("/api/v1/organizations", json={"name": "audited"}).json()["id"]
    dc_id = admin.post(
        "/api/v1/datacenters", json={"name": "dc-a", "organization_id": org_id}
    ).json()["id"]
    admin.patch(f"/api/v1/datacenters/{dc_id}", json={"description": "x"})
    admin.delete(f"/api/v1/datacenters/{dc_id}")
    rows = [(r.action, r.target_id, r.outcome, r.username) for r in audit_rows(sqlite_deployment)]
    for action, target in [
        ("organization.create", org_id),
        ("datacenter.create", dc_id),
        ("datacenter.update", dc_id),
        ("datacenter.delete", dc_id),
    ]:
        assert (action, target, "success", "pceadmin") in rows


def test_refused_changes_are_audited(
    admin: TestClient, anon: TestClient, sqlite_deployment: Deployment
) -> None:
    dc_id = sqlite_deployment.setup.datacenter_id
    admin.delete(f"/api/v1/datacenters/{dc_id}")  # 409: it has a cluster
    failed = [r for r in audit_rows(sqlite_deployment) if r.outcome == "failure"]
    assert any(
        r.action == "datacenter.delete"
        and r.target_id == dc_id
        and r.status_code == 409
        and "cluster" in r.message
        and r.username == "pceadmin"
        for r in failed
    )


def test_refusals_are_audited_off_the_event_loop(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit row of a refused call is written on a worker thread (a slow database must
    not hold every request and stream of the process), and before the reply is sent."""
    from cloudenv.services import audit

    on_loop: list[tuple[str, bool]] = []
    record = audit.record

    def noting_the_thread(*args: Any, **kwargs: Any) -> None:
        try:
            asyncio.get_running_loop()
            on_loop.append((args[2], True))
        except RuntimeError:
            on_loop.append((args[2], False))
        record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", noting_the_thread)
    dc_id = sqlite_deployment.setup.datacenter_id
    assert admin.delete(f"/api/v1/datacenters/{dc_id}").status_code == 409
    assert admin.post("/api/v1/datacenters", content=b"[1]").status_code == 400
    assert ("datacenter.delete", False) in on_loop and ("datacenter.create", False) in on_loop
    assert not any(loop for _, loop in on_loop), on_loop
    failed = [r.action for r in audit_rows(sqlite_deployment) if r.outcome == "failure"]
    assert failed[-2:] == ["datacenter.delete", "datacenter.create"]


def test_anonymous_attempts_are_audited(sqlite_deployment: Deployment) -> None:
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as client:
        client.post("/api/v1/organizations", json={"name": "sneaky"})
    rows = [r for r in audit_rows(sqlite_deployment) if r.action == "organization.create"]
    assert rows[-1].outcome == "failure" and rows[-1].status_code == 401
    assert rows[-1].user_id is None


def test_every_mutating_route_has_an_audit_name(sqlite_deployment: Deployment) -> None:
    """Audit rows are named after routes; an unnamed mutating route would be unreadable."""
    mutating = [
        e
        for e in http_endpoints(sqlite_deployment.daemon.app)
        if e.method in {"POST", "PATCH", "PUT", "DELETE"}
    ]
    assert len(mutating) > 10  # app.routes alone lists only the included routers
    for endpoint in mutating:
        assert "." in endpoint.name, str(endpoint)


def _events(client: TestClient, since: int = 0) -> list[dict]:
    with client.stream("GET", f"/api/v1/events?since={since}&timeout=0.6") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    return [
        json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data: ")
    ]


def test_events_stream_changes(admin: TestClient) -> None:
    dc = admin.post(
        "/api/v1/datacenters",
        json={
            "name": "streamed",
            "organization_id": admin.get("/api/v1/organizations").json()[0]["organization"]["id"],
        },
    ).json()
    kinds = {(e["kind"], e["target_id"]) for e in _events(admin)}
    assert ("datacenter.created", dc["id"]) in kinds


def test_events_are_filtered_per_tenant(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    client, org_id = tenant
    root_dc = admin.post(
        "/api/v1/datacenters",
        json={"name": "secret", "organization_id": sqlite_deployment.setup.organization_id},
    ).json()
    own_dc = client.post(
        "/api/v1/datacenters", json={"name": "mine", "organization_id": org_id}
    ).json()
    seen = _events(client)
    assert {e["organization_id"] for e in seen} == {org_id}
    targets = {e["target_id"] for e in seen}
    assert own_dc["id"] in targets and root_dc["id"] not in targets
    assert root_dc["id"] in {e["target_id"] for e in _events(admin)}


def test_events_resume_after_an_id(admin: TestClient, sqlite_deployment: Deployment) -> None:
    org = sqlite_deployment.setup.organization_id
    admin.post("/api/v1/datacenters", json={"name": "first", "organization_id": org})
    last = _events(admin)[-1]["id"]
    second = admin.post(
        "/api/v1/datacenters", json={"name": "second", "organization_id": org}
    ).json()
    later = _events(admin, since=last)
    assert [e["target_id"] for e in later] == [second["id"]]


def test_events_require_sign_in(anon: TestClient) -> None:
    assert anon.get("/api/v1/events?timeout=0.1").status_code == 401
