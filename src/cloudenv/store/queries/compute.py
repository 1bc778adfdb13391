"""Selectors for compute: instances. ``scope`` is None (sees all) or the visible org IDs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Float, Row, Select, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from cloudenv.store.tables import Event, Instance, Node

Scope = frozenset[str] | None


# Read models for lists
#
# Instance lists are the hot read path (a node or cluster holds hundreds of instances and
# every UI polls them): read the listed columns as plain rows with a Core select, never ORM
# objects, whose identity map and attribute instrumentation cost ten times the query.

_instances = Instance.__table__.c

#: What an instance list entry shows (no configuration, no facts), in this order: table
#: columns, not ORM attributes, so rows skip the ORM's loading machinery.
INSTANCE_LIST_COLUMNS = (
    _instances.id,
    _instances.node_id,
    _instances.organization_id,
    _instances.type,
    _instances.name,
    _instances.description,
    _instances.cpu_sockets,
    _instances.cpu_cores,
    _instances.cpu_threads,
    _instances.memory_mb,
    _instances.creation,
    _instances.autostart,
    _instances.state,
    _instances.desired_state,
    _instances.state_message,
    _instances.current_task_id,
)


def _listed(scope: Scope) -> Select[Any]:
    stmt = cast(Select[Any], select(*INSTANCE_LIST_COLUMNS))
    return stmt if scope is None else stmt.where(_instances.organization_id.in_(scope))


def instance_rows(
    db: Session,
    scope: Scope,
    *,
    node_id: str | None = None,
    cluster_id: str | None = None,
) -> Sequence[Row[Any]]:
    """The visible instances of a node or of a cluster's nodes, by name, as tuples of
    ``INSTANCE_LIST_COLUMNS``."""
    stmt = _listed(scope)
    if node_id is not None:
        stmt = stmt.where(_instances.node_id == node_id)
    if cluster_id is not None:
        nodes_of_cluster = select(Node.id).where(Node.cluster_id == cluster_id)
        stmt = stmt.where(_instances.node_id.in_(nodes_of_cluster.scalar_subquery()))
    return db.execute(stmt.order_by(_instances.name, _instances.id)).all()


def instance_row(db: Session, scope: Scope, instance_id: str) -> Row[Any] | None:
    """One visible instance as a tuple of ``INSTANCE_LIST_COLUMNS``, or None."""
    return db.execute(_listed(scope).where(_instances.id == instance_id)).first()


# The tree's version: what changes it (see ``api.rendering.VersionedCache``).

#: Event kinds that change the resource tree, by prefix.
TREE_EVENT_PREFIXES = ("cluster.", "datacenter.", "deployment.", "node.", "organization.")


class epoch_seconds(FunctionElement[float]):
    """A timestamp column as Unix seconds, in SQL, on every backend."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds)
def _epoch_standard(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


# One subquery per prefix, each a range of the (kind, id) index: an OR of the ranges would
# walk back over every later event instead (migration 0007 has the figures).
_LATEST_TREE_EVENT = select(
    *(
        select(func.max(Event.id))
        .where(Event.kind >= prefix, Event.kind < prefix[:-1] + chr(ord(prefix[-1]) + 1))
        .scalar_subquery()
        for prefix in TREE_EVENT_PREFIXES
    )
)
_HEARTBEATS = select(
    func.count(Node.id), func.coalesce(func.sum(epoch_seconds(Node.last_seen)), 0.0)
)


def latest_tree_event_id(db: Session) -> int:
    """The newest event that changed an organization, datacenter, cluster or node (0 if
    none): the newest of each prefix's range (``'node.' <= kind < 'node/'``)."""
    newest = db.execute(_LATEST_TREE_EVENT).one()
    return max((int(i) for i in newest if i is not None), default=0)


def heartbeat_signature(db: Session) -> tuple[int, float]:
    """(how many nodes, the sum of their ``last_seen`` in seconds): changes with every
    heartbeat of any node, which writes ``last_seen`` without an event. One aggregate
    over the nodes table, no rows decoded."""
    row = db.execute(_HEARTBEATS).one()
    return int(row[0]), float(row[1])
