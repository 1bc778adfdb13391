"""Instance snapshots on the wire (``/v1/instances/{id}/snapshots``)."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp


class Snapshot(Schema):
    name: str = Field(examples=["before-upgrade"])
    instance_id: str
    description: str
    status: str = Field(description="creating, ready or error.")
    creation: Timestamp


class SnapshotCreate(RequestBody):
    name: str = Field(
        description="1-64 of letters, digits, '_', '.', '-'; unique per instance.",
        examples=["before-upgrade"],
    )
    description: str = ""
