"""Copies of images into logical, zfs and rbd pools by the libvirt storage driver, without
LVM, ZFS or Ceph: a fake libvirt connection whose pools hand out "devices" that are
regular files in tmp_path, and qemu-img recorded (the real one for devices, where a file
stands in for the device; a stand-in for RBD targets, which need a Ceph cluster).

What must hold: the volume libvirt creates is raw, at the requested capacity or the
image's virtual size (whichever is larger), fully allocated; the image goes in with
``qemu-img convert -n`` (format given, never guessed) to the device or, for rbd, to the
RBD image through the pool's monitors with the Ceph key passed through a pipe; a failure
at any step deletes the volume; the hostile-image checks on the source stay; iSCSI pools
still refuse copies. ``tests/integration/test_block_device_copy.py`` runs the same driver
into a real loop device."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import libvirt
import pytest

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.errors import Conflict, DriverError, InvalidInput, Unsupported
from cloudenv.drivers.storage import libvirt_pools
from cloudenv.drivers.storage.base import PoolSpec, PoolType, StorageDriver
from cloudenv.drivers.storage.fake import FakeStorageDriver
from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver
from cloudenv.drivers.storage.libvirt_xml import (
    AnyPool,
    IscsiDirectPool,
    LogicalPool,
    PoolAuth,
    PoolHost,
    RbdPool,
    Volume,
    ZfsPool,
)
from cloudenv.drivers.storage.node_probe import NodeProbe, Run

pytestmark = pytest.mark.unit

MiB = 1024**2
CEPH_KEY = "QVFBbm1FQmZ2R0lvR1JBQTFUZjdjY0VYS0dlZGJ3PT0="  # base64, as a user gives it
CEPH_KEY_BYTES = b"AQAnmEBfvGIoGRAA1Tf7ccEXKGedbw=="  # what libvirt's secret holds
KEY_SECRET = "secret,id=cloudenv-ceph-key,file=/dev/fd/{fd},format=raw"


def libvirt_error(code: int, message: str) -> libvirt.libvirtError:
    """A libvirtError carrying ``code`` as libvirt's own would."""
    err = libvirt.libvirtError(message)
    err.err = (code, 0, message, 2, None, None, None, 0, 0)
    return err


@dataclass
class FakeVolume:
    pool: FakePool
    name: str
    capacity: int
    path_: str

    def XMLDesc(self, _flags: int) -> str:
        return Volume(self.name, self.capacity, None, self.capacity, path=self.path_).to_xml()

    def path(self) -> str:
        return self.path_

    def wipe(self, _flags: int) -> None:
        self.pool.wiped.append(self.name)
        Path(self.path_).write_bytes(bytes(self.capacity))

    def delete(self, _flags: int) -> None:
        self.pool.deleted.append(self.name)
        del self.pool.volumes[self.name]
        Path(self.path_).unlink(missing_ok=True)  # the logical volume or zvol is gone


@dataclass
class FakePool:
    """A running libvirt pool. ``devices``: where a new volume's "device" is made (a file
    of the volume's size), None for rbd (its volumes are RBD images, no local path);
    ``appears``: whether the device shows up at all (udev may not make it)."""

    definition: AnyPool
    devices: Path | None
    appears: bool = True
    volumes: dict[str, FakeVolume] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)  # the volume XML libvirt was given
    deleted: list[str] = field(default_factory=list)
    wiped: list[str] = field(default_factory=list)

    def isActive(self) -> int:
        return 1

    def autostart(self) -> int:
        return 1

    def XMLDesc(self, _flags: int) -> str:
        return self.definition.to_xml()

    def refresh(self, _flags: int) -> None:
        pass

    def listAllVolumes(self, _flags: int) -> list[FakeVolume]:
        return list(self.volumes.values())

    def info(self) -> list[int]:
        return [2, 100 * MiB, 0, 100 * MiB]

    def storageVolLookupByName(self, name: str) -> FakeVolume:
        if name not in self.volumes:
            raise libvirt_error(libvirt.VIR_ERR_NO_STORAGE_VOL, f"no volume {name}")
        return self.volumes[name]

    def createXML(self, xml: str, _flags: int) -> FakeVolume:
        wanted = Volume.from_xml(xml)
        self.created.append(xml)
        if self.devices is None:
            path = f"{getattr(self.definition, 'ceph_pool', '')}/{wanted.name}"
        else:
            path = str(self.devices / wanted.name)
            if self.appears:
                with open(path, "wb") as device:
                    device.truncate(wanted.capacity_bytes)
        volume = FakeVolume(self, wanted.name, wanted.capacity_bytes, path)
        self.volumes[wanted.name] = volume
        return volume


class FakeConnection:
    def __init__(self, *pools: FakePool) -> None:
        self.pools = {p.definition.name: p for p in pools}

    def isAlive(self) -> int:
        return 1

    def storagePoolLookupByName(self, name: str) -> FakePool:
        if name not in self.pools:
            raise libvirt_error(libvirt.VIR_ERR_NO_STORAGE_POOL, f"no pool {name}")
        return self.pools[name]

    def secretLookupByUsage(self, _usage: int, usage_id: str) -> Any:
        raise libvirt_error(libvirt.VIR_ERR_NO_SECRET, f"no secret {usage_id}")

    def getStoragePoolCapabilities(self, _flags: int) -> str:
        kinds = ("dir", "netfs", "logical", "iscsi-direct", "rbd", "zfs")
        pools = "".join(f"<pool type='{k}' supported='yes'/>" for k in kinds)
        return f"<storagepoolCapabilities>{pools}</storagepoolCapabilities>"


def made(pool: FakePool) -> list[tuple[str, int, int | None]]:
    """The volumes libvirt was asked to create: (name, capacity, allocation); each raw
    as the block backends take it (no <format>)."""
    volumes = [Volume.from_xml(xml) for xml in pool.created]
    assert all("<format" not in xml for xml in pool.created)
    return [(v.name, v.capacity_bytes, v.allocation_bytes) for v in volumes]


def driver_for(*pools: FakePool) -> LibvirtStorageDriver:
    conn = FakeConnection(*pools)
    probe = NodeProbe(which=lambda _tool: None, run=lambda _argv: Run(0, "", ""))
    return LibvirtStorageDriver(lambda: conn, initiator="iqn.2026-12.test:n", probe=probe)


# -- qemu-img, recorded ------------------------------------------------------------------


@dataclass
class QemuImg:
    """Every qemu-img command the driver runs, and what came through a pipe it passed.
    ``stand_in`` maps a ``convert`` command to the one really run (default: itself)."""

    calls: list[list[str]] = field(default_factory=list)
    piped: list[bytes] = field(default_factory=list)
    stand_in: Callable[[list[str]], list[str]] | None = None

    def converts(self) -> list[list[str]]:
        return [c for c in self.calls if c[1] == "convert"]


@pytest.fixture
def qemu_img(monkeypatch: pytest.MonkeyPatch) -> QemuImg:
    recorded = QemuImg()
    real_run, real_popen = subprocess.run, subprocess.Popen

    def run(args: list[str], *rest: Any, **kwargs: Any) -> Any:
        recorded.calls.append(list(args))
        return real_run(args, *rest, **kwargs)

    def popen(args: list[str], *rest: Any, **kwargs: Any) -> Any:
        recorded.calls.append(list(args))
        for fd in kwargs.get("pass_fds", ()):
            recorded.piped.append(os.read(fd, 4096))  # the stand-in "reads" the secret
        command = recorded.stand_in(list(args)) if recorded.stand_in else list(args)
        return real_popen(command, *rest, **kwargs)

    namespace = SimpleNamespace(
        run=run, Popen=popen, PIPE=subprocess.PIPE, STDOUT=subprocess.STDOUT
    )
    monkeypatch.setattr(libvirt_pools, "subprocess", namespace)
    return recorded


def succeeds(_args: list[str]) -> list[str]:
    """A qemu-img convert into Ceph that worked, printing progress as qemu-img does."""
    return ["sh", "-c", r"printf '    (50.00/100%%)\r'"]


def fails(_args: list[str]) -> list[str]:
    return ["sh", "-c", "echo 'qemu-img: error while writing at byte 0: No space left' >&2; exit 1"]


# -- images ------------------------------------------------------------------------------


@pytest.fixture
def raw_data() -> bytes:
    return bytes(range(256)) * (MiB // 256)  # 1 MiB a guest would see


@pytest.fixture
def images(tmp_path: Path, raw_data: bytes) -> Path:
    """``base.raw`` (1 MiB of ``raw_data``), ``base.qcow2`` (the same as qcow2) and
    ``child.qcow2`` (backed by base.raw: refused as a clone source)."""
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "base.raw").write_bytes(raw_data)
    for args in (
        ["convert", "-f", "raw", "-O", "qcow2", "base.raw", "base.qcow2"],
        ["create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "child.qcow2"],
    ):
        subprocess.run(["qemu-img", *args], cwd=folder, check=True, capture_output=True)
    return folder


def lvm_pool(tmp_path: Path, **extra: Any) -> FakePool:
    devices = tmp_path / "dev-vg0"
    devices.mkdir(exist_ok=True)
    return FakePool(LogicalPool("lvm-1", "vg0", str(devices)), devices, **extra)


def zfs_pool(tmp_path: Path, **extra: Any) -> FakePool:
    devices = tmp_path / "zvol-tank"
    devices.mkdir(exist_ok=True)
    return FakePool(ZfsPool("zfs-1", "tank"), devices, **extra)


RBD_HOSTS = (PoolHost("10.0.0.1", 6789), PoolHost("mon2"))
RBD_AUTH = PoolAuth("ceph", "libvirt", secret_usage="cloudenv-pool-rbd-1")
RBD_CONFIG = {"monitors": ["10.0.0.1:6789", "mon2"], "pool": "rbd", "user": "libvirt"}


def rbd_pool(auth: PoolAuth | None = RBD_AUTH) -> FakePool:
    return FakePool(RbdPool("rbd-1", "rbd", RBD_HOSTS, auth), None)


def ensured_rbd(pool: FakePool) -> LibvirtStorageDriver:
    """A driver that ensure_pool was given the pool's settings and key (as propagation
    does before a deploy); the fake pool already runs, so nothing is defined."""
    driver = driver_for(pool)
    secrets = {"key": CEPH_KEY} if pool.definition.auth is not None else {}  # type: ignore[union-attr]
    config = RBD_CONFIG if secrets else {**RBD_CONFIG, "user": ""}
    driver.ensure_pool(PoolSpec("rbd-1", PoolType.RBD, config=config, secrets=secrets))
    return driver


# -- clone into logical volumes and zvols -----------------------------------------------------


def test_clone_into_a_logical_volume_converts_into_its_device(
    tmp_path: Path, images: Path, raw_data: bytes, qemu_img: QemuImg
) -> None:
    pool = lvm_pool(tmp_path)
    source = str(images / "base.qcow2")
    seen: list[tuple[int, int]] = []
    info = driver_for(pool).clone_volume(
        "lvm-1", "vol-1.raw", source, DiskFormat.RAW, 8 * MiB, lambda d, t: seen.append((d, t))
    )
    device = str(tmp_path / "dev-vg0" / "vol-1.raw")
    assert made(pool) == [("vol-1.raw", 8 * MiB, 8 * MiB)]  # raw, thick
    assert qemu_img.converts() == [
        ["qemu-img", "convert", "-p", "-n", "-f", "qcow2", "-O", "raw", source, device]
    ]
    assert [c[:4] for c in qemu_img.calls if c[1] == "info"] == [
        ["qemu-img", "info", "-f", "qcow2"]
    ]
    assert not [c for c in qemu_img.calls if c[1] == "resize"]  # created at its size
    assert (info.name, info.path, info.capacity_bytes, info.format) == (
        "vol-1.raw",
        device,
        8 * MiB,
        DiskFormat.RAW,
    )
    written = Path(device).read_bytes()
    assert written[: len(raw_data)] == raw_data and len(written) == 8 * MiB
    assert seen[-1] == (MiB, MiB)
    assert pool.deleted == []


def test_a_deleted_logical_volume_is_zeroed_first_a_zvol_is_not(
    tmp_path: Path, images: Path, qemu_img: QemuImg
) -> None:
    """LVM gives freed extents to the next volume as they are: another tenant's, maybe."""
    pool = lvm_pool(tmp_path)
    driver = driver_for(pool)
    driver.clone_volume("lvm-1", "vol-1.raw", str(images / "base.qcow2"), DiskFormat.RAW, 8 * MiB)
    driver.delete_volume("lvm-1", "vol-1.raw")
    assert (pool.wiped, pool.deleted) == (["vol-1.raw"], ["vol-1.raw"])
    zpool = zfs_pool(tmp_path)
    zfs = driver_for(zpool)
    zfs.clone_volume("zfs-1", "vol-2.raw", str(images / "base.qcow2"), DiskFormat.RAW, 8 * MiB)
    zfs.delete_volume("zfs-1", "vol-2.raw")
    assert (zpool.wiped, zpool.deleted) == ([], ["vol-2.raw"])


def test_clone_into_a_zvol_of_the_image_s_size_when_no_capacity_is_asked(
    tmp_path: Path, images: Path, raw_data: bytes, qemu_img: QemuImg
) -> None:
    pool = zfs_pool(tmp_path)
    source = str(images / "base.raw")
    info = driver_for(pool).clone_volume("zfs-1", "vol-2.raw", source, DiskFormat.RAW, None)
    device = str(tmp_path / "zvol-tank" / "vol-2.raw")
    assert made(pool) == [("vol-2.raw", MiB, MiB)]
    assert qemu_img.converts() == [
        ["qemu-img", "convert", "-p", "-n", "-f", "raw", "-O", "raw", source, device]
    ]
    assert info.capacity_bytes == MiB and Path(device).read_bytes() == raw_data


def test_a_failed_copy_deletes_the_volume(tmp_path: Path, images: Path, qemu_img: QemuImg) -> None:
    pool = lvm_pool(tmp_path)
    qemu_img.stand_in = fails
    with pytest.raises(DriverError) as failed:
        driver_for(pool).clone_volume(
            "lvm-1", "vol-3.raw", str(images / "base.qcow2"), DiskFormat.RAW, 4 * MiB
        )
    message = failed.value.message
    assert message.startswith(f"Failed cloning {images / 'base.qcow2'} into volume vol-3.raw")
    assert "No space left" in message
    assert [name for name, _, _ in made(pool)] == ["vol-3.raw"]
    assert pool.deleted == ["vol-3.raw"] and pool.volumes == {}


def test_a_device_that_never_appears_fails_and_deletes_the_volume(
    tmp_path: Path, images: Path, qemu_img: QemuImg, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(libvirt_pools, "DEVICE_WAIT_SECONDS", 0.0)
    pool = zfs_pool(tmp_path, appears=False)
    with pytest.raises(DriverError, match="did not appear"):
        driver_for(pool).clone_volume(
            "zfs-1", "vol-4.raw", str(images / "base.raw"), DiskFormat.RAW, None
        )
    assert pool.deleted == ["vol-4.raw"]
    assert qemu_img.converts() == []


def test_refusals_create_nothing(tmp_path: Path, images: Path, qemu_img: QemuImg) -> None:
    pool = lvm_pool(tmp_path)
    driver = driver_for(pool)
    with pytest.raises(InvalidInput, match="raw volumes only") as refused:
        driver.clone_volume("lvm-1", "v.qcow2", str(images / "base.qcow2"), DiskFormat.QCOW2, None)
    assert refused.value.field == "fmt"
    with pytest.raises(InvalidInput, match="at least") as refused:
        driver.clone_volume("lvm-1", "v.raw", str(images / "base.raw"), DiskFormat.RAW, MiB // 2)
    assert refused.value.field == "capacity_bytes"
    # Hostile sources: still refused before qemu-img converts anything.
    with pytest.raises(InvalidInput, match="refers to another file"):
        driver.clone_volume("lvm-1", "v.raw", str(images / "child.qcow2"), DiskFormat.RAW, None)
    driver.create_volume("lvm-1", "taken.raw", MiB, DiskFormat.RAW)
    with pytest.raises(Conflict, match="already exists"):
        driver.clone_volume("lvm-1", "taken.raw", str(images / "base.raw"), DiskFormat.RAW, None)
    assert [name for name, _, _ in made(pool)] == ["taken.raw"]
    assert qemu_img.converts() == [] and pool.deleted == []


def test_iscsi_pools_still_refuse_copies(tmp_path: Path, images: Path) -> None:
    iqn = "iqn.2026-11.test.cloudenv:lun1"
    pool = FakePool(
        IscsiDirectPool("iscsi-1", (PoolHost("127.0.0.1", 3260),), iqn, "iqn.2026-12.test:n"),
        tmp_path,
    )
    driver = driver_for(pool)
    with pytest.raises(Unsupported, match="LUNs"):
        driver.clone_volume("iscsi-1", "v", str(images / "base.raw"), DiskFormat.RAW, None)
    with pytest.raises(Unsupported, match="LUNs"):
        driver.upload_volume("iscsi-1", "v", [b"x" * 512], 512, DiskFormat.RAW)
    assert pool.created == []


# -- clone into RBD images -------------------------------------------------------------------

RBD_OPTIONS = (
    "driver=raw,file.driver=rbd,file.pool=rbd,file.image={image},"
    "file.server.0.host=10.0.0.1,file.server.0.port=6789,"
    "file.server.1.host=mon2,file.server.1.port=6789"
)


def test_clone_into_rbd_passes_the_key_through_a_pipe_only(images: Path, qemu_img: QemuImg) -> None:
    pool = rbd_pool()
    driver = ensured_rbd(pool)
    qemu_img.stand_in = succeeds
    seen: list[tuple[int, int]] = []
    source = str(images / "base.qcow2")
    info = driver.clone_volume(
        "rbd-1", "vol-5.raw", source, DiskFormat.RAW, 2 * MiB, lambda d, t: seen.append((d, t))
    )
    assert made(pool) == [("vol-5.raw", 2 * MiB, 2 * MiB)]
    (convert,) = qemu_img.converts()
    secret = convert[convert.index("--object") + 1]
    fd = int(secret.split("/dev/fd/")[1].split(",")[0])
    options = RBD_OPTIONS.format(image="vol-5.raw")
    assert convert == [
        "qemu-img", "convert", "-p", "-n", "-f", "qcow2",
        "--object", KEY_SECRET.format(fd=fd),
        source,
        "--target-image-opts",
        f"{options},file.user=libvirt,file.key-secret=cloudenv-ceph-key",
    ]  # fmt: skip
    assert qemu_img.piped == [CEPH_KEY_BYTES]
    assert not any(CEPH_KEY in a or CEPH_KEY_BYTES.decode() in a for a in convert)
    assert (info.path, info.capacity_bytes) == ("rbd/vol-5.raw", 2 * MiB)
    assert seen == [(MiB // 2, MiB), (MiB, MiB)]  # qemu-img's, then done


def test_clone_into_rbd_without_cephx_names_no_user(images: Path, qemu_img: QemuImg) -> None:
    pool = rbd_pool(auth=None)
    qemu_img.stand_in = succeeds
    ensured_rbd(pool).clone_volume("rbd-1", "v.raw", str(images / "base.raw"), DiskFormat.RAW, None)
    (convert,) = qemu_img.converts()
    assert convert[3:] == [
        "-n", "-f", "raw", str(images / "base.raw"),
        "--target-image-opts", RBD_OPTIONS.format(image="v.raw"),
    ]  # fmt: skip
    assert qemu_img.piped == []


def test_rbd_with_a_key_this_process_was_never_given_is_refused_first(
    images: Path, qemu_img: QemuImg
) -> None:
    pool = rbd_pool()
    with pytest.raises(Conflict, match="ensure the pool"):
        driver_for(pool).clone_volume(
            "rbd-1", "v.raw", str(images / "base.raw"), DiskFormat.RAW, None
        )
    assert pool.created == [] and qemu_img.converts() == []


def test_a_failed_copy_into_rbd_deletes_the_image(images: Path, qemu_img: QemuImg) -> None:
    pool = rbd_pool()
    qemu_img.stand_in = fails
    with pytest.raises(DriverError, match="No space left"):
        ensured_rbd(pool).clone_volume(
            "rbd-1", "v.raw", str(images / "base.raw"), DiskFormat.RAW, None
        )
    assert pool.deleted == ["v.raw"] and pool.volumes == {}


def test_remove_pool_forgets_the_key(images: Path, qemu_img: QemuImg) -> None:
    pool = rbd_pool()
    driver = ensured_rbd(pool)
    pool.undefine = pool.destroy = lambda: None  # type: ignore[attr-defined]
    driver.remove_pool("rbd-1")
    with pytest.raises(Conflict, match="ensure the pool"):
        driver.clone_volume("rbd-1", "v.raw", str(images / "base.raw"), DiskFormat.RAW, None)


# -- uploads -------------------------------------------------------------------------------


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_upload_into_a_logical_volume_writes_its_device(
    tmp_path: Path, raw_data: bytes, qemu_img: QemuImg
) -> None:
    pool = lvm_pool(tmp_path)
    seen: list[tuple[int, int]] = []
    info = driver_for(pool).upload_volume(
        "lvm-1",
        "up.raw",
        _chunks(raw_data),
        len(raw_data),
        DiskFormat.RAW,
        lambda d, t: seen.append((d, t)),
    )
    assert made(pool) == [("up.raw", MiB, MiB)]
    assert Path(info.path).read_bytes() == raw_data
    assert seen[-1] == (MiB, MiB)
    assert qemu_img.calls == []  # bytes go straight into the device


@pytest.mark.parametrize(
    ("data", "declared", "fmt", "field", "words"),
    [
        (b"x" * 1000, 4096, DiskFormat.RAW, "size", "expected exactly 4096"),
        (b"x" * 5000, 4096, DiskFormat.RAW, "size", "sent more than 4096"),
        (b"QFI\xfb" + b"\0" * 4092, 4096, DiskFormat.RAW, "fmt", "is a qcow2 image, not a raw"),
    ],
)
def test_a_refused_upload_deletes_the_volume(
    tmp_path: Path, data: bytes, declared: int, fmt: DiskFormat, field: str, words: str
) -> None:
    pool = lvm_pool(tmp_path)
    with pytest.raises(InvalidInput, match=words) as refused:
        driver_for(pool).upload_volume("lvm-1", "up.raw", _chunks(data, 512), declared, fmt)
    assert refused.value.field == field
    assert pool.deleted == ["up.raw"] and pool.volumes == {}


def test_a_qcow2_upload_into_a_block_pool_is_refused_before_anything(tmp_path: Path) -> None:
    pool = lvm_pool(tmp_path)
    with pytest.raises(InvalidInput, match="raw volumes only") as refused:
        driver_for(pool).upload_volume("lvm-1", "up.qcow2", [b"QFI\xfb"], 4, DiskFormat.QCOW2)
    assert refused.value.field == "fmt" and pool.created == []


def test_upload_into_rbd_goes_through_a_temporary_file(
    tmp_path: Path, raw_data: bytes, qemu_img: QemuImg
) -> None:
    pool = rbd_pool()
    driver = ensured_rbd(pool)
    copied = tmp_path / "what-qemu-img-read"

    def copy_source(args: list[str]) -> list[str]:
        return ["cp", args[args.index("--target-image-opts") - 1], str(copied)]

    qemu_img.stand_in = copy_source
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    driver._scratch = str(scratch)
    info = driver.upload_volume("rbd-1", "up.raw", _chunks(raw_data), len(raw_data), DiskFormat.RAW)
    (convert,) = qemu_img.converts()
    staged = convert[convert.index("--target-image-opts") - 1]
    assert convert[:8] == ["qemu-img", "convert", "-p", "-n", "-f", "raw", "--object", convert[7]]
    assert staged.startswith(f"{scratch}/") and copied.read_bytes() == raw_data
    assert convert[-1].endswith(",file.user=libvirt,file.key-secret=cloudenv-ceph-key")
    assert qemu_img.piped == [CEPH_KEY_BYTES]
    assert list(scratch.iterdir()) == []  # the staged copy is gone
    assert info.path == "rbd/up.raw" and pool.deleted == []


def test_a_short_upload_into_rbd_copies_nothing(tmp_path: Path, qemu_img: QemuImg) -> None:
    pool = rbd_pool()
    driver = ensured_rbd(pool)
    with pytest.raises(InvalidInput, match="expected exactly"):
        driver.upload_volume("rbd-1", "up.raw", [b"x" * 10], 4096, DiskFormat.RAW)
    assert qemu_img.converts() == [] and pool.deleted == ["up.raw"]


def test_options_double_commas_in_values() -> None:
    target = libvirt_pools._BlockTarget(
        rbd=RbdPool("p", "a,b", (PoolHost("m"),), PoolAuth("ceph", "u,v")), image="i,j"
    )
    assert target.options() == (
        "driver=raw,file.driver=rbd,file.pool=a,,b,file.image=i,,j,"
        "file.server.0.host=m,file.server.0.port=6789,file.user=u,,v,"
        "file.key-secret=cloudenv-ceph-key"
    )


# -- the contract: the fake and the libvirt driver agree on block pools ----------------------


@dataclass
class BlockHarness:
    driver: StorageDriver
    pool: str
    make_image: Callable[[bytes], str]  # a raw image file of those bytes; its path


@pytest.fixture(params=["fake", "libvirt"])
def block(request: pytest.FixtureRequest, tmp_path: Path) -> BlockHarness:
    folder = tmp_path / "images"
    folder.mkdir()
    if request.param == "fake":
        fake = FakeStorageDriver()
        fake.ensure_pool(PoolSpec("lvm-1", PoolType.LVM, config={"volume_group": "vg0"}))

        def register(data: bytes) -> str:
            path = str(folder / f"{len(fake.images)}.raw")
            fake.add_image(path, len(data))
            return path

        return BlockHarness(fake, "lvm-1", register)

    def write(data: bytes) -> str:
        path = folder / f"{len(list(folder.iterdir()))}.raw"
        path.write_bytes(data)
        return str(path)

    return BlockHarness(driver_for(lvm_pool(tmp_path)), "lvm-1", write)


def test_contract_copies_into_a_block_pool(block: BlockHarness) -> None:
    d, pool = block.driver, block.pool
    source = block.make_image(b"\1" * (2 * MiB))
    grown = d.clone_volume(pool, "grown.raw", source, DiskFormat.RAW, 4 * MiB)
    assert (grown.capacity_bytes, grown.format) == (4 * MiB, DiskFormat.RAW)
    assert grown.path.endswith("/grown.raw")
    assert d.clone_volume(pool, "same.raw", source, DiskFormat.RAW, None).capacity_bytes == 2 * MiB
    uploaded = d.upload_volume(pool, "up.raw", [b"x" * MiB], MiB, DiskFormat.RAW)
    assert (uploaded.capacity_bytes, uploaded.format) == (MiB, DiskFormat.RAW)
    assert d.volume_info(pool, "grown.raw") == grown
    assert [v.name for v in d.list_volumes(pool)] == ["grown.raw", "same.raw", "up.raw"]


def test_contract_refused_copies_leave_nothing(block: BlockHarness) -> None:
    d, pool = block.driver, block.pool
    source = block.make_image(b"\1" * (2 * MiB))
    refusals: list[tuple[Callable[[], object], str | None]] = [
        (lambda: d.clone_volume(pool, "q.qcow2", source, DiskFormat.QCOW2, None), "fmt"),
        (lambda: d.clone_volume(pool, "small.raw", source, DiskFormat.RAW, MiB), "capacity_bytes"),
        (lambda: d.upload_volume(pool, "q.qcow2", [b"QFI\xfb"], 4, DiskFormat.QCOW2), "fmt"),
        (lambda: d.upload_volume(pool, "short.raw", [b"x" * 10], 512, DiskFormat.RAW), "size"),
        (
            lambda: d.upload_volume(
                pool, "hidden.raw", [b"QFI\xfb" + b"\0" * 508], 512, DiskFormat.RAW
            ),
            "fmt",
        ),
        (lambda: d.clone_volume(pool, ".hidden", source, DiskFormat.RAW, None), "name"),
    ]
    for refuse, field_name in refusals:
        with pytest.raises(InvalidInput) as refused:
            refuse()
        assert refused.value.field == field_name
    d.create_volume(pool, "taken.raw", MiB, DiskFormat.RAW)
    with pytest.raises(Conflict):
        d.clone_volume(pool, "taken.raw", source, DiskFormat.RAW, None)
    assert [v.name for v in d.list_volumes(pool)] == ["taken.raw"]
    assert d.volume_info(pool, "taken.raw").capacity_bytes == MiB  # type: ignore[union-attr]


def test_a_pool_of_a_type_we_never_define_takes_no_copies(tmp_path: Path, images: Path) -> None:
    """A pool of our name but a type cloudenv never defines (made by hand): no guessing."""
    disk = (
        "<pool type='disk'><name>disk-1</name><source><device path='/dev/sdz'/></source>"
        "<target><path>/dev</path></target></pool>"
    )

    class Foreign:
        name = "disk-1"

        def to_xml(self) -> str:
            return disk

    pool = FakePool(Foreign(), tmp_path)  # type: ignore[arg-type]
    with pytest.raises(Unsupported, match="disk pool"):
        driver_for(pool).clone_volume("disk-1", "v", str(images / "base.raw"), DiskFormat.RAW, None)
    assert pool.created == []
