"""``<domainsnapshot>``: what ``snapshotCreateXML`` takes and ``getXMLDesc`` returns.

Written with a name and description only (libvirt then takes an internal snapshot of
disks and, when running, memory). Reading keeps the facts libvirt adds (state, creation
time, parent) and skips the embedded copy of the domain.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.xmlbase import (
    XmlElement,
    child_text,
    int_or_none,
    sub,
)


@dataclass(frozen=True)
class DomainSnapshot(XmlElement):
    """A snapshot's name and description, plus read-only facts from a live snapshot."""

    TAG = "domainsnapshot"

    name: str | None = None  # None: libvirt names it after the creation time
    description: str | None = None
    state: str | None = None  # the domain's state when taken: "running", "shutoff"...
    creation_time: int | None = None  # Unix seconds
    parent: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        if self.name is not None:
            sub(element, "name", self.name)
        if self.description is not None:
            sub(element, "description", self.description)
        if self.state is not None:
            sub(element, "state", self.state)
        if self.parent is not None:
            sub(sub(element, "parent"), "name", self.parent)
        if self.creation_time is not None:
            sub(element, "creationTime", str(self.creation_time))
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            name=child_text(element, "name"),
            description=child_text(element, "description"),
            state=child_text(element, "state"),
            creation_time=int_or_none(child_text(element, "creationTime")),
            parent=child_text(element, "parent/name"),
        )
