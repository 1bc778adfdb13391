"""The policies API: the vocabulary, an organization's policies (built-in first), its own
created, edited (revision bumped, holders judged by the new statements at once) and
deleted (not while held; never a built-in one), every change audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from cloudenv.services.access import Action
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Policy, UserPolicy
from tests.conftest import Deployment, audit_rows
from tests.support.principals import add_user, signed_in

pytestmark = pytest.mark.unit

BUILTIN_IDS = [
    "pol-builtin-administrator",
    "pol-builtin-operator",
    "pol-builtin-auditor",
    "pol-builtin-console-user",
]
SHAPE = {
    "id",
    "organization_id",
    "name",
    "description",
    "statements",
    "builtin",
    "creation",
    "user_count",
}
NIGHT_SHIFT: dict[str, Any] = {
    "name": "Night shift",
    "description": "Power only, at night.",
    "statements": [
        {"action": "organization.read", "effect": "allow", "resource": "*"},
        {"action": "instance.*", "effect": "allow"},
        {
            "action": "instance.power",
            "effect": "deny",
            "resource": "*",
            "rules": [
                {"field": "env.time_of_day", "operator": "between", "value": ["08:00", "20:00"]}
            ],
        },
    ],
}


def create(client: TestClient, body: dict[str, Any], **params: str) -> str:
    response = client.post("/api/v1/policies", json=body, params=params)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id"}
    return str(response.json()["id"])


def test_the_vocabulary_lists_every_action_with_its_area(admin: TestClient) -> None:
    response = admin.get("/api/v1/policies/actions")
    assert response.status_code == 200
    listed = response.json()
    assert [a["action"] for a in listed] == [a.value for a in Action]
    power = next(a for a in listed if a["action"] == "instance.power")
    assert power == {"action": "instance.power", "area": "instance", "reads": False}
    assert next(a for a in listed if a["action"] == "audit.read")["reads"] is True


def test_the_list_shows_the_built_in_policies_then_the_organizations_own(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org = sqlite_deployment.setup.organization_id
    own = create(admin, {**NIGHT_SHIFT, "organization_id": org})
    earlier = create(admin, {**NIGHT_SHIFT, "name": "Auditors plus"}, organization_id=org)
    response = admin.get("/api/v1/policies", params={"organization_id": org})
    assert response.status_code == 200
    listed = response.json()
    assert [p["id"] for p in listed] == [*BUILTIN_IDS, earlier, own]
    assert all(set(p) == SHAPE for p in listed)
    administrator = listed[0]
    assert administrator["builtin"] is True
    assert administrator["organization_id"] is None and administrator["creation"] is None
    assert administrator["statements"] == [
        {"action": "*", "effect": "allow", "resource": "*", "rules": []}
    ]
    mine = listed[-1]
    assert mine["builtin"] is False and mine["organization_id"] == org
    assert mine["name"] == "Night shift" and mine["user_count"] == 0
    # Stored as checked: a missing resource is '*', rules are always listed.
    assert mine["statements"][1] == {
        "action": "instance.*",
        "effect": "allow",
        "resource": "*",
        "rules": [],
    }
    # Without organization_id: the caller's own organization.
    assert admin.get("/api/v1/policies").json() == listed


def test_user_count_counts_the_organizations_holders(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    own = create(admin, NIGHT_SHIFT)
    add_user(dep, "olga", ["pol-builtin-operator", own])
    add_user(dep, "oscar", ["pol-builtin-operator"])
    dep.add_tenant("tenant-b", "bea", ("pol-builtin-operator",))
    counts = {p["id"]: p["user_count"] for p in admin.get("/api/v1/policies").json()}
    assert counts["pol-builtin-operator"] == 2  # bea is another organization's
    assert counts[own] == 1
    assert counts["pol-builtin-auditor"] == 0
    assert admin.get(f"/api/v1/policies/{own}").json()["user_count"] == 1


def test_organization_id_in_the_query_and_the_body_must_agree(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org_b, _ = sqlite_deployment.add_tenant()
    response = admin.post(
        "/api/v1/policies",
        json={**NIGHT_SHIFT, "organization_id": sqlite_deployment.setup.organization_id},
        params={"organization_id": org_b},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "organization_id"
    # The root organization's administrator may write another organization's policy.
    made = create(admin, NIGHT_SHIFT, organization_id=org_b)
    assert admin.get(f"/api/v1/policies/{made}").json()["organization_id"] == org_b


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [
        (
            {"statements": [{"action": "instance.reboot", "effect": "allow"}]},
            400,
            "statements[0].action",
            "GET /api/v1/policies/actions",
        ),
        (
            {"statements": [{"action": "*", "effect": "allow", "resource": "a/b"}]},
            400,
            "statements[0].resource",
            "subtree",
        ),
        (
            {"statements": [{"action": "*", "effect": "allow"}] * 1025},
            400,
            "statements",
            "at most 1024",
        ),
        ({"name": " padded"}, 400, "name", "Policy name"),
        ({"name": "operator"}, 409, "name", "built-in"),
        ({"description": "x" * 513}, 400, "description", "at most 512"),
    ],
)
def test_a_wrong_policy_is_refused_by_field_and_nothing_is_written(
    admin: TestClient,
    sqlite_deployment: Deployment,
    change: dict[str, Any],
    status: int,
    field: str,
    words: str,
) -> None:
    response = admin.post("/api/v1/policies", json={**NIGHT_SHIFT, **change})
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert words in response.json()["message"]
    assert [p["id"] for p in admin.get("/api/v1/policies").json()] == BUILTIN_IDS


def test_names_are_unique_in_an_organization_whatever_the_case(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    create(admin, NIGHT_SHIFT)
    again = admin.post("/api/v1/policies", json={**NIGHT_SHIFT, "name": "NIGHT SHIFT"})
    assert again.status_code == 409 and again.json()["field"] == "name"
    # Another organization may have its own of that name.
    org_b, _ = sqlite_deployment.add_tenant()
    create(admin, NIGHT_SHIFT, organization_id=org_b)


def test_an_edit_bumps_the_revision_and_judges_holders_by_the_new_statements(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    readers = create(
        admin,
        {
            "name": "Readers",
            "statements": [{"action": "organization.read", "effect": "allow"}],
        },
    )
    add_user(dep, "rita", [readers])
    org = dep.setup.organization_id
    with signed_in(dep, "rita") as rita:
        assert rita.get(f"/api/v1/organizations/{org}").status_code == 200
        assert rita.get(f"/api/v1/datacenters/{dep.setup.datacenter_id}").status_code == 403
        response = admin.patch(
            f"/api/v1/policies/{readers}",
            json={
                "description": "Reads the tree.",
                "statements": [
                    {"action": "organization.read", "effect": "allow"},
                    {"action": "datacenter.read", "effect": "allow"},
                ],
            },
        )
        assert response.status_code == 200, response.text
        edited = response.json()
        assert set(edited) == SHAPE
        assert edited["name"] == "Readers" and edited["description"] == "Reads the tree."
        assert len(edited["statements"]) == 2 and edited["user_count"] == 1
        with transaction(dep.factory) as db:
            assert db.get_one(Policy, readers).revision == 2
        # No cache to clear: rita's very next request is judged by the new statements.
        assert rita.get(f"/api/v1/datacenters/{dep.setup.datacenter_id}").status_code == 200
        renamed = admin.patch(f"/api/v1/policies/{readers}", json={"name": "Tree readers"})
        assert renamed.json()["name"] == "Tree readers"
        with transaction(dep.factory) as db:
            assert db.get_one(Policy, readers).revision == 3


def test_an_edit_is_checked_like_a_new_policy(admin: TestClient) -> None:
    made = create(admin, NIGHT_SHIFT)
    response = admin.patch(
        f"/api/v1/policies/{made}",
        json={
            "statements": [{"action": "*", "effect": "allow"}, {"action": "x.y", "effect": "deny"}]
        },
    )
    assert response.status_code == 400
    assert response.json()["field"] == "statements[1].action"
    assert admin.get(f"/api/v1/policies/{made}").json()["statements"][0]["action"] == (
        "organization.read"
    )


def test_a_held_policy_is_not_deleted_and_the_refusal_names_its_holders(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    made = create(admin, NIGHT_SHIFT)
    user = add_user(dep, "hugo", [made])
    response = admin.delete(f"/api/v1/policies/{made}")
    assert response.status_code == 409
    assert "held by 1 user(s): hugo" in response.json()["message"]
    assert admin.get(f"/api/v1/policies/{made}").status_code == 200
    with transaction(dep.factory) as db:
        db.execute(delete(UserPolicy).where(UserPolicy.user_id == user))
    response = admin.delete(f"/api/v1/policies/{made}")
    assert response.status_code == 200 and response.json() == {}
    assert admin.get(f"/api/v1/policies/{made}").status_code == 404


@pytest.mark.parametrize("policy_id", BUILTIN_IDS)
def test_built_in_policies_are_read_only(admin: TestClient, policy_id: str) -> None:
    shown = admin.get(f"/api/v1/policies/{policy_id}")
    assert shown.status_code == 200 and shown.json()["builtin"] is True
    for response in (
        admin.patch(f"/api/v1/policies/{policy_id}", json={"description": "mine now"}),
        admin.delete(f"/api/v1/policies/{policy_id}"),
    ):
        assert response.status_code == 409
        assert "built-in policy" in response.json()["message"]
    assert admin.get(f"/api/v1/policies/{policy_id}").json() == shown.json()


def test_every_change_is_audited(admin: TestClient, sqlite_deployment: Deployment) -> None:
    made = create(admin, NIGHT_SHIFT)
    admin.patch(f"/api/v1/policies/{made}", json={"description": "changed"})
    admin.delete(f"/api/v1/policies/{made}")
    admin.delete("/api/v1/policies/pol-builtin-operator")
    rows = [
        (r.action, r.target_id, r.status_code)
        for r in audit_rows(sqlite_deployment)
        if r.action.startswith("policy.")
    ]
    assert rows == [
        ("policy.create", made, 200),
        ("policy.update", made, 200),
        ("policy.delete", made, 200),
        ("policy.delete", "pol-builtin-operator", 409),
    ]


def test_who_may_read_and_change_policies(admin: TestClient, sqlite_deployment: Deployment) -> None:
    """IAM is the administrators' own: an Operator may not even list policies, an
    Auditor reads them and changes nothing, a policy narrowed to one policy ID reads only
    that one."""
    dep = sqlite_deployment
    made = create(admin, NIGHT_SHIFT)
    other = create(admin, {**NIGHT_SHIFT, "name": "Other"})
    add_user(dep, "otto", ["pol-builtin-operator"])
    add_user(dep, "aude", ["pol-builtin-auditor"])
    narrow = create(
        admin,
        {
            "name": "One policy",
            "statements": [{"action": "policy.*", "effect": "allow", "resource": made}],
        },
    )
    add_user(dep, "nina", [narrow])
    with signed_in(dep, "otto") as otto:
        assert otto.get("/api/v1/policies").status_code == 403
        assert otto.get(f"/api/v1/policies/{made}").status_code == 403
        assert otto.post("/api/v1/policies", json=NIGHT_SHIFT).status_code == 403
        # The vocabulary is no secret.
        assert otto.get("/api/v1/policies/actions").status_code == 200
    with signed_in(dep, "aude") as aude:
        assert aude.get("/api/v1/policies").status_code == 200
        assert aude.get(f"/api/v1/policies/{made}").status_code == 200
        assert aude.patch(f"/api/v1/policies/{made}", json={"name": "x"}).status_code == 403
        assert aude.delete(f"/api/v1/policies/{made}").status_code == 403
    with signed_in(dep, "nina") as nina:
        assert nina.get(f"/api/v1/policies/{made}").status_code == 200
        assert nina.get(f"/api/v1/policies/{other}").status_code == 403
        assert nina.patch(f"/api/v1/policies/{made}", json={"description": "ok"}).status_code == 200
        assert nina.delete(f"/api/v1/policies/{other}").status_code == 403
        # Listing is the organization's, not one policy's.
        assert nina.get("/api/v1/policies").status_code == 403


def test_another_organization_sees_none_of_our_policies(
    admin: TestClient, tenant: tuple[TestClient, str], sqlite_deployment: Deployment
) -> None:
    client, org_b = tenant
    made = create(admin, NIGHT_SHIFT)
    assert client.get(f"/api/v1/policies/{made}").status_code == 404
    assert client.patch(f"/api/v1/policies/{made}", json={"name": "mine"}).status_code == 404
    assert client.delete(f"/api/v1/policies/{made}").status_code == 404
    root_org = sqlite_deployment.setup.organization_id
    assert client.get("/api/v1/policies", params={"organization_id": root_org}).status_code == 404
    listed = client.get("/api/v1/policies").json()
    assert [p["id"] for p in listed] == BUILTIN_IDS
    # Their administrator writes their own organization's policies.
    theirs = create(client, NIGHT_SHIFT)
    assert admin.get(f"/api/v1/policies/{theirs}").json()["organization_id"] == org_b
