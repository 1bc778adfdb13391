"""GET /v1/auth/me names the actions the caller's policies allow somewhere: the web UI hides
what none allows (an Operator sees no Destroy), so the list must follow the policies."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cloudenv.services.access import Action
from cloudenv.store.engine import transaction
from cloudenv.store.tables import User
from tests.conftest import ADMIN_PASSWORD, TENANT_PASSWORD, Deployment, login

pytestmark = pytest.mark.unit


def _actions_of(dep: Deployment, username: str, policies: tuple[str, ...]) -> set[str]:
    dep.add_tenant(name=f"org-of-{username}", username=username, policies=policies)
    with TestClient(dep.daemon.app, base_url="https://testserver") as client:
        login(client, username, TENANT_PASSWORD)
        return set(client.get("/api/v1/auth/me").json()["actions"])


def test_root_user_is_allowed_every_action(anon: TestClient) -> None:
    response = anon.post(
        "/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
    )
    everything = {action.value for action in Action}
    # The sign-in answer carries it too: the UI uses that user until it asks /me again.
    assert set(response.json()["user"]["actions"]) == everything
    assert set(anon.get("/api/v1/auth/me").json()["actions"]) == everything


def test_operator_gets_power_but_no_destroy_and_no_iam(sqlite_deployment: Deployment) -> None:
    actions = _actions_of(sqlite_deployment, "olga", ("pol-builtin-operator",))
    assert {"instance.power", "instance.deploy", "instance.read"} <= actions
    assert "instance.destroy" not in actions
    assert not {a for a in actions if a.partition(".")[0] in {"user", "policy", "lockout"}}


def test_auditor_gets_only_reads(sqlite_deployment: Deployment) -> None:
    actions = _actions_of(sqlite_deployment, "audrey", ("pol-builtin-auditor",))
    assert {"audit.read", "lockout.read", "instance.read"} <= actions
    assert all(a.endswith((".read", ".list")) for a in actions)


def test_tenant_administrator_is_not_offered_the_root_organizations_actions(
    sqlite_deployment: Deployment,
) -> None:
    # Their policy says "*", but only root-organization users may create organizations.
    actions = _actions_of(sqlite_deployment, "adam", ("pol-builtin-administrator",))
    assert "user.create" in actions and "instance.destroy" in actions
    assert "organization.create" not in actions and "organization.delete" not in actions


def test_user_without_policies_gets_none(sqlite_deployment: Deployment) -> None:
    assert _actions_of(sqlite_deployment, "nobody", ()) == set()


def test_me_says_whether_mfa_is_on(sqlite_deployment: Deployment) -> None:
    """My account shows MFA as on or off from /auth/me."""
    _, user_id = sqlite_deployment.add_tenant(name="org-mfa", username="mia")
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as client:
        login(client, "mia", TENANT_PASSWORD)
        assert client.get("/api/v1/auth/me").json()["mfa_enabled"] is False
        with transaction(sqlite_deployment.factory) as db:
            db.execute(update(User).where(User.id == user_id).values(mfa_enabled=True))
        assert client.get("/api/v1/auth/me").json()["mfa_enabled"] is True
