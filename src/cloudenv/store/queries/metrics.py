"""Selectors for the usage history (``metric_rows``) and the nodes' newest readings
(``metric_latest``).

Rows belong to a node, so a selector scopes them through their node's organization. The
agent writes with ``UNSCOPED``. Writes are upserts (``INSERT ... ON CONFLICT DO UPDATE``,
which SQLite, PostgreSQL and CockroachDB all take): a bucket written twice (two passes in
one 10 s slot, a roll-up repeated after a crash) holds the last values, never fails.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVarTuple, cast

from sqlalchemy import Insert, Row, Select, Table, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloudenv.enums import InstanceState, PoolNodeStatus
from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import (
    Cluster,
    Instance,
    MetricLatest,
    MetricRow,
    Node,
    Organization,
    PoolNode,
)

Columns = TypeVarTuple("Columns")

# The history's statements are built once and run with parameters: a pass runs a few of
# them, and building a statement costs SQLAlchemy more than SQLite takes to run it.
_ROWS = cast(Table, MetricRow.__table__)
_LATEST = cast(Table, MetricLatest.__table__)
_rows = _ROWS.c
_IN_RANGE = (
    _rows.node_id == bindparam("node_id"),
    _rows.tier == bindparam("tier"),
    _rows.start >= bindparam("since"),
    _rows.start < bindparam("until"),
)
_NODE_VALUES = select(_rows.start, _rows.node).where(*_IN_RANGE).order_by(_rows.start)
_INSTANCE_VALUES = (
    select(_rows.start, _rows.subjects, _rows.instances).where(*_IN_RANGE).order_by(_rows.start)
)
_WHOLE_ROWS = (
    select(_rows.start, _rows.node, _rows.subjects, _rows.instances)
    .where(*_IN_RANGE)
    .order_by(_rows.start)
)
_SPANS = (
    select(_rows.tier, func.min(_rows.start), func.max(_rows.start))
    .where(_rows.node_id == bindparam("node_id"))
    .group_by(_rows.tier)
)
_DELETE_BEFORE = delete(_ROWS).where(
    _rows.node_id == bindparam("node_id"),
    _rows.tier == bindparam("tier"),
    _rows.start < bindparam("before"),
)


def _via_node(stmt: Select[*Columns], node_column: Any, scope: Scope) -> Select[*Columns]:
    if scope is None:
        return stmt
    return stmt.where(node_column.in_(restrict(select(Node.id), Node.organization_id, scope)))


@cache
def _upsert(dialect: str, table: Table, keys: tuple[str, ...]) -> Insert:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` of every other column, for a dialect."""
    stmt = (sqlite_insert if dialect == "sqlite" else pg_insert)(table)
    changed = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=changed)


def _dialect(db: Session) -> str:
    return db.get_bind().dialect.name


def put_row(
    db: Session, node_id: str, tier: int, start: int, node: bytes, subjects: str, instances: bytes
) -> None:
    stmt = _upsert(_dialect(db), _ROWS, ("node_id", "tier", "start"))
    db.execute(
        stmt,
        {
            "node_id": node_id,
            "tier": tier,
            "start": start,
            "node": node,
            "subjects": subjects,
            "instances": instances,
        },
    )


def put_latest(db: Session, node_id: str, time: datetime, document: bytes) -> None:
    stmt = _upsert(_dialect(db), _LATEST, ("node_id",))
    db.execute(stmt, {"node_id": node_id, "time": time, "document": document})


def tier_spans(db: Session, node_id: str, scope: Scope) -> dict[int, tuple[int, int]]:
    """Per tier, the first and last bucket the node has (from the primary key's index)."""
    stmt = _via_node(_SPANS, _rows.node_id, scope)
    return {
        int(tier): (int(first), int(last))
        for tier, first, last in db.execute(stmt, {"node_id": node_id})
    }


def _range(node_id: str, tier: int, since: int, until: int) -> dict[str, Any]:
    return {"node_id": node_id, "tier": tier, "since": since, "until": until}


def node_values(
    db: Session, node_id: str, tier: int, since: int, until: int, scope: Scope
) -> Sequence[Row[int, bytes]]:
    """(start, node) of the node's rows of ``tier`` in [since, until), oldest first: the
    node's own values only, never the instances' (much larger) blob."""
    stmt = _via_node(_NODE_VALUES, _rows.node_id, scope)
    return db.execute(stmt, _range(node_id, tier, since, until)).all()


def instance_values(
    db: Session, node_id: str, tier: int, since: int, until: int, scope: Scope
) -> Sequence[Row[int, str, bytes]]:
    """(start, subjects, instances) of the node's rows of ``tier`` in [since, until)."""
    stmt = _via_node(_INSTANCE_VALUES, _rows.node_id, scope)
    return db.execute(stmt, _range(node_id, tier, since, until)).all()


def whole_rows(
    db: Session, node_id: str, tier: int, since: int, until: int
) -> Sequence[Row[int, bytes, str, bytes]]:
    """(start, node, subjects, instances) in [since, until): a roll-up's sources (the
    agent's, unscoped)."""
    return db.execute(_WHOLE_ROWS, _range(node_id, tier, since, until)).all()


_RAW_ROW = select(_rows.subjects, _rows.instances).where(
    _rows.node_id == bindparam("node_id"), _rows.tier == 0, _rows.start == bindparam("start")
)


def raw_row(db: Session, node_id: str, start: int, scope: Scope) -> Row[str, bytes] | None:
    """(subjects, instances) of the node's raw row of ``start``."""
    stmt = _via_node(_RAW_ROW, _rows.node_id, scope)
    return db.execute(stmt, {"node_id": node_id, "start": start}).first()


def delete_before(db: Session, node_id: str, tier: int, before: int) -> int:
    """Drop the node's rows of ``tier`` older than ``before``; how many went."""
    result = db.execute(_DELETE_BEFORE, {"node_id": node_id, "tier": tier, "before": before})
    return int(result.rowcount)  # type: ignore[attr-defined]


def latest(
    db: Session, node_ids: Collection[str], scope: Scope
) -> Sequence[Row[str, datetime, bytes]]:
    """(node_id, time, document) of the nodes' newest readings (those that have one)."""
    stmt = select(MetricLatest.node_id, MetricLatest.time, MetricLatest.document).where(
        MetricLatest.node_id.in_(node_ids)
    )
    return db.execute(_via_node(stmt, MetricLatest.node_id, scope)).all()


def count_rows(db: Session, node_id: str) -> dict[int, tuple[int, int]]:
    """Per tier: rows and bytes the node's history takes (the benchmark's and the
    retention test's measure)."""
    size = (
        func.length(MetricRow.node)
        + func.length(MetricRow.subjects)
        + func.length(MetricRow.instances)
    )
    stmt = (
        select(MetricRow.tier, func.count(), func.sum(size))
        .where(MetricRow.node_id == node_id)
        .group_by(MetricRow.tier)
    )
    return {int(t): (int(n), int(b or 0)) for t, n, b in db.execute(stmt)}


def node_labels(
    db: Session, scope: Scope, *, node_id: str | None = None, cluster_id: str | None = None
) -> Sequence[Row[str, str, str, str, str, str, str]]:
    """(node_id, node_name, cluster_id, cluster_name, datacenter_id, organization_id,
    organization_name) of the nodes the scope sees (one node, a cluster's, or all)."""
    stmt = (
        select(
            Node.id,
            Node.name,
            Cluster.id,
            Cluster.name,
            Cluster.datacenter_id,
            Organization.id,
            Organization.name,
        )
        .join(Cluster, Cluster.id == Node.cluster_id)
        .join(Organization, Organization.id == Node.organization_id)
        .order_by(Node.name)
    )
    if node_id is not None:
        stmt = stmt.where(Node.id == node_id)
    if cluster_id is not None:
        stmt = stmt.where(Node.cluster_id == cluster_id)
    return db.execute(restrict(stmt, Node.organization_id, scope)).all()


def instance_labels(
    db: Session, node_ids: Collection[str], scope: Scope
) -> Sequence[Row[str, str, str, str, InstanceState]]:
    """(id, name, node_id, organization_id, state) of the nodes' instances in scope."""
    i = Instance
    stmt = (
        select(i.id, i.name, i.node_id, i.organization_id, i.state)
        .where(Instance.node_id.in_(node_ids))
        .order_by(Instance.name)
    )
    return db.execute(restrict(stmt, Instance.organization_id, scope)).all()


_instances = cast(Table, Instance.__table__).c
#: A Core select of plain strings: the ORM's loading machinery cost a node with a
#: thousand instances more than the rest of its sampling pass's reads.
_RUNNING = select(_instances.id).where(
    _instances.node_id == bindparam("node_id"), _instances.state == InstanceState.RUNNING.value
)


def running_instances(db: Session, node_id: str) -> Sequence[str]:
    """IDs of the node's running instances (the agent's, unscoped)."""
    return db.execute(_RUNNING, {"node_id": node_id}).scalars().all()


def pool_usage(db: Session, node_id: str) -> Sequence[Row[str, int, int]]:
    """(pool_id, allocation, capacity) in bytes of the pools ready on the node, as its
    agent last read them (the agent's, unscoped)."""
    stmt = select(PoolNode.pool_id, PoolNode.allocation_bytes, PoolNode.capacity_bytes).where(
        PoolNode.node_id == node_id, PoolNode.status == PoolNodeStatus.READY
    )
    return db.execute(stmt.order_by(PoolNode.pool_id)).all()
