"""libvirt storage XML as small element classes: ``<pool type='dir'>`` and ``<volume>``.

Each class holds values only and converts them to and from XML with the standard
library's ElementTree; values always go into element text or attributes, never into
strings that are pasted together. No decisions live here (which mode, which format):
the driver makes them and fills the fields.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

_UNITS = {
    "b": 1,
    "bytes": 1,
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "m": 1024**2,
    "mib": 1024**2,
    "mb": 1000**2,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
    "t": 1024**4,
    "tib": 1024**4,
    "tb": 1000**4,
}


def _bytes_of(element: ET.Element | None) -> int | None:
    """The size an element like ``<capacity unit='MiB'>64</capacity>`` holds, in bytes."""
    if element is None or element.text is None:
        return None
    unit = element.get("unit", "bytes").lower()
    if unit not in _UNITS:
        raise ValueError(f"unknown size unit {unit!r} in <{element.tag}>")
    return int(element.text.strip()) * _UNITS[unit]


def _size_element(parent: ET.Element, tag: str, value: int) -> None:
    child = ET.SubElement(parent, tag, unit="bytes")
    child.text = str(value)


def _mode_of(target: ET.Element | None) -> int | None:
    if target is None:
        return None
    mode = target.findtext("permissions/mode")
    return int(mode.strip(), 8) if mode else None


def _permissions_element(target: ET.Element, mode: int) -> None:
    permissions = ET.SubElement(target, "permissions")
    ET.SubElement(permissions, "mode").text = format(mode, "04o")


def _parse(xml: str, tag: str) -> ET.Element:
    root = ET.fromstring(xml)  # noqa: S314 - libvirtd's own output
    if root.tag != tag:
        raise ValueError(f"expected <{tag}>, got <{root.tag}>")
    return root


@dataclass(frozen=True)
class DirPool:
    """``<pool type='dir'>``: a directory holding one file per volume.

    ``mode`` is the directory's permission bits, applied by ``build``; ``pool_type``
    is kept on parse so a caller can tell a foreign pool of the same name apart.
    """

    name: str
    path: str
    mode: int | None = None
    pool_type: str = "dir"

    def to_element(self) -> ET.Element:
        pool = ET.Element("pool", type=self.pool_type)
        ET.SubElement(pool, "name").text = self.name
        target = ET.SubElement(pool, "target")
        ET.SubElement(target, "path").text = self.path
        if self.mode is not None:
            _permissions_element(target, self.mode)
        return pool

    def to_xml(self) -> str:
        return ET.tostring(self.to_element(), encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> DirPool:
        root = _parse(xml, "pool")
        target = root.find("target")
        return cls(
            name=root.findtext("name", ""),
            path=root.findtext("target/path", ""),
            mode=_mode_of(target),
            pool_type=root.get("type", ""),
        )


@dataclass(frozen=True)
class Volume:
    """``<volume>``: one file in a pool.

    ``path`` is read from ``<target><path>`` on parse (libvirt chooses it from the pool
    and the name); it is written back only when set, which libvirt then ignores.
    """

    name: str
    capacity_bytes: int
    format: str = "raw"
    allocation_bytes: int | None = None
    mode: int | None = None
    path: str | None = None

    def to_element(self) -> ET.Element:
        volume = ET.Element("volume")
        ET.SubElement(volume, "name").text = self.name
        _size_element(volume, "capacity", self.capacity_bytes)
        if self.allocation_bytes is not None:
            _size_element(volume, "allocation", self.allocation_bytes)
        target = ET.SubElement(volume, "target")
        if self.path is not None:
            ET.SubElement(target, "path").text = self.path
        ET.SubElement(target, "format", type=self.format)
        if self.mode is not None:
            _permissions_element(target, self.mode)
        return volume

    def to_xml(self) -> str:
        return ET.tostring(self.to_element(), encoding="unicode")

    @classmethod
    def from_xml(cls, xml: str) -> Volume:
        root = _parse(xml, "volume")
        target = root.find("target")
        format_element = root.find("target/format")
        return cls(
            name=root.findtext("name", ""),
            capacity_bytes=_bytes_of(root.find("capacity")) or 0,
            format=format_element.get("type", "raw") if format_element is not None else "raw",
            allocation_bytes=_bytes_of(root.find("allocation")),
            mode=_mode_of(target),
            path=root.findtext("target/path"),
        )


__all__ = ["DirPool", "Volume"]
