"""Volumes: listing for now; create, resize and destroy arrive with the storage issue
(deploy creates volumes, destroy removes them)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv.services.access import Principal, restrict
from cloudenv.store.tables import Volume


def list_volumes(
    db: Session,
    principal: Principal,
    *,
    node_id: str | None = None,
    pool_id: str | None = None,
) -> Sequence[Volume]:
    stmt = select(Volume).order_by(Volume.name)
    if node_id is not None:
        stmt = stmt.where(Volume.node_id == node_id)
    if pool_id is not None:
        stmt = stmt.where(Volume.pool_id == pool_id)
    return db.scalars(restrict(stmt, Volume.organization_id, principal)).all()
