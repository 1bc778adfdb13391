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

from sqlalchemy import update
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import TaskStatus as TaskStatus  # re-exported: callers name it here
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import audit, events, paths
from cloudenv.services.access import Action, Principal, authorize, readable
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.store.queries import tasks as q
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Task as Task  # re-exported: the API renders these rows

#: Session.info key: the nodes this transaction queued tasks for.
QUEUED_ON_NODES = "cloudenv.queued_on_nodes"
#: How many tasks the recent-tasks list returns unless asked for fewer or more...
RECENT_DEFAULT = 50
#: ...and the most it returns at once (the list has no pages: it is for watching work).
RECENT_MAX = 500


class TaskKind(StrEnum):
    """Append-only: every kind of work a node's agent knows how to do. Each kind declares
    (in ``_KINDS``) the permission queuing it needs, what it does, and the event its
    success publishes: ``kind.permission``, ``kind.description``, ``kind.event``."""

    NODE_REFRESH_FACTS = "node.refresh_facts"
    IMAGE_IMPORT = "image.import"
    IMAGE_DELETE = "image.delete"
    INSTANCE_DEPLOY = "instance.deploy"
    INSTANCE_START = "instance.start"
    INSTANCE_STOP = "instance.stop"
    INSTANCE_RESTART = "instance.restart"
    INSTANCE_KILL = "instance.kill"
    INSTANCE_DESTROY = "instance.destroy"
    INSTANCE_DEVICE_ATTACH = "instance.device_attach"
    INSTANCE_DEVICE_DETACH = "instance.device_detach"
    INSTANCE_SNAPSHOT_CREATE = "instance.snapshot_create"
    INSTANCE_SNAPSHOT_REVERT = "instance.snapshot_revert"
    INSTANCE_SNAPSHOT_DELETE = "instance.snapshot_delete"
    #: Bring this node's pools to their cluster definitions (storage propagation).
    POOL_SYNC = "pool.sync"
    VOLUME_CREATE = "volume.create"
    VOLUME_RESIZE = "volume.resize"
    VOLUME_DESTROY = "volume.destroy"
    #: Bring this node's OVS bridges, uplinks and instance ports' VLANs to their
    #: definitions; remove what is ours and no longer wanted.
    NETWORK_SYNC = "network.sync"

    @property
    def permission(self) -> Action:
        """What the caller must be allowed to queue it (also its audit action)."""
        return _KINDS[self].permission

    @property
    def description(self) -> str:
        return _KINDS[self].description

    @property
    def event(self) -> EventKind:
        """Published (with the task's target) when a task of this kind succeeds."""
        return _KINDS[self].event


@dataclass(frozen=True)
class KindInfo:
    permission: Action
    event: EventKind
    description: str


K, A, E = TaskKind, Action, EventKind
_KINDS: dict[TaskKind, KindInfo] = {
    K.NODE_REFRESH_FACTS: KindInfo(
        A.NODE_REFRESH_FACTS,
        E.NODE_FACTS_REFRESHED,
        "Re-read the node's hardware and host facts and store them.",
    ),
    K.IMAGE_IMPORT: KindInfo(
        A.IMAGE_CREATE,
        E.IMAGE_IMPORTED,
        "Move an uploaded image from staging into its pool (a container image is checked "
        "entry by entry and stored as a normalised root filesystem tarball).",
    ),
    K.IMAGE_DELETE: KindInfo(A.IMAGE_DELETE, E.IMAGE_DELETED, "Delete an image's file and row."),
    K.INSTANCE_DEPLOY: KindInfo(
        A.INSTANCE_DEPLOY,
        E.INSTANCE_DEPLOYED,
        "Create the instance's volumes, define its domain and start it.",
    ),
    K.INSTANCE_START: KindInfo(A.INSTANCE_POWER, E.INSTANCE_STARTED, "Power the instance on."),
    K.INSTANCE_STOP: KindInfo(
        A.INSTANCE_POWER,
        E.INSTANCE_STOPPED,
        "ACPI shutdown, failing after a timeout (then use Force Stop).",
    ),
    K.INSTANCE_RESTART: KindInfo(
        A.INSTANCE_POWER, E.INSTANCE_RESTARTED, "ACPI shutdown, then power on again."
    ),
    K.INSTANCE_KILL: KindInfo(
        A.INSTANCE_POWER, E.INSTANCE_KILLED, "Force Stop: power off at once."
    ),
    K.INSTANCE_DESTROY: KindInfo(
        A.INSTANCE_DESTROY,
        E.INSTANCE_DESTROYED,
        "Undefine the domain, optionally delete its volumes, forget the instance.",
    ),
    K.INSTANCE_DEVICE_ATTACH: KindInfo(
        A.INSTANCE_DEVICE_ATTACH,
        E.INSTANCE_DEVICE_ATTACHED,
        "Add a volume or CD-ROM to the domain (live when possible, always persistently).",
    ),
    K.INSTANCE_DEVICE_DETACH: KindInfo(
        A.INSTANCE_DEVICE_DETACH,
        E.INSTANCE_DEVICE_DETACHED,
        "Remove a volume or CD-ROM from the domain; a volume becomes available again.",
    ),
    K.INSTANCE_SNAPSHOT_CREATE: KindInfo(
        A.INSTANCE_SNAPSHOT,
        E.INSTANCE_SNAPSHOT_CREATED,
        "Take an internal snapshot (disks, and memory when running).",
    ),
    K.INSTANCE_SNAPSHOT_REVERT: KindInfo(
        A.INSTANCE_SNAPSHOT,
        E.INSTANCE_SNAPSHOT_REVERTED,
        "Return the instance to a snapshot (its disks, power state and memory).",
    ),
    K.INSTANCE_SNAPSHOT_DELETE: KindInfo(
        A.INSTANCE_SNAPSHOT, E.INSTANCE_SNAPSHOT_DELETED, "Delete a snapshot."
    ),
    K.POOL_SYNC: KindInfo(
        A.POOL_UPDATE,
        E.POOL_SYNCED,
        "Define, build and start the pools enabled on this node; stop and undefine the "
        "ones no longer enabled.",
    ),
    K.VOLUME_CREATE: KindInfo(A.VOLUME_CREATE, E.VOLUME_CREATED, "Create an empty volume."),
    K.VOLUME_RESIZE: KindInfo(
        A.VOLUME_RESIZE, E.VOLUME_RESIZED, "Grow a volume (live when its guest runs)."
    ),
    K.VOLUME_DESTROY: KindInfo(A.VOLUME_DELETE, E.VOLUME_DELETED, "Delete a volume's data."),
    K.NETWORK_SYNC: KindInfo(
        A.VSWITCH_UPDATE,
        E.NETWORK_SYNCED,
        "Apply this node's vSwitches and port groups to Open vSwitch.",
    ),
}
del K, A, E
if set(_KINDS) != set(TaskKind):  # a new kind must say what it needs and does
    raise RuntimeError(f"TaskKind without KindInfo: {set(TaskKind) - set(_KINDS)}")


@dataclass(frozen=True)
class TaskClaim:
    """What the agent needs to run a claimed task, detached from any session."""

    id: str
    kind: str
    target_id: str | None
    params: dict[str, Any]


def queue_task(
    db: Session,
    principal: Principal,
    kind: TaskKind,
    *,
    node_id: str | None,
    target_id: str | None,
    organization_id: str | None,
    path: Sequence[str],
    params: dict[str, Any] | None = None,
) -> Task:
    """The one way work is queued: check ``kind.permission`` on the target at ``path``
    (``services.paths``: where it sits below its organization), then write the task, its
    ``task.created`` event and the audit row (202) in the caller's transaction, and wake
    the node's agent after commit. The caller has loaded the target through a scoped
    selector and checked its state rules; it writes the target's own change itself."""
    authorize(principal, kind.permission, organization_id, path)
    task = Task(
        id=new_id(Prefix.TASK),
        kind=kind.value,
        organization_id=organization_id,
        node_id=node_id,
        target_id=target_id,
        status=TaskStatus.QUEUED,
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
        EventKind.TASK_CREATED,
        organization_id=organization_id,
        target_id=task.id,
        data={"kind": kind.value, "status": task.status.value},
    )
    audit.record(
        db,
        principal,
        kind.permission,
        target_id=target_id,
        organization_id=organization_id,
        status_code=202,
    )
    return task


def get_task(db: Session, principal: Principal, task_id: str) -> Task:
    """The task, through the caller's scope only (cancelling judges it by its kind)."""
    task = q.get_task(db, task_id, principal.scope)
    if task is None:
        raise NotFound(f"Task {task_id} does not exist.", field="id")
    return task


def read_task(db: Session, principal: Principal, task_id: str) -> Task:
    """The task, if the caller's policies allow reading it (``task.read`` at its path)."""
    task = get_task(db, principal, task_id)
    authorize(principal, Action.TASK_READ, task.organization_id, paths.task_path(db, task))
    return task


def cancel_task(db: Session, principal: Principal, task_id: str) -> Task:
    """Cancel a queued task: it will never run, and the instance, volume or image it held
    goes back to what it was (a queued deploy's rows are removed, as a failed deploy's
    are). Refused (Conflict) once the node's agent has claimed it."""
    from cloudenv.services.compute import cancellation

    task = get_task(db, principal, task_id)
    action = cancellation.permission(task)
    authorize(principal, action, task.organization_id, paths.task_target(db, task))
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
        Action.TASK_CANCEL,  # authorized as ``action``; audited as what was asked, as refusals are
        event=EventKind.TASK_CANCELLED,
        target_id=task.id,
        organization_id=task.organization_id,
    )
    return task


def list_recent_tasks(
    db: Session,
    principal: Principal,
    *,
    limit: int = RECENT_DEFAULT,
    status: TaskStatus | None = None,
    target_id: str | None = None,
) -> Sequence[Task]:
    """The newest tasks the caller sees (its organization's; every one for the root
    organization), newest first, optionally only those in ``status`` or on ``target_id``."""
    if not 1 <= limit <= RECENT_MAX:
        raise InvalidInput(
            f"'limit' must be between 1 and {RECENT_MAX}, not {limit}.", field="limit"
        )
    found = q.recent_tasks(db, principal.scope, limit=limit, status=status, target_id=target_id)
    return _readable(db, principal, found)


def _readable(db: Session, principal: Principal, found: Sequence[Task]) -> list[Task]:
    """The tasks whose ``task.read`` the caller's policies allow (at each one's path)."""
    if principal.check_for(Action.TASK_READ) is None:
        return list(found)
    places = paths.tasks_paths(db, found)
    return readable(principal, Action.TASK_READ, found, lambda t: places[t.id])


def target_names(db: Session, principal: Principal, found: Sequence[Task]) -> dict[str, str]:
    """The names of what ``found`` work on, by ID, for those the caller sees that still
    exist, so a list can say "web-1" rather than an ID."""
    ids = {t.target_id for t in found if t.target_id is not None}
    return q.target_names(db, ids, principal.scope)


def describe_kind(kind: str) -> str:
    """What a task of ``kind`` does, in words; a kind this version no longer knows (an old
    row) is shown as its name."""
    known = _KINDS_BY_VALUE.get(kind)
    return known.description if known else kind


def list_node_tasks(
    db: Session, principal: Principal, node_id: str, limit: int = 200
) -> Sequence[Task]:
    return _readable(db, principal, q.node_tasks(db, node_id, principal.scope, limit))


def claim_next(db: Session, node_id: str) -> TaskClaim | None:
    """Take the oldest queued task of this node; None when there is nothing to do.

    The UPDATE ... WHERE status='queued' makes the claim safe against a second runner.
    """
    candidates = q.task_ids(db, node_id, UNSCOPED, status=TaskStatus.QUEUED, limit=5)
    for task_id in candidates:
        claimed = db.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == TaskStatus.QUEUED)
            .values(status=TaskStatus.RUNNING, start_time=clock.now())
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            task = _agent_task(db, task_id)
            db.refresh(task)
            _publish_state(db, task)
            return TaskClaim(task.id, task.kind, task.target_id, dict(task.params))
    return None


def report(
    db: Session, task_id: str, *, progress: int | None = None, line: str | None = None
) -> None:
    """Progress (0-100) and/or one log line for a running task."""
    task = _agent_task(db, task_id)
    if progress is not None:
        task.progress = max(task.progress, min(100, progress))
    if line is not None:
        task.log = [*task.log, {"time": clock.rfc3339(clock.now()), "message": line}]
    _publish_state(db, task)


def finish(db: Session, task_id: str, *, error: str | None = None) -> None:
    """End a task: succeeded (publishing its kind's event), or failed with ``error`` as
    the user's message."""
    task = _agent_task(db, task_id)
    task.end_time = clock.now()
    if error is None:
        task.status, task.progress = TaskStatus.SUCCEEDED, 100
    else:
        task.status, task.message = TaskStatus.FAILED, error[:1024]
        task.log = [*task.log, {"time": clock.rfc3339(task.end_time), "message": error}]
    _publish_state(db, task)
    if error is None and task.kind in _KINDS_BY_VALUE:
        events.publish(
            db,
            _KINDS_BY_VALUE[task.kind].event,
            organization_id=task.organization_id,
            target_id=task.target_id,
            data=_outcome_data(task),
        )


def _outcome_data(task: Task) -> dict[str, Any]:
    """An instance or volume task runs on its target's node, so its outcome event names
    that node as every instance and volume event does."""
    if task.kind.startswith(("instance.", "volume.")):
        return events.instance_data(task.node_id, task_id=task.id)
    return {"task_id": task.id}


def fail_interrupted(db: Session, node_id: str) -> list[TaskClaim]:
    """At start-up: tasks this node left running when it stopped can't be trusted; fail
    them, and return them so the agent can repair what they left half-done."""
    reason = "The node's daemon stopped while this task was running; run it again."
    stuck = q.tasks_in_status(db, node_id, UNSCOPED, TaskStatus.RUNNING)
    claims = [TaskClaim(t.id, t.kind, t.target_id, dict(t.params)) for t in stuck]
    for task in stuck:
        finish(db, task.id, error=reason)
    return claims


#: Stored kinds back to members (a row may hold a kind this version no longer knows).
_KINDS_BY_VALUE = {kind.value: kind for kind in TaskKind}


def _agent_task(db: Session, task_id: str) -> Task:
    """A task by ID for the node running it (the agent acts as the node: unscoped)."""
    task = q.get_task(db, task_id, UNSCOPED)
    if task is None:
        raise NotFound(f"Task {task_id} no longer exists.")
    return task


def _publish_state(db: Session, task: Task) -> None:
    events.publish(
        db,
        EventKind.TASK_UPDATED,
        organization_id=task.organization_id,
        target_id=task.id,
        data={"kind": task.kind, "status": task.status.value, "progress": task.progress},
    )
