"""A node's system jobs (``GET /v1/nodes/{id}/jobs``): the periodic upkeep its agent does
(heartbeat, instance state sync, metrics sampling, audit purge, storage propagation...).

The agent's scheduler (``agent.jobs``) runs them and writes each job's state here with
:func:`record`; the API, in whatever process or node it runs, reads it back with
:func:`list_node_jobs`. A job whose next run is long past is reported ``late``: its
agent stopped (or is stuck in a job), which the rows alone could not say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.paths import node_path
from cloudenv.services.tenancy.nodes import require_node
from cloudenv.store.queries import health as q
from cloudenv.store.tables import SystemJob

#: A job is late once its next run is this much overdue, or its own interval if longer.
LATE_AFTER = timedelta(seconds=30)
ERROR_MAX = 1024


class JobStatus:
    """What ``status`` says: not run since its agent started, running, the last run
    succeeded or failed; ``late`` is derived when read (see the module)."""

    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    LATE = "late"


@dataclass(frozen=True)
class JobState:
    """One job as its scheduler knows it (what ``record`` stores)."""

    name: str
    title: str
    interval_seconds: float
    status: str
    last_run: datetime | None
    next_run: datetime | None
    last_duration: float | None
    last_error: str


@dataclass(frozen=True)
class JobView:
    id: str
    name: str
    status: str
    next_run: datetime | None
    last_run: datetime | None
    interval: float
    last_duration: float | None
    last_error: str


def record(
    db: Session, node_id: str, states: Sequence[JobState], *, complete: bool = False
) -> None:
    """Store the jobs' states (the node's agent calls this); ``complete``: these are all
    the node's jobs, so rows of others (jobs this version no longer has) go."""
    now = clock.now()
    rows = q.jobs_by_name(db, node_id)
    for state in states:
        row = rows.get(state.name)
        if row is None:
            row = SystemJob(node_id=node_id, name=state.name)
            db.add(row)
        row.title = state.title
        row.interval_seconds = state.interval_seconds
        row.status = state.status
        row.last_run = state.last_run
        row.next_run = state.next_run
        row.last_duration = state.last_duration
        row.last_error = state.last_error[:ERROR_MAX]
        row.updated = now
    if complete:
        q.forget_jobs(db, node_id, [s.name for s in states])


def list_node_jobs(db: Session, principal: Principal, node_id: str) -> list[JobView]:
    node = require_node(db, principal, node_id)
    authorize(principal, Action.NODE_READ, node.organization_id, node_path(db, node.id))
    now = clock.now()
    return [_view(row, now) for row in q.node_jobs(db, node.id, principal.scope)]


def _view(row: SystemJob, now: datetime) -> JobView:
    status = row.status
    grace = max(LATE_AFTER, timedelta(seconds=row.interval_seconds))
    if status != JobStatus.RUNNING and row.next_run is not None and now > row.next_run + grace:
        status = JobStatus.LATE
    return JobView(
        id=row.name,
        name=row.title,
        status=status,
        next_run=row.next_run,
        last_run=row.last_run,
        interval=row.interval_seconds,
        last_duration=row.last_duration,
        last_error=row.last_error,
    )
