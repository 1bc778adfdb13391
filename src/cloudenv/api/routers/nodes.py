"""Nodes: detail, hardware facts, PCI devices, tasks, and a facts refresh."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.rendering import instance_entry, json_response
from cloudenv.api.schemas.common import TaskRef
from cloudenv.api.schemas.nodes import NodeDetail, NodeHardware, NodeOS, NodeTime, PciDevice
from cloudenv.api.schemas.tasks import NodeTask
from cloudenv.api.schemas.tenancy import NodeFull
from cloudenv.services import tasks
from cloudenv.services.compute import instances
from cloudenv.services.tenancy import nodes

router = APIRouter(prefix="/v1/nodes", tags=["nodes"])


@router.get("/{node_id}", response_model=NodeDetail, name="node.read")
def get_node(node_id: str, db: Db, principal: CurrentPrincipal) -> Response:
    """The node, its host facts, and the instances on it that the caller may see (the
    product's clients read a node's instances here)."""
    detail = nodes.get_node(db, principal, node_id)
    on_node = instances.list_instances(db, principal, node_id=detail.node.id)
    reply = NodeDetail(
        node=NodeFull.model_validate(detail.node),
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
    models, firmware. Empty until the node's agent has read its hypervisor."""
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
