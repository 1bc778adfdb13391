"""The root filesystem an import builds: a tree in memory whose files' contents wait in a
spool file, filled from one or more tar streams (OCI layers, in order), then written out
as one normalised tarball.

Rules an entry must pass, beyond ``archive.entry_parts`` (no absolute paths, no ``..``):

- It may not lie below a symbolic link (``link -> /etc`` then ``link/passwd``: writing it
  would write through the link) nor below anything that is not a directory.
- A symbolic link's target is data for the container to resolve inside its own root, so an
  absolute target is kept (``/etc/localtime -> /usr/share/zoneinfo/UTC`` is everywhere); a
  relative one that climbs above the root (``../../..`` from ``/a``) only makes sense as
  an escape and is refused.
- A hard link must name a regular file the archive already has (inside the root); it then
  shares that file's content and metadata, as a hard link does.
- Device nodes: block devices are refused, and character devices other than the set every
  container gets anyway (null, zero, full, random, urandom, tty, console, ptmx: what LXC
  creates in a container's /dev and its device policy allows). Those grant nothing a
  container lacks; any other (a disk, /dev/mem, a serial port) would reach host hardware
  from a privileged container, and has no use in an image since the runtime makes /dev.
- setuid/setgid bits, owners and file capabilities are kept as data: they are written into
  the normalised tarball and take effect only inside a container at deploy, never on the
  host during import (nothing is extracted here).
- Extended attributes: ``user.*`` and ``security.capability`` are kept; others (SELinux
  labels, ACLs, ``trusted.*``) are dropped, since they mean nothing to another host.

OCI whiteouts (``.wh.<name>``, and the opaque ``.wh..wh..opq``) hide what lower layers
put there, never what their own layer holds, whichever order the layer lists them in.

The normalised tarball: POSIX pax format, entries in sorted depth-first order (every
directory before what it holds), the root as ``./``, numeric owners only (no user or group
names: IDs are what a user namespace shifts), modes with their setuid/setgid/sticky bits,
the kept extended attributes as ``SCHILY.xattr.*`` pax records, each file's content once
(later paths of the same file are hard links to the first).
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import BinaryIO

from cloudenv.drivers.images.archive import (
    CHUNK,
    ArchiveLimits,
    ArchiveRefused,
    TarMember,
    entry_parts,
    show,
)

#: (major, minor) of the character devices an image may hold.
HARMLESS_DEVICES = {
    (1, 3): "null",
    (1, 5): "zero",
    (1, 7): "full",
    (1, 8): "random",
    (1, 9): "urandom",
    (5, 0): "tty",
    (5, 1): "console",
    (5, 2): "ptmx",
}
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
MAX_ID = 2**32 - 2  # (uid_t)-1 means "no change" to chown
_MAX_MTIME = 2**33 - 1
XATTR = "SCHILY.xattr."
BLOCK = tarfile.BLOCKSIZE


def keeps_xattr(name: str) -> bool:
    return name.startswith("user.") or name == "security.capability"


class Kind(Enum):
    DIR = "directory"
    FILE = "regular file"
    SYMLINK = "symbolic link"
    FIFO = "FIFO"
    CHAR = "character device"


@dataclass(slots=True, eq=False)
class Inode:
    """Metadata (and for a regular file, where its content is in the spool); hard links
    share one."""

    mode: int
    uid: int
    gid: int
    mtime: int
    xattrs: dict[str, str] = field(default_factory=dict)
    offset: int = 0
    size: int = 0


@dataclass(slots=True, eq=False)
class Node:
    kind: Kind
    inode: Inode
    layer: int  # the layer that last set it (whiteouts hide lower layers only)
    children: dict[str, Node] | None = None
    target: str = ""  # a symbolic link's
    device: tuple[int, int] = (0, 0)


class Spool:
    """File contents, appended to an (anonymous) file at most ``space`` bytes long."""

    def __init__(self, file: BinaryIO, space: int, space_reason: str) -> None:
        self._file, self.space, self._reason = file, space, space_reason
        self.size = 0

    def add(self, chunks: Iterable[bytes], where: str) -> tuple[int, int]:
        offset = self.size
        for chunk in chunks:
            self.size += len(chunk)
            if self.size > self.space:
                raise ArchiveRefused(
                    f"{where}: the root filesystem needs more than {self.space} bytes "
                    f"({self._reason})."
                )
            self._file.write(chunk)
        return offset, self.size - offset

    def read(self, offset: int, size: int) -> Iterator[bytes]:
        self._file.flush()
        fd, end = self._file.fileno(), offset + size
        while offset < end:
            data = os.pread(fd, min(CHUNK, end - offset), offset)
            if not data:
                raise ArchiveRefused("the spool file ended early (was it changed meanwhile?).")
            offset += len(data)
            yield data


class Tree:
    def __init__(self, spool: Spool, limits: ArchiveLimits) -> None:
        self.spool, self.limits = spool, limits
        self.root = Node(Kind.DIR, Inode(0o755, 0, 0, 0), layer=-1, children={})
        self.entries = 0
        self.dropped_xattrs = 0

    # -- adding entries ----------------------------------------------------------------

    def add(self, member: TarMember, layer: int, *, whiteouts: bool) -> None:
        """Apply one member of layer ``layer`` (OCI whiteouts when ``whiteouts``)."""
        info, where = member.info, member.where
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise ArchiveRefused(
                f"{where}: the image has more than {self.limits.max_entries} entries, the "
                "most one may have."
            )
        parts = entry_parts(info.name, where, self.limits)
        if whiteouts and parts and parts[-1].startswith(WHITEOUT):
            self._whiteout(parts, layer)
            return
        if not parts:
            if not info.isdir():
                raise ArchiveRefused(
                    f"{where}: entry {show(info.name)} is the root, which must be a directory."
                )
            self.root.inode, self.root.layer = self._inode(info, where), layer
            return
        parent = self._parent(parts, layer, info, where)
        name = parts[-1]
        node = self._node(member, parts, layer)
        existing = parent.children.get(name)  # type: ignore[union-attr]
        if node.kind is Kind.DIR and existing is not None and existing.kind is Kind.DIR:
            existing.inode, existing.layer = node.inode, layer  # a directory again: merged
        else:
            parent.children[name] = node  # type: ignore[index]

    def _parent(
        self, parts: tuple[str, ...], layer: int, info: tarfile.TarInfo, where: str
    ) -> Node:
        """The directory the entry goes in; missing directories are made (0755, root)."""
        node = self.root
        for depth, part in enumerate(parts[:-1]):
            assert node.children is not None
            child = node.children.get(part)
            if child is None:
                child = Node(
                    Kind.DIR,
                    Inode(0o755, 0, 0, _mtime(info)),
                    layer=layer,
                    children={},
                )
                node.children[part] = child
            elif child.kind is Kind.SYMLINK:
                raise ArchiveRefused(
                    f"{where}: entry {show(info.name)} lies under "
                    f"{show('/'.join(parts[: depth + 1]))}, a symbolic link (to "
                    f"{show(child.target)}); an archive may not write through a link."
                )
            elif child.kind is not Kind.DIR:
                raise ArchiveRefused(
                    f"{where}: entry {show(info.name)} lies under "
                    f"{show('/'.join(parts[: depth + 1]))}, which is a {child.kind.value}, "
                    "not a directory."
                )
            node = child
        return node

    def _node(self, member: TarMember, parts: tuple[str, ...], layer: int) -> Node:
        info, where = member.info, member.where
        if info.isdir():
            return Node(Kind.DIR, self._inode(info, where), layer, children={})
        if info.isreg():
            inode = self._inode(info, where)
            inode.offset, inode.size = self.spool.add(member.chunks(), where)
            return Node(Kind.FILE, inode, layer)
        if info.issym():
            check_symlink(info, parts, where)
            return Node(Kind.SYMLINK, self._inode(info, where), layer, target=info.linkname)
        if info.islnk():
            return Node(Kind.FILE, self._link_target(info, where).inode, layer)
        if info.isfifo():
            return Node(Kind.FIFO, self._inode(info, where), layer)
        if info.ischr():
            device = (info.devmajor, info.devminor)
            if device not in HARMLESS_DEVICES:
                raise ArchiveRefused(
                    f"{where}: entry {show(info.name)} is character device "
                    f"{device[0]}:{device[1]}; an image may hold only the devices every "
                    f"container gets ({', '.join(sorted(HARMLESS_DEVICES.values()))})."
                )
            return Node(Kind.CHAR, self._inode(info, where), layer, device=device)
        if info.isblk():
            raise ArchiveRefused(
                f"{where}: entry {show(info.name)} is block device "
                f"{info.devmajor}:{info.devminor}; device nodes that reach the host's disks "
                "are not accepted."
            )
        raise ArchiveRefused(
            f"{where}: entry {show(info.name)} has tar type {info.type!r}, which a root "
            "filesystem does not hold."
        )

    def _inode(self, info: tarfile.TarInfo, where: str) -> Inode:
        for what, number in (("owner", info.uid), ("group", info.gid)):
            if not 0 <= number <= MAX_ID:
                raise ArchiveRefused(
                    f"{where}: entry {show(info.name)} has {what} ID {number}, outside 0..{MAX_ID}."
                )
        xattrs: dict[str, str] = {}
        for key, value in info.pax_headers.items():
            if key.startswith(XATTR):
                name = key[len(XATTR) :]
                if keeps_xattr(name):
                    xattrs[name] = value
                else:
                    self.dropped_xattrs += 1
        return Inode(info.mode & 0o7777, info.uid, info.gid, _mtime(info), xattrs)

    def _link_target(self, info: tarfile.TarInfo, where: str) -> Node:
        target = info.linkname
        if target.startswith("/") or ".." in target.split("/"):
            raise ArchiveRefused(
                f"{where}: entry {show(info.name)} is a hard link to {show(target)}, outside "
                "the root filesystem."
            )
        parts = entry_parts(target, where, self.limits)
        node = self._find(parts)
        if node is None:
            raise ArchiveRefused(
                f"{where}: entry {show(info.name)} is a hard link to {show(target)}, which "
                "the archive does not have before it."
            )
        if node.kind is not Kind.FILE:
            raise ArchiveRefused(
                f"{where}: entry {show(info.name)} is a hard link to {show(target)}, a "
                f"{node.kind.value}; hard links may only name regular files."
            )
        return node

    def _find(self, parts: tuple[str, ...]) -> Node | None:
        """The node at ``parts``, without following symbolic links; None if absent."""
        node = self.root
        for part in parts:
            if node.kind is not Kind.DIR or node.children is None:
                return None
            child = node.children.get(part)
            if child is None:
                return None
            node = child
        return node

    # -- whiteouts ---------------------------------------------------------------------

    def _whiteout(self, parts: tuple[str, ...], layer: int) -> None:
        parent = self._find(parts[:-1])
        if parent is None or parent.kind is not Kind.DIR:
            return  # nothing of a lower layer there to hide
        base = parts[-1]
        if base == OPAQUE:
            self._prune(parent, layer)
            return
        if base.startswith(WHITEOUT + WHITEOUT) or base == WHITEOUT:
            return  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
        assert parent.children is not None
        name = base[len(WHITEOUT) :]
        child = parent.children.get(name)
        if child is None:
            return
        if child.kind is Kind.DIR:
            self._prune(child, layer)
        if child.layer < layer and not child.children:
            del parent.children[name]

    def _prune(self, directory: Node, layer: int) -> None:
        """Hide everything lower layers put under ``directory``; what ``layer`` itself put
        there stays (with the directories leading to it)."""
        assert directory.children is not None
        for name, child in list(directory.children.items()):
            if child.kind is Kind.DIR:
                self._prune(child, layer)
            if child.layer < layer and not child.children:
                del directory.children[name]

    # -- reading the result ------------------------------------------------------------

    def walk(self) -> Iterator[tuple[str, Node]]:
        """(path, node) depth-first in sorted order, the root ("") first."""
        stack: list[tuple[str, Node]] = [("", self.root)]
        while stack:
            path, node = stack.pop()
            yield path, node
            if node.children:
                for name in sorted(node.children, reverse=True):
                    stack.append((f"{path}/{name}" if path else name, node.children[name]))


def _mtime(info: tarfile.TarInfo) -> int:
    return max(0, min(int(info.mtime), _MAX_MTIME))


def check_symlink(info: tarfile.TarInfo, parts: tuple[str, ...], where: str) -> None:
    target = info.linkname
    if not target or "\x00" in target or len(target.encode("utf-8", "surrogateescape")) > 4095:
        raise ArchiveRefused(
            f"{where}: entry {show(info.name)} is a symbolic link with an empty, NUL-holding "
            "or overlong target."
        )
    if target.startswith("/"):
        return  # resolved inside the container's root when it runs
    depth = len(parts) - 1  # the link's directory, below the root
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                raise ArchiveRefused(
                    f"{where}: entry {show(info.name)} is a symbolic link to {show(target)}, "
                    "which climbs above the root filesystem."
                )
        elif part not in ("", "."):
            depth += 1


# -- the normalised tarball --------------------------------------------------------------


def _records(tree: Tree) -> Iterator[tuple[bytes, Inode | None]]:
    """(header bytes, the inode whose content follows or None) for every entry."""
    first: dict[int, str] = {}  # id(inode) -> the path that holds its content
    for path, node in tree.walk():
        inode = node.inode
        info = tarfile.TarInfo(path or ".")
        info.mode, info.uid, info.gid, info.mtime = inode.mode, inode.uid, inode.gid, inode.mtime
        info.uname = info.gname = ""
        content: Inode | None = None
        if node.kind is Kind.DIR:
            info.type = tarfile.DIRTYPE
        elif node.kind is Kind.FILE:
            holder = first.get(id(inode))
            if holder is None:
                first[id(inode)] = path
                info.type, info.size, content = tarfile.REGTYPE, inode.size, inode
            else:
                info.type, info.linkname = tarfile.LNKTYPE, holder
        elif node.kind is Kind.SYMLINK:
            info.type, info.linkname = tarfile.SYMTYPE, node.target
        elif node.kind is Kind.FIFO:
            info.type = tarfile.FIFOTYPE
        else:
            info.type = tarfile.CHRTYPE
            info.devmajor, info.devminor = node.device
        if inode.xattrs:
            info.pax_headers = {XATTR + k: v for k, v in sorted(inode.xattrs.items())}
        yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"), content


def _padding(size: int) -> int:
    return -size % BLOCK


def tarball_size(tree: Tree) -> int:
    """The normalised tarball's exact size in bytes."""
    total = 2 * BLOCK  # the end-of-archive marker
    for header, content in _records(tree):
        total += len(header)
        if content is not None:
            total += content.size + _padding(content.size)
    return total


def tarball_chunks(tree: Tree) -> Iterator[bytes]:
    """The normalised tarball, in pieces of about CHUNK bytes."""
    pending: list[bytes] = []
    held = 0

    def emit(data: bytes) -> Iterator[bytes]:
        nonlocal held
        pending.append(data)
        held += len(data)
        if held >= CHUNK:
            yield b"".join(pending)
            pending.clear()
            held = 0

    for header, content in _records(tree):
        yield from emit(header)
        if content is not None:
            for piece in tree.spool.read(content.offset, content.size):
                yield from emit(piece)
            if pad := _padding(content.size):
                yield from emit(b"\0" * pad)
    yield from emit(b"\0" * (2 * BLOCK))
    if pending:
        yield b"".join(pending)
