"""Selectors for instances and what hangs off them: devices, snapshots and console
tickets.

Instances carry ``organization_id``; their children do not, so a child selector joins
its instance and scopes that (``_via_instance``): a device of another tenant's instance
is as missing as the instance. Every selector takes the caller's scope, the agent passes
``UNSCOPED`` by name.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, select
from sqlalchemy.orm import Session

from cloudenv.enums import DesiredState, DeviceType, InstanceState
from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.queries.tenancy import newest_event_id, newest_event_query
from cloudenv.store.tables import (
    ConsoleToken,
    Instance,
    InstanceDevice,
    Node,
    Snapshot,
    Volume,
)


def _via_instance(stmt: Select[Any], instance_column: Any, scope: Scope) -> Select[Any]:
    """Scope rows that hang off an instance by the instance's organization."""
    if scope is None:
        return stmt
    return restrict(
        stmt.join(Instance, Instance.id == instance_column), Instance.organization_id, scope
    )


# Instances


def get_instance(db: Session, instance_id: str, scope: Scope) -> Instance | None:
    stmt = restrict(
        select(Instance).where(Instance.id == instance_id), Instance.organization_id, scope
    )
    found: Instance | None = db.scalar(stmt)
    return found


def instances(db: Session, scope: Scope, *, node_id: str) -> Sequence[Instance]:
    """The node's instances as rows, by name (lists read ``instance_rows`` instead)."""
    stmt = select(Instance).where(Instance.node_id == node_id).order_by(Instance.name)
    return db.scalars(restrict(stmt, Instance.organization_id, scope)).all()


def instance_ids(
    db: Session, node_id: str, scope: Scope, *, state: InstanceState | None = None
) -> Sequence[str]:
    """IDs of the node's instances, optionally only those in ``state``."""
    stmt = select(Instance.id).where(Instance.node_id == node_id)
    if state is not None:
        stmt = stmt.where(Instance.state == state)
    return db.scalars(restrict(stmt, Instance.organization_id, scope)).all()


def autostart_ids(db: Session, node_id: str, scope: Scope) -> Sequence[str]:
    """The node's instances marked autostart that are stopped and not busy."""
    stmt = select(Instance.id).where(
        Instance.node_id == node_id,
        Instance.autostart.is_(True),
        Instance.state == InstanceState.STOPPED,
        Instance.current_task_id.is_(None),
    )
    return db.scalars(restrict(stmt, Instance.organization_id, scope)).all()


def committed_memory_mb(db: Session, node_id: str, scope: Scope) -> int:
    """Memory of the node's instances that are meant to run, in MB."""
    stmt = select(func.coalesce(func.sum(Instance.memory_mb), 0)).where(
        Instance.node_id == node_id, Instance.desired_state == DesiredState.RUNNING
    )
    return int(db.scalar(restrict(stmt, Instance.organization_id, scope)) or 0)


# Devices


def devices(db: Session, instance_id: str, scope: Scope) -> list[InstanceDevice]:
    """The instance's devices in the order they were added."""
    stmt = select(InstanceDevice).where(InstanceDevice.instance_id == instance_id)
    stmt = _via_instance(stmt, InstanceDevice.instance_id, scope)
    return list(db.scalars(stmt.order_by(InstanceDevice.id)))


def devices_of_instances(
    db: Session, instance_ids: Collection[str], scope: Scope
) -> Sequence[InstanceDevice]:
    stmt = select(InstanceDevice).where(InstanceDevice.instance_id.in_(instance_ids))
    return db.scalars(_via_instance(stmt, InstanceDevice.instance_id, scope)).all()


def get_device(db: Session, device_id: int, scope: Scope) -> InstanceDevice | None:
    stmt = select(InstanceDevice).where(InstanceDevice.id == device_id)
    found: InstanceDevice | None = db.scalar(_via_instance(stmt, InstanceDevice.instance_id, scope))
    return found


def cdrom_holders(db: Session, image_id: str, scope: Scope) -> set[str]:
    """IDs of instances with the image in a CD-ROM drive."""
    stmt = select(InstanceDevice.instance_id).where(
        InstanceDevice.type == DeviceType.CDROM, InstanceDevice.resource_id == image_id
    )
    return set(db.scalars(_via_instance(stmt, InstanceDevice.instance_id, scope)))


def writable_volumes(db: Session, instance_id: str, scope: Scope) -> Sequence[Volume]:
    """The volumes the instance writes to (attached as storage volumes, not read-only)."""
    stmt = (
        select(Volume)
        .join(InstanceDevice, InstanceDevice.resource_id == Volume.id)
        .where(
            InstanceDevice.instance_id == instance_id,
            InstanceDevice.type == DeviceType.STORAGE_VOLUME,
            InstanceDevice.readonly.is_(False),
        )
    )
    return db.scalars(restrict(stmt, Volume.organization_id, scope)).all()


# Snapshots


# Instance network interfaces (vSwitches and port groups: ``queries.network``).


def macs_in_cluster(db: Session, cluster_id: str, scope: Scope) -> set[str]:
    """The MACs of the NICs of the cluster's instances (lower case)."""
    stmt = (
        select(InstanceDevice.mac)
        .join(Instance, Instance.id == InstanceDevice.instance_id)
        .join(Node, Node.id == Instance.node_id)
        .where(
            Node.cluster_id == cluster_id,
            InstanceDevice.type == DeviceType.NIC,
            InstanceDevice.mac.is_not(None),
        )
    )
    return {m.lower() for m in db.scalars(restrict(stmt, Instance.organization_id, scope)) if m}


def snapshots(db: Session, instance_id: str, scope: Scope) -> Sequence[Snapshot]:
    stmt = select(Snapshot).where(Snapshot.instance_id == instance_id)
    stmt = _via_instance(stmt, Snapshot.instance_id, scope)
    return db.scalars(stmt.order_by(Snapshot.creation, Snapshot.id)).all()


def get_snapshot(db: Session, instance_id: str, name: str, scope: Scope) -> Snapshot | None:
    stmt = select(Snapshot).where(Snapshot.instance_id == instance_id, Snapshot.name == name)
    found: Snapshot | None = db.scalar(_via_instance(stmt, Snapshot.instance_id, scope))
    return found


# Console tickets


def console_token(db: Session, token_hash: str, scope: Scope) -> ConsoleToken | None:
    """The ticket with this hash. Redeeming one is anonymous (the ticket is the credential),
    so callers pass ``UNSCOPED`` and then re-check the ticket's user against the instance."""
    stmt = select(ConsoleToken).where(ConsoleToken.token_hash == token_hash)
    found: ConsoleToken | None = db.scalar(_via_instance(stmt, ConsoleToken.instance_id, scope))
    return found


def delete_expired_console_tokens(db: Session, now: datetime) -> None:
    """Spent and expired tickets have no further use (every tenant's: housekeeping)."""
    db.execute(delete(ConsoleToken).where(ConsoleToken.expires <= now))


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
    return restrict(select(*INSTANCE_LIST_COLUMNS), _instances.organization_id, scope)


#: The escape character of ``like_pattern``'s patterns.
LIKE_ESCAPE = "\\"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own ``%``, ``_`` and ``\\`` taken
    literally (escaped with ``LIKE_ESCAPE``; the escape character first, so the escapes
    added after it are not escaped again)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def instance_rows(
    db: Session,
    scope: Scope,
    *,
    node_id: str | None = None,
    cluster_id: str | None = None,
    name_contains: str | None = None,
    limit: int | None = None,
) -> Sequence[Row[Any]]:
    """The visible instances of a node, of a cluster's nodes, and/or whose name holds
    ``name_contains`` (any case), by name, as tuples of ``INSTANCE_LIST_COLUMNS``; the
    first ``limit`` of them when given."""
    stmt = _listed(scope)
    if node_id is not None:
        stmt = stmt.where(_instances.node_id == node_id)
    if cluster_id is not None:
        nodes_of_cluster = select(Node.id).where(Node.cluster_id == cluster_id)
        stmt = stmt.where(_instances.node_id.in_(nodes_of_cluster.scalar_subquery()))
    if name_contains is not None:
        # ILIKE on PostgreSQL, lower() LIKE lower() on SQLite: a substring in any case.
        # No index serves a substring; a scan of the listed columns of 10,000 rows is
        # a few milliseconds, and ``limit`` bounds what is built from it.
        stmt = stmt.where(_instances.name.ilike(like_pattern(name_contains), escape=LIKE_ESCAPE))
    stmt = stmt.order_by(_instances.name, _instances.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return db.execute(stmt).all()


def instance_row(db: Session, scope: Scope, instance_id: str) -> Row[Any] | None:
    """One visible instance as a tuple of ``INSTANCE_LIST_COLUMNS``, or None."""
    return db.execute(_listed(scope).where(_instances.id == instance_id)).first()


#: Event kinds after which an instance list may read differently: every change of an
#: instance row publishes an ``instance.`` event in its own transaction, and a node moving
#: between clusters a ``node.`` one.
INSTANCE_LIST_EVENT_PREFIXES = ("instance.", "node.")
_LATEST_LIST_EVENT = newest_event_query(INSTANCE_LIST_EVENT_PREFIXES)


def instance_list_version(db: Session) -> int:
    """The newest event that may have changed an instance list (0 if none)."""
    return newest_event_id(db, _LATEST_LIST_EVENT)
