"""Can this host run guests under hardware KVM, or only under QEMU's TCG emulation?

libvirt can't be asked: it advertises ``<domain type='kvm'/>`` whenever /dev/kvm opens, also
where KVM can't boot a real guest (a nested ``kvm_pvm`` module: stock guest kernels hang in
early boot; a host CPU model makes QEMU abort). So the node decides by itself, cheaply, from
/dev/kvm, /sys/module and /proc/cpuinfo (the CPU flag test virt-host-validate uses).

Stdlib only: the host package depends on nothing else of ours.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

AccessCheck = Callable[[Path, int], bool]
"""``os.access`` semantics: (path, os.R_OK | os.W_OK) -> allowed."""

SETTINGS = ("auto", "kvm", "tcg")

_FLAGS_LINE = re.compile(r"^flags\s*:(?P<flags>.*)$", re.MULTILINE)


@dataclass(frozen=True)
class AcceleratorProbe:
    """Whether hardware KVM can boot real guests here, and why (a sentence for people)."""

    kvm_usable: bool
    reason: str


def _access(path: Path, mode: int) -> bool:
    return os.access(path, mode)


def _cpu_virt_flag(cpuinfo: str) -> str | None:
    """``vmx`` or ``svm`` when any CPU's flags line has it, else None."""
    for match in _FLAGS_LINE.finditer(cpuinfo):
        flags = set(match.group("flags").split())
        for flag in ("vmx", "svm"):
            if flag in flags:
                return flag
    return None


def probe_kvm(root: Path = Path("/"), access: AccessCheck = _access) -> AcceleratorProbe:
    """Decide whether KVM is usable, looking under ``root`` (a fake tree in tests).

    Usable only when all hold: /dev/kvm is readable and writable by this process; the KVM in
    the kernel is not ``kvm_pvm``; ``kvm_intel`` or ``kvm_amd`` is present in /sys/module
    (loaded or built in); and /proc/cpuinfo shows ``vmx`` or ``svm``.
    """
    dev_kvm = root / "dev" / "kvm"
    modules = root / "sys" / "module"
    if not dev_kvm.exists():
        return AcceleratorProbe(
            False,
            "/dev/kvm does not exist: the kernel has no KVM loaded, or the CPU offers no "
            "hardware virtualization.",
        )
    if not access(dev_kvm, os.R_OK | os.W_OK):
        return AcceleratorProbe(
            False,
            "/dev/kvm is not readable and writable by this process (it should be "
            "root:kvm 0660 and this process root or in group kvm; scripts/start-libvirt.sh "
            "sets it up where no udev does).",
        )
    if (modules / "kvm_pvm").is_dir():
        return AcceleratorProbe(
            False,
            "KVM here is kvm-pvm (nested paravirtual KVM, module kvm_pvm): stock guest kernels "
            "hang in early boot under it.",
        )
    vendor_modules = [name for name in ("kvm_intel", "kvm_amd") if (modules / name).is_dir()]
    if not vendor_modules:
        return AcceleratorProbe(
            False,
            "Neither the kvm_intel nor the kvm_amd module is loaded, so /dev/kvm is not backed "
            "by hardware virtualization.",
        )
    try:
        cpuinfo = (root / "proc" / "cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return AcceleratorProbe(False, f"/proc/cpuinfo could not be read ({exc.strerror}).")
    flag = _cpu_virt_flag(cpuinfo)
    if flag is None:
        return AcceleratorProbe(
            False,
            "The CPU exposes neither the vmx (Intel VT-x) nor the svm (AMD-V) flag in "
            "/proc/cpuinfo.",
        )
    return AcceleratorProbe(
        True, f"Hardware KVM is available ({vendor_modules[0]} loaded, CPU flag {flag})."
    )


def choose_accelerator(setting: str, probe: AcceleratorProbe) -> tuple[str, str]:
    """The accelerator for the node setting ``auto``, ``kvm`` or ``tcg``: ("kvm"|"tcg", reason).

    ``kvm`` on a host where KVM is unusable raises ValueError (the message says why and what
    to set instead); ``auto`` falls back to TCG and says so.
    """
    wanted = setting.strip().lower()
    if wanted not in SETTINGS:
        raise ValueError(f"Unknown accelerator setting {setting!r}: use 'auto', 'kvm' or 'tcg'.")
    if wanted == "tcg":
        extra = " although hardware KVM is available" if probe.kvm_usable else ""
        return "tcg", f"TCG (QEMU software emulation) chosen by the node setting{extra}."
    if probe.kvm_usable:
        origin = "requested by the node setting" if wanted == "kvm" else "chosen automatically"
        return "kvm", f"KVM {origin}: {probe.reason}"
    if wanted == "kvm":
        raise ValueError(
            f"The node setting asks for accelerator 'kvm', but KVM is not usable on this host: "
            f"{probe.reason} Set the accelerator to 'tcg' (software emulation) or 'auto'."
        )
    return (
        "tcg",
        f"TCG (QEMU software emulation; guests run slower) because KVM is not usable: "
        f"{probe.reason}",
    )
