"""The drivers this node's agent uses, chosen once at start-up.

Production nodes get libvirt (QEMU for VMs, LXC for containers); unit tests pass fakes. A
driver that can't be reached (libvirtd not running, no LXC driver) is reported by each task
that needs it, with the remedy. ``hypervisor`` picks an instance's driver by its type; the
jobs that look at every domain (state sync, lifecycle events, metrics) go through
``hypervisors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cloudenv.drivers.compute.base import Accelerator, ComputeDriver, PowerState
from cloudenv.drivers.network.base import NetworkDriver
from cloudenv.drivers.storage.base import StorageDriver
from cloudenv.enums import InstanceType
from cloudenv.errors import DriverError, InvalidInput


@dataclass
class Drivers:
    compute: ComputeDriver | None
    storage: StorageDriver | None
    accelerator: Accelerator = Accelerator.TCG
    accelerator_reason: str = ""
    serial_log_dir: str = "/var/log/libvirt/qemu"
    unavailable: str = ""
    #: Open vSwitch. It connects on first use, so a node whose OVS isn't running works
    #: for everything else, and each network verb says how to start it.
    network: NetworkDriver | None = None
    network_unavailable: str = ""
    #: Containers (libvirt's LXC driver), beside the VMs' ``compute``.
    containers: ComputeDriver | None = None
    containers_unavailable: str = "this node has no container driver."

    def need_compute(self) -> ComputeDriver:
        if self.compute is None:
            raise DriverError(f"This node has no hypervisor connection: {self.unavailable}")
        return self.compute

    def need_containers(self) -> ComputeDriver:
        if self.containers is None:
            raise DriverError(
                f"This node can't run containers: {self.containers_unavailable} Start "
                "libvirtd with its LXC driver (scripts/start-libvirt.sh)."
            )
        return self.containers

    def hypervisor(self, instance_type: int) -> ComputeDriver:
        """The driver of instances of ``instance_type`` (2 qemu, 1 lxc)."""
        if instance_type == InstanceType.LXC:
            return self.need_containers()
        if instance_type == InstanceType.QEMU:
            return self.need_compute()
        raise InvalidInput(f"Instance type {instance_type} has no driver on this node.")

    def hypervisors(self) -> list[ComputeDriver]:
        """Every connected compute driver (the VMs' first)."""
        return [d for d in (self.compute, self.containers) if d is not None]

    def domain_state(self, name: str) -> PowerState | None:
        """Domain ``name``'s state in whichever driver has it (an instance ID names one
        domain in one of them), or None. DriverError when no driver is connected."""
        drivers = self.hypervisors()
        if not drivers:
            raise DriverError(f"This node has no hypervisor connection: {self.unavailable}")
        for driver in drivers:
            state = driver.state(name)
            if state is not None:
                return state
        return None

    def need_network(self) -> NetworkDriver:
        if self.network is None:
            raise DriverError(
                f"This node has no network driver: {self.network_unavailable} "
                "Start Open vSwitch with scripts/start-ovs.sh."
            )
        return self.network

    def need_storage(self) -> StorageDriver:
        if self.storage is None:
            raise DriverError(f"This node has no storage connection: {self.unavailable}")
        return self.storage


def libvirt_drivers(
    accelerator_setting: str = "auto", node_id: str | None = None, scratch: Path | None = None
) -> Drivers:
    """libvirt for compute and storage, Open vSwitch for the network of ``node_id``; an
    unreachable libvirtd leaves compute and storage unset. ``scratch``: the storage
    driver's staging directory (made here, root's only); None: the system's /tmp."""
    from cloudenv.host.accel import choose_accelerator, probe_kvm

    accel, reason = choose_accelerator(accelerator_setting, probe_kvm())
    network, network_unavailable = ovs_driver(node_id)
    containers, containers_unavailable = lxc_driver()
    try:
        from cloudenv.drivers.compute.libvirt_qemu import LibvirtComputeDriver
        from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver

        compute = LibvirtComputeDriver(accelerator=Accelerator(accel), accelerator_reason=reason)
        return Drivers(
            compute,
            LibvirtStorageDriver(scratch=_scratch(scratch)),
            Accelerator(accel),
            reason,
            network=network,
            network_unavailable=network_unavailable,
            containers=containers,
            containers_unavailable=containers_unavailable,
        )
    except DriverError as exc:
        return Drivers(
            None,
            None,
            Accelerator(accel),
            reason,
            unavailable=f"{exc.message} Start it with scripts/start-libvirt.sh.",
            network=network,
            network_unavailable=network_unavailable,
            containers=containers,
            containers_unavailable=containers_unavailable,
        )


def _scratch(directory: Path | None) -> str | None:
    if directory is None:
        return None
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return str(directory)


def lxc_driver() -> tuple[ComputeDriver | None, str]:
    """libvirt's LXC driver, or why there is none (libvirtd down, its LXC driver not
    installed)."""
    try:
        from cloudenv.drivers.compute.libvirt_lxc import LibvirtLxcDriver

        return LibvirtLxcDriver(), ""
    except DriverError as exc:
        return None, exc.message


def ovs_driver(node_id: str | None = None) -> tuple[NetworkDriver | None, str]:
    """The Open vSwitch driver of ``node_id`` (it connects when first used), or why there
    is none."""
    try:
        from cloudenv.drivers.network.ovs import OvsNetworkDriver
    except ImportError as exc:  # ovsdbapp or pyroute2 missing from this installation
        return None, f"the Open vSwitch libraries can't be loaded ({exc})."
    return OvsNetworkDriver(owner=node_id), ""
