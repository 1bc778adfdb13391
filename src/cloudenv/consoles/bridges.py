"""Byte pumps between an accepted WebSocket and the far end of a console: a VNC display on
a unix socket (only root and QEMU's user reach it; RFB there has no password), a serial
console stream whose ``recv`` blocks, or the PTY of a shell on this node.

Every bridge runs until either side ends, then closes the other: the far end ending
closes the WebSocket with 1000 and a reason, the browser leaving closes the far end. They
know nothing about tickets or users; the router admits a connection before calling them.
Output always goes out as binary frames (RFB and terminal output are not UTF-8 text).

The terminals (serial and shell) share one framing with the web UI's xterm.js
(:func:`terminal_input`): a binary frame is keystrokes; a text frame is keystrokes as
UTF-8, except ``{"resize": {"cols": C, "rows": R}}``, which says the terminal's new size.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import anyio
from starlette.websockets import WebSocket, WebSocketState

from cloudenv.drivers.compute.base import ConsoleStream
from cloudenv.errors import DriverError

log = logging.getLogger(__name__)

CHUNK = 65536
CONNECT_TIMEOUT = 5.0
CLOSE_TIMEOUT = 5.0
NORMAL_CLOSURE = 1000
_MAX_REASON = 123  # bytes: RFC 6455 leaves 125 for code + reason


async def close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with ``code`` and ``reason`` if neither side has closed yet."""
    if (
        websocket.application_state is not WebSocketState.CONNECTED
        or websocket.client_state is not WebSocketState.CONNECTED
    ):
        return
    text = reason.encode()[:_MAX_REASON].decode(errors="ignore")
    with contextlib.suppress(Exception):  # the peer may vanish while we close
        await websocket.close(code, text)


def _sentence(subject: str, predicate: str) -> str:
    """``the display of instance inst-x`` → ``The display of instance inst-x <predicate>.``
    (``str.capitalize`` would lower-case the ID)."""
    return f"{subject[:1].upper()}{subject[1:]} {predicate}."


async def _client_frames(websocket: WebSocket) -> AsyncIterator[bytes | str]:
    """What the browser sends, frame by frame (binary as bytes, text as str), until it
    goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        frame = data if data is not None else message.get("text") or ""
        if frame:
            yield frame


async def _client_bytes(websocket: WebSocket) -> AsyncIterator[bytes]:
    """What the browser sends, as bytes (text frames as UTF-8)."""
    async for frame in _client_frames(websocket):
        yield frame if isinstance(frame, bytes) else frame.encode()


@dataclass(frozen=True)
class TerminalSize:
    """A terminal's size in character cells, as xterm.js reports it after fitting."""

    rows: int
    cols: int


#: Sizes outside this are dropped: a real screen never has them, and TIOCSWINSZ takes
#: unsigned 16-bit values.
MAX_CELLS = 1000


def _resize_message(text: str) -> tuple[bool, TerminalSize | None]:
    """Whether ``text`` is a resize message (else it is keystrokes), and its size; None
    for a size that makes no sense, which is dropped."""
    if not text.startswith('{"resize"'):
        return False, None
    try:
        size = json.loads(text)["resize"]
        rows, cols = size["rows"], size["cols"]
    except (ValueError, KeyError, TypeError):
        return False, None
    if not all(type(n) is int and 0 < n <= MAX_CELLS for n in (rows, cols)):
        return True, None
    return True, TerminalSize(rows=rows, cols=cols)


async def terminal_input(websocket: WebSocket) -> AsyncIterator[bytes | TerminalSize]:
    """What a terminal in the browser sends: keystrokes, and its size when it changes."""
    async for frame in _client_frames(websocket):
        if isinstance(frame, bytes):
            yield frame
            continue
        is_resize, size = _resize_message(frame)
        if not is_resize:
            yield frame.encode()
        elif size is not None:
            yield size


async def _first_to_end(**sides: Callable[[], Awaitable[None]]) -> str:
    """Run the pumps; when one ends (or fails) cancel the others. Returns the side that
    ended first, so the caller can say who closed. anyio's task group, not bare asyncio
    tasks: Starlette cancels the connection through anyio scopes, and only anyio's own
    primitives count those cancellations right."""
    ended: list[str] = []

    async with anyio.create_task_group() as group:

        async def run(name: str, pump: Callable[[], Awaitable[None]]) -> None:
            try:
                await pump()
            except Exception as exc:  # a vanished peer: end the bridge, not the server
                log.debug("console pump %s ended: %r", name, exc)
            ended.append(name)
            group.cancel_scope.cancel()

        for name, pump in sides.items():
            group.start_soon(run, name, pump)
    return ended[0] if ended else "client"


async def bridge_unix(websocket: WebSocket, path: str, *, what: str) -> None:
    """Pump bytes between ``websocket`` and the unix socket ``path`` (a VNC display) until
    either ends.

    ``what`` names the far end in messages ("the display of instance inst-…"). Raises
    DriverError when the connection can't be made; the WebSocket stays open for the caller
    to close with that message.
    """
    try:
        with anyio.fail_after(CONNECT_TIMEOUT):
            guest = await anyio.connect_unix(path)
    except (OSError, TimeoutError) as exc:
        raise DriverError(f"Can't reach {what} at {path}: {exc or 'timed out'}.") from None

    async def to_guest() -> None:
        async for data in _client_bytes(websocket):
            await guest.send(data)

    async def to_client() -> None:
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                await websocket.send_bytes(await guest.receive(CHUNK))

    try:
        ended = await _first_to_end(client=to_guest, guest=to_client)
    finally:
        with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
            await guest.aclose()
    if ended == "guest":
        await close(websocket, NORMAL_CLOSURE, _sentence(what, "closed the connection"))


async def bridge_stream(
    websocket: WebSocket, stream: ConsoleStream, *, what: str, history: bytes = b""
) -> None:
    """Pump bytes between ``websocket`` and a console ``stream`` until either ends.

    ``recv`` blocks, so one thread of this connection's own reads the guest and hands the
    bytes to the event loop through a queue; a dedicated thread (not a pool worker) because
    a quiet guest keeps it waiting for as long as the console is open. Closing the stream
    makes that ``recv`` return, which ends the thread. The stream is closed on the way out
    whatever happened, within CLOSE_TIMEOUT even if the bridge is being cancelled.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def hand_over(data: bytes) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, data)

    def read_guest() -> None:
        try:
            while data := stream.recv(4096):
                hand_over(data)
        except Exception:
            log.debug("reading %s failed", what, exc_info=True)
        finally:
            hand_over(b"")

    async def to_guest() -> None:
        async for data in terminal_input(websocket):
            # A serial line has no size to tell the guest: only keystrokes go through.
            if isinstance(data, bytes):
                await anyio.to_thread.run_sync(stream.send, data)

    async def to_client() -> None:
        while data := await queue.get():
            await websocket.send_bytes(data)

    try:
        if history:  # what the guest wrote before this console opened (its boot)
            await websocket.send_bytes(history)
        threading.Thread(target=read_guest, name=f"console-{what}", daemon=True).start()
        ended = await _first_to_end(client=to_guest, guest=to_client)
    finally:
        # Bounded: a close that hangs in the hypervisor must not hold the connection.
        with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
            await anyio.to_thread.run_sync(stream.close, abandon_on_cancel=True)
    if ended == "guest":
        await close(websocket, NORMAL_CLOSURE, _sentence(what, "closed the connection"))


class Pty(Protocol):
    """The terminal side of a shell: non-blocking reads and writes, and its size."""

    async def read(self) -> bytes:
        """The shell's next output; b"" once every process of the shell let go of it."""
        ...

    async def write(self, data: bytes) -> None: ...

    def resize(self, size: TerminalSize) -> None: ...


async def bridge_pty(websocket: WebSocket, pty: Pty, *, what: str) -> None:
    """Pump bytes between ``websocket`` and a shell's ``pty`` until either ends. Ending the
    shell itself is the caller's (it knows the processes); this only stops reading."""

    async def to_shell() -> None:
        async for data in terminal_input(websocket):
            if isinstance(data, TerminalSize):
                pty.resize(data)
            else:
                await pty.write(data)

    async def to_client() -> None:
        while data := await pty.read():
            await websocket.send_bytes(data)

    ended = await _first_to_end(client=to_shell, guest=to_client)
    if ended == "guest":
        await close(websocket, NORMAL_CLOSURE, _sentence(what, "ended"))
