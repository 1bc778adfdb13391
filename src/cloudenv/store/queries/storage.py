"""Selectors for storage: pools (per cluster) and their state on each node, volumes and
images. Every selector takes the caller's scope; the agent passes ``UNSCOPED`` by name.

Name checks (``volume_name_taken``, ``image_name_taken``) take no scope: a name is unique
within a pool on a node whoever owns the row that has it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Row, exists, func, select
from sqlalchemy.orm import Session

from cloudenv.enums import ImageStatus
from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import Image, PoolNode, StoragePool, Volume

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
    """The pool, if it is enabled on the node."""
    stmt = (
        select(StoragePool)
        .join(PoolNode, PoolNode.pool_id == StoragePool.id)
        .where(StoragePool.id == pool_id, PoolNode.node_id == node_id)
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
