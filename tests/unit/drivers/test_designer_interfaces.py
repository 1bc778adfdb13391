"""The designer's guest NICs: an OVS bridge port with the port group's VLAN, as
RUNTIME.md §8 found working (access, trunk with a native VLAN, untagged), and refusals."""

from __future__ import annotations

import pytest

from cloudenv.drivers.compute.base import InterfaceSpec, PortVlan, VlanMode
from cloudenv.drivers.compute.designer import interface_element
from cloudenv.drivers.compute.libvirt_xml import Interface, parse_xml
from cloudenv.drivers.errors import InvalidDomain
from tests.unit.drivers.test_designer import make_spec, render

pytestmark = pytest.mark.unit


def nic(vlan: PortVlan, **changes: str) -> InterfaceSpec:
    fields = {"mac": "52:54:00:ce:00:10", "bridge": "svswitch1", "model": "virtio", **changes}
    return InterfaceSpec(vlan=vlan, **fields)


def test_an_access_port_group_is_one_tag_on_an_openvswitch_port() -> None:
    root = render(make_spec(interfaces=(nic(PortVlan(VlanMode.ACCESS, 10)),)))
    (element,) = root.findall("devices/interface")
    assert element.get("type") == "bridge"
    assert element.find("mac").get("address") == "52:54:00:ce:00:10"  # type: ignore[union-attr]
    assert element.find("source").get("bridge") == "svswitch1"  # type: ignore[union-attr]
    assert element.find("virtualport").get("type") == "openvswitch"  # type: ignore[union-attr]
    assert element.find("model").get("type") == "virtio"  # type: ignore[union-attr]
    vlan = element.find("vlan")
    assert vlan is not None and vlan.get("trunk") is None
    assert [(t.get("id"), t.get("nativeMode")) for t in vlan.findall("tag")] == [("10", None)]


def test_a_trunk_lists_its_vlans_and_sends_the_native_one_untagged() -> None:
    element = interface_element(nic(PortVlan(VlanMode.TRUNK, 5, (30, 20, 20))))
    tree = parse_xml(element.to_xml())
    vlan = tree.find("vlan")
    assert vlan is not None and vlan.get("trunk") == "yes"
    tags = [(t.get("id"), t.get("nativeMode")) for t in vlan.findall("tag")]
    assert tags == [("5", "untagged"), ("20", None), ("30", None)]


def test_a_trunk_without_a_native_vlan_tags_everything() -> None:
    tree = parse_xml(interface_element(nic(PortVlan(VlanMode.TRUNK, None, (7,)))).to_xml())
    assert [(t.get("id"), t.get("nativeMode")) for t in tree.iter("tag")] == [("7", None)]


def test_an_untagged_port_group_writes_no_vlan() -> None:
    element = interface_element(nic(PortVlan(VlanMode.UNTAGGED), model="e1000"))
    tree = parse_xml(element.to_xml())
    assert tree.find("vlan") is None
    assert tree.find("model").get("type") == "e1000"  # type: ignore[union-attr]
    assert tree.find("virtualport").get("type") == "openvswitch"  # type: ignore[union-attr]


def test_interfaces_round_trip_through_the_element_class() -> None:
    element = interface_element(nic(PortVlan(VlanMode.TRUNK, 5, (20,))))
    assert Interface.from_xml(element.to_xml()) == element


def test_two_nics_keep_their_order() -> None:
    spec = make_spec(
        interfaces=(
            nic(PortVlan(VlanMode.ACCESS, 10)),
            nic(PortVlan(VlanMode.UNTAGGED), mac="52:54:00:ce:00:11", bridge="svswitch2"),
        )
    )
    macs = [e.find("mac").get("address") for e in render(spec).findall("devices/interface")]  # type: ignore[union-attr]
    assert macs == ["52:54:00:ce:00:10", "52:54:00:ce:00:11"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"mac": "52:54:00:CE:00:10"}, "lower-case"),
        ({"mac": "52:54:00:ce:00"}, "lower-case"),
        ({"model": "rtl8139"}, "virtio, e1000"),
        ({"bridge": ""}, "no vSwitch"),
    ],
)
def test_bad_nics_are_refused(changes: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidDomain, match=words):
        interface_element(nic(PortVlan(VlanMode.ACCESS, 10), **changes))


def test_an_access_port_group_without_a_vlan_is_refused() -> None:
    with pytest.raises(InvalidDomain, match="VLAN ID"):
        interface_element(nic(PortVlan(VlanMode.ACCESS)))
