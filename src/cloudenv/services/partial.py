"""Partial updates (PATCH): a marker for "leave this field as it is", distinct from None."""

from __future__ import annotations

from typing import Final


class Keep:
    """The type of ``KEEP``; a field given as ``KEEP`` is not changed."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep()
