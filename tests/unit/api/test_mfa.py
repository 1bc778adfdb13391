"""The second factor over HTTP: enrolment pending until confirmed, sign-in asking for the
one-time code only once the password is proven, each code (TOTP or recovery) working once,
a wrong code counting as a failed sign-in, disabling it, and an organization that requires
it letting a user without one do nothing but enroll."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from cloudenv.services.auth import OTP_NEEDED, WRONG_CREDENTIALS, WRONG_OTP
from cloudenv.store.engine import transaction
from cloudenv.store.tables import RecoveryCode, User
from tests.conftest import TENANT_PASSWORD, Deployment, audit_rows
from tests.support.signin import HandClock, answer, client_of, signed_in, try_login

pytestmark = pytest.mark.unit


@pytest.fixture
def hand_clock(monkeypatch: pytest.MonkeyPatch) -> HandClock:
    return HandClock(monkeypatch)


@pytest.fixture
def bob(sqlite_deployment: Deployment) -> tuple[str, str]:
    """(organization ID, user ID) of bob, his organization's administrator."""
    return sqlite_deployment.add_tenant(username="bob")


def _code(secret: str, clock: HandClock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now + timedelta(seconds=30 * steps))


def _enrolled(dep: Deployment, clock: HandClock) -> tuple[dict[str, Any], TestClient]:
    """bob, enrolled and confirmed: (the enrolment, his signed-in client)."""
    client = signed_in(
        TestClient(dep.daemon.app, base_url="https://testserver"), "bob", TENANT_PASSWORD
    )
    response = client.post("/api/v1/auth/mfa/enroll")
    assert response.status_code == 200, response.text
    enrolment: dict[str, Any] = response.json()
    confirmed = client.post(
        "/api/v1/auth/mfa/confirm", json={"code": _code(enrolment["secret"], clock)}
    )
    assert (confirmed.status_code, confirmed.json()) == (200, {})
    clock.advance(seconds=30)  # the confirming code is spent; sign-ins use the next ones
    return enrolment, client


def test_enrolment_is_pending_until_confirmed(
    sqlite_deployment: Deployment, bob: tuple[str, str], hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    with client_of(dep) as client:
        signed_in(client, "bob", TENANT_PASSWORD)
        enrolment = client.post("/api/v1/auth/mfa/enroll").json()
        assert set(enrolment) == {"secret", "otpauth_uri", "recovery_codes"}
        assert enrolment["otpauth_uri"].startswith("otpauth://totp/cloudenv:bob?")
        assert f"secret={enrolment['secret']}" in enrolment["otpauth_uri"]
        codes = enrolment["recovery_codes"]
        assert len(codes) == len(set(codes)) == 10
        with transaction(dep.factory) as db:
            stored = {r.code_hash for r in db.query(RecoveryCode)}
            assert len(stored) == 10 and not stored & set(codes)  # hashed
            assert db.get_one(User, bob[1]).mfa_enabled is False
        # Pending: the password alone still signs in.
        with client_of(dep) as other:
            signed_in(other, "bob", TENANT_PASSWORD)
        wrong = client.post("/api/v1/auth/mfa/confirm", json={"code": "000000"})
        if _code(enrolment["secret"], hand_clock) != "000000":
            assert (wrong.status_code, wrong.json()["field"]) == (400, "code")
        confirmed = client.post(
            "/api/v1/auth/mfa/confirm", json={"code": _code(enrolment["secret"], hand_clock)}
        )
        assert confirmed.status_code == 200, confirmed.text
        again = client.post("/api/v1/auth/mfa/enroll")
        assert again.status_code == 409
    actions = [r.action for r in audit_rows(dep) if r.action.startswith("auth.mfa")]
    assert actions[0] == "auth.mfa_enroll" and actions[-2:] == [
        "auth.mfa_confirm",
        "auth.mfa_enroll",
    ]


def test_sign_in_asks_for_the_code_only_after_the_right_password(
    sqlite_deployment: Deployment, bob: tuple[str, str], hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    enrolment, _ = _enrolled(dep, hand_clock)
    with client_of(dep) as client:
        # A wrong password says nothing of a second factor, with or without a code.
        assert answer(try_login(client, "bob", "Not-The-Passw0rd")) == (
            401,
            WRONG_CREDENTIALS,
            None,
        )
        assert (
            answer(try_login(client, "bob", "Not-The-Passw0rd", otp="123456"))[1]
            == WRONG_CREDENTIALS
        )
        assert answer(try_login(client, "bob", TENANT_PASSWORD)) == (401, OTP_NEEDED, "otp")
        assert "one-time code" in OTP_NEEDED and "otp" in OTP_NEEDED
        code = _code(enrolment["secret"], hand_clock)
        response = try_login(client, "bob", TENANT_PASSWORD, otp=code)
        assert response.status_code == 200, response.text
        # The same code again, within its window: refused.
        assert answer(try_login(client, "bob", TENANT_PASSWORD, otp=code)) == (
            401,
            WRONG_OTP,
            "otp",
        )
        # The next step's code works.
        hand_clock.advance(seconds=30)
        signed_in(client, "bob", TENANT_PASSWORD, otp=_code(enrolment["secret"], hand_clock))
        # A code from a minute ago is out of the window.
        stale = _code(enrolment["secret"], hand_clock, -2)
        assert answer(try_login(client, "bob", TENANT_PASSWORD, otp=stale))[0] == 401


def test_each_recovery_code_works_once(
    sqlite_deployment: Deployment, bob: tuple[str, str], hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    enrolment, _ = _enrolled(dep, hand_clock)
    first, second = enrolment["recovery_codes"][:2]
    with client_of(dep) as client:
        signed_in(client, "bob", TENANT_PASSWORD, otp=first)
        assert answer(try_login(client, "bob", TENANT_PASSWORD, otp=first)) == (
            401,
            WRONG_OTP,
            "otp",
        )
        signed_in(client, "bob", TENANT_PASSWORD, otp=second.upper().replace("-", ""))
    with transaction(dep.factory) as db:
        left = db.query(RecoveryCode).filter(
            RecoveryCode.user_id == bob[1], RecoveryCode.used.is_(None)
        )
        assert left.count() == 8


def test_a_recovery_code_is_only_its_users(
    sqlite_deployment: Deployment, bob: tuple[str, str], hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    enrolment, _ = _enrolled(dep, hand_clock)
    org, _ = bob
    from tests.support.signin import add_user

    add_user(dep, org, "carol", ("pol-builtin-operator",))
    with client_of(dep) as carol:
        signed_in(carol, "carol", TENANT_PASSWORD)
        carols = carol.post("/api/v1/auth/mfa/enroll").json()
        carol.post("/api/v1/auth/mfa/confirm", json={"code": _code(carols["secret"], hand_clock)})
        hand_clock.advance(seconds=30)
        refused = try_login(carol, "carol", TENANT_PASSWORD, otp=enrolment["recovery_codes"][0])
        assert answer(refused) == (401, WRONG_OTP, "otp")


def test_wrong_codes_count_as_failed_sign_ins(
    admin: TestClient, sqlite_deployment: Deployment, bob: tuple[str, str], hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    enrolment, _ = _enrolled(dep, hand_clock)
    good = _code(enrolment["secret"], hand_clock)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    with client_of(dep) as client:
        for _ in range(5):
            assert answer(try_login(client, "bob", TENANT_PASSWORD, otp=wrong))[1] == WRONG_OTP
        # Locked: even the right password and code get the one answer of a wrong password.
        locked = try_login(client, "bob", TENANT_PASSWORD, otp=good)
        assert answer(locked) == (401, WRONG_CREDENTIALS, None)
    (lockout,) = admin.get(f"/api/v1/organizations/{bob[0]}/lockouts").json()
    assert lockout["failures"] == 5


def test_disabling_needs_a_code_or_the_password(
    sqlite_deployment: Deployment, bob: tuple[str, str], hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    enrolment, client = _enrolled(dep, hand_clock)
    refused = client.post("/api/v1/auth/mfa/disable", json={"password": "Not-The-Passw0rd"})
    assert (refused.status_code, refused.json()["field"]) == (400, "password")
    neither = client.post("/api/v1/auth/mfa/disable", json={})
    assert neither.status_code == 400
    bad_code = client.post("/api/v1/auth/mfa/disable", json={"code": "zzzzz-zzzzz"})
    assert (bad_code.status_code, bad_code.json()["field"]) == (400, "code")
    with client_of(dep) as other:
        assert answer(try_login(other, "bob", TENANT_PASSWORD))[2] == "otp"
    ok = client.post("/api/v1/auth/mfa/disable", json={"code": enrolment["recovery_codes"][3]})
    assert (ok.status_code, ok.json()) == (200, {})
    with client_of(dep) as other:
        signed_in(other, "bob", TENANT_PASSWORD)
    with transaction(dep.factory) as db:
        user = db.get_one(User, bob[1])
        assert (user.mfa_enabled, user.mfa_secret) == (False, None)
        assert db.query(RecoveryCode).filter(RecoveryCode.user_id == bob[1]).count() == 0
    # And on again, then off by the password.
    _enrolled(dep, hand_clock)
    ok = client.post("/api/v1/auth/mfa/disable", json={"password": TENANT_PASSWORD})
    assert ok.status_code == 200, ok.text


def test_an_organization_that_requires_mfa_lets_a_user_without_it_only_enroll(
    admin: TestClient, sqlite_deployment: Deployment, bob: tuple[str, str], hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    org, _ = bob
    response = admin.patch(f"/api/v1/organizations/{org}/security", json={"require_mfa": True})
    assert (response.status_code, response.json()["require_mfa"]) == (200, True)
    with client_of(dep) as client:
        login = try_login(client, "bob", TENANT_PASSWORD)
        assert login.status_code == 200, login.text
        assert login.json()["user"]["must_enroll_mfa"] is True
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        for path in ["/api/v1/organizations", f"/api/v1/organizations/{org}", "/api/v1/events"]:
            refused = client.get(path)
            assert refused.status_code == 403, (path, refused.text)
            assert "enroll" in refused.json()["message"]
        assert client.post(f"/api/v1/users/{bob[1]}/tokens", json={"name": "x"}).status_code == 403
        assert client.get("/api/v1/auth/me").json()["must_enroll_mfa"] is True
        enrolment = client.post("/api/v1/auth/mfa/enroll").json()
        assert client.get("/api/v1/organizations").status_code == 403  # pending: not yet
        confirm = {"code": _code(enrolment["secret"], hand_clock)}
        assert client.post("/api/v1/auth/mfa/confirm", json=confirm).status_code == 200
        # The same session may now do what bob's policies allow.
        assert client.get(f"/api/v1/organizations/{org}").status_code == 200
        assert client.get("/api/v1/auth/me").json()["must_enroll_mfa"] is False
        hand_clock.advance(seconds=30)
        assert answer(try_login(client, "bob", TENANT_PASSWORD))[2] == "otp"
    # The root organization is not affected by another's setting.
    assert admin.get("/api/v1/organizations").status_code == 200


def test_lockouts_and_spent_codes_on_every_backend(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure count (audit rows), the lockout's end, a TOTP code's replay refused
    by its insert-or-nothing, and a recovery code's compare-and-set, on SQLite and
    PostgreSQL alike."""
    hand_clock = HandClock(monkeypatch)
    deployment.add_tenant(username="bob")
    with TestClient(deployment.daemon.app, base_url="https://testserver") as client:
        enrolment, _ = _enrolled(deployment, hand_clock)
        code = _code(enrolment["secret"], hand_clock)
        signed_in(client, "bob", TENANT_PASSWORD, otp=code)
        assert answer(try_login(client, "bob", TENANT_PASSWORD, otp=code))[1] == WRONG_OTP
        recovery = enrolment["recovery_codes"][0]
        signed_in(client, "bob", TENANT_PASSWORD, otp=recovery)
        assert answer(try_login(client, "bob", TENANT_PASSWORD, otp=recovery))[1] == WRONG_OTP
        for _ in range(4):
            try_login(client, "bob", "Not-The-Passw0rd")
        # Since the last sign-in, the replayed recovery code and four wrong passwords:
        # five failures, locked.
        hand_clock.advance(seconds=30)
        locked = try_login(
            client, "bob", TENANT_PASSWORD, otp=_code(enrolment["secret"], hand_clock)
        )
        assert answer(locked) == (401, WRONG_CREDENTIALS, None)
        hand_clock.advance(minutes=15, seconds=1)
        signed_in(client, "bob", TENANT_PASSWORD, otp=_code(enrolment["secret"], hand_clock))
