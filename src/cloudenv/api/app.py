"""The FastAPI application: routers under /api, the one error handler, OpenAPI at
/api/v1/openapi.json. Built by ``create_app`` from a node's settings and database."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from cloudenv import __version__
from cloudenv.api import errors
from cloudenv.api.routers import (
    auth,
    clusters,
    consoles,
    datacenters,
    devices,
    events,
    health,
    instances,
    metrics,
    nodes,
    organizations,
    snapshots,
    storage,
    tasks,
)
from cloudenv.config import Settings

API_PREFIX = "/api"
ROUTERS = (
    health,
    auth,
    organizations,
    datacenters,
    clusters,
    nodes,
    tasks,
    events,
    instances,
    consoles,
    devices,
    snapshots,
    metrics,
    storage,
)


class StripTrailingSlash:
    """The product's clients call both ``/v1/x/{id}`` and ``/v1/x/{id}/``; answer both the
    same, without a redirect (a redirected POST can lose its body in some clients)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)


def create_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        if on_startup:
            on_startup()
        yield
        if on_shutdown:
            on_shutdown()

    app = FastAPI(
        title="cloudenv",
        version=__version__,
        description="The cloudenv REST API: the product's API, served by every node.",
        openapi_url=f"{API_PREFIX}/v1/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    errors.install(app)
    for module in ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
    app.add_middleware(StripTrailingSlash)
    return app
