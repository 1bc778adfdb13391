"""Selectors for tasks. A task carries ``organization_id`` (None: only the root
organization sees it, e.g. work on a node no tenant owns)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv.enums import TaskStatus
from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import Task


def get_task(db: Session, task_id: str, scope: Scope) -> Task | None:
    stmt = restrict(select(Task).where(Task.id == task_id), Task.organization_id, scope)
    found: Task | None = db.scalar(stmt)
    return found


def node_tasks(db: Session, node_id: str, scope: Scope, limit: int) -> Sequence[Task]:
    """The node's tasks, newest first."""
    stmt = select(Task).where(Task.node_id == node_id).order_by(Task.creation.desc()).limit(limit)
    return db.scalars(restrict(stmt, Task.organization_id, scope)).all()


def task_ids(
    db: Session, node_id: str, scope: Scope, *, status: TaskStatus, limit: int
) -> Sequence[str]:
    """IDs of the node's tasks in ``status``, oldest first."""
    stmt = (
        select(Task.id)
        .where(Task.node_id == node_id, Task.status == status)
        .order_by(Task.creation)
        .limit(limit)
    )
    return db.scalars(restrict(stmt, Task.organization_id, scope)).all()


def tasks_in_status(db: Session, node_id: str, scope: Scope, status: TaskStatus) -> Sequence[Task]:
    stmt = select(Task).where(Task.node_id == node_id, Task.status == status)
    return db.scalars(restrict(stmt.order_by(Task.creation), Task.organization_id, scope)).all()
