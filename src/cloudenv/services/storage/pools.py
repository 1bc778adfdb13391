"""Storage pools. Until the storage issue brings pool management, every node gets one
default directory pool at set-up, which holds both images and volumes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import PoolType
from cloudenv.errors import InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services.access import Principal, restrict
from cloudenv.store.tables import Node, PoolNode, StoragePool, Volume

DEFAULT_POOL_NAME = "default"


@dataclass(frozen=True)
class NodePoolView:
    """A pool as one node sees it (``GET /v1/nodes/{id}/storage/pools``)."""

    id: str
    type: int
    name: str
    initialized: bool
    available: bool
    can_hold_images: bool
    capacity_bytes: int
    allocation_bytes: int
    available_bytes: int
    volume_count: int
    path: str
    message: str


def create_default_pool(db: Session, node: Node, path: str) -> StoragePool:
    """The node's first pool: a directory that holds images and volumes."""
    pool = StoragePool(
        id=new_id(Prefix.POOL),
        organization_id=node.organization_id,
        cluster_id=node.cluster_id,
        name=DEFAULT_POOL_NAME,
        type=PoolType.DIRECTORY.value,
        config={"path": path},
        description="Created at installation.",
        can_hold_images=True,
        is_default=True,
        creation=clock.now(),
    )
    db.add(pool)
    db.flush()
    db.add(PoolNode(pool_id=pool.id, node_id=node.id, status="pending"))
    return pool


def list_node_pools(db: Session, principal: Principal, node_id: str) -> list[NodePoolView]:
    both: Select[Any] = select(StoragePool, PoolNode)  # type: ignore[assignment]
    rows = db.execute(
        restrict(
            both.join(PoolNode, PoolNode.pool_id == StoragePool.id)
            .where(PoolNode.node_id == node_id)
            .order_by(StoragePool.name),
            StoragePool.organization_id,
            principal,
        )
    ).all()
    counts: dict[str, int] = {
        pool_id: int(count)
        for pool_id, count in db.execute(
            select(Volume.pool_id, func.count())
            .where(Volume.node_id == node_id)
            .group_by(Volume.pool_id)
        ).all()
    }
    return [
        NodePoolView(
            id=pool.id,
            type=pool.type,
            name=pool.name,
            initialized=state.status != "pending",
            available=state.status == "ready",
            can_hold_images=pool.can_hold_images,
            capacity_bytes=state.capacity_bytes,
            allocation_bytes=state.allocation_bytes,
            available_bytes=state.available_bytes,
            volume_count=int(counts.get(pool.id, 0)),
            path=str(pool.config.get("path", "")),
            message=state.message,
        )
        for pool, state in rows
    ]


def pool_on_node(db: Session, pool_id: str, node_id: str, *, field: str) -> StoragePool:
    """The pool, enabled on the node; else InvalidInput naming ``field``."""
    row = db.execute(
        select(StoragePool)
        .join(PoolNode, PoolNode.pool_id == StoragePool.id)
        .where(StoragePool.id == pool_id, PoolNode.node_id == node_id)
    ).scalar_one_or_none()
    if row is None:
        raise InvalidInput(
            f"Storage pool {pool_id} is not enabled on node {node_id}; choose a pool of "
            "that node (GET /v1/nodes/{id}/storage/pools).",
            field=field,
        )
    return row


def default_pool(db: Session, node_id: str) -> StoragePool:
    pool = db.execute(
        select(StoragePool)
        .join(PoolNode, PoolNode.pool_id == StoragePool.id)
        .where(PoolNode.node_id == node_id, StoragePool.is_default.is_(True))
    ).scalar_one_or_none()
    if pool is None:
        raise NotFound(f"Node {node_id} has no default storage pool.")
    return pool


def pools_to_reconcile(db: Session, node_id: str) -> list[tuple[str, int, str]]:
    """(pool id, type, path) of every pool enabled on this node, for its agent."""
    rows = db.execute(
        select(StoragePool.id, StoragePool.type, StoragePool.config)
        .join(PoolNode, PoolNode.pool_id == StoragePool.id)
        .where(PoolNode.node_id == node_id)
    ).all()
    return [(pool_id, kind, str(config.get("path", ""))) for pool_id, kind, config in rows]


def record_pool_state(
    db: Session,
    pool_id: str,
    node_id: str,
    *,
    ok: bool,
    message: str = "",
    capacity: int = 0,
    allocation: int = 0,
    available: int = 0,
) -> None:
    state = db.get(PoolNode, (pool_id, node_id))
    if state is None:
        return
    state.status = "ready" if ok else "error"
    state.message = message[:1024]
    if ok:
        state.capacity_bytes, state.allocation_bytes = capacity, allocation
        state.available_bytes = available
    state.updated = clock.now()
