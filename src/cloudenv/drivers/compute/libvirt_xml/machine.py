"""The virtual machine's platform elements: ``<cpu>``, ``<features>`` and ``<clock>``.

Plain data both ways; which CPU mode or features a guest gets is decided by the designer.
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
    parse_yes_no,
    required_attr,
    set_attrs,
    str_or_none,
    sub,
    yes_no,
)


@dataclass(frozen=True)
class CPUTopology(XmlElement):
    """``<topology sockets= dies= cores= threads=/>`` (libvirt adds ``dies`` itself)."""

    TAG = "topology"

    sockets: int
    cores: int
    threads: int
    dies: int | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"sockets": str(self.sockets)})
        set_attrs(element, dies=str_or_none(self.dies))
        element.set("cores", str(self.cores))
        element.set("threads", str(self.threads))
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            sockets=int(required_attr(element, "sockets")),
            cores=int(required_attr(element, "cores")),
            threads=int(required_attr(element, "threads")),
            dies=int_or_none(element.get("dies")),
        )


@dataclass(frozen=True)
class CPU(XmlElement):
    """``<cpu mode= match= check=>`` with an optional ``<model>`` and ``<topology>``.

    Every attribute is optional: ``<cpu><topology .../></cpu>`` alone is valid and keeps the
    hypervisor's default CPU model.
    """

    TAG = "cpu"

    mode: str | None = None  # "custom", "host-model", "host-passthrough", "maximum"
    match: str | None = None  # "exact", "minimum", "strict" (custom mode)
    check: str | None = None  # "none", "partial", "full" (libvirt fills it in)
    model: str | None = None
    model_fallback: str | None = None  # "allow", "forbid"
    topology: CPUTopology | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        set_attrs(element, mode=self.mode, match=self.match, check=self.check)
        if self.model is not None:
            sub(element, "model", self.model, fallback=self.model_fallback)
        if self.topology is not None:
            element.append(self.topology.to_element())
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        model = element.find("model")
        topology = element.find(CPUTopology.TAG)
        return cls(
            mode=element.get("mode"),
            match=element.get("match"),
            check=element.get("check"),
            model=None if model is None else (model.text or ""),
            model_fallback=None if model is None else model.get("fallback"),
            topology=None if topology is None else CPUTopology.from_element(topology),
        )


@dataclass(frozen=True)
class Features(XmlElement):
    """``<features>``: ``<acpi/>``, ``<apic/>``, ``<smm state=/>`` (None: absent) and a
    container's ``<privnet/>`` (its own network namespace even without an interface).

    Other features libvirt may list (``<pae/>``, ``<vmport/>``...) are ignored when read.
    """

    TAG = "features"

    acpi: bool = False
    apic: bool = False
    smm: bool | None = None
    privnet: bool = False

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        if self.privnet:
            sub(element, "privnet")
        if self.acpi:
            sub(element, "acpi")
        if self.apic:
            sub(element, "apic")
        if self.smm is not None:
            sub(element, "smm", state=on_off(self.smm))
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        smm = element.find("smm")
        return cls(
            acpi=element.find("acpi") is not None,
            apic=element.find("apic") is not None,
            # <smm/> without a state means on.
            smm=None if smm is None else parse_on_off(smm.get("state", "on")),
            privnet=element.find("privnet") is not None,
        )


@dataclass(frozen=True)
class Timer(XmlElement):
    """``<timer name= tickpolicy= present=/>`` inside ``<clock>``."""

    TAG = "timer"

    name: str
    tickpolicy: str | None = None
    present: bool | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"name": self.name})
        set_attrs(element, tickpolicy=self.tickpolicy, present=yes_no(self.present))
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            name=required_attr(element, "name"),
            tickpolicy=element.get("tickpolicy"),
            present=parse_yes_no(element.get("present")),
        )


@dataclass(frozen=True)
class Clock(XmlElement):
    """``<clock offset=>`` with its timers."""

    TAG = "clock"

    offset: str = "utc"
    timers: tuple[Timer, ...] = ()

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"offset": self.offset})
        element.extend(timer.to_element() for timer in self.timers)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            offset=element.get("offset", "utc"),
            timers=tuple(Timer.from_element(t) for t in element.findall(Timer.TAG)),
        )
