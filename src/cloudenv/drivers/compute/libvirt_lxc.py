"""The container compute driver: system containers through libvirt's LXC driver
(``lxc:///system``), behind the same ``ComputeDriver`` interface as the VMs.

Why libvirt's LXC driver rather than liblxc: one API with the VMs (the same lifecycle
events, NIC hot-plug onto Open vSwitch with ``<virtualport>``, console streams) from the
project's own Python (python3-lxc exists only for Debian's system interpreter), and its
FUSE-backed /proc/meminfo shows a container its memory limit where lxcfs could not on
this kind of host (RUNTIME.md §6a, item 9).

What differs from QEMU, and how it is handled here:

- no bulk stats (``virConnectGetAllDomainStats`` is not implemented for LXC): a sampling
  pass lists the running containers and reads each (CPU time and memory from
  ``virDomainGetInfo``/``memoryStats``, traffic from each veth's ``interfaceStats``);
- ``openConsole`` takes no flags (no FORCE) and does not lock the pty: two readers would
  each get part of the output. So this driver lets one console per container be open on
  the node and refuses a second (Conflict) until the first closes. The daemon serves the
  API from several worker processes, so the viewer holds an exclusive ``flock`` on a file
  named after the container (``CONSOLE_LOCK_DIR``); the kernel drops it when the viewer
  closes it or its process dies, so a crashed worker can't keep a console taken;
- ``undefineFlags`` takes no flags (no NVRAM, no snapshots);
- ``shutdown`` asks the container's init (libvirt: /dev/initctl, else SIGTERM to PID 1);
  an init that ignores both (busybox treats SIGTERM as "reboot") keeps running, and the
  caller falls back to ``destroy`` after its timeout;
- no disks, snapshots, VNC or live disk resize: those verbs raise ``Unsupported`` saying
  so; mount points are ``<filesystem>`` in the definition (``ContainerSpec.mounts``),
  applied when the container starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import threading
from pathlib import Path
from typing import Any

import libvirt

from cloudenv.drivers.compute.base import (
    ArchCapabilities,
    ConsoleStream,
    DiskSpec,
    DomainSpec,
    DomainStats,
    IdMapping,
    MountKind,
    SnapshotInfo,
    VncEndpoint,
)
from cloudenv.drivers.compute.container_designer import LXC_EMULATOR, container_xml
from cloudenv.drivers.compute.container_mounts import HOSTNAME_KEY, ROOT, HostMounts
from cloudenv.drivers.compute.libvirt_domains import LibvirtDomains
from cloudenv.drivers.compute.libvirt_xml import Domain
from cloudenv.drivers.errors import Conflict, DriverError, Unsupported
from cloudenv.drivers.images.hostname import write_hostname
from cloudenv.drivers.libvirt_errors import error_code, libvirt_failure

URI = "lxc:///system"
#: Where a container's console viewer holds its lock: on the node, shared by every worker
#: process of every daemon here (container names are instance IDs, unique everywhere).
CONSOLE_LOCK_DIR = Path("/run/cloudenv/container-consoles")

__all__ = ["URI", "LibvirtLxcDriver"]

#: What reading a container that stopped meanwhile fails with.
_GONE = frozenset({libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_OPERATION_INVALID})


class _OneViewer:
    """A console stream that frees its container's console slot when closed."""

    def __init__(self, stream: ConsoleStream, release: Any) -> None:
        self._stream = stream
        self._release = release
        self._closed = False

    def recv(self, max_bytes: int = 4096) -> bytes:
        return self._stream.recv(max_bytes)

    def send(self, data: bytes) -> None:
        self._stream.send(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.close()
        finally:
            self._release()


def _hand_over(directory: str, idmap: IdMapping) -> None:
    try:
        found = os.lstat(directory)
        if stat.S_ISDIR(found.st_mode) and found.st_uid == 0 and found.st_gid == 0:
            os.chown(directory, idmap.uid, idmap.gid, follow_symlinks=False)
    except OSError as exc:
        raise DriverError(
            f"Mount point source {directory} can't be prepared: {exc.strerror}."
        ) from None


class LibvirtLxcDriver(LibvirtDomains):
    """Implements ComputeDriver for containers through libvirt's LXC driver."""

    def __init__(
        self,
        uri: str = URI,
        *,
        emulator: str = LXC_EMULATOR,
        console_locks: Path = CONSOLE_LOCK_DIR,
        host_mounts: HostMounts | None = None,
    ) -> None:
        super().__init__(uri)
        self.emulator = emulator
        self.console_locks = console_locks
        self.host_mounts = host_mounts or HostMounts()
        #: Held while a container's volumes are mounted and it is started, or while it is
        #: checked stopped and they are unmounted: the agent's sync lets go of stopped
        #: containers from its own thread, and must not unmount under a start.
        self._mounting = threading.RLock()

    def capabilities(self) -> dict[str, ArchCapabilities]:
        """Containers run the host's own architecture: nothing to choose, so none listed
        (the node's capabilities come from the VM driver)."""
        return {}

    def define(self, spec: DomainSpec) -> None:
        """Also gives each directory mount point's top directory to the container's root
        when the node's root still owns it (a new directory volume), so an unprivileged
        container can write there (what is inside is left as it is), and writes its
        hostname into its /etc/hostname (``drivers.images.hostname``: no link followed).
        Filesystem volumes become directories the node mounts at each start
        (``container_mounts``); a stopped container's leftover mounts are let go."""
        planned = self.host_mounts.plan(spec)
        xml = container_xml(planned.spec, emulator=self.emulator)  # refusals before libvirt
        container = spec.container
        if container is not None and container.idmap is not None:
            for mount in container.mounts:
                if mount.kind is MountKind.DIRECTORY:
                    _hand_over(mount.source, container.idmap)
        # A root filesystem volume gets its hostname once mounted, at start.
        if (
            container is not None
            and container.hostname
            and container.rootfs_kind is MountKind.DIRECTORY
        ):
            mapping = container.idmap
            write_hostname(
                container.rootfs,
                container.hostname,
                uid=0 if mapping is None else mapping.uid,
                gid=0 if mapping is None else mapping.gid,
            )
        self.release(spec.name)
        with libvirt_failure(f"Failed defining container {spec.name}"):
            self._connection().defineXML(xml)

    def start(self, name: str) -> None:
        """Mounts the container's filesystem volumes first (and writes its hostname into a
        root filesystem volume); if it does not start, they are unmounted again."""
        with self._mounting:
            domain = self._domain(name)
            with libvirt_failure(f"Failed reading container {name}"):
                if domain.isActive():
                    return
                defined = Domain.from_xml(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            metadata = defined.metadata.as_dict() if defined.metadata is not None else {}
            table = self.host_mounts.table_of(metadata)
            self.host_mounts.mount_all(name, table)
            try:
                root = str(self.host_mounts.base / name / ROOT)
                hostname = metadata.get(HOSTNAME_KEY)
                if root in table and hostname:
                    shift = defined.idmap
                    uid = shift.uids[0].target if shift is not None and shift.uids else 0
                    gid = shift.gids[0].target if shift is not None and shift.gids else 0
                    write_hostname(root, hostname, uid=uid, gid=gid)
                super().start(name)
            except BaseException:
                with contextlib.suppress(DriverError):
                    self.release(name)
                raise

    def destroy(self, name: str) -> None:
        super().destroy(name)
        self.release(name)

    def undefine(self, name: str) -> None:
        super().undefine(name)  # Conflict while it runs
        self.host_mounts.unmount_all(name)

    def release(self, name: str) -> None:
        """Unmounts the container's filesystem volumes once it is not running."""
        if not self.host_mounts.holds(name):
            return  # the usual case, asked of every stopped container at each sync
        with self._mounting:
            domain = self._maybe(name)
            if domain is not None:
                with libvirt_failure(f"Failed reading container {name}"):
                    if domain.isActive():
                        return
            self.host_mounts.unmount_all(name)

    def shutdown(self, name: str) -> None:
        domain = self._maybe(name)
        if domain is None:
            return
        with libvirt_failure(f"Failed asking container {name} to shut down"):
            if domain.isActive():
                domain.shutdownFlags(0)  # libvirt: initctl if the init has it, else SIGTERM

    def reboot(self, name: str) -> None:
        domain = self._domain(name)
        with libvirt_failure(f"Failed restarting container {name}"):
            domain.reboot(0)

    # Stats ------------------------------------------------------------------------------

    def stats(self, name: str) -> DomainStats:
        domain = self._domain(name)
        with libvirt_failure(f"Failed reading stats of {name}"):
            return self._read_stats(domain)

    def bulk_stats(self) -> dict[str, DomainStats]:
        """One listing, then each running container's counters (LXC has no bulk call)."""
        connection = self._connection()
        with libvirt_failure("Failed listing the containers"):
            running = connection.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        found: dict[str, DomainStats] = {}
        for domain in running:
            try:
                found[domain.name()] = self._read_stats(domain)
            except libvirt.libvirtError as exc:
                if error_code(exc) in _GONE:
                    continue  # stopped meanwhile: simply absent
                raise DriverError(f"Failed reading stats of {domain.name()}: {exc}") from None
        return found

    def _read_stats(self, domain: libvirt.virDomain) -> DomainStats:
        _state, max_kib, _mem, vcpus, cpu_ns = domain.info()
        used: int | None = None
        interfaces: dict[str, tuple[int, int]] = {}
        if domain.isActive():
            with contextlib.suppress(libvirt.libvirtError):
                used = int(domain.memoryStats().get("rss", 0)) or None
            live = Domain.from_xml(domain.XMLDesc(0))
            for nic in live.devices.interfaces:
                if nic.target is None:
                    continue
                with contextlib.suppress(libvirt.libvirtError):
                    # (rx bytes, rx packets, rx errs, rx drop, tx bytes, ...), host side of
                    # the veth: what it receives the container sent, and the other way round
                    counters = domain.interfaceStats(nic.target)
                    interfaces[nic.target] = (int(counters[0]), int(counters[4]))
        return DomainStats(
            cpu_time_ns=int(cpu_ns),
            vcpus=int(vcpus),
            memory_kib=int(max_kib),
            memory_used_kib=used,
            interfaces=interfaces,
        )

    # Consoles ---------------------------------------------------------------------------

    def open_serial_console(self, name: str) -> ConsoleStream:
        """The container's console, one viewer at a time on this node, whichever worker
        process serves it (see the module's docstring)."""
        self.console_locks.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(
            self.console_locks / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Conflict(
                f"The console of container {name} is already open in another window; "
                "close that one first (a container's console has one viewer at a time)."
            ) from None
        try:
            stream = super().open_serial_console(name)
        except BaseException:
            os.close(fd)  # releases the lock
            raise
        return _OneViewer(stream, lambda: os.close(fd))

    def serial_history(self, name: str, max_bytes: int) -> bytes:
        """Nothing: libvirt keeps no log of a container's console (its LXC log holds the
        controller's messages), so a console shows what comes after it opened."""
        return b""

    # What containers can't do -------------------------------------------------------------

    def _unsupported(self, what: str, name: str) -> Unsupported:
        return Unsupported(f"Container {name}: {what} is not available for containers.")

    def attach_disk(self, name: str, disk: DiskSpec, *, live: bool) -> None:
        raise self._unsupported(f"a block disk ({disk.target})", name)

    def detach_disk(self, name: str, target: str, *, live: bool) -> None:
        raise self._unsupported(f"a block disk ({target})", name)

    def resize_disk(self, name: str, target: str, capacity_bytes: int) -> None:
        raise self._unsupported("resizing a disk live", name)

    def snapshot_create(self, name: str, snapshot: str, description: str) -> None:
        raise self._unsupported("a snapshot", name)

    def snapshot_list(self, name: str) -> list[SnapshotInfo]:
        return []

    def snapshot_revert(self, name: str, snapshot: str) -> None:
        raise self._unsupported("reverting to a snapshot", name)

    def snapshot_delete(self, name: str, snapshot: str) -> None:
        raise self._unsupported("a snapshot", name)

    def vnc_endpoint(self, name: str) -> VncEndpoint | None:
        return None  # a container has no screen; its console is the serial one
