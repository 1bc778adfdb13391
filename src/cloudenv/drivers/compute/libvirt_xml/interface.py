"""The ``<interface>`` device: a guest NIC joined to a bridge, here an Open vSwitch one.

``<interface type='bridge'>`` with ``<virtualport type='openvswitch'/>`` makes libvirt add
the guest's tap to the OVS bridge as a port (and remove it when the guest stops);
``<vlan>`` gives the port its VLAN columns at that moment. The same class serves a domain
definition and a hot-plug. Reading live XML keeps the ``<target dev=>`` (the tap, which
is also the OVS port's name) and the ``<alias>``; libvirt's ``<address>`` is ignored.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.xmlbase import (
    XmlElement,
    required_attr,
    set_attrs,
    sub,
)


@dataclass(frozen=True)
class VlanTag(XmlElement):
    """``<tag id='10' nativeMode='untagged'/>`` inside ``<vlan>``."""

    TAG = "tag"

    id: int
    native_mode: str | None = None  # "untagged" | "tagged": the trunk's native VLAN

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"id": str(self.id)})
        set_attrs(element, nativeMode=self.native_mode)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(id=int(required_attr(element, "id")), native_mode=element.get("nativeMode"))


@dataclass(frozen=True)
class Vlan(XmlElement):
    """``<vlan trunk='yes'>`` with one tag (access) or several (a trunk)."""

    TAG = "vlan"

    tags: tuple[VlanTag, ...]
    trunk: bool = False

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        if self.trunk:
            element.set("trunk", "yes")
        element.extend(tag.to_element() for tag in self.tags)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            tags=tuple(VlanTag.from_element(t) for t in element.findall(VlanTag.TAG)),
            trunk=element.get("trunk") == "yes",
        )


@dataclass(frozen=True)
class Interface(XmlElement):
    """``<interface type='bridge'>``: MAC, source bridge, virtual port, VLAN, model."""

    TAG = "interface"

    mac: str
    bridge: str
    model: str = "virtio"
    type: str = "bridge"
    virtualport: str | None = None  # "openvswitch"
    vlan: Vlan | None = None
    target: str | None = None  # read from live XML: the tap (the OVS port's name)
    alias: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type})
        sub(element, "mac", address=self.mac)
        sub(element, "source", bridge=self.bridge)
        if self.virtualport is not None:
            sub(element, "virtualport", type=self.virtualport)
        if self.vlan is not None:
            element.append(self.vlan.to_element())
        if self.target is not None:
            sub(element, "target", dev=self.target)
        sub(element, "model", type=self.model)
        if self.alias is not None:
            sub(element, "alias", name=self.alias)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        mac, source = element.find("mac"), element.find("source")
        virtualport, vlan = element.find("virtualport"), element.find(Vlan.TAG)
        model, target, alias = element.find("model"), element.find("target"), element.find("alias")
        return cls(
            type=element.get("type", "bridge"),
            mac="" if mac is None else mac.get("address", ""),
            bridge="" if source is None else source.get("bridge", ""),
            virtualport=None if virtualport is None else virtualport.get("type"),
            vlan=None if vlan is None else Vlan.from_element(vlan),
            model="" if model is None else model.get("type", ""),
            target=None if target is None else target.get("dev"),
            alias=None if alias is None else alias.get("name"),
        )
