"""Volumes: listing for now; create, resize and destroy arrive with the storage issue
(deploy creates volumes, destroy removes them)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from cloudenv.services.access import Principal
from cloudenv.store.queries import storage as q
from cloudenv.store.tables import Volume


def list_volumes(
    db: Session,
    principal: Principal,
    *,
    node_id: str | None = None,
    pool_id: str | None = None,
) -> Sequence[Volume]:
    return q.volumes(db, principal.scope, node_id=node_id, pool_id=pool_id)
