"""Live devices and snapshots on a real TCG guest under libvirt, through the drivers the
agent uses (``LibvirtComputeDriver``, ``LibvirtStorageDriver``).

A BIOS domain boots the test guest's kernel and initramfs directly, with one qcow2 root
volume (serial ``ce-disk-1``) in a directory pool of its own. A second qcow2 volume is
attached live with serial ``ce-disk-2`` and must show up inside the guest (read through
its serial console shell: ``/sys/block/vd*/serial``), then detached and gone again. Then a
snapshot is taken, listed, reverted to and deleted (the guest's root is an initramfs, so
the snapshot's presence is checked through libvirt, not a file in the guest). The domain,
volumes and pool are removed whatever happens.
"""

from __future__ import annotations

import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from cloudenv.drivers.compute.base import (
    Accelerator,
    DirectKernelBoot,
    DiskBus,
    DiskFormat,
    DiskSpec,
    DomainSpec,
    Firmware,
    PowerState,
    QemuConfig,
)
from cloudenv.drivers.compute.libvirt_qemu import LibvirtComputeDriver
from cloudenv.drivers.storage.base import PoolSpec, PoolType
from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver
from tests.guest.build import CMDLINE, MARKER, build_guest
from tests.support.console import Console
from tests.support.libvirt import ensure_libvirtd

pytestmark = pytest.mark.integration

POOLS_ROOT = Path("/var/lib/cloudenv-test/pools")
BOOT_TIMEOUT = 90.0
GUEST_TIMEOUT = 20.0
MIB = 1024**2


@dataclass
class Guest:
    compute: LibvirtComputeDriver
    storage: LibvirtStorageDriver
    name: str
    pool: str
    console: Console

    def serials(self) -> str:
        return self.console.run("cat /sys/block/vd*/serial 2>/dev/null")

    def wait_serials(self, present: str, absent: str = "") -> str:
        """Poll until ``present`` is listed and ``absent`` is not (hot-plug is asynchronous)."""
        deadline, seen = time.monotonic() + GUEST_TIMEOUT, ""
        while time.monotonic() < deadline:
            seen = self.serials()
            if present in seen and not (absent and absent in seen):
                return seen
            time.sleep(0.3)
        raise AssertionError(f"guest disks never became {present!r} without {absent!r}: {seen!r}")


@pytest.fixture(scope="module")
def guest() -> Iterator[Guest]:
    ensure_libvirtd()
    artifacts = build_guest()
    suffix = secrets.token_hex(4)
    name, pool = f"cetest-devices-{suffix}", f"cetest-pool-{suffix}"
    pool_dir = POOLS_ROOT / suffix
    POOLS_ROOT.mkdir(parents=True, exist_ok=True)
    for parent in (POOLS_ROOT.parent, POOLS_ROOT):
        parent.chmod(0o755)
    compute = LibvirtComputeDriver(accelerator=Accelerator.TCG)
    storage = LibvirtStorageDriver()
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, pool_dir, ignore_errors=True)
        cleanup.callback(compute.close)
        cleanup.callback(storage.remove_pool, pool)
        storage.ensure_pool(PoolSpec(pool, PoolType.DIRECTORY, str(pool_dir)))
        root = storage.create_volume(pool, "root.qcow2", 64 * MIB, DiskFormat.QCOW2)
        cleanup.callback(storage.delete_volume, pool, "root.qcow2")
        spec = DomainSpec(
            name=name,
            uuid=str(uuid.uuid4()),
            title="devices test",
            vcpus_sockets=1,
            vcpus_cores=1,
            vcpus_threads=1,
            memory_mb=256,
            accelerator=Accelerator.TCG,
            config=QemuConfig(firmware=Firmware.BIOS),
            disks=(DiskSpec(path=root.path, target="vda", bus=DiskBus.VIRTIO, serial="ce-disk-1"),),
            kernel_boot=DirectKernelBoot(str(artifacts.kernel), str(artifacts.initrd), CMDLINE),
            vnc=False,
        )
        compute.define(spec)
        cleanup.callback(compute.undefine, name)  # with its snapshots' metadata
        compute.start(name)
        cleanup.callback(compute.destroy, name)
        console = Console(compute.open_serial_console(name))
        console.wait_for(MARKER, BOOT_TIMEOUT)
        running = Guest(compute, storage, name, pool, console)
        cleanup.callback(lambda: running.console.close())
        yield running


def test_a_volume_attached_live_appears_in_the_guest_and_goes(guest: Guest) -> None:
    assert "ce-disk-1" in guest.wait_serials("ce-disk-1")
    data = guest.storage.create_volume(guest.pool, "data.qcow2", 32 * MIB, DiskFormat.QCOW2)
    try:
        disk = DiskSpec(path=data.path, target="vdb", bus=DiskBus.VIRTIO, serial="ce-disk-2")
        guest.compute.attach_disk(guest.name, disk, live=True)
        seen = guest.wait_serials("ce-disk-2")
        assert "ce-disk-1" in seen

        guest.compute.detach_disk(guest.name, "vdb", live=True)
        seen = guest.wait_serials("ce-disk-1", absent="ce-disk-2")
        assert "ce-disk-2" not in seen
        guest.compute.detach_disk(guest.name, "vdb", live=True)  # gone already: no error
    finally:
        guest.storage.delete_volume(guest.pool, "data.qcow2")


def test_a_disk_only_the_saved_definition_has_is_detached_live(guest: Guest) -> None:
    """A volume attached with live=false to a running guest is only in the saved
    definition; a live detach of it must not ask the running guest (libvirt: "disk not
    found") but take it out of the definition."""
    import libvirt

    from cloudenv.drivers.compute.libvirt_xml import Domain

    data = guest.storage.create_volume(guest.pool, "later.qcow2", 32 * MIB, DiskFormat.QCOW2)
    conn = libvirt.open("qemu:///system")
    try:
        disk = DiskSpec(path=data.path, target="vdd", bus=DiskBus.VIRTIO, serial="ce-disk-4")
        guest.compute.attach_disk(guest.name, disk, live=False)
        domain = conn.lookupByName(guest.name)
        saved = Domain.from_xml(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert "vdd" in [d.target.dev for d in saved.devices.disks]

        guest.compute.detach_disk(guest.name, "vdd", live=True)

        saved = Domain.from_xml(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        assert "vdd" not in [d.target.dev for d in saved.devices.disks]
    finally:
        conn.close()
        guest.storage.delete_volume(guest.pool, "later.qcow2")


def test_snapshot_create_list_revert_delete(guest: Guest) -> None:
    compute = guest.compute
    compute.snapshot_create(guest.name, "s1", "before the change")
    try:
        (snapshot,) = compute.snapshot_list(guest.name)
        assert (snapshot.name, snapshot.description) == ("s1", "before the change")
        assert snapshot.state == "running" and snapshot.current is True
        assert snapshot.created > 0
        compute.snapshot_revert(guest.name, "s1")
        assert compute.state(guest.name) == PowerState.RUNNING
        # libvirt restarts QEMU for the revert: a console opened before it goes silent
        # (without closing), so open a new one; the guest answers from the restored memory.
        guest.console.close()
        guest.console = Console(compute.open_serial_console(guest.name))
        assert "ce-disk-1" in guest.wait_serials("ce-disk-1")
    finally:
        compute.snapshot_delete(guest.name, "s1")
    assert compute.snapshot_list(guest.name) == []


def test_a_live_detach_waits_for_the_guest_to_release_the_disk(guest: Guest) -> None:
    """libvirt's live detach only asks the guest; a paused guest can't answer, so the
    detach fails after the timeout and the disk is still plugged in. Once the guest runs
    again it lets go, libvirt reports the device removed, and the next detach is done."""
    import libvirt

    from cloudenv.drivers.errors import DriverError

    data = guest.storage.create_volume(guest.pool, "late.qcow2", 32 * MIB, DiskFormat.QCOW2)
    conn = libvirt.open("qemu:///system")
    domain = conn.lookupByName(guest.name)
    try:
        disk = DiskSpec(path=data.path, target="vdc", bus=DiskBus.VIRTIO, serial="ce-disk-3")
        guest.compute.attach_disk(guest.name, disk, live=True)
        guest.wait_serials("ce-disk-3")
        guest.compute.detach_timeout = 8.0  # libvirt itself gives up waiting after 5 s
        domain.suspend()
        started = time.monotonic()
        with pytest.raises(DriverError, match="did not release disk vdc"):
            guest.compute.detach_disk(guest.name, "vdc", live=True)
        assert time.monotonic() - started >= 8.0
        assert "vdc" in domain.XMLDesc(0)  # still in the running guest
        domain.resume()
        deadline = time.monotonic() + GUEST_TIMEOUT
        while "vdc" in domain.XMLDesc(0) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "vdc" not in domain.XMLDesc(0)
        assert "ce-disk-3" not in guest.wait_serials("ce-disk-1", absent="ce-disk-3")
    finally:
        if domain.info()[0] == libvirt.VIR_DOMAIN_PAUSED:
            domain.resume()
        guest.compute.detach_timeout = 30.0
        conn.close()
        guest.storage.delete_volume(guest.pool, "late.qcow2")
