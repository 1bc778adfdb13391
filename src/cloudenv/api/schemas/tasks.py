"""Tasks on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from cloudenv.api.schemas.common import Schema, Timestamp


class Task(Schema):
    id: str = Field(examples=["task-qthm_iLrflJ_DtSS1l4Gx1"])
    kind: str = Field(examples=["node.refresh_facts"])
    description: str = Field(
        description="What a task of this kind does, in words (the kind's name when this "
        "version no longer knows the kind).",
        examples=["Re-read the node's hardware and host facts and store them."],
    )
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    progress: int = Field(ge=0, le=100)
    message: str = Field(description="Why it failed, when it did.")
    log: list[dict[str, Any]]
    target_id: str | None
    target_name: str | None = Field(
        description="The name of the instance, node or image it works on; null when the "
        "target is gone (a destroyed instance) or has no name."
    )
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
