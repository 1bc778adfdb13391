"""Request dependencies: the unit of work (one commit per request, before the reply) and
the calling principal (session cookie or bearer token).

A route is authenticated exactly when it depends on :data:`CurrentPrincipal`; the request
gate (``api/edge.py``) and the OpenAPI error declarations (``api/openapi.py``) both read
that from the route (:func:`needs_principal`), so neither keeps a list of routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker

from cloudenv.api import permissions
from cloudenv.config import Settings
from cloudenv.errors import Forbidden, NotAuthenticated
from cloudenv.services import auth
from cloudenv.services.access import Principal, authorize_route
from cloudenv.store.engine import transaction

SESSION_COOKIE = "cloudenv_session"


def _db(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.session_factory) as session:
        yield session


# scope="function": the commit runs when the handler returns, before the reply is sent.
Db = Annotated[Session, Depends(_db, scope="function")]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if the request has one."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def request_token(request: Request) -> str | None:
    """The caller's session token: the bearer token, else the session cookie."""
    return bearer_token(request) or request.cookies.get(SESSION_COOKIE)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


SIGN_IN_FIRST = (
    "Sign in first: send the session cookie or 'Authorization: Bearer <token>' "
    "(POST /api/v1/auth/login gives both)."
)


def authenticate(factory: sessionmaker[Session], token: str, address: str | None) -> Principal:
    """The principal ``token`` belongs to, read in a unit of work of its own (the request
    gate calls this before the request's body is read); NotAuthenticated if none."""
    with transaction(factory) as db:
        return auth.authenticate(db, token, address)


def _principal(request: Request, db: Db) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # else the gate checked the credentials before reading the body
        token = request_token(request)
        if token is None:
            raise NotAuthenticated(SIGN_IN_FIRST)
        principal = auth.authenticate(db, token, client_address(request))
        request.state.principal = principal
    _gate(request, principal)
    return principal


#: What a session signed in with a temporary password may call until it changes it.
PASSWORD_CHANGE_ROUTES = frozenset({"auth.me", "auth.logout", "auth.password"})
TEMPORARY_SESSION_REFUSED = (
    "Your password is temporary: change it first (POST /api/v1/auth/password with "
    "current_password and new_password), then continue."
)
MFA_FIRST = (
    "{username}'s organization requires a one-time code at sign-in: enroll an "
    "authenticator first (POST /api/v1/auth/mfa/enroll, then /api/v1/auth/mfa/confirm)."
)


def _gate(request: Request, principal: Principal) -> None:
    """Refuse a caller none of whose policies could allow the route's action (see
    ``api/permissions.py``); the service checks the target itself. A caller signed in
    with a temporary password is refused everything but changing it; then a user who
    still has to enroll the second factor their organization requires may only do that
    (changing the password first stays possible, or the two would lock each other out)."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        if principal.must_change_password and route.name not in PASSWORD_CHANGE_ROUTES:
            raise Forbidden(TEMPORARY_SESSION_REFUSED)
        if principal.must_enroll_mfa and route.name not in (
            permissions.MFA_ENROLMENT_ROUTES | PASSWORD_CHANGE_ROUTES
        ):
            raise Forbidden(MFA_FIRST.format(username=principal.username))
        action = permissions.route_action(route.name)
        if action is not None:
            authorize_route(principal, action)


def _depends_on(dependant: Dependant, call: object) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def needs_principal(route: APIRoute) -> bool:
    """True when ``route`` answers only signed-in callers (it depends on CurrentPrincipal)."""
    return _depends_on(route.dependant, _principal)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
NodeSettings = Annotated[Settings, Depends(_settings)]
