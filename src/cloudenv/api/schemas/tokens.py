"""API tokens and sessions of a user on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp


def _rfc3339_text(value: object) -> object:
    """A time in a JSON body is an RFC 3339 string: lax mode would also take a number (as
    seconds since 1970), which is a client's bug here."""
    if value is not None and not isinstance(value, str | datetime):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


#: An RFC 3339 time in a request body (a string, never a number).
TimeText = Annotated[datetime, BeforeValidator(_rfc3339_text)]


class Token(Schema):
    id: str = Field(examples=["tok-qthm_iLrflJ_DtSS1l4Gx1"])
    name: str = Field(examples=["backup script"])
    expiry: Timestamp | None = Field(description="When it stops working; null: never.")
    last_used: Timestamp | None = Field(
        description="When it last signed a request in (to the minute); null: never."
    )
    creation: Timestamp


class TokenCreate(RequestBody):
    name: str = Field(min_length=1, max_length=64, examples=["backup script"])
    expiry: TimeText | None = Field(
        default=None,
        strict=False,
        description="RFC 3339 time it stops working; omit for none.",
        examples=["2030-01-31T00:00:00Z"],
    )


class NewToken(Schema):
    id: str = Field(examples=["tok-qthm_iLrflJ_DtSS1l4Gx1"])
    name: str
    expiry: Timestamp | None
    token: str = Field(
        description="The secret, shown only now: send it as 'Authorization: Bearer <token>'.",
        examples=["cetok_2Xq9..."],
    )


class SessionsInvalidate(RequestBody):
    invalidate_current: Literal["true", "false"] = Field(
        default="true",
        description='A string, as the product\'s clients send it: "false" keeps the '
        "session this request was made with (when it is one of the user's).",
    )
