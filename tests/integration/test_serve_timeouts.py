"""A served node closes connections that never finish their TLS handshake or their request
headers (``cloudenv serve --request-timeout``), and still answers real requests, event
streams included, that take longer than that."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudenv.tls import client_ssl_context
from tests.support.served_node import Server, init_node, serving

pytestmark = pytest.mark.integration

TIMEOUT = 2.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    node = init_node(Path(tmp_path_factory.mktemp("timeouts")))
    with serving(node, extra_args=["--request-timeout", str(TIMEOUT)]) as served:
        yield served


def _closed_after(sock: socket.socket | ssl.SSLSocket, limit: float = 15.0) -> float:
    """Seconds until the server closed ``sock`` (reads return nothing or fail)."""
    start = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(1024):
            pass
    except (ConnectionResetError, ssl.SSLError, OSError) as exc:
        if isinstance(exc, TimeoutError):
            pytest.fail(f"the connection was still open after {limit} s")
    return time.monotonic() - start


def test_a_silent_tcp_connection_is_closed(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        waited = _closed_after(raw)
    assert TIMEOUT - 0.5 <= waited <= TIMEOUT + 3, waited


def test_a_connection_without_request_headers_is_closed(server: Server) -> None:
    context = client_ssl_context(server.node.ca)
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /api/v1/healthcheck HTTP/1.1\r\nHost: x\r\n")  # never finished
        waited = _closed_after(tls)
    assert waited <= TIMEOUT + 3, waited


def _trickle_until_closed(tls: ssl.SSLSocket, limit: float = 15.0) -> float:
    """Send one header line every 0.25 s, never the end of the headers; returns the seconds
    until the server closed the connection."""
    start = time.monotonic()
    tls.settimeout(0.01)
    n = 0
    while time.monotonic() - start < limit:
        try:
            tls.sendall(f"X-Slow-{n}: 1\r\n".encode())
            if not tls.recv(1024):
                return time.monotonic() - start
        except (TimeoutError, ssl.SSLWantReadError):
            pass
        except OSError:
            return time.monotonic() - start
        n += 1
        time.sleep(0.25)
    pytest.fail(f"trickled headers kept the connection open for {limit} s")


def test_trickled_headers_do_not_keep_a_connection(server: Server) -> None:
    context = client_ssl_context(server.node.ca)
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /api/v1/healthcheck HTTP/1.1\r\n")
        assert _trickle_until_closed(tls) <= TIMEOUT + 3


def test_requests_and_streams_longer_than_the_timeout_are_answered(server: Server) -> None:
    with server.admin() as client:
        assert client.get("/api/v1/healthcheck").status_code == 200
        start = time.monotonic()
        with client.stream("GET", f"/api/v1/events?timeout={TIMEOUT + 1.5}") as response:
            text = "".join(response.iter_text())
        assert response.status_code == 200 and text.startswith(": connected")
        assert time.monotonic() - start >= TIMEOUT + 1
        assert client.get("/api/v1/organizations").status_code == 200
