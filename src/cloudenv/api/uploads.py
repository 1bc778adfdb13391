"""Receiving a large upload: streamed to a staging file in the node's data dir, never held
in memory, and refused unless exactly Content-Length bytes arrive. The agent moves the
staged file into its pool (a task), so the API never touches storage itself.

Before a byte is read, an upload is admitted: its declared size must fit the free space
left once every other upload still in flight has received what it declared, and a user
has at most MAX_UPLOADS_PER_USER uploads in flight. The staging directory itself is the
ledger, so every process serving this node sees the same one: an upload in flight is a
file ``upload.<user>.<declared size>.<random>.partial`` that its writer holds an exclusive
``flock`` on; one whose lock can be taken belongs to a writer that died, and is removed.
Admission is serialized by a lock on the directory. The directory is 0700 and every file 0600: only
the daemon reads what users upload.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from cloudenv.errors import InvalidInput, TooManyRequests

#: Room left on the staging file system, so an upload never fills the node's disk.
RESERVE_BYTES = 512 * 1024 * 1024
#: Uploads one user may have in flight on a node at once.
MAX_UPLOADS_PER_USER = 2
STAGING_MODE = 0o700
_PARTIAL = ".partial"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def declared_size(request: Request) -> int:
    value = request.headers.get("content-length")
    if value is None or not value.isdigit():
        raise InvalidInput(
            "Send the image with a Content-Length header (its size in bytes).", field="size"
        )
    return int(value)


@dataclass(frozen=True)
class _InFlight:
    owner: str
    declared: int
    received: int


@contextlib.contextmanager
def _admission(directory: Path) -> Iterator[None]:
    """One admission at a time on this node, across processes (a lock on the directory)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _in_flight(directory: Path) -> list[_InFlight]:
    """Uploads whose writer is alive; files of dead writers are removed on the way."""
    found: list[_InFlight] = []
    for entry in os.scandir(directory):
        parts = entry.name.split(".")
        if len(parts) != 5 or parts[0] != "upload" or not parts[2].isdigit():
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # finished or failed meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                found.append(_InFlight(parts[1], int(parts[2]), os.fstat(fd).st_size))
                continue
            os.unlink(entry.path)  # nobody writes it any more
        finally:
            os.close(fd)
    return found


def _admit(directory: Path, size: int, owner: str) -> tuple[int, str]:
    """Check the user's count and the space, then create the upload's file, locked, and
    return its descriptor and path; all under the admission lock, so two uploads can't both
    count on the same free bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(STAGING_MODE)
    with _admission(directory):
        others = _in_flight(directory)
        mine = sum(1 for upload in others if upload.owner == owner)
        if mine >= MAX_UPLOADS_PER_USER:
            raise TooManyRequests(
                f"You already have {mine} uploads in progress on this node, the most one "
                "user may have at once; wait until one has finished, then send this one again."
            )
        promised = sum(max(u.declared - u.received, 0) for u in others)
        spare = shutil.disk_usage(directory).free - promised - RESERVE_BYTES
        if size > spare:
            waiting = f" ({len(others)} other uploads in progress)" if others else ""
            raise InvalidInput(
                f"The upload needs {size} bytes but this node's data dir has only "
                f"{max(spare, 0)} to spare{waiting}; free space, wait for other uploads "
                "to finish, or upload a smaller image.",
                field="size",
            )
        fd, path = tempfile.mkstemp(
            prefix=f"upload.{owner}.{size}.", suffix=_PARTIAL, dir=directory
        )
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd, path


async def stage(request: Request, directory: Path, size: int, owner: str) -> str:
    """Write the body to a new file in ``directory`` for user ``owner``, once admitted;
    returns the finished file's path (0600, no longer counted as in flight)."""
    safe_owner = _UNSAFE.sub("_", owner) or "_"
    fd, partial = await run_in_threadpool(_admit, directory, size, safe_owner)
    received = 0
    try:
        with os.fdopen(fd, "wb", closefd=False) as handle:
            async for chunk in request.stream():
                received += len(chunk)
                if received > size:
                    break
                handle.write(chunk)
        if received != size:
            raise InvalidInput(
                f"Content-Length said {size} bytes but {received} arrived; nothing was kept.",
                field="size",
            )
        name = Path(partial).name.removesuffix(_PARTIAL)
        done = str(directory / f"staged.{name.removeprefix('upload.')}")
        os.rename(partial, done)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    finally:
        os.close(fd)  # releases the lock: the upload no longer counts as in flight
    return done
