"""Receiving a large upload: streamed to a staging file in the node's data dir, never held
in memory, and refused unless exactly Content-Length bytes arrive. The agent moves the
staged file into its pool (a task), so the API never touches storage itself."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from fastapi import Request

from cloudenv.errors import InvalidInput

#: Room left on the staging file system, so an upload never fills the node's disk.
RESERVE_BYTES = 512 * 1024 * 1024


def declared_size(request: Request) -> int:
    value = request.headers.get("content-length")
    if value is None or not value.isdigit():
        raise InvalidInput(
            "Send the image with a Content-Length header (its size in bytes).", field="size"
        )
    return int(value)


async def stage(request: Request, directory: Path, size: int) -> str:
    """Write the body to a new file in ``directory``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if size + RESERVE_BYTES > free:
        raise InvalidInput(
            f"The upload needs {size} bytes but this node's data dir has only "
            f"{max(free - RESERVE_BYTES, 0)} to spare.",
            field="size",
        )
    fd, path = tempfile.mkstemp(prefix="upload-", dir=directory)
    received = 0
    try:
        with os.fdopen(fd, "wb") as handle:
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
    except BaseException:
        os.unlink(path)
        raise
    os.chmod(path, 0o644)
    return path
