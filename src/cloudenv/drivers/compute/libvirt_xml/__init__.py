"""libvirt domain XML as objects: one small frozen class per element.

Every class has ``to_element()``/``to_xml()`` and ``from_element()``/``from_xml()`` that
round-trip, and holds no decisions: what a cloudenv guest looks like is decided in
``cloudenv.drivers.compute.designer``. Never build domain XML from strings.
"""

from __future__ import annotations

from cloudenv.drivers.compute.libvirt_xml.boot import OS, FirmwareFeature, Loader, Nvram, OSType
from cloudenv.drivers.compute.libvirt_xml.chardev import Console, Serial, SerialLog
from cloudenv.drivers.compute.libvirt_xml.container import (
    CpuTune,
    Filesystem,
    IdMap,
    IdRange,
    MemTune,
)
from cloudenv.drivers.compute.libvirt_xml.devices import Devices, Emulator, Memballoon
from cloudenv.drivers.compute.libvirt_xml.disk import (
    Disk,
    DiskAuth,
    DiskDriver,
    DiskSource,
    DiskSourceHost,
    DiskTarget,
)
from cloudenv.drivers.compute.libvirt_xml.display import Graphics, GraphicsListen, Input, Video
from cloudenv.drivers.compute.libvirt_xml.domain import VCPU, Domain, Lifecycle, Memory
from cloudenv.drivers.compute.libvirt_xml.interface import Interface, Vlan, VlanTag
from cloudenv.drivers.compute.libvirt_xml.machine import CPU, Clock, CPUTopology, Features, Timer
from cloudenv.drivers.compute.libvirt_xml.metadata import NAMESPACE, InstanceMetadata
from cloudenv.drivers.compute.libvirt_xml.snapshot import DomainSnapshot
from cloudenv.drivers.compute.libvirt_xml.xmlbase import XmlElement, parse_xml

__all__ = [
    "CPU",
    "NAMESPACE",
    "OS",
    "VCPU",
    "CPUTopology",
    "Clock",
    "Console",
    "CpuTune",
    "Devices",
    "Disk",
    "DiskAuth",
    "DiskDriver",
    "DiskSource",
    "DiskSourceHost",
    "DiskTarget",
    "Domain",
    "DomainSnapshot",
    "Emulator",
    "Features",
    "Filesystem",
    "FirmwareFeature",
    "Graphics",
    "GraphicsListen",
    "IdMap",
    "IdRange",
    "Input",
    "InstanceMetadata",
    "Interface",
    "Lifecycle",
    "Loader",
    "MemTune",
    "Memballoon",
    "Memory",
    "Nvram",
    "OSType",
    "Serial",
    "SerialLog",
    "Timer",
    "Video",
    "Vlan",
    "VlanTag",
    "XmlElement",
    "parse_xml",
]
