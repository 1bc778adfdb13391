"""What a node's agent reads and records while it makes instances real.

``load_plan`` resolves an instance's rows into paths and settings (no ORM objects leave);
the ``record_*`` and ``release`` calls write back what happened. Only the agent calls
these, always as the node itself: every read is ``UNSCOPED``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from cloudenv.drivers.compute.base import InterfaceSpec, NetworkSource, VolumeSource
from cloudenv.drivers.storage.base import LUN_POOL_TYPES, disk_source
from cloudenv.enums import DesiredState, DeviceType, InstanceType, VolumeStatus
from cloudenv.errors import NotFound
from cloudenv.instance_config import ContainerConfig, IdShift, QemuConfig
from cloudenv.services import events
from cloudenv.services.compute import attachments
from cloudenv.services.compute.states import InstanceState
from cloudenv.services.events import EventKind
from cloudenv.services.network.sync import port_vlan
from cloudenv.store.queries import compute as q
from cloudenv.store.queries import network as qn
from cloudenv.store.queries import storage as qs
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Instance, InstanceDevice

DiskSource = VolumeSource | NetworkSource


@dataclass(frozen=True, kw_only=True)
class PlannedDisk:
    name: str
    path: str  # a file or directory, or (``source`` set) the volume's name in its pool
    target: str  # a VM's target dev (vda); a container's mount point ("/" for its root)
    bus: str
    format: str  # qcow2 | raw (cdrom: raw)
    device: str  # disk | cdrom
    readonly: bool
    serial: str | None
    boot_order: int
    is_root: bool
    volume_id: str | None  # None for a CD-ROM image
    pool_id: str
    size_bytes: int
    volume_status: VolumeStatus | None
    clone_from: str | None  # image path to copy into a new volume
    created_by_deploy: bool = False  # made for this instance (else an existing volume)
    source: DiskSource | None = None  # a volume that is no file (disk_source decides)
    #: A LUN of an iSCSI pool: the target's, so never deleted with the instance.
    lun: bool = False


@dataclass(frozen=True, kw_only=True)
class PlannedInterface:
    """A NIC: the device's name, and what the designer and network driver take."""

    name: str
    vswitch_id: str
    port_group: str
    spec: InterfaceSpec


@dataclass(frozen=True, kw_only=True)
class InstancePlan:
    id: str
    uuid: str
    name: str
    node_id: str
    sockets: int
    cores: int
    threads: int
    memory_mb: int
    config: QemuConfig  # the row's config, typed; kernel/initrd below are its images' files
    kernel: str | None
    initrd: str | None
    cmdline: str
    disks: tuple[PlannedDisk, ...]
    interfaces: tuple[PlannedInterface, ...] = ()
    state: InstanceState
    current_task_id: str | None
    type: InstanceType = InstanceType.QEMU
    container: ContainerConfig | None = None  # set for a container (type 1)


def _pool_path(db: Session, pool_id: str) -> str:
    pool = qs.get_pool(db, pool_id, UNSCOPED)
    if pool is None:
        raise NotFound(f"Storage pool {pool_id} no longer exists.")
    return str(pool.config.get("path", ""))


def _volume_source(db: Session, pool_id: str, file_name: str) -> str | DiskSource:
    """Where a guest finds the volume: its file, or a pool volume / network image."""
    pool = qs.get_pool(db, pool_id, UNSCOPED)
    if pool is None:
        raise NotFound(f"Storage pool {pool_id} no longer exists.")
    keyed = bool(pool.secrets.get("key"))  # an RBD pool's disks log in only with a key
    return disk_source(pool.type, pool.id, pool.config, file_name, keyed=keyed)


def _is_lun(db: Session, pool_id: str) -> bool:
    pool = qs.get_pool(db, pool_id, UNSCOPED)
    return pool is not None and pool.type in LUN_POOL_TYPES


def _image_path(db: Session, image_id: str) -> str:
    image = qs.get_image(db, image_id, UNSCOPED)
    if image is None:
        raise NotFound(f"Image {image_id} no longer exists.")
    return os.path.join(_pool_path(db, image.pool_id), image.file_name)


def planned_interface(db: Session, device: InstanceDevice) -> PlannedInterface:
    """A NIC row resolved: its vSwitch's bridge name and its port group's VLAN now."""
    vswitch = qn.get_vswitch(db, device.resource_id or "", UNSCOPED)
    if vswitch is None:
        raise NotFound(f"NIC {device.name}: vSwitch {device.resource_id} no longer exists.")
    group_name = str(device.metadata_.get("port_group", ""))
    group = qn.get_port_group(db, vswitch.id, group_name, UNSCOPED)
    if group is None:
        raise NotFound(
            f"NIC {device.name}: vSwitch {vswitch.name} has no port group {group_name!r} any more."
        )
    spec = InterfaceSpec(
        mac=(device.mac or "").lower(),
        bridge=vswitch.name,
        vlan=port_vlan(group),
        model=str(device.metadata_.get("model", "virtio")),
    )
    return PlannedInterface(
        name=device.name, vswitch_id=vswitch.id, port_group=group_name, spec=spec
    )


def load_plan(db: Session, instance_id: str) -> InstancePlan:
    instance = q.get_instance(db, instance_id, UNSCOPED)
    if instance is None:
        raise NotFound(f"Instance {instance_id} no longer exists.")
    disks = []
    interfaces = []
    for device in q.devices(db, instance_id, UNSCOPED):
        if attachments.leaves_at_stop(device):
            continue  # out of the definition already; only the running guest has it
        if device.type == DeviceType.NIC:
            interfaces.append(planned_interface(db, device))
            continue
        if device.type == DeviceType.CDROM and device.resource_id:
            image = qs.get_image(db, device.resource_id, UNSCOPED)
            disks.append(
                PlannedDisk(
                    name=device.name,
                    path=_image_path(db, device.resource_id),
                    target=device.target or "hdc",
                    bus=device.bus or "ide",
                    format="raw",
                    device="cdrom",
                    readonly=True,
                    serial=None,
                    boot_order=device.boot_order,
                    is_root=False,
                    volume_id=None,
                    pool_id=image.pool_id if image else "",
                    size_bytes=0,
                    volume_status=None,
                    clone_from=None,
                )
            )
        elif device.type == DeviceType.STORAGE_VOLUME and device.resource_id:
            volume = qs.get_volume(db, device.resource_id, UNSCOPED)
            if volume is None:
                continue
            clone = device.metadata_.get("clone_from")
            where = _volume_source(db, volume.pool_id, volume.file_name)
            mount = device.metadata_.get("path")  # a container's mount point
            disks.append(
                PlannedDisk(
                    name=device.name,
                    # Not a file: the volume's name in its pool (what the storage driver takes).
                    path=where if isinstance(where, str) else volume.file_name,
                    source=None if isinstance(where, str) else where,
                    target=str(mount) if mount else device.target or "vda",
                    bus=device.bus or "virtio",
                    format=volume.format,
                    device="disk",
                    readonly=device.readonly,
                    serial=device.serial,
                    boot_order=device.boot_order,
                    is_root=device.is_root,
                    volume_id=volume.id,
                    pool_id=volume.pool_id,
                    size_bytes=volume.size_bytes,
                    volume_status=volume.status,
                    clone_from=_image_path(db, str(clone)) if clone else None,
                    created_by_deploy=bool(device.metadata_.get("created_by_deploy")),
                    lun=_is_lun(db, volume.pool_id),
                )
            )
    config = QemuConfig.from_json(instance.config)
    kernel_boot = config.kernel_boot
    container = (
        ContainerConfig.from_json(instance.config) if instance.type == InstanceType.LXC else None
    )
    return InstancePlan(
        id=instance.id,
        uuid=instance.uuid,
        name=instance.name,
        node_id=instance.node_id,
        sockets=instance.cpu_sockets,
        cores=instance.cpu_cores,
        threads=instance.cpu_threads,
        memory_mb=instance.memory_mb,
        config=config,
        kernel=_image_path(db, kernel_boot.kernel) if kernel_boot else None,
        initrd=_image_path(db, kernel_boot.initrd) if kernel_boot and kernel_boot.initrd else None,
        cmdline=kernel_boot.cmdline if kernel_boot else "",
        disks=tuple(disks),
        interfaces=tuple(interfaces),
        state=instance.state,
        current_task_id=instance.current_task_id,
        type=InstanceType(instance.type),
        container=container,
    )


def record_idmap(db: Session, instance_id: str, uid: int, gid: int, count: int) -> None:
    """The ID range a container's root filesystem was unpacked with, kept in its config so
    every start maps the same (``ContainerConfig.idmap``)."""
    instance = q.get_instance(db, instance_id, UNSCOPED)
    if instance is None:
        return
    config = ContainerConfig.from_json(instance.config)
    shifted = IdShift(uid=uid, gid=gid, count=count)
    instance.config = replace(config, idmap=shifted).to_json()


def record_volume(db: Session, volume_id: str, status: VolumeStatus) -> None:
    volume = qs.get_volume(db, volume_id, UNSCOPED)
    if volume is not None:
        volume.status = status


def release(
    db: Session,
    instance_id: str,
    task_id: str,
    state: InstanceState,
    message: str = "",
    *,
    desired: DesiredState | None = None,
) -> None:
    """The task is done with the instance: set the observed state and free it, unless
    another task (Force Stop) has taken the instance over meanwhile."""
    instance = q.get_instance(db, instance_id, UNSCOPED)
    if instance is None or instance.current_task_id != task_id:
        return  # another task (Force Stop) owns the instance now; its outcome stands
    instance.current_task_id = None
    _set_state(db, instance, state, message)
    if desired is not None:
        instance.desired_state = desired


def release_if_held(
    db: Session, instance_id: str, task_id: str, *, running: bool | None, message: str = ""
) -> None:
    """Free an instance a failed task still holds, in the state the hypervisor reports;
    ``running=None`` (the hypervisor could not be asked) leaves it in error, from which
    start, kill and destroy are allowed."""
    instance = q.get_instance(db, instance_id, UNSCOPED)
    if instance is None or instance.current_task_id != task_id:
        return
    instance.current_task_id = None
    if running is None:
        _set_state(db, instance, InstanceState.ERROR, message)
        return
    state = InstanceState.RUNNING if running else InstanceState.STOPPED
    _set_state(db, instance, state, "")
    instance.desired_state = DesiredState(state.value)


def observe_power(
    db: Session,
    instance_id: str,
    running: bool,
    *,
    confirm: Callable[[], bool | None] | None = None,
) -> None:
    """The hypervisor says the guest changed state on its own (e.g. powered itself off).
    Ignored while a task owns the instance (the task decides): the change is a
    compare-and-swap on "no task holds it", so it can't overwrite an action just taken.

    A sighting can be older than the task that followed it: a restart's shutdown event,
    or a sync's listing read while the restart ran, may reach here after the restart
    released the instance. ``confirm`` asks the hypervisor again (is it running now? None
    if it can't say) just before a change is written, and a sighting it contradicts is
    dropped."""
    if confirm is not None and not _confirmed(db, instance_id, running, confirm):
        return
    state = InstanceState.RUNNING if running else InstanceState.STOPPED
    changed = db.execute(
        update(Instance)
        .where(
            Instance.id == instance_id,
            Instance.current_task_id.is_(None),
            Instance.state.in_((InstanceState.RUNNING, InstanceState.STOPPED)),
            Instance.state != state,
        )
        .values(state=state, desired_state=DesiredState(state.value), state_message="")
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return
    instance = q.get_instance(db, instance_id, UNSCOPED)
    if instance is not None:
        db.refresh(instance)
        _publish_state(db, instance, state)
        if not running:
            attachments.finish_detaches_at_stop(db, instance_id)


def _confirmed(
    db: Session, instance_id: str, running: bool, confirm: Callable[[], bool | None]
) -> bool:
    """Whether a sighting would change a free instance and the hypervisor still agrees."""
    instance = q.get_instance(db, instance_id, UNSCOPED)
    state = InstanceState.RUNNING if running else InstanceState.STOPPED
    if instance is None or instance.current_task_id is not None or instance.state == state:
        return False
    if instance.state not in (InstanceState.RUNNING, InstanceState.STOPPED):
        return False
    return confirm() is running


def forget(
    db: Session, instance_id: str, *, destroy_volumes: bool, also_destroy: Collection[str] = ()
) -> list[str]:
    """Remove the instance's rows; returns the IDs of volumes whose data must go too
    (all with ``destroy_volumes``, else those in ``also_destroy``). Volumes kept become
    available for other instances; so does an iSCSI LUN even with ``destroy_volumes``:
    it is the target's, which cloudenv never removes (the pool's propagation keeps its
    row while the target has it)."""
    instance = q.get_instance(db, instance_id, UNSCOPED)
    if instance is None:
        return []
    volumes = qs.volumes(db, UNSCOPED, instance_id=instance_id)
    doomed = []
    for volume in volumes:
        everything = destroy_volumes and not _is_lun(db, volume.pool_id)
        if everything or volume.id in also_destroy or volume.status == VolumeStatus.CREATING:
            doomed.append(volume.id)
            db.delete(volume)
        else:
            volume.instance_id = None
            volume.status = VolumeStatus.AVAILABLE
    db.execute(delete(InstanceDevice).where(InstanceDevice.instance_id == instance_id))
    db.delete(instance)
    events.publish(
        db,
        EventKind.INSTANCE_DELETED,
        organization_id=instance.organization_id,
        target_id=instance_id,
        data=events.instance_data(instance.node_id),
    )
    return doomed


def autostart_instances(db: Session, node_id: str) -> Sequence[str]:
    """Instances to start with the node: marked autostart, stopped, not busy. (Like
    "start at boot" elsewhere: a stop before the node restarted does not count.)"""
    return q.autostart_ids(db, node_id, UNSCOPED)


def _set_state(db: Session, instance: Instance, state: InstanceState, message: str) -> None:
    instance.state = state
    instance.state_message = message[:1024]
    _publish_state(db, instance, state)
    if state is InstanceState.STOPPED:  # the guest let go of devices detached "at stop"
        attachments.finish_detaches_at_stop(db, instance.id)


def _publish_state(db: Session, instance: Instance, state: InstanceState) -> None:
    events.publish(
        db,
        EventKind.INSTANCE_STATE_CHANGED,
        organization_id=instance.organization_id,
        target_id=instance.id,
        data=events.instance_data(instance.node_id, state=state.value),
    )


def instance_ids(db: Session, node_id: str) -> Sequence[str]:
    return q.instance_ids(db, node_id, UNSCOPED)
