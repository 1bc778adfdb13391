"""Sign-in: tokens and cookies, failures counted and audited, sessions that end."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cloudenv import clock
from cloudenv.api.deps import SESSION_COOKIE
from cloudenv.services.auth import WRONG_CREDENTIALS
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Session_, User
from tests.conftest import ADMIN_PASSWORD, Deployment, audit_rows

pytestmark = pytest.mark.unit


def _admin(dep: Deployment) -> User:
    with transaction(dep.factory) as db:
        return db.scalars(select(User).where(User.username == "pceadmin")).one()


def test_login_returns_token_and_secure_cookie(anon: TestClient) -> None:
    response = anon.post(
        "/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "pceadmin" and body["user"]["is_root"] is True
    (cookie,) = SimpleCookie(response.headers["set-cookie"]).values()
    assert (cookie.key, cookie.value) == (SESSION_COOKIE, body["token"])
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/" and int(cookie["max-age"]) == body["expires_in"]
    # The cookie alone authenticates (the product's stdio client sends only a Cookie).
    me = anon.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["username"] == "pceadmin"


def test_token_is_stored_only_as_a_hash(admin: TestClient, sqlite_deployment: Deployment) -> None:
    token = admin.headers["Authorization"].removeprefix("Bearer ")
    with transaction(sqlite_deployment.factory) as db:
        hashes = list(db.scalars(select(Session_.token_hash)))
    assert token not in hashes and len(hashes) == 1


def test_wrong_password_is_counted_and_audited(
    anon: TestClient, sqlite_deployment: Deployment
) -> None:
    for _ in range(2):
        response = anon.post(
            "/api/v1/auth/login", json={"username": "pceadmin", "password": "wrong"}
        )
        assert response.status_code == 401
        assert response.json()["message"] == WRONG_CREDENTIALS
    user = _admin(sqlite_deployment)
    assert user.failed_logins == 2 and user.last_failed_login is not None
    failures = [
        r
        for r in audit_rows(sqlite_deployment)
        if r.action == "auth.login" and r.outcome == "failure"
    ]
    assert len(failures) == 2 and failures[0].target_id == user.id
    # A success resets the counter.
    anon.post("/api/v1/auth/login", json={"username": "pceadmin", "password": ADMIN_PASSWORD})
    assert _admin(sqlite_deployment).failed_logins == 0


def test_unknown_user_gets_the_same_answer(anon: TestClient) -> None:
    response = anon.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert response.status_code == 401
    assert response.json()["message"] == WRONG_CREDENTIALS


def test_logout_ends_the_session(admin: TestClient) -> None:
    assert admin.post("/api/v1/auth/logout").json() == {}
    assert admin.get("/api/v1/organizations").status_code == 401


def test_expired_session_is_refused(admin: TestClient, sqlite_deployment: Deployment) -> None:
    with transaction(sqlite_deployment.factory) as db:
        db.execute(update(Session_).values(expires=clock.now() - timedelta(seconds=1)))
    response = admin.get("/api/v1/organizations")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_disabled_user_is_refused(admin: TestClient, sqlite_deployment: Deployment) -> None:
    with transaction(sqlite_deployment.factory) as db:
        db.execute(update(User).values(enabled=False))
    assert admin.get("/api/v1/organizations").status_code == 401


def test_missing_login_fields(anon: TestClient) -> None:
    response = anon.post("/api/v1/auth/login", json={"username": "pceadmin"})
    assert response.status_code == 400
    assert response.json()["field"] == "password"


def _sign_in(anon: TestClient, password: str) -> tuple[int, str]:
    response = anon.post("/api/v1/auth/login", json={"username": "pceadmin", "password": password})
    return response.status_code, response.json().get("message", "")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"enabled": False}, "User pceadmin is disabled; ask an administrator to enable it."),
        ({"locked": True}, "User pceadmin is locked; ask an administrator to unlock it."),
        (
            {"expiry": clock.now().replace(year=2020, month=3, day=1, hour=9, minute=30)},
            "User pceadmin expired on 2020-03-01 09:30 UTC; ask an administrator to extend it.",
        ),
    ],
    ids=["disabled", "locked", "expired"],
)
def test_a_user_who_may_not_sign_in_is_told_why_after_the_right_password(
    anon: TestClient, sqlite_deployment: Deployment, change: dict[str, object], expected: str
) -> None:
    with transaction(sqlite_deployment.factory) as db:
        db.execute(update(User).where(User.username == "pceadmin").values(**change))
    # A wrong password gets the one answer an unknown user gets: no hint that the user
    # exists, let alone that it is disabled.
    assert _sign_in(anon, "wrong") == (401, WRONG_CREDENTIALS)
    assert _sign_in(anon, ADMIN_PASSWORD) == (401, expected)
    assert SESSION_COOKIE not in anon.cookies
    with transaction(sqlite_deployment.factory) as db:
        assert list(db.scalars(select(Session_))) == []
    refusals = [
        r
        for r in audit_rows(sqlite_deployment)
        if r.action == "auth.login" and r.outcome == "failure"
    ]
    assert [r.message for r in refusals][-1] == expected
