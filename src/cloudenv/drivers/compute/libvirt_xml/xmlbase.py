"""The plumbing every libvirt element class shares.

``XmlElement`` gives each class ``to_xml``/``from_xml`` on top of the ``to_element``/
``from_element`` pair it implements; the functions convert the few value spellings libvirt
uses (``yes``/``no``, ``on``/``off``, integers). Nothing here knows what a domain should look
like: that is the designer's business.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from abc import ABC, abstractmethod
from typing import ClassVar, Self


class XmlElement(ABC):
    """One libvirt XML element; subclasses are frozen dataclasses that hold no decisions."""

    TAG: ClassVar[str]

    @abstractmethod
    def to_element(self) -> ET.Element:
        """A new element tree for this object."""

    @classmethod
    @abstractmethod
    def from_element(cls, element: ET.Element) -> Self:
        """Read an element; unknown children and attributes are ignored."""

    def to_xml(self, *, pretty: bool = False) -> str:
        element = self.to_element()
        if pretty:
            ET.indent(element)
        return ET.tostring(element, encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> Self:
        return cls.from_element(parse_xml(xml))

    @classmethod
    def check_tag(cls, element: ET.Element) -> None:
        if element.tag != cls.TAG:
            raise ValueError(f"expected a <{cls.TAG}> element, got <{element.tag}>")


def parse_xml(xml: str) -> ET.Element:
    """Parse XML text that libvirt (or this package) produced."""
    # The text comes from libvirtd or from our own classes, not from users, and expat
    # resolves no external entities.
    return ET.fromstring(xml)  # noqa: S314


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str | None) -> ET.Element:
    """Append a child ``<tag>`` with the attributes that are not None, and optional text."""
    child = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        child.text = text
    return child


def set_attrs(element: ET.Element, **attrs: str | None) -> None:
    """Set the attributes that are not None."""
    for name, value in attrs.items():
        if value is not None:
            element.set(name, value)


def child_text(element: ET.Element, tag: str) -> str | None:
    """The text of the first child ``<tag>`` ('' when empty), or None when there is none."""
    child = element.find(tag)
    if child is None:
        return None
    return child.text or ""


def required_attr(element: ET.Element, name: str) -> str:
    value = element.get(name)
    if value is None:
        raise ValueError(f"<{element.tag}> has no '{name}' attribute")
    return value


def int_or_none(value: str | None) -> int | None:
    return None if value is None else int(value)


def str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


def yes_no(value: bool | None) -> str | None:
    if value is None:
        return None
    return "yes" if value else "no"


def parse_yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    return value == "yes"


def on_off(value: bool | None) -> str | None:
    if value is None:
        return None
    return "on" if value else "off"


def parse_on_off(value: str | None) -> bool | None:
    if value is None:
        return None
    return value == "on"
