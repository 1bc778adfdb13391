"""Task handlers for volumes: create, resize (cold through the storage driver, live
through the compute driver), destroy; and the repair of one a restart interrupted.

The service set the volume's status and, for an attached volume's resize, made the task
hold the instance. Every way out (done, refused, crashed) puts the volume back to a
resting status and lets the instance go; a failed create leaves neither data nor row.
"""

from __future__ import annotations

import contextlib

from cloudenv.agent.compute import ensure_pools
from cloudenv.agent.context import TaskContext
from cloudenv.drivers.compute.base import DiskFormat, PowerState
from cloudenv.drivers.storage.base import StorageDriver
from cloudenv.enums import VolumeStatus
from cloudenv.errors import CloudenvError, NotFound
from cloudenv.services.storage import volume_tasks as vt
from cloudenv.services.storage.volumes import GIB, GROW_DEVICE_FIRST
from cloudenv.services.tasks import TaskClaim, TaskKind
from cloudenv.store.engine import transaction


def _plan(ctx: TaskContext, task: TaskClaim) -> vt.VolumePlan:
    with transaction(ctx.session_factory) as db:
        return vt.volume_for_task(db, task.target_id or "")


def _reason(exc: Exception, task: TaskClaim) -> str:
    if isinstance(exc, CloudenvError):
        return exc.message
    return f"an unexpected error (the node's log has the details, task {task.id})"


def _size(size_bytes: int) -> str:
    return f"{size_bytes / GIB:g} GB"


def create(task: TaskClaim, ctx: TaskContext) -> None:
    plan = _plan(ctx, task)
    storage = ctx.drivers.need_storage()
    try:
        ensure_pools(ctx, {plan.pool_id})
        ctx.report(
            progress=20,
            line=f"Creating {plan.label}: {_size(plan.size_bytes)} {plan.format} in pool "
            f"{plan.pool_id}",
        )
        info = storage.create_volume(
            plan.pool_id, plan.file_name, plan.size_bytes, DiskFormat(plan.format)
        )
        with transaction(ctx.session_factory) as db:
            kept = vt.record_created(db, plan.id, size_bytes=info.capacity_bytes, path=info.path)
        if not kept:  # its row went meanwhile: the data must not outlive it
            storage.delete_volume(plan.pool_id, plan.file_name)
    except Exception as exc:
        _delete_quietly(storage, plan)
        with transaction(ctx.session_factory) as db:
            vt.forget_failed(db, plan.id, _reason(exc, task))
        if not isinstance(exc, CloudenvError):
            raise
        raise CloudenvError(
            f"Failed creating {plan.label} in pool {plan.pool_id}: {exc.message} Nothing was "
            "left behind: the volume's record is gone too."
        ) from None


def _delete_quietly(storage: StorageDriver, plan: vt.VolumePlan) -> None:
    """Remove what a failed create may have written (the file is named after the volume's
    ID, so nothing else can have it); a pool that can't be reached has nothing of ours."""
    with contextlib.suppress(CloudenvError):
        storage.delete_volume(plan.pool_id, plan.file_name)


def resize(task: TaskClaim, ctx: TaskContext) -> None:
    plan = _plan(ctx, task)
    size = int(task.params["size_bytes"])
    live = bool(task.params.get("live"))
    instance_id = str(task.params.get("instance_id") or "") or None
    target = str(task.params.get("target") or "")
    storage = ctx.drivers.need_storage()
    try:
        ensure_pools(ctx, {plan.pool_id})
        if live:
            _resize_live(ctx, plan, instance_id or "", target, size)
            reached: int | None = size
        else:
            if instance_id is not None and _running(ctx, instance_id):
                raise CloudenvError(
                    f"Instance {instance_id} is running, so {plan.label} was not resized cold "
                    "(that could corrupt its data); stop it, or resize live."
                )
            ctx.report(progress=30, line=f"Resizing {plan.label} to {_size(size)} (cold)")
            reached = storage.resize_volume(plan.pool_id, plan.file_name, size).capacity_bytes
    except Exception as exc:
        # A device grown before QEMU refused keeps its growth: record what the pool has.
        with transaction(ctx.session_factory) as db:
            vt.record_resized(
                db, plan.id, task.id, size_bytes=_actual(storage, plan), instance_id=instance_id
            )
        if not isinstance(exc, CloudenvError):
            raise
        raise CloudenvError(
            f"Failed resizing {plan.label} to {_size(size)}: {exc.message}"
        ) from None
    with transaction(ctx.session_factory) as db:
        vt.record_resized(db, plan.id, task.id, size_bytes=reached, instance_id=instance_id)


def _resize_live(
    ctx: TaskContext, plan: vt.VolumePlan, instance_id: str, target: str, size: int
) -> None:
    compute = ctx.drivers.need_compute()
    if not _running(ctx, instance_id):
        raise CloudenvError(
            f"Instance {instance_id} is no longer running, so {plan.label} can't be resized "
            "live; resize it cold (live: false)."
        )
    if plan.pool_type in GROW_DEVICE_FIRST:
        ctx.report(progress=20, line=f"Growing the device of {plan.label} to {_size(size)}")
        ctx.drivers.need_storage().resize_volume(plan.pool_id, plan.file_name, size)
    ctx.report(
        progress=50,
        line=f"Resizing disk {target} of running instance {instance_id} to {_size(size)} (live)",
    )
    compute.resize_disk(instance_id, target, size)


def _running(ctx: TaskContext, instance_id: str) -> bool:
    return ctx.drivers.domain_state(instance_id) == PowerState.RUNNING


def _actual(storage: StorageDriver, plan: vt.VolumePlan) -> int | None:
    """The volume's size as its pool reports it now; None when it can't be read."""
    try:
        info = storage.volume_info(plan.pool_id, plan.file_name)
    except CloudenvError:
        return None
    return info.capacity_bytes if info is not None else None


def destroy(task: TaskClaim, ctx: TaskContext) -> None:
    """Data first, then the row: a failure leaves the volume (available) as it was."""
    plan = _plan(ctx, task)
    storage = ctx.drivers.need_storage()
    try:
        ensure_pools(ctx, {plan.pool_id})
        ctx.report(progress=30, line=f"Deleting the data of {plan.label}")
        storage.delete_volume(plan.pool_id, plan.file_name)
    except Exception as exc:
        with transaction(ctx.session_factory) as db:
            vt.destroy_failed(db, plan.id)
        if not isinstance(exc, CloudenvError):
            raise
        raise CloudenvError(f"Failed destroying {plan.label}: {exc.message}") from None
    with transaction(ctx.session_factory) as db:
        vt.forget_destroyed(db, plan.id)


def recover(task: TaskClaim, ctx: TaskContext) -> str:
    """Repair what a volume task left when the daemon stopped in the middle of it:

    - create: unless it was recorded available, delete whatever reached the pool and the
      row (as a failed create does);
    - resize: record the size the pool now reports, the volume available, the instance
      let go (a resize either happened or did not; QEMU and the drivers don't half-grow);
    - destroy: finish it (the user asked for it; deleting is idempotent).

    When the pool can't be reached, the volume is left in error (it may be destroyed).
    Returns a line for the task's log."""
    try:
        plan = _plan(ctx, task)
    except NotFound:
        if task.kind == TaskKind.VOLUME_RESIZE:
            with transaction(ctx.session_factory) as db:
                vt.record_resized(
                    db,
                    task.target_id or "",
                    task.id,
                    size_bytes=None,
                    instance_id=task.params.get("instance_id"),
                )
        return "The volume's record was already gone."
    if task.kind == TaskKind.VOLUME_RESIZE:
        try:
            storage = ctx.drivers.need_storage()
            ensure_pools(ctx, {plan.pool_id})
            size = _actual(storage, plan)
        except CloudenvError:
            size = None
        with transaction(ctx.session_factory) as db:
            vt.record_resized(
                db,
                plan.id,
                task.id,
                size_bytes=size,
                instance_id=task.params.get("instance_id"),
            )
        now = _size(size) if size else f"still {_size(plan.size_bytes)} as recorded"
        return f"The resize of {plan.label} was interrupted; it is {now}, and available."
    if task.kind == TaskKind.VOLUME_CREATE and plan.status != VolumeStatus.CREATING:
        return f"{plan.label.capitalize()} had been created before the interruption; kept it."
    try:
        ensure_pools(ctx, {plan.pool_id})
        ctx.drivers.need_storage().delete_volume(plan.pool_id, plan.file_name)
    except CloudenvError as exc:
        with transaction(ctx.session_factory) as db:
            vt.mark_error(db, plan.id)
        return (
            f"Could not clean up {plan.label} in pool {plan.pool_id} ({exc.message}); it is "
            "in error: destroy it once the pool is reachable."
        )
    with transaction(ctx.session_factory) as db:
        if task.kind == TaskKind.VOLUME_CREATE:
            vt.forget_failed(db, plan.id, "interrupted by a restart")
            return (
                f"Creating {plan.label} was interrupted: removed what reached the pool and "
                "its record; create it again."
            )
        vt.forget_destroyed(db, plan.id)
    return f"Finished destroying {plan.label} after the interruption."
