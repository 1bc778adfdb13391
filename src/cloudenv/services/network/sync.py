"""Queueing a node's ``network.sync``: the one way a network change reaches OVS.

Every change to a vSwitch or port group writes the rows and queues the node's sync in the
same transaction; the task wakes the node's agent after commit (``queue_task``), which
brings OVS to the rows (``agent.network``). One queued sync is enough: it reads the rows
when it runs. One already running may have read them, so it doesn't count.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv.drivers.network.base import PortVlan, SwitchSpec, VlanMode
from cloudenv.enums import PortGroupType
from cloudenv.services import paths
from cloudenv.services.access import SYSTEM
from cloudenv.services.tasks import TaskKind, queue_task
from cloudenv.store.queries import network as q
from cloudenv.store.queries import tenancy as tq
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import PortGroup, VSwitch


def queue_sync(db: Session, node_id: str) -> None:
    """Queue ``network.sync`` on the node unless one is waiting there already."""
    if q.sync_queued(db, node_id):
        return
    node = tq.get_node(db, node_id, UNSCOPED)  # the node acts for every tenant's switches
    if node is None:
        return
    queue_task(
        db,
        SYSTEM,
        TaskKind.NETWORK_SYNC,
        node_id=node.id,
        target_id=node.id,
        organization_id=node.organization_id,
        path=paths.node_path(db, node.id),
    )


# What the node's agent applies ------------------------------------------------------------


@dataclass(frozen=True)
class SwitchWork:
    """A vSwitch of the node, detached from the session, as the driver takes it."""

    id: str
    spec: SwitchSpec


@dataclass(frozen=True)
class PortWork:
    """An interface of a running instance on the node, and the VLAN it must have."""

    bridge: str
    mac: str
    vlan: PortVlan
    #: "web-1 (inst-…) net0 on svswitch10/Production", for log lines and failures.
    label: str


@dataclass(frozen=True)
class NodeWork:
    switches: list[SwitchWork]
    ports: list[PortWork]


def node_work(db: Session, node_id: str) -> NodeWork:
    """The node's vSwitches and the VLANs of its running instances' ports (read as the
    node: every tenant's)."""
    switches = list(q.vswitches(db, UNSCOPED, node_id=node_id))
    groups = {
        (group.vswitch_id, group.name): group
        for group, _ in q.port_groups(db, UNSCOPED, node_id=node_id)
    }
    names = {s.id: s.name for s in switches}
    ports = []
    for device, instance in q.running_interfaces(db, node_id, UNSCOPED):
        group_name = (device.metadata_ or {}).get("port_group")
        bridge = names.get(device.resource_id or "")
        group = groups.get((device.resource_id or "", str(group_name)))
        if bridge is None or group is None or device.mac is None:
            continue  # the interface services refuse these; nothing to apply
        ports.append(
            PortWork(
                bridge=bridge,
                mac=device.mac,
                vlan=port_vlan(group),
                label=f"{instance.name} ({instance.id}) {device.name} on {bridge}/{group.name}",
            )
        )
    return NodeWork([SwitchWork(s.id, spec_of(s)) for s in switches], ports)


def spec_of(switch: VSwitch) -> SwitchSpec:
    table = (switch.security or {}).get("mac_table") or {}
    return SwitchSpec(
        name=switch.name,
        uplinks=tuple(switch.uplinks or ()),
        mtu=switch.mtu,
        mac_table_size=table.get("maximum"),
        mac_aging_seconds=table.get("aging_time"),
    )


def port_vlan(group: PortGroup) -> PortVlan:
    """The port group's setting as the network driver applies it to a port."""
    if group.type == PortGroupType.ACCESS:
        return PortVlan(VlanMode.ACCESS, group.vlan_id)
    if group.type == PortGroupType.TRUNK:
        return PortVlan(VlanMode.TRUNK, group.native_vlan_id, tuple(group.trunk_vlans or []))
    return PortVlan(VlanMode.UNTAGGED)
