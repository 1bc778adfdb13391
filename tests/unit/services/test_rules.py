"""The small rules everything else leans on: IDs, names, access (the password rule is
tested in test_passwords.py)."""

from __future__ import annotations

import re

import pytest

from cloudenv.errors import Forbidden, InvalidInput
from cloudenv.ids import Prefix, is_id, new_id
from cloudenv.services.access import SYSTEM, Action, Principal, authorize
from cloudenv.services.iam.builtin import ADMINISTRATOR
from cloudenv.services.iam.policy import CompiledPolicy
from cloudenv.services.validation import DATACENTER_NAME, check_description, check_location

pytestmark = pytest.mark.unit


def test_ids_have_the_products_shape() -> None:
    ids = {new_id(Prefix.ORGANIZATION) for _ in range(500)}
    assert len(ids) == 500
    assert all(re.fullmatch(r"org-[A-Za-z0-9_-]{21}", i) for i in ids)
    assert is_id(new_id(Prefix.TASK), Prefix.TASK)
    assert not is_id(new_id(Prefix.TASK), Prefix.NODE)


@pytest.mark.parametrize("name", ["abc", "A_b-9", "x" * 64])
def test_valid_names(name: str) -> None:
    assert DATACENTER_NAME.check(name) == name


@pytest.mark.parametrize("name", ["ab", "x" * 65, "a b", "dc.1", "ünï", ""])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        DATACENTER_NAME.check(name)
    assert info.value.field == "name" and "3 to 64" in info.value.message


def test_description_and_location_limits() -> None:
    check_description("d" * 512)
    with pytest.raises(InvalidInput):
        check_description("d" * 513)
    assert check_location(90, -180) == (90, -180)
    with pytest.raises(InvalidInput):
        check_location(-90.01, 0)


def _tenant(org: str = "org-a") -> Principal:
    return Principal(
        user_id="user-1",
        username="alice",
        organization_id=org,
        is_root_org=False,
        policy=CompiledPolicy(ADMINISTRATOR.statements),
    )


def test_root_organization_sees_and_does_everything() -> None:
    assert SYSTEM.scope is None and SYSTEM.sees("org-anything")
    authorize(SYSTEM, Action.ORGANIZATION_CREATE, None)


def test_tenant_scope_is_its_own_organization() -> None:
    alice = _tenant()
    assert alice.scope == frozenset({"org-a"})
    assert alice.sees("org-a") and not alice.sees("org-b") and not alice.sees(None)
    authorize(alice, Action.DATACENTER_CREATE, "org-a")
    with pytest.raises(Forbidden):
        authorize(alice, Action.DATACENTER_CREATE, "org-b")
    with pytest.raises(Forbidden):
        authorize(alice, Action.ORGANIZATION_CREATE, None)
