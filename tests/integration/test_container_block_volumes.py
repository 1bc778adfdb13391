"""Containers on block devices, with a loop device standing in for a logical volume or a
zvol (this machine has neither device-mapper nor ZFS): the busybox root filesystem made
on one by mke2fs, a blank one formatted as a mount point, both mounted by the node while
an unprivileged container runs on them through libvirt's LXC driver, and unmounted when
it is killed. And a mount libvirtd would not see is refused before the container starts.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from cloudenv.drivers.compute.base import (
    ContainerSpec,
    IdMapping,
    MountKind,
    MountSpec,
    PowerState,
)
from cloudenv.drivers.compute.container_mounts import MOUNT_DIR, HostMounts
from cloudenv.drivers.storage import filesystems
from cloudenv.errors import DriverError
from tests.support.container_images import (
    build_busybox_rootfs,
    container_domain,
    tar_of_directory,
)
from tests.support.libvirt import ensure_libvirtd

pytestmark = pytest.mark.integration

WORK = Path("/var/lib/cloudenv-test/block-volumes")
MIB = 1024**2


def _loop_device(backing: Path, size: int) -> str:
    with open(backing, "wb") as out:
        out.truncate(size)
    done = subprocess.run(
        ["losetup", "--find", "--show", str(backing)], capture_output=True, text=True, check=True
    )
    device = done.stdout.strip()
    assert Path(device).is_block_device()
    return device


@pytest.fixture
def work() -> Iterator[tuple[Path, ExitStack]]:
    directory = WORK / secrets.token_hex(3)
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, directory, ignore_errors=True)
        directory.mkdir(parents=True)
        yield directory, cleanup


def _mounted(name: str) -> list[str]:
    home = MOUNT_DIR / name
    return sorted(p.name for p in home.iterdir() if os.path.ismount(p)) if home.is_dir() else []


def test_an_unprivileged_container_runs_on_block_devices(
    work: tuple[Path, ExitStack],
) -> None:
    from cloudenv.drivers.compute.libvirt_lxc import LibvirtLxcDriver
    from cloudenv.host.subids import root_range

    ensure_libvirtd()
    directory, cleanup = work
    ids = root_range()
    root_device = _loop_device(directory / "root.img", 64 * MIB)
    cleanup.callback(subprocess.run, ["losetup", "-d", root_device], check=False)
    data_device = _loop_device(directory / "data.img", 32 * MIB)
    cleanup.callback(subprocess.run, ["losetup", "-d", data_device], check=False)

    tarball = directory / "busybox.tar"
    tarball.write_bytes(tar_of_directory(build_busybox_rootfs(directory / "source")))
    filesystems.fill_rootfs(
        root_device, tarball, str(directory), uid_offset=ids.uid, gid_offset=ids.gid
    )
    assert filesystems.format_if_blank(data_device, uid=ids.uid, gid=ids.gid) is True

    driver = LibvirtLxcDriver()
    cleanup.callback(driver.close)
    name = f"cetest-blk-{secrets.token_hex(3)}"
    cleanup.callback(driver.undefine, name)
    cleanup.callback(driver.destroy, name)
    driver.define(
        container_domain(
            name,
            ContainerSpec(
                rootfs=root_device,
                rootfs_kind=MountKind.FILESYSTEM,
                hostname="blk-1",
                idmap=IdMapping(uid=ids.uid, gid=ids.gid, count=ids.count),
                mounts=(MountSpec(source=data_device, target="/srv", kind=MountKind.FILESYSTEM),),
            ),
        )
    )
    assert _mounted(name) == []  # mounted only while it runs
    driver.start(name)
    assert driver.state(name) == PowerState.RUNNING
    leaf = os.path.basename(data_device)
    assert _mounted(name) == sorted(["root", leaf])
    console = driver.open_serial_console(name)
    try:
        # From the container's own shell: root inside is the mapped root (virsh
        # lxc-enter-namespace would be an unmapped user there, refused the write)
        console.send(
            b"echo on-block > /srv/note; cat /srv/note /etc/hostname; "
            b"grep ' /srv ' /proc/mounts; echo END-$((40+2))\n"
        )
        seen, deadline = b"", time.monotonic() + 30
        while b"END-42" not in seen and time.monotonic() < deadline:
            seen += console.recv(4096)
    finally:
        console.close()
    said = seen.decode(errors="replace")
    assert "END-42" in said and "blk-1" in said and " ext4 " in said, said
    assert "on-block" in said.split("END-42")[0].split("\n", 1)[1], said

    driver.destroy(name)
    assert _mounted(name) == [] and not (MOUNT_DIR / name).exists()
    # What it wrote is on the device, owned by the container's root as the node sees it.
    stat = subprocess.run(
        ["debugfs", "-D", "-R", "stat /note", data_device],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"User: {ids.uid}" in stat.stdout
    note = subprocess.run(
        ["debugfs", "-D", "-R", "cat /note", data_device],
        capture_output=True,
        text=True,
        check=True,
    )
    assert note.stdout == "on-block\n"


def test_a_mount_libvirtd_would_not_see_is_refused_and_undone(
    work: tuple[Path, ExitStack],
) -> None:
    """A stand-in for a libvirtd in a private mount namespace: the check compares the
    directory as this process sees it with the same path seen through that process."""
    directory, cleanup = work
    volume = directory / "fs.img"
    with open(volume, "wb") as out:
        out.truncate(32 * MIB)
    assert filesystems.format_if_blank(str(volume), uid=0, gid=0)
    base = directory / "mounts"
    base.mkdir()
    isolated = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sleep", "60"])
    cleanup.callback(isolated.wait)
    cleanup.callback(isolated.kill)
    pidfile = directory / "libvirtd.pid"
    pidfile.write_text(f"{isolated.pid}\n")
    mounts = HostMounts(base, libvirtd_pidfile=pidfile)
    with pytest.raises(DriverError, match="libvirtd can't see the filesystems"):
        mounts.mount_all("ct-hidden", {str(base / "ct-hidden" / "root"): str(volume)})
    assert not (base / "ct-hidden").exists()  # unmounted again, directories gone
