"""Sign-in and the second factor on the wire."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema
from cloudenv.services.access import ROOT_ONLY, Action, Principal


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
    mfa_enabled: bool = Field(
        default=False, description="Signs in with a one-time code after the password."
    )
    actions: list[str] = Field(
        default_factory=list,
        description=(
            "The actions the caller's policies allow on some target: the web UI hides what "
            "none of them allows (the server checks each request still)."
        ),
    )

    @classmethod
    def of(cls, principal: Principal, *, mfa_enabled: bool = False) -> CurrentUser:
        return cls.model_validate(principal).model_copy(
            update={"actions": allowed_actions(principal), "mfa_enabled": mfa_enabled}
        )


def allowed_actions(principal: Principal) -> list[str]:
    """Every action some policy of ``principal`` allows somewhere, in the vocabulary's
    order; the root organization's own actions only for its users, as ``authorize`` refuses
    them to everyone else whatever their policies say."""
    return [
        action.value
        for action in Action
        if principal.may_somewhere(action) and (principal.is_root_org or action not in ROOT_ONLY)
    ]


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
