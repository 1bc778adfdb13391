"""Selectors for storage: pools (per cluster) and their state on each node, volumes and
images. Every selector takes the caller's scope; the agent passes ``UNSCOPED`` by name.

Name checks (``volume_name_taken``, ``image_name_taken``) take no scope: a name is unique
within a pool on a node whoever owns the row that has it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Row, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from cloudenv.enums import ImageStatus, PoolNodeStatus, PoolType, TaskStatus
from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import Image, Node, PoolNode, StoragePool, Task, Volume

# Pools


def get_pool(db: Session, pool_id: str, scope: Scope) -> StoragePool | None:
    stmt = restrict(
        select(StoragePool).where(StoragePool.id == pool_id), StoragePool.organization_id, scope
    )
    found: StoragePool | None = db.scalar(stmt)
    return found


def node_pools(db: Session, node_id: str, scope: Scope) -> Sequence[Row[StoragePool, PoolNode]]:
    """(pool, its state on the node) for every pool enabled on the node, by name."""
    stmt = (
        select(StoragePool, PoolNode)
        .join(PoolNode, PoolNode.pool_id == StoragePool.id)
        .where(PoolNode.node_id == node_id)
        .order_by(StoragePool.name)
    )
    return db.execute(restrict(stmt, StoragePool.organization_id, scope)).all()


def pool_on_node(db: Session, pool_id: str, node_id: str, scope: Scope) -> StoragePool | None:
    """The pool, if it is enabled on the node (not being removed there or destroyed)."""
    stmt = (
        select(StoragePool)
        .join(PoolNode, PoolNode.pool_id == StoragePool.id)
        .where(
            StoragePool.id == pool_id,
            PoolNode.node_id == node_id,
            PoolNode.status != PoolNodeStatus.REMOVING,
            StoragePool.destroying.is_(False),
        )
    )
    found: StoragePool | None = db.scalar(restrict(stmt, StoragePool.organization_id, scope))
    return found


def default_pool(db: Session, node_id: str, scope: Scope) -> StoragePool | None:
    stmt = (
        select(StoragePool)
        .join(PoolNode, PoolNode.pool_id == StoragePool.id)
        .where(PoolNode.node_id == node_id, StoragePool.is_default.is_(True))
    )
    found: StoragePool | None = db.scalar(restrict(stmt, StoragePool.organization_id, scope))
    return found


def pool_ids_on_node(db: Session, node_id: str, scope: Scope) -> set[str]:
    stmt = (
        select(PoolNode.pool_id)
        .join(StoragePool, StoragePool.id == PoolNode.pool_id)
        .where(PoolNode.node_id == node_id)
    )
    return set(db.scalars(restrict(stmt, StoragePool.organization_id, scope)))


def pool_node(db: Session, pool_id: str, node_id: str, scope: Scope) -> PoolNode | None:
    """The pool's state on the node."""
    stmt = (
        select(PoolNode)
        .join(StoragePool, StoragePool.id == PoolNode.pool_id)
        .where(PoolNode.pool_id == pool_id, PoolNode.node_id == node_id)
    )
    found: PoolNode | None = db.scalar(restrict(stmt, StoragePool.organization_id, scope))
    return found


def cluster_pools(db: Session, cluster_id: str, scope: Scope) -> Sequence[StoragePool]:
    """The cluster's pools, by name (those marked for destruction too)."""
    stmt = select(StoragePool).where(StoragePool.cluster_id == cluster_id)
    return db.scalars(
        restrict(stmt.order_by(StoragePool.name), StoragePool.organization_id, scope)
    ).all()


def pool_states(db: Session, pool_ids: Collection[str], scope: Scope) -> Sequence[PoolNode]:
    """The pools' rows on their nodes, by pool then node."""
    if not pool_ids:
        return []
    stmt = (
        select(PoolNode)
        .join(StoragePool, StoragePool.id == PoolNode.pool_id)
        .where(PoolNode.pool_id.in_(pool_ids))
        .order_by(PoolNode.pool_id, PoolNode.node_id)
    )
    return db.scalars(restrict(stmt, StoragePool.organization_id, scope)).all()


def pool_by_name(db: Session, cluster_id: str, name: str) -> StoragePool | None:
    """Whoever owns it: a pool name is unique in its cluster (no scope, as name checks)."""
    stmt = select(StoragePool).where(StoragePool.cluster_id == cluster_id, StoragePool.name == name)
    found: StoragePool | None = db.scalar(stmt)
    return found


def file_pools(db: Session, cluster_id: str) -> Sequence[StoragePool]:
    """The cluster's directory and netfs pools, whoever owns them: their target paths must
    not overlap (no scope, as name checks)."""
    stmt = select(StoragePool).where(
        StoragePool.cluster_id == cluster_id,
        StoragePool.type.in_([PoolType.DIRECTORY, PoolType.NETFS]),
    )
    return db.scalars(stmt.order_by(StoragePool.name)).all()


def pool_holdings(
    db: Session, pool_id: str, *, attached_only: bool = False
) -> dict[str, tuple[int, int]]:
    """Per node: how many volumes and images the pool holds there (only volumes attached
    to an instance with ``attached_only``: an iSCSI pool's LUNs are the target's, not ours
    to keep). Read unscoped: a refusal must count what every tenant has there."""
    volumes = select(Volume.node_id, func.count()).where(Volume.pool_id == pool_id)
    if attached_only:
        volumes = volumes.where(Volume.instance_id.is_not(None))
    counts: dict[str, tuple[int, int]] = {}
    for node_id, count in db.execute(volumes.group_by(Volume.node_id)):
        counts[node_id] = (int(count), 0)
    images = select(Image.node_id, func.count()).where(Image.pool_id == pool_id)
    for node_id, count in db.execute(images.group_by(Image.node_id)):
        counts[node_id] = (counts.get(node_id, (0, 0))[0], int(count))
    return counts


def set_pool_state(
    db: Session, pool_id: str, node_id: str, *, removing: bool, **values: object
) -> bool:
    """Compare-and-swap a pool's row on a node: a row being removed is written only as
    removing (``removing=True``), any other only while it is not being removed (a node
    disabled while its agent was defining the pool stays disabled). False when nothing
    was written."""
    stmt = (
        update(PoolNode)
        .where(
            PoolNode.pool_id == pool_id,
            PoolNode.node_id == node_id,
            (PoolNode.status == PoolNodeStatus.REMOVING)
            if removing
            else (PoolNode.status != PoolNodeStatus.REMOVING),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(db.execute(stmt).rowcount)  # type: ignore[attr-defined]


def drop_pool_state(db: Session, pool_id: str, node_id: str) -> bool:
    """Delete the row if it still says removing (the node may have been enabled again)."""
    stmt = (
        delete(PoolNode)
        .where(
            PoolNode.pool_id == pool_id,
            PoolNode.node_id == node_id,
            PoolNode.status == PoolNodeStatus.REMOVING,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(db.execute(stmt).rowcount)  # type: ignore[attr-defined]


# Propagation (the system job; unscoped: it acts for the cluster)


def cluster_of_node(db: Session, node_id: str) -> str | None:
    found: str | None = db.scalar(select(Node.cluster_id).where(Node.id == node_id))
    return found


def node_organizations(db: Session, node_ids: Collection[str]) -> dict[str, str]:
    rows = db.execute(select(Node.id, Node.organization_id).where(Node.id.in_(node_ids)))
    return {node_id: org for node_id, org in rows}


def nodes_needing_sync(db: Session, cluster_id: str, retry_before: datetime) -> set[str]:
    """Nodes of the cluster with a pool row to act on: pending, removing, or failed and
    last tried before ``retry_before`` (a pool marked for destruction has only removing
    rows)."""
    stmt = (
        select(PoolNode.node_id)
        .join(StoragePool, StoragePool.id == PoolNode.pool_id)
        .where(
            StoragePool.cluster_id == cluster_id,
            or_(
                PoolNode.status.in_([PoolNodeStatus.PENDING, PoolNodeStatus.REMOVING]),
                and_(
                    PoolNode.status == PoolNodeStatus.ERROR,
                    or_(PoolNode.attempted.is_(None), PoolNode.attempted < retry_before),
                ),
            ),
        )
        .distinct()
    )
    return set(db.scalars(stmt))


def nodes_with_sync(
    db: Session, node_ids: Collection[str], statuses: Collection[TaskStatus]
) -> set[str]:
    """Which of the nodes have a ``pool.sync`` task in one of ``statuses``."""
    if not node_ids:
        return set()
    stmt = select(Task.node_id).where(
        Task.kind == "pool.sync", Task.node_id.in_(node_ids), Task.status.in_(statuses)
    )
    return {n for n in db.scalars(stmt.distinct()) if n is not None}


def emptied_pools(db: Session, cluster_id: str | None = None) -> Sequence[StoragePool]:
    """Pools marked for destruction that no node holds any more: ready to be forgotten."""
    stmt = select(StoragePool).where(
        StoragePool.destroying.is_(True),
        ~exists().where(PoolNode.pool_id == StoragePool.id),
    )
    if cluster_id is not None:
        stmt = stmt.where(StoragePool.cluster_id == cluster_id)
    return db.scalars(stmt).all()


def ready_states(db: Session, node_id: str) -> Sequence[Row[StoragePool, PoolNode]]:
    """(pool, row) of the pools the node last found ready, for the heartbeat's refresh."""
    stmt = (
        select(StoragePool, PoolNode)
        .join(PoolNode, PoolNode.pool_id == StoragePool.id)
        .where(PoolNode.node_id == node_id, PoolNode.status == PoolNodeStatus.READY)
    )
    return db.execute(stmt).all()


def unattached_volumes(db: Session, pool_id: str, node_id: str) -> Sequence[Volume]:
    stmt = select(Volume).where(
        Volume.pool_id == pool_id, Volume.node_id == node_id, Volume.instance_id.is_(None)
    )
    return db.scalars(stmt).all()


# Volumes


def get_volume(db: Session, volume_id: str, scope: Scope) -> Volume | None:
    stmt = restrict(select(Volume).where(Volume.id == volume_id), Volume.organization_id, scope)
    found: Volume | None = db.scalar(stmt)
    return found


def volumes(
    db: Session,
    scope: Scope,
    *,
    node_id: str | None = None,
    pool_id: str | None = None,
    instance_id: str | None = None,
) -> Sequence[Volume]:
    """By name; of one node, pool or instance when given."""
    stmt = select(Volume).order_by(Volume.name)
    if node_id is not None:
        stmt = stmt.where(Volume.node_id == node_id)
    if pool_id is not None:
        stmt = stmt.where(Volume.pool_id == pool_id)
    if instance_id is not None:
        stmt = stmt.where(Volume.instance_id == instance_id)
    return db.scalars(restrict(stmt, Volume.organization_id, scope)).all()


def volume_counts(db: Session, node_id: str, scope: Scope) -> dict[str, int]:
    """How many volumes each pool holds on the node."""
    stmt = (
        select(Volume.pool_id, func.count())
        .where(Volume.node_id == node_id)
        .group_by(Volume.pool_id)
    )
    rows = db.execute(restrict(stmt, Volume.organization_id, scope)).all()
    return {pool_id: int(count) for pool_id, count in rows}


def volume_name_taken(db: Session, pool_id: str, node_id: str, name: str) -> bool:
    stmt = select(
        exists().where(Volume.pool_id == pool_id, Volume.node_id == node_id, Volume.name == name)
    )
    return bool(db.scalar(stmt))


# Images


def get_image(db: Session, image_id: str, scope: Scope) -> Image | None:
    stmt = restrict(select(Image).where(Image.id == image_id), Image.organization_id, scope)
    found: Image | None = db.scalar(stmt)
    return found


def images(db: Session, node_id: str, scope: Scope) -> Sequence[Image]:
    stmt = select(Image).where(Image.node_id == node_id).order_by(Image.name)
    return db.scalars(restrict(stmt, Image.organization_id, scope)).all()


def image_by_name(
    db: Session, node_id: str, name: str, scope: Scope, *, status: ImageStatus | None = None
) -> Image | None:
    stmt = select(Image).where(Image.node_id == node_id, Image.name == name)
    if status is not None:
        stmt = stmt.where(Image.status == status)
    found: Image | None = db.scalar(restrict(stmt, Image.organization_id, scope))
    return found


def image_names(db: Session, image_ids: Collection[str], scope: Scope) -> dict[str, str]:
    stmt = select(Image.id, Image.name).where(Image.id.in_(image_ids))
    return {i: n for i, n in db.execute(restrict(stmt, Image.organization_id, scope)).all()}


def image_name_taken(db: Session, pool_id: str, node_id: str, name: str) -> bool:
    stmt = select(
        exists().where(Image.pool_id == pool_id, Image.node_id == node_id, Image.name == name)
    )
    return bool(db.scalar(stmt))
