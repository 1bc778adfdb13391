"""cloudenv's own element inside a domain's ``<metadata>``.

libvirt keeps any namespaced element under ``<metadata>`` untouched, so the platform can
find its facts (project, owner, image...) on the domain itself:

    <cloudenv:instance xmlns:cloudenv="https://cloudenv.dev/xmlns/instance/1">
      <cloudenv:item key="project">prj-1</cloudenv:item>
    </cloudenv:instance>

Keys are attributes, not element names, so any string is a valid key.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.xmlbase import XmlElement, required_attr, sub

NAMESPACE = "https://cloudenv.dev/xmlns/instance/1"
PREFIX = "cloudenv"

# Serialize the namespace with its own prefix rather than ElementTree's "ns0".
ET.register_namespace(PREFIX, NAMESPACE)


def _qname(local: str) -> str:
    return f"{{{NAMESPACE}}}{local}"


@dataclass(frozen=True)
class InstanceMetadata(XmlElement):
    """``<cloudenv:instance>``: ordered key/value pairs."""

    TAG = _qname("instance")
    ITEM_TAG = _qname("item")

    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> Self:
        return cls(items=tuple(values.items()))

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        for key, value in self.items:
            sub(element, self.ITEM_TAG, value, key=key)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            items=tuple(
                (required_attr(item, "key"), item.text or "")
                for item in element.findall(cls.ITEM_TAG)
            )
        )
