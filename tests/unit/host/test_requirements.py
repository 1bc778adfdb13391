"""The node requirements check against hand-made inventories."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from cloudenv.host.requirements import Finding, check_requirements

pytestmark = pytest.mark.unit


def inventory(
    *,
    vcpus: int = 16,
    memory_mb: int = 64000,
    flags: tuple[str, ...] = ("sse2", "avx", "avx2", "vmx"),
    brand: str = "Intel(R) Xeon(R) Gold 6338",
) -> dict[str, Any]:
    return {
        "vcpus": vcpus,
        "cpu": {"brand": brand, "flags": list(flags), "virtualization": "vmx" in flags},
        "memory_total_mb": memory_mb,
    }


def test_good_host_has_no_findings() -> None:
    assert check_requirements(inventory(), "x86_64") == []


def test_aarch64_needs_no_avx2_or_vmx() -> None:
    hardware = inventory(flags=("fp", "asimd"), brand="")
    assert check_requirements(hardware, "aarch64") == []


@pytest.mark.parametrize("arch", ["i686", "armv7l", "riscv64", "ppc64le"])
def test_unsupported_architecture_is_an_error(arch: str) -> None:
    findings = check_requirements(inventory(flags=()), arch)
    assert findings[0] == Finding(
        "error", f"cloudenv needs a 64-bit x86_64 or aarch64 CPU; this host is {arch}"
    )
    assert all(f.level == "warning" for f in findings[1:])


def test_missing_avx2_is_an_error() -> None:
    findings = check_requirements(inventory(flags=("sse2", "avx", "vmx")), "x86_64")
    assert [f.level for f in findings] == ["error"]
    assert "AVX2 is a strict requirement" in findings[0].message
    assert "Intel(R) Xeon(R) Gold 6338" in findings[0].message


def test_missing_virtualization_is_a_warning() -> None:
    (finding,) = check_requirements(inventory(flags=("avx2", "hypervisor")), "x86_64")
    assert finding.level == "warning"
    assert finding.message.startswith("no VT-x/AMD-V")
    assert "software emulation (TCG), much slower" in finding.message


@pytest.mark.parametrize(("vcpus", "warned"), [(1, True), (3, True), (4, False), (8, False)])
def test_vcpu_minimum(vcpus: int, warned: bool) -> None:
    findings = check_requirements(inventory(vcpus=vcpus), "x86_64")
    assert bool(findings) is warned
    if warned:
        assert findings == [
            Finding(
                "warning",
                f"this host has {vcpus} logical CPU(s); the minimum is 4 cores, 8 recommended",
            )
        ]


@pytest.mark.parametrize(
    ("memory_mb", "warned"),
    [(0, True), (4000, True), (7599, True), (7600, False), (7900, False), (8192, False)],
)
def test_memory_minimum_tolerates_kernel_reservations(memory_mb: int, warned: bool) -> None:
    findings = check_requirements(inventory(memory_mb=memory_mb), "x86_64")
    assert bool(findings) is warned
    if warned:
        (finding,) = findings
        assert finding.level == "warning"
        assert f"{memory_mb} MB" in finding.message
        assert "8 GB" in finding.message


def test_everything_wrong_reports_errors_first() -> None:
    findings = check_requirements(inventory(vcpus=2, memory_mb=2048, flags=()), "x86_64")
    assert [f.level for f in findings] == ["error", "warning", "warning", "warning"]


def test_incomplete_inventory_does_not_raise() -> None:
    findings = check_requirements({}, "x86_64")
    assert {f.level for f in findings} == {"error", "warning"}


def test_finding_is_frozen() -> None:
    finding = Finding("warning", "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.message = "y"  # type: ignore[misc]
