"""Task handlers for images: move an upload from the staging area into its pool; delete."""

from __future__ import annotations

import os
from collections.abc import Iterator

from cloudenv.agent.context import TaskContext
from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.errors import CloudenvError, NotFound
from cloudenv.services.storage import images
from cloudenv.services.tasks import TaskClaim
from cloudenv.store.engine import transaction

CHUNK = 4 * 1024 * 1024


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
        images.record_import(db, image.id, ok=True)


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
