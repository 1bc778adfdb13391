"""Volumes: listing for now; create, resize and destroy arrive with the storage issue
(deploy creates volumes, destroy removes them)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from cloudenv.services import paths
from cloudenv.services.access import Action, Principal, readable
from cloudenv.store.queries import storage as q
from cloudenv.store.tables import Volume


def list_volumes(
    db: Session,
    principal: Principal,
    *,
    node_id: str | None = None,
    pool_id: str | None = None,
) -> Sequence[Volume]:
    """The volumes whose ``volume.read`` the caller's policies allow (each at its node's
    path)."""
    found = q.volumes(db, principal.scope, node_id=node_id, pool_id=pool_id)
    if principal.check_for(Action.VOLUME_READ) is None:
        return found
    places = paths.on_nodes(db, found)
    return readable(principal, Action.VOLUME_READ, found, lambda v: places[v.id])
