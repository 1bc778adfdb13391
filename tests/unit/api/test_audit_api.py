"""The organization's audit trail over HTTP: filters, paging with the total in a header,
CSV that a spreadsheet can't run, one tenant's trail invisible to another, no route that
changes or deletes an entry, and the retention purge that bounds the table."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from cloudenv import clock
from cloudenv.api.schemas.iam_audit import AuditEntry
from cloudenv.services import audit
from cloudenv.store.engine import transaction
from cloudenv.store.tables import AuditRecord
from tests.conftest import TENANT_PASSWORD, Deployment, audit_rows, login
from tests.support.routes import http_endpoints
from tests.support.served_node import ADMIN_PASSWORD

pytestmark = pytest.mark.unit

FIELDS = [
    "id",
    "time",
    "organization_id",
    "user_id",
    "username",
    "action",
    "target_id",
    "outcome",
    "status_code",
    "message",
    "source_address",
]


def _trail(client: TestClient, org_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/organizations/{org_id}/audit", params=params)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def _add_rows(dep: Deployment, org_id: str | None, *rows: tuple[str, datetime]) -> None:
    """Rows as a service would write them, at chosen times (action, time)."""
    with transaction(dep.factory) as db:
        for action, time in rows:
            db.add(
                AuditRecord(
                    time=time,
                    organization_id=org_id,
                    user_id=None,
                    username="someone",
                    action=action,
                    target_id="obj-1",
                    outcome="success",
                    status_code=200,
                    message="",
                    source_address="10.0.0.9",
                )
            )


def _datacenters(admin: TestClient, org_id: str) -> str:
    """Create, edit and delete a datacenter: three audited changes; returns its ID."""
    dc_id = admin.post("/api/v1/datacenters", json={"name": "dc-x", "organization_id": org_id})
    assert dc_id.status_code == 200, dc_id.text
    created = dc_id.json()["id"]
    assert admin.patch(f"/api/v1/datacenters/{created}", json={"description": "x"}).is_success
    assert admin.delete(f"/api/v1/datacenters/{created}").is_success
    return str(created)


def test_entries_have_the_fixed_shape_newest_first(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org_id = sqlite_deployment.setup.organization_id
    dc_id = _datacenters(admin, org_id)
    response = admin.get(f"/api/v1/organizations/{org_id}/audit")
    assert response.status_code == 200
    entries = response.json()
    assert isinstance(entries, list) and entries
    assert all(list(e) == FIELDS for e in entries)
    TypeAdapter(list[AuditEntry]).validate_python(entries)
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert [(e["action"], e["target_id"]) for e in entries[:3]] == [
        ("datacenter.delete", dc_id),
        ("datacenter.update", dc_id),
        ("datacenter.create", dc_id),
    ]
    newest = entries[0]
    assert (newest["username"], newest["outcome"], newest["status_code"]) == (
        "pceadmin",
        "success",
        200,
    )
    assert newest["organization_id"] == org_id and newest["source_address"]
    assert response.headers["X-Total-Count"] == str(len(entries))


def test_filters(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    dc_id = _datacenters(admin, org_id)
    other_dc = admin.post("/api/v1/datacenters", json={"name": "dc-y", "organization_id": org_id})
    other_id = other_dc.json()["id"]
    # A family must not treat '_' as a wildcard: a_b.* matches a_b.c, never axb.c.
    day = datetime(2020, 1, 1, tzinfo=UTC)
    _add_rows(dep, org_id, ("a_b.c", day), ("axb.c", day))

    def actions(**params: Any) -> list[str]:
        return [e["action"] for e in _trail(admin, org_id, entries=5000, **params)]

    assert actions(action="datacenter.update") == ["datacenter.update"]
    assert actions(action="datacenter.*") == [
        "datacenter.create",
        "datacenter.delete",
        "datacenter.update",
        "datacenter.create",
    ]
    assert actions(action="a_b.*") == ["a_b.c"]
    assert actions(action="*") == actions()
    assert actions(target_id=dc_id) == [
        "datacenter.delete",
        "datacenter.update",
        "datacenter.create",
    ]
    assert actions(target_id=other_id) == ["datacenter.create"]
    mine = _trail(admin, org_id, entries=5000, user_id=dep.setup.admin_user_id)
    assert mine and all(e["username"] == "pceadmin" for e in mine)
    assert "a_b.c" not in [e["action"] for e in mine]  # written with no user
    assert actions(user_id="usr-nobody") == []


def test_time_window(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    days = [datetime(2020, 1, d, 12, tzinfo=UTC) for d in (1, 2, 3)]
    _add_rows(dep, org_id, *((f"test.day{i + 1}", d) for i, d in enumerate(days)))

    def actions(**params: Any) -> list[str]:
        return [e["action"] for e in _trail(admin, org_id, **params)]

    # since inclusive, until exclusive: consecutive windows share no row.
    assert actions(since="2020-01-02T12:00:00Z", until="2020-01-03T12:00:00Z") == ["test.day2"]
    assert actions(since="2020-01-01T00:00:00Z", until="2020-01-02T12:00:00Z") == ["test.day1"]
    # Any offset: 14:00 at +02:00 is 12:00 UTC.
    assert actions(since="2020-01-01T00:00:00Z", until="2020-01-03T14:00:00+02:00") == [
        "test.day2",
        "test.day1",
    ]
    later = actions(since="2020-01-02T00:00:00Z")
    assert later[-2:] == ["test.day3", "test.day2"] and "test.day1" not in later


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"entries": 0}, "entries"),
        ({"entries": 5001}, "entries"),
        ({"entries": "many"}, "entries"),
        ({"page": 0}, "page"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2020-01-01T00:00:00"}, "since"),  # no offset: which zone?
        ({"until": "2020-13-01T00:00:00Z"}, "until"),
        ({"since": "2020-01-02T00:00:00Z", "until": "2020-01-01T00:00:00Z"}, "since"),
        ({"action": "instance.*.power"}, "action"),
        ({"action": "DROP TABLE"}, "action"),
        ({"action": "instance%"}, "action"),
    ],
)
def test_bad_parameters_are_refused_by_name(
    admin: TestClient, sqlite_deployment: Deployment, params: dict[str, Any], field: str
) -> None:
    org_id = sqlite_deployment.setup.organization_id
    response = admin.get(f"/api/v1/organizations/{org_id}/audit", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field


def test_paging_and_total(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    base = datetime(2021, 6, 1, tzinfo=UTC)
    _add_rows(dep, org_id, *((f"page.row{i}", base + timedelta(minutes=i)) for i in range(7)))
    path = f"/api/v1/organizations/{org_id}/audit"
    everything = admin.get(path, params={"action": "page.*", "entries": 5000})
    assert everything.headers["X-Total-Count"] == "7"
    expected = [f"page.row{i}" for i in reversed(range(7))]
    assert [e["action"] for e in everything.json()] == expected
    pages = []
    for page in (1, 2, 3, 4):
        response = admin.get(path, params={"action": "page.*", "entries": 3, "page": page})
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "7"  # the total, whatever the page
        pages.append([e["action"] for e in response.json()])
    assert pages == [expected[0:3], expected[3:6], expected[6:7], []]
    default = admin.get(path)
    assert len(default.json()) == min(50, int(default.headers["X-Total-Count"]))


def test_csv_export_is_escaped_and_cannot_run_formulas(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    # A caller chooses what lands in the trail: a refused call's path parameter is its
    # target, so these are audited as targets of failed deletes.
    hostile = ["=HYPERLINK(1)", "+1+2", "-2+3", "@SUM(1)"]
    for target in hostile:
        assert admin.delete(f"/api/v1/datacenters/{target}").status_code == 404
    _add_rows(dep, org_id, ('quote"comma,\nline', datetime(2020, 1, 1, tzinfo=UTC)))
    path = f"/api/v1/organizations/{org_id}/audit"
    as_json = admin.get(path, params={"entries": 5000}).json()
    response = admin.get(path, params={"entries": 5000}, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["X-Total-Count"] == str(len(as_json))
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == FIELDS
    assert len(table) == len(as_json) + 1
    targets = [row[FIELDS.index("target_id")] for row in table[1:]]
    for target in hostile:
        assert f"'{target}" in targets and target not in targets
    # Every other cell is the JSON's value as text (null as empty), escaping undone by
    # any CSV reader: quotes, commas and line breaks survive inside one cell.
    for row, entry in zip(table[1:], as_json, strict=True):
        for name, cell in zip(FIELDS, row, strict=True):
            value = entry[name]
            if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
                assert cell == "'" + value
            else:
                assert cell == ("" if value is None else str(value))
    assert 'quote"comma,\nline' in [row[FIELDS.index("action")] for row in table[1:]]


def test_json_unless_csv_is_preferred(admin: TestClient, sqlite_deployment: Deployment) -> None:
    path = f"/api/v1/organizations/{sqlite_deployment.setup.organization_id}/audit"
    for accept, kind in [
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("application/json, text/csv", "application/json"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("application/json;q=0.2, text/csv", "text/csv"),
        ("text/csv", "text/csv"),
    ]:
        response = admin.get(path, headers={"Accept": accept})
        assert response.headers["content-type"].startswith(kind), accept


def test_one_tenants_trail_is_invisible_to_another(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    root_id = dep.setup.organization_id
    tenant_id, alice_id = dep.add_tenant("tenant-b", "alice")
    other_id, _ = dep.add_tenant("tenant-c", "carol")
    alice = login(
        TestClient(dep.daemon.app, base_url="https://testserver"), "alice", TENANT_PASSWORD
    )
    carol = login(
        TestClient(dep.daemon.app, base_url="https://testserver"), "carol", TENANT_PASSWORD
    )
    theirs = _datacenters(alice, tenant_id)
    ours = _datacenters(admin, root_id)
    # A sign-in under a name no one has belongs to no organization: the deployment's.
    with TestClient(dep.daemon.app, base_url="https://testserver") as nobody:
        refused = nobody.post(
            "/api/v1/auth/login", json={"username": "ghost", "password": "x" * 12}
        )
    assert refused.status_code == 401

    for client, org in [(alice, root_id), (alice, other_id), (carol, tenant_id)]:
        response = client.get(f"/api/v1/organizations/{org}/audit")
        assert response.status_code == 404, response.text
        assert theirs not in response.text and ours not in response.text
    own = _trail(alice, tenant_id, entries=5000)
    assert own and {e["organization_id"] for e in own} == {tenant_id}
    assert theirs in {e["target_id"] for e in own}
    assert ours not in {e["target_id"] for e in own}
    assert all(e["username"] != "pceadmin" for e in own)
    assert alice_id in {e["user_id"] for e in own}

    # The root organization's administrators read any organization's trail by its ID ...
    as_root = _trail(admin, tenant_id, entries=5000)
    assert [e["id"] for e in as_root] == [e["id"] for e in own]
    # ... and their own holds the deployment's rows, but no tenant's.
    root_trail = _trail(admin, root_id, entries=5000)
    assert {e["organization_id"] for e in root_trail} == {root_id, None}
    assert any(e["action"] == "auth.login" and "ghost" in e["message"] for e in root_trail)
    assert theirs not in {e["target_id"] for e in root_trail}


def test_reading_the_trail_needs_audit_read(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    org_id, _ = dep.add_tenant("tenant-b", "olga", policies=("pol-builtin-console-user",))
    dep.add_tenant("tenant-c", "aldo", policies=("pol-builtin-auditor",))
    olga = login(TestClient(dep.daemon.app, base_url="https://testserver"), "olga", TENANT_PASSWORD)
    refused = olga.get(f"/api/v1/organizations/{org_id}/audit")
    assert refused.status_code == 403 and "audit.read" in refused.json()["message"]
    aldo = login(TestClient(dep.daemon.app, base_url="https://testserver"), "aldo", TENANT_PASSWORD)
    me = aldo.get("/api/v1/auth/me").json()
    assert aldo.get(f"/api/v1/organizations/{me['organization_id']}/audit").status_code == 200


def test_no_route_changes_or_deletes_audit_entries(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """Entries can't be changed or deleted through any API: no such route exists, now or
    added later (the app's routes are walked)."""
    endpoints = http_endpoints(sqlite_deployment.daemon.app)
    assert any("audit" in e.path for e in endpoints)  # the walk sees the trail's route
    mutating = [
        str(e)
        for e in endpoints
        if e.method in ("PUT", "PATCH", "DELETE") and "audit" in e.path.lower()
    ]
    assert mutating == []
    org_id = sqlite_deployment.setup.organization_id
    before = [(r.id, r.action, r.message) for r in audit_rows(sqlite_deployment)]
    for method in ("PUT", "PATCH", "DELETE"):
        response = admin.request(method, f"/api/v1/organizations/{org_id}/audit", json={})
        assert response.status_code == 405, (method, response.text)
    after = [(r.id, r.action, r.message) for r in audit_rows(sqlite_deployment)]
    assert after[: len(before)] == before  # refusals may add rows; none went or changed


def test_retention_purge_deletes_only_old_rows(
    sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = sqlite_deployment
    org_id = dep.setup.organization_id
    now = clock.now()
    old = [(f"old.{i}", now - timedelta(days=400 + i)) for i in range(5)]
    recent = [("recent.a", now - timedelta(days=300)), ("recent.b", now)]
    _add_rows(dep, org_id, *old, *recent)
    before = {r.action for r in audit_rows(dep)}

    assert audit.purge(dep.factory, 0) == 0  # 0 keeps every row
    assert {r.action for r in audit_rows(dep)} == before

    monkeypatch.setattr(audit, "PURGE_BATCH", 2)  # several batches, each its transaction
    assert audit.purge(dep.factory, 365) == 5
    after = {r.action for r in audit_rows(dep)}
    assert after == before - {a for a, _ in old}
    assert {"recent.a", "recent.b"} <= after
    # The daemon hands its agent the node's setting.
    assert dep.daemon.agent.audit_retention_days == dep.daemon.settings.audit_retention_days


def test_filters_on_every_backend(deployment: Deployment) -> None:
    """Families (with '_' taken literally), time windows, paging and the total on SQLite
    and PostgreSQL."""
    dep = deployment
    org_id = dep.setup.organization_id
    day = datetime(2020, 1, 1, tzinfo=UTC)
    _add_rows(
        dep,
        org_id,
        ("a_b.c", day),
        ("axb.c", day + timedelta(hours=1)),
        ("a_b.d", day + timedelta(hours=2)),
    )
    with TestClient(dep.daemon.app, base_url="https://testserver") as client:
        admin = login(client, "pceadmin", ADMIN_PASSWORD)
        path = f"/api/v1/organizations/{org_id}/audit"
        family = admin.get(path, params={"action": "a_b.*", "entries": 1, "page": 2})
        assert family.headers["X-Total-Count"] == "2"
        assert [e["action"] for e in family.json()] == ["a_b.c"]
        window = {"since": "2020-01-01T01:00:00Z", "until": "2020-01-01T02:00:00Z"}
        assert [e["action"] for e in _trail(admin, org_id, **window)] == ["axb.c"]
