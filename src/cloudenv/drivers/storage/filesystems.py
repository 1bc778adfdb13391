"""Filesystems on volumes, for containers: a root filesystem volume (an ext4 filesystem
holding an image's unpacked tarball) and a blank volume made a filesystem when it first
becomes a container's mount point.

Nothing here mounts what it makes: mke2fs fills the new filesystem from a staging
directory (``-d``), so a volume is mounted only by the container driver while its
container runs. The owners inside are the unpacked ones (shifted into the container's ID
range when it is unprivileged), and the filesystem's own root directory is given to the
container's root (``root_owner``), which ``-d`` does not copy.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from cloudenv.drivers.commands import run_or_fail
from cloudenv.drivers.errors import Unsupported

__all__ = ["FILESYSTEM", "MIN_BYTES", "fill_rootfs", "format_if_blank", "is_blank"]

#: What a container's volume is formatted with: the filesystem every Linux kernel mounts.
FILESYSTEM = "ext4"
#: The smallest volume that holds an ext4 filesystem with room for anything.
MIN_BYTES = 16 * 1024**2
#: A volume is blank when this much of its start is zeros: partition tables, and the
#: superblocks of ext*, XFS and btrfs (at 64 KiB), all lie within it.
BLANK_PROBE_BYTES = 1024**2
MKFS_TIMEOUT_SECONDS = 600


def fill_rootfs(
    target: str, tarball: Path, staging_dir: str | None, *, uid_offset: int, gid_offset: int
) -> None:
    """Make ``target`` (a file of the volume's size, or a block device) an ext4
    filesystem holding ``tarball`` unpacked (``drivers.images.unpack``: every entry
    checked, owners shifted by the offsets). The tarball is unpacked first into a
    directory under ``staging_dir`` (None: the system's temporary directory), which is
    removed whatever happens. Files that don't fit: DriverError saying so."""
    from cloudenv.drivers.images.unpack import unpack_rootfs

    staging = Path(tempfile.mkdtemp(prefix=".partial-rootfs-", dir=staging_dir))
    try:
        root = staging / "root"
        unpack_rootfs(tarball, root, uid_offset=uid_offset, gid_offset=gid_offset)
        _mkfs(target, owner=(uid_offset, gid_offset), content=root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # never follows the links inside


def is_blank(target: str) -> bool:
    """Whether the volume's first MiB is all zeros (a new volume, never written)."""
    with open(target, "rb") as device:
        start = device.read(BLANK_PROBE_BYTES)
    return not start.strip(b"\x00")


def format_if_blank(target: str, *, uid: int, gid: int) -> bool:
    """Make a blank volume an empty ext4 filesystem whose top directory the container's
    root (``uid``:``gid`` on the node) owns; True if it was formatted. A volume that
    already holds a filesystem is left as it is (False). One holding something else (a
    disk image with partitions, say): Unsupported, and it is not touched."""
    if is_blank(target):
        _mkfs(target, owner=(uid, gid))
        return True
    found = probe_filesystem(target)
    if not found:
        raise Unsupported(
            f"Volume {Path(target).name} holds data but no filesystem (a disk with "
            "partitions, perhaps): a container mounts a filesystem. Use a blank volume, or "
            "one that a container used before."
        )
    return False


def probe_filesystem(target: str) -> str:
    """The filesystem type on ``target`` ("ext4", "xfs"...), "" when there is none."""
    done = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "TYPE", target],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def _mkfs(target: str, *, owner: tuple[int, int], content: Path | None = None) -> None:
    command = ["mkfs." + FILESYSTEM, "-q", "-F", "-E", f"root_owner={owner[0]}:{owner[1]}"]
    if content is not None:
        command += ["-d", str(content)]
    run_or_fail(
        [*command, target],
        f"Making an {FILESYSTEM} filesystem on {target}",
        timeout=MKFS_TIMEOUT_SECONDS,
        explained={
            text: "the image's files don't fit: give the volume more space"
            for text in ("Could not allocate block", "No space left")
        },
    )
