"""The libvirt storage driver's copies into block volumes, written into a real block
device: a loop device stands in for the logical volume (or zvol) that libvirt would have
created, since this machine has no device-mapper or ZFS; libvirt itself is the fake of
tests/unit/drivers/test_block_copies.py (it only hands out the device's path). Real
``qemu-img convert -n`` into ``/dev/loopN``, real writes of an upload.

Needs root and a free loop device (``losetup``); nothing else."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.errors import DriverError
from cloudenv.drivers.storage.libvirt_xml import LogicalPool, Volume
from tests.unit.drivers.test_block_copies import FakePool, FakeVolume, driver_for, made

pytestmark = pytest.mark.integration

MiB = 1024**2
DEVICE_BYTES = 8 * MiB
STALE = b"\xee"  # what a reused logical volume may hold before the copy


class LoopPool(FakePool):
    """A logical pool whose every new volume is the one loop device."""

    def __init__(self, device: str) -> None:
        super().__init__(LogicalPool("lvm-loop", "vg0", "/dev/vg0"), None)
        self.device = device

    def createXML(self, xml: str, _flags: int) -> FakeVolume:
        wanted = Volume.from_xml(xml)
        self.created.append(xml)
        volume = _LoopVolume(self, wanted.name, wanted.capacity_bytes, self.device)
        self.volumes[wanted.name] = volume
        return volume


class _LoopVolume(FakeVolume):
    def delete(self, _flags: int) -> None:  # the device stays; the volume is forgotten
        self.pool.deleted.append(self.name)
        del self.pool.volumes[self.name]


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("attaching a loop device needs root")
    backing = tmp_path / "backing.img"
    backing.write_bytes(STALE * DEVICE_BYTES)
    attached = subprocess.run(
        ["losetup", "--find", "--show", str(backing)], capture_output=True, text=True, check=False
    )
    if attached.returncode != 0:
        pytest.fail(f"losetup could not attach a loop device: {attached.stderr.strip()}")
    device = attached.stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


def _read(device: str, size: int) -> bytes:
    with open(device, "rb") as handle:
        return handle.read(size)


def test_an_image_is_converted_into_the_block_device(tmp_path: Path, loop_device: str) -> None:
    data = bytes(range(256)) * (MiB // 256)
    raw = tmp_path / "base.raw"
    raw.write_bytes(data + b"\0" * MiB)  # 2 MiB: data, then a zero MiB
    image = tmp_path / "base.qcow2"
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(image)],
        check=True,
        capture_output=True,
    )
    pool = LoopPool(loop_device)
    seen: list[tuple[int, int]] = []
    info = driver_for(pool).clone_volume(
        "lvm-loop",
        "vol-1.raw",
        str(image),
        DiskFormat.RAW,
        DEVICE_BYTES,
        lambda done, total: seen.append((done, total)),
    )
    assert made(pool) == [("vol-1.raw", DEVICE_BYTES, DEVICE_BYTES)]
    assert info.path == loop_device
    written = _read(loop_device, DEVICE_BYTES)
    assert written[:MiB] == data
    # Within the image, what the qcow2 leaves unallocated is zero on the device, not
    # whatever the volume held before.
    assert written[MiB : 2 * MiB] == b"\0" * MiB
    assert seen[-1] == (2 * MiB, 2 * MiB)
    assert pool.deleted == []


def test_an_upload_is_written_into_the_block_device(loop_device: str) -> None:
    data = os.urandom(MiB)
    pool = LoopPool(loop_device)
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    driver_for(pool).upload_volume("lvm-loop", "up.raw", chunks, len(data), DiskFormat.RAW)
    assert _read(loop_device, MiB) == data


def test_an_image_larger_than_the_device_fails_and_deletes_the_volume(
    tmp_path: Path, loop_device: str
) -> None:
    big = tmp_path / "big.raw"
    big.write_bytes(b"")
    os.truncate(big, 2 * DEVICE_BYTES)
    pool = LoopPool(loop_device)  # libvirt "made" a volume smaller than it was asked for
    with pytest.raises(DriverError, match="smaller than input"):
        driver_for(pool).clone_volume("lvm-loop", "v.raw", str(big), DiskFormat.RAW, None)
    assert pool.deleted == ["v.raw"]
    assert _read(loop_device, MiB) == STALE * MiB  # qemu-img wrote nothing
