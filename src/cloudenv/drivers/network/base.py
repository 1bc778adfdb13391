"""The network driver interface: this node's NICs and its Open vSwitch switches.

A vSwitch is an OVS bridge named after it (``svswitch10``); its uplinks are NICs added as
one port, or as an active-backup bond of several (traffic survives the loss of a link);
a port group is the VLAN setting (access tag, trunk, untagged) of the ports that join it.
Instances' ports are made by libvirt (``<virtualport type='openvswitch'>``) when a guest
starts; the driver sets their VLAN and finds them by the MAC libvirt records on the
interface. Everything the driver creates is marked as cloudenv's in OVSDB
(``external_ids``), and it never changes or removes a bridge, port or interface that
isn't marked: a reconcile converges on what is wanted without touching the host's own.

Every verb is idempotent, so a reconcile pass repeated after a crash or an OVS restart
converges. The driver decides nothing about names, VLANs or uplinks: the agent passes
them in, as the services checked them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Datapath(StrEnum):
    """Where OVS switches packets: the kernel module, or ``ovs-vswitchd`` itself."""

    SYSTEM = "system"
    #: The userspace datapath, for hosts whose kernel lacks the OVS module.
    NETDEV = "netdev"


class VlanMode(StrEnum):
    ACCESS = "access"
    TRUNK = "trunk"
    UNTAGGED = "untagged"


@dataclass(frozen=True)
class NicInfo:
    """A network interface of the node as the kernel reports it (pyroute2)."""

    name: str
    mac: str
    mtu: int
    #: Mbit/s; None when the link is down or the driver can't tell (virtual NICs).
    speed: int | None
    link: bool  # carrier (operational state up)
    driver: str  # "virtio_net", "e1000e", "veth", ... ("" when unknown)
    #: The vSwitch (bridge) it is an uplink of, or None.
    vswitch: str | None
    #: It carries an address of the node (the management network, most often).
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class SwitchSpec:
    """A vSwitch as this node must have it."""

    name: str  # the bridge's name: the vSwitch's (svswitchN)
    uplinks: tuple[str, ...] = ()  # NIC names; several: an active-backup bond
    mtu: int | None = None
    #: MAC learning table limits (OVS ``other_config:mac-table-size`` / ``mac-aging-time``).
    mac_table_size: int | None = None
    mac_aging_seconds: int | None = None


@dataclass(frozen=True)
class PortVlan:
    """A port group's VLAN setting, applied to a port."""

    mode: VlanMode
    tag: int | None = None  # access: the VLAN (1-4094); trunk: the native VLAN, if any
    trunks: tuple[int, ...] = field(default_factory=tuple)  # trunk: the VLANs it carries


@dataclass(frozen=True)
class PortInfo:
    """A port of a vSwitch: an uplink (or bond), or an instance's interface."""

    name: str  # "vnet3", "bond-svswitch10", "eth1"
    bridge: str
    mac: str | None  # the guest's MAC for an instance interface (attached-mac)
    vlan: PortVlan
    ours: bool  # marked as cloudenv's in external_ids


class NetworkDriver(Protocol):
    def datapath(self) -> Datapath:
        """The datapath this node's bridges use: ``system`` where the kernel has the OVS
        module, ``netdev`` otherwise (reported in the node's capabilities)."""
        ...

    def list_nics(self) -> list[NicInfo]:
        """The node's physical (and other non-OVS) interfaces, by name."""
        ...

    def ensure_switch(self, spec: SwitchSpec) -> None:
        """The bridge exists, ours, with exactly these uplinks (one port, or a bond),
        MTU and MAC table settings. A bridge of that name that isn't ours: Conflict."""
        ...

    def remove_switch(self, name: str) -> None:
        """Delete the bridge (ours only) and its uplink ports. Missing: no error."""
        ...

    def switches(self) -> list[str]:
        """The names of the bridges that are ours."""
        ...

    def ports(self, bridge: str) -> list[PortInfo]:
        """The bridge's ports with their VLAN settings."""
        ...

    def set_port_vlan(self, bridge: str, mac: str, vlan: PortVlan) -> str:
        """Apply ``vlan`` to the instance port on ``bridge`` whose interface carries
        ``mac`` (live, through OVSDB); returns the port's name. None such: NotFound."""
        ...
