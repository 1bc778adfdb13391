"""Deploying an instance: check every rule, choose the node, record the instance with its
volumes and devices, and queue the task that makes it real. Nothing touches a hypervisor
here; a refused deploy writes nothing."""

from __future__ import annotations

import dataclasses
import re
import uuid

from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import (
    DesiredState,
    DeviceType,
    DiskBus,
    InstanceType,
    VolumeStatus,
)
from cloudenv.errors import Conflict, InvalidInput, NotFound
from cloudenv.ids import Prefix, new_id
from cloudenv.instance_config import ContainerConfig, KernelBootConfig
from cloudenv.machines import MachineType, Resources, check_resources
from cloudenv.services import events, paths, tasks
from cloudenv.services.access import Action, Principal, allowed, authorize
from cloudenv.services.compute import containers
from cloudenv.services.compute.claims import claim_volume
from cloudenv.services.compute.interfaces import cluster_macs, nic_row
from cloudenv.services.compute.requests import DeployRequest
from cloudenv.services.compute.states import InstanceState
from cloudenv.services.events import EventKind
from cloudenv.services.iam import quotas
from cloudenv.services.storage.images import ROOTFS, find_image
from cloudenv.services.storage.pools import pool_on_node
from cloudenv.services.storage.volumes import check_new_volume
from cloudenv.services.tenancy.views import node_is_alive
from cloudenv.services.validation import check_description, check_instance_name
from cloudenv.store.queries import compute as qc
from cloudenv.store.queries import network as qn
from cloudenv.store.queries import storage as qs
from cloudenv.store.queries import tenancy as q
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Image, Instance, InstanceDevice, Node, Task, Volume

DEVICE_PATH = re.compile(r"^/dev/(?P<target>(vd|sd|hd)[a-z]{1,2})$")
GIB = 1024**3
VOLUME_NAME_MAX = 255


def deploy_instance(db: Session, principal: Principal, request: DeployRequest) -> Task:
    """Validate, place, record; return the ``instance.deploy`` task."""
    name = _check_shape(request)
    node = _choose_node(db, principal, request)
    authorize(principal, Action.INSTANCE_DEPLOY, node.organization_id, paths.node_path(db, node.id))
    _check_alive(node)
    container = request.type == InstanceType.LXC
    image = root = None
    if container:
        containers.check_node(node)
        image = containers.container_image(db, principal, node, request.image or "")
        root = containers.plan_rootfs(db, node, image, request)
    arch = str(node.host.get("os", {}).get("architecture", "x86_64"))
    if request.architecture != arch:
        raise InvalidInput(
            f"Node {node.name} runs {arch} guests, not {request.architecture}.",
            field="architecture",
        )
    check_resources(
        _resources(request),
        request.config.machine,
        what=f"Instance {name}",
        node_memory_mb=int(node.hardware.get("memory_total_mb", 0)),
        node_name=node.name,
    )
    # Before any row is written, in the transaction that writes them: a refusal leaves
    # nothing, and the organization stays locked for the check until this commits.
    quotas.enforce(
        db,
        node.organization_id,
        quotas.Demand(
            vcpus=request.sockets * request.cores * request.threads,
            memory_mb=request.memory_mb,
            storage_gb=root.storage_gb
            if root is not None
            else sum(v.size_gb for v in request.new_volumes),
            instances=1,
        ),
        request="this deploy",
    )

    instance = Instance(
        id=new_id(Prefix.INSTANCE),
        organization_id=node.organization_id,
        node_id=node.id,
        name=name,
        description=request.description,
        type=InstanceType(request.type),
        architecture=request.architecture,
        uuid=str(uuid.uuid4()),
        cpu_sockets=request.sockets,
        cpu_cores=request.cores,
        cpu_threads=request.threads,
        memory_mb=request.memory_mb,
        autostart=request.autostart,
        config=_config(db, principal, node, request),
        desired_state=DesiredState.RUNNING,
        state=InstanceState.CREATING,
        creation=clock.now(),
    )
    db.add(instance)
    db.flush()
    if image is not None and root is not None:
        containers.add_rootfs(db, instance, node, image, root)
    else:
        _add_devices(db, principal, instance, node, request)
    _add_interfaces(db, principal, instance, node, request)
    events.publish(
        db,
        EventKind.INSTANCE_CREATED,
        organization_id=node.organization_id,
        target_id=instance.id,
        data=events.instance_data(node.id),
    )
    task = tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.INSTANCE_DEPLOY,
        node_id=node.id,
        target_id=instance.id,
        organization_id=node.organization_id,
        path=paths.on_node(db, node.id, instance.id),
    )
    instance.current_task_id = task.id
    return task


def _check_shape(request: DeployRequest) -> str:
    """Check what needs no database; return the instance name, stripped."""
    if (request.node_id is None) == (request.cluster_id is None):
        raise InvalidInput(
            "Give the destination as exactly one of node_id or cluster_id.", field="destination"
        )
    name = check_instance_name(request.name)
    check_description(request.description)
    if request.type not in (InstanceType.QEMU, InstanceType.LXC):
        raise InvalidInput(
            f"Instance type {request.type} is not supported; use 2 (qemu) or 1 (lxc).",
            field="type",
        )
    container = request.container is not None
    if container != (request.type == InstanceType.LXC):
        raise InvalidInput(
            f"Instance type {request.type} does not go with metadata._type "
            f"{'lxc' if container else 'qemu'}: a container is type 1 with _type lxc, a "
            "virtual machine type 2 with _type qemu.",
            field="type",
        )
    if request.type == InstanceType.LXC:
        containers.check_shape(request)
    # The rule deploy and edit share; the node's memory is checked once the node is known.
    check_resources(_resources(request), request.config.machine, what=f"Instance {name}")
    for index, network in enumerate(request.networks):
        if not isinstance(network, dict):
            raise InvalidInput(
                "Each network is an object {vswitch_id, port_group_name, mac?, model?}.",
                field=f"networks[{index}]",
            )
    # Machine type, firmware and secure boot were checked when request.config was made.
    return name


def _check_alive(node: Node) -> None:
    """A node whose agent has stopped reporting would leave the deploy queued (and the
    instance "being deployed") until it came back, so it is refused before anything is
    written; a cluster destination only ever picks live nodes."""
    if node_is_alive(node):
        return
    seen = (
        f"its agent last reported at {clock.rfc3339(node.last_seen)}"
        if node.last_seen
        else "its agent has never reported"
    )
    raise Conflict(
        f"Node {node.name} ({node.id}) is not alive: {seen}. Start cloudenv on it and "
        "wait until it shows as alive, or deploy to another node (or to its cluster).",
        field="destination.node_id",
    )


def _resources(request: DeployRequest) -> Resources:
    return Resources(
        sockets=request.sockets,
        cores=request.cores,
        threads=request.threads,
        memory_mb=request.memory_mb,
    )


def _choose_node(db: Session, principal: Principal, request: DeployRequest) -> Node:
    if request.node_id is not None:
        node = q.get_node(db, request.node_id, principal.scope)
        if node is None:
            raise NotFound(f"Node {request.node_id} does not exist.", field="destination.node_id")
        return node
    assert request.cluster_id is not None
    if q.get_cluster(db, request.cluster_id, principal.scope) is None:
        raise NotFound(
            f"Cluster {request.cluster_id} does not exist.", field="destination.cluster_id"
        )
    wanted = {v.storage_pool_id for v in request.new_volumes}
    # A vSwitch is one node's: interfaces on it pin the instance there.
    switch_nodes = {
        vswitch.node_id
        for n in request.networks
        if (vswitch := qn.get_vswitch(db, str(n.get("vswitch_id", "")), principal.scope))
    }
    candidates = []
    for node in q.nodes(db, principal.scope, cluster_ids=[request.cluster_id]):
        pools = qs.pool_ids_on_node(db, node.id, principal.scope)
        on_switches = switch_nodes <= {node.id}
        if node_is_alive(node) and wanted <= pools and on_switches:
            # Capacity counts every instance on the node, whoever's: unscoped on purpose.
            used = qc.committed_memory_mb(db, node.id, UNSCOPED)
            free = int(node.hardware.get("memory_total_mb", 0)) - used
            candidates.append((free, node.name, node))
    if not candidates:
        raise InvalidInput(
            f"No live node of cluster {request.cluster_id} has every storage "
            "pool and vSwitch this deploy asks for.",
            field="destination.cluster_id",
        )
    # Among the nodes the caller may deploy to; none: the best one, refused by name.
    permitted = [
        c
        for c in candidates
        if allowed(
            principal, Action.INSTANCE_DEPLOY, c[2].organization_id, paths.node_path(db, c[2].id)
        )
    ]
    return max(permitted or candidates, key=lambda c: (c[0], c[1]))[2]


def _config(
    db: Session, principal: Principal, node: Node, request: DeployRequest
) -> dict[str, object]:
    """The row's ``config``: a container's settings, or the VM's with direct kernel
    boot's images resolved."""
    if request.type == InstanceType.LXC:
        return (request.container or ContainerConfig()).to_json()
    config, boot = request.config, request.kernel_boot
    if boot is not None:
        kernel = _boot_image(db, principal, node, boot.kernel, "kernel")
        initrd = _boot_image(db, principal, node, boot.initrd, "initrd") if boot.initrd else None
        config = dataclasses.replace(
            config,
            kernel_boot=KernelBootConfig(
                kernel=kernel.id, initrd=initrd.id if initrd else None, cmdline=boot.cmdline
            ),
        )
    return config.to_json()


def _boot_image(db: Session, principal: Principal, node: Node, name: str, part: str) -> Image:
    """The image named for ``kernel_boot.<part>``: it must be of that format."""
    field = f"kernel_boot.{part}"
    image = find_image(db, principal, node.id, name, field=field)
    if image.format != part:
        what = (
            "a disk image"
            if image.format in ("qcow2", "raw")
            else f"an image of format {image.format}"
        )
        raise InvalidInput(
            f"Image {image.name} ({image.id}) is {what}; "
            f"kernel_boot.{part} must name an image of format {part}.",
            field=field,
        )
    return image


def _volume_name(db: Session, instance: Instance, pool_id: str, index: int, volume_id: str) -> str:
    """``<instance name>-disk<index>``, or with ``-<6 characters of the volume ID>``
    appended when a volume of that pool and node already has that name (another instance
    of the same name, or volumes kept by a destroy); at most 255 characters."""
    suffix = f"-disk{index}"
    base = f"{instance.name[: VOLUME_NAME_MAX - len(suffix)]}{suffix}"
    if not qs.volume_name_taken(db, pool_id, instance.node_id, base):
        return base
    suffix = f"{suffix}-{volume_id.split('-', 1)[1][:6]}"
    return f"{instance.name[: VOLUME_NAME_MAX - len(suffix)]}{suffix}"


def _target(dev: str, field: str) -> str:
    match = DEVICE_PATH.fullmatch(dev)
    if match is None:
        raise InvalidInput(
            f"Device path {dev!r} is not valid; use e.g. /dev/vda or /dev/sdb.", field=field
        )
    return match.group("target")


def _bus(value: str, machine: MachineType, what: str, field: str) -> str:
    """The bus of a deploy's disk, refused when ``machine`` has no such bus (IDE on q35)."""
    if value not in {b.value for b in DiskBus}:
        raise InvalidInput(
            f"Disk bus {value!r} is not one of ide, sata, scsi, virtio, usb.", field=field
        )
    machine.check_bus(DiskBus(value), cdrom=False, what=what, field=field)
    return value


def _add_devices(
    db: Session, principal: Principal, instance: Instance, node: Node, request: DeployRequest
) -> None:
    now, targets, machine = clock.now(), set[str](), request.config.machine
    image = (
        find_image(db, principal, node.id, request.image, field="image") if request.image else None
    )
    if image is not None and image.format in ("qcow2", "raw") and not request.new_volumes:
        raise InvalidInput(
            f"Image {image.name} is a disk image: add a new volume to copy it "
            "into (metadata.new_volumes).",
            field="image",
        )
    if image is not None and image.format == ROOTFS:
        raise InvalidInput(
            f"Image {image.name} is a container image (type 1); a virtual machine can't "
            "boot it. Deploy it as a container (type 1, metadata._type lxc).",
            field="image",
        )
    if image is not None and image.format in ("kernel", "initrd"):
        raise InvalidInput(
            f"Image {image.name} is a {image.format} image; boot it with metadata.kernel_boot.",
            field="image",
        )

    def claim(target: str, field: str) -> str:
        if target in targets:
            raise InvalidInput(
                f"Two devices use /dev/{target}; give each its own path.", field=field
            )
        targets.add(target)
        return target

    for index, spec in enumerate(request.new_volumes):
        field = f"metadata.new_volumes[{index}]"
        pool = pool_on_node(db, spec.storage_pool_id, node.id, field=f"{field}.storage_pool_id")
        check_new_volume(
            pool, spec.driver, field=f"{field}.driver", pool_field=f"{field}.storage_pool_id"
        )
        if not 1 <= spec.size_gb <= 64 * 1024:
            raise InvalidInput("Volume size must be between 1 and 65536 GB.", field=f"{field}.size")
        volume_id = new_id(Prefix.VOLUME)
        db.add(
            Volume(
                id=volume_id,
                organization_id=node.organization_id,
                node_id=node.id,
                pool_id=spec.storage_pool_id,
                name=_volume_name(db, instance, spec.storage_pool_id, index, volume_id),
                file_name=f"{volume_id}.{spec.driver}",
                size_bytes=spec.size_gb * GIB,
                format=spec.driver,
                status=VolumeStatus.CREATING,
                instance_id=instance.id,
                creation=now,
            )
        )
        source = image.id if (index == 0 and image and image.format != "iso") else None
        _device(
            db,
            instance,
            f"disk{index}",
            DeviceType.STORAGE_VOLUME,
            volume_id,
            _bus(
                spec.bus, machine, f"Instance {instance.name}: new volume {index}", f"{field}.bus"
            ),
            claim(_target(spec.dev, f"{field}.dev"), field),
            readonly=spec.readonly,
            root=index == 0,
            clone_from=source,
            created=True,
            now=now,
        )
    for index, existing in enumerate(request.existing_volumes):
        field = f"metadata.existing_volumes[{index}]"
        volume = qs.get_volume(db, existing.volume_id, principal.scope)
        if volume is None or volume.node_id != node.id:
            raise InvalidInput(
                f"Volume {existing.volume_id} is not a volume of node {node.id}.",
                field=f"{field}.volume_id",
            )
        if volume.instance_id is not None:
            raise InvalidInput(
                f"Volume {volume.name} ({volume.id}) is attached to instance "
                f"{volume.instance_id}; detach it first.",
                field=f"{field}.volume_id",
            )
        claim_volume(
            db, volume, instance.id, status=VolumeStatus.AVAILABLE, field=f"{field}.volume_id"
        )
        _device(
            db,
            instance,
            f"vol{index}",
            DeviceType.STORAGE_VOLUME,
            volume.id,
            _bus(
                existing.bus,
                machine,
                f"Instance {instance.name}: volume {volume.id}",
                f"{field}.bus",
            ),
            claim(_target(existing.dev, f"{field}.dev"), field),
            readonly=existing.readonly,
            root=not request.new_volumes and index == 0,
            now=now,
        )
    if image is not None and image.format == "iso":
        cdrom_bus = machine.cdrom_bus.value
        free = next(
            t for t in (f"{p}{c}" for p in ("hd", "sd") for c in "cdefgh") if t not in targets
        )
        _device(
            db,
            instance,
            "cdrom0",
            DeviceType.CDROM,
            image.id,
            cdrom_bus,
            claim(free, "image"),
            readonly=True,
            boot_order=1,
            now=now,
        )


def _add_interfaces(
    db: Session, principal: Principal, instance: Instance, node: Node, request: DeployRequest
) -> None:
    """One NIC device (``nic<index>``) per entry of ``networks``, in order."""
    taken = cluster_macs(db, node)
    for index, network in enumerate(request.networks):
        row = nic_row(
            db, principal, instance, node, network, field=f"networks[{index}]", taken=taken
        )
        row.name = f"nic{index}"
        db.add(row)


def _device(
    db: Session,
    instance: Instance,
    name: str,
    kind: DeviceType,
    resource_id: str,
    bus: str,
    target: str,
    *,
    now: object,
    readonly: bool = False,
    root: bool = False,
    boot_order: int = 0,
    clone_from: str | None = None,
    created: bool = False,
) -> None:
    metadata: dict[str, object] = {"_type": kind.name.lower()}
    if clone_from:
        metadata["clone_from"] = clone_from
    if created:
        metadata["created_by_deploy"] = True  # undone with a failed or interrupted deploy
    db.add(
        InstanceDevice(
            instance_id=instance.id,
            name=name,
            type=kind,
            resource_id=resource_id,
            bus=bus,
            target=target,
            serial=resource_id.split("-", 1)[1][:20],
            readonly=readonly,
            is_root=root,
            boot_order=boot_order or (2 if root else 0),
            metadata_=metadata,
            creation=now,
        )
    )
