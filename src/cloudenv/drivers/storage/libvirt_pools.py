"""The storage driver on libvirt: pools of every type, and their volumes.

``ensure_pool`` turns a ``PoolSpec`` into a libvirt pool as ``pool_design`` decides (dir,
netfs, iscsi-direct or iscsi, logical, rbd, zfs), after asking ``node_probe`` what this node
lacks for it: a missing backend, tool, volume group or zpool is refused with a message that
names it, before anything is defined. CHAP passwords and Ceph keys go into private libvirt
secrets, a CIFS share's user name and password into a credentials file only root reads
(never into the pool's XML or a message). Whatever a failed ``ensure_pool`` defined or
wrote is undefined or removed again.

Directory and netfs pools hold one file per volume: libvirt creates, resizes and deletes
them; copies of images (clone, upload) are written by this process into the pool's
directory (``qemu-img convert``, or the uploaded bytes) under a hidden temporary name,
published with a hard link that never overwrites, and then announced to libvirt by a
pool refresh. Nobody but root reads a directory pool: directories are 0711 (QEMU's user
may pass through to a file it was given, never list), files 0600 root's; libvirt's DAC
driver (``dynamic_ownership``) chowns a disk to QEMU's user while a domain uses it and back
after. A pool directory QEMU's user could not reach is refused before it is defined.

Logical, zfs and rbd pools hold raw volumes that libvirt creates, resizes and deletes.
Copies of images into them (clone, upload) go into a volume libvirt has just created at
its final size (never below the image's virtual size): ``qemu-img convert -n`` writes the
image as raw into it (a logical volume's or zvol's device on this node; an RBD image
through the pool's monitors, the Ceph key handed to qemu-img through a pipe, never on
its command line or on disk), or an upload's bytes are written into the device (an RBD
upload lands in a temporary file first: libvirt's rbd backend has no volume upload). On
any failure the volume is deleted again. An iSCSI pool's volumes are the target's LUNs:
listed (LUNs of 0 bytes, such as tgt's controller LUN 0, are not volumes), never created,
resized or deleted here.

It must not decide names, sizes or where pools live: the agent passes them in.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libvirt

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.errors import Conflict, DriverError, InvalidInput, NotFound, Unsupported
from cloudenv.drivers.libvirt_errors import libvirt_failure as _failing
from cloudenv.drivers.storage import filesystems
from cloudenv.drivers.storage.base import (
    DEFAULT_PORTS,
    PoolSpec,
    PoolType,
    PoolUsage,
    ProgressCallback,
    VolumeInfo,
    check_volume_name,
    secret_usage_id,
)
from cloudenv.drivers.storage.libvirt_xml import (
    AnyPool,
    DirPool,
    IscsiDirectPool,
    IscsiPool,
    NetfsPool,
    RbdPool,
    Volume,
    parse_pool,
    pool_type_of,
)
from cloudenv.drivers.storage.node_probe import NodeProbe, supported_backends
from cloudenv.drivers.storage.pool_design import (
    CREDENTIALS_DIR,
    CREDENTIALS_DIR_MODE,
    CREDENTIALS_MODE,
    POOL_MODE,
    CredentialsPlan,
    PoolDesign,
    SecretPlan,
    credentials_path,
    describe,
    design_pool,
    node_initiator,
    same_definition,
)
from cloudenv.host.reach import blocking_directory, qemu_account

FILE_KINDS = frozenset({"dir", "netfs"})  # libvirt pool types whose volumes are files
DEVICE_KINDS = frozenset({"logical", "zfs"})  # volumes are block devices of this node
LUN_KINDS = frozenset({"iscsi", "iscsi-direct"})  # volumes are a target's LUNs
_SECRET_USAGE = {
    "iscsi": libvirt.VIR_SECRET_USAGE_TYPE_ISCSI,
    "ceph": libvirt.VIR_SECRET_USAGE_TYPE_CEPH,
}
DIR_MODE = 0o755  # a directory volume: a container reaches its mount point through it
FILE_MODE = 0o600  # libvirt chowns a disk to QEMU's user while a domain uses it
_PROGRESS = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")
#: How long a new logical volume's or zvol's device node may take to appear (udev makes
#: /dev/zvol/... links after ``zfs create`` returns).
DEVICE_WAIT_SECONDS = 10.0
_KEY_ID = "cloudenv-ceph-key"  # the qemu-img secret object holding an RBD pool's key


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


def _remove_tree(path: str) -> None:
    """Remove a directory volume with everything in it; symbolic links inside are
    removed, never followed (a container's files are not trusted)."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)


def _volume_info(vol: Any) -> VolumeInfo:
    parsed = Volume.from_xml(vol.XMLDesc(0))
    return VolumeInfo(
        name=parsed.name,
        path=parsed.path or str(vol.path()),
        capacity_bytes=parsed.capacity_bytes,
        allocation_bytes=parsed.allocation_bytes or 0,
        format=_disk_format(parsed.format or "raw"),
    )


def _qemu_img(args: list[str], context: str) -> str:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DriverError(f"{context}: {done.stderr.strip()}")
    return done.stdout


_QCOW2_MAGIC = b"QFI\xfb"
_VMDK_MAGIC = b"KDMV"
_QCOW2_DATA_FILE = 1 << 2  # qcow2 v3 incompatible feature: guest data in an external file


_HEADER_BYTES = 80  # what _probe_header reads: qcow2's header up to its feature bits


def _probe(path: str) -> tuple[DiskFormat, bool]:
    """The format of an image file told from its header (never by asking qemu-img to
    guess), and whether that header says its data lives in another file."""
    with open(path, "rb") as handle:
        return _probe_header(handle.read(_HEADER_BYTES))


def _probe_header(header: bytes) -> tuple[DiskFormat, bool]:
    """The format an image's first bytes say it has, and whether they say its data lives
    in another file (qcow2 v3 with an external data file). Anything that is neither qcow2
    nor a sparse VMDK counts as raw."""
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


def _convert(
    args: list[str],
    total: int,
    progress: ProgressCallback | None,
    context: str,
    pass_fds: tuple[int, ...] = (),
) -> None:
    """``qemu-img convert -p ARGS``, reporting progress (of ``total`` bytes) as it prints it;
    ``pass_fds`` stay open in qemu-img (a pipe it reads a secret from)."""
    command = ["qemu-img", "convert", "-p", *args]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=pass_fds
    ) as proc:
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


@dataclass(frozen=True)
class _BlockTarget:
    """Where a copy into a block pool's new volume is written: ``device``, a block device
    of this node (logical volume, zvol); or an RBD image, reached by qemu-img through the
    pool's monitors (``rbd``, logged in with ``key`` when the pool has one)."""

    device: str = ""
    rbd: RbdPool | None = None
    image: str = ""
    key: bytes | None = None

    def options(self) -> str:
        """qemu-img's ``--target-image-opts`` for the RBD image (commas in values doubled,
        as QEMU's option syntax wants); the key is named, never included."""
        assert self.rbd is not None

        def value(text: str) -> str:
            return text.replace(",", ",,")

        pool = self.rbd
        parts = [
            "driver=raw",
            "file.driver=rbd",
            f"file.pool={value(pool.ceph_pool)}",
            f"file.image={value(self.image)}",
        ]
        for index, host in enumerate(pool.hosts):
            port = host.port or DEFAULT_PORTS[PoolType.RBD]
            parts += [f"file.server.{index}.host={value(host.name)}"]
            parts += [f"file.server.{index}.port={port}"]
        if pool.auth is not None:
            parts += [f"file.user={value(pool.auth.username)}", f"file.key-secret={_KEY_ID}"]
        return ",".join(parts)


def _convert_into(
    target: _BlockTarget,
    source: str,
    source_format: str,
    total: int,
    progress: ProgressCallback | None,
    context: str,
) -> None:
    """``qemu-img convert -n``: the image ``source`` (of ``source_format``, given, never
    guessed) written as raw into the existing ``target``, which is at least its virtual
    size. An RBD pool's key reaches qemu-img through a pipe it inherits (``/dev/fd/N``):
    never on a command line (other users can read those) or in a file."""
    args = ["-n", "-f", source_format]
    if target.device:
        _convert([*args, "-O", "raw", source, target.device], total, progress, context)
        return
    if target.key is None:
        _convert([*args, source, "--target-image-opts", target.options()], total, progress, context)
        return
    read_end, write_end = os.pipe()
    try:
        try:
            os.write(write_end, target.key)  # a few bytes: the pipe's buffer holds them
        finally:
            os.close(write_end)
        secret = f"secret,id={_KEY_ID},file=/dev/fd/{read_end},format=raw"
        args += ["--object", secret, source, "--target-image-opts", target.options()]
        _convert(args, total, progress, context, pass_fds=(read_end,))
    finally:
        os.close(read_end)


def _await_device(path: str, seconds: float) -> str:
    """``path`` once it exists: a new zvol's device link is made by udev after ``zfs
    create`` returns. Still missing after ``seconds``: DriverError."""
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            raise DriverError(
                f"The device {path} of the new volume did not appear within {seconds:.0f} s; "
                "check that udev runs on this node."
            )
        time.sleep(0.1)
    return path


def _receive(
    chunks: Iterable[bytes],
    out: Any,
    size: int,
    progress: ProgressCallback | None,
    what: str,
) -> bytes:
    """Write the stream into the binary file ``out``, refusing one that is not exactly
    ``size`` bytes (InvalidInput, field "size"; what came is not undone here). Returns the
    stream's first bytes (its header, to tell its format)."""
    done, head = 0, b""
    for chunk in chunks:
        done += len(chunk)
        if done > size:
            break
        out.write(chunk)
        if len(head) < _HEADER_BYTES:
            head = (head + chunk)[:_HEADER_BYTES]
        if progress is not None:
            progress(done, size)
    if done != size:
        got = f"more than {size}" if done > size else str(done)
        raise InvalidInput(
            f"{what} sent {got} bytes, expected exactly {size}; nothing was kept, send the "
            "whole file again.",
            field="size",
        )
    return head


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


def _holds(path: str, data: bytes) -> bool:
    """Whether ``path`` is a regular file of mode 0600 holding exactly ``data``."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(found.st_mode) or stat.S_IMODE(found.st_mode) != CREDENTIALS_MODE:
        return False
    return Path(path).read_bytes() == data


def _explain(spec: PoolSpec, design: PoolDesign, text: str) -> str:
    """libvirt's reason a pool did not start, said as what to check (libvirt's own words
    kept after it)."""
    pool = design.pool
    ours = ""
    if isinstance(pool, IscsiDirectPool | IscsiPool):
        portal = ", ".join(f"{h.name}:{h.port}" if h.port else h.name for h in pool.hosts)
        if "Authentication failure" in text:
            ours = (
                f"the iSCSI target refused the CHAP login of user {pool.auth.username} "
                "(check chap_username and chap_secret)"
                if pool.auth is not None
                else "the iSCSI target asks for CHAP (set chap_username and chap_secret)"
            )
        elif "Target not found" in text:
            ours = f"the portal {portal} has no target {pool.target}"
        elif "Failed to connect" in text or "connection refused" in text.lower():
            ours = f"the iSCSI portal {portal} can't be reached"
    if isinstance(pool, NetfsPool) and pool.format == "cifs" and "error(13)" in text:
        ours = (
            "the CIFS server refused the login (check config.username and the password)"
            if design.credentials is not None
            else "the CIFS server refused a guest mount (set config.username and password)"
        )
    filesystem = re.search(r"unknown filesystem type '([^']+)'", text)
    if filesystem:
        ours = (
            f"this node's kernel can't mount {filesystem.group(1)} (unknown filesystem type; "
            "load its kernel module)"
        )
    program = re.search(r"cannot execute binary (\S+): No such file", text)
    if program:
        ours = f"{program.group(1)} is missing on this node"
    if ours:
        return f"Storage pool {spec.name}: {ours} (libvirt: {text})"
    kind = design.libvirt_type
    return f"Storage pool {spec.name}: failed starting the {kind} pool {describe(pool)}: {text}"


class LibvirtStorageDriver:
    """StorageDriver for libvirt pools of every type we define.

    Keeps one connection from ``connect`` (default ``qemu:///system``) and opens a new
    one when it died. Silences libvirt's default error printer (process-wide): errors
    arrive as exceptions with context instead. ``initiator`` is the IQN this node logs
    in to iSCSI targets as when a pool names none (default: open-iscsi's, else one made
    from the host name); ``probe`` finds what the node lacks; ``credentials_dir`` is the
    directory (made 0700) holding CIFS credentials files (0600, one per pool);
    ``scratch`` is where an upload into an RBD pool waits before it is copied there, and
    where a container's root filesystem is unpacked before mke2fs fills a logical volume
    or zvol with it (default: the system's temporary directory; the daemon gives its
    data directory's ``scratch``).
    """

    def __init__(
        self,
        connect: Callable[[], libvirt.virConnect] | None = None,
        *,
        initiator: str | None = None,
        probe: NodeProbe | None = None,
        credentials_dir: str | os.PathLike[str] = CREDENTIALS_DIR,
        scratch: str | None = None,
    ) -> None:
        directory = os.fspath(credentials_dir)
        if not os.path.isabs(directory) or "," in directory:
            # Its files are named in mount's comma-separated option list.
            raise ValueError(f"credentials_dir must be absolute, without commas: {directory!r}")
        self._credentials_dir = os.path.normpath(directory)
        self._connect = connect or (lambda: libvirt.open("qemu:///system"))
        self._conn: Any = None
        self._lock = threading.Lock()
        self._pool_locks: dict[str, threading.RLock] = {}
        self._initiator = initiator or node_initiator(os.uname().nodename)
        self._probe = probe or NodeProbe()
        self._scratch = scratch
        # RBD pools' Ceph keys as ensure_pool was given them: libvirt keeps them in private
        # secrets it never reads back, and qemu-img needs them to write an image into Ceph.
        self._ceph_keys: dict[str, bytes] = {}
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

    def _backends(self) -> frozenset[str]:
        with _failing("Failed reading libvirt's storage pool capabilities"):
            return supported_backends(self._connection().getStoragePoolCapabilities(0))

    def design(self, spec: PoolSpec) -> PoolDesign:
        """The libvirt pool ``ensure_pool`` would define for ``spec`` on this node."""
        backends = self._backends()
        kernel = "iscsi" in backends and self._probe.which("iscsiadm") is not None
        direct = "iscsi-direct" in backends or not kernel
        return design_pool(
            spec,
            iscsi_direct=direct,
            initiator=self._initiator,
            credentials_dir=self._credentials_dir,
        )

    def ensure_pool(self, spec: PoolSpec) -> PoolUsage:
        """Post-condition: the pool is defined, built where its type needs it (a
        directory pool's directory 0711, files 0600; a netfs mount point), started and
        autostarted; its CHAP password or Ceph key is in a private libvirt secret, a CIFS
        share's credentials in its file (rewritten each time, so a changed password is used
        at the next mount). Already running: only that, and the usage.

        Refused, with nothing changed: a pool of that name defined otherwise (Conflict); a
        directory on the way that QEMU's user can't pass (InvalidInput); settings that
        can't work (InvalidInput naming ``config.<key>``); a backend, tool, volume group or
        zpool this node lacks (Unsupported naming each). A pool or secret this call defined,
        and the credentials file of a pool it defined, are undefined or removed again when
        starting fails (a directory made for it stays, empty);
        logical and zfs pools are never built: the group or zpool must exist.
        """
        design = self.design(spec)
        wanted = design.pool
        if isinstance(wanted, DirPool | NetfsPool):
            blocked = blocking_directory(Path(wanted.path), qemu_account())
            if blocked is not None:
                raise InvalidInput(
                    f"Storage pool {spec.name}: {blocked.describe()}; {blocked.fix} or choose "
                    "another pool path.",
                    field="path",
                )
        pool = self._find_pool(spec.name)
        if pool is not None:
            self._refuse_foreign(spec, pool, wanted)
            with _failing(f"Failed reading pool {spec.name}"):
                running = bool(pool.isActive())
            if running:
                if design.credentials is not None:
                    self._write_credentials(spec.name, design.credentials)
                with _failing(f"Failed setting pool {spec.name} to start with libvirtd"):
                    if not pool.autostart():
                        pool.setAutostart(1)
                self._remember_key(spec.name, design)
                return self.pool_usage(spec.name)
        missing = self._probe.lacking(spec, design, self._backends())
        if missing:
            raise Unsupported(f"Storage pool {spec.name}: {'; '.join(missing)}.")
        # Read before libvirt's build sets the directory's mode.
        opened = wanted.path if isinstance(wanted, DirPool) and _listable(wanted.path) else ""
        self._start(spec, design, pool)
        if opened:
            _tighten(opened)
        self._remember_key(spec.name, design)
        return self.pool_usage(spec.name)

    def _remember_key(self, pool: str, design: PoolDesign) -> None:
        if design.secret is not None and design.secret.secret.usage_type == "ceph":
            self._ceph_keys[pool] = design.secret.value

    def _start(self, spec: PoolSpec, design: PoolDesign, pool: Any | None) -> None:
        """Write the credentials file, define (when ``pool`` is None), set the secret,
        build, start, autostart; undo what this call defined when a step fails (and the
        credentials file of a pool it defined)."""
        undo: list[Callable[[], None]] = []
        try:
            if design.credentials is not None:
                self._write_credentials(spec.name, design.credentials)
                if pool is None:
                    plan = design.credentials
                    undo.append(lambda: Path(plan.path).unlink(missing_ok=True))
            if design.secret is not None:
                self._ensure_secret(spec.name, design.secret, undo)
            with _failing(f"Failed defining pool {spec.name}"):
                if pool is None:
                    pool = self._connection().storagePoolDefineXML(design.pool.to_xml(), 0)
                    undo.append(pool.undefine)
            try:
                if design.build:
                    pool.build(0)
                pool.create(0)
            except libvirt.libvirtError as err:
                text = err.get_error_message() or str(err)
                raise DriverError(_explain(spec, design, text)) from err
            with _failing(f"Failed setting pool {spec.name} to start with libvirtd"):
                if not pool.autostart():
                    pool.setAutostart(1)
        except BaseException:
            for step in reversed(undo):
                with contextlib.suppress(libvirt.libvirtError, OSError):
                    step()
            raise

    def _credentials_directory(self) -> str:
        """The credentials directory, made when missing; refused (never loosened from
        under someone) when it is a symlink or not this process's own; tightened to 0700."""
        directory = self._credentials_dir
        os.makedirs(directory, mode=CREDENTIALS_DIR_MODE, exist_ok=True)
        found = os.lstat(directory)
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid():
            raise DriverError(
                f"The CIFS credentials directory {directory} is not a directory of this "
                f"node's user {os.geteuid()}; remove it or choose another."
            )
        if stat.S_IMODE(found.st_mode) != CREDENTIALS_DIR_MODE:
            os.chmod(directory, CREDENTIALS_DIR_MODE)
        return directory

    def _write_credentials(self, pool: str, plan: CredentialsPlan) -> None:
        """Post-condition: ``plan.path`` holds ``plan.content``, mode 0600. Replaced in one
        rename from a 0600 temporary file beside it, so mount never reads half a file and
        the password is never in a file others may read; unchanged content is left alone."""
        context = f"Storage pool {pool}: failed writing its CIFS credentials file {plan.path}"
        data = plan.content.encode()
        try:
            directory = self._credentials_directory()
            if _holds(plan.path, data):
                return
            fd, temporary = tempfile.mkstemp(prefix=".partial-", dir=directory)  # 0600
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(temporary, CREDENTIALS_MODE)
                os.replace(temporary, plan.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as err:
            raise DriverError(f"{context}: {err.strerror or err}") from err

    def _ensure_secret(self, pool: str, plan: SecretPlan, undo: list[Callable[[], None]]) -> None:
        """The pool's secret, defined when missing (undone on failure), holding the value."""
        conn = self._connection()
        usage = _SECRET_USAGE[plan.secret.usage_type]
        with _failing(f"Failed setting the secret of pool {pool}"):
            try:
                secret = conn.secretLookupByUsage(usage, plan.secret.usage_id)
            except libvirt.libvirtError as err:
                if err.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
                    raise
                secret = conn.secretDefineXML(plan.secret.to_xml(), 0)
                undo.append(secret.undefine)
            secret.setValue(plan.value, 0)

    def _remove_secrets(self, pool: str) -> None:
        conn = self._connection()
        for usage in _SECRET_USAGE.values():
            with _failing(f"Failed removing the secret of pool {pool}"):
                try:
                    conn.secretLookupByUsage(usage, secret_usage_id(pool)).undefine()
                except libvirt.libvirtError as err:
                    if err.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
                        raise

    @staticmethod
    def _refuse_foreign(spec: PoolSpec, pool: Any, wanted: AnyPool) -> None:
        with _failing(f"Failed reading pool {spec.name}"):
            xml = pool.XMLDesc(0)
        have = parse_pool(xml)
        if not same_definition(have, wanted):
            raise Conflict(
                f"Storage pool {spec.name} already exists {describe(have)} (type "
                f"{have.pool_type}), not as the {wanted.pool_type} pool {describe(wanted)}; "
                "remove it first or choose another pool."
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
        """Post-condition: no pool of that name (stopped, undefined), no secret and no
        credentials file of it; the data stays (files, logical volumes, LUNs, images).
        Missing: no error."""
        found = self._find_pool(pool)
        if found is not None:
            with _failing(f"Failed removing pool {pool}"):
                if found.isActive():
                    found.destroy()
                found.undefine()
        self._remove_secrets(pool)
        self._ceph_keys.pop(pool, None)
        path = credentials_path(pool, self._credentials_dir)
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as err:
            raise DriverError(
                f"Failed removing the CIFS credentials file {path} of pool {pool}: "
                f"{err.strerror or err}"
            ) from err

    @staticmethod
    def _kind(pool_obj: Any, pool: str) -> str:
        """The libvirt type of a defined pool ("dir", "logical", "iscsi-direct", ...)."""
        with _failing(f"Failed reading pool {pool}"):
            return pool_type_of(pool_obj.XMLDesc(0))

    def _writable(self, pool_obj: Any, pool: str, fmt: DiskFormat | None = None) -> str:
        """The pool's type, when volumes can be made or changed in it: never in an iSCSI
        pool (Unsupported); only raw outside directory and netfs pools (InvalidInput)."""
        kind = self._kind(pool_obj, pool)
        if kind in LUN_KINDS:
            raise Unsupported(
                f"Storage pool {pool}: an iSCSI pool's volumes are the target's LUNs; create "
                "or resize LUNs on the target (they are listed here once it has them)."
            )
        if fmt is not None and kind not in FILE_KINDS and fmt is not DiskFormat.RAW:
            raise InvalidInput(
                f"Storage pool {pool} is a {kind} pool, which holds raw volumes only; choose "
                f"raw, or a directory or netfs pool for {fmt.value}.",
                field="fmt",
            )
        return kind

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

    def _free_name(self, pool_obj: Any, pool: str, name: str, kind: str = "dir") -> str:
        """The path a new volume gets (a file pool's; "" for others); InvalidInput for a
        name that is no plain file name, Conflict when it is taken."""
        check_volume_name(name)
        final = ""
        if kind in FILE_KINDS:
            final = os.path.join(DirPool.from_xml(pool_obj.XMLDesc(0)).path, name)
        taken = bool(final) and os.path.lexists(final)
        if taken or self._find_volume(pool_obj, pool, name) is not None:
            raise Conflict(
                f"Volume {name} already exists in pool {pool}; delete it first or use another name."
            )
        return final

    def _new_file(
        self, pool_obj: Any, pool: str, name: str, write: Callable[[str], None]
    ) -> VolumeInfo:
        """A volume of a directory or netfs pool whose file ``write`` fills (given a hidden
        temporary path whose name does not grow with the volume's): published under its
        name with mode 0600 (a hard link, never replacing a file), then announced to
        libvirt by a refresh. On any failure nothing of it is left in the pool."""
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

    def _block_target(self, pool_obj: Any, pool: str, kind: str) -> _BlockTarget:
        """How qemu-img reaches a new volume of an rbd pool (its monitors, user and key);
        for logical and zfs pools the device is known once the volume exists. An rbd pool
        with a user whose key this process was not given (no ensure_pool since it
        started): Conflict, before anything is created."""
        if kind != "rbd":
            return _BlockTarget()
        with _failing(f"Failed reading pool {pool}"):
            rbd = RbdPool.from_xml(pool_obj.XMLDesc(0))
        key = self._ceph_keys.get(pool)
        if rbd.auth is not None and key is None:
            raise Conflict(
                f"Storage pool {pool}: this node has not been given the pool's Ceph key since "
                "its daemon started; ensure the pool (propagation does) and try again."
            )
        return _BlockTarget(rbd=rbd, key=key if rbd.auth is not None else None)

    def _new_block(
        self,
        pool_obj: Any,
        pool: str,
        kind: str,
        name: str,
        capacity_bytes: int,
        fill: Callable[[_BlockTarget], None],
    ) -> VolumeInfo:
        """A raw volume of a logical, zfs or rbd pool: created by libvirt at
        ``capacity_bytes`` (fully allocated, as create_volume makes them), then filled by
        ``fill`` outside the pool's lock (given the device, or the RBD image). On any
        failure the volume is deleted again. Pools of other libvirt types (none we
        define): Unsupported."""
        if kind not in DEVICE_KINDS and kind != "rbd":
            raise Unsupported(
                f"Storage pool {pool} is a {kind} pool; images are copied only into "
                "directory, netfs, logical, zfs and rbd pools."
            )
        target = self._block_target(pool_obj, pool, kind)
        with self._serialized(pool):
            self._free_name(pool_obj, pool, name, kind)
            xml = Volume(name, capacity_bytes, None, allocation_bytes=capacity_bytes)
            with _failing(f"Failed creating volume {name} in pool {pool}"):
                vol = pool_obj.createXML(xml.to_xml(), 0)
        try:
            with _failing(f"Failed reading volume {name} in pool {pool}"):
                created = _volume_info(vol)
            if kind in DEVICE_KINDS:
                target = _BlockTarget(device=_await_device(created.path, DEVICE_WAIT_SECONDS))
            else:
                target = _BlockTarget(rbd=target.rbd, image=name, key=target.key)
            fill(target)
            with _failing(f"Failed reading volume {name} in pool {pool}"):
                return _volume_info(vol)
        except BaseException:
            with self._serialized(pool), contextlib.suppress(libvirt.libvirtError):
                vol.delete(0)
            raise

    def create_volume(
        self, pool: str, name: str, capacity_bytes: int, fmt: DiskFormat
    ) -> VolumeInfo:
        """Post-condition: an empty volume of that size and format, mode 0600 (qcow2 and
        sparse raw take no space yet); ``dir``: an empty directory (a container's mount
        point; its size is not enforced). Name taken: Conflict. libvirt removes its own
        partial file when creation fails."""
        pool_obj = self._pool(pool)
        kind = self._writable(pool_obj, pool, fmt)
        with self._serialized(pool):
            path = self._free_name(pool_obj, pool, name, kind)
            if fmt is DiskFormat.DIR:
                self._directories_only(kind, pool)
                with _failing(f"Failed creating directory volume {name} in pool {pool}"):
                    os.mkdir(path, DIR_MODE)
                # A directory has no size of its own: the one asked for is what it counts.
                return self._settled(pool_obj, name, path, capacity_bytes)
            if kind in FILE_KINDS:
                xml = Volume(name, capacity_bytes, fmt.value, allocation_bytes=0, mode=FILE_MODE)
            else:
                # Fully allocated: a logical volume with less is a thin snapshot that breaks
                # when it fills; the backends take no format (raw is what they hold).
                xml = Volume(name, capacity_bytes, None, allocation_bytes=capacity_bytes)
            with _failing(f"Failed creating volume {name} in pool {pool}"):
                return _volume_info(pool_obj.createXML(xml.to_xml(), 0))

    def create_rootfs(
        self,
        pool: str,
        name: str,
        tarball: str,
        *,
        uid_offset: int,
        gid_offset: int,
        capacity_bytes: int | None = None,
    ) -> VolumeInfo:
        """Post-condition: directory ``name`` of the pool holds the unpacked tarball
        (``drivers.images.unpack``: checked again entry by entry, owners shifted); with
        ``capacity_bytes``, raw volume ``name`` of that size is an ext4 filesystem holding
        it (``filesystems.fill_rootfs``), unpacked first in the pool's directory (file
        pools) or the scratch directory (logical and zfs pools). On any failure it is gone."""
        from cloudenv.drivers.images.unpack import unpack_rootfs

        pool_obj = self._pool(pool)
        if capacity_bytes is not None:
            return self._filesystem_volume(pool_obj, pool, name, Path(tarball), capacity_bytes,
                                           uid_offset, gid_offset)  # fmt: skip
        kind = self._writable(pool_obj, pool)
        self._directories_only(kind, pool)
        with self._serialized(pool):
            path = self._free_name(pool_obj, pool, name, kind)
        # Unpacked outside the pool's lock: it takes a while, and the name is ours.
        unpack_rootfs(Path(tarball), Path(path), uid_offset=uid_offset, gid_offset=gid_offset)
        with self._serialized(pool):
            try:
                return self._settled(pool_obj, name, path, 0)
            except BaseException:
                _remove_tree(path)
                raise

    def _filesystem_volume(
        self,
        pool_obj: Any,
        pool: str,
        name: str,
        tarball: Path,
        capacity_bytes: int,
        uid_offset: int,
        gid_offset: int,
    ) -> VolumeInfo:
        kind = self._writable(pool_obj, pool, DiskFormat.RAW)
        if capacity_bytes < filesystems.MIN_BYTES:
            raise InvalidInput(
                f"Volume {name} can't hold a filesystem in {capacity_bytes} bytes; give it "
                f"at least {filesystems.MIN_BYTES // 1024**2} MiB.",
                field="capacity_bytes",
            )

        def fill(target: str, staging: str | None) -> None:
            filesystems.fill_rootfs(
                target, tarball, staging, uid_offset=uid_offset, gid_offset=gid_offset
            )

        if kind in FILE_KINDS:

            def write(temporary: str) -> None:
                os.truncate(temporary, capacity_bytes)  # sparse: space is taken as files land
                fill(temporary, os.path.dirname(temporary))

            return self._new_file(pool_obj, pool, name, write)
        if kind not in DEVICE_KINDS:
            raise Unsupported(
                f"Storage pool {pool} is a {kind} pool, whose volumes are no file or device "
                "of this node; a container's filesystem volume needs a directory, netfs, "
                "logical (LVM) or zfs pool."
            )
        return self._new_block(
            pool_obj, pool, kind, name, capacity_bytes, lambda t: fill(t.device, self._scratch)
        )

    def format_for_mount(self, path: str, *, uid: int, gid: int) -> bool:
        return filesystems.format_if_blank(path, uid=uid, gid=gid)

    @staticmethod
    def _directories_only(kind: str, pool: str) -> None:
        if kind not in FILE_KINDS:
            raise Unsupported(
                f"Storage pool {pool} is a {kind} pool, which holds no directories; a "
                "container's root filesystem and mount points need a directory or netfs pool."
            )

    @staticmethod
    def _settled(pool_obj: Any, name: str, path: str, capacity_bytes: int) -> VolumeInfo:
        """A directory volume made behind libvirt's back: the pool is refreshed so that
        libvirt lists it too; what is known of it comes from here, not from that listing."""
        with _failing(f"Failed refreshing the pool after making {name}"):
            _refresh(pool_obj)
        return VolumeInfo(name, path, capacity_bytes, 0, DiskFormat.DIR)

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
        bytes of the source's virtual size. On failure the partial file is removed.

        Logical, zfs and rbd pools: ``fmt`` raw only (InvalidInput otherwise); the volume
        is created at ``capacity_bytes`` or the image's virtual size, whichever is larger,
        and the image written into it; on failure the volume is deleted. iSCSI pools:
        Unsupported."""
        source = image_info(source_path)
        virtual = int(source["virtual-size"])
        if capacity_bytes is not None and capacity_bytes < virtual:
            raise InvalidInput(
                f"Volume {name} can't be {capacity_bytes} bytes: image {source_path} needs "
                f"{virtual} bytes; ask for at least that much.",
                field="capacity_bytes",
            )
        context = f"Failed cloning {source_path} into volume {name} in pool {pool}"
        pool_obj = self._pool(pool)
        kind = self._writable(pool_obj, pool, fmt)
        if kind not in FILE_KINDS:

            def fill(target: _BlockTarget) -> None:
                _convert_into(target, source_path, source["format"], virtual, progress, context)

            size = max(capacity_bytes or 0, virtual)
            info = self._new_block(pool_obj, pool, kind, name, size, fill)
            if progress is not None:
                progress(virtual, virtual)
            return info

        def write(temporary: str) -> None:
            args = ["-f", source["format"], "-O", fmt.value, source_path, temporary]
            _convert(args, virtual, progress, context)
            if capacity_bytes is not None and capacity_bytes > virtual:
                _qemu_img(["resize", "-f", fmt.value, temporary, str(capacity_bytes)], context)

        info = self._new_file(pool_obj, pool, name, write)
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
        stream, or other contents: InvalidInput, and nothing is left behind.

        Logical, zfs and rbd pools: raw only (InvalidInput otherwise; contents that are a
        qcow2 or VMDK image are refused too); the bytes go into a volume of ``size`` bytes
        (a logical volume rounds up to its extents) — straight into its device, or for
        rbd through a temporary file that qemu-img copies into the RBD image. iSCSI
        pools: Unsupported."""
        what = f"Upload of volume {name} to pool {pool}"
        pool_obj = self._pool(pool)
        kind = self._writable(pool_obj, pool, fmt)
        if kind not in FILE_KINDS:
            return self._upload_block(pool_obj, pool, kind, name, chunks, size, progress)

        def write(temporary: str) -> None:
            with open(temporary, "wb") as out:
                _receive(chunks, out, size, progress, what)
            probed = image_info(temporary, "fmt", f"Upload of volume {name}")
            found = _disk_format(str(probed.get("format")))
            if found is not fmt:
                raise InvalidInput(
                    f"Upload of volume {name} is a {found.value} image, not a {fmt.value} "
                    "image; upload it with its real format.",
                    field="fmt",
                )

        return self._new_file(pool_obj, pool, name, write)

    def _upload_block(
        self,
        pool_obj: Any,
        pool: str,
        kind: str,
        name: str,
        chunks: Iterable[bytes],
        size: int,
        progress: ProgressCallback | None,
    ) -> VolumeInfo:
        """upload_volume into a logical, zfs or rbd pool (raw: checked by the caller)."""
        what = f"Upload of volume {name} to pool {pool}"

        def raw_only(head: bytes) -> None:
            found, _ = _probe_header(head)
            if found is not DiskFormat.RAW:
                raise InvalidInput(
                    f"Upload of volume {name} is a {found.value} image, not a raw image; "
                    "upload it with its real format.",
                    field="fmt",
                )

        def fill(target: _BlockTarget) -> None:
            if target.device:
                with open(target.device, "r+b") as out:  # a device: never truncated
                    raw_only(_receive(chunks, out, size, progress, what))
                    out.flush()
                    os.fsync(out.fileno())
                return
            # libvirt's rbd backend has no volume upload; qemu-img copies a file into Ceph.
            with tempfile.TemporaryDirectory(prefix="cloudenv-upload-", dir=self._scratch) as d:
                staged = os.path.join(d, "volume.raw")
                with open(staged, "wb") as out:
                    raw_only(_receive(chunks, out, size, progress, what))
                context = f"Failed copying the upload into volume {name} in pool {pool}"
                _convert_into(target, staged, DiskFormat.RAW.value, size, None, context)

        return self._new_block(pool_obj, pool, kind, name, size, fill)

    def volume_info(self, pool: str, name: str) -> VolumeInfo | None:
        pool_obj = self._pool(pool)
        with self._serialized(pool):
            vol = self._find_volume(pool_obj, pool, name)
            with _failing(f"Failed reading volume {name} in pool {pool}"):
                return None if vol is None else _volume_info(vol)

    def list_volumes(self, pool: str) -> list[VolumeInfo]:
        """All volumes, sorted by name, after a refresh (files written meanwhile count). An
        iSCSI pool's are its LUNs that hold data (tgt's controller LUN 0 has 0 bytes)."""
        pool_obj = self._pool(pool)
        luns = self._kind(pool_obj, pool) in LUN_KINDS
        with self._serialized(pool), _failing(f"Failed listing volumes of pool {pool}"):
            _refresh(pool_obj)
            volumes = [_volume_info(vol) for vol in pool_obj.listAllVolumes(0)]
        kept = (
            v for v in volumes if not v.name.startswith(".") and not (luns and not v.capacity_bytes)
        )
        return sorted(kept, key=lambda v: v.name)

    def resize_volume(self, pool: str, name: str, capacity_bytes: int) -> VolumeInfo:
        """Post-condition: the volume is at least ``capacity_bytes`` (grow only; the same
        size is a no-op; smaller: InvalidInput). Offline resize: a running domain's disk
        is grown through the compute driver instead."""
        pool_obj = self._pool(pool)
        self._writable(pool_obj, pool)
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
        """Post-condition: the volume and its data are gone. Missing: no error.

        A logical volume is zeroed first: LVM hands the freed extents to the next volume
        as they are, and that volume may be another tenant's (ZFS volumes and Ceph images
        read as zeros where nothing was written; files are new files)."""
        pool_obj = self._pool(pool)
        kind = self._writable(pool_obj, pool)
        with self._serialized(pool):
            if kind in FILE_KINDS:
                # A directory volume (a container's) goes by its path: libvirt only rmdirs
                # one (a used one is never empty), and may not list it yet (made by us).
                check_volume_name(name)
                path = os.path.join(DirPool.from_xml(pool_obj.XMLDesc(0)).path, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    with _failing(f"Failed deleting volume {name} in pool {pool}"):
                        _remove_tree(path)
                        _refresh(pool_obj)
                    return
            vol = self._find_volume(pool_obj, pool, name)
            with _failing(f"Failed deleting volume {name} in pool {pool}"):
                if vol is not None:
                    if kind == "logical":
                        vol.wipe(0)  # VIR_STORAGE_VOL_WIPE_ALG_ZERO
                    vol.delete(0)


__all__ = ["FILE_MODE", "POOL_MODE", "LibvirtStorageDriver", "image_info"]
