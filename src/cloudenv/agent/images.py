"""Task handlers for images: move an upload from the staging area into its pool; delete.

A container image's upload is not copied as it is: it is checked entry by entry and
rewritten as a normalised rootfs tarball (``drivers.images.rootfs``), which is what reaches
the pool. The check holds nothing of the archive on disk but an anonymous spool file next
to the staged upload, so a refusal, or a daemon killed meanwhile, leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from cloudenv.agent.context import TaskContext
from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.images.archive import ArchiveRefused
from cloudenv.drivers.images.rootfs import LIMITS, build_rootfs
from cloudenv.drivers.storage.base import StorageDriver
from cloudenv.errors import CloudenvError, InvalidInput, NotFound
from cloudenv.services.storage import images
from cloudenv.services.tasks import TaskClaim
from cloudenv.store.engine import transaction

CHUNK = 4 * 1024 * 1024
#: Room a container image's spool leaves on the staging filesystem (the node's data dir),
#: as uploads do: an import never fills the node's disk.
SPOOL_RESERVE_BYTES = 512 * 1024 * 1024


def _chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def import_image(task: TaskClaim, ctx: TaskContext) -> None:
    staged = str(task.params["staged_path"])
    with transaction(ctx.session_factory) as db:
        image = images.image_for_task(db, task.target_id or "")
    try:
        storage = ctx.drivers.need_storage()
        from cloudenv.agent.compute import ensure_pools

        ensure_pools(ctx, {image.pool_id})
        ctx.report(
            progress=5,
            line=f"Copying {image.name} ({image.size_bytes} bytes) into pool {image.pool_id}",
        )

        stored: int | None = None
        if image.format == images.ROOTFS:
            stored = _import_rootfs(image, staged, str(task.params.get("source")), ctx, storage)
        else:

            def progress(done: int, total: int) -> None:
                ctx.report(progress=5 + 90 * done // max(total, 1))

            fmt = DiskFormat.QCOW2 if image.format == "qcow2" else DiskFormat.RAW
            storage.upload_volume(
                image.pool_id, image.file_name, _chunks(staged), image.size_bytes, fmt, progress
            )
    except Exception as exc:
        with transaction(ctx.session_factory) as db:
            images.record_import(db, image.id, ok=False, message=str(exc))
        raise
    finally:
        if os.path.exists(staged):
            os.unlink(staged)
    with transaction(ctx.session_factory) as db:
        images.record_import(db, image.id, ok=True, size_bytes=stored)


def _import_rootfs(
    image: images.ImagePlan, staged: str, source: str, ctx: TaskContext, storage: StorageDriver
) -> int:
    """Check the staged container image and write its normalised tarball into the pool;
    returns the tarball's size. A refused archive fails the task naming the entry."""
    workdir = Path(staged).parent
    pool_free = storage.pool_usage(image.pool_id).available_bytes
    staging_free = shutil.disk_usage(workdir).free - SPOOL_RESERVE_BYTES
    space, reason = min(
        (pool_free, f"pool {image.pool_id} has {pool_free} bytes free"),
        (staging_free, f"this node's data dir has {max(staging_free, 0)} bytes to spare"),
        (LIMITS.max_bytes, f"an image may hold at most {LIMITS.max_bytes} bytes"),
        key=lambda bound: bound[0],
    )
    ctx.report(progress=5, line=f"Checking container image {image.name} entry by entry")

    def checked(fraction: float) -> None:
        ctx.report(progress=5 + int(70 * fraction))

    try:
        with build_rootfs(
            Path(staged),
            workdir=workdir,
            space=max(space, 0),
            space_reason=reason,
            layout=True if source == "oci" else None,
            label=image.name,
            limits=LIMITS,
            progress=checked,
        ) as built:
            notes = f"; {'; '.join(built.notes)}" if built.notes else ""
            ctx.report(
                progress=75,
                line=f"Checked {built.source} {image.name}: {built.entries} entries in "
                f"{built.layers} layer(s){notes}. Writing its root filesystem tarball "
                f"({built.size} bytes) into pool {image.pool_id}",
            )
            # The spool now takes its share of a filesystem the pool may share.
            free = storage.pool_usage(image.pool_id).available_bytes
            if built.size > free:
                raise InvalidInput(
                    f"Container image {image.name} needs {built.size} bytes in pool "
                    f"{image.pool_id}, which has {free} free; nothing of it was kept.",
                    field="storage_pool_id",
                )
            shown = -1

            def written(done: int, total: int) -> None:
                nonlocal shown
                percent = 75 + 20 * done // max(total, 1)
                if percent != shown:  # a report is a database write: once per percent
                    shown = percent
                    ctx.report(progress=percent)

            storage.upload_volume(
                image.pool_id, image.file_name, built.chunks(), built.size, DiskFormat.RAW, written
            )
            return built.size
    except ArchiveRefused as exc:
        raise InvalidInput(
            f"Container image {image.name} was refused: {exc.message} Nothing of it was kept.",
            field="image",
        ) from None


def recover_import(task: TaskClaim, ctx: TaskContext) -> str:
    """The daemon stopped in the middle of an import. Unless the image was already
    recorded as available, delete whatever reached the pool (idempotent) and forget the
    image; the staged upload is removed either way. Returns a line for the task's log."""
    staged = str(task.params.get("staged_path") or "")
    with transaction(ctx.session_factory) as db:
        try:
            image: images.ImagePlan | None = images.image_for_task(db, task.target_id or "")
        except NotFound:
            image = None
    if staged and os.path.exists(staged):
        os.unlink(staged)
    if image is None:
        return "The image record was already gone; removed the staged upload."
    if image.status == "available":
        return f"Image {image.name} had been imported before the interruption; kept it."
    done = f"deleted what reached pool {image.pool_id}"
    try:
        from cloudenv.agent.compute import ensure_pools

        ensure_pools(ctx, {image.pool_id})
        ctx.drivers.need_storage().delete_volume(image.pool_id, image.file_name)
    except CloudenvError as exc:
        done = f"could not clean pool {image.pool_id} ({exc.message})"
    with transaction(ctx.session_factory) as db:
        images.record_import(db, image.id, ok=False, message="Import interrupted by a restart")
    return (
        f"Import of image {image.name} was interrupted: {done}, removed the staged upload "
        "and forgot the image; upload it again."
    )


def delete_image(task: TaskClaim, ctx: TaskContext) -> None:
    with transaction(ctx.session_factory) as db:
        image = images.image_for_task(db, task.target_id or "")
    ctx.drivers.need_storage().delete_volume(image.pool_id, image.file_name)
    with transaction(ctx.session_factory) as db:
        images.forget_image(db, image.id)
