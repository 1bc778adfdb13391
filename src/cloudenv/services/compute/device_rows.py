"""Turning a device attach into a checked ``instance_devices`` row: the product's rules for
names, types, buses and ``/dev`` paths, and what a volume or an ISO image must be to be
attached. Nothing here writes more than the row it returns and the volume it claims.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import DeviceType, DiskBus, DiskFormat, PoolType, VolumeStatus
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.instance_config import QemuConfig
from cloudenv.machines import MachineType
from cloudenv.services.access import Principal
from cloudenv.services.compute.claims import claim_volume
from cloudenv.services.compute.containers import FILESYSTEM_POOLS
from cloudenv.services.compute.deploy import DEVICE_PATH
from cloudenv.services.storage.images import find_image
from cloudenv.services.validation import DEVICE_NAME
from cloudenv.store.queries import storage as qs
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Instance, InstanceDevice, Volume

#: Device types that can be attached today, with their ``metadata._type``.
SUPPORTED = {
    DeviceType.NIC: "network_interface",
    DeviceType.STORAGE_VOLUME: "storage_volume",
    DeviceType.CDROM: "cdrom",
}
_DATA = "metadata.data"
#: A container's mount point's ``bus``: no bus, a bind mount (``metadata.path`` says where).
MOUNT_BUS = "mount"
MOUNT_PATH_MAX = 1024
_LABELS = {DeviceType.CDROM: "CD-ROM", DeviceType.TPM: "TPM", DeviceType.USB: "USB",
           DeviceType.PCI: "PCI", DeviceType.RNG: "RNG"}  # fmt: skip


def volume_row(
    db: Session, principal: Principal, instance: Instance, data: Mapping[str, Any], used: set[str]
) -> InstanceDevice:
    volume = _free_volume(db, principal, instance, _text(data, "volume_id"))
    if volume.format == DiskFormat.DIR:
        raise InvalidInput(
            f"Volume {volume.name} ({volume.id}) is a directory; a virtual machine takes disk "
            "images (qcow2, raw). Directory volumes are containers' mount points.",
            field=f"{_DATA}.volume_id",
        )
    bus = _bus(instance, data, DiskBus.VIRTIO, cdrom=False)
    target = _target(data, bus, used)
    claim_volume(db, volume, instance.id, status=VolumeStatus.ATTACHING, field=f"{_DATA}.volume_id")
    return InstanceDevice(
        instance_id=instance.id,
        type=DeviceType.STORAGE_VOLUME,
        resource_id=volume.id,
        bus=bus,
        target=target,
        serial=volume.id.split("-", 1)[1][:20],  # as deploy does: the guest finds it by this
        readonly=_flag(data, "readonly"),
        metadata_={"_type": SUPPORTED[DeviceType.STORAGE_VOLUME], "status": "attaching"},
        creation=clock.now(),
    )


def _free_volume(db: Session, principal: Principal, instance: Instance, volume_id: str) -> Volume:
    """A volume of the instance's node that no instance holds and that is available."""
    volume = qs.get_volume(db, volume_id, principal.scope)
    field = f"{_DATA}.volume_id"
    if volume is None:
        raise NotFound(f"Volume {volume_id} does not exist.", field=field)
    label = f"Volume {volume.name} ({volume.id})"
    if volume.node_id != instance.node_id:
        raise InvalidInput(
            f"{label} is on node {volume.node_id}, but instance {instance.name} runs on node "
            f"{instance.node_id}; attach a volume of that node.",
            field=field,
        )
    if volume.instance_id is not None:
        raise Conflict(
            f"{label} is already attached to instance {volume.instance_id}; detach it there first.",
            field=field,
        )
    if volume.status != VolumeStatus.AVAILABLE:
        status = VolumeStatus(volume.status).name.lower()
        raise Conflict(f"{label} is {status}; wait until it is available.", field=field)
    return volume


def mount_row(
    db: Session,
    principal: Principal,
    instance: Instance,
    data: Mapping[str, Any],
    rows: list[InstanceDevice],
) -> InstanceDevice:
    """A container's mount point at ``data.path`` inside it, from its next start (libvirt
    can't add one live): a directory volume (format ``dir``) bind-mounted, or a raw
    volume of a pool the node mounts (its filesystem; a blank one is formatted ext4 by
    the attach task)."""
    path = _mount_path(data, rows)
    volume = _free_volume(db, principal, instance, _text(data, "volume_id"))
    label, field = f"Volume {volume.name} ({volume.id})", f"{_DATA}.volume_id"
    if volume.format == DiskFormat.QCOW2:
        raise InvalidInput(
            f"{label} is a qcow2 disk image, which only QEMU reads; a container mounts a "
            "directory volume (driver dir) or a raw volume holding a filesystem.",
            field=field,
        )
    pool = qs.get_pool(db, volume.pool_id, UNSCOPED)
    if volume.format == DiskFormat.RAW and (pool is None or pool.type not in FILESYSTEM_POOLS):
        kind = "unknown" if pool is None else PoolType(pool.type).name.lower()
        raise InvalidInput(
            f"{label} is in a {kind} pool, whose volumes the node reaches only through QEMU; "
            "a container mounts volumes of directory, netfs, LVM and ZFS pools.",
            field=field,
        )
    claim_volume(db, volume, instance.id, status=VolumeStatus.ATTACHING, field=f"{_DATA}.volume_id")
    return InstanceDevice(
        instance_id=instance.id,
        type=DeviceType.STORAGE_VOLUME,
        resource_id=volume.id,
        bus=MOUNT_BUS,
        target=None,
        serial=volume.id.split("-", 1)[1][:20],
        readonly=_flag(data, "readonly"),
        metadata_={"_type": SUPPORTED[DeviceType.STORAGE_VOLUME], "path": path},
        creation=clock.now(),
    )


def _mount_path(data: Mapping[str, Any], rows: list[InstanceDevice]) -> str:
    field = f"{_DATA}.path"
    path = _text(data, "path")
    if (
        not path.startswith("/")
        or posixpath.normpath(path) != path
        or path == "/"
        or len(path) > MOUNT_PATH_MAX
        or any(c in path for c in "\x00\n")
    ):
        raise InvalidInput(
            f"Mount path {path[:80]!r} must be an absolute, normalised path inside the "
            f"container other than / (e.g. /mnt/data), at most {MOUNT_PATH_MAX} characters.",
            field=field,
        )
    if any(r.metadata_.get("path") == path for r in rows):
        raise Conflict(
            f"The container already has a mount point at {path}; choose another path.",
            field=field,
        )
    return path


def check_container_device(kind: DeviceType) -> None:
    """What a container can't take: a CD-ROM (it has no drives), or any device type but a
    NIC and a mount point."""
    if kind not in (DeviceType.NIC, DeviceType.STORAGE_VOLUME):
        raise InvalidInput(
            f"A container can't take a {_LABELS.get(kind, kind.name.lower())} device: it has "
            "no virtual hardware. Attach a NIC (1) or a volume as a mount point (2).",
            field="type",
        )


def cdrom_row(
    db: Session, principal: Principal, instance: Instance, data: Mapping[str, Any], used: set[str]
) -> InstanceDevice:
    image = find_image(
        db, principal, instance.node_id, _text(data, "image"), field=f"{_DATA}.image"
    )
    if image.format != "iso":
        raise InvalidInput(
            f"Image {image.name} is a {image.format} image; a CD-ROM holds ISO images.",
            field=f"{_DATA}.image",
        )
    bus = _bus(instance, data, _machine(instance).cdrom_bus, cdrom=True)
    return InstanceDevice(
        instance_id=instance.id,
        type=DeviceType.CDROM,
        resource_id=image.id,
        bus=bus,
        target=_target(data, bus, used),
        readonly=True,
        metadata_={"_type": SUPPORTED[DeviceType.CDROM], "status": "attaching"},
        creation=clock.now(),
    )


def device_kind(value: int) -> DeviceType:
    try:
        kind = DeviceType(value)
    except ValueError:
        raise InvalidInput(
            f"Device type {value} is not known; use 1 (NIC), 2 (storage volume) or 7 (CD-ROM).",
            field="type",
        ) from None
    if kind not in SUPPORTED:
        raise InvalidInput(
            f"Device type {kind.value} ({kind.name.replace('_', ' ')}) is not supported yet; "
            "attach a NIC (1), a storage volume (2) or a CD-ROM (7).",
            field="type",
        )
    return kind


def check_device_name(name: str, rows: list[InstanceDevice], *, field: str) -> str:
    DEVICE_NAME.check(name, field=field)
    if any(r.name == name for r in rows):
        raise Conflict(
            f"The instance already has a device named {name!r}; choose another name.",
            field=field,
        )
    return name


def _machine(instance: Instance) -> MachineType:
    return QemuConfig.from_json(instance.config).machine


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"'{_DATA}.{key}' is required (a string).", field=f"{_DATA}.{key}")
    return value


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"'{_DATA}.{key}' must be true or false.", field=f"{_DATA}.{key}")
    return value


def _bus(instance: Instance, data: Mapping[str, Any], default: DiskBus, *, cdrom: bool) -> str:
    """The bus asked for (or ``default``), refused when the instance's machine type has no
    such bus for this kind of device, by the rule the designer applies."""
    bus = data.get("bus") or default.value
    if bus not in {b.value for b in DiskBus}:
        raise InvalidInput(
            f"Disk bus {bus!r} is not one of ide, sata, scsi, virtio, usb.", field=f"{_DATA}.bus"
        )
    what = f"Instance {instance.name}: {'a CD-ROM' if cdrom else 'a disk'}"
    _machine(instance).check_bus(DiskBus(bus), cdrom=cdrom, what=what, field=f"{_DATA}.bus")
    return str(bus)


def _target(data: Mapping[str, Any], bus: str, used: set[str]) -> str:
    """The given ``/dev`` path, or the first free one for the bus (vd*, hd* or sd*)."""
    field = f"{_DATA}.dev"
    dev = data.get("dev")
    if dev is None:
        prefix = {"virtio": "vd", "ide": "hd"}.get(bus, "sd")
        first = "c" if bus == "ide" else "a"  # IDE: hda/hdb are usually the disks
        letters = "abcdefghijklmnopqrstuvwxyz"
        free = (prefix + c for c in letters[letters.index(first) :])
        target = next((t for t in free if t not in used), None)
        if target is None:
            raise Conflict(f"Every /dev/{prefix}? path is taken; give a path.", field=field)
        return target
    match = DEVICE_PATH.fullmatch(dev) if isinstance(dev, str) else None
    if match is None:
        raise InvalidInput(
            f"Device path {dev!r} is not valid; use e.g. /dev/vdb or /dev/sdc.", field=field
        )
    target = match.group("target")
    if target in used:
        raise Conflict(
            f"The instance already has a device at /dev/{target}; choose another path.",
            field=field,
        )
    return target
