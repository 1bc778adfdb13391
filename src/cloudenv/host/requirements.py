"""The minimum a host must offer to run as a cloudenv node, checked against its inventory.

Errors mean the node cannot work (wrong architecture, missing instructions the product's
binaries are built for); warnings mean it works but below the supported baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

SUPPORTED_ARCHITECTURES = ("x86_64", "aarch64")
MIN_VCPUS = 4
RECOMMENDED_VCPUS = 8
# 8 GB of RAM shows up as less in MemTotal: firmware and the kernel keep some for themselves.
MIN_MEMORY_MB = 7600


@dataclass(frozen=True)
class Finding:
    """One problem found on the host; errors block the node, warnings do not."""

    level: Literal["error", "warning"]
    message: str


def check_requirements(hardware: dict[str, Any], architecture: str) -> list[Finding]:
    """Compare ``collect_hardware()`` output and ``platform.machine()`` with the node minimum."""
    findings: list[Finding] = []
    cpu = hardware.get("cpu") or {}
    flags = set(cpu.get("flags") or [])

    if architecture not in SUPPORTED_ARCHITECTURES:
        findings.append(
            Finding(
                "error",
                f"cloudenv needs a 64-bit x86_64 or aarch64 CPU; this host is {architecture}",
            )
        )

    if architecture == "x86_64":
        if "avx2" not in flags:
            brand = cpu.get("brand") or "this CPU"
            findings.append(
                Finding(
                    "error",
                    f"{brand} does not support AVX2; AVX2 is a strict requirement on x86_64",
                )
            )
        # vmx/svm are x86 flag names; aarch64 cpuinfo has no equivalent, so KVM support on
        # ARM cannot be judged from the inventory and is not warned about here.
        if not cpu.get("virtualization"):
            findings.append(
                Finding(
                    "warning",
                    "no VT-x/AMD-V (CPU flags lack vmx and svm): virtual machines will run "
                    "under software emulation (TCG), much slower",
                )
            )

    vcpus = int(hardware.get("vcpus") or 0)
    if vcpus < MIN_VCPUS:
        findings.append(
            Finding(
                "warning",
                f"this host has {vcpus} logical CPU(s); the minimum is {MIN_VCPUS} cores, "
                f"{RECOMMENDED_VCPUS} recommended",
            )
        )

    memory_mb = int(hardware.get("memory_total_mb") or 0)
    if memory_mb < MIN_MEMORY_MB:
        findings.append(
            Finding(
                "warning",
                f"this host has {memory_mb} MB of memory; the minimum is 8 GB "
                f"(at least {MIN_MEMORY_MB} MB visible to the kernel)",
            )
        )
    return findings
