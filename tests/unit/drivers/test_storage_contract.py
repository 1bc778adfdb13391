"""The storage driver contract: the same assertions against the fake (unit) and against
libvirt directory pools (integration; starts libvirtd when it is not running).

The libvirt run uses a pool ``cetest-<random>`` under /var/lib/cloudenv-test/pools and
removes the pool and its directory afterwards, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.errors import DriverError, Unsupported
from cloudenv.drivers.storage.base import PoolSpec, PoolType, StorageDriver, VolumeInfo
from cloudenv.drivers.storage.fake import FakeStorageDriver
from cloudenv.drivers.storage.libvirt_xml import DirPool, NetfsPool, Volume, parse_pool
from cloudenv.errors import Conflict, InvalidInput, NotFound

MiB = 1024**2
REPO = Path(__file__).resolve().parents[3]
LIBVIRT_SOCKET = Path("/run/libvirt/libvirt-sock")
POOLS_ROOT = Path("/var/lib/cloudenv-test/pools")


@dataclass
class Harness:
    """A driver with a pool spec, plus the driver-specific ways to look behind it."""

    driver: StorageDriver
    spec: PoolSpec
    make_image: Callable[[bytes], str]  # writes a raw image file, returns its path
    leftovers: Callable[[], list[str]]  # files in the pool that no volume accounts for
    on_disk: Callable[[VolumeInfo], tuple[str, int]]  # (format, virtual size) as stored
    credentials_dir: str  # where the driver keeps CIFS credentials files
    # A credentials file's content (None: no such file), its modes checked where real.
    credentials: Callable[[str], str | None]
    pool_xml: Callable[[str], str]  # the libvirt XML a defined pool has
    cifs_mounts: bool  # a CIFS pool can start here (the fake; no CIFS server for libvirt)
    missing_group: str = "cetest-vg-none"  # a volume group that exists on no node

    @property
    def pool(self) -> str:
        return self.spec.name


def _fake_harness(tmp_path: Path) -> Harness:
    # What the libvirt driver says on a node with LVM tools; without them it names vgs.
    credentials_dir = str(tmp_path / "credentials")
    driver = FakeStorageDriver(
        lacking={
            PoolType.LVM: "volume group cetest-vg-none not found (vgs lists none; create it "
            "with vgcreate or choose another)."
        },
        credentials_dir=credentials_dir,
    )
    spec = PoolSpec("pool-fake", PoolType.DIRECTORY, "/srv/pools/pool-fake")

    def make_image(data: bytes) -> str:
        path = str(tmp_path / f"image-{len(driver.images)}.raw")
        driver.add_image(path, len(data))
        return path

    def on_disk(info: VolumeInfo) -> tuple[str, int]:
        clone = [c for c in driver.calls if c[0] == "clone_volume" and c[2] == info.name]
        assert clone, "the fake recorded no clone of that volume"
        return info.format.value, info.capacity_bytes

    return Harness(
        driver,
        spec,
        make_image,
        list,
        on_disk,
        credentials_dir,
        driver.credential_files.get,
        lambda pool: driver.designs[pool].pool.to_xml(),
        cifs_mounts=True,
    )


def _start_libvirtd() -> None:
    """libvirtd (and virtlogd) as RUNTIME.md §1 says, through the project's script."""
    script = REPO / "scripts" / "start-libvirt.sh"
    if not script.exists():
        pytest.fail(f"libvirtd is not running and {script} is missing to start it")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        pytest.fail(f"scripts/start-libvirt.sh failed: {done.stderr.strip()}")


@pytest.fixture(scope="session")
def libvirt_ready() -> None:
    """A libvirtd that answers on qemu:///system; fails (never skips) when it can't."""
    import libvirt

    if not LIBVIRT_SOCKET.exists():
        _start_libvirtd()
    deadline = time.monotonic() + 60
    while True:
        try:
            libvirt.open("qemu:///system").close()
            return
        except libvirt.libvirtError as err:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"libvirtd can't be reached on qemu:///system: {err}; see "
                    "/var/log/libvirt/libvirtd.log and scripts/start-libvirt.sh"
                )
            time.sleep(0.2)


def _libvirt_harness(tmp_path: Path) -> Iterator[Harness]:
    import libvirt

    from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver, image_info

    name = f"cetest-{uuid.uuid4().hex[:10]}"
    directory = POOLS_ROOT / name
    credentials_dir = tmp_path / "credentials"
    driver = LibvirtStorageDriver(credentials_dir=credentials_dir)
    spec = PoolSpec(name, PoolType.DIRECTORY, str(directory))
    images = tmp_path / "images"
    images.mkdir()

    def make_image(data: bytes) -> str:
        path = images / f"image-{len(list(images.iterdir()))}.raw"
        path.write_bytes(data)
        return str(path)

    def leftovers() -> list[str]:
        if not directory.exists():
            return []
        known = {v.name for v in driver.list_volumes(name)}
        return sorted(set(os.listdir(directory)) - known)

    def on_disk(info: VolumeInfo) -> tuple[str, int]:
        # Nobody but root reads a pool; libvirt hands a disk to QEMU while a domain uses it.
        assert stat.S_IMODE(os.stat(info.path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o711
        found = image_info(info.path)
        return str(found["format"]), int(found["virtual-size"])

    def credentials(path: str) -> str | None:
        if not os.path.lexists(path):
            return None
        # Root's only: the directory 0700, the file 0600, neither a symlink.
        assert stat.S_IMODE(os.lstat(credentials_dir).st_mode) == 0o700
        assert stat.S_ISREG(os.lstat(path).st_mode)
        assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
        return Path(path).read_text()

    def pool_xml(pool: str) -> str:
        conn = libvirt.open("qemu:///system")
        try:
            return str(conn.storagePoolLookupByName(pool).XMLDesc(0))
        finally:
            conn.close()

    try:
        yield Harness(
            driver,
            spec,
            make_image,
            leftovers,
            on_disk,
            str(credentials_dir),
            credentials,
            pool_xml,
            cifs_mounts=False,  # no CIFS server (nor client) on a test node
        )
    finally:
        try:
            driver.remove_pool(name)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(
    params=[
        pytest.param("fake", marks=pytest.mark.unit),
        pytest.param("libvirt", marks=pytest.mark.integration),
    ]
)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "fake":
        yield _fake_harness(tmp_path)
        return
    request.getfixturevalue("libvirt_ready")
    yield from _libvirt_harness(tmp_path)


@pytest.fixture
def ready(h: Harness) -> Harness:
    h.driver.ensure_pool(h.spec)
    return h


# -- pools ---------------------------------------------------------------------------


def test_ensure_pool_twice_returns_usage(h: Harness) -> None:
    first = h.driver.ensure_pool(h.spec)
    second = h.driver.ensure_pool(h.spec)
    assert first.active and second.active
    assert first.capacity_bytes > 0 and second.capacity_bytes > 0
    assert 0 <= second.allocation_bytes <= second.capacity_bytes
    assert h.driver.pool_usage(h.pool).capacity_bytes == second.capacity_bytes


def test_ensure_pool_refuses_same_name_elsewhere(ready: Harness) -> None:
    moved = PoolSpec(ready.pool, PoolType.DIRECTORY, ready.spec.path + "-elsewhere")
    with pytest.raises(Conflict, match="already exists"):
        ready.driver.ensure_pool(moved)
    assert ready.driver.pool_usage(ready.pool).active


def test_remove_pool_keeps_files_and_is_idempotent(ready: Harness) -> None:
    ready.driver.create_volume(ready.pool, "kept.qcow2", 4 * MiB, DiskFormat.QCOW2)
    ready.driver.remove_pool(ready.pool)
    ready.driver.remove_pool(ready.pool)
    with pytest.raises(NotFound):
        ready.driver.pool_usage(ready.pool)
    with pytest.raises(NotFound):
        ready.driver.list_volumes(ready.pool)
    ready.driver.ensure_pool(ready.spec)
    assert [v.name for v in ready.driver.list_volumes(ready.pool)] == ["kept.qcow2"]


def test_a_pool_the_node_lacks_the_backend_for_is_refused_and_leaves_nothing(
    h: Harness,
) -> None:
    spec = PoolSpec(f"{h.pool}-lvm", PoolType.LVM, config={"volume_group": h.missing_group})
    with pytest.raises(Unsupported) as refused:
        h.driver.ensure_pool(spec)
    assert refused.value.message.startswith(f"Storage pool {spec.name}: ")
    assert f"volume group {h.missing_group}" in refused.value.message
    with pytest.raises(NotFound):
        h.driver.pool_usage(spec.name)


CIFS_PASSWORD = "hunter2, secret=yes"


def test_cifs_credentials_are_in_a_root_only_file_the_pool_names(h: Harness) -> None:
    mount = h.spec.path + "-cifs"
    spec = PoolSpec(
        f"{h.pool}-cifs",
        PoolType.NETFS,
        mount,
        config={
            "protocol": "cifs",
            "server": "files",
            "export": "vms",
            "path": mount,
            "username": "u",
            "domain": "CORP",
        },
        secrets={"password": CIFS_PASSWORD},
    )
    path = os.path.join(h.credentials_dir, f"{spec.name}.cred")
    if not h.cifs_mounts:
        # Refused before anything is written (this node lacks mount.cifs), or the mount
        # fails (no such server) and the undo removes the file with the pool.
        with pytest.raises(DriverError) as failed:
            try:
                h.driver.ensure_pool(spec)
            finally:
                shutil.rmtree(mount, ignore_errors=True)
        if shutil.which("mount.cifs", path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
            assert isinstance(failed.value, Unsupported)
            assert "no CIFS client: mount.cifs is missing" in failed.value.message
        assert CIFS_PASSWORD not in failed.value.message
        assert h.credentials(path) is None
        with pytest.raises(NotFound):
            h.driver.pool_usage(spec.name)
        return
    h.driver.ensure_pool(spec)
    xml = h.pool_xml(spec.name)
    netfs = parse_pool(xml)
    assert isinstance(netfs, NetfsPool) and netfs.mount_options == (f"credentials={path}",)
    assert CIFS_PASSWORD not in xml and "CORP" not in xml
    assert h.credentials(path) == f"username=u\npassword={CIFS_PASSWORD}\ndomain=CORP\n"
    # A changed password is written for the next mount; the definition stays.
    h.driver.ensure_pool(replace(spec, secrets={"password": "changed"}))
    assert h.credentials(path) == "username=u\npassword=changed\ndomain=CORP\n"
    assert h.pool_xml(spec.name) == xml
    h.driver.remove_pool(spec.name)
    assert h.credentials(path) is None


@pytest.mark.parametrize(
    ("config", "secrets", "field"),
    [
        ({"target": "iqn.2026-11.test.cloudenv:t"}, {}, "config.portal"),
        ({"portal": "127.0.0.1"}, {}, "config.target"),
        (
            {"portal": "127.0.0.1", "target": "iqn.2026-11.test.cloudenv:t", "chap_username": "u"},
            {},
            "config.chap_secret",
        ),
    ],
)
def test_iscsi_settings_that_cannot_work_are_refused(
    h: Harness, config: dict[str, str], secrets: dict[str, str], field: str
) -> None:
    spec = PoolSpec(f"{h.pool}-iscsi", PoolType.ISCSI, config=config, secrets=secrets)
    with pytest.raises(InvalidInput) as refused:
        h.driver.ensure_pool(spec)
    assert refused.value.field == field
    with pytest.raises(NotFound):
        h.driver.pool_usage(spec.name)


# -- volumes -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [DiskFormat.QCOW2, DiskFormat.RAW])
def test_volume_lifecycle(ready: Harness, fmt: DiskFormat) -> None:
    d, pool = ready.driver, ready.pool
    created = d.create_volume(pool, "disk-1", 16 * MiB, fmt)
    assert (created.name, created.capacity_bytes, created.format) == ("disk-1", 16 * MiB, fmt)
    assert created.path == os.path.join(ready.spec.path, "disk-1")
    assert d.volume_info(pool, "disk-1") == created
    assert [v.name for v in d.list_volumes(pool)] == ["disk-1"]

    grown = d.resize_volume(pool, "disk-1", 32 * MiB)
    assert grown.capacity_bytes == 32 * MiB
    assert d.resize_volume(pool, "disk-1", 32 * MiB).capacity_bytes == 32 * MiB
    with pytest.raises(InvalidInput, match="can only grow") as refused:
        d.resize_volume(pool, "disk-1", 8 * MiB)
    assert refused.value.field == "capacity_bytes"
    assert d.volume_info(pool, "disk-1").capacity_bytes == 32 * MiB  # type: ignore[union-attr]

    d.delete_volume(pool, "disk-1")
    assert d.volume_info(pool, "disk-1") is None
    assert d.list_volumes(pool) == []
    d.delete_volume(pool, "disk-1")
    assert ready.leftovers() == []


def test_parallel_creates_in_one_pool_all_succeed(ready: Harness) -> None:
    """Many deploys at once create volumes in one pool; libvirt refuses pool calls while a
    volume is being created, so the driver must take turns (bench/deploy.py found this)."""
    from concurrent.futures import ThreadPoolExecutor

    d, pool = ready.driver, ready.pool

    def create(index: int) -> str:
        name = f"par-{index}.qcow2"
        d.create_volume(pool, name, 64 * MiB, DiskFormat.QCOW2)
        assert d.volume_info(pool, name) is not None
        return name

    with ThreadPoolExecutor(max_workers=8) as workers:
        names = list(workers.map(create, range(16)))
    assert sorted(v.name for v in d.list_volumes(pool)) == sorted(names)
    with ThreadPoolExecutor(max_workers=8) as workers:
        list(workers.map(lambda name: d.delete_volume(pool, name), names))
    assert d.list_volumes(pool) == []


def test_duplicate_create_is_a_conflict(ready: Harness) -> None:
    ready.driver.create_volume(ready.pool, "dup.qcow2", 4 * MiB, DiskFormat.QCOW2)
    with pytest.raises(Conflict, match=r"dup\.qcow2 already exists"):
        ready.driver.create_volume(ready.pool, "dup.qcow2", 8 * MiB, DiskFormat.RAW)
    assert ready.driver.volume_info(ready.pool, "dup.qcow2").capacity_bytes == 4 * MiB  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["", ".hidden", "../escape", "a/b", "x" * 256, "é" * 128])
def test_names_must_be_plain_file_names(ready: Harness, name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        ready.driver.create_volume(ready.pool, name, MiB, DiskFormat.RAW)
    assert refused.value.field == "name"
    with pytest.raises(InvalidInput):
        ready.driver.upload_volume(ready.pool, name, [b"x" * 10], 10, DiskFormat.RAW)


def test_a_name_of_255_bytes_is_uploaded_whole(ready: Harness) -> None:
    """The longest name a file can have works for every verb that writes a file (the
    temporary file next to it must not need a longer one)."""
    name = "i" * 251 + ".raw"
    info = ready.driver.upload_volume(ready.pool, name, [b"x" * 4096], 4096, DiskFormat.RAW)
    assert info.name == name
    assert [v.name for v in ready.driver.list_volumes(ready.pool)] == [name]
    assert ready.leftovers() == []


def test_volume_verbs_on_a_missing_pool(h: Harness) -> None:
    with pytest.raises(NotFound, match="not defined"):
        h.driver.create_volume("no-such-pool", "x", MiB, DiskFormat.RAW)
    with pytest.raises(NotFound):
        h.driver.volume_info("no-such-pool", "x")
    h.driver.remove_pool("no-such-pool")


def test_resize_of_a_missing_volume(ready: Harness) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        ready.driver.resize_volume(ready.pool, "ghost", MiB)


# -- upload --------------------------------------------------------------------------


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_upload_of_exactly_size_bytes(ready: Harness) -> None:
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4, an ISO-like raw image
    seen: list[tuple[int, int]] = []
    info = ready.driver.upload_volume(
        ready.pool,
        "upload.raw",
        _chunks(data),
        len(data),
        DiskFormat.RAW,
        lambda done, total: seen.append((done, total)),
    )
    assert (info.name, info.capacity_bytes, info.format) == (
        "upload.raw",
        len(data),
        DiskFormat.RAW,
    )
    assert seen[-1] == (len(data), len(data))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert ready.driver.volume_info(ready.pool, "upload.raw") == info
    assert ready.leftovers() == []


@pytest.mark.parametrize(("sent", "declared"), [(1000, 4096), (5000, 4096)])
def test_upload_of_another_size_leaves_nothing(ready: Harness, sent: int, declared: int) -> None:
    with pytest.raises(InvalidInput, match=f"expected exactly {declared}") as refused:
        ready.driver.upload_volume(
            ready.pool, "short.raw", _chunks(b"x" * sent, 512), declared, DiskFormat.RAW
        )
    assert refused.value.field == "size"
    assert ready.driver.volume_info(ready.pool, "short.raw") is None
    assert ready.driver.list_volumes(ready.pool) == []
    assert ready.leftovers() == []


def test_upload_whose_contents_are_not_the_format(ready: Harness) -> None:
    with pytest.raises(InvalidInput, match="not a qcow2 image") as refused:
        ready.driver.upload_volume(ready.pool, "fake.qcow2", [b"\0" * 4096], 4096, DiskFormat.QCOW2)
    assert refused.value.field == "fmt"
    assert ready.driver.list_volumes(ready.pool) == []
    assert ready.leftovers() == []


def test_upload_over_an_existing_volume_is_a_conflict(ready: Harness) -> None:
    ready.driver.create_volume(ready.pool, "taken.raw", MiB, DiskFormat.RAW)
    with pytest.raises(Conflict):
        ready.driver.upload_volume(ready.pool, "taken.raw", [b"y" * 10], 10, DiskFormat.RAW)
    assert ready.driver.volume_info(ready.pool, "taken.raw").capacity_bytes == MiB  # type: ignore[union-attr]


# -- clone ---------------------------------------------------------------------------


def test_clone_raw_image_into_grown_qcow2(ready: Harness) -> None:
    source = ready.make_image(b"cloudenv" * (MiB // 8))  # 1 MiB raw
    seen: list[tuple[int, int]] = []
    info = ready.driver.clone_volume(
        ready.pool,
        "root.qcow2",
        source,
        DiskFormat.QCOW2,
        64 * MiB,
        lambda done, total: seen.append((done, total)),
    )
    assert (info.name, info.format, info.capacity_bytes) == (
        "root.qcow2",
        DiskFormat.QCOW2,
        64 * MiB,
    )
    assert ready.on_disk(info) == ("qcow2", 64 * MiB)
    assert seen and seen[-1] == (MiB, MiB)
    assert ready.driver.volume_info(ready.pool, "root.qcow2") == info
    assert ready.leftovers() == []


def test_clone_refusals_leave_nothing(ready: Harness) -> None:
    source = ready.make_image(b"\0" * (2 * MiB))
    with pytest.raises(InvalidInput, match="at least") as refused:
        ready.driver.clone_volume(ready.pool, "small", source, DiskFormat.QCOW2, MiB)
    assert refused.value.field == "capacity_bytes"
    with pytest.raises(NotFound, match="does not exist"):
        ready.driver.clone_volume(ready.pool, "none", source + ".missing", DiskFormat.RAW, None)
    ready.driver.create_volume(ready.pool, "taken", MiB, DiskFormat.RAW)
    with pytest.raises(Conflict):
        ready.driver.clone_volume(ready.pool, "taken", source, DiskFormat.RAW, None)
    assert [v.name for v in ready.driver.list_volumes(ready.pool)] == ["taken"]
    assert ready.leftovers() == []


def test_clone_without_capacity_keeps_the_image_size(ready: Harness) -> None:
    source = ready.make_image(b"\1" * (3 * MiB))
    info = ready.driver.clone_volume(ready.pool, "copy.raw", source, DiskFormat.RAW, None)
    assert (info.format, info.capacity_bytes) == (DiskFormat.RAW, 3 * MiB)


# -- XML elements (no driver) --------------------------------------------------------


@pytest.mark.unit
def test_pool_xml_round_trip() -> None:
    pool = DirPool("pool-1", "/var/lib/cloudenv/pools/pool-1", mode=0o755)
    assert DirPool.from_xml(pool.to_xml()) == pool
    live = (
        "<pool type='dir'><name>p</name><uuid>0f</uuid><capacity unit='bytes'>10</capacity>"
        "<target><path>/x/p</path><permissions><mode>0711</mode><owner>0</owner>"
        "</permissions></target></pool>"
    )
    assert DirPool.from_xml(live) == DirPool("p", "/x/p", mode=0o711)


@pytest.mark.unit
def test_volume_xml_round_trip() -> None:
    volume = Volume("v.qcow2", 64 * MiB, "qcow2", allocation_bytes=0, mode=0o644)
    assert Volume.from_xml(volume.to_xml()) == volume
    live = (
        "<volume type='file'><name>v</name><key>/x/v</key><capacity unit='MiB'>64</capacity>"
        "<allocation unit='KiB'>196</allocation><target><path>/x/v</path>"
        "<format type='qcow2'/></target></volume>"
    )
    assert Volume.from_xml(live) == Volume("v", 64 * MiB, "qcow2", 196 * 1024, None, "/x/v")
    assert Volume.from_xml(Volume.from_xml(live).to_xml()) == Volume.from_xml(live)


@pytest.mark.unit
def test_xml_values_are_escaped_not_pasted() -> None:
    tricky = DirPool("a'<b>&", "/p/<x>")
    assert DirPool.from_xml(tricky.to_xml()) == tricky
    with pytest.raises(ValueError, match="expected <volume>"):
        Volume.from_xml(tricky.to_xml())


@pytest.mark.unit
def test_fake_records_calls() -> None:
    fake = FakeStorageDriver()
    fake.ensure_pool(PoolSpec("p", PoolType.DIRECTORY, "/p"))
    fake.fail_next("create_volume", Conflict("busy"))
    with pytest.raises(Conflict, match="busy"):
        fake.create_volume("p", "v", MiB, DiskFormat.RAW)
    assert fake.create_volume("p", "v", MiB, DiskFormat.RAW).capacity_bytes == MiB
    assert fake.calls[0] == ("ensure_pool", "p", "DIRECTORY", "/p")
    assert fake.calls[-1] == ("create_volume", "p", "v", str(MiB), "raw")


# -- pools QEMU can reach, and nobody else (libvirt only) --------------------------------


@pytest.mark.integration
@pytest.mark.usefixtures("libvirt_ready")
def test_a_pool_under_a_directory_qemu_cannot_pass_is_refused(tmp_path: Path) -> None:
    import libvirt

    from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver

    POOLS_ROOT.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="private-", dir=POOLS_ROOT))  # 0700, as mktemp -d
    name = f"cetest-{uuid.uuid4().hex[:10]}"
    driver = LibvirtStorageDriver()
    try:
        with pytest.raises(InvalidInput) as refused:
            driver.ensure_pool(PoolSpec(name, PoolType.DIRECTORY, str(private / "pool")))
        assert refused.value.message == (
            f"Storage pool {name}: {private} is mode 0700: libvirt-qemu can't reach the pool; "
            f"chmod o+x {private} or choose another pool path."
        )
        conn = libvirt.open("qemu:///system")
        try:
            assert name not in conn.listStoragePools() + conn.listDefinedStoragePools()
        finally:
            conn.close()
        assert os.listdir(private) == []
    finally:
        driver.remove_pool(name)
        shutil.rmtree(private, ignore_errors=True)


@pytest.mark.integration
@pytest.mark.usefixtures("libvirt_ready")
def test_a_pool_made_before_modes_were_tightened_is_closed() -> None:
    from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver

    name = f"cetest-{uuid.uuid4().hex[:10]}"
    directory = POOLS_ROOT / name
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    old = directory / "vol-old.qcow2"
    old.write_bytes(b"QFI\xfb")
    old.chmod(0o644)
    driver = LibvirtStorageDriver()
    try:
        driver.ensure_pool(PoolSpec(name, PoolType.DIRECTORY, str(directory)))
        assert stat.S_IMODE(directory.stat().st_mode) == 0o711
        assert stat.S_IMODE(old.stat().st_mode) == 0o600
    finally:
        driver.remove_pool(name)
        shutil.rmtree(directory, ignore_errors=True)


# -- directory volumes (containers) ----------------------------------------------------


def test_directory_volumes_hold_a_container_root_and_go_with_their_content(
    ready: Harness, tmp_path: Path
) -> None:
    from tests.support.container_images import tar_of_directory

    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hostname").write_text("busybox\n")
    d, pool = ready.driver, ready.pool
    tarball = ready.make_image(tar_of_directory(tree))
    root = d.create_rootfs(pool, "vol-root", tarball, uid_offset=0, gid_offset=0)
    assert (root.name, root.format) == ("vol-root", DiskFormat.DIR)
    assert root.path.endswith("/vol-root")
    with pytest.raises(Conflict, match="already exists"):
        d.create_rootfs(pool, "vol-root", tarball, uid_offset=0, gid_offset=0)
    data = d.create_volume(pool, "vol-data.dir", 4 * MiB, DiskFormat.DIR)
    assert (data.format, data.capacity_bytes) == (DiskFormat.DIR, 4 * MiB)
    if os.path.isdir(data.path):  # a real pool: a directory a container writes into
        Path(data.path, "note").write_text("written inside\n")
        assert Path(root.path, "etc", "hostname").read_text() == "busybox\n"
    for name in ("vol-root", "vol-data.dir"):
        d.delete_volume(pool, name)
        assert d.volume_info(pool, name) is None
        d.delete_volume(pool, name)  # missing: no error
    assert not os.path.exists(root.path) and not os.path.exists(data.path)
    assert ready.leftovers() == []
