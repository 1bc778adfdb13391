"""Task handlers that plug a volume, CD-ROM or NIC into an instance, or take one out.

The service already wrote the device row and claimed the instance; the handler asks the
hypervisor (live when the task says so, always in the persistent definition) and then
settles the rows. When the hypervisor refuses, the rows go back to what they were and the
task says so. A domain that is not defined yet gets the device when it is next started
(``start`` defines the domain from the rows).
"""

from __future__ import annotations

import dataclasses

from cloudenv.agent.compute import apply_port_vlans, domain_spec, ensure_pools, hypervisor
from cloudenv.agent.compute import recover as recover_instance
from cloudenv.agent.context import TaskContext
from cloudenv.drivers.compute.base import ComputeDriver, DiskFormat, PowerState
from cloudenv.enums import DesiredState, InstanceType
from cloudenv.errors import CloudenvError
from cloudenv.services.compute import attachments as at
from cloudenv.services.compute import execution as ex
from cloudenv.services.compute.states import InstanceState
from cloudenv.services.tasks import TaskClaim, TaskKind
from cloudenv.store.engine import transaction


def attach(task: TaskClaim, ctx: TaskContext) -> None:
    instance_id, live = task.target_id or "", bool(task.params.get("live"))
    device = _device(ctx, task)
    with transaction(ctx.session_factory) as db:
        plan = ex.load_plan(db, instance_id)
    try:
        if device.mac:
            _attach_nic(ctx, plan, device, live)
        else:
            _attach_disk(ctx, plan, device, live)
    except Exception as exc:  # a crash too: the rows go back, then it is logged as one
        with transaction(ctx.session_factory) as db:
            at.forget_device(db, device.id)
        release_as_observed(ctx, task)
        if not isinstance(exc, CloudenvError | ValueError):
            raise
        reason = exc.message if isinstance(exc, CloudenvError) else str(exc)
        raise CloudenvError(
            f"Attaching {device.label} to instance {plan.name} ({plan.id}) failed: {reason} "
            "The device record was removed again"
            + ("; the volume is available." if device.volume_id else ".")
        ) from None
    with transaction(ctx.session_factory) as db:
        at.settle_attached(db, device.id)
    release_as_observed(ctx, task)


def _attach_disk(
    ctx: TaskContext, plan: ex.InstancePlan, device: at.DeviceTask, live: bool
) -> None:
    compute = hypervisor(ctx, plan)
    if device.pool_id:
        ensure_pools(ctx, {device.pool_id})
    if plan.type == InstanceType.LXC:
        _prepare_filesystem(ctx, plan, device)
        # A mount point is part of the container's definition; libvirt's LXC driver can't
        # add one to a running container, so it is there from the next start.
        if compute.state(plan.id) is None:
            ctx.report(line="The container is not defined; it gets the mount point at start.")
            return
        ctx.report(progress=30, line=f"Adding {device.label} as a mount point (from next start)")
        compute.define(domain_spec(plan, ctx))
        return
    disk = next((d for d in domain_spec(plan, ctx).disks if d.target == device.target), None)
    if disk is None:
        raise CloudenvError(f"Its {device.target} disk is missing from the plan.")
    if compute.state(plan.id) is None:
        ctx.report(line="The virtual machine is not defined; it gets the device at start.")
        return
    how = "live and persistently" if live else "persistently (seen after a restart)"
    ctx.report(progress=30, line=f"Attaching {device.label} as {device.target}, {how}")
    compute.attach_disk(plan.id, disk, live=live)


def _prepare_filesystem(ctx: TaskContext, plan: ex.InstancePlan, device: at.DeviceTask) -> None:
    """A raw volume becomes a container's mount point as a filesystem: a blank one is
    formatted (its top directory the container root's), one with a filesystem is kept."""
    disk = next((d for d in plan.disks if d.volume_id and d.volume_id == device.volume_id), None)
    if disk is None or disk.format != DiskFormat.RAW:
        return
    shift = plan.container.idmap if plan.container is not None else None
    uid, gid = (shift.uid, shift.gid) if shift is not None else (0, 0)
    if ctx.drivers.need_storage().format_for_mount(disk.path, uid=uid, gid=gid):
        ctx.report(progress=20, line=f"Made {device.label} an empty ext4 filesystem")
    else:
        ctx.report(progress=20, line=f"{device.label} holds a filesystem; mounted as it is")


def _attach_nic(ctx: TaskContext, plan: ex.InstancePlan, device: at.DeviceTask, live: bool) -> None:
    compute = hypervisor(ctx, plan)
    nic = next((i for i in plan.interfaces if i.name == device.name), None)
    if nic is None:
        raise CloudenvError(f"Its NIC {device.mac} is missing from the plan.")
    state = compute.state(plan.id)
    if state is None:
        ctx.report(line="The virtual machine is not defined; it gets the device at start.")
        return
    how = "live and persistently" if live else "persistently (seen after a restart)"
    ctx.report(
        progress=30,
        line=f"Attaching {device.label} to vSwitch {nic.spec.bridge} "
        f"(port group {nic.port_group}), {how}",
    )
    compute.attach_interface(plan.id, nic.spec, live=live)
    if live and state == PowerState.RUNNING:
        apply_port_vlans(ctx, [nic])


def _take_out(ctx: TaskContext, instance_id: str, device: at.DeviceTask, live: bool) -> None:
    plan = _plan(ctx, instance_id)
    compute = hypervisor(ctx, plan)
    if device.mac:
        compute.detach_interface(instance_id, device.mac, live=live)
    elif plan.type == InstanceType.LXC:
        # Out of the definition; a running container keeps the mount until it stops.
        if compute.state(instance_id) is not None:
            kept = tuple(d for d in plan.disks if d.name != device.name)
            compute.define(domain_spec(dataclasses.replace(plan, disks=kept), ctx))
    else:
        compute.detach_disk(instance_id, device.target, live=live)


def _plan(ctx: TaskContext, instance_id: str) -> ex.InstancePlan:
    with transaction(ctx.session_factory) as db:
        return ex.load_plan(db, instance_id)


def _hypervisor_of(ctx: TaskContext, instance_id: str) -> ComputeDriver:
    return hypervisor(ctx, _plan(ctx, instance_id))


def detach(task: TaskClaim, ctx: TaskContext) -> None:
    """Live: done once the guest has released the disk (the driver waits for libvirt's
    device-removed event). Not live on a running guest: out of the definition now, out
    of the guest when it stops; the device and its volume stay attached until then."""
    instance_id, live = task.target_id or "", bool(task.params.get("live"))
    device = _device(ctx, task)
    compute = _hypervisor_of(ctx, instance_id)
    at_stop = False
    try:
        state = compute.state(instance_id)
        if state is not None:
            at_stop = state == PowerState.RUNNING and not live
            how = (
                "live and persistently"
                if live
                else "from the definition (the running guest keeps it until it stops)"
                if at_stop
                else "persistently"
            )
            where = f" ({device.target})" if device.target else ""
            ctx.report(progress=30, line=f"Detaching {device.label}{where}, {how}")
            _take_out(ctx, instance_id, device, live)
    except Exception as exc:
        with transaction(ctx.session_factory) as db:
            at.settle_attached(db, device.id)
        release_as_observed(ctx, task)
        if not isinstance(exc, CloudenvError):
            raise
        raise CloudenvError(
            f"Detaching {device.label} from instance {instance_id} failed: {exc.message} "
            "It stays attached; try again, or stop the instance first."
        ) from None
    with transaction(ctx.session_factory) as db:
        if at_stop:
            at.detach_at_stop(db, device.id)
        else:
            at.forget_device(db, device.id)
    if at_stop:
        ctx.report(
            line=f"The guest keeps {device.label} until it stops; it stays attached until "
            "then, and is detached (its volume available) when the instance stops."
        )
    release_as_observed(ctx, task)


def recover(task: TaskClaim, ctx: TaskContext) -> str:
    """The daemon stopped in the middle of an attach or detach. Whether the hypervisor got
    the change is unknown, so take the device out (idempotent) and forget it: an attach is
    undone, a detach completed. Then free the instance as the hypervisor reports it."""
    with transaction(ctx.session_factory) as db:
        device = at.device_for_task(db, int(task.params.get("device_id", 0)))
    done = "the device record was already gone"
    if device is not None:
        verb = "attach" if task.kind == TaskKind.INSTANCE_DEVICE_ATTACH else "detach"
        live = bool(task.params.get("live"))
        compute = _hypervisor_of(ctx, task.target_id or "")
        at_stop = (
            verb == "detach"
            and not live
            and compute.state(task.target_id or "") == PowerState.RUNNING
        )
        try:
            _take_out(ctx, task.target_id or "", device, live)
        except CloudenvError as exc:
            with transaction(ctx.session_factory) as db:
                at.settle_attached(db, device.id)
            done = f"{device.label} stays attached ({exc.message})"
        else:
            with transaction(ctx.session_factory) as db:
                if at_stop:
                    at.detach_at_stop(db, device.id)
                else:
                    at.forget_device(db, device.id)
            done = f"finished the interrupted {verb}: {device.label} is detached" + (
                " when the instance stops" if at_stop else ""
            )
    return f"{done[0].upper()}{done[1:]}. {recover_instance(task, ctx)}"


def _device(ctx: TaskContext, task: TaskClaim) -> at.DeviceTask:
    with transaction(ctx.session_factory) as db:
        device = at.device_for_task(db, int(task.params["device_id"]))
    if device is None:
        release_as_observed(ctx, task)
        raise CloudenvError("The device was removed before its task ran; nothing to do.")
    return device


def release_as_observed(ctx: TaskContext, task: TaskClaim) -> None:
    """Free the instance, in the power state the hypervisor reports now."""
    try:
        running = ctx.drivers.domain_state(task.target_id or "") == PowerState.RUNNING
    except CloudenvError:
        running = False
    state = InstanceState.RUNNING if running else InstanceState.STOPPED
    with transaction(ctx.session_factory) as db:
        ex.release(db, task.target_id or "", task.id, state, desired=DesiredState(state.value))
