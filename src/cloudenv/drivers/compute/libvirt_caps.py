"""A node's guest capabilities, read from libvirt's capabilities XML.

Two documents feed :class:`ArchCapabilities`:

* ``virConnect.getCapabilities()``: per guest architecture the emulator, word size, machine
  types (with their ``maxCpus`` and aliases such as ``pc`` -> ``pc-i440fx-7.2``) and the
  domain types libvirt thinks it can run.
* ``virConnect.getDomainCapabilities(emulator, arch, machine, virttype)``: for one machine
  type, the UEFI loaders and whether Secure Boot is possible (only on ``q35`` with SMM), and
  the CPU models with whether this host can run them under that virttype.

Whether KVM can boot real guests is *not* taken from libvirt, which advertises
``<domain type='kvm'/>`` wherever /dev/kvm opens; the node's accelerator probe
(:mod:`cloudenv.host.accel`) decides, and the caller passes its verdict in.

The parsers are pure functions of XML text (unit-tested on XML captured from a real
libvirtd); :func:`read_capabilities` is the one place that talks to libvirt.
"""

from __future__ import annotations

import os
import platform
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cloudenv.drivers.compute.base import Accelerator, ArchCapabilities, CpuModel, MachineCapability
from cloudenv.drivers.errors import DriverError
from cloudenv.host.accel import AcceleratorProbe

SEABIOS_CANDIDATES = (
    "/usr/share/qemu/bios-256k.bin",  # QEMU's own data dir (upstream builds, some distros)
    "/usr/share/seabios/bios-256k.bin",  # Debian/Ubuntu (seabios package), Fedora/RHEL
)
"""Where QEMU finds SeaBIOS for the ``pc`` and ``q35`` machines."""

# Machine types asked about in getDomainCapabilities besides the default one: q35 is the
# one that offers Secure Boot (its OVMF builds need SMM, which i440fx lacks).
EXTRA_DOMCAPS_MACHINES = ("q35",)


class LibvirtConnection(Protocol):
    """The two calls of ``libvirt.virConnect`` this module needs."""

    def getCapabilities(self) -> str: ...

    def getDomainCapabilities(
        self, emulatorbin: str | None, arch: str | None, machine: str | None, virttype: str | None
    ) -> str: ...


@dataclass(frozen=True)
class GuestArch:
    """One ``<guest><arch>`` of the capabilities XML, for one domain type."""

    arch: str
    os_type: str
    wordsize: int
    emulator: str
    machines: tuple[MachineCapability, ...]
    default_machine: str  # the alias (``pc``) when the default machine type has one
    default_machine_canonical: str  # the versioned name (``pc-i440fx-7.2``)
    domain_types: tuple[str, ...]
    features: dict[str, bool]


@dataclass(frozen=True)
class DomainCapabilities:
    """The parts of one ``<domainCapabilities>`` document this module uses."""

    emulator: str
    domain_type: str
    machine: str
    arch: str
    max_vcpus: int | None
    firmware: tuple[str, ...]  # <os><enum name='firmware'>: autoselectable ("efi")
    efi_loaders: tuple[str, ...]
    loader_types: tuple[str, ...]  # "rom", "pflash"
    secure_boot: bool  # a loader with secure='yes' is possible
    cpu_modes: dict[str, bool]  # "host-passthrough", "host-model", "maximum", "custom"
    cpu_models: tuple[CpuModel, ...]
    iothreads: bool


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _yes(value: str | None) -> bool:
    return value == "yes"


def _enum_values(parent: ET.Element | None, name: str) -> tuple[str, ...]:
    if parent is None:
        return ()
    for enum in parent.findall("enum"):
        if enum.get("name") == name:
            return tuple((v.text or "").strip() for v in enum.findall("value") if v.text)
    return ()


def _machines(parent: ET.Element) -> list[ET.Element]:
    return [m for m in parent.findall("machine") if (m.text or "").strip()]


def _default_machine(machines: Sequence[ET.Element]) -> tuple[str, str]:
    """(alias or name, canonical name) of the default machine type.

    libvirt lists QEMU's default machine type first; when it has an alias (``pc`` for
    ``pc-i440fx-7.2``) the alias appears as its own entry with ``canonical=`` pointing back.
    """
    if not machines:
        return "", ""
    first = machines[0]
    name = (first.text or "").strip()
    canonical = first.get("canonical")
    if canonical:
        return name, canonical
    for machine in machines:
        if machine.get("canonical") == name:
            return (machine.text or "").strip(), name
    return name, name


def parse_capabilities(xml: str, virttype: str = "qemu") -> dict[str, GuestArch]:
    """Every ``hvm`` guest architecture of ``getCapabilities()`` XML, by arch name.

    ``virttype`` selects a ``<domain type=...>`` whose own ``<emulator>``/``<machine>``
    entries, when present, override the architecture's.
    """
    root = ET.fromstring(xml)  # noqa: S314 - XML from the local libvirtd
    result: dict[str, GuestArch] = {}
    for guest in root.findall("guest"):
        os_type = (guest.findtext("os_type") or "").strip()
        arch_el = guest.find("arch")
        if os_type != "hvm" or arch_el is None or not arch_el.get("name"):
            continue
        arch = arch_el.get("name", "")
        emulator = (arch_el.findtext("emulator") or "").strip()
        machine_els = _machines(arch_el)
        domain_types: list[str] = []
        for domain in arch_el.findall("domain"):
            dtype = domain.get("type", "")
            domain_types.append(dtype)
            if dtype == virttype:
                emulator = (domain.findtext("emulator") or "").strip() or emulator
                machine_els = _machines(domain) or machine_els
        features_el = guest.find("features")
        features: dict[str, bool] = {}
        if features_el is not None:
            for feature in features_el:
                # <acpi default='on' toggle='yes'/>: supported; default='off' still is.
                features[feature.tag] = True
        default, canonical = _default_machine(machine_els)
        result[arch] = GuestArch(
            arch=arch,
            os_type=os_type,
            wordsize=_int(arch_el.findtext("wordsize")),
            emulator=emulator,
            machines=tuple(
                MachineCapability(name=(m.text or "").strip(), max_vcpus=_int(m.get("maxCpus"), 1))
                for m in machine_els
            ),
            default_machine=default,
            default_machine_canonical=canonical,
            domain_types=tuple(domain_types),
            features=features,
        )
    return result


def host_arch(xml: str) -> str:
    """The host CPU's architecture from ``getCapabilities()`` XML (``x86_64``)."""
    root = ET.fromstring(xml)  # noqa: S314 - XML from the local libvirtd
    return (root.findtext("host/cpu/arch") or "").strip()


def parse_domain_capabilities(xml: str) -> DomainCapabilities:
    """One ``getDomainCapabilities()`` document."""
    root = ET.fromstring(xml)  # noqa: S314 - XML from the local libvirtd
    os_el = root.find("os")
    loader = os_el.find("loader") if os_el is not None else None
    os_supported = os_el is not None and _yes(os_el.get("supported"))
    loader_supported = loader is not None and _yes(loader.get("supported"))
    efi_loaders: tuple[str, ...] = ()
    if os_supported and loader is not None and loader_supported:
        efi_loaders = tuple(
            (v.text or "").strip() for v in loader.findall("value") if (v.text or "").strip()
        )
    vcpu = root.find("vcpu")
    cpu_modes: dict[str, bool] = {}
    cpu_models: list[CpuModel] = []
    for mode in root.findall("cpu/mode"):
        name = mode.get("name", "")
        cpu_modes[name] = _yes(mode.get("supported"))
        if name == "custom" and cpu_modes[name]:
            for model in mode.findall("model"):
                model_name = (model.text or "").strip()
                if model_name:
                    cpu_models.append(
                        CpuModel(
                            name=model_name,
                            vendor=model.get("vendor", "unknown"),
                            usable=_yes(model.get("usable")),
                        )
                    )
    iothreads = root.find("iothreads")
    return DomainCapabilities(
        emulator=(root.findtext("path") or "").strip(),
        domain_type=(root.findtext("domain") or "").strip(),
        machine=(root.findtext("machine") or "").strip(),
        arch=(root.findtext("arch") or "").strip(),
        max_vcpus=_int(vcpu.get("max")) if vcpu is not None else None,
        firmware=_enum_values(os_el, "firmware") if os_supported else (),
        efi_loaders=efi_loaders,
        loader_types=_enum_values(loader, "type") if loader_supported else (),
        secure_boot=bool(efi_loaders) and "yes" in _enum_values(loader, "secure"),
        cpu_modes=cpu_modes,
        cpu_models=tuple(cpu_models),
        iothreads=iothreads is not None and _yes(iothreads.get("supported")),
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def build_arch_capabilities(
    guest: GuestArch,
    domcaps: Sequence[DomainCapabilities],
    *,
    kvm_supported: bool,
    accelerator: Accelerator | str,
    accelerator_reason: str,
    seabios: str | None = None,
) -> ArchCapabilities:
    """Combine one architecture's capabilities with its domain capabilities (one document
    per machine type asked about, the default machine's first)."""
    efi = _unique(loader for caps in domcaps for loader in caps.efi_loaders)
    models: dict[str, CpuModel] = {}
    for caps in domcaps:
        for model in caps.cpu_models:
            models.setdefault(model.name, model)
    cpu_modes: dict[str, bool] = {}
    for caps in domcaps:
        for mode, supported in caps.cpu_modes.items():
            cpu_modes[mode] = cpu_modes.get(mode, False) or supported
    features = {
        "acpi": guest.features.get("acpi", False),
        "apic": guest.features.get("apic", False),
        "uefi": bool(efi),
        "secure_boot": any(caps.secure_boot for caps in domcaps),
        "disk_snapshot": guest.features.get("disksnapshot", False),
        "iothreads": any(caps.iothreads for caps in domcaps),
        "host_passthrough": cpu_modes.get("host-passthrough", False),
        "host_model": cpu_modes.get("host-model", False),
    }
    return ArchCapabilities(
        arch=guest.arch,
        wordsize=guest.wordsize,
        emulator=guest.emulator,
        kvm_supported=kvm_supported,
        accelerator=Accelerator(accelerator),
        accelerator_reason=accelerator_reason,
        firmware={"bios": [seabios or "seabios"], "efi": efi},
        cpu_models=tuple(models.values()),
        default_machine=guest.default_machine,
        machines=guest.machines,
        features=features,
    )


def find_seabios(candidates: Sequence[str] = SEABIOS_CANDIDATES) -> str | None:
    """The SeaBIOS image QEMU loads for ``pc``/``q35``, resolved, if installed."""
    for path in candidates:
        if os.path.isfile(path):
            return os.path.realpath(path)
    return None


_LIBVIRT_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}


def read_capabilities(
    conn: LibvirtConnection,
    probe: AcceleratorProbe,
    accelerator: Accelerator | str,
    reason: str,
) -> dict[str, ArchCapabilities]:
    """The host's native architecture's guest capabilities, asked of libvirt.

    Domain capabilities are read with virttype ``kvm`` when the node runs KVM, else ``qemu``
    (TCG), for the default machine type and for ``q35`` (Secure Boot, more CPUs).
    ``kvm_supported`` is the probe's verdict, never libvirt's claim.
    """
    from cloudenv.drivers.libvirt_errors import libvirt_failure

    accel = Accelerator(accelerator)
    virttype = "kvm" if accel is Accelerator.KVM else "qemu"
    with libvirt_failure("Reading the hypervisor's capabilities from libvirt failed"):
        caps_xml = conn.getCapabilities()
        arch = host_arch(caps_xml) or _LIBVIRT_ARCH.get(platform.machine(), platform.machine())
        guests = parse_capabilities(caps_xml, virttype)
        guest = guests.get(arch)
        if guest is None:
            raise DriverError(
                f"libvirt offers no hvm guest for this host's architecture {arch} "
                f"(offered: {', '.join(sorted(guests)) or 'none'}): is QEMU for {arch} "
                "installed (qemu-system-x86 on x86_64)?"
            )
        if virttype not in guest.domain_types:
            raise DriverError(
                f"libvirt cannot run domain type '{virttype}' for {arch} "
                f"(it offers {', '.join(guest.domain_types) or 'none'})."
            )
        machine_names = {m.name for m in guest.machines}
        wanted = _unique(
            [guest.default_machine] + [m for m in EXTRA_DOMCAPS_MACHINES if m in machine_names]
        )
        domcaps = [
            parse_domain_capabilities(
                conn.getDomainCapabilities(guest.emulator, arch, machine, virttype)
            )
            for machine in wanted
            if machine
        ]
    return {
        arch: build_arch_capabilities(
            guest,
            domcaps,
            kvm_supported=probe.kvm_usable,
            accelerator=accel,
            accelerator_reason=reason,
            seabios=find_seabios(),
        )
    }
