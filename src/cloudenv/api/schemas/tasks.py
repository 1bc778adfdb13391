"""Tasks on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cloudenv.api.schemas.common import Schema, Timestamp


class Task(Schema):
    id: str = Field(examples=["task-qthm_iLrflJ_DtSS1l4Gx1"])
    kind: str = Field(examples=["node.refresh_facts"])
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    progress: int = Field(ge=0, le=100)
    message: str = Field(description="Why it failed, when it did.")
    log: list[dict[str, Any]]
    target_id: str | None
    node_id: str | None
    organization_id: str | None
    created_by: str | None
    creation: Timestamp
    start_time: Timestamp | None
    end_time: Timestamp | None


class NodeTask(Schema):
    """The product's node task list entry, plus the task's message (cloudenv's addition) so
    a list can say why a task failed without a read per task."""

    id: str
    instance_id: str | None = Field(validation_alias="target_id")
    type: str = Field(validation_alias="kind")
    status: str
    start_time: Timestamp | None
    end_time: Timestamp | None
    progress: int
    message: str = Field(description="Why it failed, when it did.")
