"""The audit trail. Successful changes are recorded by the service that makes them, in
the same transaction; refused or failed calls are recorded by the API's error handler in
a transaction of their own, so nothing mutating goes unrecorded.

The trail is append-only: no API route changes or deletes a row
(``tests/unit/api/test_audit_api.py`` walks the routes to keep it so). What bounds the
table is its retention (``Settings.audit_retention_days``): the node's agent deletes rows
older than that when it starts and about once an hour after (``purge``). Rows are written
per mutating call and per summary of anonymous refusals (``api/refusals.py`` folds a flood
of those into one row per source and interval), so the table grows with real use only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cloudenv import clock
from cloudenv.errors import InvalidInput, NotFound
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.store.engine import transaction
from cloudenv.store.queries import audit as q
from cloudenv.store.queries import tenancy as tenancy_queries
from cloudenv.store.tables import (
    AuditRecord as AuditRecord,  # re-exported: the API renders these rows
)

#: The most entries one page may hold, and how many a page holds unless asked.
ENTRIES_MAX = 5000
ENTRIES_DEFAULT = 50
#: Rows deleted per transaction by the retention purge.
PURGE_BATCH = 5000
#: An action as the trail names it (``instance.device_attach``), or a family of them
#: (``instance.*``), or ``*`` for all.
_ACTION = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


def record(
    db: Session,
    principal: Principal | None,
    action: str,
    *,
    target_id: str | None,
    organization_id: str | None = None,
    outcome: str = "success",
    status_code: int = 200,
    message: str = "",
    source_address: str | None = None,
) -> None:
    """Append one audit row. ``principal`` is None for anonymous calls (a failed login)."""
    db.add(
        AuditRecord(
            time=clock.now(),
            organization_id=organization_id or (principal.organization_id if principal else None),
            user_id=principal.user_id if principal else None,
            username=principal.username if principal else None,
            action=action,
            target_id=target_id,
            outcome=outcome,
            status_code=status_code,
            message=message[:1024],
            source_address=source_address or (principal.source_address if principal else None),
        )
    )


@dataclass(frozen=True)
class AuditQuery:
    """What the caller asked of an organization's trail (the route's query parameters)."""

    entries: int = ENTRIES_DEFAULT
    page: int = 1
    user_id: str | None = None
    action: str | None = None
    target_id: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: Sequence[AuditRecord]
    #: Every row the filters match, over all pages.
    total: int


def list_entries(
    db: Session, principal: Principal, organization_id: str, query: AuditQuery
) -> AuditPage:
    """One page of the organization's trail, newest first.

    An organization the caller doesn't see is NotFound: one tenant's trail is invisible to
    another. The root organization's users see every organization, so its administrators
    (and auditors) read any organization's trail by its ID; the root organization's own
    trail also holds the rows no organization owns (anonymous refusals, sign-ins under
    unknown names), which belong to the deployment as a whole.
    """
    org = tenancy_queries.get_organization(db, organization_id, principal.scope)
    if org is None:
        raise NotFound(f"Organization {organization_id} does not exist.", field="id")
    authorize(principal, Action.AUDIT_READ, org.id)
    if not 1 <= query.entries <= ENTRIES_MAX:
        raise InvalidInput(
            f"entries must be between 1 and {ENTRIES_MAX} (got {query.entries}).",
            field="entries",
        )
    if query.page < 1:
        raise InvalidInput(f"page starts at 1 (got {query.page}).", field="page")
    since, until = _time(query.since, "since"), _time(query.until, "until")
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be earlier than until.", field="since")
    action, prefix = _action(query.action)
    wanted = q.AuditFilter(
        organization_id=org.id,
        include_unowned=org.is_root,
        user_id=query.user_id or None,
        action=action,
        action_prefix=prefix,
        target_id=query.target_id or None,
        since=since,
        until=until,
    )
    rows = q.audit_page(
        db,
        wanted,
        principal.scope,
        limit=query.entries,
        offset=(query.page - 1) * query.entries,
    )
    return AuditPage(rows, q.audit_count(db, wanted, principal.scope))


def _time(value: str | None, field: str) -> datetime | None:
    """An RFC 3339 time with its offset (``2026-01-31T08:00:00Z``); without one it would be
    read in some zone the caller can't see, so it is refused."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(
            f"{field} {value!r} is not an RFC 3339 time with an offset, such as "
            "2026-01-31T08:00:00Z.",
            field=field,
        )
    return parsed


def _action(value: str | None) -> tuple[str | None, str | None]:
    """(exact action, action prefix) for the ``action`` filter."""
    if not value or value == "*":
        return None, None
    if len(value) > 64 or not _ACTION.fullmatch(value):
        raise InvalidInput(
            f"action {value[:64]!r} is not an action (instance.deploy) or a family of them "
            "(instance.*).",
            field="action",
        )
    if value.endswith(".*"):
        return None, value[:-1]
    return value, None


def purge(factory: sessionmaker[Session], retention_days: int) -> int:
    """Delete the rows older than ``retention_days`` (0 keeps every row), a batch per
    transaction; returns how many went."""
    if retention_days <= 0:
        return 0
    cutoff = clock.now() - timedelta(days=retention_days)
    removed = 0
    while True:
        with transaction(factory) as db:
            gone = q.delete_before(db, cutoff, PURGE_BATCH)
        removed += gone
        if gone < PURGE_BATCH:
            return removed
