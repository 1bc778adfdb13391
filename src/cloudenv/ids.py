"""Prefixed random resource IDs, as the product makes them: ``org-`` + 21 characters.

The alphabet is ``A-Za-z0-9_-`` (URL-safe, 126 bits of randomness), so IDs are safe
in paths and file names and never collide in practice.
"""

from __future__ import annotations

import re
import secrets
from enum import StrEnum

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
ID_LENGTH = 21


class Prefix(StrEnum):
    """The prefix of each resource kind's IDs."""

    ORGANIZATION = "org"
    DATACENTER = "dc"
    CLUSTER = "cls"
    NODE = "node"
    INSTANCE = "inst"
    USER = "user"
    POOL = "pool"
    VOLUME = "vol"
    VSWITCH = "vsw"
    AI_PROVIDER = "orgai"
    TASK = "task"
    IMAGE = "img"
    POLICY = "pol"
    API_TOKEN = "tok"  # noqa: S105 (an ID prefix, not a secret)
    LICENSE = "lic"
    LICENSE_ISSUER = "issuer"


_ID_PATTERN = re.compile(r"^(?P<prefix>[a-z]+)-[A-Za-z0-9_-]{21}$")


def new_id(prefix: Prefix) -> str:
    """Return a fresh ID such as ``org-CIgLySkaAVeQ5kSLOodD3``."""
    body = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
    return f"{prefix.value}-{body}"


def is_id(value: str, prefix: Prefix) -> bool:
    """True when ``value`` is shaped like an ID of the given kind."""
    match = _ID_PATTERN.fullmatch(value)
    return match is not None and match.group("prefix") == prefix.value
