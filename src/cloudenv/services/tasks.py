"""Tasks: durable records of long work that a node's agent carries out.

The API creates a task (``queued``) in the same transaction as the desired state and
returns its ID; the owning node's agent claims it by compare-and-swap, runs it, reports
progress and log lines, and finishes it. States::

    queued ──claim──► running ──► succeeded
       │                 └──────► failed   (a refusal with a user message, or a crash)
       ├──cancel──► cancelled   (only while queued; what it held is given back)
       └──(daemon restart while running)──► failed "interrupted"

Claim and cancel are both compare-and-swap on ``queued``, so a task is either run or
cancelled, never both; a running task can't be cancelled (Force Stop ends a hanging stop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import Conflict, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import events
from cloudenv.services.access import Principal, authorize, restrict
from cloudenv.services.journal import record_change
from cloudenv.store.tables import Task

#: Session.info key: the nodes this transaction queued tasks for.
QUEUED_ON_NODES = "cloudenv.queued_on_nodes"


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: Cancelled while queued: it never ran, and what it held was given back.
    CANCELLED = "cancelled"


class TaskKind(StrEnum):
    """Append-only: every kind of work a node's agent knows how to do."""

    #: Re-read the node's hardware and host facts and store them.
    NODE_REFRESH_FACTS = "node.refresh_facts"
    #: Move an uploaded image from the staging area into its pool.
    IMAGE_IMPORT = "image.import"
    #: Delete an image's file and row.
    IMAGE_DELETE = "image.delete"
    #: Create the instance's volumes, define its domain and start it.
    INSTANCE_DEPLOY = "instance.deploy"
    INSTANCE_START = "instance.start"
    #: ACPI shutdown, failing after a timeout ("use Force Stop").
    INSTANCE_STOP = "instance.stop"
    INSTANCE_RESTART = "instance.restart"
    #: Force stop: power off at once.
    INSTANCE_KILL = "instance.kill"
    #: Undefine the domain, optionally delete its volumes, forget the instance.
    INSTANCE_DESTROY = "instance.destroy"
    #: Add a volume or CD-ROM to the domain (live when possible, always persistently).
    INSTANCE_DEVICE_ATTACH = "instance.device_attach"
    #: Remove a volume or CD-ROM from the domain; a volume becomes available again.
    INSTANCE_DEVICE_DETACH = "instance.device_detach"
    #: Take an internal snapshot (disks, and memory when running).
    INSTANCE_SNAPSHOT_CREATE = "instance.snapshot_create"
    #: Return the instance to a snapshot (its disks, power state and memory).
    INSTANCE_SNAPSHOT_REVERT = "instance.snapshot_revert"
    INSTANCE_SNAPSHOT_DELETE = "instance.snapshot_delete"


@dataclass(frozen=True)
class TaskClaim:
    """What the agent needs to run a claimed task, detached from any session."""

    id: str
    kind: str
    target_id: str | None
    params: dict[str, Any]


def create_task(
    db: Session,
    principal: Principal,
    kind: TaskKind,
    *,
    node_id: str | None,
    target_id: str | None,
    organization_id: str | None,
    params: dict[str, Any] | None = None,
) -> Task:
    task = Task(
        id=new_id(Prefix.TASK),
        kind=kind.value,
        organization_id=organization_id,
        node_id=node_id,
        target_id=target_id,
        status=TaskStatus.QUEUED.value,
        progress=0,
        message="",
        log=[],
        params=params or {},
        created_by=principal.user_id,
        creation=clock.now(),
    )
    db.add(task)
    # Read after commit by the daemon to wake the agent of that node (see daemon.py).
    db.info.setdefault(QUEUED_ON_NODES, set()).add(node_id)
    events.publish(
        db,
        "task.created",
        organization_id=organization_id,
        target_id=task.id,
        data={"kind": kind.value, "status": task.status},
    )
    return task


def get_task(db: Session, principal: Principal, task_id: str) -> Task:
    task: Task | None = db.scalar(
        restrict(select(Task).where(Task.id == task_id), Task.organization_id, principal)
    )
    if task is None:
        raise NotFound(f"Task {task_id} does not exist.", field="id")
    return task


def cancel_task(db: Session, principal: Principal, task_id: str) -> Task:
    """Cancel a queued task: it will never run, and the instance, volume or image it held
    goes back to what it was (a queued deploy's rows are removed, as a failed deploy's
    are). Refused (Conflict) once the node's agent has claimed it."""
    from cloudenv.services.compute import cancellation

    task = get_task(db, principal, task_id)
    action = cancellation.permission(task)
    authorize(principal, action, task.organization_id)
    if task.status == TaskStatus.QUEUED:
        cancellation.check_cancellable(task)
    taken = db.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == TaskStatus.QUEUED.value)
        .values(
            status=TaskStatus.CANCELLED.value,
            end_time=clock.now(),
            message=f"Cancelled by {principal.username} before it ran.",
        )
        .execution_options(synchronize_session=False)
    )
    db.refresh(task)
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        hint = {
            TaskStatus.RUNNING: "the node is carrying it out; wait for it to finish "
            "(a stop that hangs: use Force Stop)",
            TaskStatus.CANCELLED: "it was already cancelled",
        }.get(TaskStatus(task.status), "it has finished; nothing is left to cancel")
        raise Conflict(
            f"Task {task.id} ({task.kind}) is {task.status}, so it can't be cancelled: {hint}."
        )
    task.log = [*task.log, {"time": clock.rfc3339(task.end_time), "message": task.message}]
    cancellation.release_cancelled(db, task)
    _publish_state(db, task)
    record_change(
        db,
        principal,
        action,
        event="task.cancelled",
        target_id=task.id,
        organization_id=task.organization_id,
    )
    return task


def list_node_tasks(
    db: Session, principal: Principal, node_id: str, limit: int = 200
) -> Sequence[Task]:
    stmt = select(Task).where(Task.node_id == node_id).order_by(Task.creation.desc()).limit(limit)
    return list(db.scalars(restrict(stmt, Task.organization_id, principal)))


def claim_next(db: Session, node_id: str) -> TaskClaim | None:
    """Take the oldest queued task of this node; None when there is nothing to do.

    The UPDATE ... WHERE status='queued' makes the claim safe against a second runner.
    """
    candidates = db.scalars(
        select(Task.id)
        .where(Task.node_id == node_id, Task.status == TaskStatus.QUEUED.value)
        .order_by(Task.creation)
        .limit(5)
    ).all()
    for task_id in candidates:
        claimed = db.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == TaskStatus.QUEUED.value)
            .values(status=TaskStatus.RUNNING.value, start_time=clock.now())
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            task = db.get_one(Task, task_id)
            _publish_state(db, task)
            return TaskClaim(task.id, task.kind, task.target_id, dict(task.params))
    return None


def report(
    db: Session, task_id: str, *, progress: int | None = None, line: str | None = None
) -> None:
    """Progress (0-100) and/or one log line for a running task."""
    task = db.get_one(Task, task_id)
    if progress is not None:
        task.progress = max(task.progress, min(100, progress))
    if line is not None:
        task.log = [*task.log, {"time": clock.rfc3339(clock.now()), "message": line}]
    _publish_state(db, task)


def finish(db: Session, task_id: str, *, error: str | None = None) -> None:
    """End a task: succeeded, or failed with ``error`` as the user's message."""
    task = db.get_one(Task, task_id)
    task.end_time = clock.now()
    if error is None:
        task.status, task.progress = TaskStatus.SUCCEEDED.value, 100
    else:
        task.status, task.message = TaskStatus.FAILED.value, error[:1024]
        task.log = [*task.log, {"time": clock.rfc3339(task.end_time), "message": error}]
    _publish_state(db, task)


def fail_interrupted(db: Session, node_id: str) -> list[TaskClaim]:
    """At start-up: tasks this node left running when it stopped can't be trusted; fail
    them, and return them so the agent can repair what they left half-done."""
    reason = "The node's daemon stopped while this task was running; run it again."
    stuck = db.scalars(
        select(Task).where(Task.node_id == node_id, Task.status == TaskStatus.RUNNING.value)
    ).all()
    claims = [TaskClaim(t.id, t.kind, t.target_id, dict(t.params)) for t in stuck]
    for task in stuck:
        finish(db, task.id, error=reason)
    return claims


def _publish_state(db: Session, task: Task) -> None:
    events.publish(
        db,
        "task.updated",
        organization_id=task.organization_id,
        target_id=task.id,
        data={"kind": task.kind, "status": task.status, "progress": task.progress},
    )
