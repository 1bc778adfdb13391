"""How VLAN settings map onto OVS Port columns and back, including settings cloudenv didn't
make (libvirt's ``<vlan><tag>`` sets only the tag; a port with no VLAN columns trunks all)."""

from __future__ import annotations

import pytest

from cloudenv.drivers.network.base import PortVlan, SwitchSpec, VlanMode
from cloudenv.drivers.network.rules import (
    VlanColumns,
    bond_name,
    uplink_port_name,
    vlan_columns,
    vlan_of,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("vlan", "columns"),
    [
        (PortVlan(VlanMode.ACCESS, 10), VlanColumns(["access"], [10], [])),
        (PortVlan(VlanMode.UNTAGGED), VlanColumns(["access"], [], [])),
        (PortVlan(VlanMode.TRUNK, None, (10, 20)), VlanColumns(["trunk"], [], [10, 20])),
        (PortVlan(VlanMode.TRUNK, 30, (10,)), VlanColumns(["native-untagged"], [30], [10])),
    ],
    ids=["access", "untagged", "trunk", "native"],
)
def test_vlan_settings_round_trip_through_port_columns(
    vlan: PortVlan, columns: VlanColumns
) -> None:
    assert vlan_columns(vlan) == columns
    assert vlan_of(columns) == vlan


@pytest.mark.parametrize(
    ("columns", "vlan"),
    [
        (VlanColumns([], [], []), PortVlan(VlanMode.TRUNK)),  # an uplink: every VLAN
        (VlanColumns([], [10], []), PortVlan(VlanMode.ACCESS, 10)),  # libvirt's <vlan><tag>
        (VlanColumns(["access"], [0], []), PortVlan(VlanMode.UNTAGGED)),
        (VlanColumns([], [], [20, 10]), PortVlan(VlanMode.TRUNK, None, (10, 20))),
        (VlanColumns(["native-tagged"], [5], [7]), PortVlan(VlanMode.TRUNK, 5, (7,))),
    ],
    ids=["none", "tag-only", "tag-0", "trunks-only", "native-tagged"],
)
def test_settings_made_by_others_read_as_ovs_applies_them(
    columns: VlanColumns, vlan: PortVlan
) -> None:
    assert vlan_of(columns) == vlan


def test_uplink_port_names() -> None:
    assert uplink_port_name(SwitchSpec("svswitch1")) is None
    assert uplink_port_name(SwitchSpec("svswitch1", ("eth1",))) == "eth1"
    assert uplink_port_name(SwitchSpec("svswitch1", ("eth1", "eth2"))) == "bond-svswitch1"
    assert bond_name("svswitch1") == "bond-svswitch1"
