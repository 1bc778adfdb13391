"""Instances: deploy (``POST /v2/instances``), list, read, edit, power, destroy."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.rendering import VersionedCache, accepts_gzip, instance_entry, json_response
from cloudenv.api.schemas.common import TaskRef
from cloudenv.api.schemas.compute import (
    Instance,
    InstanceDeploy,
    InstanceDetail,
    InstanceUpdate,
    LxcMetadata,
    PowerRequest,
    QemuMetadata,
)
from cloudenv.instance_config import ContainerConfig, QemuConfig
from cloudenv.services.access import Action
from cloudenv.services.compute import instances
from cloudenv.services.compute.deploy import deploy_instance
from cloudenv.services.compute.instances import InstanceView
from cloudenv.services.compute.requests import DeployRequest, ExistingVolume, KernelBoot, NewVolume
from cloudenv.services.compute.states import PowerAction
from cloudenv.services.partial import KEEP
from cloudenv.services.validation import INSTANCE_NAME_MAX

router = APIRouter(tags=["instances"])
_lists = VersionedCache(max_entries=64)


def _out(view: InstanceView) -> Instance:
    return Instance.model_validate(instance_entry(view))


def _request(body: InstanceDeploy) -> DeployRequest:
    meta = body.metadata
    qemu = meta if isinstance(meta, QemuMetadata) else None
    lxc = meta if isinstance(meta, LxcMetadata) else None
    return DeployRequest(
        container=ContainerConfig(init=lxc.init, privileged=lxc.privileged) if lxc else None,
        storage_pool_id=lxc.storage_pool_id if lxc else None,
        rootfs_size_gb=lxc.rootfs_size if lxc else None,
        name=body.name,
        type=body.type,
        node_id=body.destination.node_id,
        cluster_id=body.destination.cluster_id,
        description=body.description,
        architecture=body.architecture,
        image=body.image,
        sockets=body.cpu.sockets,
        cores=body.cpu.cores,
        threads=body.cpu.threads,
        memory_mb=body.memory,
        autostart=body.autostart,
        networks=body.networks,
        config=QemuConfig.parse(
            machine_type=qemu.machine_type,
            firmware=qemu.firmware,
            secure_boot=qemu.secure_boot.enabled,
            cpu_model=qemu.cpu_model,
        )
        if qemu
        else QemuConfig(),
        new_volumes=[
            NewVolume(
                size_gb=v.size,
                storage_pool_id=v.storage_pool_id,
                bus=v.bus,
                dev=v.dev,
                driver=v.driver,
                readonly=v.readonly,
                backup=v.backup,
            )
            for v in (qemu.new_volumes if qemu else [])
        ],
        existing_volumes=[
            ExistingVolume(volume_id=v.volume_id, bus=v.bus, dev=v.dev, readonly=v.readonly)
            for v in (qemu.existing_volumes if qemu else [])
        ],
        kernel_boot=(
            KernelBoot(
                kernel=qemu.kernel_boot.kernel,
                initrd=qemu.kernel_boot.initrd,
                cmdline=qemu.kernel_boot.cmdline,
            )
            if qemu and qemu.kernel_boot
            else None
        ),
    )


@router.post("/v2/instances", response_model=TaskRef, status_code=202, name="instance.deploy")
def deploy(body: InstanceDeploy, db: Db, principal: CurrentPrincipal) -> TaskRef:
    """Deploy a virtual machine or a container; the task creates its volumes (a
    container's: its image unpacked), defines and starts it."""
    return TaskRef(task_id=deploy_instance(db, principal, _request(body)).id)


@router.get("/v1/instances", response_model=list[Instance], name="instance.list")
def list_instances(
    request: Request,
    db: Db,
    principal: CurrentPrincipal,
    node_id: str | None = None,
    cluster_id: str | None = None,
    name_contains: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=INSTANCE_NAME_MAX,
            description=(
                "A name search: the instances whose name holds this text, in any case "
                "(% and _ are plain characters), on the node or cluster given or, without "
                "either, everywhere the caller sees; the first `limit` by name. Without "
                "it, exactly one of node_id or cluster_id is required and the list is "
                "complete."
            ),
        ),
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=instances.SEARCH_MAX,
            description=(
                f"At most this many matches of a name search (1 to {instances.SEARCH_MAX}, "
                f"{instances.SEARCH_DEFAULT} if not given); only with name_contains. Ask one "
                "more than you show to learn whether there are more."
            ),
        ),
    ] = None,
) -> Response:
    """Every instance of the node or cluster the caller may see: a bare, complete array.
    With ``name_contains``, the caller's instances whose name holds the text: a bare array
    of at most ``limit``."""
    if name_contains is not None or limit is not None:
        # A search per keystroke: read directly, never through the list cache (each text
        # would take a slot from the node and cluster lists every UI polls).
        views = instances.list_instances(
            db,
            principal,
            node_id=node_id,
            cluster_id=cluster_id,
            name_contains=name_contains,
            limit=limit,
        )
        return json_response([instance_entry(v) for v in views])
    # Every UI polls these (hundreds of rows): the rendered list is reused until an
    # instance changes (see VersionedCache and ``instances.list_version``).
    version, valid_until = instances.list_version(db)

    def produce() -> tuple[list[dict[str, Any]], datetime | None]:
        views = instances.list_instances(db, principal, node_id=node_id, cluster_id=cluster_id)
        return [instance_entry(v) for v in views], valid_until

    # Callers whose policies let them read every instance they see share a list per
    # scope; a narrower policy set has lists of its own (shared by its holders).
    readers: Hashable = "every instance"
    if principal.check_for(Action.INSTANCE_READ) is not None:
        readers = principal.answers_key
        if readers is None:  # policies without an identity: never shared
            return json_response(produce()[0])
    key = (str(db.get_bind().engine.url), principal.scope, readers, node_id, cluster_id)
    gzip_ok = accepts_gzip(request.headers.get("accept-encoding"))
    return _lists.render(key, version, produce, gzip_ok=gzip_ok)


@router.get("/v1/instances/{instance_id}", response_model=InstanceDetail, name="instance.read")
def get_instance(instance_id: str, db: Db, principal: CurrentPrincipal) -> Response:
    return json_response(
        {"instance": instance_entry(instances.get_instance(db, principal, instance_id))}
    )


@router.patch("/v1/instances/{instance_id}", response_model=InstanceDetail, name="instance.update")
def update_instance(
    instance_id: str, body: InstanceUpdate, db: Db, principal: CurrentPrincipal
) -> InstanceDetail:
    data = body.data
    view = instances.update_instance(
        db,
        principal,
        instance_id,
        name=data.name if data.name is not None else KEEP,
        description=data.description if data.description is not None else KEEP,
        memory_mb=data.memory if data.memory is not None else KEEP,
        sockets=data.cpu.sockets if data.cpu else KEEP,
        cores=data.cpu.cores if data.cpu else KEEP,
        threads=data.cpu.threads if data.cpu else KEEP,
        autostart=data.autostart if data.autostart is not None else KEEP,
    )
    return InstanceDetail(instance=_out(view))


@router.post(
    "/v1/instances/{instance_id}/power",
    response_model=TaskRef,
    status_code=202,
    name="instance.power",
)
def power(
    instance_id: str,
    body: PowerRequest,
    db: Db,
    principal: CurrentPrincipal,
    node_id: str | None = None,
) -> TaskRef:
    """start, stop (ACPI; fails after ``timeout``), restart, kill (Force Stop)."""
    task = instances.set_power_state(
        db, principal, instance_id, PowerAction(body.action), timeout=body.timeout
    )
    return TaskRef(task_id=task.id)


@router.delete(
    "/v1/instances/{instance_id}", response_model=TaskRef, status_code=202, name="instance.destroy"
)
def destroy(
    instance_id: str,
    db: Db,
    principal: CurrentPrincipal,
    destroy_volumes: bool = False,
    confirm: ConfirmQuery = None,
    node_id: str | None = None,
) -> TaskRef:
    """Only a stopped instance; ``destroy_volumes=true`` deletes its volumes too. The client
    asks its user to confirm; ``confirm``, when sent, must be DESTROY."""
    task = instances.destroy_instance(
        db, principal, instance_id, destroy_volumes=destroy_volumes, confirm=confirm
    )
    return TaskRef(task_id=task.id)
