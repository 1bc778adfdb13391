"""Sign-in and the second factor on the wire."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema


class LoginRequest(RequestBody):
    username: str = Field(min_length=1, max_length=64, examples=["pceadmin"])
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(
        default=None,
        max_length=64,
        description="For a user with a second factor: the code the authenticator app shows, "
        "or one of the recovery codes (each works once). Without it such a user is answered "
        "401 with field 'otp'.",
        examples=["492039"],
    )


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
    must_enroll_mfa: bool = Field(
        default=False,
        description="The organization requires a second factor this user has not enrolled: "
        "until they do, only /v1/auth/mfa/enroll, /v1/auth/mfa/confirm, /v1/auth/me and "
        "/v1/auth/logout answer.",
    )


class LoginResponse(Schema):
    token: str = Field(
        description="Send as 'Authorization: Bearer <token>'; also set as the session cookie."
    )
    expires_in: int = Field(description="Seconds until the session ends.")
    user: CurrentUser


class MfaEnrolment(Schema):
    secret: str = Field(
        description="The TOTP secret (base32), for typing into an authenticator app.",
        examples=["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"],
    )
    otpauth_uri: str = Field(
        description="The same as an otpauth:// URI, for a QR code.",
        examples=["otpauth://totp/cloudenv:alice?secret=JBSWY3DPEHPK3PXP&issuer=cloudenv"],
    )
    recovery_codes: list[str] = Field(
        description="Ten single-use codes that sign in when the authenticator is lost; "
        "shown only now.",
        examples=[["k3j2a-pq7xz"]],
    )


class MfaConfirm(RequestBody):
    code: str = Field(
        min_length=1, max_length=64, description="A current code of the new authenticator."
    )


class MfaDisable(RequestBody):
    code: str | None = Field(
        default=None, max_length=64, description="A current code or a recovery code."
    )
    password: str | None = Field(
        default=None, max_length=1024, description="Or the user's password."
    )
