"""A QEMU instance's configuration: the one typed form of the Instance row's ``config``.

The row stores it as JSON; it is read and written only through ``QemuConfig.from_json`` and
``to_json``, so each setting has one default (here) instead of one per reader. The deploy
request carries it, the agent reads it from the row, and the compute designer gets it in
the domain spec. Shared by services and drivers (a top-level module); no database, no
hypervisor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloudenv.errors import InvalidInput
from cloudenv.machines import I440FX, Firmware, MachineType

__all__ = ["ContainerConfig", "IdShift", "KernelBootConfig", "QemuConfig"]


@dataclass(frozen=True, kw_only=True)
class KernelBootConfig:
    """Direct kernel boot: the kernel and initrd images (by image ID) and the command line."""

    kernel: str
    initrd: str | None = None
    cmdline: str = ""


@dataclass(frozen=True, kw_only=True)
class QemuConfig:
    """How a QEMU virtual machine is built, beyond its size and devices.

    Constructing one checks that the settings go together (secure boot needs EFI and q35),
    so no code path can hold an impossible configuration.
    """

    machine: MachineType = field(default=I440FX)
    cpu_model: str | None = None  # None: the hypervisor's default for the accelerator
    firmware: Firmware = Firmware.EFI  # the product's clients default to UEFI
    secure_boot: bool = False
    kernel_boot: KernelBootConfig | None = None

    def __post_init__(self) -> None:
        self.machine.check_firmware(self.firmware, self.secure_boot, what="The instance")

    @classmethod
    def parse(
        cls,
        *,
        machine_type: str | None = None,
        firmware: str | None = None,
        secure_boot: bool = False,
        cpu_model: str | None = None,
    ) -> QemuConfig:
        """A configuration from the words a client sent; None takes the default. Unknown
        words are InvalidInput naming the deploy body's field."""
        default = _DEFAULT
        machine = default.machine if machine_type is None else MachineType.parse(machine_type)
        return cls(
            machine=machine,
            cpu_model=cpu_model or None,
            firmware=default.firmware if firmware is None else _firmware(firmware),
            secure_boot=secure_boot,
        )

    def to_json(self) -> dict[str, Any]:
        """The row's ``config`` column."""
        boot = self.kernel_boot
        return {
            "machine_type": self.machine.name,
            "cpu_model": self.cpu_model,
            "firmware": self.firmware.value,
            "secure_boot": self.secure_boot,
            "kernel_boot": None
            if boot is None
            else {"kernel": boot.kernel, "initrd": boot.initrd, "cmdline": boot.cmdline},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QemuConfig:
        """Read a row's ``config``; missing keys take the defaults."""
        default = _DEFAULT
        boot = data.get("kernel_boot") or None
        return cls(
            machine=MachineType.parse(str(data.get("machine_type") or default.machine.name)),
            cpu_model=data.get("cpu_model") or None,
            firmware=Firmware(data.get("firmware") or default.firmware),
            secure_boot=bool(data.get("secure_boot", default.secure_boot)),
            kernel_boot=None
            if boot is None
            else KernelBootConfig(
                kernel=str(boot["kernel"]),
                initrd=boot.get("initrd") or None,
                cmdline=str(boot.get("cmdline") or ""),
            ),
        )


def _firmware(value: str) -> Firmware:
    try:
        return Firmware(value)
    except ValueError:
        raise InvalidInput(
            f"Firmware {value!r} is not known; use bios or efi.", field="metadata.firmware"
        ) from None


_DEFAULT = QemuConfig()


@dataclass(frozen=True, kw_only=True)
class IdShift:
    """The host IDs an unprivileged container's root filesystem was unpacked with (its
    owners shifted by ``uid``/``gid``), recorded so every later start maps the same."""

    uid: int
    gid: int
    count: int


@dataclass(frozen=True, kw_only=True)
class ContainerConfig:
    """How an LXC container is built, beyond its size and devices: the row's ``config``
    for instance type 1 (``_type`` tells it from a QEMU one).

    ``idmap`` is filled in by the node when it unpacks the root filesystem (None before,
    and always for a privileged container)."""

    init: str = "/sbin/init"
    privileged: bool = False
    idmap: IdShift | None = None

    def __post_init__(self) -> None:
        if not self.init.startswith("/") or "\x00" in self.init or len(self.init) > 4096:
            raise InvalidInput(
                f"init {self.init[:80]!r} must be an absolute path inside the container "
                "(e.g. /sbin/init).",
                field="metadata.init",
            )

    def to_json(self) -> dict[str, Any]:
        shift = self.idmap
        return {
            "_type": "lxc",
            "init": self.init,
            "privileged": self.privileged,
            "idmap": None
            if shift is None
            else {"uid": shift.uid, "gid": shift.gid, "count": shift.count},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContainerConfig:
        shift = data.get("idmap") or None
        return cls(
            init=str(data.get("init") or "/sbin/init"),
            privileged=bool(data.get("privileged", False)),
            idmap=None
            if shift is None
            else IdShift(uid=int(shift["uid"]), gid=int(shift["gid"]), count=int(shift["count"])),
        )
