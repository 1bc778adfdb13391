"""Clusters: list, read, edit, hardware totals."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.tenancy import ClusterDetail, ClusterFull, ClusterHardware, ClusterUpdate
from cloudenv.services.partial import KEEP
from cloudenv.services.tenancy import clusters

router = APIRouter(prefix="/v1/clusters", tags=["clusters"])


@router.get("", response_model=list[ClusterFull], name="cluster.list")
def list_clusters(
    db: Db, principal: CurrentPrincipal, datacenter_id: str | None = None
) -> list[ClusterFull]:
    return [
        ClusterFull.model_validate(c) for c in clusters.list_clusters(db, principal, datacenter_id)
    ]


@router.get("/{cluster_id}", response_model=ClusterDetail, name="cluster.read")
def get_cluster(cluster_id: str, db: Db, principal: CurrentPrincipal) -> ClusterDetail:
    view = clusters.get_cluster(db, principal, cluster_id)
    return ClusterDetail(cluster=ClusterFull.model_validate(view))


@router.patch("/{cluster_id}", response_model=ClusterDetail, name="cluster.update")
def update_cluster(
    cluster_id: str, body: ClusterUpdate, db: Db, principal: CurrentPrincipal
) -> ClusterDetail:
    view = clusters.update_cluster(
        db,
        principal,
        cluster_id,
        name=body.name if body.name is not None else KEEP,
        description=body.description if body.description is not None else KEEP,
    )
    return ClusterDetail(cluster=ClusterFull.model_validate(view))


@router.get("/{cluster_id}/hardware", response_model=ClusterHardware, name="cluster.hardware")
def cluster_hardware(cluster_id: str, db: Db, principal: CurrentPrincipal) -> ClusterHardware:
    return ClusterHardware.model_validate(clusters.cluster_hardware(db, principal, cluster_id))
