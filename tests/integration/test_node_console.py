"""The node's shell for real: a throwaway Linux user made with ``useradd`` for the test, a
node served by uvicorn on loopback (the daemon's own composition), and a client doing what
the Console tab does: ask for a ticket, open the WebSocket, type. The shell must run as
that Linux user on a PTY sized by the browser's resize message, and closing the WebSocket
must leave no process of its session running, not even one that ignores the hang-up.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from cloudenv.config import sqlite_url
from cloudenv.consoles.shell import HANGUP_GRACE, session_members
from cloudenv.store.engine import transaction
from cloudenv.store.tables import User
from tests.conftest import Deployment, audit_rows, make_deployment
from tests.support.served_node import ADMIN_PASSWORD

pytestmark = pytest.mark.integration

OUTPUT_TIMEOUT = 30.0


@dataclass
class ServedNode:
    deployment: Deployment
    base_url: str
    token: str

    def ticket(self) -> dict[str, str]:
        response = httpx.post(
            f"{self.base_url}/api/v1/nodes/{self.deployment.setup.node_id}/console",
            json={},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def websocket(self, path: str) -> ClientConnection:
        url = self.base_url.replace("http://", "ws://") + path
        return connect(url, subprotocols=[Subprotocol("binary")], open_timeout=10)


@pytest.fixture
def linux_user() -> Iterator[str]:
    """A Linux user that exists for this test only."""
    name = f"cetest{secrets.token_hex(3)}"
    subprocess.run(
        ["useradd", "--create-home", "--shell", "/bin/bash", name],
        check=True,
        capture_output=True,
        timeout=30,
    )
    try:
        yield name
    finally:
        subprocess.run(["userdel", "--force", "--remove", name], capture_output=True, timeout=30)


@pytest.fixture
def node(tmp_path: Path, linux_user: str) -> Iterator[ServedNode]:
    """pceadmin's Linux user is the throwaway one (root would prove less)."""
    dep = make_deployment(tmp_path, sqlite_url(tmp_path))
    with transaction(dep.factory) as db:
        db.execute(update(User).where(User.username == "pceadmin").values(linux_user=linux_user))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(dep.daemon.app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
            time.sleep(0.02)
        base_url = f"http://127.0.0.1:{port}"
        login = httpx.post(
            f"{base_url}/api/v1/auth/login",
            json={"username": "pceadmin", "password": ADMIN_PASSWORD},
        )
        assert login.status_code == 200, login.text
        yield ServedNode(dep, base_url, login.json()["token"])
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()
        dep.daemon.engine.dispose()


def read_until(
    ws: ClientConnection, pattern: str, seen: bytes = b""
) -> tuple[re.Match[str], bytes]:
    """Terminal output until ``pattern`` matches a whole line of it (not the echo of the
    command that prints it: that line starts with the prompt or the command)."""
    deadline = time.monotonic() + OUTPUT_TIMEOUT
    regex = re.compile(rf"[\r\n]{pattern}\r\n")
    while not (found := regex.search(seen.decode(errors="replace"))):
        assert time.monotonic() < deadline, (
            f"no {pattern!r} within {OUTPUT_TIMEOUT} s: {seen[-800:]!r}"
        )
        try:
            frame = ws.recv(timeout=0.5)
        except TimeoutError:
            continue
        assert isinstance(frame, bytes), "terminal output must arrive as binary frames"
        seen += frame
    return found, seen


def test_the_shell_runs_as_the_linux_user_and_nothing_of_it_outlives_the_socket(
    node: ServedNode, linux_user: str
) -> None:
    ticket = node.ticket()
    assert ticket["linux_user"] == linux_user
    with node.websocket(ticket["websocket"]) as ws:
        ws.send('{"resize": {"cols": 120, "rows": 50}}')
        ws.send(
            b'echo "USER=$(id -un)"; echo "SUM=$((6*7))"; echo "SIZE=$(stty size)"; '
            b"echo \"SID=$(cut -d' ' -f6 /proc/$$/stat)\"\r"
        )
        _, seen = read_until(ws, f"USER={linux_user}")
        _, seen = read_until(ws, "SUM=42", seen)
        _, seen = read_until(ws, "SIZE=50 120", seen)
        sid_line, seen = read_until(ws, r"SID=(\d+)", seen)
        session = int(sid_line.group(1))
        # A job that dies of the hang-up, and one that ignores it (only SIGKILL ends it).
        ws.send(b"sleep 1000 & (trap '' HUP; exec sleep 1001) & echo \"JOBS=$(jobs -p | wc -l)\"\r")
        _, seen = read_until(ws, "JOBS=2", seen)
        members = session_members(session)
        assert len(members) >= 4, members  # runuser, bash and the two sleeps
        assert all(_owner(pid) == linux_user for pid in members if _command(pid) != "runuser")
        assert len(set(members.values())) >= 3  # the shell and each job in a group of its own
    deadline = time.monotonic() + HANGUP_GRACE + 10
    while session_members(session):
        assert time.monotonic() < deadline, f"left running: {session_members(session)}"
        time.sleep(0.1)
    said = f"Linux user {linux_user} on node node-a"
    ticketed, opened, closed = _shell_audit(node, count=3)
    assert (ticketed, opened) == (f"Ticket for a shell as {said}.", f"Shell opened as {said}.")
    assert re.fullmatch(rf"Shell as {said} closed \(exit status -?\d+\)\.", closed), closed


def test_typing_exit_ends_the_websocket_with_a_reason(node: ServedNode, linux_user: str) -> None:
    with node.websocket(node.ticket()["websocket"]) as ws:
        ws.send(b"exit\r")
        deadline = time.monotonic() + OUTPUT_TIMEOUT
        while ws.close_code is None:
            assert time.monotonic() < deadline, "the socket stayed open after exit"
            try:
                ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:
                break
    assert ws.close_code == 1000
    assert ws.close_reason == f"The shell as Linux user {linux_user} on node node-a ended."


def _shell_audit(node: ServedNode, count: int) -> list[str]:
    """The node.console audit messages, once there are ``count`` (the last is written
    after the shell's processes are gone)."""
    deadline = time.monotonic() + OUTPUT_TIMEOUT
    while True:
        rows = [a.message for a in audit_rows(node.deployment) if a.action == "node.console"]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def _owner(pid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    except (OSError, KeyError):
        return "?"


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"
