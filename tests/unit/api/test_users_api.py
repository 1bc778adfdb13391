"""Users over HTTP: the product's list shape, create/read/change/delete, the root user's
protections, other organizations' users as 404, policies, the all-or-nothing import
(JSON and CSV, dry run), the export without secrets, and temporary passwords holding a
session to changing them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv import clock
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Lockout, Policy, User, UserPolicy
from tests.conftest import TENANT_PASSWORD, Deployment, audit_rows, count_rows, login
from tests.support.served_node import ADMIN_PASSWORD

pytestmark = pytest.mark.unit

PRODUCT_FIELDS = {
    "id",
    "organization_id",
    "username",
    "enabled",
    "locked",
    "expiry",
    "expired",
    "mfa_enabled",
    "is_root",
    "linux_user",
    "description",
    "creation",
}
PASSWORD = "kettle-maple-orbit-lantern"


def _org(dep: Deployment) -> str:
    return dep.setup.organization_id


def _create(admin: TestClient, dep: Deployment, **fields: Any) -> dict[str, Any]:
    body = {"organization_id": _org(dep), "username": "ana", "description": "", **fields}
    response = admin.post("/api/v1/users", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _client(dep: Deployment) -> TestClient:
    return TestClient(dep.daemon.app, base_url="https://testserver")


def _user_rows(dep: Deployment) -> list[str]:
    with transaction(dep.factory) as db:
        return list(db.scalars(select(User.username).order_by(User.username)))


# The product's list ----------------------------------------------------------------


def test_the_list_is_a_bare_array_of_the_products_fields(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    _create(admin, dep, username="ana", password=PASSWORD, linux_user="ana", description="dev")
    response = admin.get("/api/v1/users", params={"organization_id": _org(dep)})
    assert response.status_code == 200
    users = response.json()
    assert isinstance(users, list) and [u["username"] for u in users] == ["ana", "pceadmin"]
    for user in users:
        assert set(user) >= PRODUCT_FIELDS
        assert "password" not in user and "password_hash" not in user
        assert "mfa_secret" not in user
    ana, root = users
    assert ana["organization_id"] == _org(dep) and ana["linux_user"] == "ana"
    assert (ana["enabled"], ana["locked"], ana["expired"], ana["is_root"]) == (
        True,
        False,
        False,
        False,
    )
    assert ana["expiry"] is None and ana["creation"].endswith("Z")
    assert ana["description"] == "dev" and ana["mfa_enabled"] is False
    assert root["id"] == dep.setup.admin_user_id and root["is_root"] is True


def test_locked_counts_a_lockout_in_force(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    user_id = _create(admin, dep)["id"]
    now = clock.now()
    with transaction(dep.factory) as db:
        db.add(
            Lockout(
                user_id=user_id,
                organization_id=_org(dep),
                locked_at=now,
                until=now + timedelta(hours=1),
                failures=5,
            )
        )

    def locked() -> bool:
        return bool(admin.get(f"/api/v1/users/{user_id}").json()["locked"])

    assert locked()
    with transaction(dep.factory) as db:
        db.scalars(select(Lockout)).one().cleared = now
    assert not locked()
    with transaction(dep.factory) as db:
        db.get_one(User, user_id).locked = True  # an administrator's lock
    assert locked()


def test_an_expired_user_is_listed_as_expired_and_cant_sign_in(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    user = _create(admin, dep, password=PASSWORD, temporary=False, expiry="2001-02-03")
    shown = admin.get(f"/api/v1/users/{user['id']}").json()
    assert shown["expired"] is True and shown["expiry"] == "2001-02-03T00:00:00Z"
    with _client(dep) as client:
        response = client.post("/api/v1/auth/login", json={"username": "ana", "password": PASSWORD})
    assert response.status_code == 401 and "expired" in response.json()["message"]


# Create, read, change, delete ----------------------------------------------------------


def test_create_read_change_and_delete(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    created = _create(admin, dep, random_password=True, policy_ids=["pol-builtin-operator"])
    user_id, password = created["id"], created["password"]
    assert user_id.startswith("user-") and len(password) >= 20
    shown = admin.get(f"/api/v1/users/{user_id}").json()
    assert "password" not in shown  # shown once, at creation
    assert shown["policies"] == ["pol-builtin-operator"]
    assert shown["temporary_password"] is True  # someone else chose it

    changed = admin.patch(
        f"/api/v1/users/{user_id}",
        json={
            "description": "on call",
            "enabled": False,
            "expiry": "2099-01-01T12:00:00+02:00",
            "linux_user": "ana",
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["description"], body["enabled"], body["linux_user"]) == ("on call", False, "ana")
    assert body["expiry"] == "2099-01-01T10:00:00Z" and body["expired"] is False
    assert body["password"] is None
    cleared = admin.patch(f"/api/v1/users/{user_id}", json={"expiry": None, "linux_user": None})
    assert cleared.json()["expiry"] is None and cleared.json()["linux_user"] is None
    assert cleared.json()["description"] == "on call"  # absent fields stay

    assert admin.delete(f"/api/v1/users/{user_id}").json() == {}
    assert admin.get(f"/api/v1/users/{user_id}").status_code == 404
    with transaction(dep.factory) as db:
        assert db.scalars(select(UserPolicy).where(UserPolicy.user_id == user_id)).all() == []
    trail = [(r.action, r.target_id, r.outcome) for r in audit_rows(dep)]
    for action in ("user.create", "user.update", "user.delete"):
        assert (action, user_id, "success") in trail


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"username": "an"}, "username", "3 to 64"),
        ({"username": "ana lima"}, "username", "3 to 64"),
        ({"password": "short-pass"}, "password", "too short"),
        ({"password": "ana-kettle-maple"}, "password", "user name"),
        ({"password": "iloveyou2024!"}, "password", "commonly used"),
        ({"password": PASSWORD, "random_password": True}, "random_password", "not both"),
        ({"external": True, "password": PASSWORD}, "password", "external"),
        ({"temporary": True}, "temporary", "applies to a password"),
        ({"linux_user": "Ana"}, "linux_user", "lower-case"),
        ({"expiry": "next tuesday"}, "expiry", "RFC 3339"),
        ({"description": "d" * 513}, "description", "at most 512"),
        ({"policy_ids": ["pol-nope"]}, "policy_ids[0]", "does not exist"),
        ({"organization_id": "org-nope"}, "organization_id", "No organization"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(
    admin: TestClient, sqlite_deployment: Deployment, body: dict[str, Any], field: str, words: str
) -> None:
    before = _user_rows(sqlite_deployment)
    full = {"organization_id": _org(sqlite_deployment), "username": "ana", **body}
    response = admin.post("/api/v1/users", json=full)
    assert response.status_code in (400, 404), response.text
    assert response.json()["field"] == field
    assert words in response.json()["message"]
    assert _user_rows(sqlite_deployment) == before


def test_user_names_are_unique_across_organizations_ignoring_case(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    tenant_org, _ = dep.add_tenant("tenant-b", "alice")
    response = admin.post("/api/v1/users", json={"organization_id": _org(dep), "username": "ALICE"})
    assert response.status_code == 409 and response.json()["field"] == "username"
    assert "already exists" in response.json()["message"]
    # The root organization creates users in any organization.
    made = admin.post("/api/v1/users", json={"organization_id": tenant_org, "username": "bob"})
    assert made.status_code == 200
    assert admin.get(f"/api/v1/users/{made.json()['id']}").json()["organization_id"] == tenant_org


def test_only_the_root_organization_gives_the_linux_user_root(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    tenant_org, _ = dep.add_tenant()
    ok = admin.post(
        "/api/v1/users",
        json={"organization_id": _org(dep), "username": "ops", "linux_user": "root"},
    )
    assert ok.status_code == 200
    refused = admin.post(
        "/api/v1/users",
        json={"organization_id": tenant_org, "username": "bob", "linux_user": "root"},
    )
    assert refused.status_code == 400 and refused.json()["field"] == "linux_user"


def test_delete_takes_only_the_confirmation_word(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    user_id = _create(admin, sqlite_deployment)["id"]
    wrong = admin.delete(f"/api/v1/users/{user_id}", params={"confirm": "yes"})
    assert wrong.status_code == 400 and wrong.json()["field"] == "confirm"
    assert admin.get(f"/api/v1/users/{user_id}").status_code == 200
    assert admin.delete(f"/api/v1/users/{user_id}", params={"confirm": "DESTROY"}).json() == {}


# The root user and oneself -----------------------------------------------------------


def test_pceadmin_cant_be_deleted_disabled_expired_or_given_policies(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    root = sqlite_deployment.setup.admin_user_id
    attempts = [
        admin.delete(f"/api/v1/users/{root}"),
        admin.patch(f"/api/v1/users/{root}", json={"enabled": False}),
        admin.patch(f"/api/v1/users/{root}", json={"expiry": "2099-01-01"}),
        admin.put(f"/api/v1/users/{root}/policies", json={"policy_ids": []}),
    ]
    assert [a.status_code for a in attempts] == [409, 409, 409, 409]
    assert "owns the deployment" in attempts[0].json()["message"]
    assert "owns the deployment" in attempts[1].json()["message"]
    shown = admin.get(f"/api/v1/users/{root}").json()
    assert shown["enabled"] is True and shown["expiry"] is None
    # Its own description it may change.
    assert admin.patch(f"/api/v1/users/{root}", json={"description": "me"}).status_code == 200


def test_another_administrator_cant_touch_pceadmin_or_delete_themselves(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    other = _create(
        admin,
        dep,
        username="second-admin",
        password=PASSWORD,
        temporary=False,
        policy_ids=["pol-builtin-administrator"],
    )
    root = dep.setup.admin_user_id
    with _client(dep) as client:
        login(client, "second-admin", PASSWORD)
        reset = client.patch(f"/api/v1/users/{root}", json={"password": "fresh-kettle-orbit"})
        assert reset.status_code == 403 and "pceadmin" in reset.json()["message"]
        itself = client.delete(f"/api/v1/users/{other['id']}")
        assert itself.status_code == 409 and "your own user" in itself.json()["message"]
        disable = client.patch(f"/api/v1/users/{other['id']}", json={"enabled": False})
        assert disable.status_code == 409
        own_password = client.patch(
            f"/api/v1/users/{other['id']}", json={"password": "fresh-kettle-orbit"}
        )
        assert own_password.status_code == 400
        assert "/auth/password" in own_password.json()["message"]
    with _client(dep) as client:
        login(client, "pceadmin", ADMIN_PASSWORD)  # pceadmin's password is unchanged


# Tenants -------------------------------------------------------------------------------


def test_another_organizations_users_are_404_and_never_listed(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    client, tenant_org = tenant
    root_user = dep.setup.admin_user_id
    ana = _create(admin, dep)["id"]
    for user_id in (root_user, ana):
        answers = [
            client.get(f"/api/v1/users/{user_id}"),
            client.patch(f"/api/v1/users/{user_id}", json={"description": "x"}),
            client.delete(f"/api/v1/users/{user_id}"),
            client.put(f"/api/v1/users/{user_id}/policies", json={"policy_ids": []}),
        ]
        assert [a.status_code for a in answers] == [404] * 4, [a.text for a in answers]
    for path in ("/api/v1/users", "/api/v1/users/export"):
        assert client.get(path, params={"organization_id": _org(dep)}).status_code == 404
    refused = client.post(
        "/api/v1/users/import", params={"organization_id": _org(dep)}, json=[{"username": "x1y"}]
    )
    assert refused.status_code == 404
    mine = client.get("/api/v1/users").json()
    assert [u["username"] for u in mine] == ["alice"]
    assert all(u["organization_id"] == tenant_org for u in mine)
    assert client.get("/api/v1/users", params={"organization_id": tenant_org}).status_code == 200
    # The tenant's administrator manages their own organization's users.
    made = client.post("/api/v1/users", json={"organization_id": tenant_org, "username": "bob"})
    assert made.status_code == 200
    assert _user_rows(dep) == ["alice", "ana", "bob", "pceadmin"]


def test_a_policy_of_another_organization_is_404(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    client, tenant_org = tenant
    with transaction(dep.factory) as db:
        db.add(
            Policy(
                id="pol-rootorgsownpolicy00",
                organization_id=_org(dep),
                name="readers",
                statements=[{"action": "*", "effect": "allow", "resource": "*"}],
                creation=clock.now(),
            )
        )
    bob = client.post("/api/v1/users", json={"organization_id": tenant_org, "username": "bob"})
    response = client.put(
        f"/api/v1/users/{bob.json()['id']}/policies",
        json={"policy_ids": ["pol-builtin-auditor", "pol-rootorgsownpolicy00"]},
    )
    assert response.status_code == 404 and response.json()["field"] == "policy_ids[1]"
    # The organization's own policy is fine for its own users.
    ana = _create(admin, dep)["id"]
    ok = admin.put(
        f"/api/v1/users/{ana}/policies",
        json={"policy_ids": ["pol-rootorgsownpolicy00", "pol-builtin-auditor"]},
    )
    assert ok.status_code == 200
    assert ok.json() == {"policy_ids": ["pol-rootorgsownpolicy00", "pol-builtin-auditor"]}


def test_set_policies_replaces_them_in_order_and_is_audited(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    user = _create(admin, dep, password=PASSWORD, temporary=False)
    path = f"/api/v1/users/{user['id']}/policies"
    order = ["pol-builtin-auditor", "pol-builtin-console-user"]
    assert admin.put(path, json={"policy_ids": order}).json() == {"policy_ids": order}
    assert admin.get(f"/api/v1/users/{user['id']}").json()["policies"] == order
    reversed_ = order[::-1]
    assert admin.put(path, json={"policy_ids": reversed_}).status_code == 200
    assert admin.get(f"/api/v1/users/{user['id']}").json()["policies"] == reversed_
    twice = admin.put(path, json={"policy_ids": ["pol-builtin-auditor"] * 2})
    assert twice.status_code == 400 and twice.json()["field"] == "policy_ids[1]"
    audited = [r for r in audit_rows(dep) if r.action == "user.set_policies"]
    assert [r.target_id for r in audited if r.outcome == "success"] == [user["id"]] * 2
    # What the policies say holds at once: an Auditor reads users but creates none.
    admin.put(path, json={"policy_ids": ["pol-builtin-auditor"]})
    with _client(dep) as client:
        login(client, "ana", PASSWORD)
        assert client.get("/api/v1/users", params={"organization_id": _org(dep)}).status_code == 200
        made = client.post("/api/v1/users", json={"organization_id": _org(dep), "username": "z1z"})
        assert made.status_code == 403


def test_creating_a_user_with_policies_needs_the_set_policies_permission(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    """Else user.create alone would hand out Administrator."""
    dep = sqlite_deployment
    with transaction(dep.factory) as db:
        db.add(
            Policy(
                id="pol-creatorsonly0000000",
                organization_id=_org(dep),
                name="creators",
                statements=[
                    {"action": "user.create", "effect": "allow", "resource": "*"},
                    {"action": "organization.read", "effect": "allow", "resource": "*"},
                ],
                creation=clock.now(),
            )
        )
    creator = _create(
        admin,
        dep,
        username="creator",
        password=PASSWORD,
        temporary=False,
        policy_ids=["pol-creatorsonly0000000"],
    )
    assert creator["id"]
    with _client(dep) as client:
        login(client, "creator", PASSWORD)
        body = {"organization_id": _org(dep), "username": "mallory"}
        escalate = client.post(
            "/api/v1/users", json={**body, "policy_ids": ["pol-builtin-administrator"]}
        )
        assert escalate.status_code == 403
        assert client.post("/api/v1/users", json=body).status_code == 200


# Import and export -------------------------------------------------------------------


def _import(admin: TestClient, dep: Deployment, body: Any, **params: Any) -> Any:
    query = {"organization_id": _org(dep), **params}
    if isinstance(body, str):
        return admin.post(
            "/api/v1/users/import",
            params=query,
            content=body.encode(),
            headers={"Content-Type": "text/csv; charset=utf-8"},
        )
    return admin.post("/api/v1/users/import", params=query, json=body)


GOOD_ROWS = [
    {"username": "imp-one", "password": PASSWORD, "linux_user": "one"},
    {"username": "imp-two", "random_password": True},
    {"username": "imp-three", "external": True, "enabled": False, "description": "from LDAP"},
]


def test_import_creates_every_row(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    response = _import(admin, dep, {"users": GOOD_ROWS})
    assert response.status_code == 200, response.text
    results = response.json()
    assert [(r["row"], r["username"], r["ok"]) for r in results] == [
        (1, "imp-one", True),
        (2, "imp-two", True),
        (3, "imp-three", True),
    ]
    assert "password" not in results[0] and len(results[1]["password"]) >= 20
    listed = {u["username"]: u for u in admin.get("/api/v1/users").json()}
    assert listed["imp-one"]["linux_user"] == "one" and listed["imp-one"]["temporary_password"]
    assert listed["imp-three"]["enabled"] is False and listed["imp-three"]["external"] is True
    assert {r["id"] for r in results} == {
        listed[n]["id"] for n in ("imp-one", "imp-two", "imp-three")
    }
    imported = [r.target_id for r in audit_rows(dep) if r.action == "user.import"]
    assert sorted(imported) == sorted(r["id"] for r in results)
    with _client(dep) as client:  # the generated password signs in
        login(client, "imp-two", results[1]["password"]).close()


def test_one_bad_row_imports_nothing(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    _create(admin, dep, username="taken")
    users_before = count_rows(dep, User)
    policies_before = count_rows(dep, UserPolicy)
    rows = [
        *GOOD_ROWS,
        {"username": "imp-four", "password": "sunshine2024!"},  # too common
        {"username": "Taken"},  # exists, in another case
        {"username": "imp-one"},  # twice in the file
        {"username": "imp-five", "colour": "blue"},
        {"username": "imp-six", "policy_ids": ["pol-builtin-auditor"]},
    ]
    response = _import(admin, dep, rows)
    assert response.status_code == 400
    error = response.json()
    assert error["field"] == "users" and "none was" in error["message"]
    details = error["details"]
    assert [d["ok"] for d in details] == [True, True, True, False, False, False, False, True]
    assert all("id" not in d and "password" not in d for d in details)
    assert details[3]["error"]["field"] == "password"
    assert "commonly used" in details[3]["error"]["message"]
    assert details[4]["error"]["code"] == 409 and details[4]["username"] == "Taken"
    assert "row 1" in details[5]["error"]["message"]
    assert details[6]["error"]["field"] == "colour"
    assert count_rows(dep, User) == users_before
    assert count_rows(dep, UserPolicy) == policies_before


def test_a_dry_run_reports_and_creates_nothing(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    before = count_rows(dep, User)
    good = _import(admin, dep, GOOD_ROWS, dry_run="true")
    assert good.status_code == 200
    assert [r["ok"] for r in good.json()] == [True, True, True]
    assert all("id" not in r and "password" not in r for r in good.json())
    bad = _import(admin, dep, [*GOOD_ROWS, {"username": "x"}], dry_run="true")
    assert bad.status_code == 200  # a report, not a refusal
    assert [r["ok"] for r in bad.json()] == [True, True, True, False]
    assert count_rows(dep, User) == before


def test_csv_in(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    csv_text = (
        "\ufeffusername,enabled,linux_user,description,expiry,password,random_password,temporary\n"
        f'csv-one,true,one,"first, with a comma",2099-12-31,{PASSWORD},,false\n'
        "csv-two,no,,,,,yes,\n"
    )
    response = _import(admin, dep, csv_text)
    assert response.status_code == 200, response.text
    assert [r["username"] for r in response.json()] == ["csv-one", "csv-two"]
    listed = {u["username"]: u for u in admin.get("/api/v1/users").json()}
    one, two = listed["csv-one"], listed["csv-two"]
    assert one["description"] == "first, with a comma" and one["linux_user"] == "one"
    assert one["expiry"] == "2099-12-31T00:00:00Z" and one["temporary_password"] is False
    assert two["enabled"] is False and two["temporary_password"] is True
    with _client(dep) as client:
        login(client, "csv-one", PASSWORD).close()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("name,enabled\nana,true\n", "username"),  # no username column
        ("username,shoe_size\nana,44\n", "shoe_size"),
        ("username\nana,extra\n", "users"),
    ],
)
def test_a_malformed_csv_is_refused(
    admin: TestClient, sqlite_deployment: Deployment, body: str, field: str
) -> None:
    response = _import(admin, sqlite_deployment, body)
    assert response.status_code == 400 and response.json()["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"users": [], "also": 1}, "also"),
        ({"people": []}, "people"),
        ("not json", "users"),
        (5, "users"),
    ],
)
def test_a_malformed_json_import_is_refused(
    admin: TestClient, sqlite_deployment: Deployment, body: Any, field: str
) -> None:
    if isinstance(body, str):
        response = admin.post(
            "/api/v1/users/import",
            params={"organization_id": _org(sqlite_deployment)},
            content=body,
            headers={"Content-Type": "application/json"},
        )
    else:
        response = _import(admin, sqlite_deployment, body)
    assert response.status_code == 400 and response.json()["field"] == field


def test_imports_are_limited(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    rows = [{"username": f"user-{i:04}"} for i in range(1001)]
    too_many = _import(admin, dep, rows)
    assert too_many.status_code == 400 and "at most 1000" in too_many.json()["message"]
    hashing = [{"username": f"user-{i:04}", "random_password": True} for i in range(101)]
    too_slow = _import(admin, dep, hashing)
    assert too_slow.status_code == 400 and "at most 100 are set" in too_slow.json()["message"]
    assert _user_rows(dep) == ["pceadmin"]


def test_export_json_and_csv_without_secrets(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    _create(admin, dep, password=PASSWORD, policy_ids=["pol-builtin-operator"], linux_user="ana")
    exported = admin.get("/api/v1/users/export", params={"organization_id": _org(dep)})
    assert exported.status_code == 200
    rows = exported.json()
    assert [r["username"] for r in rows] == ["ana", "pceadmin"]
    assert rows[0]["policy_ids"] == ["pol-builtin-operator"]
    text = exported.text
    assert "argon2" not in text and PASSWORD not in text and "password" not in text
    as_csv = admin.get(
        "/api/v1/users/export",
        params={"organization_id": _org(dep)},
        headers={"Accept": "text/csv"},
    )
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0] == (
        "id,organization_id,username,enabled,linux_user,description,expiry,external,"
        "policy_ids,creation"
    )
    assert lines[1].split(",")[2:5] == ["ana", "true", "ana"]
    assert "argon2" not in as_csv.text and PASSWORD not in as_csv.text
    exports = [r for r in audit_rows(dep) if r.action == "user.export"]
    assert len(exports) == 2 and exports[0].target_id == _org(dep)


def test_an_export_imports_into_another_organization(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    _create(admin, dep, username="ana", linux_user="ana", description="=cmd|' /C calc'!A0")
    csv_text = admin.get(
        "/api/v1/users/export",
        params={"organization_id": _org(dep)},
        headers={"Accept": "text/csv"},
    ).text
    assert ",'=cmd" in csv_text  # a spreadsheet shows it as text, never runs it
    tenant_org, _ = dep.add_tenant()
    renamed = csv_text.replace(",ana,", ",ana-copy,").replace(",pceadmin,", ",pce-copy,")
    renamed = renamed.replace(",root,", ",,")  # root is the root organization's alone
    response = admin.post(
        "/api/v1/users/import",
        params={"organization_id": tenant_org},
        content=renamed,
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    copies = admin.get("/api/v1/users", params={"organization_id": tenant_org}).json()
    assert {u["username"] for u in copies} == {"alice", "ana-copy", "pce-copy"}
    assert not any(u["is_root"] for u in copies)


# Temporary passwords and changing one's own ----------------------------------------------


def test_a_temporary_password_must_be_changed_before_anything_else(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    _create(admin, dep, password=PASSWORD, policy_ids=["pol-builtin-administrator"])
    with _client(dep) as client:
        signed_in = client.post(
            "/api/v1/auth/login", json={"username": "ana", "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        assert signed_in.json()["user"]["must_change_password"] is True
        login(client, "ana", PASSWORD)
        assert client.get("/api/v1/auth/me").json()["must_change_password"] is True
        for refused in (
            client.get("/api/v1/organizations"),
            client.get("/api/v1/users"),
            client.post("/api/v1/users", json={"organization_id": _org(dep), "username": "x1x"}),
        ):
            assert refused.status_code == 403
            assert "change it first" in refused.json()["message"]
        wrong = client.post(
            "/api/v1/auth/password",
            json={"current_password": "not-it-at-all", "new_password": "fresh-kettle-orbit"},
        )
        assert wrong.status_code == 400 and wrong.json()["field"] == "current_password"
        for weak, words in ((PASSWORD, "current one"), ("short", "too short")):
            answer = client.post(
                "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": weak}
            )
            assert answer.status_code == 400 and answer.json()["field"] == "new_password"
            assert words in answer.json()["message"]
        changed = client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": "fresh-kettle-orbit"},
        )
        assert changed.status_code == 200 and changed.json() == {}
        # The same session goes on, now unrestricted.
        assert client.get("/api/v1/auth/me").json()["must_change_password"] is False
        assert client.get("/api/v1/organizations").status_code == 200
    with _client(dep) as client:
        old = client.post("/api/v1/auth/login", json={"username": "ana", "password": PASSWORD})
        assert old.status_code == 401
        login(client, "ana", "fresh-kettle-orbit")
        assert client.get("/api/v1/users").status_code == 200
    assert ("auth.password", "success") in [(r.action, r.outcome) for r in audit_rows(dep)]


def test_changing_ones_password_ends_ones_other_sessions(
    tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    client, _ = tenant
    with _client(sqlite_deployment) as other:
        login(other, "alice", TENANT_PASSWORD)
        assert other.get("/api/v1/auth/me").status_code == 200
        changed = client.post(
            "/api/v1/auth/password",
            json={"current_password": TENANT_PASSWORD, "new_password": "fresh-kettle-orbit"},
        )
        assert changed.status_code == 200
        assert other.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 200


def test_an_administrators_reset_is_temporary_and_ends_the_users_sessions(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    user = _create(admin, dep, password=PASSWORD, temporary=False)
    with _client(dep) as client:
        login(client, "ana", PASSWORD)
        assert client.get("/api/v1/auth/me").json()["must_change_password"] is False
        reset = admin.patch(f"/api/v1/users/{user['id']}", json={"random_password": True})
        assert reset.status_code == 200
        new_password = reset.json()["password"]
        assert len(new_password) >= 20 and reset.json()["temporary_password"] is True
        assert client.get("/api/v1/auth/me").status_code == 401
    with _client(dep) as client:
        login(client, "ana", new_password)
        assert client.get("/api/v1/auth/me").json()["must_change_password"] is True
    kept = admin.patch(
        f"/api/v1/users/{user['id']}", json={"password": "given-kettle-orbit", "temporary": False}
    )
    assert kept.json()["temporary_password"] is False and kept.json()["password"] is None


def test_a_name_taken_at_the_same_moment_is_a_conflict_not_a_crash(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests creating the same name both pass the look-up; the database's unique
    constraint stops the second, which must read as 409."""
    from cloudenv.store.queries import iam as queries

    _create(admin, sqlite_deployment)
    monkeypatch.setattr(queries, "usernames_taken", lambda _db, _names: set())
    again = admin.post(
        "/api/v1/users", json={"organization_id": _org(sqlite_deployment), "username": "ana"}
    )
    assert again.status_code == 409 and again.json()["field"] == "username"
