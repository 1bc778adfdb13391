"""Container images from good archives: busybox rootfs tarballs (plain, gzip, xz, zstd) and
OCI layouts (directory and tar) become one normalised tarball, which unpacks into a root
where busybox runs; whiteouts, hard links, setuid bits, owners, devices and extended
attributes come through as the rules say."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from cloudenv.drivers.images.archive import ArchiveRefused
from cloudenv.drivers.images.rootfs import BuiltRootfs, build_rootfs
from cloudenv.drivers.images.unpack import unpack_rootfs
from tests.support.container_images import (
    MARKER,
    Entry,
    Layout,
    build_busybox_rootfs,
    busybox_layout,
    compress,
    directory,
    hardlink,
    make_tar,
    rootfs_tarball,
    symlink,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def busybox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "root")


def normalised(source: Path, workdir: Path, **kwargs: object) -> bytes:
    with build_rootfs(source, workdir=workdir, space=10**9, **kwargs) as built:  # type: ignore[arg-type]
        data = b"".join(built.chunks())
        assert len(data) == built.size
        return data


def built_of(source: Path, workdir: Path) -> BuiltRootfs:
    with build_rootfs(source, workdir=workdir, space=10**9) as built:
        return built


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def content(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read()


def unpacked(data: bytes, where: Path, **kwargs: int) -> Path:
    tarball = where / "rootfs.tar"
    tarball.write_bytes(data)
    unpack_rootfs(tarball, where / "root", **kwargs)  # type: ignore[arg-type]
    return where / "root"


def run_inside(root: Path, command: str) -> str:
    """``command`` run by the image's own busybox shell, chrooted into ``root``."""
    done = subprocess.run(
        ["chroot", str(root), "/bin/sh", "-c", command], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("kind", ["none", "gzip", "xz", "zstd"])
def test_a_busybox_tarball_becomes_the_same_normalised_tarball_whatever_its_compression(
    busybox: Path, tmp_path: Path, kind: str
) -> None:
    plain = normalised(rootfs_tarball(busybox, tmp_path / "plain.tar", "none"), tmp_path)
    data = normalised(rootfs_tarball(busybox, tmp_path / f"busybox.{kind}", kind), tmp_path)
    assert data == plain
    found = members(data)
    names = list(found)
    assert names[0] == "." and names == sorted(names, key=lambda n: n.split("/"))
    assert found["bin/busybox"].isreg() and found["bin/busybox"].mode == 0o755
    assert found["sbin/init"].issym() and found["sbin/init"].linkname == "../bin/busybox"
    assert found["tmp"].mode == 0o1777
    assert all(m.uname == "" and m.gname == "" and m.uid == 0 for m in found.values())
    assert content(data, "bin/busybox") == Path("/bin/busybox").read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("tmp")] == []


def test_the_unpacked_busybox_image_runs(busybox: Path, tmp_path: Path) -> None:
    data = normalised(rootfs_tarball(busybox, tmp_path / "busybox.tar.gz"), tmp_path)
    root = unpacked(data, tmp_path)
    assert run_inside(root, "/etc/rc.sh; cat /etc/hostname") == f"{MARKER}\nbusybox\n"
    assert stat.S_IMODE(os.lstat(root / "tmp").st_mode) == 0o1777


@pytest.mark.parametrize("form", ["directory", "tar"])
def test_an_oci_layout_applies_its_layers_and_whiteouts(
    busybox: Path, tmp_path: Path, form: str
) -> None:
    layout = busybox_layout(busybox)
    source = (
        layout.write_dir(tmp_path / "layout")
        if form == "directory"
        else layout.write_tar(tmp_path / "layout.tar")
    )
    built = built_of(source, tmp_path)
    assert (built.source, built.layers) == ("OCI layout", 2)
    data = normalised(source, tmp_path)
    found = members(data)
    assert "etc/remove-me" not in found  # a whiteout in the upper layer
    assert "opt/old" not in found and "opt/old/stale" not in found  # the opaque whiteout
    assert not any(".wh." in name for name in found)
    assert content(data, "opt/new") == b"from the upper layer\n"
    root = unpacked(data, tmp_path)
    assert run_inside(root, "/etc/rc.sh; ls /opt; cat /etc/motd") == f"{MARKER}\nnew\nwelcome\n"


def test_an_uncompressed_layout_tar_is_recognised_without_being_told(
    busybox: Path, tmp_path: Path
) -> None:
    source = busybox_layout(busybox).write_tar(tmp_path / "busybox.tar")
    assert built_of(source, tmp_path).source == "OCI layout"


def test_a_compressed_layout_tar_is_read_when_named_a_layout(busybox: Path, tmp_path: Path) -> None:
    source = tmp_path / "layout.tar.gz"
    source.write_bytes(compress(busybox_layout(busybox).tar(), "gzip"))
    with pytest.raises(ArchiveRefused, match="is an OCI image layout, not a root filesystem"):
        normalised(source, tmp_path)
    assert "opt/new" in members(normalised(source, tmp_path, layout=True))


def test_zstd_layers_and_standard_oci_media_types_are_read(tmp_path: Path) -> None:
    layout = Layout()
    layout.add_layer(make_tar([Entry("a", data=b"A")]), "application/vnd.oci.image.layer.v1.tar")
    layout.add_layer(
        make_tar([Entry("b", data=b"B")]), "application/vnd.oci.image.layer.v1.tar+zstd"
    )
    layout.add_layer(
        make_tar([Entry("c", data=b"C")]), "application/vnd.pextra.image.layer.v1.lxc.tar+zstd"
    )
    data = normalised(layout.seal().write_dir(tmp_path / "layout"), tmp_path)
    assert [content(data, n) for n in "abc"] == [b"A", b"B", b"C"]


def test_an_unannotated_oci_image_is_a_container_image(tmp_path: Path) -> None:
    layout = Layout(annotations={})
    layout.add_layer(make_tar([Entry("a", data=b"A")]))
    assert "a" in members(normalised(layout.seal().write_dir(tmp_path / "l"), tmp_path))


def test_whiteouts_hide_lower_layers_only_in_any_order(tmp_path: Path) -> None:
    layout = Layout()
    layout.add_layer(make_tar([directory("d"), Entry("d/lower", data=b"1"), Entry("f", data=b"1")]))
    layout.add_layer(
        make_tar(
            [
                Entry("d/same", data=b"2"),  # before the opaque marker of its own layer
                Entry("d/.wh..wh..opq"),
                Entry("g", data=b"2"),
                Entry(".wh.g"),  # a whiteout of its own layer's file: no effect
                Entry(".wh.f"),
                Entry(".wh.nothing-there"),
            ]
        )
    )
    found = members(normalised(layout.seal().write_dir(tmp_path / "l"), tmp_path))
    assert {"d", "d/same", "g"} <= set(found)
    assert not {"d/lower", "f"} & set(found)


def test_a_hard_link_keeps_its_content_when_the_first_path_is_whited_out(tmp_path: Path) -> None:
    layout = Layout()
    layout.add_layer(
        make_tar([Entry("original", data=b"shared", mode=0o640), hardlink("alias", "original")])
    )
    layout.add_layer(make_tar([Entry(".wh.original")]))
    data = normalised(layout.seal().write_dir(tmp_path / "l"), tmp_path)
    found = members(data)
    assert "original" not in found
    assert found["alias"].isreg() and content(data, "alias") == b"shared"


def test_hard_links_are_written_once_and_linked(tmp_path: Path) -> None:
    source = tmp_path / "links.tar"
    source.write_bytes(
        make_tar([Entry("b", data=b"x" * 5000), hardlink("a", "b"), hardlink("c", "a")])
    )
    data = normalised(source, tmp_path)
    found = members(data)
    assert found["a"].isreg() and found["a"].size == 5000
    assert found["b"].islnk() and found["b"].linkname == "a"
    assert found["c"].islnk() and found["c"].linkname == "a"
    root = unpacked(data, tmp_path)
    assert os.stat(root / "a").st_ino == os.stat(root / "c").st_ino
    assert os.stat(root / "a").st_nlink == 3


def test_setuid_owners_and_capabilities_are_kept_as_data_and_shifted_at_unpack(
    tmp_path: Path,
) -> None:
    source = tmp_path / "special.tar"
    capability = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    source.write_bytes(
        make_tar(
            [
                directory("bin"),
                Entry("bin/su", data=b"#!/bin/sh\n", mode=0o4755),
                Entry(
                    "bin/ping",
                    data=b"#!/bin/sh\n",
                    mode=0o755,
                    pax={"SCHILY.xattr.security.capability": capability},
                ),
                Entry(
                    "home/user/file",
                    data=b"mine",
                    uid=1000,
                    gid=1000,
                    mode=0o2640,
                    pax={
                        "SCHILY.xattr.user.note": "kept",
                        "SCHILY.xattr.security.selinux": "system_u:object_r:bin_t",
                    },
                ),
            ]
        )
    )
    with build_rootfs(source, workdir=tmp_path, space=10**9) as built:
        data = b"".join(built.chunks())
        assert built.notes == [
            "dropped 1 extended attribute(s) other than user.* and security.capability"
        ]
    found = members(data)
    assert found["bin/su"].mode == 0o4755 and found["bin/su"].uid == 0
    assert found["home/user/file"].uid == 1000 and found["home/user/file"].mode == 0o2640
    assert found["home/user/file"].pax_headers == {"SCHILY.xattr.user.note": "kept"}
    root = unpacked(data, tmp_path, uid_offset=100000, gid_offset=100000)
    su = os.stat(root / "bin/su")
    assert (su.st_uid, su.st_gid, stat.S_IMODE(su.st_mode)) == (100000, 100000, 0o4755)
    mine = os.stat(root / "home/user/file")
    assert (mine.st_uid, stat.S_IMODE(mine.st_mode)) == (101000, 0o2640)
    assert os.stat(root / "home").st_uid == 100000  # made for the entry below it: root's
    assert os.getxattr(root / "bin/ping", "security.capability") == capability.encode("latin-1")


def test_harmless_devices_fifos_and_absolute_symlinks_are_kept(tmp_path: Path) -> None:
    source = tmp_path / "dev.tar"
    source.write_bytes(
        make_tar(
            [
                directory("dev"),
                Entry("dev/null", tarfile.CHRTYPE, mode=0o666, device=(1, 3)),
                Entry("dev/ptmx", tarfile.CHRTYPE, mode=0o666, device=(5, 2)),
                Entry("run/fifo", tarfile.FIFOTYPE, mode=0o600),
                symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
                symlink("usr/lib/up", "../../etc"),
            ]
        )
    )
    data = normalised(source, tmp_path)
    found = members(data)
    assert (found["dev/null"].devmajor, found["dev/null"].devminor) == (1, 3)
    assert found["etc/localtime"].linkname == "/usr/share/zoneinfo/UTC"
    root = unpacked(data, tmp_path)
    null = os.lstat(root / "dev/null")
    assert (
        stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    )
    assert stat.S_ISFIFO(os.lstat(root / "run/fifo").st_mode)
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/UTC"
    (tmp_path / "nodev").mkdir()
    without = unpacked(data, tmp_path / "nodev", devices=False)
    assert not (without / "dev/null").exists() and (without / "run/fifo").exists()


def test_a_later_entry_replaces_an_earlier_one(tmp_path: Path) -> None:
    source = tmp_path / "again.tar"
    source.write_bytes(
        make_tar(
            [
                Entry("x", data=b"first"),
                Entry("x", data=b"second"),
                directory("d", mode=0o700),
                Entry("d/kept", data=b"k"),
                directory("d", mode=0o755),  # a directory again: merged, new mode
            ]
        )
    )
    data = normalised(source, tmp_path)
    assert content(data, "x") == b"second"
    assert members(data)["d"].mode == 0o755 and "d/kept" in members(data)
