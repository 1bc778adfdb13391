"""Storage pools. Until the storage issue brings pool management, every node gets one
default directory pool at set-up, which holds both images and volumes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import PoolNodeStatus, PoolType
from cloudenv.errors import InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import paths
from cloudenv.services.access import Action, Principal, full_path
from cloudenv.store.queries import storage as q
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Node, PoolNode, StoragePool

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
        type=PoolType.DIRECTORY,
        config={"path": path},
        description="Created at installation.",
        can_hold_images=True,
        is_default=True,
        creation=clock.now(),
    )
    db.add(pool)
    db.flush()
    db.add(PoolNode(pool_id=pool.id, node_id=node.id, status=PoolNodeStatus.PENDING))
    return pool


def list_node_pools(db: Session, principal: Principal, node_id: str) -> list[NodePoolView]:
    rows = q.node_pools(db, node_id, principal.scope)
    check = principal.check_for(Action.POOL_READ)
    if check is not None:
        # A pool belongs to its cluster: (datacenter, cluster, pool).
        rows = [
            r
            for r in rows
            if check(
                full_path(r[0].organization_id, paths.of_cluster(db, r[0].cluster_id, r[0].id))
            )
        ]
    counts = q.volume_counts(db, node_id, principal.scope)
    return [
        NodePoolView(
            id=pool.id,
            type=pool.type,
            name=pool.name,
            initialized=state.status != PoolNodeStatus.PENDING,
            available=state.status == PoolNodeStatus.READY,
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
    """The pool, enabled on the node; else InvalidInput naming ``field``. Callers reached
    the node through a scoped selector, and a pool enabled on a node is visible with it,
    so this reads unscoped."""
    row = q.pool_on_node(db, pool_id, node_id, UNSCOPED)
    if row is None:
        raise InvalidInput(
            f"Storage pool {pool_id} is not enabled on node {node_id}; choose a pool of "
            "that node (GET /v1/nodes/{id}/storage/pools).",
            field=field,
        )
    return row


def default_pool(db: Session, node_id: str) -> StoragePool:
    pool = q.default_pool(db, node_id, UNSCOPED)  # set-up and the agent: as the node
    if pool is None:
        raise NotFound(f"Node {node_id} has no default storage pool.")
    return pool


def pools_to_reconcile(db: Session, node_id: str) -> list[tuple[str, int, str]]:
    """(pool id, type, path) of every pool enabled on this node, for its agent."""
    rows = q.node_pools(db, node_id, UNSCOPED)
    return [(pool.id, pool.type, str(pool.config.get("path", ""))) for pool, _ in rows]


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
    state = q.pool_node(db, pool_id, node_id, UNSCOPED)
    if state is None:
        return
    state.status = PoolNodeStatus.READY if ok else PoolNodeStatus.ERROR
    state.message = message[:1024]
    if ok:
        state.capacity_bytes, state.allocation_bytes = capacity, allocation
        state.available_bytes = available
    state.updated = clock.now()
