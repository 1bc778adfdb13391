"""The FastAPI application: routers under /api, the one error handler, OpenAPI at
/api/v1/openapi.json (no documentation UI: it would load from a CDN, and a node must work
air-gapped), and the web UI at every other path (``cloudenv.ui``). Built by
``create_app`` from a node's settings and database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from cloudenv import __version__
from cloudenv.api import errors, openapi
from cloudenv.api.edge import RequestGate, SecurityHeaders
from cloudenv.api.refusals import FLUSH_SECONDS, RefusalCounter
from cloudenv.api.routers import (
    audit,
    auth,
    clusters,
    consoles,
    datacenters,
    devices,
    events,
    health,
    instances,
    licensing,
    lockouts,
    metrics,
    network,
    node_console,
    nodes,
    organizations,
    passwords,
    policies,
    quotas,
    snapshots,
    storage,
    storage_pools,
    tasks,
    tokens,
    users,
    volumes,
)
from cloudenv.api.routes import RouteTable
from cloudenv.config import Settings
from cloudenv.ui import ui_dir
from cloudenv.ui.serving import UiFiles

API_PREFIX = "/api"
ROUTERS = (
    health,
    auth,
    organizations,
    datacenters,
    clusters,
    nodes,
    node_console,
    tasks,
    events,
    instances,
    consoles,
    devices,
    snapshots,
    metrics,
    storage,
    volumes,
    storage_pools,
    network,
    policies,
    audit,
    quotas,
    users,
    passwords,
    tokens,
    lockouts,
    licensing,
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
    refusal_flush_seconds: float = FLUSH_SECONDS,
    ui_directory: Path | None = None,
) -> FastAPI:
    """The app; the web UI is served from ``ui_directory`` (default: ``ui.ui_dir()``)."""
    refusals = RefusalCounter()

    async def flush_refusals() -> None:
        while True:
            await asyncio.sleep(refusal_flush_seconds)
            await run_in_threadpool(refusals.flush, session_factory)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if on_startup:
            on_startup()
        flusher = asyncio.create_task(flush_refusals())
        yield
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        refusals.flush(session_factory)
        if on_shutdown:
            on_shutdown()

    app = FastAPI(
        title="cloudenv",
        version=__version__,
        description="The cloudenv REST API: the product's API, served by every node.",
        openapi_url=f"{API_PREFIX}/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.refusals = refusals
    errors.install(app)
    for module in ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
    app.state.routes = RouteTable((m.router for m in ROUTERS), API_PREFIX)
    openapi.declare_errors(app, app.state.routes)
    # The UI answers only what no route does (routes added later, the consoles', too).
    app.router.default = UiFiles(ui_directory or ui_dir(), app.router.not_found)
    # Outermost last: headers on every reply, then paths without a trailing slash, then
    # credentials and the body limit, before routing.
    app.add_middleware(RequestGate)
    app.add_middleware(StripTrailingSlash)
    app.add_middleware(SecurityHeaders)
    return app
