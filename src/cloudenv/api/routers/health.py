"""``GET /v1/healthcheck``: answered with or without credentials."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from cloudenv.api.deps import Db, NodeSettings
from cloudenv.api.schemas.common import Schema
from cloudenv.services import health

router = APIRouter(tags=["health"])


class Healthcheck(Schema):
    id: str = Field(description="The serving node's ID, readable at /v1/nodes/{id}.")
    cluster_id_hash: str
    healthy: bool
    time: int = Field(description="Unix seconds.")


@router.get("/v1/healthcheck", response_model=Healthcheck, name="health.check")
def healthcheck(db: Db, settings: NodeSettings) -> Healthcheck:
    result = health.check(db, settings.node_id)
    return Healthcheck(
        id=result.node_id,
        cluster_id_hash=result.cluster_id_hash,
        healthy=result.healthy,
        time=result.time,
    )
