"""Sign-in, sign-out and one's own second factor (cloudenv's own endpoints; the product's
clients bring a token)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from cloudenv.api.deps import SESSION_COOKIE, CurrentPrincipal, Db, NodeSettings, client_address
from cloudenv.api.deps import request_token as token_of
from cloudenv.api.schemas.auth import (
    CurrentUser,
    LoginRequest,
    LoginResponse,
    MfaConfirm,
    MfaDisable,
    MfaEnrolment,
)
from cloudenv.api.schemas.common import Empty
from cloudenv.services import auth
from cloudenv.services.access import Principal
from cloudenv.services.iam import mfa

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=LoginResponse,
    name="auth.login",
    responses={
        401: {
            "description": "Wrong user name or password, a one-time code needed (field "
            "'otp') or wrong, or the user can't sign in."
        },
        429: {
            "description": "Too many failed sign-ins from this address, or too many "
            "passwords being checked at once; retry after the Retry-After header's seconds."
        },
    },
)
def login(
    body: LoginRequest, request: Request, response: Response, db: Db, settings: NodeSettings
) -> LoginResponse:
    result = auth.login(
        db,
        body.username,
        body.password,
        otp=body.otp,
        session_hours=settings.session_hours,
        source_address=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=result.expires_in,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/",
    )
    return LoginResponse(
        token=result.token,
        expires_in=result.expires_in,
        user=_current(db, result.principal),
    )


@router.post("/logout", response_model=Empty, name="auth.logout")
def logout(request: Request, response: Response, db: Db, principal: CurrentPrincipal) -> Empty:
    token = token_of(request)
    if token:
        auth.logout(db, principal, token)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return Empty()


@router.get("/me", response_model=CurrentUser, name="auth.me")
def me(db: Db, principal: CurrentPrincipal) -> CurrentUser:
    return _current(db, principal)


def _current(db: Db, principal: Principal) -> CurrentUser:
    """The caller as the web UI needs it; whether MFA is on is the user row's (the
    principal carries only what authorization needs)."""
    return CurrentUser.of(principal, mfa_enabled=mfa.is_enabled(db, principal.user_id))


@router.post("/mfa/enroll", response_model=MfaEnrolment, name="auth.mfa_enroll")
def enroll_mfa(db: Db, principal: CurrentPrincipal) -> MfaEnrolment:
    """Start enrolling an authenticator: a new secret and recovery codes, in force once
    confirmed with a code (POST /v1/auth/mfa/confirm)."""
    return MfaEnrolment.model_validate(mfa.enroll(db, principal))


@router.post("/mfa/confirm", response_model=Empty, name="auth.mfa_confirm")
def confirm_mfa(body: MfaConfirm, db: Db, principal: CurrentPrincipal) -> Empty:
    mfa.confirm(db, principal, body.code)
    return Empty()


@router.post("/mfa/disable", response_model=Empty, name="auth.mfa_disable")
def disable_mfa(body: MfaDisable, db: Db, principal: CurrentPrincipal) -> Empty:
    """Stop signing in with a one-time code, proven by a code or the password."""
    auth.disable_mfa(db, principal, code=body.code, password=body.password)
    return Empty()
