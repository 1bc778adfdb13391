"""Identity of the local host: name, kernel, OS release, boot time and IP addresses.

``collect_host`` reads files below ``root`` so tests can use a fake tree; the address probes
ask the live kernel (a routing lookup and ``ip -j addr``) and always return something usable.
"""

from __future__ import annotations

import ipaddress
import json
import platform
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

# TEST-NET-1 (RFC 5737): routable-looking but reserved, so the lookup never reaches anyone.
_PROBE_DESTINATION = ("192.0.2.1", 9)
_LOOPBACKS = ("127.0.0.1", "::1")


def collect_host(root: Path = Path("/")) -> dict[str, Any]:
    """Hostname, kernel, architecture, firmware type, boot time and OS name of the host."""
    return {
        "hostname": _read(root / "proc/sys/kernel/hostname") or socket.gethostname(),
        "os": {
            "kernel": _read(root / "proc/sys/kernel/osrelease") or platform.release(),
            "architecture": platform.machine(),
            "uefi": (root / "sys/firmware/efi").is_dir(),
        },
        "boot_time": _boot_time(root),
        "pretty_name": _pretty_name(root),
    }


def memory(root: Path = Path("/")) -> tuple[int, int]:
    """(total, available) memory of the host in bytes, as the kernel estimates what new
    work can get without swapping (``MemAvailable``); (0, 0) when unreadable."""
    figures: dict[str, int] = {}
    for line in _read(root / "proc/meminfo").splitlines():
        name, _, rest = line.partition(":")
        value = rest.split()
        if name in ("MemTotal", "MemAvailable") and value and value[0].isdigit():
            figures[name] = int(value[0]) * 1024  # the kernel's "kB" are KiB
    return figures.get("MemTotal", 0), figures.get("MemAvailable", 0)


def detect_management_ip() -> str:
    """The IPv4 address this host would use to reach other nodes.

    That is the source address of the default route; failing that (no route yet), the first
    non-loopback IPv4 address of any interface; failing that, 127.0.0.1.
    """
    address = _route_source_address()
    if address:
        return address
    for candidate in host_addresses():
        parsed = ipaddress.ip_address(candidate)
        if parsed.version == 4 and not parsed.is_loopback:
            return candidate
    return "127.0.0.1"


def host_addresses() -> list[str]:
    """Every IPv4 and IPv6 address of the host's interfaces, loopbacks always included."""
    found = _ip_command_addresses()
    if found is None:
        found = _resolver_addresses()
    addresses: list[str] = []
    for address in [*found, *_LOOPBACKS]:
        if address not in addresses:
            addresses.append(address)
    return addresses


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return ""


def _boot_time(root: Path) -> int:
    for line in _read(root / "proc/stat").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "btime" and fields[1].isdigit():
            return int(fields[1])
    # Without btime, derive it from uptime (only meaningful when root is the live host).
    try:
        uptime = float(_read(root / "proc/uptime").split()[0])
    except (IndexError, ValueError):
        return 0
    return int(time.time() - uptime)


def _pretty_name(root: Path) -> str:
    # os-release(5): /etc/os-release wins, /usr/lib/os-release is the vendor fallback.
    for candidate in ("etc/os-release", "usr/lib/os-release"):
        for line in _read(root / candidate).splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "PRETTY_NAME":
                try:
                    # Values use shell quoting and escaping rules.
                    return " ".join(shlex.split(value))
                except ValueError:
                    return value.strip().strip("\"'")
    return "Linux"


def _route_source_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            # connect() on UDP only selects a route and source address; nothing is sent.
            probe.connect(_PROBE_DESTINATION)
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    if not _is_ip(address) or ipaddress.ip_address(address).is_unspecified:
        return None
    return address


def _ip_command_addresses() -> list[str] | None:
    """Addresses from ``ip -j addr``, or None when iproute2 is missing or fails."""
    ip = shutil.which("ip") or next(
        (p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip") if Path(p).is_file()), None
    )
    if ip is None:
        return None
    try:
        result = subprocess.run(
            [ip, "-j", "addr", "show"], capture_output=True, text=True, timeout=5, check=True
        )
        interfaces = json.loads(result.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not isinstance(interfaces, list):
        return None
    addresses: list[str] = []
    for interface in interfaces:
        if not isinstance(interface, dict):
            continue
        for info in interface.get("addr_info") or []:
            local = info.get("local") if isinstance(info, dict) else None
            if isinstance(local, str) and _is_ip(local):
                addresses.append(local)
    return addresses


def _resolver_addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except (OSError, UnicodeError):
        return []
    # IPv6 sockaddrs may carry a "%zone" suffix on link-local addresses.
    candidates = (str(info[4][0]).split("%")[0] for info in infos)
    return [address for address in candidates if _is_ip(address)]


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
