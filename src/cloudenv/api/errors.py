"""The one place errors become HTTP responses: ``{"code", "message", "field"}`` always,
never FastAPI's ``{"detail"}`` (the product's Go clients would show raw JSON). A signed-in
caller's refused or failed mutating call is audited here, in a transaction of its own;
an anonymous caller's refusal is only counted (``api/refusals.py``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloudenv.api.refusals import UNROUTED, RefusalCounter
from cloudenv.errors import CloudenvError, TooManyRequests
from cloudenv.services import audit
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Request bodies larger than this are refused with 413 (streamed uploads excepted).
MAX_BODY_BYTES = 1024 * 1024
#: On every response: HTTPS only from now on, no MIME sniffing, never framed, no referrer.
_COMMON_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: An API reply is data, never a document: it may load nothing at all.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
#: The web UI (everything served outside /api) runs only its own bundled code: no inline
#: scripts, nothing from another origin (a node must work air-gapped, and an injected
#: script must find nowhere to load from or send to). Inline styles are allowed because
#: PatternFly and the console widgets set element styles at run time; images may be data:
#: and blob: URLs (icons, the VNC canvas' snapshots).
UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
#: The headers of every API response.
SECURITY_HEADERS = {**_COMMON_HEADERS, "Content-Security-Policy": API_CSP}
#: The headers of every web UI response (its page, scripts, styles and assets).
UI_SECURITY_HEADERS = {**_COMMON_HEADERS, "Content-Security-Policy": UI_CSP}


def is_api_path(path: str) -> bool:
    """True for the API's paths (/api and below); every other path is the web UI's."""
    return path == "/api" or path.startswith("/api/")


def security_headers(path: str) -> dict[str, str]:
    """The security headers of a response to ``path``: the API's or the web UI's."""
    return SECURITY_HEADERS if is_api_path(path) else UI_SECURITY_HEADERS


# Sign-in audits its own failures (it knows which user was tried). Its 429s (a flood
# throttled before any password is checked) are only counted, like any anonymous refusal:
# a row per throttled guess would let the flood write to the database after all.
SELF_AUDITED = frozenset({"auth.login"})


def error_body(
    status: int,
    message: str,
    field: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "message": message}
    if field:
        body["field"] = field
    if details is not None:
        body["details"] = details
    return body


def count_anonymous(app: object, address: str | None, action: str, status: int, msg: str) -> None:
    """Tally a refusal of a caller without valid credentials: no database write."""
    counter: RefusalCounter | None = getattr(getattr(app, "state", None), "refusals", None)
    if counter is not None:
        counter.count(address, action, status, msg)


def _action(request: Request) -> str:
    """The route's name; never the path of a request no route serves (the caller chose it,
    and a key per path would let anyone grow the refusal tallies)."""
    route = request.scope.get("route")
    return getattr(route, "name", None) or UNROUTED


async def _respond(
    request: Request,
    status: int,
    message: str,
    field: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The error reply, once the refusal is counted or audited. The audit row is written on
    a worker thread: a database write on the event loop would hold every request and
    stream of this process while it waits (up to the database's busy timeout)."""
    if getattr(request.state, "principal", None) is None:
        if _action(request) not in SELF_AUDITED or status == 429:
            address = request.client.host if request.client else None
            count_anonymous(request.app, address, _action(request), status, message)
    elif request.method in MUTATING:
        await run_in_threadpool(_audit_failure, request, status, message)
    return JSONResponse(
        error_body(status, message, field, details), status_code=status, headers=headers
    )


def _audit_failure(request: Request, status: int, message: str) -> None:
    """Write the failure's audit row in a transaction of its own; blocks, so call it off
    the event loop."""
    action = _action(request)
    if action in SELF_AUDITED:
        return
    principal = request.state.principal
    target = next(iter(request.path_params.values()), None) if request.path_params else None
    try:
        with transaction(request.app.state.session_factory) as db:
            audit.record(
                db,
                principal,
                action,
                target_id=target,
                outcome="failure",
                status_code=status,
                message=message,
                source_address=request.client.host if request.client else None,
            )
    except Exception:  # the refusal itself must still reach the caller
        log.exception("could not audit a failed %s", action)


#: What a strict body field expected, by pydantic's error type, in the API's words.
_EXPECTED = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
    "literal_error": None,
}


def _json_kind(value: object) -> str:
    """How a client would name the JSON value it sent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def body_too_large(limit: int = MAX_BODY_BYTES) -> str:
    return (
        f"The request body is larger than {limit // 1024} KiB, the most this API accepts "
        "(images are uploaded as a stream to /api/v1/nodes/{id}/images/images)."
    )


# The tags of the request bodies' discriminated unions (InstanceDeploy.metadata's `_type`).
# Pydantic puts the chosen member's tag in an error's location (metadata.qemu.new_volumes),
# but the client never wrote it: its body has metadata.new_volumes.
_UNION_TAGS = frozenset({"qemu", "lxc"})


def field_path(loc: Sequence[int | str]) -> str | None:
    """A request field's path as the services write it and the web UI matches it: names
    joined by dots, a list's items by index in brackets (`metadata.new_volumes[0].size`)."""
    path = ""
    for index, part in enumerate(loc):
        if index == 0 and part in ("body", "query", "path"):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_TAGS and path:
            continue
        else:
            path += f".{part}" if path else part
    return path or None


def _describe(error: dict[str, Any]) -> tuple[str, str | None]:
    field = field_path(error.get("loc", ()))
    kind = error.get("type")
    text = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    if kind == "json_invalid":
        return "The request body is not valid JSON.", None
    if not field and kind in ("model_attributes_type", "dict_type", "model_type"):
        return "The request body must be a JSON object.", None
    if kind == "missing":
        return f"'{field}' is required.", field
    if kind == "extra_forbidden":
        return (
            f"'{field}' is not a field of this request; remove it (the API document at "
            "/api/v1/openapi.json lists the fields).",
            field,
        )
    expected = _EXPECTED.get(str(kind))
    if expected and field:
        return f"'{field}' must be {expected}, not {_json_kind(error.get('input'))}.", field
    return (f"'{field}': {text}." if field else f"{text}."), field


async def on_cloudenv_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CloudenvError)
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    headers = None
    if isinstance(exc, TooManyRequests) and exc.retry_after is not None:
        headers = {"Retry-After": str(max(1, exc.retry_after))}
    return await _respond(request, exc.status, exc.message, exc.field, exc.details, headers)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    message, field = _describe(errors[0]) if errors else ("The request is not valid.", None)
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more problem(s) in the request.)"
    return await _respond(request, 400, message, field)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    messages = {
        404: f"There is no API endpoint at {request.url.path}.",
        405: f"{request.method} is not allowed on {request.url.path}.",
        413: body_too_large(),
    }
    message = messages.get(exc.status_code) or str(exc.detail)
    return await _respond(request, exc.status_code, message)


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s crashed", request.method, request.url.path, exc_info=exc)
    response = await _respond(
        request, 500, "An internal error occurred; the node's log has the details."
    )
    # Sent by Starlette's outermost middleware, outside the one adding these to the rest.
    response.headers.update(security_headers(request.url.path))
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(CloudenvError, on_cloudenv_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
