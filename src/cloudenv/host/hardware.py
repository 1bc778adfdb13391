"""The hardware inventory of the local host, in the JSON shape the Go node client decodes.

``collect_hardware`` reads ``/proc/cpuinfo``, ``/proc/meminfo``, SMBIOS memory-device entries,
``/sys/block`` and ``/sys/bus/usb`` below ``root``. Fields marked int in the wire format are
always Python ints and arrays are always lists, because the client decodes strictly.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

_CPU_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}
# aarch64 /proc/cpuinfo has no vendor_id, only a JEDEC-style implementer code.
_ARM_IMPLEMENTERS = {
    "0x41": "ARM",
    "0x48": "HiSilicon",
    "0x4e": "NVIDIA",
    "0x51": "Qualcomm",
    "0x61": "Apple",
    "0xc0": "Ampere",
}
_SMBIOS_MEMORY_TYPES = {
    0x02: "Unknown",
    0x07: "RAM",
    0x0F: "SDRAM",
    0x12: "DDR",
    0x13: "DDR2",
    0x18: "DDR3",
    0x1A: "DDR4",
    0x1E: "LPDDR4",
    0x22: "DDR5",
    0x23: "LPDDR5",
}
# Matched against the resolved sysfs path of /sys/block/<disk>/device.
_INTERFACE_PATTERNS = (
    ("virtio", r"/virtio\d+/"),
    ("nvme", r"/nvme\d+/"),
    ("usb", r"/usb\d+/"),
    ("sata", r"/ata\d+/"),
    ("scsi", r"/(host\d+|target[\d:]+)/"),
)
_SKIPPED_BLOCK_PREFIXES = ("loop", "ram", "zram", "dm-", "sr", "md")


def collect_hardware(root: Path = Path("/")) -> dict[str, Any]:
    """CPU, memory banks, disks and USB devices of the host whose filesystem is at ``root``."""
    cpu = _collect_cpu(root)
    total_mb = _memory_total_mb(root)
    return {
        "vcpus": cpu["processors"],
        "cpu": cpu,
        "memory": _collect_memory_banks(root, total_mb),
        "disks": _collect_disks(root),
        "usb": _collect_usb(root),
        "memory_total_mb": total_mb,
    }


def _read(path: Path) -> str:
    # sysfs attributes can vanish between listing and reading (hot-unplug), or be root-only.
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return ""


def _read_int(path: Path) -> int:
    try:
        return int(_read(path))
    except ValueError:
        return 0


def _cpulist_len(text: str) -> int:
    """Number of CPUs in a kernel cpulist such as ``0-3,8,10-11``; 0 if unparseable."""
    count = 0
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            count += int(last or first) - int(first) + 1
        except ValueError:
            return 0
    return count


def _cpuinfo_blocks(root: Path) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\n\s*\n", _read(root / "proc/cpuinfo")):
        pairs = (line.partition(":") for line in chunk.splitlines())
        block = {key.strip(): value.strip() for key, sep, value in pairs if sep}
        if block:
            blocks.append(block)
    return blocks


def _collect_cpu(root: Path) -> dict[str, Any]:
    blocks = _cpuinfo_blocks(root)
    # aarch64 also emits a trailing block without "processor" (Hardware, Revision, ...).
    processors = [b for b in blocks if "processor" in b]
    first = processors[0] if processors else {}

    logical = len(processors) or _cpulist_len(_read(root / "sys/devices/system/cpu/online")) or 1
    sockets = len({b["physical id"] for b in processors if "physical id" in b}) or 1
    cores = {(b.get("physical id"), b["core id"]) for b in processors if "core id" in b}
    physical = len(cores) or logical

    # Hybrid Intel parts expose their E-cores as a separate PMU; its cpulist counts them
    # (E-cores have no SMT, so logical == physical for them).
    efficiency = _cpulist_len(_read(root / "sys/devices/cpu_atom/cpus"))
    efficiency = min(efficiency, physical)

    vendor = first.get("vendor_id", "")
    if vendor:
        manufacturer = _CPU_VENDORS.get(vendor, vendor)
    else:
        implementer = first.get("CPU implementer", "").lower()
        manufacturer = _ARM_IMPLEMENTERS.get(implementer, implementer)

    flags = (first.get("flags") or first.get("Features") or "").split()
    return {
        "manufacturer": manufacturer,
        "brand": first.get("model name", ""),
        "speed": {"current": _current_ghz(root, first)},
        "governor": _read(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "cores": {
            "physical": physical,
            "performance": physical - efficiency,
            "efficiency": efficiency,
        },
        "processors": logical,
        "sockets": sockets,
        "flags": flags,
        "virtualization": "vmx" in flags or "svm" in flags,
    }


def _current_ghz(root: Path, first: dict[str, str]) -> float:
    try:
        return round(float(first["cpu MHz"]) / 1000, 2)
    except (KeyError, ValueError):
        pass
    # No "cpu MHz" line on aarch64; cpufreq reports kHz.
    khz = _read_int(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
    return round(khz / 1_000_000, 2)


def _memory_total_mb(root: Path) -> int:
    match = re.search(r"^MemTotal:\s+(\d+)", _read(root / "proc/meminfo"), re.MULTILINE)
    return int(match.group(1)) // 1024 if match else 0


def _collect_memory_banks(root: Path, total_mb: int) -> list[dict[str, Any]]:
    banks: list[dict[str, Any]] = []
    entries = root / "sys/firmware/dmi/entries"
    try:
        dirs = sorted(entries.glob("17-*"), key=lambda p: _instance_number(p.name))
    except OSError:
        dirs = []
    for entry in dirs:
        try:
            raw = (entry / "raw").read_bytes()
        except OSError:
            continue
        bank = _parse_memory_device(raw, _instance_number(entry.name))
        if bank is not None:
            banks.append(bank)
    if banks:
        return banks
    # VMs rarely expose SMBIOS type 17 (and the raw files are root-only), but the client
    # sums the banks to show installed memory, so report one bank holding MemTotal.
    return [_bank(0, empty=False, size_mb=total_mb, kind="Unknown", ecc=False)]


def _bank(
    number: int,
    *,
    empty: bool,
    size_mb: int,
    kind: str,
    ecc: bool,
    volts: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> dict[str, Any]:
    current, low, high = volts
    return {
        "bank": number,
        "empty": empty,
        "data": {
            "size": size_mb,
            "type": kind,
            "ecc": ecc,
            "voltage": {"current": current, "min": low, "max": high},
        },
    }


def _instance_number(name: str) -> int:
    _, _, suffix = name.rpartition("-")
    return int(suffix) if suffix.isdigit() else 0


def _parse_memory_device(raw: bytes, bank: int) -> dict[str, Any] | None:
    """One SMBIOS type 17 (Memory Device) structure, or None if it is not one."""
    if len(raw) < 0x13 or raw[0] != 17:
        return None
    length = min(raw[1], len(raw))
    if length < 0x13:
        return None

    def word(offset: int) -> int:
        if offset + 2 > length:
            return 0
        value: int = struct.unpack_from("<H", raw, offset)[0]
        return value

    total_width, data_width, size_field = word(0x08), word(0x0A), word(0x0C)
    if size_field == 0xFFFF:
        size_mb = 0  # "unknown" size: installed but not reported
    elif size_field == 0x7FFF and length >= 0x20:
        # SMBIOS 2.7+: the real size, in MB, lives in the 31-bit extended size field.
        size_mb = struct.unpack_from("<I", raw, 0x1C)[0] & 0x7FFFFFFF
    elif size_field & 0x8000:
        size_mb = (size_field & 0x7FFF) // 1024
    else:
        size_mb = size_field

    # Extra check bits beyond the data width are how ECC shows up in type 17.
    ecc = 0 < data_width < total_width and total_width != 0xFFFF
    return _bank(
        bank,
        empty=size_field == 0,
        size_mb=size_mb,
        kind=_SMBIOS_MEMORY_TYPES.get(raw[0x12], "Other"),
        ecc=ecc,
        # SMBIOS 2.8+ (struct length >= 0x28): minimum 0x22, maximum 0x24, configured 0x26,
        # all in mV; word() reads 0 (unknown) past the end of older, shorter structs.
        volts=(word(0x26) / 1000, word(0x22) / 1000, word(0x24) / 1000),
    )


def _collect_disks(root: Path) -> list[dict[str, Any]]:
    disks: list[dict[str, Any]] = []
    try:
        entries = sorted((root / "sys/block").iterdir())
    except OSError:
        return disks
    for entry in entries:
        name = entry.name
        if name.startswith(_SKIPPED_BLOCK_PREFIXES):
            continue
        device = entry / "device"
        sectors = _read_int(entry / "size")
        serial = _read(device / "serial") or _read(entry / "serial")
        disks.append(
            {
                "device": f"/dev/{name}",
                "name": _read(device / "model") or name,
                # The size file counts 512-byte sectors whatever the disk's logical block size.
                "size": round(sectors * 512 / 1e9, 2),
                "serial": serial,
                "interface": _disk_interface(device),
                "smart_status": "unknown",
                "vendor": _read(device / "vendor"),
                "temperature": _disk_temperature(device),
            }
        )
    return disks


def _disk_interface(device: Path) -> str:
    try:
        if not device.exists():
            return "unknown"
        path = device.resolve().as_posix() + "/"
    except (OSError, RuntimeError):
        return "unknown"
    # Checked most specific first: a USB stick also sits below hostN/targetN like SCSI disks.
    for interface, pattern in _INTERFACE_PATTERNS:
        if re.search(pattern, path):
            return interface
    return "unknown"


def _disk_temperature(device: Path) -> int:
    # NVMe controllers and SATA disks with the drivetemp module expose a hwmon sensor.
    try:
        sensors = [*device.glob("hwmon*/temp1_input"), *device.glob("hwmon/hwmon*/temp1_input")]
    except OSError:
        return 0
    for sensor in sorted(sensors):
        if millidegrees := _read_int(sensor):
            return millidegrees // 1000
    return 0


def _collect_usb(root: Path) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = []
    try:
        entries = list((root / "sys/bus/usb/devices").iterdir())
    except OSError:
        return devices
    for entry in entries:
        # Interfaces (1-1:1.0) share the directory but have no idVendor.
        vendor_id = _read(entry / "idVendor").lower()
        if not vendor_id:
            continue
        power = re.match(r"\d+", _read(entry / "bMaxPower"))
        devices.append(
            {
                "bus": _read_int(entry / "busnum"),
                "device": _read_int(entry / "devnum"),
                "vendor_id": vendor_id,
                "product_id": _read(entry / "idProduct").lower(),
                "vendor": _read(entry / "manufacturer"),
                "name": _read(entry / "product"),
                "type": "hub" if _read(entry / "bDeviceClass") == "09" else "device",
                "removable": _read(entry / "removable") == "removable",
                "max_power": int(power.group()) if power else 0,
            }
        )
    devices.sort(key=lambda d: (d["bus"], d["device"]))
    return devices
