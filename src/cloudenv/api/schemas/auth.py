"""Sign-in on the wire."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema


class LoginRequest(RequestBody):
    username: str = Field(min_length=1, max_length=64, examples=["pceadmin"])
    password: str = Field(min_length=1, max_length=1024)


class CurrentUser(Schema):
    id: str | None = Field(validation_alias="user_id")
    username: str
    organization_id: str | None
    is_root: bool = Field(validation_alias="is_root_user")
    is_root_organization: bool = Field(validation_alias="is_root_org")
    must_change_password: bool = Field(
        default=False,
        description="Signed in with a temporary password: change it (POST "
        "/api/v1/auth/password) before anything else.",
    )


class LoginResponse(Schema):
    token: str = Field(
        description="Send as 'Authorization: Bearer <token>'; also set as the session cookie."
    )
    expires_in: int = Field(description="Seconds until the session ends.")
    user: CurrentUser
