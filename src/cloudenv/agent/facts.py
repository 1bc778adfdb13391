"""The node's facts as stored on its row: hardware (with PCI) and host (OS, boot time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloudenv import __version__
from cloudenv.host.hardware import collect_hardware
from cloudenv.host.pci import collect_pci
from cloudenv.host.system import collect_host


@dataclass(frozen=True)
class Facts:
    hardware: dict[str, Any]
    host: dict[str, Any]


def collect_facts() -> Facts:
    hardware = collect_hardware()
    hardware["pci"] = collect_pci()
    host = collect_host()
    host["version"] = __version__
    return Facts(hardware, host)
