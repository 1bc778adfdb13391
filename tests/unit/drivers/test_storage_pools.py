"""Storage pools of every type without libvirt: the XML each element class writes (read
back by XPath and parsed back into the same object), the per-type decisions of
``pool_design``, and the missing pieces ``node_probe`` names."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

import pytest

from cloudenv.drivers.errors import Unsupported
from cloudenv.drivers.storage.base import PoolSpec, PoolType
from cloudenv.drivers.storage.fake import FakeStorageDriver
from cloudenv.drivers.storage.libvirt_xml import (
    FS_NAMESPACE,
    DirPool,
    IscsiDirectPool,
    IscsiPool,
    LogicalPool,
    NetfsPool,
    PoolAuth,
    PoolHost,
    RbdPool,
    Secret,
    Volume,
    ZfsPool,
    parse_pool,
)
from cloudenv.drivers.storage.node_probe import NodeProbe, Run, supported_backends
from cloudenv.drivers.storage.pool_design import design_pool, node_initiator, same_definition
from cloudenv.enums import DiskFormat
from cloudenv.errors import InvalidInput

IQN = "iqn.2026-11.test.cloudenv:lun1"
INITIATOR = "iqn.2026-11.test.cloudenv:initiator"


def tree(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - XML our own classes wrote


def attrs(root: ET.Element, path: str) -> dict[str, str]:
    found = root.find(path)
    assert found is not None, f"no {path}"
    return dict(found.attrib)


# -- element classes -------------------------------------------------------------------


def test_netfs_nfs_and_cifs() -> None:
    nfs = NetfsPool("p1", "files.example", "/export/vms", "nfs", "/mnt/p1")
    root = tree(nfs.to_xml())
    assert root.get("type") == "netfs"
    assert attrs(root, "source/host") == {"name": "files.example"}
    assert attrs(root, "source/dir") == {"path": "/export/vms"}
    assert attrs(root, "source/format") == {"type": "nfs"}
    assert root.findtext("target/path") == "/mnt/p1"
    assert parse_pool(nfs.to_xml()) == nfs
    cifs = NetfsPool("p2", "files", "vms", "cifs", "/mnt/p2")
    assert parse_pool(cifs.to_xml()) == cifs
    assert root.find("source/auth") is None
    assert "mount_opts" not in nfs.to_xml() and "xmlns" not in nfs.to_xml()


def test_netfs_mount_options_in_libvirts_fs_namespace() -> None:
    cifs = NetfsPool(
        "p2", "files", "vms", "cifs", "/mnt/p2", mount_options=("credentials=/c/p2.cred", "ro")
    )
    text = cifs.to_xml()
    # The prefix libvirt documents, declared on <pool>, not ElementTree's ns0.
    assert text.startswith(f'<pool xmlns:fs="{FS_NAMESPACE}" type="netfs">')
    assert "<fs:mount_opts><fs:option " in text
    options = tree(text).findall(f"{{{FS_NAMESPACE}}}mount_opts/{{{FS_NAMESPACE}}}option")
    assert [o.get("name") for o in options] == ["credentials=/c/p2.cred", "ro"]
    assert parse_pool(text) == cifs
    # As libvirt writes it back (single quotes, indented, its own elements added).
    dumped = (
        f"<pool type='netfs' xmlns:fs='{FS_NAMESPACE}'><name>p2</name><uuid>u</uuid>"
        "<source><host name='files'/><dir path='vms'/><format type='cifs'/></source>"
        "<target><path>/mnt/p2</path></target>\n  <fs:mount_opts>\n"
        "    <fs:option name='credentials=/c/p2.cred'/>\n    <fs:option name='ro'/>\n"
        "  </fs:mount_opts>\n</pool>"
    )
    assert parse_pool(dumped) == cifs


def test_iscsi_direct_with_chap_names_the_secret_only() -> None:
    pool = IscsiDirectPool(
        "p1",
        (PoolHost("127.0.0.1", 3260),),
        IQN,
        INITIATOR,
        PoolAuth("chap", "alice", secret_usage="cloudenv-pool-p1"),
    )
    root = tree(pool.to_xml())
    assert root.get("type") == "iscsi-direct"
    assert attrs(root, "source/host") == {"name": "127.0.0.1", "port": "3260"}
    assert attrs(root, "source/device") == {"path": IQN}
    assert attrs(root, "source/initiator/iqn") == {"name": INITIATOR}
    assert attrs(root, "source/auth") == {"type": "chap", "username": "alice"}
    assert attrs(root, "source/auth/secret") == {"usage": "cloudenv-pool-p1"}
    assert root.find("target") is None
    assert parse_pool(pool.to_xml()) == pool


def test_iscsi_direct_as_libvirt_returns_it() -> None:
    live = (
        "<pool type='iscsi-direct'><name>ce</name><uuid>74</uuid>"
        "<capacity unit='bytes'>67108352</capacity><source><host name='127.0.0.1' port='3261'/>"
        f"<device path='{IQN}'/><initiator><iqn name='{INITIATOR}'/></initiator></source></pool>"
    )
    assert parse_pool(live) == IscsiDirectPool("ce", (PoolHost("127.0.0.1", 3261),), IQN, INITIATOR)


def test_kernel_iscsi_has_by_path_target() -> None:
    pool = IscsiPool("p1", (PoolHost("10.0.0.5"),), IQN)
    root = tree(pool.to_xml())
    assert root.get("type") == "iscsi"
    assert root.findtext("target/path") == "/dev/disk/by-path"
    assert root.find("source/initiator") is None
    assert parse_pool(pool.to_xml()) == pool


def test_logical_rbd_zfs() -> None:
    logical = LogicalPool("p1", "vg0", "/dev/vg0")
    root = tree(logical.to_xml())
    assert (root.get("type"), root.findtext("source/name")) == ("logical", "vg0")
    assert attrs(root, "source/format") == {"type": "lvm2"}
    assert root.findtext("target/path") == "/dev/vg0"
    assert parse_pool(logical.to_xml()) == logical

    rbd = RbdPool(
        "p2",
        "rbdpool",
        (PoolHost("10.0.0.1", 6789), PoolHost("mon2")),
        PoolAuth("ceph", "libvirt", secret_usage="cloudenv-pool-p2"),
    )
    root = tree(rbd.to_xml())
    assert (root.get("type"), root.findtext("source/name")) == ("rbd", "rbdpool")
    assert [h.attrib for h in root.findall("source/host")] == [
        {"name": "10.0.0.1", "port": "6789"},
        {"name": "mon2"},
    ]
    assert attrs(root, "source/auth") == {"type": "ceph", "username": "libvirt"}
    assert parse_pool(rbd.to_xml()) == rbd

    zfs = ZfsPool("p3", "tank")
    root = tree(zfs.to_xml())
    assert (root.get("type"), root.findtext("source/name")) == ("zfs", "tank")
    assert parse_pool(zfs.to_xml()) == zfs


def test_values_are_escaped_and_types_checked() -> None:
    tricky = NetfsPool("a'<b>&", 'h"', "/e/<x>", "nfs", "/m/&")
    assert parse_pool(tricky.to_xml()) == tricky
    with pytest.raises(ValueError, match="expected <pool type='zfs'>"):
        ZfsPool.from_xml(LogicalPool("p", "vg", "/dev/vg").to_xml())
    assert parse_pool(DirPool("d", "/x").to_xml()) == DirPool("d", "/x")


def test_secret_is_private_and_persistent_and_holds_no_value() -> None:
    secret = Secret("iscsi", "cloudenv-pool-p1", "CHAP of p1")
    root = tree(secret.to_xml())
    assert root.attrib == {"ephemeral": "no", "private": "yes"}
    assert attrs(root, "usage") == {"type": "iscsi"}
    assert root.findtext("usage/target") == "cloudenv-pool-p1"
    assert Secret.from_xml(secret.to_xml()) == secret
    ceph = Secret("ceph", "cloudenv-pool-p2")
    assert tree(ceph.to_xml()).findtext("usage/name") == "cloudenv-pool-p2"
    assert Secret.from_xml(ceph.to_xml()) == ceph


def test_block_volume_has_no_format() -> None:
    volume = Volume("v.raw", 1024, None, allocation_bytes=1024)
    root = tree(volume.to_xml())
    assert root.find("target/format") is None
    assert Volume.from_xml(volume.to_xml()).format == "raw"  # libvirt's default


# -- design ------------------------------------------------------------------------------


def spec(
    kind: PoolType, config: dict[str, object], secrets: dict[str, str] | None = None
) -> PoolSpec:
    return PoolSpec("pool-1", kind, str(config.get("path", "")), config, secrets or {})


def test_directory_design_is_built_with_our_mode() -> None:
    design = design_pool(spec(PoolType.DIRECTORY, {"path": "/srv/p//1/"}))
    assert design.pool == DirPool("pool-1", "/srv/p/1", mode=0o711)
    assert design.build and design.secret is None
    with pytest.raises(InvalidInput, match="absolute") as refused:
        design_pool(spec(PoolType.DIRECTORY, {"path": "rel"}))
    assert refused.value.field == "config.path"


def test_netfs_design() -> None:
    config = {"protocol": "nfs", "server": "f", "export": "/e", "path": "/mnt/p"}
    design = design_pool(spec(PoolType.NETFS, config))
    assert design.pool == NetfsPool("pool-1", "f", "/e", "nfs", "/mnt/p")
    assert design.build
    assert design.credentials is None
    cifs = design_pool(spec(PoolType.NETFS, {**config, "protocol": "cifs", "export": "/vms"}))
    assert cifs.pool == NetfsPool("pool-1", "f", "vms", "cifs", "/mnt/p")
    assert cifs.credentials is None  # mounted as guest: no file, no mount option
    with pytest.raises(InvalidInput) as refused:
        design_pool(spec(PoolType.NETFS, {**config, "protocol": "smb"}))
    assert refused.value.field == "config.protocol"


CIFS = {"protocol": "cifs", "server": "f", "export": "vms", "path": "/mnt/p"}
PASSWORD = "pw=with,comma and spaces "


def test_cifs_credentials_go_into_a_file_the_xml_only_names() -> None:
    user = {**CIFS, "username": "alice", "domain": "CORP"}
    design = design_pool(spec(PoolType.NETFS, user, {"password": PASSWORD}), credentials_dir="/c")
    assert design.credentials is not None
    assert design.credentials.path == "/c/pool-1.cred"
    # mount.cifs's format; the password kept exactly (it doubles commas itself).
    assert design.credentials.content == f"username=alice\npassword={PASSWORD}\ndomain=CORP\n"
    assert design.pool == NetfsPool(
        "pool-1", "f", "vms", "cifs", "/mnt/p", mount_options=("credentials=/c/pool-1.cred",)
    )
    assert PASSWORD not in design.pool.to_xml() and "alice" not in design.pool.to_xml()
    assert PASSWORD not in repr(design) and "alice" not in repr(design)
    # The default directory is root's own; a user without a password is still a login.
    alone = design_pool(spec(PoolType.NETFS, {**CIFS, "username": "bob"}))
    assert alone.credentials is not None
    assert alone.credentials.path == "/etc/cloudenv/pool-credentials/pool-1.cred"
    assert alone.credentials.content == "username=bob\n"


@pytest.mark.parametrize(
    ("config", "secrets", "field"),
    [
        ({"username": "alice\npassword=x"}, {}, "config.username"),
        ({"username": "alice"}, {"password": "pw\ndomain=EVIL"}, "config.password"),
        ({"username": "alice"}, {"password": "pw\r"}, "config.password"),
        ({"username": "alice"}, {"password": "pw\0rest"}, "config.password"),
        ({"username": "alice", "domain": "C\nORP"}, {}, "config.domain"),
        ({"username": "alice,uid=0"}, {}, "config.username"),
        ({"username": "alice", "domain": "CORP,uid=0"}, {}, "config.domain"),
        ({}, {"password": "pw"}, "config.username"),
        ({"domain": "CORP"}, {}, "config.username"),
    ],
)
def test_cifs_credentials_that_would_break_the_file_are_refused(
    config: dict[str, str], secrets: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        design_pool(spec(PoolType.NETFS, {**CIFS, **config}, secrets))
    assert refused.value.field == field
    for value in (*config.values(), *secrets.values()):
        assert value not in refused.value.message


def test_a_pool_id_that_cannot_name_a_file_is_refused() -> None:
    bad = PoolSpec("../x", PoolType.NETFS, "/mnt/p", {**CIFS, "username": "u"}, {})
    with pytest.raises(InvalidInput) as refused:
        design_pool(bad)
    assert refused.value.field == "name"


def test_iscsi_design_direct_or_kernel_with_chap_secret() -> None:
    config = {"portal": "127.0.0.1:3261", "target": IQN, "chap_username": "alice"}
    design = design_pool(
        spec(PoolType.ISCSI, config, {"chap_secret": "s3cret-pw"}), initiator=INITIATOR
    )
    assert design.pool == IscsiDirectPool(
        "pool-1",
        (PoolHost("127.0.0.1", 3261),),
        IQN,
        INITIATOR,
        PoolAuth("chap", "alice", secret_usage="cloudenv-pool-pool-1"),
    )
    assert design.secret is not None
    assert design.secret.secret == Secret(
        "iscsi", "cloudenv-pool-pool-1", design.secret.secret.description
    )
    assert design.secret.value == b"s3cret-pw"
    assert "s3cret-pw" not in design.pool.to_xml() + repr(design)
    named = design_pool(
        spec(PoolType.ISCSI, {"portal": "h", "target": IQN, "initiator": "iqn.2026-01.x:y"})
    )
    assert isinstance(named.pool, IscsiDirectPool)
    assert named.pool.hosts == (PoolHost("h", 3260),)
    assert named.pool.initiator == "iqn.2026-01.x:y"
    kernel = design_pool(spec(PoolType.ISCSI, {"portal": "h", "target": IQN}), iscsi_direct=False)
    assert kernel.pool == IscsiPool("pool-1", (PoolHost("h", 3260),), IQN)


def test_lvm_zfs_default_to_the_pools_name_and_are_never_built() -> None:
    lvm = design_pool(spec(PoolType.LVM, {}))
    assert lvm.pool == LogicalPool("pool-1", "pool-1", "/dev/pool-1")
    assert not lvm.build
    assert design_pool(spec(PoolType.LVM, {"volume_group": "vg0"})).pool == LogicalPool(
        "pool-1", "vg0", "/dev/vg0"
    )
    zfs = design_pool(spec(PoolType.ZFS, {"pool": "tank"}))
    assert (zfs.pool, zfs.build) == (ZfsPool("pool-1", "tank"), False)


def test_rbd_design_key_goes_into_a_ceph_secret_decoded() -> None:
    config = {"monitors": ["10.0.0.1:6789", "mon2"], "pool": "rbd", "user": "libvirt"}
    design = design_pool(spec(PoolType.RBD, config, {"key": "QUJDRA=="}))
    assert design.pool == RbdPool(
        "pool-1",
        "rbd",
        (PoolHost("10.0.0.1", 6789), PoolHost("mon2")),
        PoolAuth("ceph", "libvirt", secret_usage="cloudenv-pool-pool-1"),
    )
    assert design.secret is not None
    assert (design.secret.secret.usage_type, design.secret.value) == ("ceph", b"ABCD")
    assert design_pool(spec(PoolType.RBD, config)).pool == RbdPool(
        "pool-1", "rbd", (PoolHost("10.0.0.1", 6789), PoolHost("mon2"))
    )
    with pytest.raises(InvalidInput) as refused:
        design_pool(spec(PoolType.RBD, config, {"key": "not base64!"}))
    assert refused.value.field == "config.key"
    with pytest.raises(InvalidInput) as refused:
        design_pool(spec(PoolType.RBD, {"pool": "rbd"}))
    assert refused.value.field == "config.monitors"


def test_same_definition_ignores_a_directory_mode_only() -> None:
    assert same_definition(DirPool("p", "/a/"), DirPool("p", "/a", mode=0o711))
    assert not same_definition(DirPool("p", "/a"), DirPool("p", "/b"))
    assert not same_definition(
        LogicalPool("p", "vg0", "/dev/vg0"), LogicalPool("p", "vg1", "/dev/vg1")
    )


def test_node_initiator(tmp_path: object) -> None:
    from pathlib import Path

    missing = str(Path(str(tmp_path)) / "none")
    assert node_initiator("Node_7.lab", missing) == "iqn.2026-12.org.cloudenv:node-7.lab"
    named = Path(str(tmp_path)) / "initiatorname.iscsi"
    named.write_text("## comment\nInitiatorName=iqn.1993-08.org.debian:01:abc\n")
    assert node_initiator("x", str(named)) == "iqn.1993-08.org.debian:01:abc"


# -- node probe --------------------------------------------------------------------------


def probe(tools: dict[str, str], outputs: dict[str, Run], devices: Sequence[str] = ()) -> NodeProbe:
    return NodeProbe(
        which=lambda tool: tools.get(tool),
        run=lambda argv: outputs[argv[0]],
        exists=lambda path: path in devices,
    )


ALL = frozenset({"dir", "netfs", "logical", "iscsi", "iscsi-direct", "rbd", "zfs"})


def lacking(p: NodeProbe, s: PoolSpec, backends: frozenset[str] = ALL) -> list[str]:
    return p.lacking(s, design_pool(s, initiator=INITIATOR), backends)


def test_probe_names_a_missing_volume_group_and_lists_the_others() -> None:
    s = spec(PoolType.LVM, {"volume_group": "vg0"})
    none = probe({"vgs": "/sbin/vgs"}, {"/sbin/vgs": Run(0, "", "")})
    assert lacking(none, s) == [
        "volume group vg0 not found (vgs lists none; create it with vgcreate or choose another)"
    ]
    others = probe({"vgs": "/sbin/vgs"}, {"/sbin/vgs": Run(0, "  data\n  vg1\n", "")})
    assert "vgs lists data, vg1;" in lacking(others, s)[0]
    found = probe(
        {"vgs": "/sbin/vgs"}, {"/sbin/vgs": Run(0, "  vg0\n", "")}, ["/dev/mapper/control"]
    )
    assert lacking(found, s) == []
    no_dm = probe({"vgs": "/sbin/vgs"}, {"/sbin/vgs": Run(0, "  vg0\n", "")})
    assert "device-mapper" in lacking(no_dm, s)[0]
    assert "vgs is missing (apt-get install lvm2)" in lacking(probe({}, {}), s)[0]


def test_probe_names_a_missing_zpool_and_backend() -> None:
    s = spec(PoolType.ZFS, {"pool": "tank"})
    found = probe({"zpool": "/sbin/zpool"}, {"/sbin/zpool": Run(0, "tank\n", "")})
    assert lacking(found, s) == []
    other = probe({"zpool": "/sbin/zpool"}, {"/sbin/zpool": Run(0, "rpool\n", "")})
    assert lacking(other, s) == [
        "zfs pool tank not found (zpool lists rpool; create it with zpool create or choose another)"
    ]
    assert lacking(found, s, ALL - {"zfs"}) == [
        "libvirt has no zfs storage backend (install libvirt-daemon-driver-storage-zfs)"
    ]


def test_probe_names_mount_helpers_and_the_rbd_backend() -> None:
    nfs = spec(PoolType.NETFS, {"protocol": "nfs", "server": "f", "export": "/e", "path": "/m"})
    assert lacking(probe({}, {}), nfs) == [
        "no NFS client: mount.nfs is missing (apt-get install nfs-common)"
    ]
    assert lacking(probe({"mount.nfs": "/sbin/mount.nfs"}, {}), nfs) == []
    cifs = spec(PoolType.NETFS, {"protocol": "cifs", "server": "f", "export": "s", "path": "/m"})
    assert lacking(probe({}, {}), cifs) == [
        "no CIFS client: mount.cifs is missing (apt-get install cifs-utils)"
    ]
    assert lacking(probe({"mount.cifs": "/sbin/mount.cifs"}, {}), cifs) == []  # never ran -V
    rbd = spec(PoolType.RBD, {"monitors": ["m"], "pool": "rbd"})
    assert lacking(probe({}, {}), rbd, ALL - {"rbd"}) == [
        "libvirt has no rbd storage backend (install libvirt-daemon-driver-storage-rbd)"
    ]


@pytest.mark.parametrize(
    ("printed", "refused"),
    [
        ("mount.cifs version: 6.8\n", False),
        ("mount.cifs version: 7.0\n", False),
        ("mount.cifs version: 7.2\n", False),
        ("mount.cifs version: 7.3\n", True),
        ("mount.cifs version: 7.5\n", True),
        ("mount.cifs version: 10.0\n", True),
        ("something else\n", False),
    ],
)
def test_probe_refuses_credentials_where_mount_cifs_drops_a_guest_password(
    printed: str, refused: bool
) -> None:
    tools = {"mount.cifs": "/sbin/mount.cifs"}
    asked: list[Sequence[str]] = []

    def run(argv: Sequence[str]) -> Run:
        asked.append(argv)
        return Run(0, printed, "")

    p = NodeProbe(which=tools.get, run=run, exists=lambda _path: False)
    login = spec(PoolType.NETFS, {**CIFS, "username": "u"}, {"password": "pw"})
    found = lacking(p, login)
    assert asked == [["/sbin/mount.cifs", "-V"]]
    if refused:
        version = printed.split(": ")[1].strip()
        assert found == [
            f"mount.cifs {version} drops the password of a guest mount (cifs-utils 7.3 and "
            "later), and libvirt mounts every CIFS pool as guest, so this share's user name "
            "and password can't be used here (install cifs-utils older than 7.3, open the "
            "share to guests, or use NFS)"
        ]
    else:
        assert found == []
    assert lacking(p, spec(PoolType.NETFS, CIFS)) == []  # a guest share: nothing to drop


def test_supported_backends_from_libvirt_capabilities() -> None:
    caps = (
        "<storagepoolCapabilities><pool type='dir' supported='yes'/>"
        "<pool type='rbd' supported='no'><volOptions/></pool>"
        "<pool type='iscsi-direct' supported='yes'/></storagepoolCapabilities>"
    )
    assert supported_backends(caps) == frozenset({"dir", "iscsi-direct"})


# -- the fake's rules for LUN and block pools (the libvirt driver's, see the integration
# tests for iSCSI against tgt) ---------------------------------------------------------------


def test_fake_iscsi_pool_lists_luns_and_refuses_changes() -> None:
    fake = FakeStorageDriver()
    pool = spec(PoolType.ISCSI, {"portal": "127.0.0.1", "target": IQN})
    fake.ensure_pool(pool)
    fake.add_lun("pool-1", "unit:0:0:0", 0)
    lun = fake.add_lun("pool-1", "unit:0:0:1", 64 * 1024**2)
    assert lun.path == f"ip-127.0.0.1:3260-iscsi-{IQN}-lun-1"
    assert fake.list_volumes("pool-1") == [lun]
    for verb in (
        lambda: fake.create_volume("pool-1", "v", 1024, DiskFormat.RAW),
        lambda: fake.resize_volume("pool-1", "unit:0:0:1", 2**30),
        lambda: fake.delete_volume("pool-1", "unit:0:0:1"),
    ):
        with pytest.raises(Unsupported, match="create or resize LUNs on the target"):
            verb()


def test_fake_block_pool_holds_raw_volumes_at_libvirts_paths() -> None:
    fake = FakeStorageDriver()
    fake.ensure_pool(spec(PoolType.LVM, {"volume_group": "vg0"}))
    assert fake.create_volume("pool-1", "v.raw", 1024, DiskFormat.RAW).path == "/dev/vg0/v.raw"
    with pytest.raises(InvalidInput, match="raw volumes only") as refused:
        fake.create_volume("pool-1", "v.qcow2", 1024, DiskFormat.QCOW2)
    assert refused.value.field == "fmt"


@pytest.mark.parametrize(
    ("kind", "config", "where"),
    [
        (PoolType.LVM, {"volume_group": "vg0"}, "/dev/vg0/"),
        (PoolType.ZFS, {"pool": "tank"}, "/dev/zvol/tank/"),
        (PoolType.RBD, {"monitors": ["m"], "pool": "rbd"}, "rbd/"),
    ],
)
def test_fake_block_pools_take_copies_as_raw(
    kind: PoolType, config: dict[str, object], where: str
) -> None:
    """As the libvirt driver: an image is copied into a block pool as raw, at the larger
    of the capacity asked and the image's size; raw uploads too; qcow2 never."""
    fake = FakeStorageDriver()
    fake.ensure_pool(spec(kind, config))
    fake.add_image("/images/base.qcow2", 3 * 1024**2, DiskFormat.QCOW2)
    grown = fake.clone_volume("pool-1", "a.raw", "/images/base.qcow2", DiskFormat.RAW, 2**30)
    assert (grown.path, grown.capacity_bytes, grown.format) == (
        f"{where}a.raw",
        2**30,
        DiskFormat.RAW,
    )
    kept = fake.clone_volume("pool-1", "b.raw", "/images/base.qcow2", DiskFormat.RAW, None)
    assert kept.capacity_bytes == 3 * 1024**2
    uploaded = fake.upload_volume("pool-1", "c.raw", [b"x" * 512], 512, DiskFormat.RAW)
    assert (uploaded.path, uploaded.capacity_bytes) == (f"{where}c.raw", 512)
    for copy in (
        lambda: fake.clone_volume("pool-1", "d", "/images/base.qcow2", DiskFormat.QCOW2, None),
        lambda: fake.upload_volume("pool-1", "e", [b"QFI\xfb"], 4, DiskFormat.QCOW2),
    ):
        with pytest.raises(InvalidInput, match="raw volumes only") as refused:
            copy()
        assert refused.value.field == "fmt"
    with pytest.raises(InvalidInput, match="is a qcow2 image, not a raw") as refused:
        fake.upload_volume("pool-1", "f.raw", [b"QFI\xfb" + b"\0" * 60], 64, DiskFormat.RAW)
    assert [v.name for v in fake.list_volumes("pool-1")] == ["a.raw", "b.raw", "c.raw"]


def test_fake_iscsi_pool_refuses_copies() -> None:
    fake = FakeStorageDriver()
    fake.ensure_pool(spec(PoolType.ISCSI, {"portal": "127.0.0.1", "target": IQN}))
    fake.add_image("/images/base.raw", 1024)
    with pytest.raises(Unsupported, match="LUNs"):
        fake.clone_volume("pool-1", "a", "/images/base.raw", DiskFormat.RAW, None)
    with pytest.raises(Unsupported, match="LUNs"):
        fake.upload_volume("pool-1", "b", [b"x"], 1, DiskFormat.RAW)


# -- what a failed start says -----------------------------------------------------------


def test_start_failures_are_said_as_what_to_check() -> None:
    from cloudenv.drivers.storage.libvirt_pools import _explain

    iscsi = spec(PoolType.ISCSI, {"portal": "10.0.0.5:3261", "target": IQN})
    design = design_pool(iscsi, initiator=INITIATOR)
    text = (
        "internal error: Failed to login: Failed to log in to target. Status: Target not found(515)"
    )
    assert _explain(iscsi, design, text) == (
        f"Storage pool pool-1: the portal 10.0.0.5:3261 has no target {IQN} (libvirt: {text})"
    )
    assert "asks for CHAP" in _explain(iscsi, design, "Status: Authentication failure(513)")
    nfs = spec(PoolType.NETFS, {"protocol": "nfs", "server": "f", "export": "/e", "path": "/m"})
    mount = "mount: /m: unknown filesystem type 'nfs'."
    assert "kernel can't mount nfs" in _explain(nfs, design_pool(nfs), mount)
    refused = "mount error(13): Permission denied"
    login = spec(PoolType.NETFS, {**CIFS, "username": "u"}, {"password": "pw"})
    assert "refused the login (check config.username" in _explain(
        login, design_pool(login), refused
    )
    guest = spec(PoolType.NETFS, CIFS)
    assert "refused a guest mount (set config.username" in _explain(
        guest, design_pool(guest), refused
    )
    other = _explain(nfs, design_pool(nfs), "something else")
    assert other == "Storage pool pool-1: failed starting the netfs pool at /m: something else"
