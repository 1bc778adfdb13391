"""Nodes: detail (with health), hardware facts, PCI devices, tasks, a facts refresh, the
daemon's log and the system jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from cloudenv.api.deps import CurrentPrincipal, Db, NodeSettings
from cloudenv.api.rendering import instance_entry, json_response
from cloudenv.api.schemas.common import TaskRef
from cloudenv.api.schemas.nodes import (
    LogEntry,
    NodeDetail,
    NodeHardware,
    NodeOS,
    NodeTime,
    PciDevice,
    SystemJob,
)
from cloudenv.api.schemas.tasks import NodeTask
from cloudenv.api.schemas.tenancy import NodeWithHealth
from cloudenv.services import tasks
from cloudenv.services.compute import instances
from cloudenv.services.monitoring import jobs, logs
from cloudenv.services.tenancy import nodes

router = APIRouter(prefix="/v1/nodes", tags=["nodes"])


@router.get("/{node_id}", response_model=NodeDetail, name="node.read")
def get_node(node_id: str, db: Db, principal: CurrentPrincipal) -> Response:
    """The node, its host facts, and the instances on it that the caller may see (the
    product's clients read a node's instances here)."""
    detail = nodes.get_node(db, principal, node_id)
    on_node = instances.list_instances(db, principal, node_id=detail.node.id)
    reply = NodeDetail(
        node=NodeWithHealth.model_validate(
            {
                **detail.node._asdict(),
                "health_status": detail.health.status.value,
                "health_reasons": list(detail.health.reasons),
            }
        ),
        instances=[],
        hostname=detail.hostname,
        os=NodeOS(kernel=detail.kernel, architecture=detail.architecture, uefi=detail.uefi),
        time=NodeTime(time=detail.time, timezone=detail.timezone, uptime=detail.uptime),
        pce_version=detail.version,
    ).model_dump(mode="json")
    reply["instances"] = [instance_entry(v) for v in on_node]
    return json_response(reply)


@router.get("/{node_id}/hardware", response_model=NodeHardware, name="node.hardware")
def get_hardware(node_id: str, db: Db, principal: CurrentPrincipal) -> dict[str, Any]:
    return nodes.get_hardware(db, principal, node_id)


@router.get(
    "/{node_id}/hardware/pci",
    response_model=list[PciDevice],
    name="node.pci",
    response_model_by_alias=True,
)
def get_pci(node_id: str, db: Db, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return nodes.get_pci_devices(db, principal, node_id)


@router.get("/{node_id}/capabilities", name="node.capabilities")
def get_capabilities(node_id: str, db: Db, principal: CurrentPrincipal) -> dict[str, Any]:
    """Per architecture: emulator, accelerator (kvm or tcg, and why), machine types, CPU
    models, firmware, Open vSwitch's datapath, and whether the node runs containers
    (``containers``, and ``containers_reason`` when not). Empty until the node's agent has
    read its hypervisor."""
    return nodes.get_capabilities(db, principal, node_id)


@router.get("/{node_id}/tasks", response_model=list[NodeTask], name="node.tasks")
def list_tasks(node_id: str, db: Db, principal: CurrentPrincipal) -> list[NodeTask]:
    nodes.require_node(db, principal, node_id)  # 404 for an invisible node, not an empty list
    return [NodeTask.model_validate(t) for t in tasks.list_node_tasks(db, principal, node_id)]


@router.post(
    "/{node_id}/facts/refresh", response_model=TaskRef, status_code=202, name="node.refresh_facts"
)
def refresh_facts(node_id: str, db: Db, principal: CurrentPrincipal) -> TaskRef:
    """Re-read the node's hardware and host facts (cloudenv's own endpoint)."""
    return TaskRef(task_id=nodes.request_facts_refresh(db, principal, node_id).id)


@router.get("/{node_id}/logs", response_model=list[LogEntry], name="node.logs")
def read_logs(
    node_id: str,
    db: Db,
    principal: CurrentPrincipal,
    settings: NodeSettings,
    since: Annotated[
        str | None,
        Query(description="From this time on: Unix seconds or RFC 3339 with an offset."),
    ] = None,
    until: Annotated[
        str | None, Query(description="Up to this time: Unix seconds or RFC 3339.")
    ] = None,
    max_points: Annotated[
        int,
        Query(
            alias="maxPoints",
            description=f"At most this many lines, the newest (1-{logs.MAX_POINTS}).",
        ),
    ] = logs.DEFAULT_POINTS,
    priority: Annotated[
        int | None,
        Query(description="Only lines at least this severe (syslog severity 0-7: 4 warnings)."),
    ] = None,
) -> Response:
    """The node's daemon log, oldest first: the newest ``maxPoints`` lines logged between
    ``since`` and ``until``. Only the node itself holds its log: asked about another node,
    this one answers 409 saying where to ask."""
    entries = logs.read_node_log(
        db,
        principal,
        node_id,
        logs.LogQuery(since=since, until=until, max_points=max_points, priority=priority),
        this_node=settings.node_id,
        data_dir=settings.data_dir,
    )
    return json_response(
        [
            {
                "PRIORITY": e.priority,
                "FACILITY": e.facility,
                "IDENTIFIER": e.identifier,
                "MESSAGE": e.message,
                "matches": e.matches,
                "time": e.time.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            }
            for e in entries
        ]
    )


@router.get("/{node_id}/jobs", response_model=list[SystemJob], name="node.jobs")
def list_jobs(node_id: str, db: Db, principal: CurrentPrincipal) -> list[SystemJob]:
    """The node's system jobs (heartbeat, instance sync, metrics, storage upkeep, purges)
    with their last and next runs, as its agent last recorded them."""
    return [SystemJob.model_validate(j) for j in jobs.list_node_jobs(db, principal, node_id)]
