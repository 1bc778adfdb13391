"""Selectors for networking: a node's NICs, its vSwitches, their port groups and the
instance interfaces (``instance_devices`` rows of type NIC) on them. Every selector takes
the caller's scope; the agent passes ``UNSCOPED`` by name.

Name and use checks (``vswitch_by_name``, ``uplink_holders``, ``interfaces_on``) take no
scope: a vSwitch name is unique in the cluster and a NIC is an uplink of one vSwitch
whoever owns the rows that have them, and an interface of another tenant's instance on a
vSwitch still keeps it in use.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Row, delete, func, select
from sqlalchemy.orm import Session

from cloudenv.enums import DeviceType, InstanceState, TaskStatus
from cloudenv.store.queries.scope import Scope, restrict
from cloudenv.store.tables import Instance, InstanceDevice, NodeNic, PortGroup, Task, VSwitch

SYNC_KIND = "network.sync"

# NICs


def node_nics(db: Session, node_id: str) -> Sequence[NodeNic]:
    """The node's NICs by name. The node itself was read through the caller's scope."""
    stmt = select(NodeNic).where(NodeNic.node_id == node_id).order_by(NodeNic.name)
    return db.scalars(stmt).all()


def delete_nics(db: Session, node_id: str, names: Collection[str]) -> None:
    if names:
        db.execute(delete(NodeNic).where(NodeNic.node_id == node_id, NodeNic.name.in_(names)))


# vSwitches


def get_vswitch(db: Session, vswitch_id: str, scope: Scope) -> VSwitch | None:
    stmt = restrict(select(VSwitch).where(VSwitch.id == vswitch_id), VSwitch.organization_id, scope)
    found: VSwitch | None = db.scalar(stmt)
    return found


def vswitches(db: Session, scope: Scope, *, node_id: str | None = None) -> Sequence[VSwitch]:
    """vSwitches (of one node, or all the caller sees) by node then name."""
    stmt = select(VSwitch).order_by(VSwitch.node_id, VSwitch.name)
    if node_id is not None:
        stmt = stmt.where(VSwitch.node_id == node_id)
    return db.scalars(restrict(stmt, VSwitch.organization_id, scope)).all()


def vswitch_by_name(db: Session, cluster_id: str, name: str) -> VSwitch | None:
    """The cluster's vSwitch of that name, whoever owns it (names are unique cluster-wide)."""
    found: VSwitch | None = db.scalar(
        select(VSwitch).where(VSwitch.cluster_id == cluster_id, VSwitch.name == name)
    )
    return found


def uplink_holders(db: Session, node_id: str) -> dict[str, VSwitch]:
    """NIC name → the vSwitch of the node that has it as an uplink."""
    held: dict[str, VSwitch] = {}
    for switch in db.scalars(select(VSwitch).where(VSwitch.node_id == node_id)):
        for nic in switch.uplinks or []:
            held[nic] = switch
    return held


def port_group_counts(db: Session, vswitch_ids: Collection[str]) -> dict[str, int]:
    if not vswitch_ids:
        return {}
    stmt = (
        select(PortGroup.vswitch_id, func.count())
        .where(PortGroup.vswitch_id.in_(vswitch_ids))
        .group_by(PortGroup.vswitch_id)
    )
    return {vswitch_id: int(count) for vswitch_id, count in db.execute(stmt).all()}


# Port groups


def get_port_group(db: Session, vswitch_id: str, name: str, scope: Scope) -> PortGroup | None:
    stmt = select(PortGroup).where(PortGroup.vswitch_id == vswitch_id, PortGroup.name == name)
    found: PortGroup | None = db.scalar(restrict(stmt, PortGroup.organization_id, scope))
    return found


def port_groups(
    db: Session, scope: Scope, *, node_id: str | None = None, vswitch_id: str | None = None
) -> Sequence[Row[PortGroup, VSwitch]]:
    """(port group, its vSwitch) by vSwitch name then port group name."""
    stmt = (
        select(PortGroup, VSwitch)
        .join(VSwitch, VSwitch.id == PortGroup.vswitch_id)
        .order_by(VSwitch.name, PortGroup.name)
    )
    if node_id is not None:
        stmt = stmt.where(VSwitch.node_id == node_id)
    if vswitch_id is not None:
        stmt = stmt.where(PortGroup.vswitch_id == vswitch_id)
    return db.execute(restrict(stmt, PortGroup.organization_id, scope)).all()


# Instance interfaces (NIC devices)


def interfaces_on(
    db: Session, vswitch_id: str, port_group: str | None = None
) -> Sequence[Row[InstanceDevice, Instance]]:
    """(NIC device, its instance) joined to the vSwitch (and to one port group of it),
    whoever owns them: what keeps a vSwitch or port group in use."""
    stmt = (
        select(InstanceDevice, Instance)
        .join(Instance, Instance.id == InstanceDevice.instance_id)
        .where(InstanceDevice.type == DeviceType.NIC, InstanceDevice.resource_id == vswitch_id)
        .order_by(Instance.name, InstanceDevice.name)
    )
    rows = db.execute(stmt).all()
    if port_group is None:
        return rows
    return [r for r in rows if (r[0].metadata_ or {}).get("port_group") == port_group]


def interfaces_of_switches(
    db: Session, vswitch_ids: Collection[str], scope: Scope
) -> Sequence[Row[InstanceDevice, Instance]]:
    """(NIC device, its instance) on these vSwitches that the caller sees."""
    if not vswitch_ids:
        return []
    stmt = (
        select(InstanceDevice, Instance)
        .join(Instance, Instance.id == InstanceDevice.instance_id)
        .where(InstanceDevice.type == DeviceType.NIC, InstanceDevice.resource_id.in_(vswitch_ids))
        .order_by(Instance.name, InstanceDevice.name)
    )
    return db.execute(restrict(stmt, Instance.organization_id, scope)).all()


def running_interfaces(
    db: Session, node_id: str, scope: Scope
) -> Sequence[Row[InstanceDevice, Instance]]:
    """(NIC device, its instance) of the node's running instances: the ports whose VLAN
    the agent applies (a stopped instance has no port; libvirt makes it at start)."""
    stmt = (
        select(InstanceDevice, Instance)
        .join(Instance, Instance.id == InstanceDevice.instance_id)
        .where(
            Instance.node_id == node_id,
            Instance.state == InstanceState.RUNNING,
            InstanceDevice.type == DeviceType.NIC,
            InstanceDevice.mac.is_not(None),
        )
        .order_by(Instance.name, InstanceDevice.name)
    )
    return db.execute(restrict(stmt, Instance.organization_id, scope)).all()


# Sync tasks


def sync_queued(db: Session, node_id: str) -> bool:
    """Whether the node has a ``network.sync`` task waiting to run (it reads the rows when
    it runs, so it will see a change made now)."""
    stmt = select(Task.id).where(
        Task.kind == SYNC_KIND, Task.node_id == node_id, Task.status == TaskStatus.QUEUED
    )
    return db.scalar(stmt.limit(1)) is not None
