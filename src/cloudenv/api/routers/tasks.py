"""Tasks: the caller's recent tasks; one task's status, progress and log; cancelling a
queued one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.tasks import Task
from cloudenv.services import tasks
from cloudenv.services.tasks import TaskStatus

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


def task_replies(db: Db, principal: CurrentPrincipal, found: Sequence[tasks.Task]) -> list[Task]:
    """Tasks on the wire, each kind also in words and each target by name: the vocabulary
    lives in services.tasks, so clients (the web UI's tasks drawer) never spell it again."""
    names = tasks.target_names(db, principal, found)
    derived = ("description", "target_name")
    return [
        Task(
            **{name: getattr(task, name) for name in Task.model_fields if name not in derived},
            description=tasks.describe_kind(task.kind),
            target_name=names.get(task.target_id) if task.target_id else None,
        )
        for task in found
    ]


@router.get("", response_model=list[Task], name="task.list")
def list_tasks(
    db: Db,
    principal: CurrentPrincipal,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=tasks.RECENT_MAX,
            description=f"At most this many tasks (1 to {tasks.RECENT_MAX}).",
        ),
    ] = tasks.RECENT_DEFAULT,
    status: Annotated[TaskStatus | None, Query(description="Only tasks in this status.")] = None,
    target_id: Annotated[
        str | None,
        Query(max_length=64, description="Only tasks working on this object (an instance, say)."),
    ] = None,
) -> list[Task]:
    """The newest tasks the caller may see, newest first: a bare array. A root
    organization user sees every organization's tasks, anyone else their own's."""
    found = tasks.list_recent_tasks(db, principal, limit=limit, status=status, target_id=target_id)
    return task_replies(db, principal, found)


@router.get("/{task_id}", response_model=Task, name="task.read")
def get_task(task_id: str, db: Db, principal: CurrentPrincipal) -> Task:
    return task_replies(db, principal, [tasks.read_task(db, principal, task_id)])[0]


@router.post("/{task_id}/cancel", response_model=Task, name="task.cancel")
def cancel_task(task_id: str, db: Db, principal: CurrentPrincipal) -> Task:
    """Only a queued task: it never runs, and what it held is given back (a queued
    deploy's instance is removed). 409 once the node has started it."""
    return task_replies(db, principal, [tasks.cancel_task(db, principal, task_id)])[0]
