"""The tenant-scoping primitive: the one place a query learns what its caller may see.

A ``Scope`` is a plain value the caller's principal provides (``Principal.scope`` in
``services.access``): the set of organization IDs it sees, or ``UNSCOPED`` (None) for
all of them. Every selector in ``store.queries`` takes one and applies it here, with
``restrict``; none filters by organization on its own. IAM widens this one function (and
the value) when roles arrive, and every selector follows.

Rows of other tenants are simply not found, so services report them as NotFound (404),
never Forbidden. Code acting as the node itself (the agent) passes ``UNSCOPED`` by name,
so reading everything is visible where it happens.
"""

from __future__ import annotations

from typing import Any, Final, TypeVarTuple

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import InstrumentedAttribute

#: The organizations a caller sees; None sees every organization (the root organization,
#: the node itself). Treat it as opaque outside this module.
Scope = frozenset[str] | None

#: For code acting as the node or the deployment itself: sees every organization.
UNSCOPED: Final[Scope] = None

Columns = TypeVarTuple("Columns")


def restrict(
    stmt: Select[*Columns],
    organization_column: ColumnElement[Any] | InstrumentedAttribute[Any],
    scope: Scope,
) -> Select[*Columns]:
    """``stmt`` limited to rows whose ``organization_column`` the scope sees."""
    if scope is None:
        return stmt
    return stmt.where(organization_column.in_(scope))


def sees(scope: Scope, organization_id: str | None) -> bool:
    """Whether a row of ``organization_id`` is visible in ``scope`` (for rows in hand)."""
    return scope is None or (organization_id is not None and organization_id in scope)
