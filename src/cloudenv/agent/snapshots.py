"""Task handlers for snapshots: take, revert to, delete.

The service claimed the instance and wrote the row; the handler asks the hypervisor and
records the result, then frees the instance in the power state the hypervisor reports (a
revert may change it: a snapshot taken running comes back running). After a revert the
persistent definition is rebuilt from the rows, because libvirt restores the snapshot's
own copy of the domain XML, which may predate devices added or removed since.
"""

from __future__ import annotations

from cloudenv.agent.compute import domain_spec
from cloudenv.agent.compute import recover as recover_instance
from cloudenv.agent.context import TaskContext
from cloudenv.agent.devices import release_as_observed
from cloudenv.drivers.compute.base import PowerState
from cloudenv.errors import CloudenvError, NotFound
from cloudenv.services.compute import execution as ex
from cloudenv.services.compute import snapshots as sn
from cloudenv.services.tasks import TaskClaim, TaskKind
from cloudenv.store.engine import transaction


def create(task: TaskClaim, ctx: TaskContext) -> None:
    instance_id, name = task.target_id or "", str(task.params["snapshot"])
    compute = ctx.drivers.need_compute()
    try:
        with transaction(ctx.session_factory) as db:
            description = sn.snapshot_description(db, instance_id, name)
        running = compute.state(instance_id) == PowerState.RUNNING
        what = "disks and memory" if running else "disks"
        ctx.report(progress=20, line=f"Taking snapshot {name} ({what})")
        compute.snapshot_create(instance_id, name, description)
    except Exception as exc:
        _finish(ctx, task, sn.SnapshotStatus.ERROR)
        if not isinstance(exc, CloudenvError):
            raise
        raise CloudenvError(
            f"Snapshot {name} of instance {instance_id} failed: {exc.message} Delete it "
            "(DELETE .../snapshots/{name}?confirm=DESTROY) and try again."
        ) from None
    _finish(ctx, task, sn.SnapshotStatus.READY)


def revert(task: TaskClaim, ctx: TaskContext) -> None:
    instance_id, name = task.target_id or "", str(task.params["snapshot"])
    compute = ctx.drivers.need_compute()
    try:
        ctx.report(progress=20, line=f"Reverting to snapshot {name}")
        compute.snapshot_revert(instance_id, name)
        ctx.report(progress=80, line="Restoring the definition from the instance's devices")
        with transaction(ctx.session_factory) as db:
            plan = ex.load_plan(db, instance_id)
        compute.define(domain_spec(plan, ctx))
    except Exception as exc:
        _finish(ctx, task)
        if not isinstance(exc, CloudenvError):
            raise
        raise CloudenvError(
            f"Reverting instance {instance_id} to snapshot {name} failed: {exc.message}"
        ) from None
    _finish(ctx, task)


def delete(task: TaskClaim, ctx: TaskContext) -> None:
    instance_id, name = task.target_id or "", str(task.params["snapshot"])
    try:
        if _exists(ctx, instance_id, name):
            ctx.report(progress=20, line=f"Deleting snapshot {name}")
            ctx.drivers.need_compute().snapshot_delete(instance_id, name)
        else:
            ctx.report(line=f"The hypervisor has no snapshot {name}; forgetting its record.")
    except Exception as exc:
        _finish(ctx, task)
        if not isinstance(exc, CloudenvError):
            raise
        raise CloudenvError(
            f"Deleting snapshot {name} of instance {instance_id} failed: {exc.message}"
        ) from None
    with transaction(ctx.session_factory) as db:
        sn.forget_snapshot(db, instance_id, name)
    _finish(ctx, task)


def recover(task: TaskClaim, ctx: TaskContext) -> str:
    """The daemon stopped mid-task: make the row say what the hypervisor has."""
    instance_id, name = task.target_id or "", str(task.params.get("snapshot", ""))
    try:
        exists = _exists(ctx, instance_id, name)
    except CloudenvError as exc:
        return f"Could not read the snapshots ({exc.message}). {recover_instance(task, ctx)}"
    with transaction(ctx.session_factory) as db:
        if task.kind == TaskKind.INSTANCE_SNAPSHOT_DELETE and not exists:
            sn.forget_snapshot(db, instance_id, name)
        elif task.kind != TaskKind.INSTANCE_SNAPSHOT_REVERT:
            status = sn.SnapshotStatus.READY if exists else sn.SnapshotStatus.ERROR
            sn.record_snapshot(db, instance_id, name, status)
    where = "is" if exists else "is not"
    return f"Snapshot {name} {where} on the hypervisor. {recover_instance(task, ctx)}"


def _exists(ctx: TaskContext, instance_id: str, name: str) -> bool:
    try:
        listed = ctx.drivers.need_compute().snapshot_list(instance_id)
    except NotFound:
        return False
    return any(s.name == name for s in listed)


def _finish(ctx: TaskContext, task: TaskClaim, status: sn.SnapshotStatus | None = None) -> None:
    """Record the snapshot's status (if given) and free the instance as it now is."""
    if status is not None:
        with transaction(ctx.session_factory) as db:
            sn.record_snapshot(db, task.target_id or "", str(task.params["snapshot"]), status)
    release_as_observed(ctx, task)
