"""What each API route is, read once from the routers when the app is built: its name,
whether it needs a signed-in caller, whether its body is streamed, which parameters it
takes, and from that the error statuses it can answer.

The request gate (``api/edge.py``) matches requests against this table before routing;
the OpenAPI document (``api/openapi.py``) declares each operation's errors from it. So a
new route gets both by its shape alone (depending on CurrentPrincipal, declaring an
``application/octet-stream`` body), never by being added to a list. What its shape can't
show (a per-user limit's 429, say) a route declares itself in its ``responses``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from cloudenv.api.deps import needs_principal
from cloudenv.api.permissions import ROUTE_ACTIONS, route_action
from cloudenv.services.access import Action

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RouteRule:
    """One operation (a path and its methods) as the edge and the contract see it."""

    path: str
    methods: frozenset[str]
    name: str
    pattern: re.Pattern[str]
    needs_principal: bool
    json_body: bool
    streamed_body: bool
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    #: Error statuses the route declares in its ``responses`` (those its shape can't show).
    declared: frozenset[int] = frozenset()
    #: What the caller's policies must allow (``api/permissions.py``); None for routes
    #: any signed-in caller (or anyone) may call.
    action: Action | None = None

    @property
    def mutating(self) -> bool:
        return bool(self.methods & MUTATING)

    def error_statuses(self) -> frozenset[int]:
        """The error statuses this operation can answer, from its shape: 400 when it takes
        input or changes state; 413 for a JSON body past the limit; 401 when signed-in
        only; then 404 when it names objects (path, ``*_id`` query or a body), 403 and
        409 when it changes state; and whatever the route declares itself."""
        names_objects = bool(self.path_params) or self.json_body or self.streamed_body
        names_objects = names_objects or any(q.endswith("_id") for q in self.query_params)
        statuses: set[int] = set()
        if self.json_body or self.streamed_body or self.query_params or self.mutating:
            statuses.add(400)
        if self.json_body:
            statuses.add(413)
        if self.needs_principal:
            statuses.add(401)
            if names_objects:
                statuses.add(404)
            if self.mutating:
                statuses |= {403, 409}
            if self.action is not None:
                statuses.add(403)
        return frozenset(statuses | self.declared)


def _parameters(dependant: Dependant) -> tuple[list[str], list[str]]:
    """Names of the path and query parameters of ``dependant`` and its dependencies."""
    path = [p.name for p in dependant.path_params]
    query = [p.name for p in dependant.query_params]
    for sub in dependant.dependencies:
        sub_path, sub_query = _parameters(sub)
        path += sub_path
        query += sub_query
    return path, query


def _streams_body(route: APIRoute) -> bool:
    content = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
    return "application/octet-stream" in content


def _declared_errors(route: APIRoute) -> frozenset[int]:
    return frozenset(int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400)


def rule_of(route: APIRoute, prefix: str) -> RouteRule:
    path, query = _parameters(route.dependant)
    regex, _, _ = compile_path(prefix + route.path)
    signed_in = needs_principal(route)
    if signed_in and route.name not in ROUTE_ACTIONS:
        raise RuntimeError(
            f"Route {route.name!r} ({prefix + route.path}) needs a signed-in caller but has "
            "no action in cloudenv/api/permissions.py ROUTE_ACTIONS; add it there."
        )
    return RouteRule(
        path=prefix + route.path,
        methods=frozenset(route.methods or ()),
        name=route.name,
        pattern=regex,
        needs_principal=signed_in,
        json_body=route.body_field is not None,
        streamed_body=_streams_body(route),
        path_params=tuple(dict.fromkeys(path)),
        query_params=tuple(dict.fromkeys(query)),
        declared=_declared_errors(route),
        action=route_action(route.name) if signed_in else None,
    )


class RouteTable:
    """The rules of every route of some routers, matched by method and path."""

    def __init__(self, routers: Iterable[APIRouter], prefix: str) -> None:
        self.rules = [
            rule_of(route, prefix)
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
        ]

    def match(self, method: str, path: str) -> RouteRule | None:
        """The rule serving ``method path``, or None (no such path, or not that method)."""
        method = "GET" if method == "HEAD" else method
        for rule in self.rules:
            if method in rule.methods and rule.pattern.match(path):
                return rule
        return None
