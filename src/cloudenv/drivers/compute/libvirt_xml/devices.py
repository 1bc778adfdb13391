"""``<devices>`` and the small devices of its own: ``<emulator>`` and ``<memballoon>``.

Reading live XML keeps the devices the platform models and skips the rest
(``<controller>``, ``<channel>``, ``<audio>``...), so a ``Devices`` read
from a running domain is a view, not something to redefine with.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.chardev import Console, Serial
from cloudenv.drivers.compute.libvirt_xml.container import Filesystem
from cloudenv.drivers.compute.libvirt_xml.disk import Disk
from cloudenv.drivers.compute.libvirt_xml.display import Graphics, Input, Video
from cloudenv.drivers.compute.libvirt_xml.interface import Interface
from cloudenv.drivers.compute.libvirt_xml.xmlbase import XmlElement, required_attr


@dataclass(frozen=True)
class Emulator(XmlElement):
    """``<emulator>PATH</emulator>``."""

    TAG = "emulator"

    path: str

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        element.text = self.path
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(path=(element.text or "").strip())


@dataclass(frozen=True)
class Memballoon(XmlElement):
    """``<memballoon model='none'/>``."""

    TAG = "memballoon"

    model: str = "none"

    def to_element(self) -> ET.Element:
        return ET.Element(self.TAG, {"model": self.model})

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(model=required_attr(element, "model"))


@dataclass(frozen=True)
class Devices(XmlElement):
    """``<devices>``: the modelled devices, written in a fixed order."""

    TAG = "devices"

    emulator: Emulator | None = None
    disks: tuple[Disk, ...] = ()
    filesystems: tuple[Filesystem, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    serials: tuple[Serial, ...] = ()
    consoles: tuple[Console, ...] = ()
    inputs: tuple[Input, ...] = ()
    graphics: tuple[Graphics, ...] = ()
    videos: tuple[Video, ...] = ()
    memballoon: Memballoon | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        if self.emulator is not None:
            element.append(self.emulator.to_element())
        groups: tuple[tuple[XmlElement, ...], ...] = (
            self.disks,
            self.filesystems,
            self.interfaces,
            self.serials,
            self.consoles,
            self.inputs,
            self.graphics,
            self.videos,
        )
        for group in groups:
            element.extend(device.to_element() for device in group)
        if self.memballoon is not None:
            element.append(self.memballoon.to_element())
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        emulator = element.find(Emulator.TAG)
        memballoon = element.find(Memballoon.TAG)
        return cls(
            emulator=None if emulator is None else Emulator.from_element(emulator),
            disks=tuple(Disk.from_element(e) for e in element.findall(Disk.TAG)),
            filesystems=tuple(Filesystem.from_element(e) for e in element.findall(Filesystem.TAG)),
            interfaces=tuple(Interface.from_element(e) for e in element.findall(Interface.TAG)),
            serials=tuple(Serial.from_element(e) for e in element.findall(Serial.TAG)),
            consoles=tuple(Console.from_element(e) for e in element.findall(Console.TAG)),
            inputs=tuple(Input.from_element(e) for e in element.findall(Input.TAG)),
            graphics=tuple(Graphics.from_element(e) for e in element.findall(Graphics.TAG)),
            videos=tuple(Video.from_element(e) for e in element.findall(Video.TAG)),
            memballoon=None if memballoon is None else Memballoon.from_element(memballoon),
        )
