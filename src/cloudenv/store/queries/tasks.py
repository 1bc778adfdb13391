"""Selectors for tasks. A task carries ``organization_id`` (None: only the root
organization sees it, e.g. work on a node no tenant owns)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv.enums import TaskStatus
from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import Image, Instance, Node, Task


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


def recent_tasks(
    db: Session,
    scope: Scope,
    *,
    limit: int,
    status: TaskStatus | None = None,
    target_id: str | None = None,
) -> Sequence[Task]:
    """The newest tasks the scope sees, newest first; optionally only those in ``status``
    or working on ``target_id``. Ties in ``creation`` are ordered by ID, so the order is stable."""
    stmt = select(Task)
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if target_id is not None:
        stmt = stmt.where(Task.target_id == target_id)
    stmt = restrict(stmt, Task.organization_id, scope)
    return db.scalars(stmt.order_by(Task.creation.desc(), Task.id.desc()).limit(limit)).all()


def target_names(db: Session, target_ids: Collection[str], scope: Scope) -> dict[str, str]:
    """The names of the instances, nodes and images among ``target_ids`` that still exist
    and that the scope sees (a destroyed instance has no name left to show)."""
    if not target_ids:
        return {}
    names: dict[str, str] = {}
    for table in (Instance, Node, Image):
        stmt = select(table.id, table.name).where(table.id.in_(target_ids))
        for target_id, name in db.execute(restrict(stmt, table.organization_id, scope)):
            names[target_id] = name
    return names
