"""Task handlers for instances: deploy, start, stop, restart, kill, destroy.

Each reads the instance's plan, acts through the drivers (the VM or the container driver,
by the instance's type), and records the outcome. A failed deploy undoes every step it
took (volumes, a container's unpacked root filesystem, domain) and removes the instance,
and its task log names what was removed.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack

from cloudenv.agent.context import TaskContext
from cloudenv.agent.pools import ensure_enabled
from cloudenv.drivers.compute.base import (
    ComputeDriver,
    ContainerSpec,
    DirectKernelBoot,
    DiskBus,
    DiskFormat,
    DiskSpec,
    DomainSpec,
    IdMapping,
    MountKind,
    MountSpec,
    PowerState,
)
from cloudenv.drivers.images.hostname import hostname_for
from cloudenv.drivers.storage.base import VolumeInfo
from cloudenv.enums import DesiredState, InstanceType, VolumeStatus
from cloudenv.errors import CloudenvError, InvalidInput
from cloudenv.host.subids import NoSubordinateIds, root_range
from cloudenv.services.compute import attachments as at
from cloudenv.services.compute import execution as ex
from cloudenv.services.compute.states import InstanceState
from cloudenv.services.storage import volume_tasks
from cloudenv.services.tasks import TaskClaim, TaskKind
from cloudenv.store.engine import transaction

START_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.25
#: How long a powered-off container is watched for coming back before powering it off again.
STOP_SETTLE_SECONDS = 2.0


def hypervisor(ctx: TaskContext, plan: ex.InstancePlan) -> ComputeDriver:
    """The driver of this instance: the VMs' or the containers'."""
    return ctx.drivers.hypervisor(plan.type)


def _what(plan: ex.InstancePlan) -> str:
    return "container" if plan.type == InstanceType.LXC else "virtual machine"


def mount_kind(disk: ex.PlannedDisk) -> MountKind:
    """A directory volume is bind-mounted; a raw one holds a filesystem the node mounts."""
    return MountKind.DIRECTORY if disk.format == DiskFormat.DIR else MountKind.FILESYSTEM


def container_spec(plan: ex.InstancePlan) -> ContainerSpec:
    """A container's root filesystem (its root volume), init, ID map and mount points (its
    other volumes at their paths inside)."""
    config = plan.container
    assert config is not None
    root = next((d for d in plan.disks if d.is_root), None)
    if root is None:
        raise CloudenvError(f"Container {plan.id} has no root filesystem volume.")
    shift = config.idmap
    return ContainerSpec(
        rootfs=root.path,
        rootfs_kind=mount_kind(root),
        init=config.init,
        hostname=hostname_for(plan.name),
        idmap=None if shift is None else IdMapping(uid=shift.uid, gid=shift.gid, count=shift.count),
        mounts=tuple(
            MountSpec(source=d.path, target=d.target, readonly=d.readonly, kind=mount_kind(d))
            for d in plan.disks
            if not d.is_root and d.volume_id
        ),
    )


def domain_spec(plan: ex.InstancePlan, ctx: TaskContext) -> DomainSpec:
    """The designer's input for the instance: its typed configuration as the row holds it,
    its disks and kernel resolved to files on this node (a container: its directories)."""
    common = DomainSpec(
        name=plan.id,
        uuid=plan.uuid,
        title=plan.name,
        vcpus_sockets=plan.sockets,
        vcpus_cores=plan.cores,
        vcpus_threads=plan.threads,
        memory_mb=plan.memory_mb,
        accelerator=ctx.drivers.accelerator,
        config=plan.config,
        interfaces=tuple(i.spec for i in plan.interfaces),
        metadata={"instance": plan.id, "node": plan.node_id},
    )
    if plan.type == InstanceType.LXC:
        return dataclasses.replace(common, vnc=False, container=container_spec(plan))
    kernel = DirectKernelBoot(plan.kernel, plan.initrd, plan.cmdline) if plan.kernel else None
    disks = tuple(
        DiskSpec(
            path=d.path,
            source=d.source,
            target=d.target,
            bus=DiskBus(d.bus),
            format=DiskFormat(d.format),
            device=d.device,
            readonly=d.readonly,
            serial=d.serial,
            boot_order=d.boot_order or None,
        )
        for d in plan.disks
    )
    if kernel is not None:  # libvirt forbids per-device boot order with direct kernel boot
        disks = tuple(dataclasses.replace(d, boot_order=None) for d in disks)
    return dataclasses.replace(
        common,
        disks=disks,
        kernel_boot=kernel,
        serial_log=os.path.join(ctx.drivers.serial_log_dir, f"{plan.id}-serial.log"),
    )


def apply_port_vlans(ctx: TaskContext, interfaces: Iterable[ex.PlannedInterface]) -> None:
    """Set each running NIC's port group VLAN on its OVS port through OVSDB. libvirt set
    it when the tap joined the bridge, but only then (RUNTIME.md §8); doing it again here
    makes OVSDB the one source, as the network.sync pass that re-applies it after an OVS
    restart or a port group edit. A failure is reported, not fatal: the guest runs, and
    the next sync retries."""
    for nic in interfaces:
        try:
            network = ctx.drivers.need_network()
            port = network.set_port_vlan(nic.spec.bridge, nic.spec.mac, nic.spec.vlan)
        except CloudenvError as exc:
            ctx.report(line=f"NIC {nic.name} ({nic.spec.mac}): VLAN not applied: {exc.message}")
        else:
            ctx.report(
                line=f"NIC {nic.name} ({nic.spec.mac}) is port {port} of {nic.spec.bridge}, "
                f"port group {nic.port_group}"
            )


def _plan(ctx: TaskContext, instance_id: str) -> ex.InstancePlan:
    with transaction(ctx.session_factory) as db:
        return ex.load_plan(db, instance_id)


def ensure_pools(ctx: TaskContext, pool_ids: set[str]) -> None:
    """The pools a task is about to use run on this node (see ``agent.pools``)."""
    ensure_enabled(ctx, pool_ids)


def _release(
    ctx: TaskContext,
    task: TaskClaim,
    state: InstanceState,
    message: str = "",
    desired: DesiredState | None = None,
) -> None:
    with transaction(ctx.session_factory) as db:
        ex.release(db, task.target_id or "", task.id, state, message, desired=desired)


def _wait_for(
    compute: ComputeDriver,
    name: str,
    wanted: PowerState,
    seconds: float,
    still_ours: Callable[[], bool] | None = None,
) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = compute.state(name)
        if state == wanted or (wanted == PowerState.STOPPED and state is None):
            return True
        if still_ours is not None and not still_ours():
            return False
        time.sleep(POLL_SECONDS)
    return False


def _destroy_until_stopped(
    compute: ComputeDriver, name: str, seconds: float, still_ours: Callable[[], bool]
) -> bool:
    """Power a container off, again if it comes back: an init that took the shutdown
    request for "reboot" (busybox's, on SIGTERM) has libvirt start it again, which may
    come after the first power-off."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        compute.destroy(name)
        settle = min(STOP_SETTLE_SECONDS, max(POLL_SECONDS, deadline - time.monotonic()))
        if _wait_for(compute, name, PowerState.STOPPED, settle, still_ours):
            time.sleep(POLL_SECONDS)  # a restart already under way shows by now
            if compute.state(name) != PowerState.RUNNING:
                return True
        if not still_ours():
            return False
    return False


def deploy(task: TaskClaim, ctx: TaskContext) -> None:
    plan = _plan(ctx, task.target_id or "")
    compute, storage = hypervisor(ctx, plan), ctx.drivers.need_storage()
    removed: list[str] = []
    with ExitStack() as undo:
        try:
            ctx.report(progress=5, line="Preparing storage pools")
            ensure_pools(ctx, {d.pool_id for d in plan.disks if d.volume_id})
            new = [
                d for d in plan.disks if d.volume_id and d.volume_status == VolumeStatus.CREATING
            ]
            for index, disk in enumerate(new, start=1):
                name = os.path.basename(disk.path)
                # Registered first: delete is idempotent, and a copy that fails half-way
                # must not leave its file.
                undo.callback(storage.delete_volume, disk.pool_id, name)
                if plan.type == InstanceType.LXC and disk.clone_from:
                    info = _unpack_rootfs(ctx, plan, disk, name)
                elif disk.clone_from:
                    ctx.report(line=f"Copying image into volume {disk.volume_id} ({disk.name})")
                    info = storage.clone_volume(
                        disk.pool_id,
                        name,
                        disk.clone_from,
                        DiskFormat(disk.format),
                        disk.size_bytes,
                    )
                else:
                    ctx.report(
                        line=f"Creating volume {disk.volume_id} ({disk.name}, "
                        f"{disk.size_bytes // 1024**3} GB {disk.format})"
                    )
                    info = storage.create_volume(
                        disk.pool_id, name, disk.size_bytes, DiskFormat(disk.format)
                    )
                undo.callback(removed.append, f"volume {disk.volume_id} ({disk.name})")
                with transaction(ctx.session_factory) as db:
                    ex.record_volume(db, disk.volume_id or "", VolumeStatus.AVAILABLE)
                    volume_tasks.record_path(db, disk.volume_id or "", info.path)
                ctx.report(progress=10 + 60 * index // max(1, len(new)))
            how = "LXC" if plan.type == InstanceType.LXC else ctx.drivers.accelerator.value.upper()
            ctx.report(progress=75, line=f"Defining the {_what(plan)} ({how})")
            plan = _plan(ctx, plan.id)  # a container's ID map was recorded meanwhile
            compute.define(domain_spec(plan, ctx))
            undo.callback(compute.undefine, plan.id)
            undo.callback(removed.append, f"domain {plan.id}")
            ctx.report(progress=90, line="Starting")
            compute.start(plan.id)
            undo.callback(compute.destroy, plan.id)
            if not _wait_for(compute, plan.id, PowerState.RUNNING, START_WAIT_SECONDS):
                raise CloudenvError(
                    f"The {_what(plan)} did not start within {START_WAIT_SECONDS:.0f} s."
                )
            apply_port_vlans(ctx, plan.interfaces)
            _release(ctx, task, InstanceState.RUNNING, desired=DesiredState.RUNNING)
            undo.pop_all()
        except Exception:
            try:
                undo.close()  # runs the undo steps, newest first
            finally:  # even when an undo step failed: the rows go with the deploy
                with transaction(ctx.session_factory) as db:
                    ex.forget(
                        db,
                        plan.id,
                        destroy_volumes=False,
                        also_destroy={
                            d.volume_id for d in plan.disks if d.created_by_deploy and d.volume_id
                        },
                    )
            ctx.report(
                line="Removed after the failure: "
                + (", ".join(reversed(removed)) or "nothing had been created")
                + "; the instance record is gone too."
            )
            raise


def _unpack_rootfs(
    ctx: TaskContext, plan: ex.InstancePlan, disk: ex.PlannedDisk, name: str
) -> VolumeInfo:
    """A container's root filesystem: the image's tarball unpacked into a new directory
    volume, its owners shifted into root's subordinate IDs unless the container is
    privileged; the range used is recorded for every later start."""
    config = plan.container
    privileged = config is not None and config.privileged
    uid = gid = 0
    if not privileged:
        try:
            ids = root_range()
        except NoSubordinateIds as exc:
            raise InvalidInput(
                f"Container {plan.name} can't run unprivileged on this node: {exc}",
                field="metadata.privileged",
            ) from None
        uid, gid = ids.uid, ids.gid
        with transaction(ctx.session_factory) as db:
            ex.record_idmap(db, plan.id, ids.uid, ids.gid, ids.count)
    ctx.report(
        progress=20,
        line=f"Unpacking the image into root filesystem volume {disk.volume_id} "
        + ("(privileged: owners kept)" if privileged else f"(owners shifted to {uid}:{gid})"),
    )
    return ctx.drivers.need_storage().create_rootfs(
        disk.pool_id,
        name,
        disk.clone_from or "",
        uid_offset=uid,
        gid_offset=gid,
        capacity_bytes=None if disk.format == DiskFormat.DIR else disk.size_bytes,
    )


def start(task: TaskClaim, ctx: TaskContext) -> None:
    plan = _plan(ctx, task.target_id or "")
    _check_holds(task, plan, "start")
    compute = hypervisor(ctx, plan)
    try:
        ensure_pools(ctx, {d.pool_id for d in plan.disks if d.volume_id})
        ctx.report(progress=20, line="Applying the instance's configuration")
        if compute.state(plan.id) != PowerState.RUNNING:
            compute.define(domain_spec(plan, ctx))
            with transaction(ctx.session_factory) as db:  # e.g. a restart: the guest let go
                at.finish_detaches_at_stop(db, plan.id)
        if not _still_ours(ctx, task)():
            ctx.report(line="Force Stop took over; not starting.")
            return
        ctx.report(progress=50, line="Starting")
        compute.start(plan.id)
        if not _wait_for(compute, plan.id, PowerState.RUNNING, START_WAIT_SECONDS):
            raise CloudenvError(
                f"The {_what(plan)} did not start within {START_WAIT_SECONDS:.0f} s."
            )
    except CloudenvError as exc:
        _release(ctx, task, InstanceState.STOPPED, exc.message, desired=DesiredState.STOPPED)
        raise
    apply_port_vlans(ctx, plan.interfaces)
    _release(ctx, task, InstanceState.RUNNING)


def _check_holds(task: TaskClaim, plan: ex.InstancePlan, action: str) -> None:
    """A power task acts only on an instance it still holds: a Force Stop may have taken
    over while it was queued (and, cancelled, left it to nobody). One that lost it leaves
    the hypervisor alone and fails, so it publishes no event saying it was done."""
    if plan.current_task_id == task.id:
        return
    holder = f"task {plan.current_task_id}" if plan.current_task_id else "no task"
    raise CloudenvError(
        f"Task {task.id} no longer holds instance {plan.id} (now held by {holder}, most "
        f"likely a Force Stop that took over), so it did not {action} it and did nothing. "
        "Check the instance's state and ask again if it is still needed."
    )


def _still_ours(ctx: TaskContext, task: TaskClaim) -> Callable[[], bool]:
    def check() -> bool:
        with transaction(ctx.session_factory) as db:
            plan = ex.load_plan(db, task.target_id or "")
        return plan.current_task_id == task.id

    return check


def _shutdown(task: TaskClaim, ctx: TaskContext, *, back_to: InstanceState) -> bool:
    """A clean shutdown and wait; False if Force Stop took over meanwhile. A VM is asked
    through ACPI and one that ignores it stays running (the task fails: use Force Stop); a
    container's init is asked (initctl, SIGTERM) and one that ignores it is stopped
    after the timeout, as ``lxc-stop`` and ``pct shutdown --forceStop`` do (busybox's init
    takes SIGTERM for "reboot")."""
    name = task.target_id or ""
    plan = _plan(ctx, name)
    _check_holds(task, plan, task.kind.removeprefix("instance."))
    compute = hypervisor(ctx, plan)
    container = plan.type == InstanceType.LXC
    timeout = int(task.params.get("timeout", 120))
    how = "its init (initctl, SIGTERM)" if container else "the guest (ACPI)"
    ctx.report(progress=10, line=f"Asking {how} to shut down")
    compute.shutdown(name)
    ours = _still_ours(ctx, task)
    stopped = _wait_for(compute, name, PowerState.STOPPED, timeout, ours)
    if stopped and ours():
        try:  # (a forced power-off below has the driver let go itself)
            compute.release(name)  # a container's filesystem volumes
        except CloudenvError as exc:
            ctx.report(line=f"Stopped; its volumes stay mounted on the node: {exc.message}")
        return True
    if not ours():  # Force Stop took the instance over (and may be what stopped it)
        ctx.report(line="Force Stop took over.")
        return False
    if container:
        ctx.report(line=f"Its init did not stop within {timeout} s; stopping the container now")
        if _destroy_until_stopped(compute, name, START_WAIT_SECONDS, ours) and ours():
            return True
    _release(ctx, task, back_to, desired=DesiredState(back_to.value))
    raise CloudenvError(f"The guest did not shut down within {timeout} s; use Force Stop.")


def stop(task: TaskClaim, ctx: TaskContext) -> None:
    if _shutdown(task, ctx, back_to=InstanceState.RUNNING):
        _release(ctx, task, InstanceState.STOPPED)


def restart(task: TaskClaim, ctx: TaskContext) -> None:
    if not _shutdown(task, ctx, back_to=InstanceState.RUNNING):
        return
    ctx.report(progress=60, line="Starting again")
    start(task, ctx)


def kill(task: TaskClaim, ctx: TaskContext) -> None:
    ctx.report(progress=20, line="Powering off now")
    hypervisor(ctx, _plan(ctx, task.target_id or "")).destroy(task.target_id or "")
    _release(ctx, task, InstanceState.STOPPED)


def destroy(task: TaskClaim, ctx: TaskContext) -> None:
    """Domain first, then the volumes' files, then the rows: a failure leaves rows that
    still describe what exists, so destroying again finishes the job."""
    name = task.target_id or ""
    plan = _plan(ctx, name)
    compute, storage = hypervisor(ctx, plan), ctx.drivers.need_storage()
    everything = bool(task.params["destroy_volumes"])
    # A LUN is the iSCSI target's: kept (free again) even when the volumes go.
    doomed = [
        d
        for d in plan.disks
        if d.volume_id and not d.lun and (everything or d.volume_status == VolumeStatus.CREATING)
    ]
    try:
        ctx.report(progress=20, line=f"Removing the {_what(plan)}'s definition")
        compute.destroy(name)
        compute.undefine(name)
        for disk in plan.disks:
            if everything and disk.lun:
                ctx.report(
                    line=f"Keeping LUN volume {disk.volume_id} ({disk.name}): LUNs are "
                    "removed on the iSCSI target"
                )
        ensure_pools(ctx, {d.pool_id for d in doomed})
        for disk in doomed:
            ctx.report(line=f"Deleting volume {disk.volume_id} ({disk.name})")
            storage.delete_volume(disk.pool_id, os.path.basename(disk.path))
    except CloudenvError as exc:
        _release(ctx, task, InstanceState.ERROR, exc.message)
        raise
    with transaction(ctx.session_factory) as db:
        ex.forget(
            db,
            name,
            destroy_volumes=everything,
            also_destroy={d.volume_id for d in doomed if d.volume_id},
        )


def recover(task: TaskClaim, ctx: TaskContext) -> str:
    """Repair what an instance task left when the daemon stopped in the middle of it.

    A half-done deploy is undone completely (as a failed deploy is); any other action
    leaves the instance in the state the hypervisor reports. Returns what was done, for
    the task's log.
    """
    name = task.target_id or ""
    try:
        plan = _plan(ctx, name)
    except CloudenvError:
        return "the instance no longer exists"
    compute, storage = hypervisor(ctx, plan), ctx.drivers.need_storage()
    if task.kind == TaskKind.INSTANCE_DEPLOY:
        removed = []
        compute.destroy(name)
        if compute.state(name) is not None:
            compute.undefine(name)
            removed.append(f"domain {name}")
        created = [d for d in plan.disks if d.created_by_deploy and d.volume_id]
        for disk in created:  # volumes it attached that existed before are kept
            file_name = os.path.basename(disk.path)
            if storage.volume_info(disk.pool_id, file_name) is not None:
                storage.delete_volume(disk.pool_id, file_name)
                removed.append(f"volume {disk.volume_id} ({disk.name})")
        with transaction(ctx.session_factory) as db:
            ex.forget(
                db,
                name,
                destroy_volumes=False,
                also_destroy={d.volume_id for d in created if d.volume_id},
            )
        return (
            "Undid the interrupted deploy: removed "
            + (", ".join(removed) or "nothing had been created yet")
            + "; the instance record is gone too."
        )
    running = compute.state(name) == PowerState.RUNNING
    state = InstanceState.RUNNING if running else InstanceState.STOPPED
    with transaction(ctx.session_factory) as db:
        ex.release(db, name, task.id, state, "", desired=DesiredState(state.value))
    return f"The instance is {state.value}, as the hypervisor reports."
