"""Nodes: the servers. Their facts (hardware, OS, uptime) are reported by their own agent;
the API only reads them, so every answer is fast and never touches the host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cloudenv import __version__, clock
from cloudenv.errors import NotFound
from cloudenv.services import events, paths, tasks
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.events import EventKind
from cloudenv.services.monitoring.health import (
    Health,
    HealthFacts,
    node_reports,
    problems,
    ready_pools,
)
from cloudenv.services.tenancy.views import NodeView, node_view
from cloudenv.store.queries import tenancy as q
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import Node, Task

#: Under ``nodes.health``: what decided the node's health at its last heartbeat
#: (``services.monitoring.health.problems``), to publish an update when it changes.
PROBLEMS = "problems"

EMPTY_HARDWARE: dict[str, Any] = {
    "vcpus": 0,
    "cpu": {
        "manufacturer": "",
        "brand": "",
        "speed": {"current": 0.0},
        "governor": "",
        "cores": {"physical": 0, "performance": 0, "efficiency": 0},
        "processors": 0,
        "sockets": 0,
        "flags": [],
        "virtualization": False,
    },
    "memory": [],
    "disks": [],
    "usb": [],
}


@dataclass(frozen=True)
class NodeDetail:
    node: NodeView
    health: Health
    hostname: str
    kernel: str
    architecture: str
    uefi: bool
    time: int
    timezone: str
    uptime: int
    version: str


def get_node(db: Session, principal: Principal, node_id: str) -> NodeDetail:
    node = _load(db, principal, node_id, Action.NODE_READ)
    host = node.host or {}
    now = clock.now()
    boot = int(host.get("boot_time", 0))
    os_facts = host.get("os", {})
    view = node_view(node, now)
    return NodeDetail(
        node=view,
        health=node_reports(db, [view], principal.scope, now)[view.id].health,
        hostname=str(host.get("hostname", node.name)),
        kernel=str(os_facts.get("kernel", "")),
        architecture=str(os_facts.get("architecture", "")),
        uefi=bool(os_facts.get("uefi", False)),
        time=int(now.timestamp()),
        timezone=str(host.get("timezone", "Etc/UTC")),
        uptime=max(0, int(now.timestamp()) - boot) if boot else 0,
        version=str(host.get("version", __version__)),
    )


def get_hardware(db: Session, principal: Principal, node_id: str) -> dict[str, Any]:
    """The facts of ``GET /v1/nodes/{id}/hardware``, as the node's agent last reported them."""
    node = _load(db, principal, node_id, Action.NODE_READ)
    hardware = {**EMPTY_HARDWARE, **(node.hardware or {})}
    hardware.pop("memory_total_mb", None)
    hardware.pop("pci", None)
    return hardware


def get_pci_devices(db: Session, principal: Principal, node_id: str) -> list[dict[str, Any]]:
    node = _load(db, principal, node_id, Action.NODE_READ)
    return list((node.hardware or {}).get("pci", []))


def request_facts_refresh(db: Session, principal: Principal, node_id: str) -> Task:
    """Queue a task for the node's agent to re-read its hardware and host facts."""
    node = _load(db, principal, node_id, Action.NODE_REFRESH_FACTS)
    return tasks.queue_task(
        db,
        principal,
        tasks.TaskKind.NODE_REFRESH_FACTS,
        node_id=node.id,
        target_id=node.id,
        organization_id=node.organization_id,
        path=paths.node_path(db, node.id),
    )


def heartbeat(db: Session, node_id: str, facts: HealthFacts | None = None) -> None:
    """The node's agent says it is alive, and with ``facts`` how it is (libvirt,
    memory); a node that stops saying so turns not-alive. A change of health that the
    facts decide is published as the node's update (what moves every beat is not)."""
    node = _as_node(db, node_id)
    was_alive = node.last_seen is not None and node_view(node).alive
    node.last_seen = clock.now()
    if facts is not None:
        # Its pools' usage has its own job; a pool filling up shows at the next beat.
        found = problems(facts, ready_pools(db, node.id, UNSCOPED))
        before = (node.health or {}).get(PROBLEMS)
        node.health = {**facts.as_json(), PROBLEMS: found}
        if was_alive and found != before:
            events.publish(
                db, EventKind.NODE_UPDATED, organization_id=node.organization_id, target_id=node.id
            )
    if not was_alive:
        events.publish(
            db, EventKind.NODE_CONNECTED, organization_id=node.organization_id, target_id=node.id
        )


def report_facts(
    db: Session,
    node_id: str,
    *,
    hardware: dict[str, Any],
    host: dict[str, Any],
    ip_address: str | None = None,
) -> None:
    """Store what the node's agent found out about its host."""
    node = _as_node(db, node_id)
    node.hardware = hardware
    node.host = {**(node.host or {}), **host}
    if ip_address:
        node.ip_address = ip_address
    events.publish(
        db, EventKind.NODE_UPDATED, organization_id=node.organization_id, target_id=node.id
    )


def report_capabilities(db: Session, node_id: str, capabilities: dict[str, Any]) -> None:
    """What the node's hypervisor can run, per architecture (read by its agent)."""
    node = q.get_node(db, node_id, UNSCOPED)
    if node is not None:
        node.host = {**(node.host or {}), "capabilities": capabilities}


def get_capabilities(db: Session, principal: Principal, node_id: str) -> dict[str, Any]:
    capabilities: dict[str, Any] = (_load(db, principal, node_id, Action.NODE_READ).host or {}).get(
        "capabilities", {}
    )
    return capabilities


def _as_node(db: Session, node_id: str) -> Node:
    """The node itself, for its own agent (unscoped: the node acts for every tenant)."""
    node = q.get_node(db, node_id, UNSCOPED)
    if node is None:
        raise NotFound(f"Node {node_id} is not registered in this database.")
    return node


def require_node(db: Session, principal: Principal, node_id: str) -> Node:
    """The node through the caller's scope alone (NotFound outside it), for routes that
    read what is on it (its tasks, pools, images): each of those is checked itself."""
    node = q.get_node(db, node_id, principal.scope)
    if node is None:
        raise NotFound(f"Node {node_id} does not exist.", field="id")
    return node


def _load(db: Session, principal: Principal, node_id: str, action: Action) -> Node:
    """The node through the caller's scope, checked for ``action`` at its path."""
    node = require_node(db, principal, node_id)
    authorize(principal, action, node.organization_id, paths.node_path(db, node.id))
    return node
