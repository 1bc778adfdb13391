"""Every route an app serves, with what a test needs to call it: the path parameters to
fill, the query parameters the OpenAPI document declares, whether it takes a body.

FastAPI keeps included routers as nested branches (``app.routes`` lists only the top
level), so routes are read through ``fastapi.routing.iter_route_contexts``, which walks
them as the app dispatches them. Routes added later are found the same way.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
#: Methods Starlette adds on its own (HEAD beside GET) or that carry no route logic.
_IMPLIED = {"HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Endpoint:
    """One method of one HTTP route."""

    method: str
    path: str  # the template, /api/v1/instances/{instance_id}
    name: str  # the route's name: the audit name for cloudenv's own routes
    query: tuple[str, ...]  # declared query parameters
    required_query: tuple[str, ...]
    body: str | None  # the body's media type, when the route takes one

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def segments_before(self) -> dict[str, str]:
        """Each path parameter with the literal segment before it (``devices`` for the
        ``name`` of ``.../devices/{name}``): what kind of object the parameter names."""
        parts = self.path.strip("/").split("/")
        found = {}
        for before, part in itertools.pairwise(parts):
            match = _PARAM.fullmatch(part)
            if match:
                found[match.group(1)] = before
        return found

    def url(self, params: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: params[m.group(1)], self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def http_endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app answers over HTTP, documented or not."""
    operations: dict[str, Any] = app.openapi()["paths"]
    found = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIWebSocketRoute) or route.path is None:
            continue
        for method in sorted((route.methods or set()) - _IMPLIED):
            operation = operations.get(route.path, {}).get(method.lower(), {})
            query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            content = operation.get("requestBody", {}).get("content", {})
            found.append(
                Endpoint(
                    method=method,
                    path=route.path,
                    name=route.name or "",
                    query=tuple(p["name"] for p in query),
                    required_query=tuple(p["name"] for p in query if p.get("required")),
                    body=next(iter(content), None),
                )
            )
    return found


def websocket_paths(app: FastAPI) -> list[str]:
    return [
        route.path
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIWebSocketRoute) and route.path
    ]


def other_routes(app: FastAPI) -> list[str]:
    """Routes that are neither an HTTP route with methods nor a WebSocket (a ``Mount`` of
    static files or of another app): walked by no generic test, so listed by the caller."""
    return [
        repr(route.original_route)
        for route in iter_route_contexts(app.routes)
        if not isinstance(route.original_route, APIWebSocketRoute)
        and (route.path is None or not route.methods)
    ]
