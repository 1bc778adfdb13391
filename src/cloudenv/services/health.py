"""The node's own health, for ``GET /v1/healthcheck`` (answered without credentials)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.store.queries import tenancy as q
from cloudenv.store.queries.scope import UNSCOPED


@dataclass(frozen=True)
class Health:
    node_id: str
    cluster_id_hash: str
    healthy: bool
    time: int


def check(db: Session, node_id: str) -> Health:
    """Healthy when the database answers and knows this node."""
    node = q.get_node(db, node_id, UNSCOPED)  # anonymous, about the node itself
    cluster_hash = hashlib.sha256(node.cluster_id.encode()).hexdigest() if node else ""
    return Health(node_id, cluster_hash, node is not None, int(clock.now().timestamp()))
