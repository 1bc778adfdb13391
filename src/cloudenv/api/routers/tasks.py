"""Tasks: one task's status, progress and log."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.tasks import Task
from cloudenv.services import tasks

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.get("/{task_id}", response_model=Task, name="task.read")
def get_task(task_id: str, db: Db, principal: CurrentPrincipal) -> Task:
    return Task.model_validate(tasks.get_task(db, principal, task_id))
