"""collect_host on a fake tree, and the address probes with their fallbacks."""

from __future__ import annotations

import ipaddress
import json
import platform
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from cloudenv.host import system
from cloudenv.host.system import collect_host, detect_management_ip, host_addresses

pytestmark = pytest.mark.unit

IP_ADDR_JSON = [
    {
        "ifname": "lo",
        "addr_info": [
            {"family": "inet", "local": "127.0.0.1", "prefixlen": 8},
            {"family": "inet6", "local": "::1", "prefixlen": 128},
        ],
    },
    {"ifname": "ifb0", "addr_info": []},
    {
        "ifname": "eth0",
        "addr_info": [
            {"family": "inet", "local": "10.0.0.5", "prefixlen": 24},
            {"family": "inet6", "local": "fd00::5", "prefixlen": 64},
            {"family": "inet6", "local": "fe80::1", "prefixlen": 64},
        ],
    },
    {"ifname": "br0", "addr_info": [{"family": "inet", "local": "10.0.0.5"}]},
]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def fake_ip(monkeypatch: pytest.MonkeyPatch, stdout: str, returncode: int = 0) -> list[Any]:
    calls: list[Any] = []

    def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        if returncode and kwargs.get("check"):
            raise subprocess.CalledProcessError(returncode, args)
        return subprocess.CompletedProcess(args, returncode, stdout=stdout, stderr="")

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/sbin/ip")
    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_collect_host_from_fake_tree(tmp_path: Path) -> None:
    write(tmp_path / "proc/sys/kernel/hostname", "node-7\n")
    write(tmp_path / "proc/sys/kernel/osrelease", "6.8.0-45-generic\n")
    write(tmp_path / "proc/stat", "cpu  1 2 3\nbtime 1732434000\nprocesses 42\n")
    write(
        tmp_path / "etc/os-release",
        'NAME="Ubuntu"\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\n',
    )
    (tmp_path / "sys/firmware/efi").mkdir(parents=True)
    assert collect_host(tmp_path) == {
        "hostname": "node-7",
        "os": {
            "kernel": "6.8.0-45-generic",
            "architecture": platform.machine(),
            "uefi": True,
        },
        "boot_time": 1732434000,
        "pretty_name": "Ubuntu 24.04.1 LTS",
    }


def test_collect_host_fallbacks(tmp_path: Path) -> None:
    write(tmp_path / "proc/uptime", "100.5 200.0\n")
    write(tmp_path / "usr/lib/os-release", "PRETTY_NAME='Debian GNU/Linux 12 (bookworm)'\n")
    host = collect_host(tmp_path)
    assert host["hostname"]
    assert host["os"]["kernel"] == platform.release()
    assert host["os"]["uefi"] is False
    assert type(host["boot_time"]) is int
    assert abs(host["boot_time"] - (time.time() - 100.5)) < 5
    assert host["pretty_name"] == "Debian GNU/Linux 12 (bookworm)"


def test_collect_host_empty_root(tmp_path: Path) -> None:
    host = collect_host(tmp_path)
    assert host["boot_time"] == 0
    assert host["pretty_name"] == "Linux"
    json.dumps(host)


def test_host_addresses_from_ip_json(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_ip(monkeypatch, json.dumps(IP_ADDR_JSON))
    assert host_addresses() == ["127.0.0.1", "::1", "10.0.0.5", "fd00::5", "fe80::1"]
    assert calls == [["/usr/sbin/ip", "-j", "addr", "show"]]


def test_host_addresses_always_include_loopbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ip(monkeypatch, json.dumps([IP_ADDR_JSON[2]]))
    assert host_addresses() == ["10.0.0.5", "fd00::5", "fe80::1", "127.0.0.1", "::1"]


@pytest.mark.parametrize(("stdout", "returncode"), [("not json", 0), ("", 1), ("{}", 0)])
def test_host_addresses_fall_back_to_resolver(
    monkeypatch: pytest.MonkeyPatch, stdout: str, returncode: int
) -> None:
    fake_ip(monkeypatch, stdout, returncode)
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port: [
            (2, 1, 6, "", ("192.168.1.20", 0)),
            (10, 1, 6, "", ("fe80::2%eth0", 0, 0, 2)),
        ],
    )
    assert host_addresses() == ["192.168.1.20", "fe80::2", "127.0.0.1", "::1"]


def test_host_addresses_without_ip_or_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "_ip_command_addresses", lambda: None)

    def fail(host: str, port: int | None) -> list[Any]:
        raise OSError("resolver down")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    assert host_addresses() == ["127.0.0.1", "::1"]


def test_management_ip_prefers_route_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "_route_source_address", lambda: "10.1.2.3")
    assert detect_management_ip() == "10.1.2.3"


def test_management_ip_without_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system, "_route_source_address", lambda: None)
    monkeypatch.setattr(
        system, "host_addresses", lambda: ["127.0.0.1", "::1", "fd00::5", "10.9.8.7"]
    )
    assert detect_management_ip() == "10.9.8.7"
    monkeypatch.setattr(system, "host_addresses", lambda: ["127.0.0.1", "::1", "fd00::5"])
    assert detect_management_ip() == "127.0.0.1"


def test_route_probe_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []

    class Probe:
        def __init__(self, family: int, kind: int) -> None:
            events.append(f"socket {family} {kind}")

        def __enter__(self) -> Probe:
            return self

        def __exit__(self, *exc: object) -> None:
            events.append("close")

        def connect(self, address: tuple[str, int]) -> None:
            events.append(f"connect {address[0]}:{address[1]}")

        def getsockname(self) -> tuple[str, int]:
            return ("172.16.0.9", 40000)

        def send(self, data: bytes) -> int:
            raise AssertionError("the probe must not send")

        sendto = send

    monkeypatch.setattr(socket, "socket", Probe)
    assert detect_management_ip() == "172.16.0.9"
    assert events == [
        f"socket {socket.AF_INET} {socket.SOCK_DGRAM}",
        "connect 192.0.2.1:9",
        "close",
    ]


def test_route_probe_failure_is_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(*args: object) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "socket", unreachable)
    monkeypatch.setattr(system, "host_addresses", lambda: ["127.0.0.1", "::1"])
    assert detect_management_ip() == "127.0.0.1"


def test_real_host() -> None:
    host = collect_host()
    assert isinstance(host["hostname"], str)
    assert host["hostname"]
    assert host["os"]["architecture"] == platform.machine()
    assert isinstance(host["os"]["uefi"], bool)
    assert type(host["boot_time"]) is int
    assert 0 < host["boot_time"] <= time.time()
    assert isinstance(host["pretty_name"], str)

    addresses = host_addresses()
    assert {"127.0.0.1", "::1"} <= set(addresses)
    assert len(addresses) == len(set(addresses))
    for address in addresses:
        ipaddress.ip_address(address)
    management = detect_management_ip()
    assert ipaddress.ip_address(management).version == 4
