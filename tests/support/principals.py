"""Users with chosen policies, for the authorization tests: made straight in the store
(the users API is not what these tests are about), signed in over the API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from cloudenv import clock
from cloudenv.ids import Prefix, new_id
from cloudenv.services import auth
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Policy, User, UserPolicy
from tests.conftest import TENANT_PASSWORD, Deployment, login


def add_user(
    dep: Deployment,
    username: str,
    policies: Sequence[str],
    organization_id: str | None = None,
) -> str:
    """A user of ``organization_id`` (the root organization by default) holding
    ``policies`` (IDs, built-in or stored) in order, with TENANT_PASSWORD; its ID."""
    with transaction(dep.factory) as db:
        user = User(
            id=new_id(Prefix.USER),
            organization_id=organization_id or dep.setup.organization_id,
            username=username,
            password_hash=auth.hash_password(TENANT_PASSWORD),
            creation=clock.now(),
        )
        db.add(user)
        db.flush()
        for position, policy_id in enumerate(policies):
            db.add(UserPolicy(user_id=user.id, policy_id=policy_id, position=position))
        return user.id


def add_policy(
    dep: Deployment,
    statements: list[dict[str, Any]],
    organization_id: str | None = None,
    name: str | None = None,
) -> str:
    """A stored policy of ``organization_id`` (root by default); its ID."""
    with transaction(dep.factory) as db:
        policy = Policy(
            id=new_id(Prefix.POLICY),
            organization_id=organization_id or dep.setup.organization_id,
            name=name or new_id(Prefix.POLICY)[-12:],
            description="",
            statements=statements,
            revision=1,
            creation=clock.now(),
        )
        db.add(policy)
        return policy.id


@contextmanager
def signed_in(dep: Deployment, username: str) -> Iterator[TestClient]:
    with TestClient(dep.daemon.app, base_url="https://testserver") as client:
        yield login(client, username, TENANT_PASSWORD)
