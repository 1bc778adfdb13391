"""The change feed: services append events in the same transaction as the change, the
events stream reads them back filtered to what each caller may see.

Every kind is an ``EventKind``, named ``<resource>.<past participle>``: it says what
happened, never what was asked. A task's own outcome is ``task.updated``; the kind of
work a task does names the event its success publishes (``TaskKind.event``).

Cursors: the root organization's callers see every event under its global ``id``; anyone
else sees only their organization's events, numbered by ``org_seq`` (1, 2, 3 … within the
organization), so the IDs a tenant sees reveal nothing about other tenants' activity. A
non-root caller belongs to one organization, so one number is a complete cursor.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import InvalidInput
from cloudenv.services.access import Principal
from cloudenv.store.queries import events as queries
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Event


class EventKind(StrEnum):
    """Append-only, like ``TaskKind``: clients (the web UI, the CLI) switch on these."""

    DEPLOYMENT_INITIALIZED = "deployment.initialized"
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_UPDATED = "organization.updated"
    ORGANIZATION_DELETED = "organization.deleted"
    DATACENTER_CREATED = "datacenter.created"
    DATACENTER_UPDATED = "datacenter.updated"
    DATACENTER_DELETED = "datacenter.deleted"
    CLUSTER_UPDATED = "cluster.updated"
    #: The node's agent reported its host facts (``hardware``, ``host``).
    NODE_UPDATED = "node.updated"
    #: A node that was not alive (or never was) sent a heartbeat: its agent is connected.
    NODE_CONNECTED = "node.connected"
    #: An ``node.refresh_facts`` task finished.
    NODE_FACTS_REFRESHED = "node.facts_refreshed"
    #: A task was queued; ``data``: ``kind``, ``status``.
    TASK_CREATED = "task.created"
    #: A task was claimed, reported progress or ended; ``data``: ``kind``, ``status``,
    #: ``progress``.
    TASK_UPDATED = "task.updated"
    #: A queued task was cancelled before it ran; what it held was given back.
    TASK_CANCELLED = "task.cancelled"
    #: A cluster pool was created, its nodes changed, or it was marked for destruction.
    POOL_CREATED = "pool.created"
    POOL_UPDATED = "pool.updated"
    #: A pool's state on a node changed (propagation); ``data``: ``node_id``, ``state``.
    POOL_NODE_UPDATED = "pool.node_updated"
    #: Propagation finished cleaning up a pool marked for destruction: its name is free.
    POOL_DELETED = "pool.deleted"
    #: A propagation pass brought a node's pools to their definitions.
    POOL_SYNCED = "pool.synced"
    VOLUME_CREATED = "volume.created"
    #: Size, status or attachment changed; ``data``: ``node_id``, ``status``.
    VOLUME_UPDATED = "volume.updated"
    VOLUME_RESIZED = "volume.resized"
    VOLUME_DELETED = "volume.deleted"
    #: The node's agent read its NICs again and something changed; ``data.node_id``.
    NICS_UPDATED = "nic.updated"
    VSWITCH_CREATED = "vswitch.created"
    #: Description, MTU, uplinks, security or its state on the node changed.
    VSWITCH_UPDATED = "vswitch.updated"
    VSWITCH_DELETED = "vswitch.deleted"
    PORT_GROUP_CREATED = "port_group.created"
    PORT_GROUP_UPDATED = "port_group.updated"
    PORT_GROUP_DELETED = "port_group.deleted"
    #: A node's agent brought its OVS switches and ports to their definitions.
    NETWORK_SYNCED = "network.synced"
    IMAGE_CREATED = "image.created"
    #: An image row changed (``data.status``: e.g. available after its import).
    IMAGE_UPDATED = "image.updated"
    #: An image's import task finished: it is available.
    IMAGE_IMPORTED = "image.imported"
    #: An image is gone: deleted, or its import failed (``data.reason``).
    IMAGE_DELETED = "image.deleted"
    #: An instance was recorded (its deploy task is queued).
    INSTANCE_CREATED = "instance.created"
    #: Name, description, CPU, memory or autostart changed.
    INSTANCE_UPDATED = "instance.updated"
    #: The instance's state or the task holding it changed; ``data.state``.
    INSTANCE_STATE_CHANGED = "instance.state_changed"
    INSTANCE_DEPLOYED = "instance.deployed"
    INSTANCE_STARTED = "instance.started"
    INSTANCE_STOPPED = "instance.stopped"
    INSTANCE_RESTARTED = "instance.restarted"
    #: Force Stop finished.
    INSTANCE_KILLED = "instance.killed"
    #: A destroy task finished (``instance.deleted`` came with it).
    INSTANCE_DESTROYED = "instance.destroyed"
    #: The instance's rows are gone: destroyed, or its deploy failed.
    INSTANCE_DELETED = "instance.deleted"
    INSTANCE_CONSOLE_OPENED = "instance.console_opened"
    INSTANCE_DEVICE_ATTACHED = "instance.device_attached"
    INSTANCE_DEVICE_DETACHED = "instance.device_detached"
    #: A device row changed (renamed, or settled as attached); ``data.device``.
    INSTANCE_DEVICE_UPDATED = "instance.device_updated"
    #: A device row is gone (detached, or its attach was undone); ``data.device``.
    INSTANCE_DEVICE_DELETED = "instance.device_deleted"
    INSTANCE_SNAPSHOT_CREATED = "instance.snapshot_created"
    INSTANCE_SNAPSHOT_REVERTED = "instance.snapshot_reverted"
    INSTANCE_SNAPSHOT_DELETED = "instance.snapshot_deleted"
    #: A snapshot row changed; ``data``: ``snapshot``, ``status`` (ready, error, or
    #: deleted when the row is dropped).
    INSTANCE_SNAPSHOT_UPDATED = "instance.snapshot_updated"
    #: A license key was set on a node; ``data``: ``status``, ``expiry``.
    NODE_LICENSE_UPDATED = "node.license_updated"
    #: An issuer's public key was trusted, or no longer: every node's status may change.
    LICENSE_ISSUERS_UPDATED = "license.issuers_updated"


@dataclass(frozen=True)
class EventView:
    id: int
    time: datetime
    kind: str
    organization_id: str | None
    target_id: str | None
    data: dict[str, Any]
    # The event's number within its organization: the cursor its tenant sees.
    org_seq: int | None = None


# Cursors are 64-bit database integers; anything longer is refused before any query.
MAX_CURSOR = 2**63 - 1


def publish(
    db: Session,
    kind: EventKind,
    *,
    organization_id: str | None,
    target_id: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append an event such as ``datacenter.created``; it becomes visible on commit.

    Every ``instance.*`` event names the instance's node (``instance_data``): a node's page
    lists its instances, and the UI refreshes it from that field alone."""
    kind = EventKind(kind)  # a bare string must still be a known kind
    if kind.startswith("instance.") and "node_id" not in (data or {}):
        raise ValueError(f"{kind} needs data.node_id: build its data with instance_data()")
    db.add(
        Event(
            time=clock.now(),
            kind=kind.value,
            organization_id=organization_id,
            target_id=target_id,
            data=data or {},
        )
    )


def instance_data(node_id: str | None, **extra: Any) -> dict[str, Any]:
    """The data of every ``instance.*`` event: the instance's node, so a live view of that
    node (its page, its instance count) knows to refresh, plus the kind's own fields.
    ``node_id`` is None only when the instance is already gone and its node unknown."""
    return {"node_id": node_id, **extra}


#: On PostgreSQL a transaction may commit an older event ID after a newer one was read, so
#: a reply rendered in between carries the newer version without that change; replies
#: versioned by event ID are trusted this long at most there. SQLite commits one writer at
#: a time, in ID order, so there a reply is kept exactly until the next change.
LATE_COMMIT_WINDOW = timedelta(seconds=2)


def late_commit_bound(db: Session) -> datetime | None:
    """Until when a reply versioned by the newest event ID may be kept (None: until the
    version changes)."""
    if db.get_bind().dialect.name == "sqlite":
        return None
    return clock.now() + LATE_COMMIT_WINDOW


def latest_id(db: Session) -> int:
    """The newest event's global ID, where a fresh stream starts (0 if there is none)."""
    return queries.newest_id(db)


def parse_cursor(value: str, field: str) -> int:
    """A client's resume point (``Last-Event-ID`` or ``?since=``) as a bounded integer."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_CURSOR:
        shown = text if len(text) <= 24 else text[:24] + "…"
        raise InvalidInput(
            f"The event ID in {field} ({shown!r}) is not valid: an event ID is a whole number "
            f"from 0 to {MAX_CURSOR}; resume with an ID the stream sent, or omit it to start "
            "from now.",
            field=field,
        )
    return int(text)


def cursor_of(principal: Principal, event: EventView) -> int:
    """The ID ``principal`` sees for ``event``: global for the root organization, the
    organization's own number for everyone else."""
    if principal.scope is None:
        return event.id
    return event.org_seq or 0


def read_since(
    db: Session,
    principal: Principal,
    after: int,
    *,
    up_to_id: int | None = None,
    limit: int = 500,
) -> Sequence[EventView]:
    """Events after the caller's cursor ``after`` that the caller may see, oldest first;
    ``up_to_id`` stops at a global ID (where a live feed takes over)."""
    found = queries.since(db, principal.scope, after, up_to_id=up_to_id, limit=limit)
    return [_view(e) for e in found]


def read_all_after(
    db: Session, after_id: int, *, missing: Collection[int] = (), limit: int = 1000
) -> Sequence[EventView]:
    """Every event after a global ID, plus any of the ``missing`` IDs below it that have
    appeared since, unfiltered: the one shared poller of a process reads these once and
    hands each to the streams whose callers may see it. (On PostgreSQL a transaction can
    commit a lower ID after a higher one was read; the poller asks again for such gaps.)"""
    found = queries.after_id(db, UNSCOPED, after_id, missing=missing, limit=limit)
    return [_view(e) for e in found]


def _view(e: Event) -> EventView:
    return EventView(e.id, e.time, e.kind, e.organization_id, e.target_id, e.data, e.org_seq)
