"""The drivers this node's agent uses, chosen once at start-up.

Production nodes get libvirt; unit tests pass fakes. A driver that can't be reached
(libvirtd not running) is reported by each task that needs it, with the remedy.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudenv.drivers.compute.base import Accelerator, ComputeDriver
from cloudenv.drivers.storage.base import StorageDriver
from cloudenv.errors import DriverError


@dataclass
class Drivers:
    compute: ComputeDriver | None
    storage: StorageDriver | None
    accelerator: Accelerator = Accelerator.TCG
    accelerator_reason: str = ""
    serial_log_dir: str = "/var/log/libvirt/qemu"
    unavailable: str = ""

    def need_compute(self) -> ComputeDriver:
        if self.compute is None:
            raise DriverError(f"This node has no hypervisor connection: {self.unavailable}")
        return self.compute

    def need_storage(self) -> StorageDriver:
        if self.storage is None:
            raise DriverError(f"This node has no storage connection: {self.unavailable}")
        return self.storage


def libvirt_drivers(accelerator_setting: str = "auto") -> Drivers:
    """libvirt for compute and storage; an unreachable libvirtd leaves both unset."""
    from cloudenv.host.accel import choose_accelerator, probe_kvm

    accel, reason = choose_accelerator(accelerator_setting, probe_kvm())
    try:
        from cloudenv.drivers.compute.libvirt_qemu import LibvirtComputeDriver
        from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver

        compute = LibvirtComputeDriver(accelerator=Accelerator(accel), accelerator_reason=reason)
        return Drivers(compute, LibvirtStorageDriver(), Accelerator(accel), reason)
    except DriverError as exc:
        return Drivers(
            None,
            None,
            Accelerator(accel),
            reason,
            unavailable=f"{exc.message} Start it with scripts/start-libvirt.sh.",
        )
