"""The ``<os>`` element: guest type and machine, firmware, and how the guest boots.

Holds what libvirt writes back too (the ``<loader>`` and ``<nvram>`` it picks for
``firmware='efi'``), so a live domain reads into the same class. Which of these a guest
gets is the designer's decision.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Self

from cloudenv.drivers.compute.libvirt_xml.xmlbase import (
    XmlElement,
    child_text,
    parse_yes_no,
    required_attr,
    set_attrs,
    sub,
    yes_no,
)


@dataclass(frozen=True)
class OSType(XmlElement):
    """``<type arch= machine=>hvm</type>``."""

    TAG = "type"

    value: str = "hvm"
    arch: str | None = None
    machine: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        set_attrs(element, arch=self.arch, machine=self.machine)
        element.text = self.value
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            value=(element.text or "").strip(),
            arch=element.get("arch"),
            machine=element.get("machine"),
        )


@dataclass(frozen=True)
class FirmwareFeature(XmlElement):
    """``<feature enabled='yes|no' name=/>`` inside ``<os><firmware>``."""

    TAG = "feature"

    name: str  # "secure-boot", "enrolled-keys"
    enabled: bool

    def to_element(self) -> ET.Element:
        return ET.Element(self.TAG, {"enabled": yes_no(self.enabled) or "no", "name": self.name})

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            name=required_attr(element, "name"),
            enabled=required_attr(element, "enabled") == "yes",
        )


@dataclass(frozen=True)
class Loader(XmlElement):
    """``<loader readonly= secure= type=>PATH</loader>`` (firmware code)."""

    TAG = "loader"

    path: str | None = None
    readonly: bool | None = None
    secure: bool | None = None
    type: str | None = None  # "rom", "pflash"

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        set_attrs(
            element, readonly=yes_no(self.readonly), secure=yes_no(self.secure), type=self.type
        )
        element.text = self.path
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(
            path=(element.text or "").strip() or None,
            readonly=parse_yes_no(element.get("readonly")),
            secure=parse_yes_no(element.get("secure")),
            type=element.get("type"),
        )


@dataclass(frozen=True)
class Nvram(XmlElement):
    """``<nvram template=>PATH</nvram>`` (the guest's own UEFI variable store)."""

    TAG = "nvram"

    path: str | None = None
    template: str | None = None

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        set_attrs(element, template=self.template)
        element.text = self.path
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        return cls(path=(element.text or "").strip() or None, template=element.get("template"))


@dataclass(frozen=True)
class OS(XmlElement):
    """``<os firmware=>``: type, firmware features, loader/nvram, kernel boot, boot devices,
    or (a container) the init program.

    ``boot_devs`` are ``<boot dev=/>`` in order ("hd", "cdrom", "network"); libvirt refuses
    them together with per-device ``<boot order=/>``.
    """

    TAG = "os"

    type: OSType = field(default_factory=OSType)
    firmware: str | None = None  # "efi", "bios": libvirt picks a matching loader
    firmware_features: tuple[FirmwareFeature, ...] = ()
    loader: Loader | None = None
    nvram: Nvram | None = None
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str | None = None
    boot_devs: tuple[str, ...] = ()
    init: str | None = None  # a container's PID 1 (``<type>exe</type>``)

    def to_element(self) -> ET.Element:
        element = ET.Element(self.TAG)
        set_attrs(element, firmware=self.firmware)
        element.append(self.type.to_element())
        if self.firmware_features:
            firmware = sub(element, "firmware")
            firmware.extend(feature.to_element() for feature in self.firmware_features)
        if self.loader is not None:
            element.append(self.loader.to_element())
        if self.nvram is not None:
            element.append(self.nvram.to_element())
        for tag, value in (
            ("kernel", self.kernel),
            ("initrd", self.initrd),
            ("cmdline", self.cmdline),
            ("init", self.init),
        ):
            if value is not None:
                sub(element, tag, value)
        for dev in self.boot_devs:
            sub(element, "boot", dev=dev)
        return element

    @classmethod
    def from_element(cls, element: ET.Element) -> Self:
        cls.check_tag(element)
        os_type = element.find(OSType.TAG)
        loader = element.find(Loader.TAG)
        nvram = element.find(Nvram.TAG)
        return cls(
            type=OSType() if os_type is None else OSType.from_element(os_type),
            firmware=element.get("firmware"),
            firmware_features=tuple(
                FirmwareFeature.from_element(feature)
                for feature in element.findall(f"firmware/{FirmwareFeature.TAG}")
            ),
            loader=None if loader is None else Loader.from_element(loader),
            nvram=None if nvram is None else Nvram.from_element(nvram),
            kernel=child_text(element, "kernel"),
            initrd=child_text(element, "initrd"),
            cmdline=child_text(element, "cmdline"),
            boot_devs=tuple(required_attr(boot, "dev") for boot in element.findall("boot")),
            init=child_text(element, "init"),
        )

    def firmware_feature(self, name: str) -> bool | None:
        """Whether firmware feature ``name`` is asked enabled, disabled, or not mentioned."""
        for feature in self.firmware_features:
            if feature.name == name:
                return feature.enabled
        return None
