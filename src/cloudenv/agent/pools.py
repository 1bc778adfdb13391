"""This node's half of storage pool propagation: the ``pool.sync`` task, the pools a task
needs before it uses them, and the heartbeat's refresh of their usage.

Only the ``StorageDriver`` protocol is called (ensure_pool, remove_pool, pool_usage,
list_volumes), with a ``PoolSpec`` built from the stored definition: the driver decides
how a type becomes a libvirt pool. Each outcome is recorded through
``services.storage.propagation``, whose writes are compare-and-swap, so what a user
changed meanwhile wins. Syncs of one node run one at a time (a second waits): two would
race to record the same iSCSI LUN.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection

from sqlalchemy.orm import Session, sessionmaker

from cloudenv.agent.context import TaskContext
from cloudenv.agent.drivers import Drivers
from cloudenv.drivers.storage.base import PoolSpec, StorageDriver
from cloudenv.enums import PoolNodeStatus, PoolType
from cloudenv.errors import CloudenvError, NotFound
from cloudenv.services.storage import propagation
from cloudenv.services.storage.propagation import Lun, PoolWork, Usage
from cloudenv.services.tasks import TaskClaim
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _node_lock(node_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(node_id, threading.Lock())


def spec_of(work: PoolWork) -> PoolSpec:
    return PoolSpec(
        name=work.pool_id,
        type=PoolType(work.type),
        path=work.path,
        config=dict(work.config),
        secrets=dict(work.secrets),
    )


def sync(task: TaskClaim, ctx: TaskContext) -> None:
    """``pool.sync``: bring every pool row of this node that needs it to its definition.
    Each pool's outcome is recorded on its row; the task fails, naming them, when any
    pool could not be brought there (the next pass retries those)."""
    storage = ctx.drivers.need_storage()
    with _node_lock(ctx.node_id):
        with transaction(ctx.session_factory) as db:
            work = propagation.node_work(db, ctx.node_id)
        failures = []
        for index, item in enumerate(work, start=1):
            action = "Removing" if item.status == PoolNodeStatus.REMOVING else "Defining"
            ctx.report(line=f"{action} storage pool {item.name} ({item.pool_id})")
            failure = _apply(ctx, storage, item)
            if failure:
                failures.append(f"{item.name}: {failure}")
            ctx.report(progress=100 * index // max(1, len(work)))
    if failures:
        raise CloudenvError(
            f"{len(failures)} storage pool(s) could not be brought to their definition on "
            f"node {ctx.node_id}: " + "; ".join(failures)
        )


def _apply(ctx: TaskContext, storage: StorageDriver, item: PoolWork) -> str | None:
    """Act on one row; the reason it failed, or None."""
    try:
        if item.status == PoolNodeStatus.REMOVING:
            _remove(ctx, storage, item)
        else:
            _ensure(ctx, storage, item)
        return None
    except CloudenvError as exc:
        reason = exc.message
    except Exception as exc:  # a driver crash: the log has it, the row says where to look
        log.exception("storage pool %s on %s failed: %s", item.pool_id, ctx.node_id, exc)
        reason = "failed unexpectedly; the node's log has the details"
    with transaction(ctx.session_factory) as db:
        propagation.record_error(db, ctx.node_id, item.pool_id, reason)
    return reason


def _ensure(ctx: TaskContext, storage: StorageDriver, item: PoolWork) -> None:
    usage = storage.ensure_pool(spec_of(item))
    luns = None
    if item.type == PoolType.ISCSI:  # its volumes are the target's LUNs
        luns = [Lun(v.name, v.path, v.capacity_bytes) for v in storage.list_volumes(item.pool_id)]
    with transaction(ctx.session_factory) as db:
        propagation.record_ready(
            db,
            ctx.node_id,
            item.pool_id,
            capacity=usage.capacity_bytes,
            allocation=usage.allocation_bytes,
            available=usage.available_bytes,
        )
        if luns is not None:
            propagation.record_luns(db, ctx.node_id, item.pool_id, luns)


def _remove(ctx: TaskContext, storage: StorageDriver, item: PoolWork) -> None:
    if item.held:
        raise CloudenvError(
            f"storage pool {item.name} still holds {item.held} volume(s) or image(s) on "
            "this node; destroy them, then it is removed"
        )
    storage.remove_pool(item.pool_id)
    with transaction(ctx.session_factory) as db:
        propagation.record_removed(db, ctx.node_id, item.pool_id)


def ensure_enabled(ctx: TaskContext, pool_ids: Collection[str]) -> None:
    """Before a task uses pools (deploy, attach, image import): make sure each one it
    names runs on this node, recording the outcome; a failure fails the task with the
    driver's reason."""
    storage = ctx.drivers.need_storage()
    with transaction(ctx.session_factory) as db:
        work = propagation.node_work(db, ctx.node_id, pool_ids=set(pool_ids))
    for item in work:
        try:
            _ensure(ctx, storage, item)
        except CloudenvError as exc:
            with transaction(ctx.session_factory) as db:
                propagation.record_error(db, ctx.node_id, item.pool_id, exc.message)
            raise


def refresh_usage(node_id: str, factory: sessionmaker[Session], drivers: Drivers) -> list[str]:
    """The heartbeat's look at the pools this node has ready: current usage, and the ones
    that vanished (undefined or stopped behind our back) sent back to propagation."""
    storage = drivers.storage
    if storage is None:
        return []
    with transaction(factory) as db:
        ready = propagation.ready_pools(db, node_id)
    observed: dict[str, Usage | None] = {}
    for pool_id in ready:
        try:
            usage = storage.pool_usage(pool_id)
        except NotFound:
            observed[pool_id] = None
            continue
        except CloudenvError as exc:
            log.warning("reading usage of storage pool %s failed: %s", pool_id, exc.message)
            continue
        observed[pool_id] = (
            Usage(usage.capacity_bytes, usage.allocation_bytes, usage.available_bytes)
            if usage.active
            else None
        )
    if not observed:
        return []
    with transaction(factory) as db:
        return propagation.refresh_usage(db, node_id, observed)


def rescan_luns(node_id: str, factory: sessionmaker[Session], drivers: Drivers) -> None:
    """Record the LUNs a ready iSCSI pool's target has now: one added on the target after
    the pool started becomes a volume, one removed there goes (unless attached). Each
    listing is an iSCSI login with the userspace initiator, so the heartbeat calls this
    about once a minute, not every beat."""
    storage = drivers.storage
    if storage is None:
        return
    # Under the node's sync lock: a pool being disabled meanwhile gets no rows back.
    with _node_lock(node_id):
        with transaction(factory) as db:
            pool_ids = propagation.ready_lun_pools(db, node_id)
        for pool_id in pool_ids:
            try:
                found = storage.list_volumes(pool_id)
            except CloudenvError as exc:  # the usage refresh and propagation deal with it
                log.warning("listing the LUNs of pool %s failed: %s", pool_id, exc.message)
                continue
            luns = [Lun(v.name, v.path, v.capacity_bytes) for v in found]
            with transaction(factory) as db:
                propagation.record_luns(db, node_id, pool_id, luns)


def run_pass(node_id: str, factory: sessionmaker[Session]) -> propagation.PassResult:
    """The cluster-wide job, if this node holds the lease (``services.storage.propagation``)."""
    with transaction(factory) as db:
        return propagation.run_pass(db, node_id)
