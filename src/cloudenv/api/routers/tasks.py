"""Tasks: one task's status, progress and log; cancelling a queued one."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.tasks import Task
from cloudenv.services import tasks

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("/{task_id}", response_model=Task, name="task.read")
def get_task(task_id: str, db: Db, principal: CurrentPrincipal) -> Task:
    return Task.model_validate(tasks.get_task(db, principal, task_id))


@router.post("/{task_id}/cancel", response_model=Task, name="task.cancel")
def cancel_task(task_id: str, db: Db, principal: CurrentPrincipal) -> Task:
    """Only a queued task: it never runs, and what it held is given back (a queued
    deploy's instance is removed). 409 once the node has started it."""
    return Task.model_validate(tasks.cancel_task(db, principal, task_id))
