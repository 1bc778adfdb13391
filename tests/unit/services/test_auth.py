"""Password hashing: production keeps argon2's full cost, whatever the unit tests use.

The unit tests hash with a cheap argon2 (tests/support/database.py); these tests make sure
that shortcut can never leak into the daemon or the CLI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import Type

from cloudenv.services import auth
from tests.support.database import CHEAP_HASHER

pytestmark = pytest.mark.unit

SRC = Path(auth.__file__).resolve().parents[1]
#: RFC 9106's second recommended option (argon2-cffi's defaults since 21.2).
PRODUCTION_PREFIX = "$argon2id$v=19$m=65536,t=3,p=4$"


def test_production_parameters_are_pinned() -> None:
    hasher = auth.PRODUCTION_HASHER
    assert (hasher.type, hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        Type.ID,
        3,
        65536,
        4,
    )
    assert (hasher.hash_len, hasher.salt_len) == (32, 16)


def test_a_fresh_process_hashes_with_production_parameters() -> None:
    """What the daemon and the CLI get: nothing outside the tests lowers the cost."""
    code = "from cloudenv.services import auth; print(auth.hash_password('Sup3r-Secret-Pw!'))"
    printed = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert printed.startswith(PRODUCTION_PREFIX), printed


def test_only_tests_use_the_cheap_hasher_hook() -> None:
    users = [
        path.relative_to(SRC)
        for path in SRC.rglob("*.py")
        if "hasher_for_tests" in path.read_text()
    ]
    assert users == [Path("services/auth.py")]


def test_the_hook_restores_production_hashing() -> None:
    """The unit tests run inside the hook; leaving it brings production's cost back."""
    cheap = "$argon2id$v=19$m=8,t=1,p=1$"
    assert auth.hash_password("x" * 12).startswith(cheap)
    with auth.hasher_for_tests(auth.PRODUCTION_HASHER):
        with auth.hasher_for_tests(CHEAP_HASHER):
            assert auth.hash_password("x" * 12).startswith(cheap)
        assert auth.hash_password("x" * 12).startswith(PRODUCTION_PREFIX)
    assert auth.hash_password("x" * 12).startswith(cheap)
