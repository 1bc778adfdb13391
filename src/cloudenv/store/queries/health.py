"""Selectors for node health and system jobs. Every selector takes the caller's scope;
the agent passes ``UNSCOPED`` by name."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.orm import Session

from cloudenv.enums import PoolNodeStatus
from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import Node, PoolNode, StoragePool, SystemJob


def reported_health(
    db: Session, node_ids: Collection[str], scope: Scope
) -> dict[str, dict[str, Any] | None]:
    """What each node's last heartbeat said about its health (None: nothing yet)."""
    if not node_ids:
        return {}
    stmt = restrict(
        select(Node.id, Node.health).where(Node.id.in_(node_ids)), Node.organization_id, scope
    )
    return {node_id: health for node_id, health in db.execute(stmt)}


def ready_pool_usage(
    db: Session, node_ids: Collection[str], scope: Scope
) -> Sequence[Row[str, str, int, int]]:
    """(node id, pool name, capacity, allocation in bytes) of the pools ready on the
    nodes, by name: what their agents last read."""
    if not node_ids:
        return []
    stmt = (
        select(
            PoolNode.node_id, StoragePool.name, PoolNode.capacity_bytes, PoolNode.allocation_bytes
        )
        .join(StoragePool, StoragePool.id == PoolNode.pool_id)
        .where(PoolNode.node_id.in_(node_ids), PoolNode.status == PoolNodeStatus.READY)
        .order_by(StoragePool.name)
    )
    return db.execute(restrict(stmt, StoragePool.organization_id, scope)).all()


# System jobs


def node_jobs(db: Session, node_id: str, scope: Scope) -> Sequence[SystemJob]:
    """The node's system jobs as its scheduler last wrote them, by name."""
    stmt = (
        select(SystemJob)
        .join(Node, Node.id == SystemJob.node_id)
        .where(SystemJob.node_id == node_id)
        .order_by(SystemJob.name)
    )
    return db.scalars(restrict(stmt, Node.organization_id, scope)).all()


def jobs_by_name(db: Session, node_id: str) -> dict[str, SystemJob]:
    """The node's own job rows, for its scheduler to update (the agent's, unscoped)."""
    rows = db.scalars(select(SystemJob).where(SystemJob.node_id == node_id))
    return {row.name: row for row in rows}


def forget_jobs(db: Session, node_id: str, keep: Collection[str]) -> None:
    """Delete the node's job rows not in ``keep`` (jobs this version no longer has)."""
    db.execute(delete(SystemJob).where(SystemJob.node_id == node_id, SystemJob.name.not_in(keep)))
