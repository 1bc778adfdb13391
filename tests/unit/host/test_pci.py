"""collect_pci on a fake /sys/bus/pci tree, and once on the real host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudenv.host.pci import collect_pci

pytestmark = pytest.mark.unit


def add_device(root: Path, slot: str, attrs: dict[str, str], group: str | None = None) -> None:
    # As in sysfs: the bus directory holds symlinks into the device tree.
    device = root / "sys/devices/pci0000:00" / slot
    device.mkdir(parents=True)
    for name, value in attrs.items():
        (device / name).write_text(value + "\n")
    if group is not None:
        group_dir = root / "sys/kernel/iommu_groups" / group
        group_dir.mkdir(parents=True, exist_ok=True)
        (device / "iommu_group").symlink_to(group_dir)
    bus = root / "sys/bus/pci/devices"
    bus.mkdir(parents=True, exist_ok=True)
    (bus / slot).symlink_to(device)


def test_devices_with_and_without_iommu_group(tmp_path: Path) -> None:
    add_device(
        tmp_path,
        "0000:01:00.0",
        {"class": "0x0c0330", "vendor": "0x8086", "device": "0xa36d", "revision": "0x10"},
        group="14",
    )
    add_device(
        tmp_path,
        "0000:00:01.0",
        {"class": "0x060100", "vendor": "0x8086", "device": "0x7000", "revision": "0x00"},
    )
    assert collect_pci(tmp_path) == [
        {
            "slot": "0000:00:01.0",
            "class": "0x060100",
            "vendor": "0x8086",
            "device": "0x7000",
            "revision": "0x00",
            "prog_if": "0x00",
            "iommu_group": "",
            "marked_for_passthrough": False,
        },
        {
            "slot": "0000:01:00.0",
            "class": "0x0c0330",
            "vendor": "0x8086",
            "device": "0xa36d",
            "revision": "0x10",
            "prog_if": "0x30",
            "iommu_group": "14",
            "marked_for_passthrough": False,
        },
    ]


def test_missing_attributes_give_empty_strings(tmp_path: Path) -> None:
    add_device(tmp_path, "0000:02:00.0", {"vendor": "0x10de"})
    (device,) = collect_pci(tmp_path)
    assert device["class"] == ""
    assert device["prog_if"] == ""
    assert device["revision"] == ""
    assert device["vendor"] == "0x10de"


def test_no_pci_bus(tmp_path: Path) -> None:
    assert collect_pci(tmp_path) == []


def test_real_host() -> None:
    devices = collect_pci()
    assert isinstance(devices, list)
    for device in devices:
        assert device["marked_for_passthrough"] is False
        for key, value in device.items():
            if key != "marked_for_passthrough":
                assert isinstance(value, str), key
        assert device["prog_if"] == "" or device["prog_if"].startswith("0x")
    json.dumps(devices)
