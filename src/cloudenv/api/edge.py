"""What every HTTP request meets before a router: credentials (and the CSRF defence of
cookie-signed-in changes) checked before the body is read, a body size limit, and the
security headers on every response.

Pure ASGI (no ``BaseHTTPMiddleware``), so streamed replies (``/api/v1/events``) and
streamed uploads pass through message by message. Nothing here parses a body or decides
what a route does: which routes need a principal and which stream their body is read from
the route table (``api/routes.py``, kept in ``app.state.routes``).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudenv.api.deps import SIGN_IN_FIRST, authenticate, bearer_token, request_token
from cloudenv.api.errors import (
    MAX_BODY_BYTES,
    MUTATING,
    SECURITY_HEADERS,
    UI_SECURITY_HEADERS,
    body_too_large,
    count_anonymous,
    error_body,
    is_api_path,
)
from cloudenv.api.refusals import UNROUTED
from cloudenv.api.routes import RouteTable
from cloudenv.errors import NotAuthenticated

API_PREFIX = "/api/"


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


_API_HEADERS = _raw(SECURITY_HEADERS)
_UI_HEADERS = _raw(UI_SECURITY_HEADERS)


class SecurityHeaders:
    """Adds the security headers to every HTTP response that passes through: the API's
    (SECURITY_HEADERS) under /api, the web UI's (UI_SECURITY_HEADERS) elsewhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        added = _API_HEADERS if is_api_path(scope["path"]) else _UI_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: The header a browser client sends with every change it makes by the session cookie.
CSRF_HEADER = "X-Requested-With"
CSRF_REFUSED = (
    f"A change signed in by the session cookie must carry the header '{CSRF_HEADER}' "
    f"(any value, e.g. '{CSRF_HEADER}: cloudenv'), which a page of another site can't "
    "send; API clients can send 'Authorization: Bearer <token>' instead."
)
#: Headers every current browser adds to a request that changes something (Origin on
#: each POST/PUT/PATCH/DELETE, Sec-Fetch-Site on each request); a program's HTTP client
#: sends neither unless it is told to.
_BROWSER_HEADERS = ("origin", "sec-fetch-site")
#: The media types a browser sends without any script's or the node's consent: the three
#: an HTML form's enctype can name (navigator.sendBeacon sends them too) and the one of an
#: ``<a ping>``. A browser too old to add Origin or Sec-Fetch-Site (or a privacy proxy
#: that strips them) still sends one of these with a forged change, while a program
#: speaking JSON never does. Every other type needs a CORS preflight, which carries Origin.
_BROWSER_MEDIA_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "text/ping"}
)


def _media_type(request: Request) -> str | None:
    """The Content-Type without its parameters (``; charset=...``, ``; boundary=...``),
    lower-cased; None when the request names none."""
    value = request.headers.get("content-type")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower()


def forgeable(request: Request) -> bool:
    """True for a request another site could have made the user's browser send: one that
    changes something, authenticated by the session cookie (a browser adds it by itself;
    a bearer token must be set by the caller's own code), sent by a browser, without the
    CSRF header (a cross-site page can't add a custom header without the node's consent,
    which it never gives). The session cookie is also SameSite=Strict; this covers what
    that doesn't: other sites on the same host, another port of the node included.

    Programs are told apart from browsers by the headers only browsers add, so a
    program that authenticates by the cookie alone (the product's MCP server over stdio
    can send nothing else, see API-COMPAT.md) keeps working unchanged. A request without
    those headers is still a browser's when its body is one a form can post: routes
    without a body accept any Content-Type, so ``<form method=post>`` on a same-site page
    could otherwise cancel a task or sign the user out from a browser (or behind a proxy)
    that adds no Origin. The MCP server sends JSON, so it is unaffected.

    A change with no Content-Type at all stays allowed from a program: a form always
    names one (``application/x-www-form-urlencoded`` when the enctype says nothing), a
    cross-origin fetch() carries Origin, and a body-less POST from a Go HTTP client may
    well name none."""
    if request.method not in MUTATING or bearer_token(request) is not None:
        return False
    if request.headers.get(CSRF_HEADER, "").strip():
        return False
    if any(name in request.headers for name in _BROWSER_HEADERS):
        return True
    return _media_type(request) in _BROWSER_MEDIA_TYPES


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body without Content-Length grows past the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, body_too_large(limit))


class RequestGate:
    """Refuses, before any of the body is read: a route that needs a principal called
    without valid credentials (401) or by a request another site could have forged (403,
    see :func:`forgeable`), and a body declared larger than ``max_body`` (413);
    a body that turns out larger while it is read ends in 413 too. The principal found
    is left in the request's state for the CurrentPrincipal dependency."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        app = scope["app"]
        table: RouteTable = app.state.routes
        rule = table.match(scope["method"], path)
        # An /api path no route serves (or not with this method) needs credentials too,
        # so an anonymous caller learns nothing about which paths exist.
        unrouted_public = not path.startswith(API_PREFIX) or path == app.openapi_url
        needs_principal = rule.needs_principal if rule else not unrouted_public
        request = Request(scope)
        address = scope["client"][0] if scope.get("client") else None
        action = rule.name if rule else UNROUTED
        if needs_principal:
            token = request_token(request)
            try:
                if token is None:
                    raise NotAuthenticated(SIGN_IN_FIRST)
                factory = app.state.session_factory
                principal = await run_in_threadpool(authenticate, factory, token, address)
            except NotAuthenticated as exc:
                count_anonymous(app, address, action, 401, exc.message)
                await _reply(scope, receive, send, 401, exc.message)
                return
            if forgeable(request):
                count_anonymous(app, address, action, 403, CSRF_REFUSED)
                await _reply(scope, receive, send, 403, CSRF_REFUSED)
                return
            scope.setdefault("state", {})["principal"] = principal
        if rule and rule.streamed_body:
            await self.app(scope, receive, send)
            return
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await _reply(scope, receive, send, 413, body_too_large(self.max_body))
            return
        await self.app(scope, _limited(receive, self.max_body), send)


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_at_most() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_at_most


async def _reply(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    """Answer without reading the body; the connection is closed after it, so an unread
    body can't be taken for the next request."""
    response = JSONResponse(
        error_body(status, message), status_code=status, headers={"Connection": "close"}
    )
    await response(scope, receive, send)
