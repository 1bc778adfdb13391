"""Selectors for the resource tree; each applies the caller's ``scope`` through
``store.queries.scope.restrict``."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Engine, Float, Row, Select, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from cloudenv.store.queries.scope import Scope as Scope  # callers may name it from here
from cloudenv.store.queries.scope import restrict
from cloudenv.store.tables import Cluster, Datacenter, Event, Node, Organization

Model = TypeVar("Model", Organization, Datacenter, Cluster, Node)
Column = ColumnElement[Any] | InstrumentedAttribute[Any]


def _get(db: Session, model: type[Model], object_id: str, scope: Scope) -> Model | None:
    org_column = model.id if model is Organization else model.organization_id  # type: ignore[attr-defined]
    stmt = restrict(select(model).where(model.id == object_id), org_column, scope)
    found: Model | None = db.scalar(stmt)
    return found


def organizations(db: Session, scope: Scope) -> Sequence[Organization]:
    stmt = restrict(select(Organization), Organization.id, scope)
    return db.scalars(stmt.order_by(Organization.is_root.desc(), Organization.name)).all()


def get_organization(db: Session, organization_id: str, scope: Scope) -> Organization | None:
    return _get(db, Organization, organization_id, scope)


def organization_by_name(db: Session, name: str) -> Organization | None:
    return db.scalar(select(Organization).where(Organization.name == name))


def root_organization(db: Session) -> Organization | None:
    return db.scalar(select(Organization).where(Organization.is_root.is_(True)))


def datacenters(
    db: Session, scope: Scope, organization_ids: Collection[str] | None = None
) -> Sequence[Datacenter]:
    stmt = restrict(select(Datacenter), Datacenter.organization_id, scope)
    if organization_ids is not None:
        stmt = stmt.where(Datacenter.organization_id.in_(organization_ids))
    return db.scalars(stmt.order_by(Datacenter.name)).all()


def get_datacenter(db: Session, datacenter_id: str, scope: Scope) -> Datacenter | None:
    return _get(db, Datacenter, datacenter_id, scope)


def name_taken(
    db: Session,
    model: type[Datacenter] | type[Cluster],
    organization_id: str,
    name: str,
    but: str = "",
) -> bool:
    """Whether another datacenter (or cluster) of the organization has this name; ``but``
    is the object being renamed."""
    return bool(
        db.scalar(
            select(
                exists().where(
                    model.organization_id == organization_id,
                    model.name == name,
                    model.id != but,
                )
            )
        )
    )


def clusters(
    db: Session,
    scope: Scope,
    *,
    organization_ids: Collection[str] | None = None,
    datacenter_id: str | None = None,
) -> Sequence[Cluster]:
    stmt = restrict(select(Cluster), Cluster.organization_id, scope)
    if organization_ids is not None:
        stmt = stmt.where(Cluster.organization_id.in_(organization_ids))
    if datacenter_id is not None:
        stmt = stmt.where(Cluster.datacenter_id == datacenter_id)
    return db.scalars(stmt.order_by(Cluster.name)).all()


def get_cluster(db: Session, cluster_id: str, scope: Scope) -> Cluster | None:
    return _get(db, Cluster, cluster_id, scope)


def nodes(
    db: Session,
    scope: Scope,
    *,
    organization_ids: Collection[str] | None = None,
    cluster_ids: Collection[str] | None = None,
) -> Sequence[Node]:
    stmt = restrict(select(Node), Node.organization_id, scope)
    if organization_ids is not None:
        stmt = stmt.where(Node.organization_id.in_(organization_ids))
    if cluster_ids is not None:
        stmt = stmt.where(Node.cluster_id.in_(cluster_ids))
    return db.scalars(stmt.order_by(Node.name)).all()


#: What lists and the tree show of a node: everything but the (large) reported facts.
NODE_SUMMARY_COLUMNS = (
    Node.id,
    Node.organization_id,
    Node.cluster_id,
    Node.name,
    Node.description,
    Node.ip_address,
    Node.wol_mac,
    Node.creation,
    Node.last_seen,
    Node.joining,
    Node.ssh_key,
    Node.client_cert,
)


def node_summaries(
    db: Session,
    scope: Scope,
    *,
    organization_ids: Collection[str] | None = None,
    cluster_ids: Collection[str] | None = None,
) -> Sequence[Row[Any]]:
    """Like ``nodes`` but as light rows without hardware and host facts (the tree's hot path:
    decoding every node's facts cost more than everything else together)."""
    columns = cast(Select[Any], select(*NODE_SUMMARY_COLUMNS))
    stmt = restrict(columns, Node.organization_id, scope)
    if organization_ids is not None:
        stmt = stmt.where(Node.organization_id.in_(organization_ids))
    if cluster_ids is not None:
        stmt = stmt.where(Node.cluster_id.in_(cluster_ids))
    return db.execute(stmt.order_by(Node.name)).all()


def get_node(db: Session, node_id: str, scope: Scope) -> Node | None:
    return _get(db, Node, node_id, scope)


# Where objects sit: the paths policies match (``services.paths``) ----------------------

#: (datacenter, cluster, node): a node's place below its organization.
NodePath = tuple[str, str, str]
#: Nodes never move between clusters and clusters never between datacenters (no API does
#: either; a node joins a cluster once), so a node's path, once read, stays right for the
#: life of the process: it is kept per database and read again only for nodes not seen
#: yet. The IDs here are ancestors of objects the caller already loaded through its scope;
#: they serve authorization and are never shown.
_paths: weakref.WeakKeyDictionary[Engine, dict[str, NodePath]] = weakref.WeakKeyDictionary()
_paths_lock = threading.Lock()
_PATHS_MAX = 200_000
_IN_CHUNK = 500


def _known_paths(db: Session) -> dict[str, NodePath]:
    engine = db.get_bind().engine
    with _paths_lock:
        known = _paths.get(engine)
        if known is None or len(known) > _PATHS_MAX:
            known = _paths[engine] = {}
        return known


def node_paths(db: Session, node_ids: Iterable[str]) -> dict[str, NodePath]:
    """(datacenter, cluster, node) of each existing node of ``node_ids``; one query for
    the nodes this process has not placed yet, none once it has."""
    known = _known_paths(db)
    wanted = set(node_ids)
    missing = [n for n in wanted if n not in known]
    for start in range(0, len(missing), _IN_CHUNK):
        rows = db.execute(
            select(Node.id, Cluster.datacenter_id, Node.cluster_id)
            .join(Cluster, Cluster.id == Node.cluster_id)
            .where(Node.id.in_(missing[start : start + _IN_CHUNK]))
        )
        found = {node_id: (dc, cluster, node_id) for node_id, dc, cluster in rows}
        with _paths_lock:
            known.update(found)
    return {n: known[n] for n in wanted if n in known}


def node_path(db: Session, node_id: str) -> NodePath | None:
    return node_paths(db, (node_id,)).get(node_id)


def cluster_datacenter(db: Session, cluster_id: str) -> str | None:
    """The datacenter of a cluster (clusters don't move: no cache needed beyond a read)."""
    found: str | None = db.scalar(select(Cluster.datacenter_id).where(Cluster.id == cluster_id))
    return found


def count_children(db: Session, column: Column, parent_id: str) -> int:
    """How many rows point at ``parent_id`` through ``column`` (e.g. Cluster.datacenter_id)."""
    table = column.table
    return int(db.scalar(select(func.count()).select_from(table).where(column == parent_id)) or 0)


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
# walk back over every later event instead (migration 0005 has the figures).
def newest_event_query(prefixes: Sequence[str]) -> Select[Any]:
    """The newest event of each kind prefix, one column each: ``'node.' <= kind < 'node/'``
    is a range of the (kind, id) index, read from its end."""
    return select(
        *(
            select(func.max(Event.id))
            .where(Event.kind >= prefix, Event.kind < prefix[:-1] + chr(ord(prefix[-1]) + 1))
            .scalar_subquery()
            for prefix in prefixes
        )
    )


def newest_event_id(db: Session, query: Select[Any]) -> int:
    """The newest event a ``newest_event_query`` finds (0 if none)."""
    newest = db.execute(query).one()
    return max((int(i) for i in newest if i is not None), default=0)


_LATEST_TREE_EVENT = newest_event_query(TREE_EVENT_PREFIXES)
_HEARTBEATS = select(
    func.count(Node.id), func.coalesce(func.sum(epoch_seconds(Node.last_seen)), 0.0)
)


def latest_tree_event_id(db: Session) -> int:
    """The newest event that changed an organization, datacenter, cluster or node (0 if
    none)."""
    return newest_event_id(db, _LATEST_TREE_EVENT)


def heartbeat_signature(db: Session) -> tuple[int, float]:
    """(how many nodes, the sum of their ``last_seen`` in seconds): changes with every
    heartbeat of any node, which writes ``last_seen`` without an event. One aggregate
    over the nodes table, no rows decoded."""
    row = db.execute(_HEARTBEATS).one()
    return int(row[0]), float(row[1])
