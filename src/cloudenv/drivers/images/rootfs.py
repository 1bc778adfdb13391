"""Building a container image's normalised root filesystem tarball from what a user
uploaded: a rootfs tarball (plain, gzip, xz, bzip2 or zstd) or an OCI image layout (a
directory, or a tar of one, itself possibly compressed).

Why a tarball and not an unpacked tree in the pool: one file per image is what a pool
holds and accounts for (a volume, deleted with one call); nothing of the image exists on
the host as files (no setuid-root binary, no device node, no link lying in a pool
directory); owners, modes and file capabilities stay exact as data, so the deploy can
shift them into a container's user namespace as it unpacks (``unpack.unpack_rootfs``)
instead of re-owning a shared tree. It is uncompressed: unpacking at deploy then costs
only the copy, and the pool's filesystem is not asked to hold compressed and plain both.

The build holds no file of the archive on disk: contents go to an anonymous spool file
(``O_TMPFILE``: gone when closed, or when the process dies), so a refused archive, or a
daemon killed in the middle, leaves nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cloudenv.drivers.images import oci
from cloudenv.drivers.images.archive import (
    CHUNK,
    ArchiveLimits,
    ArchiveRefused,
    Budget,
    Compression,
    Region,
    Stream,
    decompressed,
    sniff,
    tar_members,
)
from cloudenv.drivers.images.tree import Spool, Tree, tarball_chunks, tarball_size

LIMITS = ArchiveLimits()
#: What the top of a whole OCI layout holds: a rootfs holding only these is a layout.
_LAYOUT_NAMES = frozenset({"oci-layout", "index.json", "blobs", "manifest.json", "repositories"})


@dataclass
class BuiltRootfs:
    """A checked root filesystem, ready to be streamed as its normalised tarball while
    the ``build_rootfs`` context is open."""

    tree: Tree
    size: int  # the tarball's, in bytes
    source: str  # what it was read from: "rootfs tarball" or "OCI layout"
    layers: int
    notes: list[str] = field(default_factory=list)

    @property
    def entries(self) -> int:
        return sum(1 for _ in self.tree.walk())

    def chunks(self) -> Iterator[bytes]:
        return tarball_chunks(self.tree)


class _Progress:
    """Counts bytes read; reports each new percent, from the building thread only (the
    zstd feeder thread reads too, and a report may be a database write)."""

    def __init__(self, total: int, report: Callable[[float], None] | None) -> None:
        self.total, self.done, self._report = max(total, 1), 0, report
        self._shown = -1
        self._thread = threading.get_ident()

    def __call__(self, count: int) -> None:
        self.done += count
        percent = min(100, 100 * self.done // self.total)
        if threading.get_ident() != self._thread:
            return
        if self._report is not None and percent != self._shown:
            self._shown = percent
            self._report(percent / 100)


@contextlib.contextmanager
def build_rootfs(
    source: Path,
    *,
    workdir: Path,
    space: int,
    space_reason: str = "more than is free",
    layout: bool | None = None,
    label: str | None = None,
    limits: ArchiveLimits = LIMITS,
    progress: Callable[[float], None] | None = None,
) -> Iterator[BuiltRootfs]:
    """Check ``source`` and build its normalised tarball (streamed by the result's
    ``chunks()`` while the context is open). ``layout``: True when it must be an OCI
    layout, None to tell (a directory, or an uncompressed tar with ``oci-layout`` and
    ``index.json`` at its top, is one), False for a rootfs tarball. ``space``: the most
    bytes of file content the image may hold (``space_reason`` says why in a refusal).
    Refusals: ArchiveRefused, naming the entry or blob."""
    label = label or source.name
    with tempfile.TemporaryFile(dir=workdir) as spool_file:
        tree = Tree(Spool(spool_file, space, space_reason), limits)
        budget = Budget(limits.max_bytes)
        if source.is_dir():
            if layout is False:
                raise ArchiveRefused(f"{label} is a directory, not a rootfs tarball.")
            blobs = oci.DirectoryBlobs(source)
            try:
                layers = _from_layout(blobs, tree, budget, limits, progress)
            finally:
                blobs.close()
            built = BuiltRootfs(tree, 0, "OCI layout", layers)
        else:
            built = _from_file(source, label, workdir, tree, budget, layout, limits, progress)
        if tree.root.children == {}:
            raise ArchiveRefused(f"{label} holds no files; it can't be a root filesystem.")
        if built.layers == 1 and built.source == "rootfs tarball":
            _not_a_whole_layout(tree, label)
        if tree.dropped_xattrs:
            built.notes.append(
                f"dropped {tree.dropped_xattrs} extended attribute(s) other than user.* and "
                "security.capability"
            )
        built.size = tarball_size(tree)
        yield built


def _from_file(
    source: Path,
    label: str,
    workdir: Path,
    tree: Tree,
    budget: Budget,
    layout: bool | None,
    limits: ArchiveLimits,
    progress: Callable[[float], None] | None,
) -> BuiltRootfs:
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        size = os.fstat(fd).st_size
        compression = sniff(os.pread(fd, 8, 0))
        if layout is None:
            layout = compression is Compression.NONE and oci.is_layout_tar(source, limits)
        if not layout:
            where = (
                f"{label} ({compression.value})" if compression is not Compression.NONE else label
            )
            read = _Progress(size, progress)
            with decompressed(
                Region(fd, 0, size, read),
                compression,
                compressed_size=size,
                limits=limits,
                budget=budget,
                where=where,
            ) as stream:
                for member in tar_members(stream, where, limits):
                    tree.add(member, 0, whiteouts=False)
            return BuiltRootfs(tree, 0, "rootfs tarball", 1)
        if compression is Compression.NONE:
            return _from_layout_tar(fd, label, tree, budget, limits, progress)
        # A compressed layout tar: its tar is decompressed (bounded) into an anonymous file.
        with tempfile.TemporaryFile(dir=workdir) as plain:
            with decompressed(
                Region(fd, 0, size),
                compression,
                compressed_size=size,
                limits=limits,
                budget=budget,
                where=label,
            ) as stream:
                _copy(stream, plain)
            plain.flush()
            return _from_layout_tar(plain.fileno(), label, tree, budget, limits, progress)
    finally:
        os.close(fd)


def _copy(stream: Stream, out: BinaryIO) -> None:
    while chunk := stream.read(CHUNK):
        out.write(chunk)


def _from_layout_tar(
    fd: int,
    label: str,
    tree: Tree,
    budget: Budget,
    limits: ArchiveLimits,
    progress: Callable[[float], None] | None,
) -> BuiltRootfs:
    blobs = oci.TarBlobs(fd, limits, f"OCI layout {label}")
    layers = _from_layout(blobs, tree, budget, limits, progress)
    return BuiltRootfs(tree, 0, "OCI layout", layers)


def _from_layout(
    blobs: oci.Blobs,
    tree: Tree,
    budget: Budget,
    limits: ArchiveLimits,
    progress: Callable[[float], None] | None,
) -> int:
    """Apply the layout's layers in order (each blob verified before it is read); returns
    how many there were."""
    image = oci.read_image(blobs, limits)
    read = _Progress(2 * sum(layer.descriptor.size for layer in image.layers), progress)
    count = len(image.layers)
    for number, layer in enumerate(image.layers):
        descriptor = layer.descriptor
        where = f"{blobs.where}, layer {number + 1} of {count} ({descriptor.short})"
        oci.verify(blobs, descriptor, read)
        algorithm = layer.diff_id.split(":", 1)[0] if layer.diff_id else None
        with decompressed(
            blobs.blob(descriptor, read),
            layer.compression,
            compressed_size=descriptor.size,
            limits=limits,
            budget=budget,
            where=where,
            algorithm=algorithm,
        ) as stream:
            for member in tar_members(stream, where, limits):
                tree.add(member, number, whiteouts=True)
            stream.drain()
            if layer.diff_id is not None and stream.digest() != layer.diff_id:
                raise ArchiveRefused(
                    f"{where}: its uncompressed content does not match the config's diff_id "
                    f"{layer.diff_id[:19]}...: the layout lies about this layer."
                )
    return count


def _not_a_whole_layout(tree: Tree, label: str) -> None:
    """A compressed tar of a whole OCI layout, given as a rootfs, would otherwise become a
    "root filesystem" holding oci-layout and blobs/."""
    names = set(tree.root.children or {})
    if "oci-layout" in names and names <= _LAYOUT_NAMES:
        raise ArchiveRefused(
            f"{label} is an OCI image layout, not a root filesystem; import it as format oci."
        )
