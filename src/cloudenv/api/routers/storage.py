"""Storage seen from a node: its pools, and images (list, upload, delete); volumes are
``routers/volumes.py``."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db, NodeSettings
from cloudenv.api.schemas.common import TaskRef
from cloudenv.api.schemas.storage import (
    Image,
    ImageImport,
    NodePool,
    PoolUsage,
)
from cloudenv.api.uploads import MAX_UPLOADS_PER_USER, declared_size, stage
from cloudenv.errors import Conflict
from cloudenv.services.storage import images, pools
from cloudenv.services.tenancy import nodes
from cloudenv.store.engine import transaction

router = APIRouter(tags=["storage"])
GB = 1024**3
MB = 1024**2


@router.get("/v1/nodes/{node_id}/storage/pools", response_model=list[NodePool], name="node.pools")
def node_pools(node_id: str, db: Db, principal: CurrentPrincipal) -> list[NodePool]:
    nodes.require_node(db, principal, node_id)
    return [
        NodePool(
            id=p.id,
            type=p.type,
            name=p.name,
            initialized=p.initialized,
            available=p.available,
            can_hold_images=p.can_hold_images,
            usage=PoolUsage(
                capacity=round(p.capacity_bytes / GB, 2),
                allocated=round(p.allocation_bytes / GB, 2),
                available=round(p.available_bytes / GB, 2),
                percent_used=round(100 * p.allocation_bytes / p.capacity_bytes, 1)
                if p.capacity_bytes
                else 0.0,
            ),
            volume_count=p.volume_count,
        )
        for p in pools.list_node_pools(db, principal, node_id)
    ]


@router.get("/v1/nodes/{node_id}/images/images", response_model=list[Image], name="image.list")
def list_images(node_id: str, db: Db, principal: CurrentPrincipal) -> list[Image]:
    nodes.require_node(db, principal, node_id)
    return [
        Image(
            name=i.name,
            size=-(-i.size_bytes // MB),
            creation=i.creation,
            type=i.type,
            storage_pool_id=i.storage_pool_id,
            id=i.id,
            format=i.format,
            status=i.status,
        )
        for i in images.list_images(db, principal, node_id)
    ]


@router.post(
    "/v1/nodes/{node_id}/images/images",
    response_model=ImageImport,
    status_code=202,
    name="image.create",
    openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}}},
    responses={
        429: {
            "description": f"The user already has {MAX_UPLOADS_PER_USER} uploads in progress "
            "on this node, the most one user may; retry once one has finished."
        }
    },
)
async def upload_image(
    node_id: str,
    request: Request,
    principal: CurrentPrincipal,
    settings: NodeSettings,
    storage_pool_id: str,
    name: str,
    format: str | None = None,
) -> ImageImport:
    """Upload an image as the raw request body (``Content-Length`` required); a task then
    moves it into the pool. Query: ``storage_pool_id``, ``name``, optional ``format``
    (iso, qcow2, raw, kernel, initrd; rootfs: a container's root filesystem tarball, plain
    or compressed; oci: an OCI image layout as a tar; told from the name when absent). A
    container image is checked entry by entry by the task, which fails naming the entry
    that breaks a rule and keeps nothing of it.

    The database is used in two short units of work on worker threads (the checks before
    the body is read, the record after it was staged), never during the upload itself."""
    wanted = images.ImportRequest(node_id, storage_pool_id, name, declared_size(request), format)
    session_factory = request.app.state.session_factory

    def check() -> None:
        with transaction(session_factory) as db:
            if node_id != settings.node_id:
                nodes.require_node(db, principal, node_id)  # NotFound unless the caller sees it
                raise Conflict(
                    f"Upload images through the node that holds them (node {node_id}); "
                    f"this is node {settings.node_id}.",
                    field="node_id",
                )
            images.check_import(db, principal, wanted)

    def record(staged: str) -> ImageImport:
        with transaction(session_factory) as db:
            image, task = images.start_import(db, principal, wanted, staged)
            return ImageImport(task_id=task.id, id=image.id)

    await run_in_threadpool(check)  # refuse before reading the body
    uploader = principal.user_id or principal.username
    staged = await stage(request, settings.data_dir / "staging", wanted.size_bytes, uploader)
    try:
        return await run_in_threadpool(record, staged)
    except BaseException:
        if os.path.exists(staged):
            os.unlink(staged)
        raise


@router.delete(
    "/v1/nodes/{node_id}/images/images/{name}",
    response_model=TaskRef,
    status_code=202,
    name="image.delete",
)
def delete_image(
    node_id: str, name: str, db: Db, principal: CurrentPrincipal, confirm: ConfirmQuery = None
) -> TaskRef:
    return TaskRef(task_id=images.delete_image(db, principal, node_id, name, confirm=confirm).id)
