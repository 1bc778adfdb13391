"""What both network drivers (Open vSwitch and the fake) agree on: the names of the uplink
port, the refusals of bad VLAN settings, and how a VLAN setting maps onto OVS's Port columns.

OVS's VLAN semantics (ovs-vswitchd.conf.db(5), Port table), as the drivers use them:

- ``access`` port (``vlan_mode=access``, ``tag=N``): carries VLAN N untagged; a tagged frame
  arriving on it is dropped, so a guest can't reach another VLAN by tagging its frames.
- ``trunk`` port (``vlan_mode=trunk``, ``trunks=[...]``): carries the listed VLANs tagged;
  an EMPTY ``trunks`` means every VLAN (that is how an uplink, with no VLAN columns set,
  carries all of them). With a native VLAN (``vlan_mode=native-untagged``, ``tag=N``) the
  port also carries VLAN N untagged (OVS trunks the native VLAN whatever ``trunks`` says).
- ``untagged``: an access port with no tag, which OVS puts on VLAN 0, the untagged network:
  it reaches other untagged ports, and leaves an uplink without an 802.1Q header. Tagged
  frames from it are dropped, as on any access port.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudenv.drivers.errors import InvalidInput
from cloudenv.drivers.network.base import PortVlan, SwitchSpec, VlanMode

#: The external_ids key (on Bridge, Port and Interface rows) that marks what cloudenv made;
#: its value is always "true". Nothing without it is ever changed or removed.
OWNER_KEY = "cloudenv-owned"
OWNER_VALUE = "true"
#: The external_ids key on a bridge naming the node whose agent made it. Several nodes can
#: share one host's Open vSwitch (a lab, the tests), and each node's sync removes only the
#: bridges it made: never a neighbour's.
NODE_KEY = "cloudenv-node"
#: The external_ids key that tells, on our ports and interfaces, what they are for.
ROLE_KEY = "cloudenv-role"
UPLINK_ROLE = "uplink"

MIN_VLAN = 1
MAX_VLAN = 4094


def bond_name(bridge: str) -> str:
    """The port holding several uplinks of ``bridge`` (an OVS bond, not a kernel device)."""
    return f"bond-{bridge}"


def uplink_port_name(spec: SwitchSpec) -> str | None:
    """The port the uplinks of ``spec`` make: the NIC's own name for one, the bond for
    several, None for an internal switch."""
    if not spec.uplinks:
        return None
    if len(spec.uplinks) == 1:
        return spec.uplinks[0]
    return bond_name(spec.name)


def check_switch(spec: SwitchSpec) -> None:
    """Refuse what OVS can't realise (names and the rest are the services' rules)."""
    if len(set(spec.uplinks)) != len(spec.uplinks):
        raise InvalidInput(
            f"vSwitch {spec.name}: an uplink is listed twice ({', '.join(spec.uplinks)}); "
            "list each NIC once.",
            field="uplinks",
        )
    if spec.name in spec.uplinks:
        raise InvalidInput(
            f"vSwitch {spec.name} can't have a NIC of its own name as an uplink.",
            field="uplinks",
        )
    if spec.mtu is not None and not 68 <= spec.mtu <= 65535:
        raise InvalidInput(
            f"vSwitch {spec.name}: MTU {spec.mtu} is out of range (68-65535).", field="mtu"
        )
    for value, name in ((spec.mac_table_size, "mac_table"), (spec.mac_aging_seconds, "aging")):
        if value is not None and value <= 0:
            raise InvalidInput(
                f"vSwitch {spec.name}: the MAC table setting {value} must be positive.",
                field=name,
            )


def _check_id(vlan_id: int, what: str) -> None:
    if not MIN_VLAN <= vlan_id <= MAX_VLAN:
        raise InvalidInput(
            f"{what} {vlan_id} is out of range: VLAN IDs are {MIN_VLAN}-{MAX_VLAN}.",
            field="vlan_id",
        )


def check_vlan(vlan: PortVlan) -> PortVlan:
    """``vlan`` when OVS can apply it as given; InvalidInput saying what is wrong otherwise.
    Returns it with the trunk list sorted and without duplicates (how OVS stores it)."""
    if vlan.mode is VlanMode.ACCESS:
        if vlan.tag is None:
            raise InvalidInput("An access port needs a VLAN ID.", field="vlan_id")
        _check_id(vlan.tag, "VLAN")
        if vlan.trunks:
            raise InvalidInput("An access port carries one VLAN: no trunk list.", field="trunks")
        return vlan
    if vlan.mode is VlanMode.UNTAGGED:
        if vlan.tag is not None or vlan.trunks:
            raise InvalidInput("An untagged port has no VLAN ID or trunk list.", field="vlan_id")
        return vlan
    if vlan.tag is not None:
        _check_id(vlan.tag, "Native VLAN")
    for vlan_id in vlan.trunks:
        _check_id(vlan_id, "Trunk VLAN")
    return PortVlan(VlanMode.TRUNK, vlan.tag, tuple(sorted(set(vlan.trunks))))


@dataclass(frozen=True)
class VlanColumns:
    """A port's VLAN columns as OVSDB holds them (optional columns are lists of 0 or 1)."""

    vlan_mode: list[str]
    tag: list[int]
    trunks: list[int]


def vlan_columns(vlan: PortVlan) -> VlanColumns:
    """The Port columns that give a port ``vlan`` (checked with ``check_vlan`` first)."""
    if vlan.mode is VlanMode.ACCESS:
        assert vlan.tag is not None
        return VlanColumns(["access"], [vlan.tag], [])
    if vlan.mode is VlanMode.UNTAGGED:
        return VlanColumns(["access"], [], [])
    if vlan.tag is not None:
        return VlanColumns(["native-untagged"], [vlan.tag], sorted(vlan.trunks))
    return VlanColumns(["trunk"], [], sorted(vlan.trunks))


def vlan_of(columns: VlanColumns) -> PortVlan:
    """Read a port's VLAN setting back, whoever set it: with no ``vlan_mode`` OVS treats a
    port with a tag as access and one without as a trunk (libvirt's ``<vlan><tag>`` sets
    only the tag); tag 0 on an access port is the untagged network as well."""
    mode = columns.vlan_mode[0] if columns.vlan_mode else ""
    tag = columns.tag[0] if columns.tag else None
    trunks = tuple(sorted(columns.trunks))
    if mode == "access" or (not mode and tag is not None):
        if not tag:
            return PortVlan(VlanMode.UNTAGGED)
        return PortVlan(VlanMode.ACCESS, tag)
    # trunk, native-tagged, native-untagged (and dot1q-tunnel, which we never set).
    return PortVlan(VlanMode.TRUNK, tag if mode.startswith("native") else None, trunks)
