"""``cloudenv instance console``: the guest's serial console in this terminal, over the
node's console WebSocket (the same one the web UI's xterm.js uses)."""

from __future__ import annotations

import os
import select
import sys
import termios
import threading
import tty
from urllib.parse import urlsplit

from cloudenv.api.schemas.consoles import ConsoleRequest
from cloudenv.cli.client import ApiClient, load_login, request_body, segment
from cloudenv.cli.output import fail, say

ESCAPE = b"\x1d"  # Ctrl-]


def attach_serial(client: ApiClient, instance_id: str) -> None:
    from pathlib import Path

    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from cloudenv.tls import client_ssl_context

    body = request_body(ConsoleRequest, kind="serial")
    grant = client.post(f"/v1/instances/{segment(instance_id)}/console", body)
    login = load_login()
    parts = urlsplit(login.url)
    # The server names the WebSocket, ticket included; the CLI adds only the node's address.
    url = f"wss://{parts.netloc}{grant['websocket']}"
    try:
        socket = connect(url, ssl=client_ssl_context(Path(login.cert_file)))
    except Exception as exc:  # the server closes with a reason; show it
        fail(f"Could not open the console of {instance_id}: {exc}")
    say(f"Connected to {instance_id}'s serial console; Ctrl-] leaves.")
    interactive = sys.stdin.isatty()
    saved = termios.tcgetattr(sys.stdin) if interactive else None
    done = threading.Event()

    def pump_out() -> None:
        try:
            for message in socket:
                data = message if isinstance(message, bytes) else message.encode()
                os.write(sys.stdout.fileno(), data)
        except ConnectionClosed:
            pass
        done.set()

    threading.Thread(target=pump_out, daemon=True).start()
    try:
        if interactive:
            tty.setraw(sys.stdin)
        while not done.is_set():
            ready, _, _ = select.select([sys.stdin], [], [], 0.2)
            if not ready:
                continue
            data = os.read(sys.stdin.fileno(), 1024)
            if not data or ESCAPE in data:
                break
            socket.send(data)
    finally:
        if saved is not None:
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)
        socket.close()
    say("\nDisconnected.")
