"""Filesystem volumes for containers, without mounting anything: a root filesystem volume
made by mke2fs from a hand-made tarball (read back with debugfs), a blank volume
formatted for a container's root and one holding other data refused untouched; and the
plan that turns filesystem volumes into the directories the node mounts them on, which
the designer insists on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cloudenv.drivers.compute.base import (
    ContainerSpec,
    DomainSpec,
    MountKind,
    MountSpec,
)
from cloudenv.drivers.compute.container_designer import container_xml
from cloudenv.drivers.compute.container_mounts import HOSTNAME_KEY, HostMounts
from cloudenv.drivers.errors import InvalidDomain, Unsupported
from cloudenv.drivers.storage import filesystems
from cloudenv.errors import DriverError
from tests.support.container_images import Entry, container_domain, directory, make_tar

pytestmark = pytest.mark.unit

MIB = 1024**2


def _volume(path: Path, size: int = 32 * MIB) -> str:
    with open(path, "wb") as out:
        out.truncate(size)
    return str(path)


def _debugfs(volume: str, request: str) -> str:
    done = subprocess.run(["debugfs", "-R", request, volume], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _tarball(tmp_path: Path, *entries: Entry) -> Path:
    path = tmp_path / "rootfs.tar"
    path.write_bytes(make_tar([directory("./"), directory("etc"), *entries]))
    return path


def test_a_root_filesystem_volume_holds_the_files_owned_by_the_mapped_root(
    tmp_path: Path,
) -> None:
    volume = _volume(tmp_path / "root.raw")
    staging = tmp_path / "staging"
    staging.mkdir()
    tarball = _tarball(tmp_path, Entry("etc/motd", data=b"hello\n"), Entry("etc/app", uid=33))
    filesystems.fill_rootfs(volume, tarball, str(staging), uid_offset=100000, gid_offset=100000)
    assert _debugfs(volume, "cat /etc/motd") == "hello\n"
    assert "User: 100000" in _debugfs(volume, "stat /etc/motd")
    assert "User: 100033" in _debugfs(volume, "stat /etc/app")
    assert "User: 100000" in _debugfs(volume, "stat /")  # its top: the container's root
    assert filesystems.probe_filesystem(volume) == "ext4"
    assert os.listdir(staging) == []  # the unpacked copy is gone


def test_files_that_do_not_fit_are_said_so_and_the_staging_copy_goes(tmp_path: Path) -> None:
    volume = _volume(tmp_path / "small.raw", filesystems.MIN_BYTES)
    staging = tmp_path / "staging"
    staging.mkdir()
    tarball = _tarball(tmp_path, Entry("big", data=os.urandom(24 * MIB)))
    with pytest.raises(DriverError, match="don't fit: give the volume more space"):
        filesystems.fill_rootfs(volume, tarball, str(staging), uid_offset=0, gid_offset=0)
    assert os.listdir(staging) == []


def test_a_blank_volume_is_formatted_once_and_other_data_is_refused_untouched(
    tmp_path: Path,
) -> None:
    blank = _volume(tmp_path / "blank.raw")
    assert filesystems.format_if_blank(blank, uid=100000, gid=100000) is True
    assert "User: 100000" in _debugfs(blank, "stat /")
    assert filesystems.format_if_blank(blank, uid=0, gid=0) is False  # kept as it is
    assert "User: 100000" in _debugfs(blank, "stat /")

    data = tmp_path / "disk.raw"
    data.write_bytes(b"\x55\xaa" * 4096 + bytes(MIB))
    before = data.read_bytes()
    with pytest.raises(Unsupported, match="holds data but no filesystem"):
        filesystems.format_if_blank(str(data), uid=0, gid=0)
    assert data.read_bytes() == before


def _spec(container: ContainerSpec) -> DomainSpec:
    return container_domain("ct-1", container, metadata={"instance": "ct-1"})


def test_the_plan_gives_libvirt_the_node_s_mount_directories(tmp_path: Path) -> None:
    container = ContainerSpec(
        rootfs="/pools/a/vol-root.raw",
        rootfs_kind=MountKind.FILESYSTEM,
        hostname="web-1",
        mounts=(
            MountSpec(source="/dev/vg0/vol-data", target="/srv", kind=MountKind.FILESYSTEM),
            MountSpec(source="/pools/a/vol-dir.dir", target="/mnt/dir"),
        ),
    )
    spec = _spec(container)
    with pytest.raises(InvalidDomain, match="is a filesystem volume; the node mounts it"):
        container_xml(spec)  # the designer gets directories only
    planned = HostMounts(tmp_path).plan(spec)
    assert planned.table == {
        f"{tmp_path}/ct-1/root": "/pools/a/vol-root.raw",
        f"{tmp_path}/ct-1/vol-data": "/dev/vg0/vol-data",
    }
    assert HostMounts.table_of(planned.spec.metadata) == planned.table
    assert planned.spec.metadata[HOSTNAME_KEY] == "web-1"
    xml = container_xml(planned.spec)
    assert f'<source dir="{tmp_path}/ct-1/root" />' in xml
    assert f'<source dir="{tmp_path}/ct-1/vol-data" />' in xml
    assert '<source dir="/pools/a/vol-dir.dir" />' in xml  # a directory stays as it is
    assert 'type="file"' not in xml and 'type="block"' not in xml


def test_a_container_of_directories_only_is_planned_unchanged(tmp_path: Path) -> None:
    spec = _spec(ContainerSpec(rootfs="/pools/a/vol-root"))
    assert HostMounts(tmp_path).plan(spec).spec == spec
