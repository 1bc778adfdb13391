"""OCI image layouts (a directory, or a tar of one): ``oci-layout``, ``index.json`` and
content-addressed ``blobs/<algorithm>/<hex>``, read without trusting any of it.

Every blob is checked against the descriptor that names it before it is used: its size
first (cheap), then its digest (one sequential read); a layer's decompressed stream is
hashed while it is applied and compared with the config's ``rootfs.diff_ids``. A layout
whose index, manifest or config lies about a digest or a size is refused. Descriptors
with ``urls`` (foreign layers) are refused: a node never fetches anything.

The image's kind comes from the manifest annotation ``org.pextra.image.type`` (``lxc`` or
``qemu``; absent in standard OCI images, which are container images). Layer media types:
the product's ``application/vnd.pextra.image.layer.v1.lxc.tar[+gzip|+zstd]`` and the
standard ``application/vnd.oci.image.layer.v1.tar[+gzip|+zstd]`` (and Docker's gzip one).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cloudenv.drivers.images.archive import (
    CHUNK,
    ArchiveLimits,
    ArchiveRefused,
    Compression,
    GuardedTarInfo,
    Region,
    entry_parts,
    forget_members,
    show,
)

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
TYPE_ANNOTATION = "org.pextra.image.type"
REF_ANNOTATION = "org.opencontainers.image.ref.name"

LAYER_TYPES = {
    "application/vnd.pextra.image.layer.v1.lxc.tar": Compression.NONE,
    "application/vnd.pextra.image.layer.v1.lxc.tar+gzip": Compression.GZIP,
    "application/vnd.pextra.image.layer.v1.lxc.tar+zstd": Compression.ZSTD,
    "application/vnd.oci.image.layer.v1.tar": Compression.NONE,
    "application/vnd.oci.image.layer.v1.tar+gzip": Compression.GZIP,
    "application/vnd.oci.image.layer.v1.tar+zstd": Compression.ZSTD,
    "application/vnd.docker.image.rootfs.diff.tar.gzip": Compression.GZIP,
}
_DIGEST = re.compile(r"(sha256):([0-9a-f]{64})|(sha512):([0-9a-f]{128})")
#: platform.machine() -> the OCI/Go architecture name.
_ARCHITECTURES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i686": "386",
    "i386": "386",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
_MAX_INDEX_DEPTH = 2


def host_architecture() -> str:
    machine = platform.machine()
    return _ARCHITECTURES.get(machine, machine)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    platform: dict[str, Any] | None = None

    @property
    def algorithm(self) -> str:
        return self.digest.split(":", 1)[0]

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]

    @property
    def short(self) -> str:
        return f"{self.algorithm}:{self.hex[:12]}"


@dataclass(frozen=True)
class Layer:
    descriptor: Descriptor
    compression: Compression
    diff_id: str | None


@dataclass(frozen=True)
class OciImage:
    """What a layout holds for this node: its layers in order and the annotated kind."""

    manifest: Descriptor
    layers: tuple[Layer, ...]
    kind: str  # "lxc" when annotated so or not annotated
    config: dict[str, Any]


class Blobs(Protocol):
    """Where a layout's files are: a directory or a tar."""

    where: str

    def file(self, name: str) -> Region | None:
        """``oci-layout`` or ``index.json``; None when absent."""
        ...

    def blob(self, descriptor: Descriptor, on_read: Callable[[int], None] | None = None) -> Region:
        """The blob's bytes, checked to be exactly ``descriptor.size`` long."""
        ...

    def close(self) -> None: ...


def _wrong_size(where: str, descriptor: Descriptor, actual: int) -> ArchiveRefused:
    return ArchiveRefused(
        f"{where}: blob {descriptor.short} is {actual} bytes, but the descriptor that names "
        f"it says {descriptor.size}."
    )


def _missing(where: str, descriptor: Descriptor) -> ArchiveRefused:
    return ArchiveRefused(
        f"{where}: blob {descriptor.digest} ({descriptor.media_type}) is not in the layout."
    )


class DirectoryBlobs:
    """A layout directory; its files are opened without following symbolic links."""

    def __init__(self, root: Path) -> None:
        self.where = f"OCI layout {root.name}"
        self._root = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        self._open: list[int] = []

    def _open_file(self, parts: tuple[str, ...]) -> tuple[int, int] | None:
        fd = self._root
        opened: list[int] = []
        try:
            for part in parts[:-1]:
                fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                opened.append(fd)
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ArchiveRefused(
                f"{self.where}: {'/'.join(parts)} can't be opened as a plain file "
                f"({exc.strerror}); a layout holds plain files, not links."
            ) from None
        finally:
            for other in opened:
                os.close(other)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ArchiveRefused(f"{self.where}: {'/'.join(parts)} is not a regular file.")
        self._open.append(fd)
        return fd, info.st_size

    def file(self, name: str) -> Region | None:
        found = self._open_file((name,))
        return None if found is None else Region(found[0], 0, found[1])

    def blob(self, descriptor: Descriptor, on_read: Callable[[int], None] | None = None) -> Region:
        found = self._open_file(("blobs", descriptor.algorithm, descriptor.hex))
        if found is None:
            raise _missing(self.where, descriptor)
        if found[1] != descriptor.size:
            raise _wrong_size(self.where, descriptor, found[1])
        return Region(found[0], 0, found[1], on_read)

    def close(self) -> None:
        for fd in self._open:
            os.close(fd)
        self._open.clear()
        os.close(self._root)


class TarBlobs:
    """A layout inside an uncompressed tar: its members are indexed once (names checked
    as strictly as a root filesystem's, plain files only, no duplicates), then read in
    place."""

    def __init__(self, fd: int, limits: ArchiveLimits, where: str) -> None:
        """``fd``: the tar, open for reading (the caller closes it)."""
        self.where = where
        self._fd = fd
        self._members = self._index(limits)

    def _index(self, limits: ArchiveLimits) -> dict[str, tuple[int, int]]:
        members: dict[str, tuple[int, int]] = {}
        count = 0
        os.lseek(self._fd, 0, os.SEEK_SET)  # a file just written is at its end
        try:
            with (
                open(self._fd, "rb", closefd=False) as handle,
                tarfile.open(fileobj=handle, mode="r:", tarinfo=GuardedTarInfo) as tar,
            ):
                while (info := tar.next()) is not None:
                    forget_members(tar)
                    count += 1
                    if count > limits.max_entries:
                        raise ArchiveRefused(
                            f"{self.where}: more than {limits.max_entries} entries."
                        )
                    parts = entry_parts(info.name, self.where, limits)
                    if info.isdir():
                        continue
                    if not info.isreg():
                        raise ArchiveRefused(
                            f"{self.where}: entry {show(info.name)} is not a regular file; an "
                            "OCI layout holds plain files and directories only."
                        )
                    name = "/".join(parts)
                    if name in members:
                        raise ArchiveRefused(
                            f"{self.where}: entry {show(name)} appears twice; which one is "
                            "meant can't be told."
                        )
                    members[name] = (info.offset_data, info.size)
        except ArchiveRefused as exc:
            if exc.message.startswith(self.where):
                raise
            raise ArchiveRefused(f"{self.where}: {exc.message}") from None
        except (tarfile.TarError, EOFError, OSError, RecursionError) as exc:
            raise ArchiveRefused(
                f"{self.where}: not a readable tar archive ({str(exc)[:200]})."
            ) from None
        end = os.fstat(self._fd).st_size
        for name, (offset, size) in members.items():
            if offset + size > end:
                raise ArchiveRefused(f"{self.where}: entry {show(name)} ends past the archive.")
        return members

    def names(self) -> set[str]:
        return set(self._members)

    def file(self, name: str) -> Region | None:
        found = self._members.get(name)
        return None if found is None else Region(self._fd, *found)

    def blob(self, descriptor: Descriptor, on_read: Callable[[int], None] | None = None) -> Region:
        found = self._members.get(f"blobs/{descriptor.algorithm}/{descriptor.hex}")
        if found is None:
            raise _missing(self.where, descriptor)
        if found[1] != descriptor.size:
            raise _wrong_size(self.where, descriptor, found[1])
        return Region(self._fd, found[0], found[1], on_read)

    def close(self) -> None:
        pass  # the caller owns the descriptor


def is_layout_tar(path: Path, limits: ArchiveLimits) -> bool:
    """Whether ``path`` is an uncompressed tar with ``oci-layout`` and ``index.json`` at its
    top (reads headers only; anything unreadable is not a layout here)."""
    found: set[str] = set()
    try:
        with tarfile.open(path, mode="r:", tarinfo=GuardedTarInfo) as tar:
            for _ in range(limits.max_entries):
                info = tar.next()
                if info is None:
                    break
                forget_members(tar)
                name = info.name.removeprefix("./")
                if name in ("oci-layout", "index.json") and info.isreg():
                    found.add(name)
                    if len(found) == 2:
                        return True
    except (tarfile.TarError, ArchiveRefused, EOFError, OSError, RecursionError):
        return False
    return False


# -- reading the layout --------------------------------------------------------------------


def verify(blobs: Blobs, descriptor: Descriptor, on_read: Callable[[int], None] | None) -> None:
    """Hash the whole blob and compare it with its descriptor's digest."""
    region = blobs.blob(descriptor, on_read)
    digest = hashlib.new(descriptor.algorithm)
    while chunk := region.read(CHUNK):
        digest.update(chunk)
    if digest.hexdigest() != descriptor.hex:
        raise ArchiveRefused(
            f"{blobs.where}: blob {descriptor.short} ({descriptor.media_type}) does not match "
            "its digest: the layout lies about its content, or the blob is damaged."
        )


def _json(blobs: Blobs, region: Region | None, what: str, limits: ArchiveLimits) -> dict[str, Any]:
    if region is None:
        raise ArchiveRefused(f"{blobs.where}: it has no {what}; is this an OCI image layout?")
    data = region.read(limits.max_json_bytes + 1)
    if len(data) > limits.max_json_bytes:
        raise ArchiveRefused(
            f"{blobs.where}: its {what} is larger than {limits.max_json_bytes} bytes."
        )
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise ArchiveRefused(f"{blobs.where}: its {what} is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ArchiveRefused(f"{blobs.where}: its {what} is not a JSON object.")
    return value


def _blob_json(
    blobs: Blobs, descriptor: Descriptor, what: str, limits: ArchiveLimits
) -> dict[str, Any]:
    if descriptor.size > limits.max_json_bytes:
        raise ArchiveRefused(
            f"{blobs.where}: its {what} {descriptor.short} is said to be {descriptor.size} "
            f"bytes; at most {limits.max_json_bytes} are accepted."
        )
    verify(blobs, descriptor, None)
    return _json(blobs, blobs.blob(descriptor), f"{what} {descriptor.short}", limits)


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ArchiveRefused(f"{where} is not a descriptor (a JSON object).")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str):
        raise ArchiveRefused(f"{where} has no mediaType.")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ArchiveRefused(
            f"{where} has digest {show(str(digest))}; sha256:<64 hex> or sha512:<128 hex> "
            "is accepted."
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ArchiveRefused(f"{where} has no valid size.")
    if value.get("urls"):
        raise ArchiveRefused(
            f"{where} ({digest[:19]}) is a foreign layer to download from elsewhere; a node "
            "never fetches anything, so the layout must hold every blob."
        )
    annotations = value.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise ArchiveRefused(f"{where} has annotations that are not strings.")
    found_platform = value.get("platform")
    return Descriptor(
        media_type,
        digest,
        size,
        annotations,
        found_platform if isinstance(found_platform, dict) else None,
    )


def _descriptors(document: dict[str, Any], key: str, where: str) -> list[Descriptor]:
    items = document.get(key)
    if not isinstance(items, list):
        raise ArchiveRefused(f"{where} has no {key} list.")
    return [_descriptor(item, f"{where}: {key}[{i}]") for i, item in enumerate(items)]


def _for_this_host(descriptor: Descriptor) -> bool:
    found = descriptor.platform
    if found is None:
        return True
    return found.get("os", "linux") == "linux" and found.get("architecture") in (
        None,
        host_architecture(),
    )


def _choose(blobs: Blobs, limits: ArchiveLimits, ref: str | None) -> Descriptor:
    """The one manifest of the layout meant for this node (following nested indexes)."""
    index = _json(blobs, blobs.file("index.json"), "index.json", limits)
    where = f"{blobs.where}: index.json"
    for depth in range(_MAX_INDEX_DEPTH + 1):
        if index.get("schemaVersion") != 2:
            raise ArchiveRefused(f"{where} is not an image index (schemaVersion 2).")
        candidates = [
            d
            for d in _descriptors(index, "manifests", where)
            if d.media_type in (INDEX, MANIFEST, DOCKER_LIST, DOCKER_MANIFEST) and _for_this_host(d)
        ]
        if ref is not None and depth == 0:
            candidates = [d for d in candidates if d.annotations.get(REF_ANNOTATION) == ref]
        if not candidates:
            wanted = f" named {ref!r}" if ref is not None and depth == 0 else ""
            raise ArchiveRefused(
                f"{where} lists no image manifest{wanted} for linux/{host_architecture()}."
            )
        if len(candidates) > 1:
            refs = sorted({d.annotations.get(REF_ANNOTATION, d.short) for d in candidates})
            raise ArchiveRefused(
                f"{where} lists {len(candidates)} images for this node ({', '.join(refs)}); "
                "a layout to import must hold one."
            )
        chosen = candidates[0]
        if chosen.media_type in (MANIFEST, DOCKER_MANIFEST):
            return chosen
        if depth == _MAX_INDEX_DEPTH:
            break
        index = _blob_json(blobs, chosen, "image index", limits)
        where = f"{blobs.where}: image index {chosen.short}"
    raise ArchiveRefused(f"{blobs.where}: its image indexes nest deeper than this node follows.")


def read_image(blobs: Blobs, limits: ArchiveLimits, ref: str | None = None) -> OciImage:
    """The layout's image for this node, every JSON blob verified; refused unless it is a
    container (lxc) image for this node's architecture with layers of accepted types."""
    layout = _json(blobs, blobs.file("oci-layout"), "oci-layout file", limits)
    version = layout.get("imageLayoutVersion")
    if not isinstance(version, str) or not version.startswith("1."):
        raise ArchiveRefused(
            f"{blobs.where}: its oci-layout file says imageLayoutVersion "
            f"{show(str(version))}; version 1.x is read."
        )
    chosen = _choose(blobs, limits, ref)
    manifest = _blob_json(blobs, chosen, "manifest", limits)
    where = f"{blobs.where}: manifest {chosen.short}"
    if manifest.get("schemaVersion") != 2:
        raise ArchiveRefused(f"{where} is not an image manifest (schemaVersion 2).")
    if manifest.get("mediaType") not in (None, chosen.media_type):
        raise ArchiveRefused(
            f"{where} says it is {show(str(manifest.get('mediaType')))}, but the index names "
            f"it as {chosen.media_type}."
        )
    annotations = manifest.get("annotations") or {}
    kind = annotations.get(TYPE_ANNOTATION) if isinstance(annotations, dict) else None
    kind = kind or chosen.annotations.get(TYPE_ANNOTATION) or "lxc"
    if kind == "qemu":
        raise ArchiveRefused(
            f"{where} is annotated {TYPE_ANNOTATION}=qemu: a virtual machine image, not a "
            "container's root filesystem; it can't be imported as a container image."
        )
    if kind != "lxc":
        raise ArchiveRefused(
            f"{where} is annotated {TYPE_ANNOTATION}={show(str(kind))}; lxc or qemu is known."
        )
    config_descriptor = _descriptor(manifest.get("config"), f"{where}: config")
    config = _blob_json(blobs, config_descriptor, "config", limits)
    layers = _descriptors(manifest, "layers", where)
    if len(layers) > limits.max_layers:
        raise ArchiveRefused(
            f"{where} has {len(layers)} layers; at most {limits.max_layers} are accepted."
        )
    _check_platform(config, where)
    diff_ids = _diff_ids(config, len(layers), f"{blobs.where}: config {config_descriptor.short}")
    found = []
    for number, layer in enumerate(layers):
        compression = LAYER_TYPES.get(layer.media_type)
        if compression is None:
            raise ArchiveRefused(
                f"{where}: layer {number + 1} ({layer.short}) has media type "
                f"{show(layer.media_type)}, which is not a filesystem layer this node reads "
                "(tar, tar+gzip or tar+zstd)."
            )
        found.append(Layer(layer, compression, diff_ids[number] if diff_ids else None))
    return OciImage(chosen, tuple(found), kind, config)


def _check_platform(config: dict[str, Any], where: str) -> None:
    os_name, architecture = config.get("os"), config.get("architecture")
    if os_name not in (None, "linux"):
        raise ArchiveRefused(f"{where}: the image is for {show(str(os_name))}, not linux.")
    if architecture not in (None, host_architecture()):
        raise ArchiveRefused(
            f"{where}: the image is for {show(str(architecture))}; this node is "
            f"{host_architecture()}."
        )


def _diff_ids(config: dict[str, Any], layers: int, where: str) -> list[str] | None:
    """The config's digests of the uncompressed layers; None when it has no rootfs
    section (an empty config: the layers' own digests still hold)."""
    rootfs = config.get("rootfs")
    if rootfs is None:
        return None
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise ArchiveRefused(f"{where} has a rootfs section that is not of type layers.")
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list) or not all(
        isinstance(d, str) and _DIGEST.fullmatch(d) for d in diff_ids
    ):
        raise ArchiveRefused(f"{where} has rootfs.diff_ids that are not digests.")
    if len(diff_ids) != layers:
        raise ArchiveRefused(
            f"{where} lists {len(diff_ids)} layer digests (rootfs.diff_ids) for {layers} layers."
        )
    return diff_ids
