"""Hostile archives are refused, naming the entry or blob, and leave nothing behind: every
rule of drivers/images (traversal, links, devices, bombs, lying layouts, ...) once, and
the unpacker's own checks on a tarball changed after import."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from cloudenv.drivers.images.archive import ArchiveLimits, ArchiveRefused
from cloudenv.drivers.images.rootfs import build_rootfs
from cloudenv.drivers.images.unpack import unpack_rootfs
from tests.support.container_images import (
    Entry,
    Layout,
    compress,
    digest_of,
    directory,
    hardlink,
    make_tar,
    symlink,
)

pytestmark = pytest.mark.unit

OK = Entry("etc/hostname", data=b"box\n")


def refuse(
    source: Path, workdir: Path, match: str, limits: ArchiveLimits | None = None, **kw: object
) -> str:
    """Building ``source`` is refused with a message matching ``match``; nothing is left
    in ``workdir``. Returns the message."""
    before = set(workdir.iterdir())
    with (
        pytest.raises(ArchiveRefused, match=match) as raised,
        build_rootfs(
            source,
            workdir=workdir,
            space=10**9,
            limits=limits or ArchiveLimits(),
            **kw,  # type: ignore[arg-type]
        ) as built,
    ):
        b"".join(built.chunks())
    assert set(workdir.iterdir()) == before
    assert raised.value.field == "image"
    return raised.value.message


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def tarball(tmp_path: Path, *entries: Entry, kind: str = "none") -> Path:
    path = tmp_path / f"hostile.tar.{kind}"
    path.write_bytes(compress(make_tar([OK, *entries]), kind))
    return path


HOSTILE = {
    "traversal": ([Entry("../evil", data=b"x")], r"'\.\./evil' climbs out"),
    "inner traversal": ([Entry("a/../../evil", data=b"x")], r"'a/\.\./\.\./evil' climbs out"),
    "absolute path": ([Entry("/etc/evil", data=b"x")], r"'/etc/evil' is an absolute path"),
    "symlink above the root": (
        [symlink("usr/lib/escape", "../../../etc")],
        r"'usr/lib/escape' is a symbolic link to '\.\./\.\./\.\./etc', which climbs above",
    ),
    "writing through a symlink": (
        [symlink("etc/sub", "/etc"), Entry("etc/sub/passwd", data=b"root::0:0::/:/bin/sh\n")],
        r"'etc/sub/passwd' lies under 'etc/sub', a symbolic link \(to '/etc'\)",
    ),
    "writing through a relative symlink": (
        [symlink("up", "."), Entry("up/x", data=b"x")],
        r"'up/x' lies under 'up', a symbolic link",
    ),
    "hard link outside": (
        [hardlink("shadow", "../../etc/shadow")],
        r"'shadow' is a hard link to '\.\./\.\./etc/shadow', outside",
    ),
    "absolute hard link": (
        [hardlink("shadow", "/etc/shadow")],
        r"'shadow' is a hard link to '/etc/shadow', outside",
    ),
    "hard link to nothing": (
        [hardlink("shadow", "etc/shadow")],
        r"'shadow' is a hard link to 'etc/shadow', which the archive does not have",
    ),
    "hard link to a directory": (
        [directory("d"), hardlink("x", "d")],
        r"'x' is a hard link to 'd', a directory",
    ),
    "hard link through a symlink": (
        [symlink("l", "etc"), hardlink("x", "l/hostname")],
        r"'x' is a hard link to 'l/hostname', which the archive does not have",
    ),
    "block device": (
        [Entry("dev/sda", tarfile.BLKTYPE, device=(8, 0))],
        r"'dev/sda' is block device 8:0",
    ),
    "kernel memory device": (
        [Entry("dev/mem", tarfile.CHRTYPE, device=(1, 1))],
        r"'dev/mem' is character device 1:1",
    ),
    "file under a file": (
        [Entry("etc/hostname/x", data=b"x")],
        r"'etc/hostname/x' lies under 'etc/hostname', which is a regular file",
    ),
    "huge pax header": (
        [Entry("big", data=b"x", pax={"comment": "x" * (2 * 1024 * 1024)})],
        r"an extended header before entry .* declares \d+ bytes; at most 1048576",
    ),
    "owner out of range": (
        [Entry("big-uid", data=b"x", uid=2**32)],
        r"'big-uid' has owner ID 4294967296",
    ),
    "root as a file": (
        [Entry(".", data=b"x")],
        r"entry '\.' is the root, which must be a directory",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_tarball_entries_are_refused(tmp_path: Path, work: Path, case: str) -> None:
    entries, match = HOSTILE[case]
    refuse(tarball(tmp_path, *entries), work, match)


@pytest.mark.parametrize("case", ["traversal", "block device", "writing through a symlink"])
def test_hostile_entries_are_refused_in_compressed_tarballs_and_oci_layers(
    tmp_path: Path, work: Path, case: str
) -> None:
    entries, match = HOSTILE[case]
    refuse(tarball(tmp_path, *entries, kind="zstd"), work, match)
    layout = Layout()
    layout.add_layer(make_tar([OK]))
    layout.add_layer(make_tar(entries))
    message = refuse(layout.seal().write_tar(tmp_path / "layout.tar"), work, match)
    assert f"layer 2 of 2 (sha256:{layout.layers[1]['digest'][7:19]})" in message


def test_a_decompression_bomb_is_refused_after_reading_its_bound(
    tmp_path: Path, work: Path
) -> None:
    limits = ArchiveLimits(ratio_floor=1024 * 1024, max_ratio=10)
    source = tarball(tmp_path, Entry("zeros", data=bytes(8 * 1024 * 1024)), kind="gzip")
    assert source.stat().st_size < 100_000
    refuse(source, work, r"decompresses to more than \d+ bytes.*decompression bomb", limits)


def test_too_many_entries_are_refused(tmp_path: Path, work: Path) -> None:
    source = tarball(tmp_path, *(Entry(f"f{i}") for i in range(20)))
    refuse(source, work, "more than 10 entries", ArchiveLimits(max_entries=10))


def test_paths_too_deep_are_refused(tmp_path: Path, work: Path) -> None:
    source = tarball(tmp_path, Entry("a/" * 9 + "f"))
    refuse(source, work, "is 10 directories deep", ArchiveLimits(max_depth=8))


def test_an_image_larger_than_the_space_is_refused(tmp_path: Path, work: Path) -> None:
    source = tarball(tmp_path, Entry("big", data=bytes(4096)))
    before = set(work.iterdir())
    full = r"needs more than 1000 bytes \(pool p is full\)"
    with (
        pytest.raises(ArchiveRefused, match=full),
        build_rootfs(source, workdir=work, space=1000, space_reason="pool p is full"),
    ):
        pass
    assert set(work.iterdir()) == before


@pytest.mark.parametrize("tar_format", ["gnu", "pax"])
def test_sparse_members_are_refused(tmp_path: Path, work: Path, tar_format: str) -> None:
    (tmp_path / "src").mkdir()
    with open(tmp_path / "src" / "holes", "wb") as handle:
        handle.truncate(4 * 1024 * 1024)
        handle.write(b"end")
    source = tmp_path / "sparse.tar"
    subprocess.run(
        [
            "tar",
            f"--format={tar_format}",
            "-cSf",
            str(source),
            "-C",
            str(tmp_path / "src"),
            "holes",
        ],
        check=True,
    )
    refuse(source, work, r"'holes' is a sparse file")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"not a tar at all" * 100, "not a readable tar archive"),
        (compress(make_tar([Entry("a", data=os.urandom(100_000))]), "gzip")[:5000], "damaged"),
        (
            compress(make_tar([Entry("a", data=os.urandom(100_000))]), "xz")[:5000],
            "ends in the middle",
        ),
        (
            compress(make_tar([Entry("a", data=os.urandom(100_000))]), "zstd")[:5000],
            "zstd data is damaged",
        ),
        (b"", "holds no files|not a readable"),
    ],
)
def test_malformed_archives_are_refused(
    tmp_path: Path, work: Path, data: bytes, match: str
) -> None:
    source = tmp_path / "bad"
    source.write_bytes(data)
    refuse(source, work, match)


# -- lying OCI layouts -------------------------------------------------------------------


def layout_of(*entries: Entry) -> Layout:
    layout = Layout()
    layout.add_layer(make_tar([OK, *entries]))
    return layout


def test_a_layer_whose_content_does_not_match_its_digest_is_refused(
    tmp_path: Path, work: Path
) -> None:
    layout = layout_of().seal()
    digest = layout.layers[0]["digest"]
    blob = bytearray(layout.blobs[digest])
    blob[-20] ^= 0xFF  # same size, other bytes
    layout.blobs[digest] = bytes(blob)
    refuse(
        layout.write_tar(tmp_path / "l.tar"),
        work,
        rf"blob sha256:{digest[7:19]} .* does not match its digest",
    )


def test_a_descriptor_that_lies_about_a_size_is_refused(tmp_path: Path, work: Path) -> None:
    layout = layout_of()
    layout.layers[0]["size"] += 1
    layout.seal()
    refuse(
        layout.write_dir(tmp_path / "l"),
        work,
        r"is \d+ bytes, but the descriptor that names it says",
    )


def test_a_config_whose_diff_id_lies_is_refused(tmp_path: Path, work: Path) -> None:
    layout = layout_of()
    layout.config["rootfs"]["diff_ids"][0] = digest_of(b"something else")
    layout.seal()
    refuse(layout.write_tar(tmp_path / "l.tar"), work, "does not match the config's diff_id")


def test_an_index_naming_a_missing_manifest_is_refused(tmp_path: Path, work: Path) -> None:
    layout = layout_of().seal()
    wrong = "sha256:" + hashlib.sha256(b"nothing").hexdigest()
    layout.index["manifests"][0]["digest"] = wrong
    refuse(layout.write_tar(tmp_path / "l.tar"), work, rf"blob {wrong} .* is not in the layout")


def test_a_manifest_edited_after_indexing_is_refused(tmp_path: Path, work: Path) -> None:
    layout = layout_of().seal()
    digest = layout.manifest_digest
    layout.blobs[digest] = layout.blobs[digest].replace(b'"lxc"', b'"LXC"')
    refuse(layout.write_dir(tmp_path / "l"), work, rf"blob sha256:{digest[7:19]} .* does not match")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda lay: lay.annotations.update({"org.pextra.image.type": "qemu"}),
            "qemu: a virtual machine image",
        ),
        (
            lambda lay: lay.annotations.update({"org.pextra.image.type": "docker"}),
            "lxc or qemu is known",
        ),
        (
            lambda lay: lay.layers[0].update(mediaType="application/vnd.example.blob"),
            "is not a filesystem layer",
        ),
        (lambda lay: lay.layers[0].update(urls=["https://example.com/layer"]), "foreign layer"),
        (lambda lay: lay.config.update(architecture="arm64"), "for 'arm64'; this node is amd64"),
        (lambda lay: lay.config.update(os="windows"), "for 'windows', not linux"),
        (
            lambda lay: lay.config["rootfs"]["diff_ids"].append(digest_of(b"x")),
            "2 layer digests .* for 1 layers",
        ),
        (lambda lay: lay.layers[0].update(digest="md5:abc"), "has digest 'md5:abc'"),
    ],
)
def test_layouts_with_wrong_metadata_are_refused(
    tmp_path: Path, work: Path, change: object, match: str
) -> None:
    layout = layout_of()
    change(layout)  # type: ignore[operator]
    refuse(layout.seal().write_tar(tmp_path / "l.tar"), work, match, layout=True)


def test_a_layout_tar_with_two_index_files_is_refused(tmp_path: Path, work: Path) -> None:
    layout = layout_of().seal()
    source = tmp_path / "twice.tar"
    source.write_bytes(layout.tar([Entry("./index.json", data=b"{}")]))
    refuse(source, work, r"'index.json' appears twice")


def test_a_layout_tar_with_a_link_is_refused(tmp_path: Path, work: Path) -> None:
    layout = layout_of().seal()
    source = tmp_path / "link.tar"
    source.write_bytes(layout.tar([symlink("blobs/sha256/" + "0" * 64, "/etc/shadow")]))
    refuse(source, work, "is not a regular file; an OCI layout holds plain files")


def test_a_layout_directory_whose_blob_is_a_symlink_is_refused(tmp_path: Path, work: Path) -> None:
    layout = layout_of().seal()
    root = layout.write_dir(tmp_path / "l")
    blob = root / "blobs" / layout.layers[0]["digest"].replace(":", "/")
    (tmp_path / "elsewhere").write_bytes(blob.read_bytes())
    blob.unlink()
    blob.symlink_to(tmp_path / "elsewhere")
    refuse(root, work, "can't be opened as a plain file")


def test_a_layout_missing_its_index_is_refused(tmp_path: Path, work: Path) -> None:
    root = layout_of().seal().write_dir(tmp_path / "l")
    (root / "index.json").unlink()
    refuse(root, work, "it has no index.json")


# -- the unpacker's own checks -----------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([symlink("etc", "/etc"), Entry("etc/passwd", data=b"x")], r"'etc' is not a directory"),
        ([Entry("../evil", data=b"x")], "climbs out"),
        ([hardlink("x", "etc/shadow")], "not a file unpacked before it"),
        ([directory("dev"), Entry("dev/sda", tarfile.BLKTYPE, device=(8, 0))], "has tar type"),
        ([directory("dev"), Entry("dev/mem", tarfile.CHRTYPE, device=(1, 1))], "device 1:1"),
        ([directory("a"), symlink("a/up", "../../x")], "climbs above"),
        ([Entry("a/b", data=b"x")], r"'a' is not a directory of the unpacked tree"),
    ],
)
def test_unpacking_a_tampered_tarball_is_refused_and_leaves_no_directory(
    tmp_path: Path, entries: list[Entry], match: str
) -> None:
    source = tmp_path / "tampered.tar"
    source.write_bytes(make_tar(entries))
    outside = tmp_path / "etc"
    with pytest.raises(ArchiveRefused, match=match):
        unpack_rootfs(source, tmp_path / "root")
    assert not (tmp_path / "root").exists()
    assert not outside.exists() and not (tmp_path.parent / "evil").exists()
