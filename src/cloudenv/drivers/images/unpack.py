"""Unpacking a normalised rootfs tarball into a container's root directory.

The tarball was checked when it was imported, but it is read here as if it had not been:
the same name, link and device rules apply, every directory is reached from the root by
``openat`` with ``O_NOFOLLOW`` (a symbolic link in the way fails instead of being
followed), files are created with ``O_EXCL`` and hard links only to files unpacked before.
Owners are shifted by ``uid_offset``/``gid_offset`` (an unprivileged container's ID map);
ownership is set before modes (``chown`` clears setuid bits) and file capabilities after
it (``chown`` clears them too). Directories get their final modes and times last, so a
read-only directory does not stop its own contents from being written.

The destination directory is created by this call (mode 0700 until the root entry's mode
is applied at the end); its parent should be reachable by root only, since the unpacked
tree holds the image's setuid programs. On any failure the destination is removed.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from cloudenv.drivers.errors import DriverError
from cloudenv.drivers.images.archive import (
    ArchiveLimits,
    ArchiveRefused,
    Budget,
    Compression,
    Region,
    TarMember,
    decompressed,
    entry_parts,
    show,
    tar_members,
)
from cloudenv.drivers.images.tree import HARMLESS_DEVICES, MAX_ID, XATTR, check_symlink

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


@dataclass(frozen=True)
class _Meta:
    mode: int
    uid: int
    gid: int
    mtime_ns: int
    xattrs: dict[str, bytes]


def _reach(root: int, parts: tuple[str, ...], where: str) -> int:
    """A new descriptor of the directory ``parts`` below ``root``, each step opened with
    O_NOFOLLOW: a symbolic link (or anything not a directory) on the way is refused."""
    fd = root
    try:
        for part in parts:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            if fd != root:
                os.close(fd)
            fd = child
    except OSError as exc:
        if fd != root:
            os.close(fd)
        raise ArchiveRefused(
            f"{where}: {show('/'.join(parts))} is not a directory of the unpacked tree "
            f"({exc.strerror})."
        ) from None
    return fd if fd != root else os.dup(root)


class _Parents:
    """The directory the current entry goes in; the last one is kept open, since sorted
    entries mostly share their parent."""

    def __init__(self, root: int) -> None:
        self.root = root
        self._held: tuple[tuple[str, ...], int] | None = None

    def open(self, parts: tuple[str, ...], where: str) -> int:
        if self._held is not None and self._held[0] == parts:
            return self._held[1]
        fd = _reach(self.root, parts, where)
        self.close()
        self._held = (parts, fd)
        return fd

    def close(self) -> None:
        if self._held is not None:
            os.close(self._held[1])
            self._held = None


def unpack_rootfs(
    tarball: Path,
    destination: Path,
    *,
    uid_offset: int = 0,
    gid_offset: int = 0,
    devices: bool = True,
    limits: ArchiveLimits | None = None,
) -> int:
    """Unpack ``tarball`` into ``destination`` (created here; must not exist). Owners are
    shifted by the offsets; character devices (the harmless set only) are made when
    ``devices`` and this process may. Returns the number of entries unpacked. A broken
    rule: ArchiveRefused; a failing filesystem: DriverError. Either way the destination
    is gone."""
    unpacker = _Unpacker(tarball, uid_offset, gid_offset, devices, limits or ArchiveLimits())
    destination.mkdir(mode=0o700)
    try:
        return unpacker.run(destination)
    except OSError as exc:
        shutil.rmtree(destination, ignore_errors=True)
        raise DriverError(
            f"Unpacking {tarball.name} into {destination} failed at entry "
            f"{show(unpacker.current)}: {exc.strerror or exc}."
        ) from None
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise


class _Unpacker:
    def __init__(
        self, tarball: Path, uid_offset: int, gid_offset: int, devices: bool, limits: ArchiveLimits
    ) -> None:
        self.tarball, self.limits = tarball, limits
        self.uid_offset, self.gid_offset = uid_offset, gid_offset
        self.devices = devices
        self.owner = os.geteuid() == 0
        self.where = f"rootfs {tarball.name}"
        self.files: set[tuple[str, ...]] = set()
        self.directories: list[tuple[tuple[str, ...], _Meta]] = []
        self.current = ""

    def run(self, destination: Path) -> int:
        count = 0
        source = os.open(self.tarball, os.O_RDONLY | os.O_NOFOLLOW)
        root = os.open(destination, _DIR_FLAGS)
        parents = _Parents(root)
        try:
            size = os.fstat(source).st_size
            with decompressed(
                Region(source, 0, size),
                Compression.NONE,
                compressed_size=size,
                limits=self.limits,
                budget=Budget(self.limits.max_bytes),
                where=self.where,
            ) as stream:
                for member in tar_members(stream, self.where, self.limits):
                    count += 1
                    if count > self.limits.max_entries:
                        raise ArchiveRefused(
                            f"{self.where}: more than {self.limits.max_entries} entries."
                        )
                    self.current = member.info.name
                    self._entry(member, root, parents)
            parents.close()
            # Deepest first, so setting a directory's time is not undone by its children.
            for parts, meta in reversed(self.directories):
                self.current = "/".join(parts) or "."
                fd = _reach(root, parts, self.where)
                try:
                    self._apply(fd, meta)
                finally:
                    os.close(fd)
        finally:
            parents.close()
            os.close(root)
            os.close(source)
        return count

    def _entry(self, member: TarMember, root: int, parents: _Parents) -> None:
        info, where = member.info, self.where
        parts = entry_parts(info.name, where, self.limits)
        meta = self._meta(info)
        if not parts:
            if not info.isdir():
                raise ArchiveRefused(f"{where}: its root entry is not a directory.")
            self.directories.append(((), meta))
            return
        parent, name = parents.open(parts[:-1], where), parts[-1]
        if info.isdir():
            os.mkdir(name, 0o700, dir_fd=parent)
            self.directories.append((parts, meta))
        elif info.isreg():
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            fd = os.open(name, flags, 0o600, dir_fd=parent)
            try:
                for chunk in member.chunks():
                    view = memoryview(chunk)
                    while view:  # a write may take less than it was given
                        view = view[os.write(fd, view) :]
                self._apply(fd, meta)
            finally:
                os.close(fd)
            self.files.add(parts)
        elif info.islnk():
            self._link(info, parts, root, parent)
        elif info.issym():
            check_symlink(info, parts, where)
            os.symlink(info.linkname, name, dir_fd=parent)
            if self.owner:
                os.chown(name, meta.uid, meta.gid, dir_fd=parent, follow_symlinks=False)
            times = (meta.mtime_ns, meta.mtime_ns)
            os.utime(name, ns=times, dir_fd=parent, follow_symlinks=False)
        elif info.isfifo() or info.ischr():
            self._special(info, name, parent, meta)
        else:
            raise ArchiveRefused(
                f"{where}: entry {show(info.name)} has tar type {info.type!r}, which a root "
                "filesystem does not hold."
            )

    def _link(self, info: tarfile.TarInfo, parts: tuple[str, ...], root: int, parent: int) -> None:
        target = entry_parts(info.linkname, self.where, self.limits)
        if target not in self.files:
            raise ArchiveRefused(
                f"{self.where}: entry {show(info.name)} is a hard link to "
                f"{show(info.linkname)}, not a file unpacked before it."
            )
        source_dir = _reach(root, target[:-1], self.where)
        try:
            os.link(
                target[-1],
                parts[-1],
                src_dir_fd=source_dir,
                dst_dir_fd=parent,
                follow_symlinks=False,
            )
        finally:
            os.close(source_dir)
        self.files.add(parts)

    def _special(self, info: tarfile.TarInfo, name: str, parent: int, meta: _Meta) -> None:
        kind, device = stat.S_IFIFO, 0
        if info.ischr():
            pair = (info.devmajor, info.devminor)
            if pair not in HARMLESS_DEVICES:
                raise ArchiveRefused(
                    f"{self.where}: entry {show(info.name)} is character device "
                    f"{pair[0]}:{pair[1]}, not one an image may hold."
                )
            if not (self.devices and self.owner):
                return  # the container's runtime makes its /dev anyway
            kind, device = stat.S_IFCHR, os.makedev(*pair)
        os.mknod(name, kind | 0o600, device, dir_fd=parent)
        if self.owner:
            os.chown(name, meta.uid, meta.gid, dir_fd=parent, follow_symlinks=False)
        # Just made by mknod, in a directory reached without following links: no link.
        os.chmod(name, meta.mode, dir_fd=parent)
        os.utime(name, ns=(meta.mtime_ns, meta.mtime_ns), dir_fd=parent)

    def _meta(self, info: tarfile.TarInfo) -> _Meta:
        uid, gid = info.uid + self.uid_offset, info.gid + self.gid_offset
        if not (0 <= uid <= MAX_ID and 0 <= gid <= MAX_ID):
            raise ArchiveRefused(
                f"{self.where}: entry {show(info.name)} would be owned by {uid}:{gid}, "
                "outside the IDs a host has."
            )
        xattrs = {
            key[len(XATTR) :]: value.encode("utf-8", "surrogateescape")
            for key, value in info.pax_headers.items()
            if key.startswith(XATTR)
        }
        return _Meta(info.mode & 0o7777, uid, gid, int(info.mtime) * 10**9, xattrs)

    def _apply(self, fd: int, meta: _Meta) -> None:
        """Owner, then mode (chown cleared setuid), then extended attributes (chown
        cleared a file capability), then times, on an open file or directory."""
        if self.owner:
            os.fchown(fd, meta.uid, meta.gid)
        os.fchmod(fd, meta.mode)
        for name, value in meta.xattrs.items():
            try:
                os.setxattr(fd, name, value)
            except OSError as exc:
                # user.* is kept where the filesystem can; a file capability must be set.
                unsupported = exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP)
                if not (unsupported and name.startswith("user.")):
                    raise
        os.utime(fd, ns=(meta.mtime_ns, meta.mtime_ns))
