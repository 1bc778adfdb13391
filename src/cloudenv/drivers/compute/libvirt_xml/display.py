"""What a person sees and types with: ``<graphics>`` (VNC) with its ``<listen>``,
``<video>`` and ``<input>``.

A running domain's live XML adds the VNC port or socket libvirt picked; it is read, never
decided here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.xmlbase import (
    XmlElement,
    int_or_none,
    parse_yes_no,
    required_attr,
    set_attrs,
    str_or_none,
    sub,
    yes_no,
)


@dataclass(frozen=True)
class GraphicsListen(XmlElement):
    """``<listen type='address' address=/>`` or ``<listen type='socket' socket=/>`` inside
    ``<graphics>``. A socket listen without a path gets one from libvirt in the domain's
    private directory (the live XML then names it)."""

    TAG = "listen"

    type: str = "address"
    address: str | None = None
    socket: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type})
        set_attrs(element, address=self.address, socket=self.socket)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            type=element.get("type", "address"),
            address=element.get("address"),
            socket=element.get("socket"),
        )


@dataclass(frozen=True)
class Graphics(XmlElement):
    """``<graphics type='vnc' autoport= port= listen= socket=>`` with its ``<listen>``
    children.

    ``port`` is what a running domain got (-1 or absent before it starts); ``socket``
    mirrors a socket listen's path in live XML.
    """

    TAG = "graphics"

    type: str = "vnc"
    autoport: bool | None = None
    port: int | None = None
    listen: str | None = None
    socket: str | None = None
    listens: tuple[GraphicsListen, ...] = ()

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type})
        set_attrs(
            element,
            port=str_or_none(self.port),
            autoport=yes_no(self.autoport),
            listen=self.listen,
            socket=self.socket,
        )
        element.extend(listen.to_element() for listen in self.listens)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            type=required_attr(element, "type"),
            autoport=parse_yes_no(element.get("autoport")),
            port=int_or_none(element.get("port")),
            listen=element.get("listen"),
            socket=element.get("socket"),
            listens=tuple(
                GraphicsListen.from_element(listen)
                for listen in element.findall(GraphicsListen.TAG)
            ),
        )


@dataclass(frozen=True)
class Video(XmlElement):
    """``<video><model type='vga' vram= heads=/></video>``."""

    TAG = "video"

    model: str = "vga"
    vram: int | None = None
    heads: int | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        sub(
            element,
            "model",
            type=self.model,
            vram=str_or_none(self.vram),
            heads=str_or_none(self.heads),
        )
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        model = element.find("model")
        if model is None:
            raise ValueError("<video> has no <model>")
        return cls(
            model=required_attr(model, "type"),
            vram=int_or_none(model.get("vram")),
            heads=int_or_none(model.get("heads")),
        )


@dataclass(frozen=True)
class Input(XmlElement):
    """``<input type='tablet' bus='usb'/>``."""

    TAG = "input"

    type: str
    bus: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type})
        set_attrs(element, bus=self.bus)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(type=required_attr(element, "type"), bus=element.get("bus"))
