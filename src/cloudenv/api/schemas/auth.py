"""Sign-in on the wire."""

from __future__ import annotations

from pydantic import Field

from cloudenv.api.schemas.common import RequestBody, Schema
from cloudenv.services.access import ROOT_ONLY, Action, Principal


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
    actions: list[str] = Field(
        default_factory=list,
        description=(
            "The actions the caller's policies allow on some target: the web UI hides what "
            "none of them allows (the server checks each request still)."
        ),
    )

    @classmethod
    def of(cls, principal: Principal) -> CurrentUser:
        return cls.model_validate(principal).model_copy(
            update={"actions": allowed_actions(principal)}
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
