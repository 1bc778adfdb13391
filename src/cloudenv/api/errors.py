"""The one place errors become HTTP responses: ``{"code", "message", "field"}`` always,
never FastAPI's ``{"detail"}`` (the product's Go clients would show raw JSON). Refused or
failed mutating calls are audited here, in a transaction of their own."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloudenv.errors import CloudenvError
from cloudenv.services import audit
from cloudenv.store.engine import transaction

log = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sign-in audits its own failures (it knows which user was tried).
SELF_AUDITED = frozenset({"auth.login"})


def error_body(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "message": message}
    if field:
        body["field"] = field
    return body


def _respond(request: Request, status: int, message: str, field: str | None = None) -> JSONResponse:
    if request.method in MUTATING:
        _audit_failure(request, status, message)
    return JSONResponse(error_body(status, message, field), status_code=status)


def _audit_failure(request: Request, status: int, message: str) -> None:
    route = request.scope.get("route")
    action = getattr(route, "name", None) or f"{request.method} {request.url.path}"
    if action in SELF_AUDITED:
        return
    principal = getattr(request.state, "principal", None)
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


def _describe(error: dict[str, Any]) -> tuple[str, str | None]:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    text = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    if error.get("type") == "json_invalid":
        return "The request body is not valid JSON.", None
    if not field and error.get("type") in ("model_attributes_type", "dict_type"):
        return "The request body must be a JSON object.", None
    if error.get("type") == "missing":
        return f"'{field}' is required.", field
    return (f"'{field}': {text}." if field else f"{text}."), field


async def on_cloudenv_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CloudenvError)
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return _respond(request, exc.status, exc.message, exc.field)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    message, field = _describe(errors[0]) if errors else ("The request is not valid.", None)
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more problem(s) in the request.)"
    return _respond(request, 400, message, field)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    messages = {
        404: f"There is no API endpoint at {request.url.path}.",
        405: f"{request.method} is not allowed on {request.url.path}.",
    }
    message = messages.get(exc.status_code) or str(exc.detail)
    return _respond(request, exc.status_code, message)


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s crashed", request.method, request.url.path, exc_info=exc)
    return _respond(request, 500, "An internal error occurred; the node's log has the details.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(CloudenvError, on_cloudenv_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
