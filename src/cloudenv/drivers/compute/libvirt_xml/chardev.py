"""Character devices: the ``<serial>`` port (a pty, optionally logged to a file by
virtlogd) and the ``<console>`` on it, which ``openConsole`` streams.

A running domain's live XML adds the pty path; it is read, never decided here.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.xmlbase import (
    XmlElement,
    int_or_none,
    on_off,
    parse_on_off,
    required_attr,
    set_attrs,
    str_or_none,
    sub,
)


@dataclass(frozen=True)
class SerialLog(XmlElement):
    """``<log file= append='on|off'/>``: virtlogd copies the port's output to ``file``."""

    TAG = "log"

    file: str
    append: bool | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"file": self.file})
        set_attrs(element, append=on_off(self.append))
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(file=required_attr(element, "file"), append=parse_on_off(element.get("append")))


def _target_attrs(element: ET.Element, target_type: str | None, port: int | None) -> None:
    if target_type is not None or port is not None:
        sub(element, "target", type=target_type, port=str_or_none(port))


@dataclass(frozen=True)
class Serial(XmlElement):
    """``<serial type='pty'>`` with an optional log; ``source_path`` is the pty once running."""

    TAG = "serial"

    type: str = "pty"
    target_port: int | None = None
    target_type: str | None = None  # libvirt fills in "isa-serial"
    log: SerialLog | None = None
    source_path: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type})
        if self.source_path is not None:
            sub(element, "source", path=self.source_path)
        if self.log is not None:
            element.append(self.log.to_element())
        _target_attrs(element, self.target_type, self.target_port)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        target = element.find("target")
        source = element.find("source")
        log = element.find(SerialLog.TAG)
        return cls(
            type=element.get("type", "pty"),
            target_port=None if target is None else int_or_none(target.get("port")),
            target_type=None if target is None else target.get("type"),
            log=None if log is None else SerialLog.from_element(log),
            source_path=None if source is None else source.get("path"),
        )


@dataclass(frozen=True)
class Console(XmlElement):
    """``<console type='pty'><target type='serial' port='0'/></console>``.

    ``tty`` is the pty of a running domain (read only; libvirt ignores it on define).
    """

    TAG = "console"

    type: str = "pty"
    target_type: str | None = None
    target_port: int | None = None
    tty: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type})
        set_attrs(element, tty=self.tty)
        _target_attrs(element, self.target_type, self.target_port)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        target = element.find("target")
        return cls(
            type=element.get("type", "pty"),
            target_type=None if target is None else target.get("type"),
            target_port=None if target is None else int_or_none(target.get("port")),
            tty=element.get("tty"),
        )
