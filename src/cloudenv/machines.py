"""What a QEMU machine type lets a guest have, and how big a guest may be.

Shared by the service (which refuses a deploy, an edit or a device before anything is
queued) and the compute designer (which refuses the same things when it builds the domain),
so both say no to exactly the same requests with the same words. A top-level module because
drivers may import only their own package and these shared ones.

Errors are ``InvalidInput`` whose ``field`` names the deploy body's field; the message names
the instance (when known), the problem and what to choose instead. This module must not
touch the database or a hypervisor.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from enum import StrEnum

from cloudenv.enums import DiskBus
from cloudenv.errors import InvalidInput

__all__ = [
    "I440FX",
    "MAX_MEMORY_MB",
    "MAX_VCPUS",
    "MIN_MEMORY_MB",
    "Q35",
    "Firmware",
    "MachineType",
    "Resources",
    "check_resources",
]

MIN_MEMORY_MB = 64
MAX_MEMORY_MB = 4 * 1024 * 1024  # 4 TiB: far above any node; keeps integers sane
# More than 255 vCPUs on x86 needs x2APIC with interrupt remapping (an IOMMU device),
# which the designer does not add: such a guest would not boot, whatever QEMU reports.
MAX_VCPUS = 255


class Firmware(StrEnum):
    """What the guest boots with."""

    BIOS = "bios"  #: SeaBIOS
    EFI = "efi"  #: OVMF (UEFI), with or without secure boot


@dataclass(frozen=True, kw_only=True)
class MachineType:
    """One machine type as a guest sees it: its chipset family and what that allows.

    ``name`` is what libvirt is given (``pc``, ``q35`` or a versioned ``pc-q35-7.2``);
    the rules depend only on the family.
    """

    name: str
    family: str  # "pc" (i440fx) or "q35"
    buses: frozenset[DiskBus]  # buses a disk may sit on
    cdrom_buses: frozenset[DiskBus]  # buses a CD-ROM may sit on
    cdrom_bus: DiskBus  # where a CD-ROM goes when none is asked for
    secure_boot: bool  # has SMM, which secure boot relies on
    max_vcpus: int = MAX_VCPUS

    @classmethod
    def parse(cls, name: str, *, field: str = "metadata.machine_type") -> MachineType:
        """The machine type called ``name``; InvalidInput for anything not pc or q35."""
        known = _known(name)
        if known is not None:
            return known
        raise InvalidInput(
            f"Machine type {name!r} is not known; use pc (i440fx) or q35, or a versioned "
            "name such as pc-q35-7.2.",
            field=field,
        )

    @classmethod
    def of_domain(cls, name: str) -> MachineType:
        """The family of a machine name libvirt wrote into a domain's XML. libvirt stores
        the canonical name of the alias it was given, which distributions version their
        own way (``pc-i440fx-jammy``, ``pc-q35-rhel9.4.0``), so this never refuses: a
        name with ``q35`` in it is q35, anything else i440fx."""
        known = _known(name)
        if known is not None:
            return known
        return _with_name(Q35 if "q35" in name else I440FX, name)

    @property
    def is_q35(self) -> bool:
        return self.family == "q35"

    def check_bus(self, bus: DiskBus, *, cdrom: bool, what: str, field: str) -> None:
        """Refuse a disk (or CD-ROM) on a bus this machine type lacks. ``what`` names the
        device for the message, e.g. "Instance web-1: disk vda"."""
        allowed = self.cdrom_buses if cdrom else self.buses
        if bus in allowed:
            return
        kind = "a CD-ROM" if cdrom else "a disk"
        if cdrom and bus is DiskBus.VIRTIO:
            problem = "a CD-ROM can't sit on the virtio bus"
        else:
            problem = f"the {self.family} machine type has no {bus.value} bus for {kind}"
        choices = ", ".join(sorted(b.value for b in allowed))
        raise InvalidInput(f"{what}: {problem}; use {choices}.", field=field)

    def check_firmware(self, firmware: Firmware, secure_boot: bool, *, what: str) -> None:
        """Secure boot needs EFI firmware and SMM (q35); refuse it otherwise."""
        if not secure_boot:
            return
        if firmware is not Firmware.EFI:
            raise InvalidInput(
                f"{what}: secure boot needs EFI firmware; choose firmware efi or turn "
                "secure boot off.",
                field="metadata.secure_boot",
            )
        if not self.secure_boot:
            raise InvalidInput(
                f"{what}: secure boot needs the q35 machine type (it relies on SMM, which "
                f"{self.name} lacks); choose machine type q35 or turn secure boot off.",
                field="metadata.secure_boot",
            )


_ALL_BUSES = frozenset(DiskBus)
I440FX = MachineType(
    name="pc",
    family="pc",
    buses=_ALL_BUSES,
    cdrom_buses=_ALL_BUSES - {DiskBus.VIRTIO},
    cdrom_bus=DiskBus.IDE,
    secure_boot=False,
)
Q35 = MachineType(
    name="q35",
    family="q35",
    buses=_ALL_BUSES - {DiskBus.IDE},
    cdrom_buses=_ALL_BUSES - {DiskBus.IDE, DiskBus.VIRTIO},
    cdrom_bus=DiskBus.SATA,
    secure_boot=True,
)
_BASES = {"pc": I440FX, "q35": Q35}
_FAMILIES = {
    "pc": re.compile(r"pc|pc-i440fx-[0-9]+(\.[0-9]+)*"),
    "q35": re.compile(r"q35|pc-q35-[0-9]+(\.[0-9]+)*"),
}


@functools.lru_cache(maxsize=64)
def _known(name: str) -> MachineType | None:
    """Cached: every instance row read parses its machine type."""
    for family, pattern in _FAMILIES.items():
        if pattern.fullmatch(name):
            base = _BASES[family]
            return base if name == base.name else _with_name(base, name)
    return None


def _with_name(base: MachineType, name: str) -> MachineType:
    return replace(base, name=name)


@dataclass(frozen=True, kw_only=True)
class Resources:
    """An instance's CPU topology and memory, as deploy and edit ask for them."""

    sockets: int
    cores: int
    threads: int
    memory_mb: int

    @property
    def vcpus(self) -> int:
        return self.sockets * self.cores * self.threads


def check_resources(
    resources: Resources,
    machine: MachineType,
    *,
    what: str = "The instance",
    node_memory_mb: int = 0,
    node_name: str = "",
) -> None:
    """The one resource rule, for deploy, edit and the designer: each of sockets, cores
    and threads at least 1, at most ``machine.max_vcpus`` vCPUs in all, memory between
    the bounds and (when ``node_memory_mb`` is known) no more than the node has."""
    for part in ("sockets", "cores", "threads"):
        value = getattr(resources, part)
        if value < 1:
            raise InvalidInput(
                f"{what}: cpu.{part} must be at least 1 (got {value}).", field=f"cpu.{part}"
            )
    if resources.vcpus > machine.max_vcpus:
        raise InvalidInput(
            f"{what}: {resources.sockets} sockets x {resources.cores} cores x "
            f"{resources.threads} threads is {resources.vcpus} vCPUs, more than the "
            f"{machine.max_vcpus} a {machine.family} guest can have; lower one of them.",
            field="cpu",
        )
    memory = resources.memory_mb
    if not MIN_MEMORY_MB <= memory <= MAX_MEMORY_MB:
        raise InvalidInput(
            f"{what}: memory must be between {MIN_MEMORY_MB} and {MAX_MEMORY_MB} MB; "
            f"{memory} MB was asked.",
            field="memory",
        )
    if node_memory_mb and memory > node_memory_mb:
        raise InvalidInput(
            f"{what}: {memory} MB of memory is more than node {node_name} has "
            f"({node_memory_mb} MB); ask for less.",
            field="memory",
        )
