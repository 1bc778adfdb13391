"""Serving the web UI's build: its files as they are, and ``index.html`` for every other
path outside ``/api``, so a deep link (``/instances/inst-…``) reloads the same page and
the UI's router shows it.

Installed as the app's fallback (the router's ``default``), so it only ever sees what no
route serves: any route, added before or after it, wins. ``/api`` paths and WebSockets
go on to the API's own "no such endpoint" answer.

Vite names every file under ``assets/`` after a hash of its content, so those are cached
for a year; everything else (``index.html`` above all, which names the current assets)
is revalidated on each use (ETag / Last-Modified, answered 304 when unchanged).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

INDEX = "index.html"
#: Vite's output directory for content-hashed files.
HASHED_DIR = "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

NOT_BUILT = (
    "The web interface of this node is not built.\n\n"
    "Build it from the cloudenv source tree with 'make ui' (it runs 'npm ci' and "
    "'npm run build' in frontend/), then reload this page; 'make run' does this for you.\n"
    "The API is served under /api (its description: /api/v1/openapi.json).\n"
)


def _refused(parts: tuple[str, ...]) -> bool:
    """True for a path that must never be looked up: a step up or sideways ('..', '.'),
    a hidden file, a NUL or a backslash (no escaping the build, no dotfiles)."""
    return any(p.startswith(".") or "\0" in p or "\\" in p for p in parts)


class UiFiles:
    """The ASGI app answering GET and HEAD outside ``/api`` from the build in ``directory``;
    ``api_fallback`` answers everything under ``/api`` (and WebSockets) that reached it."""

    def __init__(self, directory: Path, api_fallback: ASGIApp) -> None:
        self.directory = directory
        self.api_fallback = api_fallback
        self._files = StaticFiles(directory=directory, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path == "/api" or path.startswith("/api/"):
            await self.api_fallback(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        response = await self._response(scope, path)
        await response(scope, receive, send)

    async def _response(self, scope: Scope, path: str) -> Response:
        parts = PurePosixPath(path).parts[1:]  # without the leading "/"
        if _refused(parts):
            return PlainTextResponse(f"There is no file at {path}.\n", status_code=404)
        index, index_stat = await self._lookup(INDEX)
        if index_stat is None:
            return PlainTextResponse(NOT_BUILT, status_code=503)
        full, found = await self._lookup("/".join(parts)) if parts else ("", None)
        if found is not None:
            response = self._files.file_response(full, found, scope)
            hashed = parts[0] == HASHED_DIR
            response.headers["Cache-Control"] = IMMUTABLE if hashed else REVALIDATE
            return response
        if parts and parts[0] == HASHED_DIR:
            # A page loaded before an upgrade asks for assets the new build doesn't have;
            # the UI's HTML in their place would only fail later, as a script error.
            return PlainTextResponse(
                f"There is no file at {path}; reload the page.\n", status_code=404
            )
        response = self._files.file_response(index, index_stat, scope)
        response.headers["Cache-Control"] = REVALIDATE
        return response

    async def _lookup(self, relative: str) -> tuple[str, os.stat_result | None]:
        """The regular file at ``relative`` in the build and its stat, else ("", None);
        StaticFiles refuses anything that resolves outside the build (symlinks too)."""
        try:
            full, found = await run_in_threadpool(self._files.lookup_path, relative)
        except (OSError, ValueError):  # a name too long, a character the OS refuses
            return "", None
        if found is None or not stat.S_ISREG(found.st_mode):
            return "", None
        return full, found
