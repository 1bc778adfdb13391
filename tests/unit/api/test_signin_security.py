"""Sign-in under attack, over HTTP: accounts lock after repeated failures and unlock (by
themselves or by an administrator), answers never tell which user names exist or whether
a guess against a locked account was right, an address that keeps failing is throttled
before any password is hashed, a flood of sign-ins is bounded by the hashing pool, and a
user's sessions can be ended (all, or all but the current one)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv.api.event_feed import feed_for
from cloudenv.errors import TooManyRequests
from cloudenv.services import auth
from cloudenv.services.auth import WRONG_CREDENTIALS
from cloudenv.services.iam import hashing
from cloudenv.services.iam.hashing import HashGate
from cloudenv.store.engine import transaction
from cloudenv.store.tables import AuditRecord, User
from tests.conftest import TENANT_PASSWORD, Deployment, audit_rows
from tests.support.served_node import ADMIN_PASSWORD
from tests.support.signin import (
    HandClock,
    add_user,
    answer,
    client_of,
    signed_in,
    try_login,
)

pytestmark = pytest.mark.unit

WRONG = (401, WRONG_CREDENTIALS, None)


@dataclass(frozen=True)
class Tenant:
    organization_id: str
    user_id: str  # bob, the organization's administrator


@pytest.fixture
def tenant_b(sqlite_deployment: Deployment) -> Tenant:
    org, user = sqlite_deployment.add_tenant(username="bob")
    return Tenant(org, user)


@pytest.fixture
def hand_clock(monkeypatch: pytest.MonkeyPatch) -> HandClock:
    return HandClock(monkeypatch)


def _fail(dep: Deployment, times: int, username: str = "bob", address: str = "203.0.113.7") -> None:
    with client_of(dep, address) as client:
        for _ in range(times):
            assert answer(try_login(client, username, "Not-The-Passw0rd")) == WRONG


def _bob_signs_in(dep: Deployment) -> int:
    with client_of(dep) as client:
        return try_login(client, "bob", TENANT_PASSWORD).status_code


def _lockouts(admin: TestClient, org: str, **params: int) -> list[dict[str, object]]:
    response = admin.get(f"/api/v1/organizations/{org}/lockouts", params=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, object]] = response.json()
    return result


# Lockouts ----------------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_against_the_right_password(
    admin: TestClient, sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    _fail(dep, 4)
    assert _lockouts(admin, tenant_b.organization_id) == []
    _fail(dep, 1)
    with client_of(dep) as client:
        assert answer(try_login(client, "bob", TENANT_PASSWORD)) == WRONG
    (lockout,) = _lockouts(admin, tenant_b.organization_id)
    assert lockout["user_id"] == tenant_b.user_id and lockout["username"] == "bob"
    assert (lockout["failures"], lockout["active"]) == (5, True)
    assert lockout["source_address"] == "203.0.113.7"
    assert set(lockout) == {
        "id",
        "user_id",
        "username",
        "locked_at",
        "until",
        "failures",
        "source_address",
        "active",
    }
    locks = [r for r in audit_rows(dep) if r.action == "auth.lockout"]
    assert [(r.target_id, r.organization_id) for r in locks] == [
        (tenant_b.user_id, tenant_b.organization_id)
    ]


def test_a_lockout_ends_by_itself(
    admin: TestClient, sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    _fail(dep, 5)
    hand_clock.advance(minutes=14, seconds=59)
    assert _bob_signs_in(dep) == 401
    hand_clock.advance(seconds=2)
    assert _bob_signs_in(dep) == 200
    (lockout,) = _lockouts(admin, tenant_b.organization_id)
    assert lockout["active"] is False


def test_failures_count_within_the_window_and_not_before_a_lockout_ended(
    sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    _fail(dep, 4)
    hand_clock.advance(minutes=15, seconds=1)
    _fail(dep, 4)  # the first four are out of the window: eight failures, no lock
    assert _bob_signs_in(dep) == 200
    # A success starts the count afresh.
    _fail(dep, 4)
    assert _bob_signs_in(dep) == 200
    # Failures made while locked don't count towards the next lock.
    _fail(dep, 5 + 3)
    hand_clock.advance(minutes=16)
    _fail(dep, 1)
    assert _bob_signs_in(dep) == 200


def test_an_administrator_clears_a_lockout(
    admin: TestClient, sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    _fail(dep, 5)
    response = admin.delete(f"/api/v1/users/{tenant_b.user_id}/lockout")
    assert (response.status_code, response.json()) == (200, {})
    (lockout,) = _lockouts(admin, tenant_b.organization_id)
    assert lockout["active"] is False
    with transaction(dep.factory) as db:
        assert db.get_one(User, tenant_b.user_id).failed_logins == 0
    (unlock,) = [r for r in audit_rows(dep) if r.action == "user.unlock"]
    assert (unlock.target_id, unlock.username, unlock.outcome) == (
        tenant_b.user_id,
        "pceadmin",
        "success",
    )
    assert _bob_signs_in(dep) == 200


def test_clearing_also_forgets_failures_that_did_not_lock_yet(
    admin: TestClient, sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    _fail(dep, 4)
    assert admin.delete(f"/api/v1/users/{tenant_b.user_id}/lockout").status_code == 200
    _fail(dep, 4)
    assert _bob_signs_in(dep) == 200
    assert _lockouts(admin, tenant_b.organization_id) == []


def test_who_may_see_and_clear_lockouts(
    sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    org = tenant_b.organization_id
    add_user(dep, org, "olga", ("pol-builtin-operator",))
    add_user(dep, org, "audrey", ("pol-builtin-auditor",))
    _fail(dep, 5)
    with client_of(dep, "192.0.2.1") as operator, client_of(dep, "192.0.2.2") as auditor:
        signed_in(operator, "olga", TENANT_PASSWORD)
        signed_in(auditor, "audrey", TENANT_PASSWORD)
        assert operator.get(f"/api/v1/organizations/{org}/lockouts").status_code == 403
        assert operator.delete(f"/api/v1/users/{tenant_b.user_id}/lockout").status_code == 403
        assert len(auditor.get(f"/api/v1/organizations/{org}/lockouts").json()) == 1
        assert auditor.delete(f"/api/v1/users/{tenant_b.user_id}/lockout").status_code == 403
    assert _bob_signs_in(dep) == 401


def test_lockouts_list_active_first_in_pages(
    admin: TestClient, sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    org = tenant_b.organization_id
    _fail(dep, 5)
    hand_clock.advance(minutes=16)
    _fail(dep, 5)
    both = _lockouts(admin, org)
    assert [lock["active"] for lock in both] == [True, False]
    assert _lockouts(admin, org, entries=1, page=2) == both[1:]
    assert _lockouts(admin, org, entries=1, page=3) == []
    for bad in (0, 5001):
        response = admin.get(f"/api/v1/organizations/{org}/lockouts", params={"entries": bad})
        assert (response.status_code, response.json()["field"]) == (400, "entries")


def test_the_organization_sets_its_lockout_rules(
    admin: TestClient, sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    path = f"/api/v1/organizations/{tenant_b.organization_id}/security"
    assert admin.get(path).json() == {
        "require_mfa": False,
        "lockout_threshold": 5,
        "lockout_window_minutes": 15,
        "lockout_minutes": 15,
    }
    response = admin.patch(path, json={"lockout_threshold": 2, "lockout_minutes": 1})
    assert response.status_code == 200, response.text
    assert response.json()["lockout_threshold"] == 2
    _fail(dep, 2)
    assert _bob_signs_in(dep) == 401
    hand_clock.advance(minutes=1, seconds=1)
    assert _bob_signs_in(dep) == 200
    refused = admin.patch(path, json={"lockout_threshold": 0})
    assert (refused.status_code, refused.json()["field"]) == (400, "lockout_threshold")
    assert admin.get(path).json()["lockout_threshold"] == 2
    changes = [r for r in audit_rows(dep) if r.action == "organization.security_update"]
    assert [r.outcome for r in changes] == ["success", "failure"]
    assert "lockout_threshold=2" in changes[0].message


# No oracle ---------------------------------------------------------------------------------


def test_answers_never_tell_whether_a_user_exists_or_a_locked_guess_was_right(
    sqlite_deployment: Deployment, tenant_b: Tenant, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    with client_of(dep) as client:
        unknown = answer(try_login(client, "nobody-here", "Not-The-Passw0rd"))
        wrong = answer(try_login(client, "bob", "Not-The-Passw0rd"))
        _fail(dep, 4)
        locked_wrong = answer(try_login(client, "bob", "Not-The-Passw0rd"))
        locked_right = answer(try_login(client, "bob", TENANT_PASSWORD))
        unknown_later = answer(try_login(client, "nobody-here", TENANT_PASSWORD))
    assert unknown == wrong == locked_wrong == locked_right == unknown_later == WRONG


# Throttling --------------------------------------------------------------------------------


class CountingHasher(PasswordHasher):
    """The cheap test hasher, counting verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


def test_an_address_that_keeps_failing_is_throttled_before_hashing(
    admin: TestClient, sqlite_deployment: Deployment, hand_clock: HandClock
) -> None:
    dep = sqlite_deployment
    hasher = CountingHasher()
    with auth.hasher_for_tests(hasher), client_of(dep, "198.51.100.9") as guesser:
        for i in range(20):  # different names: no account locks, the address does
            assert answer(try_login(guesser, f"guess-{i}", "Not-The-Passw0rd")) == WRONG
        verified, audited = hasher.verified, len(audit_rows(dep))
        hand_clock.advance(minutes=5)
        for username, password in [("someone", "x"), ("pceadmin", ADMIN_PASSWORD)]:
            throttled = try_login(guesser, username, password)
            assert throttled.status_code == 429, throttled.text
            assert throttled.headers["Retry-After"] == "600"  # the oldest failure + 15 min
            assert "198.51.100.9" in throttled.json()["message"]
        assert (hasher.verified, len(audit_rows(dep))) == (verified, audited)
        # Another address is not affected.
        with client_of(dep, "198.51.100.10") as other:
            signed_in(other, "pceadmin", ADMIN_PASSWORD)
        hand_clock.advance(minutes=10, seconds=1)
        signed_in(guesser, "pceadmin", ADMIN_PASSWORD)


# The hashing pool --------------------------------------------------------------------------


class BlockingHasher(PasswordHasher):
    """The cheap test hasher, whose verifications wait for ``release``."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.entered = threading.Event()
        self.release = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.entered.set()
        self.release.wait(30)
        return super().verify(hash, password)


@pytest.fixture
def blocking_hasher() -> Iterator[BlockingHasher]:
    hasher = BlockingHasher()
    try:
        with auth.hasher_for_tests(hasher):
            yield hasher
    finally:
        hasher.release.set()


def test_sign_ins_beyond_the_hashing_queue_get_429(
    sqlite_deployment: Deployment, blocking_hasher: BlockingHasher
) -> None:
    dep = sqlite_deployment
    first: list[int] = []

    def sign_in_slowly() -> None:
        with client_of(dep, "192.0.2.10") as client:
            first.append(try_login(client, "pceadmin", "Not-The-Passw0rd").status_code)

    with hashing.gate_for_tests(HashGate(slots=1, queue=0)) as gate:
        slow = threading.Thread(target=sign_in_slowly)
        slow.start()
        assert blocking_hasher.entered.wait(30)
        with client_of(dep, "192.0.2.11") as client:
            refused = try_login(client, "pceadmin", ADMIN_PASSWORD)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert "too many passwords" in refused.json()["message"]
        assert gate.running == 1
        blocking_hasher.release.set()
        slow.join(30)
        assert first == [401]
        # The slot is free again.
        with client_of(dep, "192.0.2.11") as client:
            signed_in(client, "pceadmin", ADMIN_PASSWORD)


def test_the_gate_queues_up_to_its_limit() -> None:
    gate = HashGate(slots=1, queue=1, max_wait=30)
    holding, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def hold() -> str:
        holding.set()
        release.wait(30)
        return "held"

    holder = threading.Thread(target=lambda: outcomes.append(gate.run(hold)))
    holder.start()
    assert holding.wait(30)
    waiter = threading.Thread(target=lambda: outcomes.append(gate.run(lambda: "queued")))
    waiter.start()
    while gate.waiting < 1:  # until the waiter is queued behind the holder
        threading.Event().wait(0.01)
    with pytest.raises(TooManyRequests) as refused:
        gate.run(lambda: "refused")
    assert refused.value.retry_after is not None and refused.value.retry_after >= 1
    release.set()
    holder.join(30)
    waiter.join(30)
    # Both ran; the order of their threads' appends is the scheduler's, not the gate's.
    assert sorted(outcomes) == ["held", "queued"]
    assert (gate.running, gate.waiting) == (0, 0)


def test_hashing_runs_behind_other_work() -> None:
    """The hashing threads' CPU priority is lowered (Linux: their niceness)."""
    gate = HashGate(slots=1)
    niceness = gate.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert niceness >= hashing.HASH_NICE


def test_production_hashing_has_a_gate_of_about_the_core_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(hashing.SLOTS_ENV, "3")
    assert hashing.default_slots() == 3
    monkeypatch.delenv(hashing.SLOTS_ENV)
    assert hashing.default_slots() >= 1
    assert hashing.gate().queue == hashing.gate().slots * hashing.QUEUE_PER_SLOT


# Sessions ----------------------------------------------------------------------------------


def _sessions(dep: Deployment, count: int, username: str = "bob") -> list[TestClient]:
    clients = []
    for i in range(count):
        client = TestClient(dep.daemon.app, base_url="https://testserver", client=(f"::{i}", 1))
        clients.append(signed_in(client, username, TENANT_PASSWORD))
    return clients


def _me(client: TestClient) -> int:
    return client.get("/api/v1/auth/me").status_code


def test_a_user_ends_their_other_sessions_and_keeps_the_current_one(
    sqlite_deployment: Deployment, tenant_b: Tenant
) -> None:
    current, other = _sessions(sqlite_deployment, 2)
    path = f"/api/v1/users/{tenant_b.user_id}/invalidate-sessions"
    response = current.post(path, json={"invalidate_current": "false"})
    assert (response.status_code, response.json()) == (200, {})
    assert (_me(current), _me(other)) == (200, 401)
    response = current.post(path, json={"invalidate_current": "true"})
    assert response.status_code == 200
    assert _me(current) == 401
    audited = [r for r in audit_rows(sqlite_deployment) if r.action == "user.invalidate_sessions"]
    assert [r.message for r in audited] == [
        "1 session(s) of bob ended (the current one kept)",
        "1 session(s) of bob ended",
    ]


def test_the_flag_is_a_string_as_the_product_sends_it(
    sqlite_deployment: Deployment, tenant_b: Tenant
) -> None:
    (current,) = _sessions(sqlite_deployment, 1)
    path = f"/api/v1/users/{tenant_b.user_id}/invalidate-sessions"
    refused = current.post(path, json={"invalidate_current": False})
    assert (refused.status_code, refused.json()["field"]) == (400, "invalidate_current")
    assert _me(current) == 200


def test_an_administrator_ends_another_users_sessions_but_an_operator_may_not(
    admin: TestClient, sqlite_deployment: Deployment, tenant_b: Tenant
) -> None:
    dep = sqlite_deployment
    add_user(dep, tenant_b.organization_id, "olga", ("pol-builtin-operator",))
    (olga,) = _sessions(dep, 1, "olga")
    bobs = _sessions(dep, 2)
    path = f"/api/v1/users/{tenant_b.user_id}/invalidate-sessions"
    assert olga.post(path, json={"invalidate_current": "true"}).status_code == 403
    assert [_me(c) for c in bobs] == [200, 200]
    # "false" keeps the caller's own session, which is not one of bob's: all of his end.
    assert admin.post(path, json={"invalidate_current": "false"}).status_code == 200
    assert [_me(c) for c in bobs] == [401, 401]
    assert _me(admin) == 200


def test_an_ended_sessions_event_stream_ends(
    sqlite_deployment: Deployment, tenant_b: Tenant
) -> None:
    from tests.unit.api.test_event_stream import StreamReader

    dep = sqlite_deployment
    current, doomed = _sessions(dep, 2)
    token = doomed.headers["Authorization"].removeprefix("Bearer ")
    reader = StreamReader(dep, token, timeout=20)
    reader.start()
    feed = feed_for(dep.daemon.app.state, dep.factory)
    opened = threading.Event()
    for _ in range(500):  # until the stream is subscribed (not a fixed sleep)
        if feed.count(tenant_b.user_id) >= 1:
            opened.set()
            break
        opened.wait(0.01)
    assert opened.is_set()
    path = f"/api/v1/users/{tenant_b.user_id}/invalidate-sessions"
    assert current.post(path, json={"invalidate_current": "false"}).status_code == 200
    reader.join(25)
    assert reader.status == 200
    assert reader.seconds < 15, f"the stream outlived its ended session ({reader.seconds} s)"
    assert "session" in reader.text


def test_failed_sign_ins_are_audited_with_the_user_tried(
    sqlite_deployment: Deployment, tenant_b: Tenant
) -> None:
    _fail(sqlite_deployment, 1)
    with transaction(sqlite_deployment.factory) as db:
        (row,) = db.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "auth.login", AuditRecord.outcome == "failure"
            )
        )
    assert (row.target_id, row.organization_id, row.source_address) == (
        tenant_b.user_id,
        tenant_b.organization_id,
        "203.0.113.7",
    )
    assert row.message == "Wrong password for 'bob'"
