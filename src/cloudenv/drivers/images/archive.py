"""Reading hostile archives within bounds: the limits, the refusal, tar headers that can't
make the reader allocate without limit, and decompression that stops at a byte budget.

Nothing here trusts a size the archive declares: decompressed bytes are counted as they
come out of the decompressor, and a stream may yield at most ``ratio_floor + max_ratio *
compressed size`` bytes (a decompression bomb is refused after reading that much, not
after filling the disk). Extended tar headers (pax, GNU long names) are refused above
``MAX_HEADER_BYTES`` before tarfile reads them into memory.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import lzma
import os
import shutil
import subprocess
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, BinaryIO, Protocol

from cloudenv.drivers.errors import InvalidInput

CHUNK = 1024 * 1024
#: A pax or GNU long-name header larger than this is refused before it is read: real ones
#: hold a path, a link target and a few extended attributes (a few KiB at most).
MAX_HEADER_BYTES = 1024 * 1024
#: xz and zstd may ask for a large window; this caps what one decompressor may allocate.
DECOMPRESSOR_MEMORY = 256 * 1024 * 1024


class ArchiveRefused(InvalidInput):
    """The archive breaks a rule; the message names the entry (or blob) and the rule.
    Raised before anything of the archive was kept anywhere."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="image")


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one archive may make the node read, hold and write."""

    #: Entries across all layers (whiteouts and directories count): each costs memory
    #: while the tree is built. A large distribution root has ~100,000.
    max_entries: int = 300_000
    #: Decompressed bytes, all streams together, and the stored image's size.
    max_bytes: int = 64 * 1024**3
    #: Decompressed bytes per compressed byte of one stream beyond ``ratio_floor``; real
    #: root filesystems compress 3-6x, a bomb 1000x and more.
    max_ratio: int = 100
    #: Every stream may decompress to this much whatever its ratio (small archives of
    #: zero-filled files are not bombs).
    ratio_floor: int = 16 * 1024 * 1024
    #: Directory levels of one path (deeper is no root filesystem, and would exhaust the
    #: recursion that walks the tree).
    max_depth: int = 128
    #: index.json, manifests and configs.
    max_json_bytes: int = 4 * 1024 * 1024
    max_layers: int = 127


def show(name: str, limit: int = 120) -> str:
    """A name from the archive as a message quotes it: repr (control characters visible),
    cut to ``limit`` characters."""
    text = repr(name)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def entry_parts(name: str, where: str, limits: ArchiveLimits) -> tuple[str, ...]:
    """An entry's path as its components below the root (``./a//b`` -> ("a", "b"); the
    root itself is ()). Absolute paths and ``..`` components are refused: an archive that
    means the root filesystem has no business naming anything outside it."""
    if "\x00" in name:
        raise ArchiveRefused(f"{where}: entry {show(name)} has a NUL byte in its name.")
    if name.startswith("/"):
        raise ArchiveRefused(
            f"{where}: entry {show(name)} is an absolute path; the entries of a root "
            "filesystem are relative to its root."
        )
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise ArchiveRefused(
            f"{where}: entry {show(name)} climbs out of the root filesystem with '..'."
        )
    if len(name.encode("utf-8", "surrogateescape")) > 4096:
        raise ArchiveRefused(f"{where}: entry {show(name)} has a path longer than 4096 bytes.")
    if len(parts) > limits.max_depth:
        raise ArchiveRefused(
            f"{where}: entry {show(name)} is {len(parts)} directories deep; at most "
            f"{limits.max_depth} are accepted."
        )
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > 255:
            raise ArchiveRefused(
                f"{where}: entry {show(name)} has a name component longer than 255 bytes."
            )
    return parts


_EXTENDED = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)


class GuardedTarInfo(tarfile.TarInfo):
    """A TarInfo whose extended headers are bounded and whose sparse files are refused.

    tarfile reads a pax or GNU long-name header into memory whole, at whatever size its
    header block declares; these checks run on that declared size first. Sparse members
    (GNU or pax) are refused: no root filesystem needs them and their maps are read
    without bound."""

    def _proc_member(self, archive: Any) -> Any:  # tarfile's own hook
        if self.type in _EXTENDED and self.size > MAX_HEADER_BYTES:
            raise ArchiveRefused(
                f"an extended header before entry {show(self.name)} declares {self.size} "
                f"bytes; at most {MAX_HEADER_BYTES} are accepted."
            )
        if self.type == tarfile.GNUTYPE_SPARSE:
            self._sparse_refused()
        return super()._proc_member(archive)  # type: ignore[misc]

    def _sparse_refused(self, *args: Any) -> None:
        # A pax header's hooks get the member it describes and the pax records (which
        # hold the real name: the header's is GNUSparseFile.<pid>/<name>).
        member = args[0] if args and isinstance(args[0], tarfile.TarInfo) else self
        records = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
        name = str(records.get("GNU.sparse.name", member.name))
        raise ArchiveRefused(
            f"entry {show(name)} is a sparse file; sparse files are not accepted (write the "
            "archive without --sparse)."
        )

    _proc_gnusparse_00 = _sparse_refused
    _proc_gnusparse_01 = _sparse_refused
    _proc_gnusparse_10 = _sparse_refused


def forget_members(tar: tarfile.TarFile) -> None:
    """tarfile keeps every member it has read (memory growing with the archive); readers
    that never look back drop them as they go."""
    tar.members.clear()  # type: ignore[attr-defined]


def tar_members(stream: Stream, where: str, limits: ArchiveLimits) -> Iterator[TarMember]:
    """The members of the tar archive ``stream`` in order, read forward only; each
    member's content can be read (``TarMember.chunks``) until the next one is asked for.
    Malformed archives are refused with tarfile's reason."""
    try:
        tar = tarfile.open(  # noqa: SIM115 - closed by the with below
            fileobj=stream,
            mode="r|",
            tarinfo=GuardedTarInfo,
        )
    except ArchiveRefused as exc:
        raise ArchiveRefused(f"{where}: {exc.message}") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error, RecursionError) as exc:
        raise ArchiveRefused(f"{where}: not a readable tar archive ({_reason(exc)}).") from None
    with tar:
        while True:
            try:
                info = tar.next()
            except ArchiveRefused as exc:
                raise ArchiveRefused(f"{where}: {exc.message}") from None
            except RecursionError:
                raise ArchiveRefused(
                    f"{where}: a chain of extended headers too long to be a real archive."
                ) from None
            except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
                raise ArchiveRefused(
                    f"{where}: not a readable tar archive ({_reason(exc)})."
                ) from None
            if info is None:
                return
            forget_members(tar)
            yield TarMember(info, tar, where)


@dataclass
class TarMember:
    info: tarfile.TarInfo
    tar: tarfile.TarFile
    where: str

    def chunks(self) -> Iterator[bytes]:
        """The member's content (regular files), in pieces of at most CHUNK bytes."""
        handle = self.tar.extractfile(self.info)
        if handle is None:
            return
        try:
            while chunk := handle.read(CHUNK):
                yield chunk
        except ArchiveRefused as exc:
            raise ArchiveRefused(f"{self.where}: {exc.message}") from None
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise ArchiveRefused(
                f"{self.where}: entry {show(self.info.name)} can't be read ({_reason(exc)})."
            ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]


# -- streams ---------------------------------------------------------------------------


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"
    XZ = "xz"
    BZIP2 = "bzip2"
    ZSTD = "zstd"


_MAGIC = (
    (b"\x1f\x8b", Compression.GZIP),
    (b"\xfd7zXZ\x00", Compression.XZ),
    (b"BZh", Compression.BZIP2),
    (b"\x28\xb5\x2f\xfd", Compression.ZSTD),
)


def sniff(head: bytes) -> Compression:
    """The compression the first bytes of a file say it has (NONE when none matches)."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return Compression.NONE


class Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Region(io.RawIOBase):
    """``size`` bytes of an open file from ``offset`` (a blob inside a layout's tar, or a
    whole file), read with pread so several regions may share one descriptor. Calls
    ``on_read`` with each count read (progress)."""

    def __init__(
        self, fd: int, offset: int, size: int, on_read: Callable[[int], None] | None = None
    ) -> None:
        super().__init__()
        self._fd, self._start, self._size, self._pos = fd, offset, size, 0
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._fd, want, self._start + self._pos)
        if not data:
            raise ArchiveRefused("the file ended before its declared size (was it truncated?).")
        buffer[: len(data)] = data
        self._pos += len(data)
        if self._on_read is not None:
            self._on_read(len(data))
        return len(data)


class Budget:
    """Decompressed bytes all the streams of one import may yield together."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def spend(self, count: int, where: str) -> None:
        self.used += count
        if self.used > self.limit:
            raise ArchiveRefused(
                f"{where}: decompresses to more than {self.limit} bytes, the most one image "
                "may hold."
            )


class Stream(io.RawIOBase):
    """A decompressed stream that counts and hashes what it yields and refuses to yield
    more than its cap (the ratio rule) or the shared budget."""

    def __init__(
        self,
        source: Reader,
        *,
        cap: int,
        budget: Budget,
        where: str,
        algorithm: str | None = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._source, self._cap, self._budget, self._where = source, cap, budget, where
        self._hash = hashlib.new(algorithm) if algorithm else None
        self._closer = close
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._source.read(len(buffer))
        except ArchiveRefused as exc:
            raise ArchiveRefused(f"{self._where}: {exc.message}") from None
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
            raise ArchiveRefused(
                f"{self._where}: its compressed data is damaged ({_reason(exc)})."
            ) from None
        if not data:
            return 0
        self.produced += len(data)
        if self.produced > self._cap:
            raise ArchiveRefused(
                f"{self._where}: decompresses to more than {self._cap} bytes, over "
                "the accepted ratio to its compressed size (a decompression bomb?)."
            )
        self._budget.spend(len(data), self._where)
        if self._hash is not None:
            self._hash.update(data)
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read to the end (what follows a tar's end marker still counts for its digest)."""
        while self.read(CHUNK):
            pass

    def digest(self) -> str:
        """``<algorithm>:<hex>`` of everything yielded (a stream opened with an algorithm)."""
        assert self._hash is not None
        return f"{self._hash.name}:{self._hash.hexdigest()}"

    def close(self) -> None:
        if not self.closed and self._closer is not None:
            self._closer()
        super().close()


class _Decompressing:
    """read(n) over a bz2/lzma decompressor, bounded to n output bytes per call; a new
    decompressor for each concatenated stream (``xz`` and ``pbzip2`` write several)."""

    def __init__(self, source: Reader, make: Callable[[], Any]) -> None:
        self._source, self._make = source, make
        self._decompressor = make()
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        size = size if size > 0 else CHUNK
        while True:
            if self._decompressor.eof:
                leftover = self._decompressor.unused_data or self._source.read(CHUNK)
                if not leftover:
                    return b""
                self._decompressor, self._pending = self._make(), leftover
            data = b""
            if self._decompressor.needs_input:
                data, self._pending = self._pending or self._source.read(CHUNK), b""
                if not data:
                    raise ArchiveRefused("its compressed data ends in the middle.")
            out: bytes = self._decompressor.decompress(data, max_length=size)
            if out:
                return out


class _Zstd:
    """read(n) from the ``zstd`` program decompressing ``source`` (no zstd module in the
    standard library before Python 3.14): a thread feeds the compressed bytes to its
    stdin, the argument list holds no shell."""

    def __init__(self, source: Reader) -> None:
        program = shutil.which("zstd")
        if program is None:
            raise ArchiveRefused(
                "it is zstd-compressed, and this node lacks the zstd program (Debian package "
                "zstd) to read it."
            )
        memory = f"--memory={DECOMPRESSOR_MEMORY // (1024 * 1024)}MB"
        self._process = subprocess.Popen(
            [program, "-d", "-c", "-q", memory],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._source = source
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._feed_error: BaseException | None = None
        self._feeder.start()

    def _feed(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            while chunk := self._source.read(CHUNK):
                stdin.write(chunk)
        except BrokenPipeError:
            pass  # zstd stopped (damaged data, or the reader closed it)
        except BaseException as exc:  # handed to the reading thread
            self._feed_error = exc
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def read(self, size: int = -1) -> bytes:
        stdout = self._process.stdout
        assert stdout is not None
        data = stdout.read(size if size > 0 else CHUNK)
        if data:
            return data
        self._feeder.join()
        if self._feed_error is not None:
            raise self._feed_error
        if self._process.wait() != 0:
            stderr = self._process.stderr.read() if self._process.stderr else b""
            raise ArchiveRefused(
                f"its zstd data is damaged ({stderr.decode(errors='replace').strip()[:200]})."
            )
        return b""

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for pipe in (self._process.stdout, self._process.stderr):
            if pipe is not None:
                pipe.close()
        self._feeder.join()


@contextlib.contextmanager
def decompressed(
    raw: BinaryIO | Region,
    compression: Compression,
    *,
    compressed_size: int,
    limits: ArchiveLimits,
    budget: Budget,
    where: str,
    algorithm: str | None = None,
) -> Iterator[Stream]:
    """The decompressed bytes of ``raw`` (``compressed_size`` bytes of ``compression``),
    bounded by the ratio rule and ``budget``, hashed with ``algorithm`` when given."""
    cap = limits.ratio_floor + limits.max_ratio * compressed_size
    closer: Callable[[], None] | None = None
    source: Reader
    if compression is Compression.NONE:
        source, cap = raw, compressed_size  # a plain stream yields exactly its size
    elif compression is Compression.GZIP:
        source = gzip.GzipFile(fileobj=raw, mode="rb")
    elif compression is Compression.XZ:
        source = _Decompressing(raw, lambda: lzma.LZMADecompressor(memlimit=DECOMPRESSOR_MEMORY))
    elif compression is Compression.BZIP2:
        source = _Decompressing(raw, bz2.BZ2Decompressor)
    else:
        try:
            zstd = _Zstd(raw)
        except ArchiveRefused as exc:
            raise ArchiveRefused(f"{where}: {exc.message}") from None
        source, closer = zstd, zstd.close
    stream = Stream(source, cap=cap, budget=budget, where=where, algorithm=algorithm, close=closer)
    try:
        yield stream
    finally:
        stream.close()
