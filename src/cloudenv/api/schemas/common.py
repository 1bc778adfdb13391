"""Shapes every area shares: timestamps, ``{id}``, ``{task_id}``, ``{}``, the error body."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from cloudenv import clock

#: RFC 3339 string with seconds precision, e.g. "2026-11-24T07:21:26Z" (never epoch numbers).
Timestamp = Annotated[datetime, PlainSerializer(clock.rfc3339, return_type=str)]


class Schema(BaseModel):
    """Reads services' records by attribute. Unknown request fields are ignored: the
    product's clients send fields cloudenv may not use yet."""

    model_config = ConfigDict(from_attributes=True)


class Created(Schema):
    id: str = Field(description="The new object's ID.", examples=["dc-VrP6KxEw19aQb2hTnY4Ld"])


class TaskRef(Schema):
    task_id: str = Field(
        description="The task doing the work; follow it at /api/v1/tasks/{id}.",
        examples=["task-qthm_iLrflJ_DtSS1l4Gx1"],
    )


class Empty(Schema):
    """``{}``: the product's clients need a JSON body on every 2xx, DELETE included."""


class ErrorBody(Schema):
    code: int = Field(description="The HTTP status.", examples=[409])
    message: str = Field(
        description="What went wrong and what to do.",
        examples=["Datacenter dc-… still has 1 cluster(s); remove them first."],
    )
    field: str | None = Field(default=None, description="The request field at fault, if one.")
