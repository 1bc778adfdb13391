"""Container images for the tests, built from Debian's busybox-static (``/bin/busybox``),
with no network: a busybox root filesystem directory, rootfs tarballs of it (plain, gzip,
xz, zstd), OCI image layouts (a directory or a tar) with layers and whiteouts, and single
hand-made tar entries for the hostile archives.

The root filesystem is what RUNTIME.md §6a booted under LXC: ``/bin/busybox`` plus one
symbolic link per applet (relative, so the tree is valid wherever it is unpacked),
``/sbin/init`` among them, ``/etc/inittab`` running ``/etc/rc.sh`` (which prints MARKER)
and a shell on the console.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudenv.drivers.compute.base import Accelerator, ContainerSpec, DomainSpec, QemuConfig

BUSYBOX = Path("/bin/busybox")
MARKER = "cloudenv-busybox-container-ready"
LXC_TAR = "application/vnd.pextra.image.layer.v1.lxc.tar"
LXC_TAR_GZIP = LXC_TAR + "+gzip"
LXC_TAR_ZSTD = LXC_TAR + "+zstd"
OCI_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MTIME = 1_767_225_600  # fixed, so archives built twice are the same bytes


def build_busybox_rootfs(root: Path) -> Path:
    """A busybox root filesystem in the new directory ``root``."""
    root.mkdir(parents=True)
    for directory in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "root",
                      "var/log", "tmp"):  # fmt: skip
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "root").chmod(0o700)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    listing = subprocess.run(
        [str(BUSYBOX), "--list-full"], capture_output=True, text=True, check=True
    ).stdout
    for applet in listing.split():
        if applet == "bin/busybox":
            continue  # the binary itself: a link there would replace it
        link = root / applet
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(root / "bin" / "busybox", link.parent))
    files = {
        "etc/inittab": "::sysinit:/etc/rc.sh\nconsole::respawn:/bin/sh -l\n",
        "etc/rc.sh": f"#!/bin/sh\necho {MARKER}\n",
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
        "etc/group": "root:x:0:\n",
        "etc/hostname": "busybox\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    (root / "etc/rc.sh").chmod(0o755)
    return root


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = MTIME
    return info


def tar_of_directory(root: Path) -> bytes:
    """An uncompressed tar of ``root``'s contents (``./...``), owned by root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(root, arcname=".", filter=_root_owned)
    return buffer.getvalue()


def compress(data: bytes, kind: str) -> bytes:
    """``data`` compressed as ``kind``: none, gzip, xz or zstd (the zstd program)."""
    if kind == "none":
        return data
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "xz":
        return lzma.compress(data)
    if kind == "zstd":
        return subprocess.run(
            ["zstd", "-q", "-c", "-3"], input=data, capture_output=True, check=True
        ).stdout
    raise ValueError(kind)


def rootfs_tarball(root: Path, out: Path, kind: str = "gzip") -> Path:
    out.write_bytes(compress(tar_of_directory(root), kind))
    return out


# Hand-made entries --------------------------------------------------------------------


@dataclass
class Entry:
    """One tar member as a test writes it; ``data`` for regular files."""

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    device: tuple[int, int] = (0, 0)
    pax: dict[str, str] = field(default_factory=dict)

    def info(self) -> tarfile.TarInfo:
        info = tarfile.TarInfo(self.name)
        info.type, info.mode, info.uid, info.gid = self.type, self.mode, self.uid, self.gid
        info.mtime, info.linkname = MTIME, self.linkname
        info.size = len(self.data) if self.type == tarfile.REGTYPE else 0
        info.devmajor, info.devminor = self.device
        info.pax_headers = dict(self.pax)
        return info


def directory(name: str, mode: int = 0o755) -> Entry:
    return Entry(name, tarfile.DIRTYPE, mode=mode)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.SYMTYPE, linkname=target, mode=0o777)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.LNKTYPE, linkname=target)


def make_tar(entries: Iterable[Entry], base: bytes | None = None) -> bytes:
    """A tar of ``entries`` (after the members of the tar ``base``, if given)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if base is not None:
            with tarfile.open(fileobj=io.BytesIO(base)) as source:
                for info in source:
                    tar.addfile(info, source.extractfile(info) if info.isreg() else None)
        for entry in entries:
            tar.addfile(entry.info(), io.BytesIO(entry.data) if entry.type == tarfile.REGTYPE
                        else None)  # fmt: skip
    return buffer.getvalue()


# OCI layouts -----------------------------------------------------------------------------


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


@dataclass
class Layout:
    """An OCI image layout being made: add layers, adjust ``config``, ``annotations``,
    ``layers`` (their descriptors) or ``index_extra``, ``seal()``, then write it as a
    directory or a tar. Tests that make a layout lie change ``blobs`` after sealing, or a
    descriptor before."""

    annotations: dict[str, str] = field(default_factory=lambda: {"org.pextra.image.type": "lxc"})
    config: dict[str, Any] = field(
        default_factory=lambda: {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/sbin/init"]},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    )
    layers: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    index: dict[str, Any] = field(default_factory=dict)
    manifest_digest: str = ""

    def add_layer(self, tar: bytes, media_type: str = LXC_TAR_GZIP) -> dict[str, Any]:
        kind = "gzip" if media_type.endswith("gzip") else "zstd" if "zstd" in media_type else "none"
        blob = compress(tar, kind)
        self.blobs[digest_of(blob)] = blob
        descriptor = {"mediaType": media_type, "digest": digest_of(blob), "size": len(blob)}
        self.layers.append(descriptor)
        self.config["rootfs"]["diff_ids"].append(digest_of(tar))
        return descriptor

    def _blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        self.blobs[digest_of(data)] = data
        return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}

    def seal(self) -> Layout:
        config = self._blob(_json(self.config), "application/vnd.oci.image.config.v1+json")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": self.layers,
            "annotations": self.annotations,
        }
        descriptor = self._blob(_json(manifest), manifest["mediaType"])
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
        self.manifest_digest = descriptor["digest"]
        self.index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [descriptor],
        }
        return self

    def files(self) -> dict[str, bytes]:
        found = {
            "oci-layout": _json({"imageLayoutVersion": "1.0.0"}),
            "index.json": _json(self.index),
        }
        for digest, data in self.blobs.items():
            found["blobs/" + digest.replace(":", "/")] = data
        return found

    def write_dir(self, root: Path) -> Path:
        for name, data in self.files().items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return root

    def tar(self, extra: Iterable[Entry] = ()) -> bytes:
        entries = [directory("blobs"), directory("blobs/sha256")]
        entries += [Entry(name, data=data) for name, data in sorted(self.files().items())]
        return make_tar([*entries, *extra])

    def write_tar(self, out: Path) -> Path:
        out.write_bytes(self.tar())
        return out


def busybox_layout(root: Path) -> Layout:
    """The busybox root filesystem as a two-layer OCI image: a gzip layer of the whole tree
    plus ``etc/remove-me`` and ``opt/old/stale``, then an uncompressed layer whose
    whiteouts remove ``etc/remove-me`` and (opaque) everything under ``opt``, adding
    ``opt/new`` and ``etc/motd``."""
    base = make_tar(
        [
            Entry("etc/remove-me", data=b"from the lower layer\n"),
            directory("opt"),
            directory("opt/old"),
            Entry("opt/old/stale", data=b"hidden by the opaque whiteout\n"),
        ],
        base=tar_of_directory(root),
    )
    upper = make_tar(
        [
            directory("etc"),
            Entry("etc/.wh.remove-me"),
            directory("opt"),
            Entry("opt/new", data=b"from the upper layer\n"),
            Entry("opt/.wh..wh..opq"),
            Entry("etc/motd", data=b"welcome\n"),
        ]
    )
    layout = Layout()
    layout.add_layer(base, LXC_TAR_GZIP)
    layout.add_layer(upper, LXC_TAR)
    return layout.seal()


# Container domains -------------------------------------------------------------------------


def container_domain(name: str, container: ContainerSpec, **extra: Any) -> DomainSpec:
    """A container's domain spec as the drivers' tests use it: one CPU, 64 MB."""
    return DomainSpec(
        name=name,
        uuid=str(uuid.uuid4()),
        title=name,
        vcpus_sockets=1,
        vcpus_cores=1,
        vcpus_threads=1,
        memory_mb=64,
        accelerator=Accelerator.TCG,
        config=QemuConfig(),
        vnc=False,
        container=container,
        **extra,
    )
