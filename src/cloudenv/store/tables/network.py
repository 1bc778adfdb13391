"""A node's NICs, its vSwitches (Open vSwitch bridges) and their port groups.

A vSwitch belongs to one node but its name is unique in the node's cluster (the seed:
"Ensure the vSwitch name is unique cluster-wide"), so an instance's network maps to the
same name on every node. A port group is named within its vSwitch; instance interfaces
are ``instance_devices`` rows of type NIC whose ``resource_id`` is the vSwitch and whose
metadata names the port group.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloudenv.enums import PortGroupType, SwitchStatus, VSwitchType
from cloudenv.store.base import Base, IntEnumColumn, StrEnumColumn


class VSwitch(Base):
    __tablename__ = "vswitches"
    __table_args__ = (UniqueConstraint("cluster_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id"), index=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id"), index=True)
    type: Mapped[VSwitchType] = mapped_column(
        IntEnumColumn(VSwitchType), default=VSwitchType.STANDALONE
    )
    #: ``svswitchN``; also the OVS bridge's name on the node (at most 15 characters).
    name: Mapped[str] = mapped_column(String(15))
    description: Mapped[str] = mapped_column(String(512), default="")
    mtu: Mapped[int | None]
    #: The node's NIC names joined to it: none (internal), one, or an active-backup bond.
    uplinks: Mapped[list[str]] = mapped_column(default=list)
    #: ``{mac_table: {maximum, aging_time}, firewall_rules: []}`` as the wire has it.
    security: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[SwitchStatus] = mapped_column(
        StrEnumColumn(SwitchStatus, 16), default=SwitchStatus.PENDING
    )
    message: Mapped[str] = mapped_column(String(1024), default="")
    creation: Mapped[datetime]


class PortGroup(Base):
    __tablename__ = "port_groups"

    vswitch_id: Mapped[str] = mapped_column(
        ForeignKey("vswitches.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    description: Mapped[str] = mapped_column(String(512), default="")
    type: Mapped[PortGroupType] = mapped_column(IntEnumColumn(PortGroupType))
    vlan_id: Mapped[int | None]  # access: the VLAN (1-4094)
    trunk_vlans: Mapped[list[int]] = mapped_column(default=list)
    native_vlan_id: Mapped[int | None]  # trunk: the VLAN sent untagged, if any
    firewall_rules: Mapped[list[Any]] = mapped_column(default=list)
    creation: Mapped[datetime]


class NodeNic(Base):
    """A network interface of a node, as its agent last read it."""

    __tablename__ = "node_nics"

    node_id: Mapped[str] = mapped_column(
        ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(15), primary_key=True)
    mac: Mapped[str] = mapped_column(String(17), default="")
    mtu: Mapped[int] = mapped_column(default=1500)
    speed: Mapped[int | None]  # Mbit/s
    link: Mapped[bool] = mapped_column(default=False)
    driver: Mapped[str] = mapped_column(String(64), default="")
    #: The vSwitch (its name) it is an uplink of on the node, if any.
    vswitch: Mapped[str | None] = mapped_column(String(15))
    #: The node's addresses on it ("10.0.0.5/24"): the management network's NIC has some.
    addresses: Mapped[list[str]] = mapped_column(default=list)
    updated: Mapped[datetime]
