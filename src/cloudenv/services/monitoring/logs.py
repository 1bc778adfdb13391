"""A node's daemon log (``GET /v1/nodes/{id}/logs``): the lines ``cloudenv serve`` wrote
into its data dir (``cloudenv.daemon_log``), newest ``max_points`` of a time range.

The log is kept on the node's own disk, so only that node's API can read it: asked about
another node, this one says where to ask. Reading it needs ``node_log.read``: the log holds
what error messages keep from API users (host paths, unexpected exceptions' text, other
users' names), so it is not a plain read of the node (see ``services.iam.builtin``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from cloudenv import daemon_log
from cloudenv.config import DEFAULT_PORT
from cloudenv.errors import Conflict, InvalidInput
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.paths import node_path
from cloudenv.services.tenancy.nodes import require_node

DEFAULT_POINTS = 1000
MAX_POINTS = 10000
#: Seconds the time range is widened by at each end: a line's time is shown rounded to
#: the microsecond.
TIME_SLACK = 1e-6


@dataclass(frozen=True)
class LogEntry:
    time: datetime
    priority: int
    facility: int
    identifier: str
    message: str
    #: The journal-style fields the line can be told apart by: ``LOGGER``, ``THREAD``,
    #: ``_PID`` (strings, as the journal's are).
    matches: dict[str, str]


@dataclass(frozen=True)
class LogQuery:
    since: str | None = None
    until: str | None = None
    max_points: int = DEFAULT_POINTS
    #: Only lines at least this severe (a syslog severity, 0-7).
    priority: int | None = None


def read_node_log(
    db: Session,
    principal: Principal,
    node_id: str,
    query: LogQuery,
    *,
    this_node: str,
    data_dir: Path,
) -> list[LogEntry]:
    node = require_node(db, principal, node_id)
    authorize(principal, Action.NODE_LOGS_READ, node.organization_id, node_path(db, node.id))
    since = parse_time(query.since, "since")
    until = parse_time(query.until, "until")
    if since is not None and until is not None and since > until:
        raise InvalidInput("since is after until: no line can be in between.", field="since")
    if not 1 <= query.max_points <= MAX_POINTS:
        raise InvalidInput(f"maxPoints must be from 1 to {MAX_POINTS}.", field="maxPoints")
    if query.priority is not None and not 0 <= query.priority <= 7:
        raise InvalidInput("priority is a syslog severity, from 0 to 7.", field="priority")
    if node.id != this_node:
        where = (
            f" (https://{node.ip_address}:{DEFAULT_PORT}/api/v1/nodes/{node.id}/logs)"
            if node.ip_address
            else ""
        )
        raise Conflict(
            f"Node {node.name}'s log is kept on that node; ask its own API{where}.",
            field="id",
        )
    # Times are shown to the microsecond: a line's shown time given back must find it.
    lines = daemon_log.read(
        daemon_log.log_path(data_dir),
        since=None if since is None else since - TIME_SLACK,
        until=None if until is None else until + TIME_SLACK,
        limit=query.max_points,
        max_priority=query.priority,
    )
    return [
        LogEntry(
            time=datetime.fromtimestamp(line.time, UTC),
            priority=line.priority,
            facility=daemon_log.FACILITY_DAEMON,
            identifier=line.identifier,
            message=line.message,
            matches={"LOGGER": line.logger, "THREAD": line.thread, "_PID": str(line.pid)},
        )
        for line in lines
    ]


def parse_time(value: str | None, field: str) -> float | None:
    """Unix seconds (``1767225600``, ``1767225600.5``) or an RFC 3339 / ISO 8601 time
    with its offset (``2026-01-01T00:00:00Z``), as Unix seconds."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(
            f"{field} {value!r} is neither Unix seconds nor an RFC 3339 time with an "
            "offset, such as 1767225600 or 2026-01-01T00:00:00Z.",
            field=field,
        )
    return parsed.timestamp()
