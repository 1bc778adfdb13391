"""collect_hardware on fake /proc and /sys trees, and once on the real host."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import pytest

from cloudenv.host.hardware import collect_hardware

pytestmark = pytest.mark.unit

CPUINFO_BLOCK = """\
processor\t: {n}
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz
cpu MHz\t\t: 2000.123
physical id\t: {socket}
core id\t\t: {core}
flags\t\t: fpu vme sse2 avx avx2 vmx ht
"""

MEMINFO = "MemTotal:       16318480 kB\nMemFree:         1000000 kB\n"


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def memory_device(
    *,
    size: int,
    mem_type: int,
    total_width: int = 64,
    data_width: int = 64,
    extended_size: int = 0,
    volts_mv: tuple[int, int, int] | None = (1200, 1200, 1200),
) -> bytes:
    """An SMBIOS type 17 structure as the kernel exposes it in .../entries/17-N/raw."""
    length = 0x28 if volts_mv is not None else 0x22
    body = bytearray(length)
    body[0], body[1] = 17, length
    struct.pack_into("<HH", body, 0x08, total_width, data_width)
    struct.pack_into("<H", body, 0x0C, size)
    body[0x12] = mem_type
    struct.pack_into("<I", body, 0x1C, extended_size)
    if volts_mv is not None:
        minimum, maximum, configured = volts_mv
        struct.pack_into("<HHH", body, 0x22, minimum, maximum, configured)
    # The formatted area is followed by the string set, ended by a double NUL.
    return bytes(body) + b"DIMM A1\0BANK 0\0\0"


def make_tree(root: Path) -> None:
    blocks = [
        CPUINFO_BLOCK.format(n=n, socket=n // 4, core=(n // 2) % 2) for n in range(8)
    ]  # two sockets x two cores x two threads
    write(root / "proc/cpuinfo", "\n".join(blocks) + "\n")
    write(root / "proc/meminfo", MEMINFO)
    write(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n")

    # A virtio disk whose device link points into a PCI virtio function, like on a KVM guest.
    virtio_dev = root / "sys/devices/pci0000:00/0000:00:04.0/virtio2"
    write(virtio_dev / "vendor", "0x1af4\n")
    write(root / "sys/block/vda/size", "41943040\n")  # 20 GiB in 512-byte sectors
    write(root / "sys/block/vda/serial", "disk-serial-1\n")
    (root / "sys/block/vda/device").symlink_to(virtio_dev)

    # An NVMe disk with a model, a serial and a hwmon temperature sensor.
    nvme_ctrl = root / "sys/devices/pci0000:00/0000:00:05.0/nvme/nvme0"
    write(nvme_ctrl / "model", "Samsung SSD 980 PRO 1TB   \n")
    write(nvme_ctrl / "serial", "S5GXNX0R123456\n")
    write(nvme_ctrl / "hwmon3/temp1_input", "38850\n")
    write(root / "sys/block/nvme0n1/size", "1953525168\n")
    (root / "sys/block/nvme0n1/device").symlink_to(nvme_ctrl)

    # Virtual block devices that are not disks.
    for name in ("loop0", "ram0", "zram0", "dm-0", "sr0", "md127"):
        write(root / f"sys/block/{name}/size", "100\n")

    usb = root / "sys/bus/usb/devices"
    stick = usb / "2-1"
    for attr, value in {
        "idVendor": "0781",
        "idProduct": "5581",
        "busnum": "2",
        "devnum": "3",
        "manufacturer": "SanDisk",
        "product": "Ultra",
        "bMaxPower": "224mA",
        "removable": "removable",
        "bDeviceClass": "00",
    }.items():
        write(stick / attr, value + "\n")
    hub = usb / "usb1"
    for attr, value in {
        "idVendor": "1D6B",
        "idProduct": "0002",
        "busnum": "1",
        "devnum": "1",
        "product": "EHCI Host Controller",
        "bMaxPower": "0mA",
        "removable": "unknown",
        "bDeviceClass": "09",
    }.items():
        write(hub / attr, value + "\n")
    # An interface directory: no idVendor, must not be listed.
    write(usb / "2-1:1.0/bInterfaceClass", "08\n")

    dmi = root / "sys/firmware/dmi/entries"
    write(dmi / "17-0/raw", memory_device(size=16384, mem_type=0x1A, total_width=72))
    write(dmi / "17-1/raw", memory_device(size=0, mem_type=0x02, volts_mv=(0, 0, 0)))
    write(
        dmi / "17-2/raw",
        memory_device(size=0x7FFF, mem_type=0x22, extended_size=65536, volts_mv=None),
    )
    write(dmi / "17-3/raw", memory_device(size=0x8000 | 16384, mem_type=0x18))
    write(dmi / "16-0/raw", b"\x10\x17" + bytes(0x15))  # type 16 must be ignored


@pytest.fixture
def hardware(tmp_path: Path) -> dict[str, Any]:
    make_tree(tmp_path)
    return collect_hardware(tmp_path)


def test_top_level_shape(hardware: dict[str, Any]) -> None:
    assert set(hardware) == {"vcpus", "cpu", "memory", "disks", "usb", "memory_total_mb"}
    assert hardware["vcpus"] == 8
    assert type(hardware["vcpus"]) is int
    assert hardware["memory_total_mb"] == 16318480 // 1024
    assert type(hardware["memory_total_mb"]) is int
    # The Go client decodes this exact document.
    assert json.loads(json.dumps(hardware)) == hardware


def test_cpu(hardware: dict[str, Any]) -> None:
    cpu = hardware["cpu"]
    assert cpu["manufacturer"] == "Intel"
    assert cpu["brand"] == "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"
    assert cpu["speed"] == {"current": 2.0}
    assert type(cpu["speed"]["current"]) is float
    assert cpu["governor"] == "performance"
    assert cpu["cores"] == {"physical": 4, "performance": 4, "efficiency": 0}
    assert all(type(v) is int for v in cpu["cores"].values())
    assert cpu["processors"] == 8
    assert cpu["sockets"] == 2
    assert cpu["flags"] == ["fpu", "vme", "sse2", "avx", "avx2", "vmx", "ht"]
    assert cpu["virtualization"] is True


def test_cpu_amd_without_virtualization_and_cpufreq(tmp_path: Path) -> None:
    write(
        tmp_path / "proc/cpuinfo",
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n"
        "cpu MHz\t\t: 2596.124\nflags\t\t: fpu avx2 hypervisor\n",
    )
    cpu = collect_hardware(tmp_path)["cpu"]
    assert cpu["manufacturer"] == "AMD"
    assert cpu["speed"]["current"] == 2.6
    assert cpu["governor"] == ""
    assert cpu["virtualization"] is False
    # Without "physical id"/"core id" each logical CPU counts as a core, on one socket.
    assert cpu["sockets"] == 1
    assert cpu["cores"] == {"physical": 1, "performance": 1, "efficiency": 0}


def test_cpu_hybrid_counts_efficiency_cores(tmp_path: Path) -> None:
    blocks = [
        f"processor\t: {n}\nvendor_id\t: GenuineIntel\nphysical id\t: 0\ncore id\t\t: {core}\n"
        for n, core in enumerate([0, 0, 4, 4, 8, 9, 10, 11])
    ]
    write(tmp_path / "proc/cpuinfo", "\n".join(blocks))
    write(tmp_path / "sys/devices/cpu_atom/cpus", "4-7\n")
    cores = collect_hardware(tmp_path)["cpu"]["cores"]
    assert cores == {"physical": 6, "performance": 2, "efficiency": 4}


def test_cpu_aarch64_cpuinfo(tmp_path: Path) -> None:
    blocks = [
        f"processor\t: {n}\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd aes sha2\n"
        "CPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
        for n in range(4)
    ]
    write(tmp_path / "proc/cpuinfo", "\n".join(blocks) + "\nHardware\t: Some SoC\n")
    write(tmp_path / "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "3000000\n")
    hardware = collect_hardware(tmp_path)
    assert hardware["vcpus"] == 4
    cpu = hardware["cpu"]
    assert cpu["manufacturer"] == "ARM"
    assert cpu["brand"] == ""
    assert cpu["flags"] == ["fp", "asimd", "aes", "sha2"]
    assert cpu["speed"]["current"] == 3.0


def test_memory_banks_from_smbios(hardware: dict[str, Any]) -> None:
    banks = hardware["memory"]
    assert [b["bank"] for b in banks] == [0, 1, 2, 3]
    assert banks[0] == {
        "bank": 0,
        "empty": False,
        "data": {
            "size": 16384,
            "type": "DDR4",
            "ecc": True,
            "voltage": {"current": 1.2, "min": 1.2, "max": 1.2},
        },
    }
    assert banks[1]["empty"] is True
    assert banks[1]["data"]["size"] == 0
    assert banks[1]["data"]["type"] == "Unknown"
    # 0x7FFF defers to the extended size; a struct too short for voltages reports 0 V.
    assert banks[2]["data"]["size"] == 65536
    assert banks[2]["data"]["type"] == "DDR5"
    assert banks[2]["data"]["ecc"] is False
    assert banks[2]["data"]["voltage"] == {"current": 0.0, "min": 0.0, "max": 0.0}
    # Bit 15 of the size word switches the unit to KB.
    assert banks[3]["data"]["size"] == 16
    assert banks[3]["data"]["type"] == "DDR3"
    for bank in banks:
        assert type(bank["bank"]) is int
        assert type(bank["data"]["size"]) is int
        assert all(type(v) is float for v in bank["data"]["voltage"].values())


def test_memory_type_codes(tmp_path: Path) -> None:
    dmi = tmp_path / "sys/firmware/dmi/entries"
    for n, code in enumerate([0x07, 0x13, 0x99]):
        write(dmi / f"17-{n}/raw", memory_device(size=1024, mem_type=code))
    types = [b["data"]["type"] for b in collect_hardware(tmp_path)["memory"]]
    assert types == ["RAM", "DDR2", "Other"]


def test_memory_falls_back_to_one_synthetic_bank(tmp_path: Path) -> None:
    write(tmp_path / "proc/meminfo", MEMINFO)
    assert collect_hardware(tmp_path)["memory"] == [
        {
            "bank": 0,
            "empty": False,
            "data": {
                "size": 15936,
                "type": "Unknown",
                "ecc": False,
                "voltage": {"current": 0.0, "min": 0.0, "max": 0.0},
            },
        }
    ]


def test_truncated_smbios_entry_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "proc/meminfo", MEMINFO)
    write(tmp_path / "sys/firmware/dmi/entries/17-0/raw", b"\x11\x28\x00")
    banks = collect_hardware(tmp_path)["memory"]
    assert len(banks) == 1
    assert banks[0]["data"]["size"] == 15936


def test_disks(hardware: dict[str, Any]) -> None:
    assert hardware["disks"] == [
        {
            "device": "/dev/nvme0n1",
            "name": "Samsung SSD 980 PRO 1TB",
            "size": 1000.2,
            "serial": "S5GXNX0R123456",
            "interface": "nvme",
            "smart_status": "unknown",
            "vendor": "",
            "temperature": 38,
        },
        {
            "device": "/dev/vda",
            "name": "vda",
            "size": 21.47,
            "serial": "disk-serial-1",
            "interface": "virtio",
            "smart_status": "unknown",
            "vendor": "0x1af4",
            "temperature": 0,
        },
    ]
    for disk in hardware["disks"]:
        assert type(disk["size"]) is float
        assert type(disk["temperature"]) is int


@pytest.mark.parametrize(
    ("link", "interface"),
    [
        ("pci0000:00/0000:00:17.0/ata3/host2/target2:0:0/2:0:0:0", "sata"),
        ("pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0", "usb"),
        ("pci0000:00/0000:00:10.0/host0/target0:0:0/0:0:0:0", "scsi"),
        ("platform/some-controller/mmc_host/mmc0/mmc0:0001", "unknown"),
    ],
)
def test_disk_interface_from_device_link(tmp_path: Path, link: str, interface: str) -> None:
    target = tmp_path / "sys/devices" / link
    target.mkdir(parents=True)
    write(tmp_path / "sys/block/sda/size", "2048\n")
    (tmp_path / "sys/block/sda/device").symlink_to(target)
    assert collect_hardware(tmp_path)["disks"][0]["interface"] == interface


def test_disk_without_device_link(tmp_path: Path) -> None:
    write(tmp_path / "sys/block/xvda/size", "not a number\n")
    (disk,) = collect_hardware(tmp_path)["disks"]
    assert disk["interface"] == "unknown"
    assert disk["size"] == 0.0
    assert type(disk["size"]) is float


def test_usb(hardware: dict[str, Any]) -> None:
    assert hardware["usb"] == [
        {
            "bus": 1,
            "device": 1,
            "vendor_id": "1d6b",
            "product_id": "0002",
            "vendor": "",
            "name": "EHCI Host Controller",
            "type": "hub",
            "removable": False,
            "max_power": 0,
        },
        {
            "bus": 2,
            "device": 3,
            "vendor_id": "0781",
            "product_id": "5581",
            "vendor": "SanDisk",
            "name": "Ultra",
            "type": "device",
            "removable": True,
            "max_power": 224,
        },
    ]


def test_empty_root_gives_defaults_not_errors(tmp_path: Path) -> None:
    hardware = collect_hardware(tmp_path)
    assert hardware["vcpus"] == 1
    assert hardware["cpu"]["flags"] == []
    assert hardware["cpu"]["speed"]["current"] == 0.0
    assert hardware["disks"] == []
    assert hardware["usb"] == []
    assert hardware["memory_total_mb"] == 0
    assert len(hardware["memory"]) == 1
    assert json.loads(json.dumps(hardware)) == hardware


def test_unreadable_files_are_tolerated(tmp_path: Path) -> None:
    # A directory where a file is expected makes read_text raise IsADirectoryError.
    (tmp_path / "proc/cpuinfo").mkdir(parents=True)
    (tmp_path / "proc/meminfo").mkdir()
    (tmp_path / "sys/firmware/dmi/entries/17-0/raw").mkdir(parents=True)
    write(tmp_path / "sys/devices/system/cpu/online", "0-5\n")
    hardware = collect_hardware(tmp_path)
    assert hardware["vcpus"] == 6
    assert hardware["memory"][0]["data"]["type"] == "Unknown"


def test_real_host() -> None:
    hardware = collect_hardware()
    assert hardware["vcpus"] == os.cpu_count()
    assert type(hardware["vcpus"]) is int
    assert type(hardware["memory_total_mb"]) is int
    assert hardware["memory_total_mb"] > 0
    cpu = hardware["cpu"]
    assert isinstance(cpu["flags"], list)
    assert type(cpu["speed"]["current"]) is float
    assert type(cpu["sockets"]) is int
    assert cpu["sockets"] >= 1
    assert isinstance(cpu["virtualization"], bool)
    for key in ("memory", "disks", "usb"):
        assert isinstance(hardware[key], list)
    assert hardware["memory"], "at least the synthetic bank"
    for disk in hardware["disks"]:
        assert disk["device"].startswith("/dev/")
        assert type(disk["size"]) is float
    json.dumps(hardware)
