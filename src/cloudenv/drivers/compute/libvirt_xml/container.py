"""The elements only container domains (``<domain type='lxc'>``) use: ``<filesystem>``
mounts, the user-namespace ``<idmap>``, and the resource limits ``<memtune>`` and
``<cputune>`` (which cgroups enforce).

Plain data both ways; what a container gets is decided in ``container_designer``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.xmlbase import (
    XmlElement,
    int_or_none,
    required_attr,
    str_or_none,
    sub,
)


@dataclass(frozen=True)
class Filesystem(XmlElement):
    """``<filesystem type='mount'>``: a host directory bind-mounted at ``target`` inside
    the container (``/`` for its root filesystem)."""

    TAG = "filesystem"

    source: str
    target: str
    type: str = "mount"
    accessmode: str | None = None  # "passthrough" (libvirt's default), "mapped", "squash"
    readonly: bool = False

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type})
        if self.accessmode is not None:
            element.set("accessmode", self.accessmode)
        sub(element, "source", dir=self.source)
        sub(element, "target", dir=self.target)
        if self.readonly:
            sub(element, "readonly")
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        source, target = element.find("source"), element.find("target")
        return cls(
            type=element.get("type", "mount"),
            accessmode=element.get("accessmode"),
            source="" if source is None else source.get("dir", ""),
            target="" if target is None else target.get("dir", ""),
            readonly=element.find("readonly") is not None,
        )


@dataclass(frozen=True)
class IdRange(XmlElement):
    """``<uid start= target= count=/>`` (or ``<gid>``): IDs ``start..start+count-1``
    inside are ``target..`` on the host."""

    TAG = "uid"

    start: int
    target: int
    count: int
    kind: str = "uid"  # "uid" | "gid": the element's tag

    def to_element(self) -> ET.Element:
        return ET.Element(
            self.kind,
            {"start": str(self.start), "target": str(self.target), "count": str(self.count)},
        )

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        if element.tag not in ("uid", "gid"):
            raise ValueError(f"expected a <uid> or <gid> element, got <{element.tag}>")
        return cls(
            kind=element.tag,
            start=int(required_attr(element, "start")),
            target=int(required_attr(element, "target")),
            count=int(required_attr(element, "count")),
        )


@dataclass(frozen=True)
class IdMap(XmlElement):
    """``<idmap>``: the container runs in a user namespace with these ranges."""

    TAG = "idmap"

    uids: tuple[IdRange, ...]
    gids: tuple[IdRange, ...]

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        element.extend(r.to_element() for r in self.uids)
        element.extend(r.to_element() for r in self.gids)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            uids=tuple(IdRange.from_element(e) for e in element.findall("uid")),
            gids=tuple(IdRange.from_element(e) for e in element.findall("gid")),
        )


@dataclass(frozen=True)
class MemTune(XmlElement):
    """``<memtune><hard_limit unit='KiB'>N</hard_limit></memtune>``: the cgroup memory
    limit past which the kernel's OOM killer acts inside the container."""

    TAG = "memtune"

    hard_limit_kib: int | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        if self.hard_limit_kib is not None:
            sub(element, "hard_limit", str(self.hard_limit_kib), unit="KiB")
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        limit = element.find("hard_limit")
        if limit is None:
            return cls()
        unit = limit.get("unit", "KiB")
        if unit != "KiB":
            raise ValueError(f"<hard_limit> in unit {unit!r}; libvirt writes KiB")
        return cls(hard_limit_kib=int((limit.text or "").strip()))


@dataclass(frozen=True)
class CpuTune(XmlElement):
    """``<cputune>``: ``shares`` (relative weight), and ``quota`` microseconds of CPU per
    ``period`` (the cgroup's CFS bandwidth: quota/period CPUs at most)."""

    TAG = "cputune"

    shares: int | None = None
    period: int | None = None
    quota: int | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        for tag, value in (("shares", self.shares), ("period", self.period), ("quota", self.quota)):
            text = str_or_none(value)
            if text is not None:
                sub(element, tag, text)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)

        def number(tag: str) -> int | None:
            child = element.find(tag)
            return None if child is None else int_or_none((child.text or "").strip())

        return cls(shares=number("shares"), period=number("period"), quota=number("quota"))
