"""The ``<disk>`` device and its children: driver, source, target, serial, boot order.

The same class serves a domain definition and a hot-plug (``attachDeviceFlags``). Reading a
live disk keeps its ``<alias>`` name and ignores what only libvirt manages (``<address>``,
``<backingStore>``, the ``index`` of a source).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.xmlbase import (
    XmlElement,
    child_text,
    int_or_none,
    required_attr,
    set_attrs,
    str_or_none,
    sub,
)


@dataclass(frozen=True)
class DiskDriver(XmlElement):
    """``<driver name='qemu' type='qcow2' cache=/>``."""

    TAG = "driver"

    name: str | None = None
    type: str | None = None  # image format: "qcow2", "raw", "vmdk"
    cache: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        set_attrs(element, name=self.name, type=self.type, cache=self.cache)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(name=element.get("name"), type=element.get("type"), cache=element.get("cache"))


@dataclass(frozen=True)
class DiskSourceHost(XmlElement):
    """``<host name= port=/>`` of a network disk source."""

    TAG = "host"

    name: str
    port: int | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"name": self.name})
        set_attrs(element, port=str_or_none(self.port))
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(name=required_attr(element, "name"), port=int_or_none(element.get("port")))


@dataclass(frozen=True)
class DiskAuth(XmlElement):
    """``<auth username=><secret type= usage=|uuid=/></auth>`` of a network disk source:
    who QEMU logs in as and which libvirt secret holds the key (never the key)."""

    TAG = "auth"

    username: str
    secret_type: str
    secret_usage: str | None = None
    secret_uuid: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"username": self.username})
        secret = sub(element, "secret", type=self.secret_type)
        set_attrs(secret, usage=self.secret_usage, uuid=self.secret_uuid)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        secret = element.find("secret")
        return cls(
            username=required_attr(element, "username"),
            secret_type="" if secret is None else secret.get("type", ""),
            secret_usage=None if secret is None else secret.get("usage"),
            secret_uuid=None if secret is None else secret.get("uuid"),
        )


@dataclass(frozen=True)
class DiskSource(XmlElement):
    """``<source>``: ``file=`` (type file), ``dev=`` (block), ``pool= volume=`` (volume), or
    ``protocol= name=`` with hosts and an optional ``<auth>`` (network). Only the attributes
    set are written."""

    TAG = "source"

    file: str | None = None
    dev: str | None = None
    pool: str | None = None
    volume: str | None = None
    protocol: str | None = None
    name: str | None = None
    hosts: tuple[DiskSourceHost, ...] = ()
    auth: DiskAuth | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        set_attrs(
            element,
            file=self.file,
            dev=self.dev,
            pool=self.pool,
            volume=self.volume,
            protocol=self.protocol,
            name=self.name,
        )
        element.extend(host.to_element() for host in self.hosts)
        if self.auth is not None:
            element.append(self.auth.to_element())
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        auth = element.find(DiskAuth.TAG)
        return cls(
            file=element.get("file"),
            dev=element.get("dev"),
            pool=element.get("pool"),
            volume=element.get("volume"),
            protocol=element.get("protocol"),
            name=element.get("name"),
            hosts=tuple(DiskSourceHost.from_element(h) for h in element.findall("host")),
            auth=None if auth is None else DiskAuth.from_element(auth),
        )


@dataclass(frozen=True)
class DiskTarget(XmlElement):
    """``<target dev='vda' bus='virtio'/>``."""

    TAG = "target"

    dev: str
    bus: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"dev": self.dev})
        set_attrs(element, bus=self.bus)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(dev=required_attr(element, "dev"), bus=element.get("bus"))


@dataclass(frozen=True)
class Disk(XmlElement):
    """``<disk type= device=>``: a disk or CD-ROM.

    ``alias`` is read from live XML (``<alias name='virtio-disk0'/>``); libvirt ignores it
    in a definition unless it starts with ``ua-``.
    """

    TAG = "disk"

    target: DiskTarget
    type: str = "file"  # "file", "block", "volume", "network"
    device: str = "disk"  # "disk", "cdrom"
    driver: DiskDriver | None = None
    source: DiskSource | None = None  # None: an empty CD-ROM drive
    serial: str | None = None
    readonly: bool = False
    boot_order: int | None = None
    alias: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG, {"type": self.type, "device": self.device})
        if self.driver is not None:
            element.append(self.driver.to_element())
        if self.source is not None:
            element.append(self.source.to_element())
        element.append(self.target.to_element())
        if self.serial is not None:
            sub(element, "serial", self.serial)
        if self.readonly:
            sub(element, "readonly")
        if self.boot_order is not None:
            sub(element, "boot", order=str(self.boot_order))
        if self.alias is not None:
            sub(element, "alias", name=self.alias)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        target = element.find(DiskTarget.TAG)
        if target is None:
            raise ValueError("<disk> has no <target>")
        driver = element.find(DiskDriver.TAG)
        source = element.find(DiskSource.TAG)
        boot = element.find("boot")
        alias = element.find("alias")
        return cls(
            target=DiskTarget.from_element(target),
            type=element.get("type", "file"),
            device=element.get("device", "disk"),
            driver=None if driver is None else DiskDriver.from_element(driver),
            source=None if source is None else DiskSource.from_element(source),
            serial=child_text(element, "serial"),
            readonly=element.find("readonly") is not None,
            boot_order=None if boot is None else int(required_attr(boot, "order")),
            alias=None if alias is None else alias.get("name"),
        )
