"""What the sign-in security tests share: a clock they move by hand, and clients that sign
in as someone (or try to) over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cloudenv import clock
from tests.conftest import Deployment

LOGIN = "/api/v1/auth/login"


class HandClock:
    """``cloudenv.clock.now`` moved by hand: lockout windows, token expiry and one-time
    codes are tested without waiting. Each reading moves it on by a millisecond, so
    things that happen one after the other still happen at different times."""

    TICK = timedelta(milliseconds=1)

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now: datetime = clock.now()
        monkeypatch.setattr(clock, "now", self.read)

    def read(self) -> datetime:
        self.now += self.TICK
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@contextmanager
def client_of(dep: Deployment, address: str = "203.0.113.7") -> Iterator[TestClient]:
    """A client of the deployment's app whose requests come from ``address``."""
    with TestClient(dep.daemon.app, base_url="https://testserver", client=(address, 50000)) as c:
        yield c


def try_login(client: TestClient, username: str, password: str, **extra: Any) -> httpx.Response:
    return client.post(LOGIN, json={"username": username, "password": password, **extra})


def signed_in(client: TestClient, username: str, password: str, **extra: Any) -> TestClient:
    """``client`` signed in (bearer token) as ``username``; fails the test otherwise."""
    response = try_login(client, username, password, **extra)
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return client


def answer(response: httpx.Response) -> tuple[int, str, str | None]:
    """Status, message and field of a reply: what a caller can learn from it."""
    body = response.json()
    return response.status_code, body.get("message", ""), body.get("field")


def add_user(
    dep: Deployment, organization_id: str, username: str, policies: tuple[str, ...] = ()
) -> str:
    """One more user of ``organization_id`` with ``policies`` and TENANT_PASSWORD; its ID."""
    from cloudenv.ids import Prefix, new_id
    from cloudenv.services import auth
    from cloudenv.store.engine import transaction
    from cloudenv.store.tables import User, UserPolicy
    from tests.conftest import TENANT_PASSWORD

    with transaction(dep.factory) as db:
        user = User(
            id=new_id(Prefix.USER),
            organization_id=organization_id,
            username=username,
            password_hash=auth.hash_password(TENANT_PASSWORD),
            creation=clock.now(),
        )
        db.add(user)
        db.flush()
        for position, policy_id in enumerate(policies):
            db.add(UserPolicy(user_id=user.id, policy_id=policy_id, position=position))
        return user.id
