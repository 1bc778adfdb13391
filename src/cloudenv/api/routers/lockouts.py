"""Sign-in security of an organization: its lockouts (and clearing one) and its settings
(lockout thresholds, a second factor required)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.common import Empty
from cloudenv.api.schemas.lockouts import SignInSecurity, SignInSecurityUpdate, UserLockout
from cloudenv.services.iam import lockouts
from cloudenv.services.partial import KEEP

router = APIRouter(prefix="/v1", tags=["organizations"])

Entries = Annotated[int, Query(ge=1, le=5000, description="Entries per page.")]
Page = Annotated[int, Query(ge=1, description="Page, from 1.")]


@router.get(
    "/organizations/{organization_id}/lockouts",
    response_model=list[UserLockout],
    name="lockout.list",
)
def list_lockouts(
    organization_id: str,
    db: Db,
    principal: CurrentPrincipal,
    entries: Entries = 50,
    page: Page = 1,
) -> list[UserLockout]:
    """Accounts locked after failed sign-ins: active ones first, then newest first."""
    found = lockouts.list_lockouts(db, principal, organization_id, entries=entries, page=page)
    return [UserLockout.model_validate(v) for v in found]


@router.delete("/users/{user_id}/lockout", response_model=Empty, name="user.unlock")
def unlock_user(user_id: str, db: Db, principal: CurrentPrincipal) -> Empty:
    """Clear the user's active lockouts and failure count."""
    lockouts.unlock(db, principal, user_id)
    return Empty()


@router.get(
    "/organizations/{organization_id}/security",
    response_model=SignInSecurity,
    name="organization.security_read",
)
def get_security(organization_id: str, db: Db, principal: CurrentPrincipal) -> SignInSecurity:
    return SignInSecurity.model_validate(lockouts.get_security(db, principal, organization_id))


@router.patch(
    "/organizations/{organization_id}/security",
    response_model=SignInSecurity,
    name="organization.security_update",
)
def update_security(
    organization_id: str, body: SignInSecurityUpdate, db: Db, principal: CurrentPrincipal
) -> SignInSecurity:
    updated = lockouts.update_security(
        db,
        principal,
        organization_id,
        require_mfa=KEEP if body.require_mfa is None else body.require_mfa,
        lockout_threshold=KEEP if body.lockout_threshold is None else body.lockout_threshold,
        lockout_window_minutes=(
            KEEP if body.lockout_window_minutes is None else body.lockout_window_minutes
        ),
        lockout_minutes=KEEP if body.lockout_minutes is None else body.lockout_minutes,
    )
    return SignInSecurity.model_validate(updated)
