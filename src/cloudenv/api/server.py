"""Serving the API over HTTPS with every phase of a connection bounded in time.

uvicorn alone holds a connection that completed its TLS handshake but never sends (or
only trickles) its request headers for as long as the client likes, and leaves the
handshake to asyncio's 60 s default: enough idle sockets exhaust the node. Here a
connection gets ``phase_timeout`` seconds for its TLS handshake, then the same again for
the headers of each request (a request being answered, an event stream included, is
never cut); between requests uvicorn's keep-alive timeout applies.

Only ``cloudenv serve`` runs this; tests use the app in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

#: Seconds for the TLS handshake, then for each request's headers.
PHASE_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection is kept between requests.
KEEP_ALIVE_SECONDS = 5


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, closing a connection whose next request's headers are not
    complete ``seconds`` after it was accepted or its last response was sent."""

    class HeaderDeadline(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
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
            self._deadline = self.loop.call_later(seconds, self._headers_too_late)

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

    return HeaderDeadline


def _loop_class() -> type[asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.SelectorEventLoop
    return uvloop.Loop


def handshake_limited_loop(seconds: float) -> Callable[[], asyncio.AbstractEventLoop]:
    """A loop factory whose TLS servers give each handshake at most ``seconds``."""
    base: Any = _loop_class()

    class HandshakeLimitedLoop(base):  # type: ignore[misc]
        async def create_server(self, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("ssl") is not None:
                kwargs.setdefault("ssl_handshake_timeout", seconds)
            return await super().create_server(*args, **kwargs)

    return HandshakeLimitedLoop


def serve_https(
    app: Any,
    *,
    host: str,
    port: int,
    certfile: str,
    keyfile: str,
    log_level: str,
    phase_timeout: float = PHASE_TIMEOUT,
) -> bool:
    """Serve ``app`` until SIGTERM/SIGINT; False if the server could not start."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        http=header_deadline_protocol(phase_timeout),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=5,
        server_header=False,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    # uvicorn hands SIGINT back once it has shut down gracefully; Ctrl-C is a clean stop.
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=handshake_limited_loop(phase_timeout)) as runner,
    ):
        runner.run(server.serve())
    return bool(server.started)
