"""The ``confirm`` query parameter every destructive route takes (one declaration, so
the OpenAPI document describes it the same way everywhere; the rule is in
``services.confirmation``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

ConfirmQuery = Annotated[
    str | None,
    Query(
        description=(
            "Optional. The client asks its user to confirm; if given, it must be DESTROY."
        ),
        examples=["DESTROY"],
    ),
]
