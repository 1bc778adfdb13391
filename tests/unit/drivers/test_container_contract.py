"""The container driver contract: the same cases against the fake standing for containers
(unit) and against libvirt's LXC driver with a busybox root filesystem (integration): define
and start, the console one viewer at a time, per-container stats, kill and undefine, and the
verbs containers refuse (block disks, snapshots, live disk resize) or answer with nothing
(VNC).

The libvirt run unpacks busybox under /var/lib/cloudenv-test/containers with its owners
shifted into root's subordinate IDs, names its domains ``cetest-ct-<random>``, and removes
domains and directories afterwards, whatever happened.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cloudenv.drivers.compute.base import (
    ComputeDriver,
    ContainerSpec,
    DiskBus,
    DiskSpec,
    DomainSpec,
    IdMapping,
    PowerState,
)
from cloudenv.drivers.compute.fake import FakeComputeDriver
from cloudenv.drivers.errors import Conflict, Unsupported
from tests.support.container_images import container_domain

ROOTS = Path("/var/lib/cloudenv-test/containers")


@dataclass
class Harness:
    driver: ComputeDriver
    rootfs: str
    idmap: IdMapping | None
    live: bool  # a real container: its console answers commands
    names: list[str] = field(default_factory=list)

    def spec(self) -> DomainSpec:
        name = f"cetest-ct-{secrets.token_hex(3)}"
        self.names.append(name)
        return container_domain(name, ContainerSpec(rootfs=self.rootfs, idmap=self.idmap))


def _fake_harness() -> Iterator[Harness]:
    yield Harness(FakeComputeDriver(containers=True), "/var/lib/fake/rootfs", None, False)


def _libvirt_harness() -> Iterator[Harness]:
    from cloudenv.drivers.compute.libvirt_lxc import LibvirtLxcDriver
    from cloudenv.drivers.images.unpack import unpack_rootfs
    from cloudenv.host.subids import root_range
    from tests.support.container_images import build_busybox_rootfs, tar_of_directory
    from tests.support.libvirt import ensure_libvirtd

    ensure_libvirtd()
    ids = root_range()
    work = ROOTS / f"contract-{secrets.token_hex(3)}"
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        work.mkdir(parents=True)
        tarball = work / "busybox.tar"
        tarball.write_bytes(tar_of_directory(build_busybox_rootfs(work / "source")))
        root = work / "root"
        unpack_rootfs(tarball, root, uid_offset=ids.uid, gid_offset=ids.gid)
        driver = LibvirtLxcDriver()
        idmap = IdMapping(uid=ids.uid, gid=ids.gid, count=ids.count)
        harness = Harness(driver, str(root), idmap, True)
        cleanup.callback(driver.close)

        def forget() -> None:
            for name in harness.names:
                driver.destroy(name)
                driver.undefine(name)

        cleanup.callback(forget)
        yield harness


@pytest.fixture(
    params=[
        pytest.param("fake", marks=pytest.mark.unit),
        pytest.param("libvirt", marks=pytest.mark.integration),
    ]
)
def h(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from (_fake_harness() if request.param == "fake" else _libvirt_harness())


def _wait(driver: ComputeDriver, name: str, wanted: PowerState | None) -> None:
    deadline = time.monotonic() + 30
    while driver.state(name) != wanted:
        assert time.monotonic() < deadline, f"{name} never became {wanted}"
        time.sleep(0.1)


def test_define_start_stats_kill_undefine(h: Harness) -> None:
    spec = h.spec()
    d, name = h.driver, spec.name
    d.define(spec)
    assert d.state(name) == PowerState.STOPPED
    d.start(name)
    _wait(d, name, PowerState.RUNNING)
    assert d.list_domains()[name] == PowerState.RUNNING
    stats = d.bulk_stats()[name]
    assert stats.memory_kib == 64 * 1024 and stats.vcpus == 1
    d.start(name)  # already running: no error
    with pytest.raises(Conflict):
        d.undefine(name)
    d.destroy(name)
    _wait(d, name, PowerState.STOPPED)
    assert name not in d.bulk_stats()
    d.destroy(name)  # not running: no error
    d.undefine(name)
    assert d.state(name) is None
    d.undefine(name)  # missing: no error


def test_the_console_has_one_viewer_at_a_time(h: Harness) -> None:
    spec = h.spec()
    d, name = h.driver, spec.name
    d.define(spec)
    d.start(name)
    _wait(d, name, PowerState.RUNNING)
    first = d.open_serial_console(name)
    try:
        with pytest.raises(Conflict, match="already open in another window"):
            d.open_serial_console(name)
        if h.live:
            # The daemon's other API worker processes have drivers of their own: the one
            # viewer holds for them too (a lock in one driver object did not).
            other = type(d)()
            try:
                with pytest.raises(Conflict, match="already open in another window"):
                    other.open_serial_console(name)
            finally:
                other.close()
            first.send(b"echo $((40+2))-from-inside\n")
            seen, deadline = b"", time.monotonic() + 20
            while b"42-from-inside" not in seen and time.monotonic() < deadline:
                seen += first.recv(4096)
            assert b"42-from-inside" in seen
    finally:
        first.close()
    d.open_serial_console(name).close()  # free again once the first closed
    assert d.vnc_endpoint(name) is None


def test_what_containers_do_not_have_is_refused(h: Harness) -> None:
    spec = h.spec()
    d, name = h.driver, spec.name
    d.define(spec)
    disk = DiskSpec(path="/tmp/x.qcow2", target="vdb", bus=DiskBus.VIRTIO)
    for call in (
        lambda: d.attach_disk(name, disk, live=False),
        lambda: d.detach_disk(name, "vdb", live=False),
        lambda: d.resize_disk(name, "vdb", 1 << 30),
        lambda: d.snapshot_create(name, "s1", ""),
    ):
        with pytest.raises(Unsupported, match="not available for containers"):
            call()
    assert d.snapshot_list(name) == []
