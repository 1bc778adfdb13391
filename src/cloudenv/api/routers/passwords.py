"""A signed-in user changing their own password (``POST /v1/auth/password``): how a
temporary password is replaced, and the only way anyone changes their own."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.deps import request_token as token_of
from cloudenv.api.schemas.common import Empty
from cloudenv.api.schemas.users import PasswordChange
from cloudenv.services.iam import passwords

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/password", response_model=Empty, name="auth.password")
def change_password(
    body: PasswordChange, request: Request, db: Db, principal: CurrentPrincipal
) -> Empty:
    """Change one's own password, proving the current one. The user's other sessions
    end; this one stays (and may do everything again, when the password was temporary)."""
    passwords.change_own_password(
        db,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        current_token=token_of(request),
    )
    return Empty()
