"""An in-memory hypervisor for unit tests and the scale simulator: no QEMU, no libvirt.

It keeps domains and their states, records every call in ``calls``, and can be told to
fail a verb (``fail_on``) or to ignore ACPI shutdown (``ignore_shutdown``) so tests can
drive refusals and timeouts. Definitions and disks go through the designer, as the libvirt
driver's do, so the fake refuses exactly what the real path refuses (the contract test
``tests/unit/drivers/test_compute_contract.py`` runs both through the same cases). A live
detach behaves as libvirt's does: the guest releases the disk later (``unplug_delay``) and
the call returns once that is reported, or fails after ``detach_timeout`` when the guest
never does (``ignore_unplug``).

``FakeComputeDriver(containers=True)`` stands for the container driver (``libvirt_lxc``):
definitions go through ``container_designer``, block disks, snapshots and VNC are refused
as there, and a console has one viewer at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from cloudenv.drivers.compute.base import (
    Accelerator,
    ArchCapabilities,
    ConsoleStream,
    DiskSpec,
    DomainSpec,
    DomainStats,
    InterfaceSpec,
    LifecycleCallback,
    MachineCapability,
    PowerState,
    SnapshotInfo,
    VncEndpoint,
)
from cloudenv.drivers.compute.container_designer import build_container
from cloudenv.drivers.compute.container_mounts import HostMounts
from cloudenv.drivers.compute.designer import build_domain, disk_element, interface_element
from cloudenv.drivers.errors import (
    Conflict,
    DomainNotFound,
    DriverError,
    InvalidInput,
    NotFound,
    Unsupported,
)

# libvirt's words for the domain's state in a snapshot.
_SNAPSHOT_STATE = {
    PowerState.RUNNING: "running",
    PowerState.STOPPED: "shutoff",
    PowerState.PAUSED: "paused",
    PowerState.SHUTTING_DOWN: "running",
}


class _FakeConsole:
    def __init__(self, text: bytes, on_close: Callable[[], None] | None = None) -> None:
        self._buffer = text
        self._on_close = on_close

    def recv(self, max_bytes: int = 4096) -> bytes:
        chunk, self._buffer = self._buffer[:max_bytes], self._buffer[max_bytes:]
        return chunk

    def send(self, data: bytes) -> None:
        self._buffer += data

    def close(self) -> None:
        self._buffer = b""
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


class FakeComputeDriver:
    """Implements ComputeDriver in memory (for containers with ``containers=True``)."""

    def __init__(self, *, containers: bool = False) -> None:
        self.containers = containers
        self.open_consoles: set[str] = set()
        #: The clock the guests' counters follow; a test on a fake clock sets its own.
        self.monotonic: Callable[[], float] = time.monotonic
        self.domains: dict[str, DomainSpec] = {}
        self.states: dict[str, PowerState] = {}
        self.snapshots: dict[str, list[SnapshotInfo]] = {}
        self.disk_sizes: dict[tuple[str, str], int] = {}  # (domain, target): live-resized to
        self.calls: list[tuple[str, ...]] = []
        self.fail_on: dict[str, str] = {}
        self.ignore_shutdown = False
        self.ignore_unplug = False
        self.unplug_delay = 0.01
        self.detach_timeout = 1.0
        self._callbacks: list[LifecycleCallback] = []
        self._lock = threading.Lock()

    def _call(self, verb: str, *args: str) -> None:
        self.calls.append((verb, *args))
        if verb in self.fail_on:
            raise DriverError(self.fail_on[verb])

    def _spec(self, name: str) -> DomainSpec:
        if name not in self.domains:
            raise DomainNotFound(f"Domain {name} is not defined.")
        return self.domains[name]

    def _set(self, name: str, state: PowerState) -> None:
        self.states[name] = state
        for callback in self._callbacks:
            callback(name, state)

    def _no_container(self, what: str, name: str) -> None:
        if self.containers:
            raise Unsupported(f"Container {name}: {what} is not available for containers.")

    def capabilities(self) -> dict[str, ArchCapabilities]:
        if self.containers:
            return {}
        return {
            "x86_64": ArchCapabilities(
                arch="x86_64",
                wordsize=64,
                emulator="/usr/bin/qemu-system-x86_64",
                kvm_supported=False,
                accelerator=Accelerator.TCG,
                accelerator_reason="fake",
                firmware={"bios": ["seabios"], "efi": ["/usr/share/OVMF/OVMF_CODE_4M.fd"]},
                cpu_models=(),
                default_machine="pc-i440fx-7.2",
                machines=(
                    MachineCapability("pc-i440fx-7.2", 255),
                    MachineCapability("pc-q35-7.2", 288),
                ),
                features={"acpi": True, "uefi": True},
            )
        }

    def define(self, spec: DomainSpec) -> None:
        self._call("define", spec.name)
        # the designer's refusals, as on the libvirt path
        build_container(HostMounts().plan(spec).spec) if self.containers else build_domain(spec)
        with self._lock:
            self.domains[spec.name] = spec
            self.states.setdefault(spec.name, PowerState.STOPPED)

    def undefine(self, name: str) -> None:
        self._call("undefine", name)
        if self.states.get(name) == PowerState.RUNNING:
            raise Conflict(f"Domain {name} is running; stop it before removing it.")
        self.domains.pop(name, None)
        self.states.pop(name, None)
        self.snapshots.pop(name, None)

    def start(self, name: str) -> None:
        self._call("start", name)
        self._spec(name)
        self._set(name, PowerState.RUNNING)

    def release(self, name: str) -> None:
        self._call("release", name)

    def shutdown(self, name: str) -> None:
        self._call("shutdown", name)
        if not self.ignore_shutdown and self.states.get(name) == PowerState.RUNNING:
            self._set(name, PowerState.STOPPED)

    def destroy(self, name: str) -> None:
        self._call("destroy", name)
        if self.states.get(name) == PowerState.RUNNING:
            self._set(name, PowerState.STOPPED)

    def reboot(self, name: str) -> None:
        self._call("reboot", name)
        self._spec(name)

    def state(self, name: str) -> PowerState | None:
        return self.states.get(name)

    def list_domains(self) -> dict[str, PowerState]:
        return dict(self.states)

    def stats(self, name: str) -> DomainStats:
        spec = self._spec(name)
        running = self.states.get(name) == PowerState.RUNNING
        return DomainStats(
            cpu_time_ns=int(time.monotonic() * 1e9) if running else 0,
            vcpus=spec.vcpus,
            memory_kib=spec.memory_mb * 1024,
            memory_used_kib=spec.memory_mb * 512 if running else None,
            interfaces={},
        )

    def bulk_stats(self) -> dict[str, DomainStats]:
        """Each running guest burns one CPU-second per second, uses half its memory, and
        reads and writes 1 MB/s and receives 10 kB/s on each of its interfaces (counters
        from the monotonic clock: they move between two passes, as a busy guest's do)."""
        self.calls.append(("bulk_stats",))
        now = self.monotonic()
        found = {}
        cpu_ns, disk, link = int(now * 1e9), int(now * 1_000_000), (int(now * 10_000), 0)
        for name, state in list(self.states.items()):
            spec = self.domains.get(name)
            if state != PowerState.RUNNING or spec is None:
                continue
            found[name] = DomainStats(
                cpu_time_ns=cpu_ns,
                vcpus=spec.vcpus,
                memory_kib=spec.memory_mb * 1024,
                memory_used_kib=spec.memory_mb * 512,
                interfaces={f"vnet{i}": link for i in range(len(spec.interfaces))},
                disk_read_bytes=disk,
                disk_write_bytes=disk,
            )
        return found

    def attach_disk(self, name: str, disk: DiskSpec, *, live: bool) -> None:
        self._call("attach_disk", name, disk.target)
        self._no_container(f"a block disk ({disk.target})", name)
        spec = self._spec(name)
        disk_element(disk, spec.config.machine, owner=f"Instance {name}")
        self.domains[name] = replace(spec, disks=(*spec.disks, disk))

    def detach_disk(self, name: str, target: str, *, live: bool) -> None:
        self._call("detach_disk", name, target)
        self._no_container(f"a block disk ({target})", name)
        spec = self._spec(name)
        present = any(d.target == target for d in spec.disks)
        self.domains[name] = replace(spec, disks=tuple(d for d in spec.disks if d.target != target))
        if not (live and present and self.states.get(name) == PowerState.RUNNING):
            return
        removed = threading.Event()  # libvirt's DEVICE_REMOVED event, reported later
        if not self.ignore_unplug:
            threading.Timer(self.unplug_delay, removed.set).start()
        if not removed.wait(self.detach_timeout):
            raise DriverError(
                f"The guest of domain {name} did not release disk {target} within "
                f"{self.detach_timeout:g} s; it is still attached to the running guest."
            )

    def attach_interface(self, name: str, nic: InterfaceSpec, *, live: bool) -> None:
        self._call("attach_interface", name, nic.mac)
        spec = self._spec(name)
        interface_element(nic, owner=f"Instance {name}")
        if any(i.mac == nic.mac for i in spec.interfaces):
            raise DriverError(f"Domain {name} already has a NIC with MAC {nic.mac}.")
        self.domains[name] = replace(spec, interfaces=(*spec.interfaces, nic))

    def detach_interface(self, name: str, mac: str, *, live: bool) -> None:
        self._call("detach_interface", name, mac)
        spec = self._spec(name)
        kept = tuple(i for i in spec.interfaces if i.mac != mac)
        self.domains[name] = replace(spec, interfaces=kept)

    def resize_disk(self, name: str, target: str, capacity_bytes: int) -> None:
        """Records the call; ``disk_sizes[(name, target)]`` holds what the guest now sees."""
        self._call("resize_disk", name, target, str(capacity_bytes))
        self._no_container("resizing a disk live", name)
        spec = self._spec(name)
        if self.states.get(name) != PowerState.RUNNING:
            raise DriverError(f"Domain {name} is not running; its disks can't be resized live.")
        if not any(d.target == target for d in spec.disks):
            raise DriverError(f"Domain {name} has no disk {target}.")
        if capacity_bytes < self.disk_sizes.get((name, target), 0):
            raise InvalidInput(
                f"Disk {target} of {name} can only grow, not shrink to {capacity_bytes} bytes."
            )
        self.disk_sizes[(name, target)] = capacity_bytes

    def snapshot_create(self, name: str, snapshot: str, description: str) -> None:
        self._call("snapshot_create", name, snapshot)
        self._no_container("a snapshot", name)
        self._spec(name)
        state = self.states[name]
        taken = [replace(s, current=False) for s in self.snapshots.get(name, [])]
        self.snapshots[name] = [
            *taken,
            SnapshotInfo(
                name=snapshot,
                description=description,
                created=int(time.time()),
                state=_SNAPSHOT_STATE[state],
                current=True,
            ),
        ]

    def snapshot_list(self, name: str) -> list[SnapshotInfo]:
        self._spec(name)
        return list(self.snapshots.get(name, []))

    def snapshot_revert(self, name: str, snapshot: str) -> None:
        self._call("snapshot_revert", name, snapshot)
        self._spec(name)
        taken = [s for s in self.snapshots.get(name, []) if s.name == snapshot]
        if not taken:
            raise NotFound(f"Instance {name} has no snapshot {snapshot}.")
        self.snapshots[name] = [
            replace(s, current=s.name == snapshot) for s in self.snapshots[name]
        ]
        running = taken[0].state == "running"
        self._set(name, PowerState.RUNNING if running else PowerState.STOPPED)

    def snapshot_delete(self, name: str, snapshot: str) -> None:
        self._call("snapshot_delete", name, snapshot)
        self._spec(name)
        self.snapshots[name] = [s for s in self.snapshots.get(name, []) if s.name != snapshot]

    def vnc_endpoint(self, name: str) -> VncEndpoint | None:
        if self.containers:
            return None
        return (
            VncEndpoint(f"/run/cloudenv-fake/{name}/vnc.sock")
            if self.states.get(name) == PowerState.RUNNING
            else None
        )

    def open_serial_console(self, name: str) -> ConsoleStream:
        self._spec(name)
        if not self.containers:
            return _FakeConsole(b"CLOUDENV-GUEST-READY\r\n")
        if name in self.open_consoles:
            raise Conflict(
                f"The console of container {name} is already open in another window; "
                "close that one first (a container's console has one viewer at a time)."
            )
        self.open_consoles.add(name)
        return _FakeConsole(b"/ # ", lambda: self.open_consoles.discard(name))

    def serial_history(self, name: str, max_bytes: int) -> bytes:
        self._spec(name)
        if self.containers:
            return b""  # libvirt keeps no log of a container's console
        return b"[    0.000000] Linux version 6.1 (fake)\r\n"[-max_bytes:]

    def watch_lifecycle(self, callback: LifecycleCallback) -> None:
        self._callbacks.append(callback)

    def power_off_by_guest(self, name: str) -> None:
        """Test hook: the guest shut itself down."""
        self._set(name, PowerState.STOPPED)

    def close(self) -> None:
        self._callbacks.clear()
