"""Shapes every area shares: timestamps, ``{id}``, ``{task_id}``, ``{}``, the error body."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.json_schema import SkipJsonSchema

from cloudenv import clock

#: RFC 3339 string with seconds precision, e.g. "2026-11-24T07:21:26Z" (never epoch numbers).
Timestamp = Annotated[datetime, PlainSerializer(clock.rfc3339, return_type=str)]


class Schema(BaseModel):
    """A reply (or a part of one): built from services' records by attribute."""

    model_config = ConfigDict(from_attributes=True)


class RequestBody(BaseModel):
    """The base of every request body, and of every model nested in one.

    Strict, because a client that sends ``"longitude": false`` or ``"name": 5`` has a bug
    that a silent 0.0 or "5" would hide: a boolean is not a number, a number is not a
    string, an integer is not a float with a fraction; and a field the API does not know
    is refused by name rather than ignored (the product's Go client sends exactly the
    documented fields). FastAPI validates bodies in pydantic's python mode, where strict
    mode also refuses the strings JSON carries for datetimes, enums or UUIDs: give such a
    field ``Field(strict=False)`` (``tests/unit/api/test_strict_bodies.py`` sends every
    body through the API, so a field that refuses its own JSON form fails there).
    """

    model_config = ConfigDict(strict=True, extra="forbid")


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
    """Every error reply, whatever the route (``api/openapi.py`` declares it on each)."""

    code: int = Field(description="The HTTP status.", examples=[409])
    message: str = Field(
        description="What went wrong and what to do.",
        examples=["Datacenter dc-… still has 1 cluster(s); remove them first."],
    )
    field: str | SkipJsonSchema[None] = Field(
        default=None,
        description="The request field at fault; absent when no one field is.",
        examples=["location.longitude"],
    )
    details: list[dict[str, Any]] | SkipJsonSchema[None] = Field(
        default=None,
        description="Per-item outcomes when the request was about many items (an import's "
        "rows); absent otherwise.",
    )
