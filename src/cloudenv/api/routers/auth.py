"""Sign-in and sign-out (cloudenv's own endpoints; the product's clients bring a token)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from cloudenv.api.deps import SESSION_COOKIE, CurrentPrincipal, Db, NodeSettings, client_address
from cloudenv.api.deps import request_token as token_of
from cloudenv.api.schemas.auth import CurrentUser, LoginRequest, LoginResponse
from cloudenv.api.schemas.common import Empty
from cloudenv.services import auth

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=LoginResponse,
    name="auth.login",
    responses={401: {"description": "Wrong user name or password, or the user can't sign in."}},
)
def login(
    body: LoginRequest, request: Request, response: Response, db: Db, settings: NodeSettings
) -> LoginResponse:
    result = auth.login(
        db,
        body.username,
        body.password,
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
        user=CurrentUser.of(result.principal),
    )


@router.post("/logout", response_model=Empty, name="auth.logout")
def logout(request: Request, response: Response, db: Db, principal: CurrentPrincipal) -> Empty:
    token = token_of(request)
    if token:
        auth.logout(db, principal, token)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return Empty()


@router.get("/me", response_model=CurrentUser, name="auth.me")
def me(principal: CurrentPrincipal) -> CurrentUser:
    return CurrentUser.of(principal)
