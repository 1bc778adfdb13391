"""Serving the API over HTTPS with every phase of a connection bounded in time.

uvicorn alone holds a connection that completed its TLS handshake but never sends (or
only trickles) its request headers for as long as the client likes, and leaves the
handshake to asyncio's 60 s default: enough idle sockets exhaust the node. Here a
connection gets ``phase_timeout`` seconds for its TLS handshake, then the same again for
the headers of each request (a request being answered, an event stream included, is
never cut); between requests uvicorn's keep-alive timeout applies.

Only ``cloudenv serve`` uses this (through ``daemon.serve``); tests use the app in-process.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

#: Seconds for the TLS handshake, then for each request's headers.
PHASE_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection is kept between requests.
KEEP_ALIVE_SECONDS = 5
#: How the phase timeout reaches API worker processes (uvicorn spawns them afresh, so
#: what they load must be importable by name and configured from the environment).
PHASE_TIMEOUT_ENV = "CLOUDENV_PHASE_TIMEOUT"


def phase_timeout() -> float:
    """The configured phase timeout of this process (see ``https_options``)."""
    return float(os.environ.get(PHASE_TIMEOUT_ENV, PHASE_TIMEOUT))


class HeaderDeadlineProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, closing a connection whose next request's headers are not
    complete ``phase_timeout()`` seconds after it was accepted or its last response was
    sent."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        current = self.cycle
        super().data_received(data)
        if self.cycle is not current:  # a request's headers are complete
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(phase_timeout(), self._headers_too_late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_late(self) -> None:
        self._deadline = None
        answering = self.cycle is not None and not self.cycle.response_complete
        upgraded = self.transport.get_protocol() is not self  # now a WebSocket
        if not (answering or upgraded or self.transport.is_closing()):
            self.transport.close()


def _loop_class() -> type[asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.SelectorEventLoop
    return uvloop.Loop


_BaseLoop: Any = _loop_class()


class HandshakeLimitedLoop(_BaseLoop):  # type: ignore[misc]
    """An event loop whose TLS servers give each handshake at most ``phase_timeout()``."""

    async def create_server(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("ssl") is not None:
            kwargs.setdefault("ssl_handshake_timeout", phase_timeout())
        return await super().create_server(*args, **kwargs)


def handshake_limited_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's ``loop`` factory (named by import string, so worker processes find it)."""
    loop: asyncio.AbstractEventLoop = HandshakeLimitedLoop()
    return loop


def https_options(seconds: float = PHASE_TIMEOUT) -> dict[str, Any]:
    """uvicorn options bounding every phase of a connection to ``seconds`` (this process
    and the API workers it spawns), with the node's other serving defaults."""
    os.environ[PHASE_TIMEOUT_ENV] = repr(seconds)
    return {
        "http": f"{__name__}:HeaderDeadlineProtocol",
        "loop": f"{__name__}:handshake_limited_loop",
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": 5,
        "server_header": False,
        "proxy_headers": False,
    }
