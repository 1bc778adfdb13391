"""API tokens over HTTP: shown once, stored hashed, accepted wherever a session is, their
last use kept to the minute, refused once expired or deleted, and another user's tokens
managed only with a permission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv import clock
from cloudenv.services import auth
from cloudenv.services.access import Principal
from cloudenv.store.engine import transaction
from cloudenv.store.tables import ApiToken
from tests.conftest import TENANT_PASSWORD, Deployment, audit_rows
from tests.support.signin import HandClock, add_user, client_of, signed_in

pytestmark = pytest.mark.unit


@pytest.fixture
def hand_clock(monkeypatch: pytest.MonkeyPatch) -> HandClock:
    return HandClock(monkeypatch)


@pytest.fixture
def bob(sqlite_deployment: Deployment) -> tuple[str, str]:
    return sqlite_deployment.add_tenant(username="bob")


@pytest.fixture
def bobs_client(sqlite_deployment: Deployment, bob: tuple[str, str]) -> TestClient:
    client = TestClient(sqlite_deployment.daemon.app, base_url="https://testserver")
    return signed_in(client, "bob", TENANT_PASSWORD)


def _bearer(dep: Deployment, token: str) -> TestClient:
    client = TestClient(dep.daemon.app, base_url="https://testserver")
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _create(client: TestClient, user_id: str, **body: object) -> dict[str, object]:
    response = client.post(f"/api/v1/users/{user_id}/tokens", json={"name": "ci", **body})
    assert response.status_code == 200, response.text
    created: dict[str, object] = response.json()
    return created


def test_a_token_is_shown_once_and_signs_in_as_its_user(
    sqlite_deployment: Deployment, bob: tuple[str, str], bobs_client: TestClient
) -> None:
    dep = sqlite_deployment
    org, user = bob
    created = _create(bobs_client, user)
    assert set(created) == {"id", "name", "expiry", "token"}
    secret = str(created["token"])
    assert secret.startswith("cetok_") and len(secret) > 40
    with transaction(dep.factory) as db:
        stored = db.scalars(select(ApiToken.token_hash)).one()
    assert stored == auth.token_hash(secret) and secret not in stored
    (listed,) = bobs_client.get(f"/api/v1/users/{user}/tokens").json()
    assert set(listed) == {"id", "name", "expiry", "last_used", "creation"}
    assert listed["last_used"] is None
    with _bearer(dep, secret) as by_token:
        me = by_token.get("/api/v1/auth/me").json()
        assert (me["id"], me["username"]) == (user, "bob")
        # A change without the CSRF header: a bearer token is never sent by a browser itself.
        renamed = by_token.patch(f"/api/v1/organizations/{org}", json={"description": "by token"})
        assert renamed.status_code == 200, renamed.text
    (listed,) = bobs_client.get(f"/api/v1/users/{user}/tokens").json()
    assert listed["last_used"] is not None
    assert "token" not in listed
    taken = bobs_client.post(f"/api/v1/users/{user}/tokens", json={"name": "ci"})
    assert (taken.status_code, taken.json()["field"]) == (409, "name")
    created_rows = [r for r in audit_rows(dep) if r.action == "token.create"]
    assert [(r.target_id, r.username, r.outcome) for r in created_rows] == [
        (created["id"], "bob", "success"),
        (user, "bob", "failure"),
    ]


def test_last_use_is_written_at_most_once_a_minute(
    sqlite_deployment: Deployment,
    bob: tuple[str, str],
    bobs_client: TestClient,
    hand_clock: HandClock,
) -> None:
    dep = sqlite_deployment
    _, user = bob
    secret = str(_create(bobs_client, user)["token"])

    def last_used() -> object:
        with transaction(dep.factory) as db:
            return db.scalars(select(ApiToken.last_used)).one()

    with _bearer(dep, secret) as by_token:
        assert by_token.get("/api/v1/auth/me").status_code == 200
        first = last_used()
        hand_clock.advance(seconds=30)
        assert by_token.get("/api/v1/auth/me").status_code == 200
        assert last_used() == first
        hand_clock.advance(seconds=31)
        assert by_token.get("/api/v1/auth/me").status_code == 200
        assert last_used() != first


def test_an_expired_token_is_refused(
    sqlite_deployment: Deployment,
    bob: tuple[str, str],
    bobs_client: TestClient,
    hand_clock: HandClock,
) -> None:
    dep = sqlite_deployment
    _, user = bob
    expiry = clock.rfc3339(hand_clock.now + timedelta(hours=1))
    created = _create(bobs_client, user, expiry=expiry)
    assert created["expiry"] == expiry
    with _bearer(dep, str(created["token"])) as by_token:
        assert by_token.get("/api/v1/auth/me").status_code == 200
        hand_clock.advance(hours=1, seconds=1)
        refused = by_token.get("/api/v1/auth/me")
        assert refused.status_code == 401
        assert "'ci' expired" in refused.json()["message"]
    past = bobs_client.post(
        f"/api/v1/users/{user}/tokens", json={"name": "old", "expiry": "2020-01-01T00:00:00Z"}
    )
    assert (past.status_code, past.json()["field"]) == (400, "expiry")


def test_a_deleted_token_is_refused(
    sqlite_deployment: Deployment, bob: tuple[str, str], bobs_client: TestClient
) -> None:
    dep = sqlite_deployment
    _, user = bob
    created = _create(bobs_client, user)
    with _bearer(dep, str(created["token"])) as by_token:
        assert by_token.get("/api/v1/auth/me").status_code == 200
        deleted = bobs_client.delete(f"/api/v1/users/{user}/tokens/{created['id']}")
        assert (deleted.status_code, deleted.json()) == (200, {})
        assert by_token.get("/api/v1/auth/me").status_code == 401
    assert bobs_client.get(f"/api/v1/users/{user}/tokens").json() == []
    again = bobs_client.delete(f"/api/v1/users/{user}/tokens/{created['id']}")
    assert again.status_code == 404
    assert [r.action for r in audit_rows(dep) if r.action.startswith("token.")][:2] == [
        "token.create",
        "token.delete",
    ]


def test_a_token_outlives_session_invalidation_and_keeps_its_event_streams(
    sqlite_deployment: Deployment, bob: tuple[str, str], bobs_client: TestClient
) -> None:
    dep = sqlite_deployment
    _, user = bob
    secret = str(_create(bobs_client, user)["token"])
    invalidated = bobs_client.post(
        f"/api/v1/users/{user}/invalidate-sessions", json={"invalidate_current": "true"}
    )
    assert invalidated.status_code == 200
    assert bobs_client.get("/api/v1/auth/me").status_code == 401
    with _bearer(dep, secret) as by_token:
        assert by_token.get("/api/v1/auth/me").status_code == 200
        with by_token.stream("GET", "/api/v1/events", params={"timeout": 0.3}) as stream:
            assert stream.status_code == 200
            text = "".join(stream.iter_text())
        assert "stream ended" not in text
    # What the event feed asks every few seconds of each open stream's credentials.
    with transaction(dep.factory) as db:
        verdict = auth.authenticate_many(db, [secret])[secret]
    assert isinstance(verdict, Principal) and verdict.user_id == user


def test_another_users_tokens_need_a_permission(
    admin: TestClient, sqlite_deployment: Deployment, bob: tuple[str, str], bobs_client: TestClient
) -> None:
    dep = sqlite_deployment
    org, user = bob
    created = _create(bobs_client, user)
    add_user(dep, org, "olga", ("pol-builtin-operator",))
    with client_of(dep) as olga:
        signed_in(olga, "olga", TENANT_PASSWORD)
        assert olga.get(f"/api/v1/users/{user}/tokens").status_code == 403
        assert olga.post(f"/api/v1/users/{user}/tokens", json={"name": "x"}).status_code == 403
        gone = olga.delete(f"/api/v1/users/{user}/tokens/{created['id']}")
        assert gone.status_code == 403
        # Her own need none.
        assert olga.get("/api/v1/auth/me").status_code == 200
        olga_id = olga.get("/api/v1/auth/me").json()["id"]
        _create(olga, olga_id)
        # The root organization's user is not even visible to her.
        root_user = dep.setup.admin_user_id
        assert olga.get(f"/api/v1/users/{root_user}/tokens").status_code == 404
    # bob administers his organization; pceadmin every organization.
    assert len(bobs_client.get(f"/api/v1/users/{olga_id}/tokens").json()) == 1
    assert len(admin.get(f"/api/v1/users/{user}/tokens").json()) == 1
    assert admin.delete(f"/api/v1/users/{user}/tokens/{created['id']}").status_code == 200
    assert bobs_client.get(f"/api/v1/users/{olga_id}/tokens/").status_code == 200
