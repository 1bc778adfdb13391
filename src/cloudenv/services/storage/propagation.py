"""Storage pool propagation (the seed's "Storage Pool Propagation"): bringing every node
of a cluster to its pools' definitions.

Two halves. The **pass** is a cluster-wide system job: every ``PASS_SECONDS`` each node's
agent asks for the cluster's lease (``store.queries.leases``); the one node holding it
forgets pools marked for destruction that no node holds any more, and queues one
``pool.sync`` task for each node that has pool rows needing work (pending, removing, or
failed and not tried for ``RETRY_SECONDS``) unless such a task is already queued or
running there. The services queue the same task in the transaction of every change
(``queue_syncs``), so a change reaches its nodes at once; the pass is the backstop.

The **sync** runs on each node (``agent.pools``): it reads its rows (``node_work``), asks
its storage driver to define/start or stop/undefine each pool, and records what happened
here (``record_ready``, ``record_error``, ``record_removed``). Every write is a
compare-and-swap on the row's status, so a node disabled while its agent was defining the
pool stays disabled. A pool already right is not touched: a second pass queues nothing.

Secrets leave the database only in ``PoolWork.secrets``, for the node's driver.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import PoolNodeStatus, PoolType, TaskStatus, VolumeStatus
from cloudenv.ids import Prefix, new_id
from cloudenv.services import events, paths
from cloudenv.services.access import SYSTEM
from cloudenv.services.events import EventKind
from cloudenv.services.storage.pool_config import default_initiator, target_path
from cloudenv.services.tasks import TaskKind, queue_task
from cloudenv.store.queries import leases
from cloudenv.store.queries import storage as q
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import StoragePool, Volume

log = logging.getLogger(__name__)

#: How often the lease holder looks for work (the nudge after a change comes first).
PASS_SECONDS = 30.0
#: How long a lease lasts unrenewed: a node that stops is replaced after this.
LEASE_SECONDS = 90.0
#: A node that failed to define a pool is tried again after this long.
RETRY_SECONDS = 60.0


def lease_name(cluster_id: str) -> str:
    return f"storage-propagation:{cluster_id}"


# The pass ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassResult:
    #: Whether this node held the lease and so ran the pass.
    ran: bool
    queued: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)


def run_pass(db: Session, node_id: str, *, now: datetime | None = None) -> PassResult:
    """One propagation pass for the cluster of ``node_id``, if this node holds (or takes)
    the cluster's lease; otherwise nothing."""
    now = now or clock.now()
    cluster_id = q.cluster_of_node(db, node_id)
    if cluster_id is None:
        return PassResult(False)
    until = now + timedelta(seconds=LEASE_SECONDS)
    if not leases.take(db, lease_name(cluster_id), node_id, now, until):
        return PassResult(False)
    forgotten = []
    for pool in q.emptied_pools(db, cluster_id):
        forgotten.append(pool.id)
        _publish_deleted(db, pool)
        forget_pool(db, pool)
    needing = q.nodes_needing_sync(db, cluster_id, now - timedelta(seconds=RETRY_SECONDS))
    busy = q.nodes_with_sync(db, needing, (TaskStatus.QUEUED, TaskStatus.RUNNING))
    queued = _queue(db, needing - busy)
    return PassResult(True, queued, forgotten)


def queue_syncs(db: Session, node_ids: Collection[str]) -> list[str]:
    """Queue ``pool.sync`` on each node (the nudge after a change), unless one is already
    queued there: a queued sync reads the rows when it runs, so it will see this change.
    One that is running may have read them already, so it doesn't count."""
    wanted = set(node_ids)
    return _queue(db, wanted - q.nodes_with_sync(db, wanted, (TaskStatus.QUEUED,)))


def _queue(db: Session, node_ids: Collection[str]) -> list[str]:
    organizations = q.node_organizations(db, node_ids)
    queued = []
    for node_id in sorted(node_ids):
        if node_id not in organizations:
            continue  # the node is gone; its rows wait for whoever removes it
        queue_task(
            db,
            SYSTEM,
            TaskKind.POOL_SYNC,
            node_id=node_id,
            target_id=node_id,
            organization_id=organizations[node_id],
            path=paths.node_path(db, node_id),
        )
        queued.append(node_id)
    return queued


def forget_pool(db: Session, pool: StoragePool) -> None:
    """Drop a pool no node holds any more: its name is free again. An iSCSI pool's LUN
    rows go with it (they were the target's, not volumes anyone made); the services
    refused to let any other volume or image outlive its pool."""
    if pool.type == PoolType.ISCSI:
        for volume in q.volumes(db, UNSCOPED, pool_id=pool.id):
            if volume.instance_id is None:
                db.delete(volume)
    db.delete(pool)
    db.flush()


def _publish_deleted(db: Session, pool: StoragePool) -> None:
    events.publish(
        db,
        EventKind.POOL_DELETED,
        organization_id=pool.organization_id,
        target_id=pool.id,
        data={"cluster_id": pool.cluster_id},
    )


# One node's sync ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolWork:
    """One pool row of a node, with what its driver needs to act on it."""

    pool_id: str
    name: str
    type: PoolType
    status: PoolNodeStatus
    #: Target path for file pools ("" for block pools).
    path: str
    config: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)
    #: Volumes (and images) the node holds in it that stop its removal.
    held: int = 0


def node_work(
    db: Session,
    node_id: str,
    *,
    pool_ids: Collection[str] | None = None,
    now: datetime | None = None,
) -> list[PoolWork]:
    """The node's pool rows to act on, each marked as attempted now: without
    ``pool_ids`` those needing work (a sync), with them those pools unless being removed
    (a task about to use them ensures they run)."""
    now = now or clock.now()
    work = []
    for pool, state in q.node_pools(db, node_id, UNSCOPED):
        if pool_ids is None:
            if state.status == PoolNodeStatus.READY:
                continue
        elif pool.id not in pool_ids or state.status == PoolNodeStatus.REMOVING:
            continue
        held = 0
        if state.status == PoolNodeStatus.REMOVING:
            holdings = q.pool_holdings(db, pool.id, attached_only=pool.type == PoolType.ISCSI)
            held = sum(holdings.get(node_id, (0, 0)))
        config = dict(pool.config)
        if pool.type == PoolType.ISCSI and not config.get("initiator"):
            config["initiator"] = default_initiator(node_id)
        state.attempted = now
        work.append(
            PoolWork(
                pool.id,
                pool.name,
                pool.type,
                state.status,
                target_path(pool.type, pool.config),
                config,
                dict(pool.secrets),
                held,
            )
        )
    return work


def record_ready(
    db: Session, node_id: str, pool_id: str, *, capacity: int, allocation: int, available: int
) -> None:
    """The node defined and started the pool (unless it was disabled meanwhile)."""
    values = {
        "capacity_bytes": capacity,
        "allocation_bytes": allocation,
        "available_bytes": available,
    }
    _record(db, node_id, pool_id, PoolNodeStatus.READY, "", values)


def record_error(db: Session, node_id: str, pool_id: str, reason: str) -> None:
    """The node could not bring the pool to its definition; ``reason`` is the driver's
    words, kept prefixed with the node so a red pool says where. A row being removed
    stays removing (with the reason): the user disabled it, and a retry must remove it,
    never define it again."""
    message = f"{node_id}: {reason}"[:1024]
    state = q.pool_node(db, pool_id, node_id, UNSCOPED)
    if state is None:
        return
    status = PoolNodeStatus.REMOVING if state.status == PoolNodeStatus.REMOVING else None
    _record(db, node_id, pool_id, status or PoolNodeStatus.ERROR, message, {})


def _record(
    db: Session,
    node_id: str,
    pool_id: str,
    status: PoolNodeStatus,
    message: str,
    values: Mapping[str, object],
) -> None:
    state = q.pool_node(db, pool_id, node_id, UNSCOPED)
    if state is None:
        return
    before = (state.status, state.message)
    written = q.set_pool_state(
        db,
        pool_id,
        node_id,
        removing=status == PoolNodeStatus.REMOVING,
        status=status,
        message=message,
        updated=clock.now(),
        **values,
    )
    if written and before != (status, message):
        _publish_node(db, state.pool_id, node_id, status)
    db.expire(state)


def record_removed(db: Session, node_id: str, pool_id: str) -> bool:
    """The node stopped and undefined the pool: drop its row (if still removing), its LUN
    rows for an iSCSI pool, and the pool itself when it was marked for destruction and
    this was its last node. False when the row was no longer removing."""
    pool = q.get_pool(db, pool_id, UNSCOPED)
    if pool is None or not q.drop_pool_state(db, pool_id, node_id):
        return False
    if pool.type == PoolType.ISCSI:
        for volume in q.unattached_volumes(db, pool_id, node_id):
            db.delete(volume)
    _publish_node(db, pool_id, node_id, None)
    db.flush()
    if pool.destroying and not q.pool_states(db, [pool_id], UNSCOPED):
        _publish_deleted(db, pool)
        forget_pool(db, pool)
    return True


@dataclass(frozen=True)
class Lun:
    """A logical unit an iSCSI pool's driver listed: the node's view of it."""

    name: str
    path: str
    capacity_bytes: int


def record_luns(db: Session, node_id: str, pool_id: str, luns: list[Lun]) -> None:
    """An iSCSI pool's volumes are its target's LUNs: record each one not recorded yet
    as an available raw volume of this node, and drop rows of LUNs that vanished (unless
    attached: the instance's disk then says what is missing)."""
    pool = q.get_pool(db, pool_id, UNSCOPED)
    if pool is None:
        return
    have = {v.name: v for v in q.volumes(db, UNSCOPED, node_id=node_id, pool_id=pool_id)}
    seen = {lun.name for lun in luns}
    for lun in luns:
        volume = have.get(lun.name)
        if volume is not None:
            if (volume.path, volume.size_bytes) != (lun.path, lun.capacity_bytes):
                volume.path, volume.size_bytes = lun.path, lun.capacity_bytes
            continue
        volume = Volume(
            id=new_id(Prefix.VOLUME),
            organization_id=pool.organization_id,
            node_id=node_id,
            pool_id=pool_id,
            name=lun.name,
            description=f"LUN of iSCSI target {pool.config.get('target', '')}",
            file_name=lun.name,
            path=lun.path,
            size_bytes=lun.capacity_bytes,
            format="raw",
            status=VolumeStatus.AVAILABLE,
            instance_id=None,
            creation=clock.now(),
        )
        db.add(volume)
        _publish_volume(db, volume, EventKind.VOLUME_CREATED)
    for name, volume in have.items():
        if name not in seen and volume.instance_id is None:
            _publish_volume(db, volume, EventKind.VOLUME_DELETED)
            db.delete(volume)
    db.flush()


# The heartbeat's refresh ------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    capacity_bytes: int
    allocation_bytes: int
    available_bytes: int


def ready_pools(db: Session, node_id: str) -> list[str]:
    """IDs of the pools this node last found ready (what its heartbeat re-reads)."""
    return [pool.id for pool, _state in q.ready_states(db, node_id)]


def ready_lun_pools(db: Session, node_id: str) -> list[str]:
    """IDs of the iSCSI pools this node has ready: their targets may gain or lose LUNs
    while the pool runs, so the heartbeat lists them again now and then."""
    return [pool.id for pool, _ in q.ready_states(db, node_id) if pool.type == PoolType.ISCSI]


def refresh_usage(db: Session, node_id: str, observed: Mapping[str, Usage | None]) -> list[str]:
    """Store current figures of the node's ready pools; a pool the driver no longer has
    running (``None``: undefined or stopped behind our back) goes back to pending and a
    sync is queued to bring it back. Returns those pools."""
    vanished = []
    for pool, state in q.ready_states(db, node_id):
        if pool.id not in observed:
            continue
        usage = observed[pool.id]
        if usage is None:
            _record(db, node_id, pool.id, PoolNodeStatus.PENDING, "", {})
            vanished.append(pool.id)
            continue
        figures = (usage.capacity_bytes, usage.allocation_bytes, usage.available_bytes)
        if figures != (state.capacity_bytes, state.allocation_bytes, state.available_bytes):
            state.capacity_bytes, state.allocation_bytes, state.available_bytes = figures
            state.updated = clock.now()
    if vanished:
        log.warning("storage pool(s) %s vanished from node %s; redefining", vanished, node_id)
        queue_syncs(db, [node_id])
    return vanished


def _publish_node(db: Session, pool_id: str, node_id: str, status: PoolNodeStatus | None) -> None:
    pool = q.get_pool(db, pool_id, UNSCOPED)
    if pool is None:
        return
    events.publish(
        db,
        EventKind.POOL_NODE_UPDATED,
        organization_id=pool.organization_id,
        target_id=pool_id,
        data={
            "cluster_id": pool.cluster_id,
            "node_id": node_id,
            "state": status.value if status else "removed",
        },
    )


def _publish_volume(db: Session, volume: Volume, kind: EventKind) -> None:
    events.publish(
        db,
        kind,
        organization_id=volume.organization_id,
        target_id=volume.id,
        data={"node_id": volume.node_id, "status": int(volume.status)},
    )
