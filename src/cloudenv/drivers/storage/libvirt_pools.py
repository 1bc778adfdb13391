"""The storage driver on libvirt: directory pools, one file per volume.

libvirt defines, starts and lists pools and creates, resizes and deletes volumes;
copies of images (clone, upload) are written by this process into the pool's
directory (``qemu-img convert``, or the uploaded bytes) under a hidden temporary name,
published with a hard link that never overwrites, and then announced to libvirt by a
pool refresh. Nobody but root reads a pool: directories are 0711 (QEMU's user may pass
through to a file it was given, never list), files 0600 root's; libvirt's DAC driver
(``dynamic_ownership``) chowns a disk to QEMU's user while a domain uses it and back after.
A pool directory QEMU's user could not reach is refused before it is defined.

It must not decide names, sizes or where pools live: the agent passes them in. Other
pool types (iSCSI, LVM, ...) are refused with ``Unsupported``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import libvirt

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.errors import Conflict, DriverError, InvalidInput, NotFound, Unsupported
from cloudenv.drivers.libvirt_errors import libvirt_failure as _failing
from cloudenv.drivers.storage.base import (
    PoolSpec,
    PoolType,
    PoolUsage,
    ProgressCallback,
    VolumeInfo,
    check_volume_name,
)
from cloudenv.drivers.storage.libvirt_xml import DirPool, Volume
from cloudenv.host.reach import blocking_directory, qemu_account

POOL_MODE = 0o711  # QEMU's user passes through to the disks it was given; nobody lists
FILE_MODE = 0o600  # libvirt chowns a disk to QEMU's user while a domain uses it
_PROGRESS = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")


BUSY_RETRIES = 100  # x 0.05 s: another process (virsh, a second daemon) holding the pool


def _refresh(pool_obj: Any) -> None:
    """Refresh, waiting out another process's asynchronous job on the pool."""
    for attempt in range(BUSY_RETRIES):
        try:
            pool_obj.refresh(0)
            return
        except libvirt.libvirtError as err:
            if "asynchronous jobs" not in str(err) or attempt == BUSY_RETRIES - 1:
                raise
            time.sleep(0.05)


def _disk_format(probed: str) -> DiskFormat:
    """libvirt's probed format as ours; ISO and unknown contents count as raw."""
    return DiskFormat(probed) if probed in {f.value for f in DiskFormat} else DiskFormat.RAW


def _volume_info(vol: Any) -> VolumeInfo:
    parsed = Volume.from_xml(vol.XMLDesc(0))
    return VolumeInfo(
        name=parsed.name,
        path=parsed.path or str(vol.path()),
        capacity_bytes=parsed.capacity_bytes,
        allocation_bytes=parsed.allocation_bytes or 0,
        format=_disk_format(parsed.format),
    )


def _qemu_img(args: list[str], context: str) -> str:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DriverError(f"{context}: {done.stderr.strip()}")
    return done.stdout


_QCOW2_MAGIC = b"QFI\xfb"
_VMDK_MAGIC = b"KDMV"
_QCOW2_DATA_FILE = 1 << 2  # qcow2 v3 incompatible feature: guest data in an external file


def _probe(path: str) -> tuple[DiskFormat, bool]:
    """The format of an image file told from its header (never by asking qemu-img to
    guess), and whether that header says its data lives in another file (qcow2 v3 with an
    external data file). Anything that is neither qcow2 nor a sparse VMDK counts as raw."""
    with open(path, "rb") as handle:
        header = handle.read(80)
    if header.startswith(_QCOW2_MAGIC):
        version = int.from_bytes(header[4:8], "big")
        features = int.from_bytes(header[72:80], "big") if version >= 3 else 0
        return DiskFormat.QCOW2, bool(features & _QCOW2_DATA_FILE)
    if header.startswith(_VMDK_MAGIC):
        return DiskFormat.VMDK, False
    return DiskFormat.RAW, False


def _other_files(info: Any, path: str) -> bool:
    """Whether ``qemu-img info`` JSON names a file other than the image: a backing file,
    an external data file, or an extent elsewhere (anywhere in the structure)."""
    if isinstance(info, list):
        return any(_other_files(item, path) for item in info)
    if not isinstance(info, dict):
        return False
    for key, value in info.items():
        if key in ("backing-filename", "full-backing-filename", "data-file") and value:
            return True
        if key == "extents" and isinstance(value, list):
            names = {e.get("filename") for e in value if isinstance(e, dict)}
            if names - {path, None}:
                return True
        if isinstance(value, dict | list) and _other_files(value, path):
            return True
    return False


def image_info(
    path: str, field: str = "source_path", label: str = "", fmt: DiskFormat | None = None
) -> dict[str, Any]:
    """``qemu-img info`` of an image file, run with its format given explicitly (``fmt``,
    or as told from its header): qemu-img never guesses. Missing: NotFound; an image that
    refers to another file (a backing file, an external data file): InvalidInput (says
    ``label``), refused before qemu-img opens it."""
    if not os.path.isfile(path):
        raise NotFound(f"Image file {path} does not exist on this node.")
    probed, data_file = _probe(path)
    refusal = InvalidInput(
        f"{label or 'Image ' + path} refers to another file (a backing file or an external "
        "data file), which is not allowed; flatten it into one self-contained image first.",
        field=field,
    )
    if data_file:
        raise refusal
    wanted = fmt or probed
    out = _qemu_img(
        ["info", "-f", wanted.value, "--output=json", path], f"Failed reading image {path}"
    )
    info: dict[str, Any] = json.loads(out)
    if _other_files(info, path):
        raise refusal
    return info


def _convert(args: list[str], total: int, progress: ProgressCallback | None, context: str) -> None:
    """``qemu-img convert -p ARGS``, reporting progress (of ``total`` bytes) as it prints it."""
    command = ["qemu-img", "convert", "-p", *args]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        assert proc.stdout is not None
        fd, output = proc.stdout.fileno(), b""
        for data in iter(lambda: os.read(fd, 4096), b""):
            output = (output + data)[-8192:]
            marks = _PROGRESS.findall(data)
            if progress is not None and marks:
                progress(int(float(marks[-1]) * total / 100), total)
    if proc.returncode != 0:
        text = _PROGRESS.sub(b"", output).decode(errors="replace").strip()
        raise DriverError(f"{context}: qemu-img convert: {text}")


def _listable(directory: str) -> bool:
    """Whether anyone but the owner may list the directory (pools made before modes were
    tightened were 0755 with 0644 files). Missing: False."""
    try:
        return bool(os.stat(directory).st_mode & 0o044)
    except FileNotFoundError:
        return False


def _tighten(directory: str) -> None:
    """Close a pool that was open: the directory to POOL_MODE, its files to FILE_MODE."""
    os.chmod(directory, POOL_MODE)
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
                if mode & 0o077:
                    os.chmod(entry.path, FILE_MODE)


class LibvirtStorageDriver:
    """StorageDriver for libvirt directory pools (``<pool type='dir'>``).

    Keeps one connection from ``connect`` (default ``qemu:///system``) and opens a new
    one when it died. Silences libvirt's default error printer (process-wide): errors
    arrive as exceptions with context instead.
    """

    def __init__(self, connect: Callable[[], libvirt.virConnect] | None = None) -> None:
        self._connect = connect or (lambda: libvirt.open("qemu:///system"))
        self._conn: Any = None
        self._lock = threading.Lock()
        self._pool_locks: dict[str, threading.RLock] = {}
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

    def _serialized(self, pool: str) -> threading.RLock:
        """One lock per pool: libvirt refuses refreshes and lookups of a pool while one of
        its volumes is being created ("pool has asynchronous jobs running"), so this node's
        own calls on a pool take turns. File copies happen outside it."""
        with self._lock:
            return self._pool_locks.setdefault(pool, threading.RLock())

    def _connection(self) -> Any:
        with self._lock:
            with contextlib.suppress(libvirt.libvirtError):
                if self._conn is not None and self._conn.isAlive() == 1:
                    return self._conn
            with _failing("Failed connecting to libvirt"):
                self._conn = self._connect()
            return self._conn

    def _find_pool(self, name: str) -> Any | None:
        with _failing(f"Failed looking up pool {name}"):
            try:
                return self._connection().storagePoolLookupByName(name)
            except libvirt.libvirtError as err:
                if err.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_POOL:
                    raise
        return None

    def _pool(self, name: str, running: bool = True) -> Any:
        pool = self._find_pool(name)
        if pool is None:
            raise NotFound(f"Storage pool {name} is not defined on this node; ensure it first.")
        if running and not pool.isActive():
            raise Conflict(f"Storage pool {name} is not running; ensure it to start it.")
        return pool

    def ensure_pool(self, spec: PoolSpec) -> PoolUsage:
        """Post-condition: the pool is defined, its directory exists (0711, files 0600),
        it runs and starts with libvirtd. Already running: only returns the usage. A pool
        of that name elsewhere or of another type: Conflict; a directory on the way that
        QEMU's user can't pass: InvalidInput naming it; nothing changed either way. On
        failure a pool defined by this call is undefined again (a directory made for it
        stays, empty).
        """
        if spec.type is not PoolType.DIRECTORY:
            raise Unsupported(
                f"Storage pool {spec.name}: {spec.type.name.lower()} pools are not supported "
                "yet (only directory pools); the other types come with the storage issue."
            )
        wanted = DirPool(name=spec.name, path=os.path.normpath(spec.path), mode=POOL_MODE)
        blocked = blocking_directory(Path(wanted.path), qemu_account())
        if blocked is not None:
            raise InvalidInput(
                f"Storage pool {spec.name}: {blocked.describe()}; {blocked.fix} or choose "
                "another pool path.",
                field="path",
            )
        was_open = _listable(wanted.path)  # before libvirt's build sets the directory's mode
        pool = self._find_pool(spec.name)
        defined_here = pool is None
        with _failing(f"Failed starting pool {spec.name} at {wanted.path}"):
            if pool is None:
                pool = self._connection().storagePoolDefineXML(wanted.to_xml(), 0)
            else:
                self._refuse_foreign(pool, wanted)
            try:
                if not pool.isActive():
                    pool.build(0)
                    pool.create(0)
                if not pool.autostart():
                    pool.setAutostart(1)
            except libvirt.libvirtError:
                if defined_here:
                    with contextlib.suppress(libvirt.libvirtError):
                        pool.undefine()
                raise
        if was_open:
            _tighten(wanted.path)
        return self.pool_usage(spec.name)

    @staticmethod
    def _refuse_foreign(pool: Any, wanted: DirPool) -> None:
        have = DirPool.from_xml(pool.XMLDesc(0))
        if have.pool_type != "dir" or os.path.normpath(have.path) != wanted.path:
            raise Conflict(
                f"Storage pool {wanted.name} already exists at {have.path} (type "
                f"{have.pool_type}), not as a directory pool at {wanted.path}; remove it "
                "first or choose another pool."
            )

    def pool_usage(self, pool: str) -> PoolUsage:
        """Capacity, allocation and free space of the filesystem, as of a fresh refresh."""
        found = self._pool(pool, running=False)
        with self._serialized(pool), _failing(f"Failed reading usage of pool {pool}"):
            active = bool(found.isActive())
            if active:
                _refresh(found)
            _state, capacity, allocation, available = found.info()
        return PoolUsage(int(capacity), int(allocation), int(available), active)

    def remove_pool(self, pool: str) -> None:
        """Post-condition: no pool of that name (stopped, undefined); files stay. Missing:
        no error."""
        found = self._find_pool(pool)
        if found is None:
            return
        with _failing(f"Failed removing pool {pool}"):
            if found.isActive():
                found.destroy()
            found.undefine()

    @staticmethod
    def _find_volume(pool_obj: Any, pool: str, name: str) -> Any | None:
        """The volume, refreshing the pool once when libvirt's list may be stale."""
        with _failing(f"Failed looking up volume {name} in pool {pool}"):
            for attempt in range(2):
                try:
                    return pool_obj.storageVolLookupByName(name)
                except libvirt.libvirtError as err:
                    if err.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                        raise
                if attempt == 0:
                    _refresh(pool_obj)
        return None

    def _free_name(self, pool_obj: Any, pool: str, name: str) -> str:
        """The path a new volume gets; InvalidInput for a name that is no plain file name,
        Conflict when it is taken."""
        check_volume_name(name)
        final = os.path.join(DirPool.from_xml(pool_obj.XMLDesc(0)).path, name)
        if os.path.lexists(final) or self._find_volume(pool_obj, pool, name) is not None:
            raise Conflict(
                f"Volume {name} already exists in pool {pool}; delete it first or use another name."
            )
        return final

    def _new_file(self, pool: str, name: str, write: Callable[[str], None]) -> VolumeInfo:
        """A volume whose file ``write`` fills (given a hidden temporary path whose name
        does not grow with the volume's): published under its name with mode 0600 (a hard
        link, never replacing a file), then announced to libvirt by a refresh. On any
        failure nothing of it is left in the pool."""
        pool_obj = self._pool(pool)
        final = self._free_name(pool_obj, pool, name)
        fd, temporary = tempfile.mkstemp(prefix=".partial-", dir=os.path.dirname(final))
        os.close(fd)
        try:
            write(temporary)
            os.chmod(temporary, FILE_MODE)
            try:
                os.link(temporary, final)
            except FileExistsError:
                raise Conflict(f"Volume {name} appeared in pool {pool} meanwhile.") from None
        finally:
            Path(temporary).unlink(missing_ok=True)
        try:
            with (
                self._serialized(pool),
                _failing(f"Failed refreshing pool {pool} after writing volume {name}"),
            ):
                _refresh(pool_obj)
                return _volume_info(pool_obj.storageVolLookupByName(name))
        except BaseException:
            Path(final).unlink(missing_ok=True)
            raise

    def create_volume(
        self, pool: str, name: str, capacity_bytes: int, fmt: DiskFormat
    ) -> VolumeInfo:
        """Post-condition: an empty volume of that size and format, mode 0600 (qcow2 and
        sparse raw take no space yet). Name taken: Conflict. libvirt removes its own
        partial file when creation fails."""
        pool_obj = self._pool(pool)
        with self._serialized(pool):
            self._free_name(pool_obj, pool, name)
            xml = Volume(name, capacity_bytes, fmt.value, allocation_bytes=0, mode=FILE_MODE)
            with _failing(f"Failed creating volume {name} in pool {pool}"):
                return _volume_info(pool_obj.createXML(xml.to_xml(), 0))

    def clone_volume(
        self,
        pool: str,
        name: str,
        source_path: str,
        fmt: DiskFormat,
        capacity_bytes: int | None,
        progress: ProgressCallback | None = None,
    ) -> VolumeInfo:
        """Post-condition: a new volume holding the image at ``source_path`` converted to
        ``fmt`` and grown to ``capacity_bytes`` (never below the image's virtual size:
        InvalidInput). Images with a backing file are refused. Progress is reported in
        bytes of the source's virtual size. On failure the partial file is removed."""
        source = image_info(source_path)
        virtual = int(source["virtual-size"])
        if capacity_bytes is not None and capacity_bytes < virtual:
            raise InvalidInput(
                f"Volume {name} can't be {capacity_bytes} bytes: image {source_path} needs "
                f"{virtual} bytes; ask for at least that much.",
                field="capacity_bytes",
            )
        context = f"Failed cloning {source_path} into volume {name} in pool {pool}"

        def write(temporary: str) -> None:
            args = ["-f", source["format"], "-O", fmt.value, source_path, temporary]
            _convert(args, virtual, progress, context)
            if capacity_bytes is not None and capacity_bytes > virtual:
                _qemu_img(["resize", "-f", fmt.value, temporary, str(capacity_bytes)], context)

        info = self._new_file(pool, name, write)
        if progress is not None:
            progress(virtual, virtual)
        return info

    def upload_volume(
        self,
        pool: str,
        name: str,
        chunks: Iterable[bytes],
        size: int,
        fmt: DiskFormat,
        progress: ProgressCallback | None = None,
    ) -> VolumeInfo:
        """Post-condition: a new volume holding exactly the ``size`` bytes streamed, whose
        contents are an image of ``fmt`` without a backing file. A shorter or longer
        stream, or other contents: InvalidInput, and nothing is left behind."""

        def write(temporary: str) -> None:
            done = 0
            with open(temporary, "wb") as out:
                for chunk in chunks:
                    done += len(chunk)
                    if done > size:
                        break
                    out.write(chunk)
                    if progress is not None:
                        progress(done, size)
            if done != size:
                got = f"more than {size}" if done > size else str(done)
                raise InvalidInput(
                    f"Upload of volume {name} to pool {pool} sent {got} bytes, expected "
                    f"exactly {size}; nothing was kept, send the whole file again.",
                    field="size",
                )
            probed = image_info(temporary, "fmt", f"Upload of volume {name}")
            found = _disk_format(str(probed.get("format")))
            if found is not fmt:
                raise InvalidInput(
                    f"Upload of volume {name} is a {found.value} image, not a {fmt.value} "
                    "image; upload it with its real format.",
                    field="fmt",
                )

        return self._new_file(pool, name, write)

    def volume_info(self, pool: str, name: str) -> VolumeInfo | None:
        pool_obj = self._pool(pool)
        with self._serialized(pool):
            vol = self._find_volume(pool_obj, pool, name)
            with _failing(f"Failed reading volume {name} in pool {pool}"):
                return None if vol is None else _volume_info(vol)

    def list_volumes(self, pool: str) -> list[VolumeInfo]:
        """All volumes, sorted by name, after a refresh (files written meanwhile count)."""
        pool_obj = self._pool(pool)
        with self._serialized(pool), _failing(f"Failed listing volumes of pool {pool}"):
            _refresh(pool_obj)
            volumes = [_volume_info(vol) for vol in pool_obj.listAllVolumes(0)]
        return sorted((v for v in volumes if not v.name.startswith(".")), key=lambda v: v.name)

    def resize_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Post-condition: the volume is at least ``capacity_bytes`` (grow only; the same
        size is a no-op; smaller: InvalidInput). Offline resize: a running domain's disk
        is grown through the compute driver instead."""
        pool_obj = self._pool(pool)
        with self._serialized(pool):
            return self._resize(pool_obj, pool, name, capacity_bytes)

    def _resize(self, pool_obj: Any, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        vol = self._find_volume(pool_obj, pool, name)
        if vol is None:
            raise NotFound(f"Volume {name} does not exist in pool {pool}.")
        current = _volume_info(vol)
        if capacity_bytes < current.capacity_bytes:
            raise InvalidInput(
                f"Volume {name} is {current.capacity_bytes} bytes and can only grow; "
                f"{capacity_bytes} bytes would shrink it. Ask for at least its current size.",
                field="capacity_bytes",
            )
        if capacity_bytes == current.capacity_bytes:
            return current
        with _failing(f"Failed resizing volume {name} in pool {pool}"):
            vol.resize(capacity_bytes, 0)
            return _volume_info(vol)

    def delete_volume(self, pool: str, name: str) -> None:
        """Post-condition: the volume and its file are gone. Missing: no error."""
        pool_obj = self._pool(pool)
        with self._serialized(pool):
            vol = self._find_volume(pool_obj, pool, name)
            with _failing(f"Failed deleting volume {name} in pool {pool}"):
                if vol is not None:
                    vol.delete(0)


__all__ = ["FILE_MODE", "POOL_MODE", "LibvirtStorageDriver", "image_info"]
