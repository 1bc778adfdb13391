"""The compute driver contract: the same cases against the fake (unit) and against libvirt
with the tiny test guest under TCG (integration), as ``ComputeDriver`` in
``drivers/compute/base.py`` defines the verbs: define, start, shutdown, destroy (kill),
undefine, state, attach and detach a disk, snapshots, and the designer's refusals (the fake
builds every definition through the designer, so it refuses what the libvirt path refuses).

The libvirt run names its domains ``cetest-contract-<random>``, keeps their disks in a pool
of its own under /var/lib/cloudenv-test/pools, and removes domains, volumes and pool
afterwards, whatever happened.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cloudenv.drivers.compute.base import (
    Accelerator,
    ComputeDriver,
    DirectKernelBoot,
    DiskBus,
    DiskFormat,
    DiskSpec,
    DomainSpec,
    Firmware,
    PowerState,
    QemuConfig,
)
from cloudenv.drivers.compute.fake import FakeComputeDriver
from cloudenv.drivers.errors import Conflict, DomainNotFound, InvalidDomain, InvalidInput, NotFound
from cloudenv.machines import Q35

MIB = 1024**2
POOLS_ROOT = Path("/var/lib/cloudenv-test/pools")
SERIAL_LOG_DIR = Path("/var/log/libvirt/qemu")
BIOS = QemuConfig(firmware=Firmware.BIOS)


@dataclass
class Harness:
    """A driver, a way to make specs and disks for it, and ways to look behind it."""

    driver: ComputeDriver
    kernel: DirectKernelBoot
    new_disk: Callable[[str], str]  # a fresh qcow2 file the hypervisor may use -> its path
    defined_disks: Callable[[str], list[str]]  # targets in the persistent definition
    wait_ready: Callable[[str], None]  # until the guest answers ACPI (its marker printed)
    timeout: float  # seconds a state change may take
    names: list[str] = field(default_factory=list)

    def spec(self, **changes: Any) -> DomainSpec:
        """A new domain (unique name), BIOS pc, booting the test guest's kernel."""
        name = f"cetest-contract-{secrets.token_hex(4)}"
        self.names.append(name)
        spec = DomainSpec(
            name=name,
            uuid=str(uuid.uuid4()),
            title="contract test",
            vcpus_sockets=1,
            vcpus_cores=1,
            vcpus_threads=1,
            memory_mb=192,
            accelerator=Accelerator.TCG,
            config=BIOS,
            kernel_boot=self.kernel,
            vnc=False,
            serial_log=str(SERIAL_LOG_DIR / f"{name}-serial.log"),
        )
        return dataclasses.replace(spec, **changes)

    def wait_state(self, name: str, wanted: PowerState | None) -> None:
        deadline = time.monotonic() + self.timeout
        while self.driver.state(name) != wanted:
            if time.monotonic() > deadline:
                state = self.driver.state(name)
                raise AssertionError(f"{name} is {state}, not {wanted}, after {self.timeout} s")
            time.sleep(0.1)


def _fake_harness() -> Iterator[Harness]:
    driver = FakeComputeDriver()
    kernel = DirectKernelBoot("/fake/vmlinuz", "/fake/initrd.gz", "console=ttyS0")

    def defined_disks(name: str) -> list[str]:
        return [d.target for d in driver.domains[name].disks]

    yield Harness(driver, kernel, lambda n: f"/fake/pool/{n}", defined_disks, lambda n: None, 1)


def _libvirt_harness() -> Iterator[Harness]:
    from cloudenv.drivers.compute.libvirt_qemu import LibvirtComputeDriver
    from cloudenv.drivers.compute.libvirt_xml import Domain
    from cloudenv.drivers.storage.base import PoolSpec, PoolType
    from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver
    from tests.guest.build import CMDLINE, MARKER, build_guest
    from tests.support.libvirt import ensure_libvirtd

    ensure_libvirtd()
    artifacts = build_guest()
    suffix = secrets.token_hex(4)
    pool, pool_dir = f"cetest-contract-{suffix}", POOLS_ROOT / f"contract-{suffix}"
    POOLS_ROOT.mkdir(parents=True, exist_ok=True)
    for parent in (POOLS_ROOT.parent, POOLS_ROOT):
        parent.chmod(0o755)
    compute = LibvirtComputeDriver(accelerator=Accelerator.TCG)
    storage = LibvirtStorageDriver()
    kernel = DirectKernelBoot(str(artifacts.kernel), str(artifacts.initrd), CMDLINE)

    def new_disk(name: str) -> str:
        return storage.create_volume(pool, name, 16 * MIB, DiskFormat.QCOW2).path

    def defined_disks(name: str) -> list[str]:
        import libvirt

        conn = libvirt.open("qemu:///system")
        try:
            xml = conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        finally:
            conn.close()
        return [d.target.dev for d in Domain.from_xml(xml).devices.disks]

    def wait_ready(name: str) -> None:
        deadline = time.monotonic() + 120
        while MARKER.encode() not in compute.serial_history(name, 1 << 20):
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}: no {MARKER} on the serial console within 120 s")
            time.sleep(0.2)

    harness = Harness(compute, kernel, new_disk, defined_disks, wait_ready, 60)
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, pool_dir, ignore_errors=True)
        cleanup.callback(storage.remove_pool, pool)
        cleanup.callback(compute.close)
        storage.ensure_pool(PoolSpec(pool, PoolType.DIRECTORY, str(pool_dir)))

        def forget_domains() -> None:
            for name in harness.names:
                compute.destroy(name)
                compute.undefine(name)

        cleanup.callback(forget_domains)
        yield harness


@pytest.fixture(
    params=[
        pytest.param("fake", marks=pytest.mark.unit),
        pytest.param("libvirt", marks=pytest.mark.integration),
    ]
)
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from (_fake_harness() if request.param == "fake" else _libvirt_harness())


# -- lifecycle -----------------------------------------------------------------------


def test_define_start_kill_undefine(h: Harness) -> None:
    spec = h.spec()
    d, name = h.driver, spec.name
    assert d.state(name) is None
    d.define(spec)
    assert d.state(name) == PowerState.STOPPED
    assert d.list_domains()[name] == PowerState.STOPPED
    d.start(name)
    h.wait_state(name, PowerState.RUNNING)
    d.start(name)  # already running: no error
    with pytest.raises(Conflict, match="running"):
        d.undefine(name)
    assert d.state(name) == PowerState.RUNNING
    d.destroy(name)
    h.wait_state(name, PowerState.STOPPED)
    d.destroy(name)  # not running: no error
    d.undefine(name)
    assert d.state(name) is None
    assert name not in d.list_domains()
    d.undefine(name)  # missing: no error
    d.destroy(name)


def test_define_again_replaces_the_definition(h: Harness) -> None:
    spec = h.spec()
    h.driver.define(spec)
    h.driver.define(dataclasses.replace(spec, memory_mb=256, vcpus_cores=2))
    stats = h.driver.stats(spec.name)
    assert (stats.memory_kib, stats.vcpus) == (256 * 1024, 2)
    assert h.driver.state(spec.name) == PowerState.STOPPED


def test_bulk_stats_read_every_running_domain_in_one_call(h: Harness) -> None:
    running, stopped = h.spec(vcpus_cores=2), h.spec(memory_mb=128)
    h.driver.define(running)
    h.driver.define(stopped)
    h.driver.start(running.name)
    h.wait_ready(running.name)
    first = h.driver.bulk_stats()
    assert running.name in first
    assert stopped.name not in first  # only running domains
    stats = first[running.name]
    assert (stats.memory_kib, stats.vcpus) == (192 * 1024, 2)
    assert stats.cpu_time_ns > 0 and (stats.memory_used_kib or 1) > 0
    assert stats.disk_read_bytes >= 0 and stats.disk_write_bytes >= 0
    # Counters: the guest's CPU time grows from one call to the next (a bounded wait).
    deadline = time.monotonic() + h.timeout
    while h.driver.bulk_stats()[running.name].cpu_time_ns <= stats.cpu_time_ns:
        assert time.monotonic() < deadline, "the guest's CPU time did not grow"
        time.sleep(0.1)
    h.driver.destroy(running.name)
    h.wait_state(running.name, PowerState.STOPPED)
    assert running.name not in h.driver.bulk_stats()


def test_shutdown_asks_the_guest(h: Harness) -> None:
    spec = h.spec()
    h.driver.define(spec)
    h.driver.start(spec.name)
    h.wait_ready(spec.name)
    h.driver.shutdown(spec.name)
    h.wait_state(spec.name, PowerState.STOPPED)
    h.driver.shutdown(spec.name)  # not running: no error


def test_lifecycle_events_reach_the_watcher(h: Harness) -> None:
    seen: list[tuple[str, PowerState]] = []
    h.driver.watch_lifecycle(lambda name, state: seen.append((name, state)))
    spec = h.spec()
    h.driver.define(spec)
    h.driver.start(spec.name)
    h.driver.destroy(spec.name)
    deadline = time.monotonic() + h.timeout
    wanted = [PowerState.RUNNING, PowerState.STOPPED]

    def heard() -> list[PowerState]:
        """The states reported for the domain, repeats folded (libvirt reports a start as
        started then resumed)."""
        states = [state for name, state in list(seen) if name == spec.name]
        return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]

    while heard() != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    assert heard() == wanted


def test_verbs_on_a_missing_domain(h: Harness) -> None:
    name = h.spec().name
    assert h.driver.state(name) is None
    for verb in (h.driver.start, h.driver.reboot):
        with pytest.raises(DomainNotFound):
            verb(name)
    with pytest.raises(DomainNotFound):
        h.driver.attach_disk(
            name, DiskSpec(path="/x", target="vdb", bus=DiskBus.VIRTIO), live=False
        )
    with pytest.raises(DomainNotFound):
        h.driver.snapshot_list(name)


# -- the designer's refusals ---------------------------------------------------------


def test_refusals_are_invalid_input_and_define_nothing(h: Harness) -> None:
    ide = DiskSpec(path=h.new_disk("ide.qcow2"), target="hda", bus=DiskBus.IDE)
    cases: list[tuple[DomainSpec, type[Exception], str]] = [
        (h.spec(config=QemuConfig(machine=Q35, firmware=Firmware.BIOS), disks=(ide,)),
         InvalidInput, "q35 machine type has no ide bus"),
        (h.spec(vcpus_sockets=64, vcpus_cores=64, vcpus_threads=64), InvalidInput, "262144"),
        (h.spec(memory_mb=16), InvalidInput, "memory must be between"),
        (h.spec(title="two\nlines"), InvalidDomain, "single line"),
    ]  # fmt: skip
    for spec, error, words in cases:
        with pytest.raises(error, match=words):
            h.driver.define(spec)
        assert h.driver.state(spec.name) is None


# -- disks ---------------------------------------------------------------------------


def test_attach_and_detach_a_disk_on_a_stopped_domain(h: Harness) -> None:
    spec = h.spec(
        disks=(DiskSpec(path=h.new_disk("root.qcow2"), target="vda", bus=DiskBus.VIRTIO),)
    )
    h.driver.define(spec)
    data = DiskSpec(path=h.new_disk("data.qcow2"), target="vdb", bus=DiskBus.VIRTIO, serial="d")
    h.driver.attach_disk(spec.name, data, live=True)  # live on a stopped domain: config only
    assert h.defined_disks(spec.name) == ["vda", "vdb"]
    h.driver.detach_disk(spec.name, "vdb", live=True)
    assert h.defined_disks(spec.name) == ["vda"]
    h.driver.detach_disk(spec.name, "vdb", live=False)  # gone already: no error
    assert h.defined_disks(spec.name) == ["vda"]


def test_attach_refuses_a_bus_the_machine_type_lacks(h: Harness) -> None:
    spec = h.spec(config=QemuConfig(machine=Q35, firmware=Firmware.BIOS))
    h.driver.define(spec)
    ide = DiskSpec(path=h.new_disk("late.qcow2"), target="hda", bus=DiskBus.IDE)
    with pytest.raises(InvalidInput, match="q35 machine type has no ide bus"):
        h.driver.attach_disk(spec.name, ide, live=False)
    cdrom = DiskSpec(path="", target="vdc", bus=DiskBus.VIRTIO, device="cdrom")
    with pytest.raises(InvalidInput, match="CD-ROM can't sit on the virtio bus"):
        h.driver.attach_disk(spec.name, cdrom, live=False)
    assert h.defined_disks(spec.name) == []


# -- snapshots -----------------------------------------------------------------------


def test_snapshots_of_a_stopped_domain(h: Harness) -> None:
    root = DiskSpec(path=h.new_disk("snap.qcow2"), target="vda", bus=DiskBus.VIRTIO)
    spec = h.spec(disks=(root,))
    d, name = h.driver, spec.name
    d.define(spec)
    assert d.snapshot_list(name) == []
    d.snapshot_create(name, "s1", "first")
    d.snapshot_create(name, "s2", "")
    listed = {s.name: s for s in d.snapshot_list(name)}
    assert set(listed) == {"s1", "s2"}
    assert (listed["s1"].description, listed["s1"].state) == ("first", "shutoff")
    assert listed["s2"].current and not listed["s1"].current
    assert listed["s1"].created > 0
    d.snapshot_revert(name, "s1")
    assert [s.name for s in d.snapshot_list(name) if s.current] == ["s1"]
    assert d.state(name) == PowerState.STOPPED
    with pytest.raises(NotFound, match="no snapshot missing"):
        d.snapshot_revert(name, "missing")
    d.snapshot_delete(name, "s2")
    d.snapshot_delete(name, "s2")  # gone already: no error
    assert [s.name for s in d.snapshot_list(name)] == ["s1"]
    d.snapshot_delete(name, "s1")
    d.undefine(name)
    assert d.state(name) is None
