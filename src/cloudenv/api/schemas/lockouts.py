"""Lockouts and an organization's sign-in settings on the wire."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema, Timestamp


class UserLockout(Schema):
    id: int
    user_id: str
    username: str
    locked_at: Timestamp
    until: Timestamp = Field(description="When it ends by itself.")
    failures: int = Field(description="Failed sign-ins that locked the account.")
    source_address: str | None = Field(description="Where the last of them came from.")
    active: bool = Field(description="In force now (not lapsed, not cleared).")


class SignInSecurity(Schema):
    require_mfa: bool = Field(
        description="Every user of the organization must sign in with a one-time code."
    )
    lockout_threshold: int = Field(examples=[5], description="Failed sign-ins that lock.")
    lockout_window_minutes: int = Field(examples=[15], description="Counted within this.")
    lockout_minutes: int = Field(examples=[15], description="How long an account stays locked.")


class SignInSecurityUpdate(RequestBody):
    require_mfa: bool | None = None
    lockout_threshold: int | None = Field(default=None, ge=1, le=100)
    lockout_window_minutes: int | None = Field(default=None, ge=1, le=1440)
    lockout_minutes: int | None = Field(default=None, ge=1, le=1440)
