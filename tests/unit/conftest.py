"""Unit tests only: cheap password hashes (integration tests keep production's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.database import cheap_password_hashes


@pytest.fixture(autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2 costs about a second per hash here and unit tests sign in hundreds of times;
    tests/unit/services/test_auth.py pins the production parameters."""
    with cheap_password_hashes():
        yield
