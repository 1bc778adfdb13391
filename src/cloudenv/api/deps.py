"""Request dependencies: the unit of work (one commit per request, before the reply) and
the calling principal (session cookie or bearer token)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from cloudenv.config import Settings
from cloudenv.errors import NotAuthenticated
from cloudenv.services import auth
from cloudenv.services.access import Principal
from cloudenv.store.engine import transaction

SESSION_COOKIE = "cloudenv_session"


def _db(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.session_factory) as session:
        yield session


# scope="function": the commit runs when the handler returns, before the reply is sent.
Db = Annotated[Session, Depends(_db, scope="function")]


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _principal(request: Request, db: Db) -> Principal:
    token = request_token(request)
    if token is None:
        raise NotAuthenticated(
            "Sign in first: send the session cookie or 'Authorization: Bearer "
            "<token>' (POST /api/v1/auth/login gives both)."
        )
    principal = auth.authenticate(db, token, client_address(request))
    request.state.principal = principal
    return principal


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
NodeSettings = Annotated[Settings, Depends(_settings)]
