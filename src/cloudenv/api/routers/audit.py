"""An organization's audit trail: JSON (a bare array) or CSV, filtered and paged.

Read-only by design: the trail has no route that changes or deletes a row (the retention
purge runs inside the node, ``services.audit.purge``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.rendering import json_response, rfc3339
from cloudenv.api.schemas.iam_audit import AuditEntry
from cloudenv.services import audit

router = APIRouter(prefix="/v1/organizations", tags=["audit"])

TOTAL_HEADER = "X-Total-Count"
CSV_TYPE = "text/csv"
COLUMNS = tuple(AuditEntry.model_fields)
#: A spreadsheet runs a cell starting with one of these as a formula (CSV injection): a
#: username or message an attacker chose must open as text, so such a cell gets a leading
#: apostrophe. Tab and carriage return too, which some spreadsheets skip before reading.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def entry(row: audit.AuditRecord) -> dict[str, Any]:
    """``schemas.iam_audit.AuditEntry`` as a plain dict (a page may hold 5,000 rows)."""
    return {
        "id": row.id,
        "time": rfc3339(row.time),
        "organization_id": row.organization_id,
        "user_id": row.user_id,
        "username": row.username,
        "action": row.action,
        "target_id": row.target_id,
        "outcome": row.outcome,
        "status_code": row.status_code,
        "message": row.message,
        "source_address": row.source_address,
    }


def csv_cell(value: object) -> str:
    """One value as a CSV cell: empty for null, neutralised if it could run as a formula
    (the csv module quotes and escapes separators, quotes and line breaks)."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_document(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180's line ends
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row[c]) for c in COLUMNS])
    return buffer.getvalue()


def wants_csv(accept: str | None) -> bool:
    """Whether the caller prefers CSV: ``text/csv`` is the first of the Accept header's
    media ranges once ordered by their ``q`` (a missing q is 1; ties keep their order)."""
    if not accept:
        return False
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranges.append((-q, position, media.lower()))
    return bool(ranges) and min(ranges)[2] == CSV_TYPE


_PAGE_DOC = {
    "description": "A page of the trail, newest first: a bare array (JSON), or the same "
    "rows as CSV with a header row when the request sends `Accept: text/csv`.",
    "headers": {
        TOTAL_HEADER: {
            "description": "How many entries match the filters, over every page.",
            "schema": {"type": "integer"},
        }
    },
    "content": {CSV_TYPE: {"schema": {"type": "string"}}},
}


@router.get(
    "/{organization_id}/audit",
    response_model=list[AuditEntry],
    name="organization.audit",
    responses={200: _PAGE_DOC},
)
def list_audit(
    organization_id: str,
    request: Request,
    db: Db,
    principal: CurrentPrincipal,
    entries: Annotated[
        int,
        Query(
            ge=1,
            le=audit.ENTRIES_MAX,
            description=f"Entries per page (1 to {audit.ENTRIES_MAX}).",
        ),
    ] = audit.ENTRIES_DEFAULT,
    page: Annotated[
        int, Query(ge=1, le=1_000_000_000, description="The page, from 1 (newest).")
    ] = 1,
    user_id: Annotated[
        str | None, Query(max_length=64, description="Only this user's actions.")
    ] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only this action (instance.deploy) or family (instance.*).",
        ),
    ] = None,
    target_id: Annotated[
        str | None, Query(max_length=64, description="Only actions on this object.")
    ] = None,
    since: Annotated[
        str | None,
        Query(max_length=64, description="From this time on (RFC 3339, inclusive)."),
    ] = None,
    until: Annotated[
        str | None,
        Query(max_length=64, description="Before this time (RFC 3339, exclusive)."),
    ] = None,
) -> Response:
    """The organization's audit trail: who did what to which object, how it ended, from
    where and when. Another organization's trail is 404; the root organization's users
    read any organization's."""
    found = audit.list_entries(
        db,
        principal,
        organization_id,
        audit.AuditQuery(
            entries=entries,
            page=page,
            user_id=user_id,
            action=action,
            target_id=target_id,
            since=since,
            until=until,
        ),
    )
    rows = [entry(r) for r in found.entries]
    if wants_csv(request.headers.get("accept")):
        name = f"audit-{_file_part(organization_id)}.csv"
        response = Response(
            csv_document(rows),
            media_type=CSV_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    else:
        response = json_response(rows)
    response.headers[TOTAL_HEADER] = str(found.total)
    return response


def _file_part(organization_id: str) -> str:
    """The organization's ID in a file name (it was found, so it is an ID; still, only
    characters a header and a file name can hold)."""
    return "".join(c for c in organization_id if c.isalnum() or c in "-_")
