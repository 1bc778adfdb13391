"""Cluster storage pools: list, create, read, choose the nodes they are enabled on,
destroy. Propagation to the nodes happens in their agents (``services.storage.propagation``)."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.confirm import ConfirmQuery
from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import Created, Empty
from cloudenv.api.schemas.storage import StoragePool, StoragePoolCreate, StoragePoolUpdate
from cloudenv.services.partial import KEEP
from cloudenv.services.storage import pools

router = APIRouter(tags=["storage"])


@router.get(
    "/v1/clusters/{cluster_id}/storage_pools",
    response_model=list[StoragePool],
    name="pool.list",
)
def list_pools(cluster_id: str, db: Db, principal: CurrentPrincipal) -> list[StoragePool]:
    return [
        StoragePool.model_validate(p) for p in pools.list_cluster_pools(db, principal, cluster_id)
    ]


@router.post(
    "/v1/clusters/{cluster_id}/storage_pools",
    response_model=Created,
    name="pool.create",
)
def create_pool(
    cluster_id: str, body: StoragePoolCreate, db: Db, principal: CurrentPrincipal
) -> Created:
    """Enabled on no node at first: choose its nodes with PATCH (the seed's Edit)."""
    pool = pools.create_pool(
        db,
        principal,
        cluster_id,
        name=body.name,
        type=body.type,
        description=body.description,
        can_hold_images=body.can_hold_images,
        config=body.config,
    )
    return Created(id=pool.id)


@router.get("/v1/storage_pools/{pool_id}", response_model=StoragePool, name="pool.get")
def get_pool(pool_id: str, db: Db, principal: CurrentPrincipal) -> StoragePool:
    return StoragePool.model_validate(pools.get_pool(db, principal, pool_id))


@router.patch("/v1/storage_pools/{pool_id}", response_model=StoragePool, name="pool.update")
def update_pool(
    pool_id: str, body: StoragePoolUpdate, db: Db, principal: CurrentPrincipal
) -> StoragePool:
    """Only the nodes it is enabled on change; a name is refused (the seed)."""
    view = pools.update_pool(
        db,
        principal,
        pool_id,
        node_ids=body.node_ids if body.node_ids is not None else KEEP,
        name=body.name if "name" in body.model_fields_set else KEEP,
    )
    return StoragePool.model_validate(view)


@router.delete("/v1/storage_pools/{pool_id}", response_model=Empty, name="pool.delete")
def delete_pool(
    pool_id: str, db: Db, principal: CurrentPrincipal, confirm: ConfirmQuery = None
) -> Empty:
    """Marks it for destruction; propagation removes it from its nodes, then forgets it."""
    pools.destroy_pool(db, principal, pool_id, confirm=confirm)
    return Empty()
