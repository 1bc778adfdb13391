"""Volumes: list, read, create on a node's pool, resize, destroy.

Each change is a task on the volume's node (``agent/volumes.py`` carries it out); the
service checks every rule, then changes the volume's status by compare-and-swap on
"available" (``_swap``) in the transaction that queues the task. So a resize and an
attach (``services.compute.claims``, also a swap on "available"), a resize and a
destroy, or two destroys of one volume can't both win: the database lets exactly one
UPDATE change the row, and the other is refused with the volume's status now.

A volume attached to an instance is resized through that instance, which the resize
task holds (``take_instance``, as device tasks do) until it ends: the instance can't be
started, stopped or given another device meanwhile, so a cold resize never grows a disk
under a guest that started in between. The seed's warning decides the rest: a running
guest's volume is grown live (QEMU's block resize) only when asked, else refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import DeviceType, DiskFormat, PoolNodeStatus, PoolType, VolumeStatus
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.services import events, paths, tasks
from cloudenv.services.access import Action, Principal, authorize, readable
from cloudenv.services.compute.states import LABELS, InstanceState
from cloudenv.services.confirmation import check_confirm
from cloudenv.services.events import EventKind
from cloudenv.services.iam import quotas
from cloudenv.services.storage.pools import pool_on_node
from cloudenv.services.validation import VOLUME_NAME, check_description
from cloudenv.store.queries import compute as qc
from cloudenv.store.queries import storage as q
from cloudenv.store.queries import tenancy as qt
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Instance, StoragePool, Task
from cloudenv.store.tables import Volume as Volume  # re-exported: the API renders these rows

GIB = 1024**3
MIB = 1024**2
#: The largest volume one request makes or a resize adds (as deploy's new volumes).
SIZE_MAX_GB = 64 * 1024

#: An iSCSI pool's volumes are its target's LUNs: propagation records what it finds, and
#: only the target's administrator creates, grows or removes them.
LUN_POOLS = frozenset({PoolType.ISCSI})
#: Pools whose volumes are block devices (a logical volume, an RBD image, a zvol, a LUN):
#: raw only, there is no qcow2 layer on them.
BLOCK_POOLS = frozenset({PoolType.ISCSI, PoolType.LVM, PoolType.RBD, PoolType.ZFS})
#: Live resize of these grows the device through the storage driver first (lvextend, the
#: zvol's volsize), then tells QEMU; QEMU grows a file or an RBD image itself.
GROW_DEVICE_FIRST = frozenset({PoolType.LVM, PoolType.ZFS})
#: A volume in error (a task could not tell what it left) may still be destroyed.
DESTROYABLE = frozenset({VolumeStatus.AVAILABLE, VolumeStatus.ERROR})


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


def get_volume(db: Session, principal: Principal, volume_id: str) -> Volume:
    return _load(db, principal, volume_id, Action.VOLUME_READ)


@dataclass(frozen=True, kw_only=True)
class CreateRequest:
    node_id: str
    pool_id: str
    name: str
    size_gb: float
    driver: str
    description: str = ""


def create_volume(db: Session, principal: Principal, request: CreateRequest) -> tuple[Volume, Task]:
    """Record the volume (creating) and queue the task that makes it on the node."""
    node = qt.get_node(db, request.node_id, principal.scope)
    if node is None:
        raise NotFound(f"Node {request.node_id} does not exist.", field="node_id")
    authorize(principal, Action.VOLUME_CREATE, node.organization_id, paths.node_path(db, node.id))
    name = VOLUME_NAME.check(request.name.strip())
    check_description(request.description)
    size_bytes = _bytes(request.size_gb, field="size")
    pool = q.get_pool(db, request.pool_id, principal.scope)
    if pool is None:
        raise NotFound(f"Storage pool {request.pool_id} does not exist.", field="storage_pool_id")
    pool = pool_on_node(db, pool.id, node.id, field="storage_pool_id")
    _check_ready(db, pool, node.id, node.name)
    fmt = check_new_volume(pool, request.driver, field="driver", pool_field="storage_pool_id")
    if q.volume_name_taken(db, pool.id, node.id, name):
        raise Conflict(_name_taken(pool, node.name, name), field="name")
    # Before the row is written, in its transaction: a refusal leaves nothing behind.
    quotas.enforce(
        db,
        node.organization_id,
        quotas.Demand(storage_bytes=size_bytes),
        request="this volume",
        storage_field="size",
    )
    volume_id = new_id(Prefix.VOLUME)
    volume = Volume(
        id=volume_id,
        organization_id=node.organization_id,
        node_id=node.id,
        pool_id=pool.id,
        name=name,
        description=request.description,
        file_name=f"{volume_id}.{fmt}",
        size_bytes=size_bytes,
        format=fmt,
        status=VolumeStatus.CREATING,
        creation=clock.now(),
    )
    db.add(volume)
    try:
        db.flush()  # the (pool, node, name) key: a create that raced this one took it
    except IntegrityError:
        raise Conflict(_name_taken(pool, node.name, name), field="name") from None
    task = tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.VOLUME_CREATE,
        node_id=node.id,
        target_id=volume.id,
        organization_id=node.organization_id,
        path=paths.on_node(db, node.id, volume.id),
    )
    publish(db, volume)
    return volume, task


def check_new_volume(pool: StoragePool, driver: str, *, field: str, pool_field: str) -> str:
    """The format of a new volume in ``pool`` (deploy's new volumes too): qcow2 or raw,
    raw on block pools, dir (a directory) on directory and netfs pools; none in a pool of
    LUNs. ``field``/``pool_field`` name the request's
    format and pool fields."""
    label = f"Storage pool {pool.name} ({pool.id})"
    if pool.type in LUN_POOLS:
        raise InvalidInput(
            f"{label} is an iSCSI pool: its volumes are the target's LUNs, which are made on "
            "the iSCSI target, not through cloudenv. Choose a pool of another type.",
            field=pool_field,
        )
    if driver == DiskFormat.DIR:
        if pool.type not in (PoolType.DIRECTORY, PoolType.NETFS):
            raise InvalidInput(
                f"{label} holds no directories; a dir volume (a container's mount point) "
                "needs a directory or netfs pool.",
                field=pool_field,
            )
        return driver
    if driver not in (DiskFormat.QCOW2, DiskFormat.RAW):
        raise InvalidInput(
            f"Volume format {driver!r} can't be created; use qcow2 or raw (or dir: a "
            "directory, a container's mount point).",
            field=field,
        )
    if pool.type in BLOCK_POOLS and driver != DiskFormat.RAW:
        kind = PoolType(pool.type).name.lower()
        raise InvalidInput(
            f"{label} is a {kind} pool: its volumes are block devices, which hold raw data "
            "only; use raw.",
            field=field,
        )
    return driver


def resize_volume(
    db: Session, principal: Principal, volume_id: str, *, delta_gb: float, live: bool
) -> Task:
    """Grow the volume by ``delta_gb`` GiB: live through its running guest when asked,
    cold otherwise (refused on a running guest without ``live``: the seed's warning)."""
    volume = _load(db, principal, volume_id, Action.VOLUME_RESIZE)
    label = _label(volume)
    delta = _bytes(delta_gb, field="delta_gb")
    pool = q.get_pool(db, volume.pool_id, UNSCOPED)
    if pool is not None and pool.type in LUN_POOLS:
        raise Conflict(
            f"{label} is a LUN of iSCSI pool {pool.name} ({pool.id}); its size is set on the "
            "iSCSI target, so it can't be resized through cloudenv.",
            field="id",
        )
    if volume.format == DiskFormat.DIR:
        raise Conflict(
            f"{label} is a directory (a container's file system): it has no size to grow; "
            "it takes what its pool's filesystem has free.",
            field="id",
        )
    _check_available(volume, "resized")
    instance = _holder(db, volume)
    mode = _resize_mode(volume, instance, live)
    quotas.enforce(
        db,
        volume.organization_id,
        quotas.Demand(storage_bytes=delta),
        request="this resize",
        increase=True,
        storage_field="delta_gb",
    )
    size = volume.size_bytes + delta
    params: dict[str, object] = {"size_bytes": size, "live": mode == "live"}
    if instance is not None:
        params.update(instance_id=instance.id, target=_target(db, instance, volume))
    _swap(db, volume, VolumeStatus.RESIZING, "resized")
    task = tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.VOLUME_RESIZE,
        node_id=volume.node_id,
        target_id=volume.id,
        organization_id=volume.organization_id,
        path=volume_path(db, volume),
        params=params,
    )
    if instance is not None:
        from cloudenv.services.compute.instances import take_instance

        state, desired = InstanceState(instance.state), instance.desired_state
        take_instance(db, instance, task, preempt=False, state=state, desired=desired)
    publish(db, volume)
    return task


def destroy_volume(
    db: Session, principal: Principal, volume_id: str, *, confirm: str | None = None
) -> Task:
    """Mark the volume destroying and queue the task that deletes its data, then its row."""
    volume = _load(db, principal, volume_id, Action.VOLUME_DELETE)
    label = _label(volume)
    check_confirm(confirm, f"Destroying volume {volume.name} ({volume.id})")
    if volume.instance_id is not None:
        raise Conflict(_attached(volume, volume.instance_id), field="id")
    pool = q.get_pool(db, volume.pool_id, UNSCOPED)
    if pool is not None and pool.type in LUN_POOLS:
        raise Conflict(
            f"{label} is a LUN of iSCSI pool {pool.name} ({pool.id}); LUNs are removed on "
            "the iSCSI target, not through cloudenv.",
            field="id",
        )
    if volume.status not in DESTROYABLE:
        raise Conflict(_busy(volume, "destroyed"), field="id")
    _swap(db, volume, VolumeStatus.DESTROYING, "destroyed", from_=DESTROYABLE)
    task = tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.VOLUME_DESTROY,
        node_id=volume.node_id,
        target_id=volume.id,
        organization_id=volume.organization_id,
        path=volume_path(db, volume),
    )
    publish(db, volume)
    return task


def volume_path(db: Session, volume: Volume) -> tuple[str, ...]:
    """(datacenter, cluster, node, volume)."""
    return paths.on_node(db, volume.node_id, volume.id)


def publish(
    db: Session, volume: Volume, kind: EventKind = EventKind.VOLUME_UPDATED, **extra: Any
) -> None:
    """A volume event; its node in ``data``, so a view of that node's volumes refreshes."""
    data = {"node_id": volume.node_id, "status": VolumeStatus(volume.status).value, **extra}
    events.publish(db, kind, organization_id=volume.organization_id, target_id=volume.id, data=data)


# Rules -----------------------------------------------------------------------------------


def _load(db: Session, principal: Principal, volume_id: str, action: Action) -> Volume:
    volume = q.get_volume(db, volume_id, principal.scope)
    if volume is None:
        raise NotFound(f"Volume {volume_id} does not exist.", field="id")
    authorize(principal, action, volume.organization_id, volume_path(db, volume))
    return volume


def _label(volume: Volume) -> str:
    return f"Volume {volume.name} ({volume.id})"


def _bytes(size_gb: float, *, field: str) -> int:
    """GiB to bytes, rounded up to whole MiB (what every backend allocates in)."""
    if not (isinstance(size_gb, int | float) and math.isfinite(size_gb)):
        raise InvalidInput("Give the size as a number of GB.", field=field)
    if not 0 < size_gb <= SIZE_MAX_GB:
        raise InvalidInput(
            f"The size must be more than 0 and at most {SIZE_MAX_GB} GB, not {size_gb:g}.",
            field=field,
        )
    return math.ceil(size_gb * GIB / MIB) * MIB


def _name_taken(pool: StoragePool, node_name: str, name: str) -> str:
    return (
        f"Storage pool {pool.name} on node {node_name} already has a volume named {name!r}; "
        "choose another name."
    )


def _check_ready(db: Session, pool: StoragePool, node_id: str, node_name: str) -> None:
    label = f"Storage pool {pool.name} ({pool.id})"
    if pool.destroying:
        raise Conflict(
            f"{label} is marked for destruction; create the volume in another pool.",
            field="storage_pool_id",
        )
    state = q.pool_node(db, pool.id, node_id, UNSCOPED)
    status = state.status if state is not None else PoolNodeStatus.PENDING
    if status == PoolNodeStatus.READY:
        return
    if status == PoolNodeStatus.ERROR:
        why = f"is in error on node {node_name}: {state.message if state else ''}".rstrip(": ")
        hint = "fix the pool on that node (propagation retries it), then try again"
    elif status == PoolNodeStatus.REMOVING:
        why, hint = f"is being removed from node {node_name}", "choose another pool"
    else:
        why = f"is not ready on node {node_name} yet (propagation has not set it up there)"
        hint = "try again once it shows the green check"
    raise Conflict(f"{label} {why}; {hint}.", field="storage_pool_id")


def _check_available(volume: Volume, what: str) -> None:
    if volume.status != VolumeStatus.AVAILABLE:
        raise Conflict(_busy(volume, what), field="id")


def _busy(volume: Volume, what: str) -> str:
    status = VolumeStatus(volume.status).name.lower()
    return f"{_label(volume)} is {status}, so it can't be {what}; wait until it is available."


def _attached(volume: Volume, instance_id: str) -> str:
    return (
        f"{_label(volume)} is attached to instance {instance_id}. A volume cannot be "
        "destroyed while it is attached to an instance: detach it from the instance first, "
        "then destroy it."
    )


def _holder(db: Session, volume: Volume) -> Instance | None:
    if volume.instance_id is None:
        return None
    # The volume's instance, whoever may see it: its state decides how the volume grows.
    instance = qc.get_instance(db, volume.instance_id, UNSCOPED)
    if instance is None:
        raise Conflict(_busy(volume, "resized"), field="id")
    return instance


def _resize_mode(volume: Volume, instance: Instance | None, live: bool) -> str:
    """ "live" (QEMU grows it under the running guest) or "cold" (the storage driver)."""
    if instance is None:
        if live:
            raise Conflict(
                f"{_label(volume)} is not attached to a running instance, so it can't be "
                "resized live; resize it with live set to false.",
                field="live",
            )
        return "cold"
    who = f"instance {instance.name} ({instance.id})"
    state = InstanceState(instance.state)
    if state == InstanceState.RUNNING:
        if not live:
            raise Conflict(
                f"{_label(volume)} is in use by running {who}: resizing a volume in use may "
                "lead to data corruption or loss. Stop the instance first for a cold resize, "
                "or ask for a live resize (live: true).",
                field="live",
            )
        return "live"
    if state == InstanceState.STOPPED:
        if live:
            raise Conflict(
                f"{_label(volume)} belongs to {who}, which is stopped, so it can't be resized "
                "live; resize it cold (live: false), or start the instance first.",
                field="live",
            )
        return "cold"
    raise Conflict(
        f"{_label(volume)} belongs to {who}, which is {LABELS[state]}; resize it once the "
        "instance is running or stopped.",
        field="id",
    )


def _target(db: Session, instance: Instance, volume: Volume) -> str:
    """The guest's device name for the volume (``vdb``): what QEMU's block resize names."""
    for device in qc.devices(db, instance.id, UNSCOPED):
        if device.type == DeviceType.STORAGE_VOLUME and device.resource_id == volume.id:
            return device.target or ""
    raise Conflict(_busy(volume, "resized"), field="id")


def _swap(
    db: Session,
    volume: Volume,
    to: VolumeStatus,
    what: str,
    *,
    from_: frozenset[VolumeStatus] = frozenset({VolumeStatus.AVAILABLE}),
) -> None:
    """``from_`` (available) → ``to``, only if the volume is still so and attached to what
    it was when read (one UPDATE: see the module's docstring); else Conflict."""
    holder = volume.instance_id
    attached = Volume.instance_id.is_(None) if holder is None else Volume.instance_id == holder
    done = db.execute(
        update(Volume)
        .where(Volume.id == volume.id, Volume.status.in_([s.value for s in from_]), attached)
        .values(status=to.value)
        .execution_options(synchronize_session=False)
    )
    db.refresh(volume)
    if done.rowcount == 1:  # type: ignore[attr-defined]
        return
    if volume.instance_id is not None and volume.instance_id != holder:
        if to == VolumeStatus.DESTROYING:
            raise Conflict(_attached(volume, volume.instance_id), field="id")
        raise Conflict(
            f"{_label(volume)} was just attached to instance {volume.instance_id}; ask again.",
            field="id",
        )
    raise Conflict(_busy(volume, what), field="id")
