"""Filesystem volumes of containers, mounted on the node while their container runs.

A container whose root or mount point is a volume holding a filesystem (a raw file of a
directory pool, a logical volume, a zvol) can't have libvirt mount it: libvirt's LXC
driver mounts such a ``<filesystem type='file'|'block'>`` from inside the container's
user namespace, where an unprivileged container may not mount a block filesystem. So the
node mounts each one at ``<base>/<container>/<volume>`` before the container starts (as
LXD and Proxmox's ``pct`` do), the definition bind-mounts that directory like any other,
and the node unmounts it once the container is stopped.

Which volume goes where is kept in the domain's own metadata (``mount:<directory>`` →
the volume's file or device), written with the definition, so a start after a restart of
the daemon or of the node mounts the same volumes.

``<base>`` must be a mount point libvirtd sees. Where libvirtd runs in a mount namespace
of its own (``scripts/start-libvirt.sh`` on hosts without systemd), the script makes
``<base>`` a shared mount before starting it as the namespace's slave, so mounts made
here reach it; ``check_visible`` says what to do where they don't.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from cloudenv.drivers.commands import run_or_fail
from cloudenv.drivers.compute.base import DomainSpec, MountKind, MountSpec
from cloudenv.errors import DriverError

__all__ = ["HOSTNAME_KEY", "MOUNT_DIR", "ROOT", "HostMounts", "MountTable"]

MOUNT_DIR = Path("/run/cloudenv/mounts")
#: The metadata keys of the table: ``mount:<directory>`` = the volume's path.
KEY_PREFIX = "mount:"
#: The hostname to write into a root filesystem volume once it is mounted.
HOSTNAME_KEY = "container-hostname"
ROOT = "root"
#: The filesystems a volume may hold; mount tries them in turn (no probing of others).
FILESYSTEM_TYPES = "ext4,ext3,ext2,xfs,btrfs"
#: nodev: a container's device nodes are libvirt's, never ones read off a volume.
MOUNT_OPTIONS = "nodev"
MOUNT_TIMEOUT_SECONDS = 120
LIBVIRTD_PIDFILE = Path("/run/libvirtd.pid")

#: Mount directory -> the volume's file or device mounted there.
MountTable = dict[str, str]


@dataclass(frozen=True)
class Planned:
    """A container's spec with its filesystem volumes replaced by their mount
    directories, and the table saying what to mount there."""

    spec: DomainSpec
    table: MountTable


class HostMounts:
    """Mounts and unmounts containers' filesystem volumes under ``base``."""

    def __init__(self, base: Path = MOUNT_DIR, *, libvirtd_pidfile: Path = LIBVIRTD_PIDFILE):
        self.base = base
        self.libvirtd_pidfile = libvirtd_pidfile

    # The definition ------------------------------------------------------------------------

    def plan(self, spec: DomainSpec) -> Planned:
        """``spec`` as libvirt gets it: every FILESYSTEM mount (the root too) becomes a
        DIRECTORY mount of its directory here; the table goes into the metadata."""
        container = spec.container
        if container is None:
            return Planned(spec, {})
        table: MountTable = {}

        def on_node(mount: MountSpec, leaf: str) -> MountSpec:
            if mount.kind is not MountKind.FILESYSTEM:
                return mount
            directory = str(self.base / spec.name / leaf)
            table[directory] = mount.source
            return replace(mount, source=directory, kind=MountKind.DIRECTORY)

        whole = MountSpec(source=container.rootfs, target="/", kind=container.rootfs_kind)
        root = on_node(whole, ROOT)
        mounts = tuple(on_node(m, _leaf(m.source)) for m in container.mounts)
        if not table:
            return Planned(spec, {})
        metadata = {k: v for k, v in spec.metadata.items() if not k.startswith(KEY_PREFIX)}
        metadata.update({KEY_PREFIX + d: source for d, source in table.items()})
        if root.source in table and container.hostname:
            metadata[HOSTNAME_KEY] = container.hostname
        changed = replace(container, rootfs=root.source, rootfs_kind=root.kind, mounts=mounts)
        return Planned(replace(spec, container=changed, metadata=metadata), table)

    @staticmethod
    def table_of(metadata: dict[str, str]) -> MountTable:
        """The table a definition's metadata holds."""
        return {
            k.removeprefix(KEY_PREFIX): v for k, v in metadata.items() if k.startswith(KEY_PREFIX)
        }

    # Mounting ------------------------------------------------------------------------------

    def mount_all(self, name: str, table: MountTable) -> None:
        """Post-condition: exactly the table's volumes are mounted under this container's
        directory, each freshly (a mount left from before is unmounted first). On failure
        nothing of the container is mounted."""
        self.unmount_all(name)
        if not table:
            return
        self._prepare(name)
        try:
            for directory, source in table.items():
                self._mount(source, directory)
            # One mount seen by libvirtd is all seen: they share the base's propagation.
            self.check_visible(next(iter(table)))
        except BaseException:
            self.unmount_all(name)
            raise

    def unmount_all(self, name: str) -> None:
        """Unmount this container's volumes and remove their directories; a directory that
        won't unmount: DriverError."""
        if not self.holds(name):
            return
        home = self.base / name
        for entry in sorted(home.iterdir()):
            directory = str(entry)
            if os.path.ismount(directory):
                run_or_fail(
                    ["umount", directory], f"Unmounting {directory}", timeout=MOUNT_TIMEOUT_SECONDS
                )
            with contextlib.suppress(OSError):
                entry.rmdir()
        with contextlib.suppress(OSError):
            home.rmdir()

    def holds(self, name: str) -> bool:
        """Whether anything of this container may be mounted here (its directory exists)."""
        return (self.base / name).is_dir()

    def check_visible(self, directory: str) -> None:
        """A mount libvirtd can't see would leave the container an empty directory as its
        root: refuse to start instead (DriverError saying how to fix it)."""
        try:
            pid = int(self.libvirtd_pidfile.read_text().strip())
        except (OSError, ValueError):
            return  # no pidfile: libvirtd shares this process's namespace (a service)
        seen_by_libvirtd = f"/proc/{pid}/root{directory}"
        try:
            ours, theirs = os.stat(directory), os.stat(seen_by_libvirtd)
        except OSError:
            return  # libvirtd is not running, or not this one: starting will say so
        if (ours.st_dev, ours.st_ino) != (theirs.st_dev, theirs.st_ino):
            raise DriverError(
                f"libvirtd can't see the filesystems this node mounts for containers under "
                f"{self.base}: it runs in a mount namespace that doesn't receive them. "
                "Restart it with scripts/start-libvirt.sh (which shares that directory "
                "with it), then start the container again."
            )

    def _prepare(self, name: str) -> None:
        self.base.mkdir(mode=0o711, parents=True, exist_ok=True)
        home = self.base / name
        home.mkdir(mode=0o711, exist_ok=True)

    def _mount(self, source: str, directory: str) -> None:
        try:
            found = os.stat(source)
        except OSError as exc:
            raise DriverError(f"Volume {source} can't be mounted: {exc.strerror}.") from None
        options = MOUNT_OPTIONS
        if stat.S_ISREG(found.st_mode):
            options += ",loop"
        elif not stat.S_ISBLK(found.st_mode):
            raise DriverError(f"Volume {source} is neither a file nor a block device.")
        os.mkdir(directory, 0o711)
        run_or_fail(
            ["mount", "-t", FILESYSTEM_TYPES, "-o", options, "--", source, directory],
            f"Mounting volume {source}",
            timeout=MOUNT_TIMEOUT_SECONDS,
        )


def _leaf(source: str) -> str:
    """A mount directory's name: the volume's file or device name (a volume ID)."""
    name = os.path.basename(source.rstrip("/"))
    if name in ("", ".", "..", ROOT):
        return "volume-" + hashlib.sha256(source.encode()).hexdigest()[:12]
    return name
