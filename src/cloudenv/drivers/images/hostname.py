"""A container's hostname in its root filesystem (``/etc/hostname``), which the
distribution's init (systemd, OpenRC, sysvinit's scripts) sets as the kernel's hostname.

libvirt's LXC driver sets the hostname to the domain's name (the instance ID) when the
container starts, and offers nothing to choose another; the instance's name reaches the
container through this file.

The root filesystem belongs to the container, whose root may have replaced ``/etc`` or
``/etc/hostname`` with a symbolic link to anywhere on the node: nothing is followed here.
``etc`` is opened below the root with O_NOFOLLOW, the new file is made there with O_EXCL
and renamed over the old name (a rename replaces a link, never writes through it).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets

from cloudenv.drivers.errors import DriverError

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_LABEL = re.compile(r"[^a-z0-9-]+")
MAX_LENGTH = 63


def hostname_for(name: str) -> str:
    """An RFC 1123 label from an instance name: lower case, letters, digits and hyphens."""
    label = _LABEL.sub("-", name.lower()).strip("-")[:MAX_LENGTH].strip("-")
    return label or "container"


def write_hostname(root: str, hostname: str, *, uid: int, gid: int) -> bool:
    """Make ``<root>/etc/hostname`` hold ``hostname`` (owned by ``uid``:``gid``, the
    container's root on the node); returns whether it changed. A root without a plain
    ``etc`` directory is left alone (False)."""
    try:
        root_fd = os.open(root, _DIR)
    except OSError as exc:
        raise DriverError(f"Root filesystem {root} can't be opened: {exc.strerror}.") from None
    try:
        try:
            etc = os.open("etc", _DIR, dir_fd=root_fd)
        except OSError:
            return False  # no /etc, or a link in its place: nothing to write through
        try:
            return _replace(etc, f"{hostname}\n".encode(), uid, gid)
        finally:
            os.close(etc)
    finally:
        os.close(root_fd)


def _replace(etc: int, content: bytes, uid: int, gid: int) -> bool:
    try:
        fd = os.open("hostname", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=etc)
        try:
            if os.read(fd, len(content) + 1) == content:
                return False
        finally:
            os.close(fd)
    except OSError:
        pass  # missing, a link, a FIFO...: replaced below
    temporary = f".hostname.{secrets.token_hex(4)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(temporary, flags, 0o644, dir_fd=etc)
        try:
            os.write(fd, content)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, 0o644)
        finally:
            os.close(fd)
        os.rename(temporary, "hostname", src_dir_fd=etc, dst_dir_fd=etc)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=etc)
        raise DriverError(
            f"The container's /etc/hostname can't be written: {exc.strerror}."
        ) from None
    return True
