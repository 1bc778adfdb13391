"""The PCI devices of the local host, as candidates for passthrough to virtual machines.

Values are the kernel's sysfs text (``0x8086``), kept as strings so the client shows exactly
what ``lspci -n`` would. Whether a device is reserved for passthrough is decided elsewhere;
this probe always reports ``marked_for_passthrough`` as False.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def collect_pci(root: Path = Path("/")) -> list[dict[str, Any]]:
    """One entry per device under ``/sys/bus/pci/devices``, ordered by slot."""
    try:
        entries = sorted((root / "sys/bus/pci/devices").iterdir())
    except OSError:
        return []
    return [_describe(entry) for entry in entries]


def _describe(entry: Path) -> dict[str, Any]:
    pci_class = _read(entry / "class")
    return {
        "slot": entry.name,
        "class": pci_class,
        "vendor": _read(entry / "vendor"),
        "device": _read(entry / "device"),
        "revision": _read(entry / "revision"),
        "prog_if": _prog_if(pci_class),
        "iommu_group": _iommu_group(entry),
        "marked_for_passthrough": False,
    }


def _read(path: Path) -> str:
    # Devices can be hot-removed between listing and reading.
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return ""


def _prog_if(pci_class: str) -> str:
    """The programming interface: the low byte of the 24-bit class code, or "" if unknown."""
    try:
        return f"0x{int(pci_class, 16) & 0xFF:02x}"
    except ValueError:
        return ""


def _iommu_group(entry: Path) -> str:
    # The link exists only when an IOMMU is enabled; without one there is no safe passthrough.
    try:
        return (entry / "iommu_group").readlink().name
    except OSError:
        return ""
