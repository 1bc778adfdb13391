"""The ``<domain>`` root and its simple children: memory, vCPUs and lifecycle actions.

``Domain.from_xml`` reads what ``virDomainGetXMLDesc`` returns for a defined or running
domain: unknown elements (``<seclabel>``, ``<resource>``, controllers...) are skipped, so
the result is a view of the modelled fields, not a complete copy to redefine with.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.boot import OS
from cloudenv.drivers.compute.libvirt_xml.container import CpuTune, IdMap, MemTune
from cloudenv.drivers.compute.libvirt_xml.devices import Devices
from cloudenv.drivers.compute.libvirt_xml.machine import CPU, Clock, Features
from cloudenv.drivers.compute.libvirt_xml.metadata import InstanceMetadata
from cloudenv.drivers.compute.libvirt_xml.xmlbase import (
    XmlElement,
    child_text,
    int_or_none,
    required_attr,
    set_attrs,
    str_or_none,
    sub,
)

_UNIT_BYTES = {
    "b": 1,
    "bytes": 1,
    "KB": 1000,
    "k": 1024,
    "KiB": 1024,
    "MB": 1000**2,
    "M": 1024**2,
    "MiB": 1024**2,
    "GB": 1000**3,
    "G": 1024**3,
    "GiB": 1024**3,
    "TB": 1000**4,
    "T": 1024**4,
    "TiB": 1024**4,
}


@dataclass(frozen=True)
class Memory(XmlElement):
    """``<memory unit=>N</memory>`` (libvirt writes back KiB whatever unit it was given)."""

    TAG = "memory"

    value: int
    unit: str = "KiB"

    @property
    def kib(self) -> int:
        return self.value * _UNIT_BYTES[self.unit] // 1024

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"unit": self.unit})
        element.text = str(self.value)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        unit = element.get("unit", "KiB")
        if unit not in _UNIT_BYTES:
            raise ValueError(f"<memory> has an unknown unit {unit!r}")
        return cls(value=int((element.text or "").strip()), unit=unit)


@dataclass(frozen=True)
class VCPU(XmlElement):
    """``<vcpu placement= current=>N</vcpu>``: the maximum vCPUs, ``current`` online."""

    TAG = "vcpu"

    count: int
    placement: str | None = None  # "static", "auto"
    current: int | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        set_attrs(element, placement=self.placement, current=str_or_none(self.current))
        element.text = str(self.count)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            count=int((element.text or "").strip()),
            placement=element.get("placement"),
            current=int_or_none(element.get("current")),
        )


@dataclass(frozen=True)
class Lifecycle:
    """``<on_poweroff>``, ``<on_reboot>``, ``<on_crash>``: three sibling elements of
    ``<domain>`` (so a group, not one element); None leaves libvirt's default."""

    on_poweroff: str | None = None  # "destroy", "restart", "preserve"...
    on_reboot: str | None = None
    on_crash: str | None = None

    def append_to(self, domain: ET.Element) -> None:
        for tag, action in self._pairs():
            if action is not None:
                sub(domain, tag, action)

    @classmethod
    def from_parent(cls, domain: ET.Element) -> Self:
        return cls(
            on_poweroff=child_text(domain, "on_poweroff"),
            on_reboot=child_text(domain, "on_reboot"),
            on_crash=child_text(domain, "on_crash"),
        )

    def _pairs(self) -> tuple[tuple[str, str | None], ...]:
        return (
            ("on_poweroff", self.on_poweroff),
            ("on_reboot", self.on_reboot),
            ("on_crash", self.on_crash),
        )


@dataclass(frozen=True)
class Domain(XmlElement):
    """``<domain type=>``: a whole virtual machine.

    ``id`` is set only on a running domain's live XML. ``metadata`` is cloudenv's own
    element; other applications' metadata is skipped when read and not written.
    """

    TAG = "domain"

    type: str  # "qemu" (TCG), "kvm", "lxc"
    name: str
    memory: Memory
    vcpu: VCPU
    os: OS
    uuid: str | None = None
    id: int | None = None
    title: str | None = None
    description: str | None = None
    metadata: InstanceMetadata | None = None
    cpu: CPU | None = None
    features: Features | None = None
    clock: Clock | None = None
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    devices: Devices = field(default_factory=Devices)
    memtune: MemTune | None = None
    cputune: CpuTune | None = None
    idmap: IdMap | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type})
        set_attrs(element, id=str_or_none(self.id))
        sub(element, "name", self.name)
        for tag, text in (
            ("uuid", self.uuid),
            ("title", self.title),
            ("description", self.description),
        ):
            if text is not None:
                sub(element, tag, text)
        if self.metadata is not None:
            sub(element, "metadata").append(self.metadata.to_element())
        element.append(self.memory.to_element())
        if self.memtune is not None:
            element.append(self.memtune.to_element())
        element.append(self.vcpu.to_element())
        if self.cputune is not None:
            element.append(self.cputune.to_element())
        element.append(self.os.to_element())
        for part in (self.idmap, self.features, self.cpu, self.clock):
            if part is not None:
                element.append(part.to_element())
        self.lifecycle.append_to(element)
        element.append(self.devices.to_element())
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        memory = _required_child(element, Memory.TAG)
        vcpu = _required_child(element, VCPU.TAG)
        os = _required_child(element, OS.TAG)
        metadata = element.find(f"metadata/{InstanceMetadata.TAG}")
        cpu = element.find(CPU.TAG)
        features = element.find(Features.TAG)
        clock = element.find(Clock.TAG)
        devices = element.find(Devices.TAG)
        memtune, cputune = element.find(MemTune.TAG), element.find(CpuTune.TAG)
        idmap = element.find(IdMap.TAG)
        return cls(
            type=required_attr(element, "type"),
            name=_required_text(element, "name"),
            memory=Memory.from_element(memory),
            vcpu=VCPU.from_element(vcpu),
            os=OS.from_element(os),
            uuid=child_text(element, "uuid"),
            id=int_or_none(element.get("id")),
            title=child_text(element, "title"),
            description=child_text(element, "description"),
            metadata=None if metadata is None else InstanceMetadata.from_element(metadata),
            cpu=None if cpu is None else CPU.from_element(cpu),
            features=None if features is None else Features.from_element(features),
            clock=None if clock is None else Clock.from_element(clock),
            lifecycle=Lifecycle.from_parent(element),
            devices=Devices() if devices is None else Devices.from_element(devices),
            memtune=None if memtune is None else MemTune.from_element(memtune),
            cputune=None if cputune is None else CpuTune.from_element(cputune),
            idmap=None if idmap is None else IdMap.from_element(idmap),
        )


def _required_child(element: ET.Element, tag: str) -> ET.Element:
    child = element.find(tag)
    if child is None:
        raise ValueError(f"<{element.tag}> has no <{tag}>")
    return child


def _required_text(element: ET.Element, tag: str) -> str:
    return (_required_child(element, tag).text or "").strip()
