"""Storage pools of every type against the real libvirt of this node, through the
``LibvirtStorageDriver`` the agent uses.

- Directory pools on two paths, each with a volume, started, idempotent, removed (files
  stay).
- iSCSI against a ``tgtd`` of the test's own on 127.0.0.1 (tests/support/tgt.py), through
  libvirt's userspace initiator (``iscsi-direct``): the pool lists the target's LUN, refuses
  to create or resize volumes, and the LUN hot-attached to a running TCG test guest as a
  pool volume (``<disk type='volume'>``) takes a marker the guest writes, which then is at
  the start of the LUN's backing file on the host. CHAP: the right secret starts the pool
  (held in a private libvirt secret, not in the pool's XML); a wrong one fails with a
  message that says so, leaving no pool and no secret.
- lvm, netfs (nfs, cifs with a user name and password: its mount options name a credentials
  file), rbd, zfs: the XML the driver designs is accepted by this
  libvirt (defined, read back equal, undefined) — for rbd and zfs, whose backends this
  libvirt lacks, its schema validation passes and the definition is refused only for the
  missing backend — and ``ensure_pool`` on this node, which lacks LVM tools, NFS and CIFS
  clients, Ceph and ZFS, names the missing piece and leaves nothing defined. What the
  message names is what this node lacks (checked here, so the test says the truth on a
  node that has some of them). The CIFS credentials file is written only once nothing is
  missing: while libvirt has the pool defined it holds the login, mode 0600, and a start
  that fails (this kernel can't mount cifs) removes it with the pool.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libvirt
import pytest

from cloudenv.drivers.compute.base import (
    Accelerator,
    DirectKernelBoot,
    DiskBus,
    DiskFormat,
    DiskSpec,
    DomainSpec,
    Firmware,
    QemuConfig,
    VolumeSource,
)
from cloudenv.drivers.compute.libvirt_qemu import LibvirtComputeDriver
from cloudenv.drivers.errors import DriverError, Unsupported
from cloudenv.drivers.storage.base import PoolSpec, PoolType, disk_source, secret_usage_id
from cloudenv.drivers.storage.libvirt_pools import LibvirtStorageDriver
from cloudenv.drivers.storage.libvirt_xml import IscsiDirectPool, parse_pool
from cloudenv.drivers.storage.node_probe import NodeProbe, Run
from tests.guest.build import CMDLINE, MARKER, build_guest
from tests.support.console import Console
from tests.support.libvirt import ensure_libvirtd
from tests.support.tgt import Target, Tgt, iscsi_target

pytestmark = pytest.mark.integration

ROOT = Path("/var/lib/cloudenv-test/pools")
MIB = 1024**2
BOOT_TIMEOUT = 90.0
GUEST_TIMEOUT = 20.0
INITIATOR = "iqn.2026-11.test.cloudenv:initiator"


@pytest.fixture(scope="module")
def conn() -> Iterator[Any]:
    ensure_libvirtd()
    connection = libvirt.open("qemu:///system")
    yield connection
    connection.close()


@pytest.fixture
def credentials_dir(tmp_path: Path) -> Path:
    return tmp_path / "credentials"


@pytest.fixture
def driver(conn: Any, credentials_dir: Path) -> Iterator[LibvirtStorageDriver]:
    """A driver; every pool whose name it was asked about is removed afterwards."""
    storage = LibvirtStorageDriver(initiator=INITIATOR, credentials_dir=credentials_dir)
    names: list[str] = []
    ensure = storage.ensure_pool

    def remembering(spec: PoolSpec) -> Any:
        names.append(spec.name)
        return ensure(spec)

    storage.ensure_pool = remembering  # type: ignore[method-assign]
    yield storage
    for name in names:
        storage.remove_pool(name)


def pool_name() -> str:
    return f"cetest-{uuid.uuid4().hex[:10]}"


def defined(conn: Any, name: str) -> bool:
    return name in conn.listStoragePools() + conn.listDefinedStoragePools()


def has_secret(conn: Any, name: str) -> bool:
    usage = secret_usage_id(name)
    return any(s.usageID() == usage for s in conn.listAllSecrets(0))


# -- directory pools ---------------------------------------------------------------------


def test_directory_pools_on_two_paths(driver: LibvirtStorageDriver, conn: Any) -> None:
    first, second = pool_name(), pool_name()
    a, b = ROOT / first, ROOT / "second" / second
    try:
        for name, path in ((first, a), (second, b)):
            usage = driver.ensure_pool(PoolSpec(name, PoolType.DIRECTORY, str(path)))
            assert usage.active and usage.capacity_bytes > 0
            volume = driver.create_volume(name, "v.qcow2", 8 * MIB, DiskFormat.QCOW2)
            assert volume.path == str(path / "v.qcow2")
            assert conn.storagePoolLookupByName(name).autostart() == 1
        # Idempotent: the running pools are left as they are.
        assert driver.ensure_pool(PoolSpec(first, PoolType.DIRECTORY, str(a))).active
        assert [v.path for v in driver.list_volumes(second)] == [str(b / "v.qcow2")]
        driver.remove_pool(first)
        driver.remove_pool(second)
        assert not defined(conn, first) and not defined(conn, second)
        assert (a / "v.qcow2").exists() and (b / "v.qcow2").exists()
    finally:
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(ROOT / "second", ignore_errors=True)


# -- iSCSI against tgt -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tgt() -> Iterator[Tgt]:
    with iscsi_target() as running:
        yield running


@pytest.fixture(scope="module")
def target(tgt: Tgt) -> Target:
    return tgt.add_target(64 * MIB)


def iscsi_spec(name: str, tgt: Tgt, target: Target, **extra: Any) -> PoolSpec:
    secrets_ = extra.pop("secrets", {})
    config = {"portal": tgt.portal, "target": target.iqn, **extra}
    return PoolSpec(name, PoolType.ISCSI, config=config, secrets=secrets_)


def test_iscsi_pool_lists_the_lun_and_refuses_volume_changes(
    driver: LibvirtStorageDriver, conn: Any, tgt: Tgt, target: Target
) -> None:
    name = pool_name()
    usage = driver.ensure_pool(iscsi_spec(name, tgt, target))
    assert usage.active
    have = parse_pool(conn.storagePoolLookupByName(name).XMLDesc(0))
    assert isinstance(have, IscsiDirectPool) and have.initiator == INITIATOR
    assert driver.ensure_pool(iscsi_spec(name, tgt, target)).active  # idempotent

    luns = driver.list_volumes(name)  # LUN 0 (tgt's controller, 0 bytes) is no volume
    assert [(v.name, v.capacity_bytes) for v in luns] == [("unit:0:0:1", 64 * MIB - 512)]
    assert luns[0].path == f"ip-{tgt.portal}-iscsi-{target.iqn}-lun-1"
    assert driver.volume_info(name, "unit:0:0:1") == luns[0]
    for refused in (
        lambda: driver.create_volume(name, "new", MIB, DiskFormat.RAW),
        lambda: driver.resize_volume(name, "unit:0:0:1", 128 * MIB),
        lambda: driver.delete_volume(name, "unit:0:0:1"),
    ):
        with pytest.raises(Unsupported, match="volumes are the target's LUNs"):
            refused()
    driver.remove_pool(name)
    assert not defined(conn, name)
    assert target.backing.stat().st_size == 64 * MIB  # the LUN's data stays


def test_chap_secret_starts_the_pool_and_a_wrong_one_is_named(
    driver: LibvirtStorageDriver, conn: Any, tgt: Tgt
) -> None:
    password = f"pw-{secrets.token_hex(6)}"
    guarded = tgt.add_target(8 * MIB, chap=("cetest-user", password))
    wrong, right = pool_name(), pool_name()

    with pytest.raises(DriverError) as failed:
        driver.ensure_pool(
            iscsi_spec(
                wrong, tgt, guarded, chap_username="cetest-user", secrets={"chap_secret": "nope"}
            )
        )
    assert failed.value.message.startswith(
        f"Storage pool {wrong}: the iSCSI target refused the CHAP login of user cetest-user "
        "(check chap_username and chap_secret)"
    )
    assert "nope" not in failed.value.message
    assert not defined(conn, wrong) and not has_secret(conn, wrong)

    spec = iscsi_spec(
        right, tgt, guarded, chap_username="cetest-user", secrets={"chap_secret": password}
    )
    assert driver.ensure_pool(spec).active
    assert [v.name for v in driver.list_volumes(right)] == ["unit:0:0:1"]
    xml = conn.storagePoolLookupByName(right).XMLDesc(0)
    assert password not in xml and secret_usage_id(right) in xml
    secret = conn.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, secret_usage_id(right))
    assert "private='yes'" in secret.XMLDesc(0)
    with pytest.raises(libvirt.libvirtError, match="private"):
        secret.value(0)  # no client reads it back
    driver.remove_pool(right)
    assert not defined(conn, right) and not has_secret(conn, right)


# -- the LUN as a running guest's disk ---------------------------------------------------


@dataclass
class Guest:
    compute: LibvirtComputeDriver
    name: str
    console: Console


@pytest.fixture(scope="module")
def guest(conn: Any) -> Iterator[Guest]:
    artifacts = build_guest()
    name = f"cetest-lun-{secrets.token_hex(4)}"
    compute = LibvirtComputeDriver(accelerator=Accelerator.TCG)
    with ExitStack() as cleanup:
        cleanup.callback(compute.close)
        spec = DomainSpec(
            name=name,
            uuid=str(uuid.uuid4()),
            title="storage pools test",
            vcpus_sockets=1,
            vcpus_cores=1,
            vcpus_threads=1,
            memory_mb=256,
            accelerator=Accelerator.TCG,
            config=QemuConfig(firmware=Firmware.BIOS),
            kernel_boot=DirectKernelBoot(str(artifacts.kernel), str(artifacts.initrd), CMDLINE),
            vnc=False,
        )
        compute.define(spec)
        cleanup.callback(compute.undefine, name)
        compute.start(name)
        cleanup.callback(compute.destroy, name)
        console = Console(compute.open_serial_console(name))
        cleanup.callback(console.close)
        console.wait_for(MARKER, BOOT_TIMEOUT)
        yield Guest(compute, name, console)


def test_a_running_guest_writes_the_hot_attached_lun(
    driver: LibvirtStorageDriver, tgt: Tgt, target: Target, guest: Guest
) -> None:
    name = pool_name()
    spec = iscsi_spec(name, tgt, target)
    driver.ensure_pool(spec)
    lun = driver.list_volumes(name)[0]
    where = disk_source(PoolType.ISCSI, name, spec.config, lun.name)
    assert where == VolumeSource(pool=name, volume="unit:0:0:1")
    disk = DiskSpec(
        path=lun.name,
        source=where,
        target="vdb",
        bus=DiskBus.VIRTIO,
        format=DiskFormat.RAW,
        serial="ce-lun-1",
    )
    guest.compute.attach_disk(guest.name, disk, live=True)
    try:
        device = _device_with_serial(guest, "ce-lun-1")
        marker = f"CE-LUN-{secrets.token_hex(6)}"
        # Written and flushed to the LUN; the page cache dropped so the read goes to it.
        guest.console.run(f"printf '{marker}' > /dev/{device}; sync")
        guest.console.run("echo 3 > /proc/sys/vm/drop_caches")
        seen = guest.console.run(f"dd if=/dev/{device} bs=512 count=1 2>/dev/null | head -c 19")
        assert marker in seen
        assert target.backing.read_bytes()[: len(marker)] == marker.encode()
    finally:
        guest.compute.detach_disk(guest.name, "vdb", live=True)


def _device_with_serial(guest: Guest, serial: str) -> str:
    """The guest's name for the disk with ``serial`` (hot-plug is asynchronous)."""
    deadline, seen = time.monotonic() + GUEST_TIMEOUT, ""
    while time.monotonic() < deadline:
        seen = guest.console.run(
            "for d in /sys/block/vd*; do echo $(basename $d)=$(cat $d/serial); done"
        )
        for line in seen.splitlines():
            device, _, found = line.strip().partition("=")
            if found == serial:
                return device
        time.sleep(0.3)
    raise AssertionError(f"no disk with serial {serial} in the guest: {seen!r}")


# -- lvm, netfs, rbd, zfs on this node -------------------------------------------------


def _spec(kind: str, name: str) -> PoolSpec:
    mount = str(ROOT / name)
    return {
        "lvm": PoolSpec(name, PoolType.LVM, config={"volume_group": f"{name}-vg"}),
        "nfs": PoolSpec(
            name,
            PoolType.NETFS,
            mount,
            {"protocol": "nfs", "server": "127.0.0.1", "export": "/export/vms", "path": mount},
        ),
        "cifs": PoolSpec(
            name,
            PoolType.NETFS,
            mount,
            {
                "protocol": "cifs",
                "server": "127.0.0.1",
                "export": "vms",
                "path": mount,
                "username": "vmhost",
            },
            {"password": CIFS_PASSWORD},
        ),
        "rbd": PoolSpec(
            name,
            PoolType.RBD,
            config={"monitors": ["127.0.0.1:6789"], "pool": "rbd", "user": "libvirt"},
            secrets={"key": "QVFCMTIzNDU2Nzg5MEFCQ0RFRg=="},
        ),
        "zfs": PoolSpec(name, PoolType.ZFS, config={"pool": f"{name}-tank"}),
    }[kind]


CIFS_PASSWORD = "cifs-password-0815"
KINDS = ["lvm", "nfs", "cifs", "rbd", "zfs"]
BACKEND = {"lvm": "logical", "nfs": "netfs", "cifs": "netfs", "rbd": "rbd", "zfs": "zfs"}


def _backends(conn: Any) -> str:
    return str(conn.getStoragePoolCapabilities(0))


@pytest.mark.parametrize("kind", KINDS)
def test_the_designed_xml_is_accepted_by_libvirt(
    driver: LibvirtStorageDriver, conn: Any, kind: str
) -> None:
    name = pool_name()
    design = driver.design(_spec(kind, name))
    supported = f"<pool type='{BACKEND[kind]}' supported='yes'" in _backends(conn)
    flags = libvirt.VIR_STORAGE_POOL_DEFINE_VALIDATE  # against libvirt's schema first
    if supported:
        pool = conn.storagePoolDefineXML(design.pool.to_xml(), flags)
        try:
            dumped = pool.XMLDesc(0)
            assert parse_pool(dumped) == design.pool
        finally:
            pool.undefine()
        if kind == "cifs":
            # libvirt keeps the fs:mount_opts, which name the file and hold no password.
            assert design.credentials is not None
            assert f"<fs:option name='credentials={design.credentials.path}'/>" in dumped
            assert CIFS_PASSWORD not in dumped
    else:
        # Parsed and schema-validated; refused only because this libvirt lacks the backend.
        with pytest.raises(libvirt.libvirtError, match=f"missing backend for pool type .*{kind}"):
            conn.storagePoolDefineXML(design.pool.to_xml(), flags)
    assert not defined(conn, name)


@pytest.mark.parametrize("kind", KINDS)
def test_ensure_pool_names_what_this_node_lacks(
    driver: LibvirtStorageDriver, conn: Any, credentials_dir: Path, kind: str
) -> None:
    name = pool_name()
    spec = _spec(kind, name)
    lacking = _lacking(conn, kind, name)
    # An rbd pool needs nothing on the node but libvirt's backend; with it, what fails is
    # the (absent) Ceph cluster, named by its monitor.
    expected = Unsupported if lacking else DriverError
    try:
        with pytest.raises(expected) as refused:
            driver.ensure_pool(spec)
    finally:
        shutil.rmtree(ROOT / name, ignore_errors=True)
    message = refused.value.message
    assert message.startswith(f"Storage pool {name}: ")
    for piece in lacking or ["the RADOS monitor on: 127.0.0.1:6789"]:
        assert piece in message
    assert not defined(conn, name) and not has_secret(conn, name)
    assert not credentials_dir.exists() or not os.listdir(credentials_dir)


class _Watched:
    """A libvirt connection whose newly defined pools report, when started, what the
    credentials file and libvirt's definition were at that moment."""

    def __init__(self, conn: Any, path: Path, seen: list[tuple[int, str, str]]) -> None:
        self._conn, self._path, self._seen = conn, path, seen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def storagePoolDefineXML(self, xml: str, flags: int) -> Any:
        pool = self._conn.storagePoolDefineXML(xml, flags)
        create = pool.create

        def watched_create(flags: int) -> Any:
            self._seen.append(
                (os.lstat(self._path).st_mode, self._path.read_text(), pool.XMLDesc(0))
            )
            return create(flags)

        pool.create = watched_create
        return pool


def test_cifs_credentials_are_there_while_defined_and_go_with_a_failed_start(
    conn: Any, credentials_dir: Path
) -> None:
    """With a probe that finds mount.cifs (7.0, which still passes the password after
    libvirt's ``guest``), the pool is defined and started for real; this kernel has no cifs,
    so the mount fails and the undo removes the pool and its file."""
    name = pool_name()
    spec = _spec("cifs", name)
    path = credentials_dir / f"{name}.cred"
    seen: list[tuple[int, str, str]] = []
    probe = NodeProbe(
        which=lambda tool: f"/usr/sbin/{tool}",
        run=lambda argv: Run(0, "mount.cifs version: 7.0\n", ""),
    )
    storage = LibvirtStorageDriver(
        lambda: _Watched(libvirt.open("qemu:///system"), path, seen),
        initiator=INITIATOR,
        probe=probe,
        credentials_dir=credentials_dir,
    )
    try:
        with pytest.raises(DriverError) as failed:
            storage.ensure_pool(spec)
    finally:
        shutil.rmtree(ROOT / name, ignore_errors=True)
        storage.remove_pool(name)
    assert "can't mount cifs" in failed.value.message
    assert CIFS_PASSWORD not in failed.value.message
    [(mode, content, xml)] = seen
    assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(credentials_dir).st_mode) == 0o700
    assert content == f"username=vmhost\npassword={CIFS_PASSWORD}\n"
    assert f"<fs:option name='credentials={path}'/>" in xml and CIFS_PASSWORD not in xml
    assert not path.exists() and not defined(conn, name)


def _lacking(conn: Any, kind: str, name: str) -> list[str]:
    """What the message must name on this node, found out independently of the driver."""
    backends = _backends(conn)
    pieces = []
    if f"<pool type='{BACKEND[kind]}' supported='yes'" not in backends:
        pieces.append(f"libvirt has no {BACKEND[kind]} storage backend (install ")
    if kind == "lvm":
        if shutil.which("vgs", path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
            pieces.append("vgs is missing (apt-get install lvm2)")
        else:
            pieces.append(f"volume group {name}-vg not found")
    if kind == "zfs":
        if shutil.which("zpool", path="/usr/sbin:/sbin:/usr/bin:/bin") is None:
            pieces.append("zpool is missing (apt-get install zfsutils-linux)")
        else:
            pieces.append(f"zfs pool {name}-tank not found")
    if kind == "nfs" and shutil.which("mount.nfs", path="/usr/sbin:/sbin") is None:
        pieces.append("no NFS client: mount.nfs is missing (apt-get install nfs-common)")
    if kind == "cifs" and shutil.which("mount.cifs", path="/usr/sbin:/sbin") is None:
        pieces.append("no CIFS client: mount.cifs is missing (apt-get install cifs-utils)")
    assert pieces or kind == "rbd", f"this node has everything a {kind} pool needs"
    return pieces
