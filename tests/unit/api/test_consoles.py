"""Consoles over HTTP and WebSocket with the fake hypervisor: tickets (shape, 401, other
tenant's 404, stopped 409, audit), the single-use, expiring, kind-bound ticket at the
WebSocket (close 4401 with the reason), the serial bridge carrying the fake guest's bytes,
and the VNC bridge against a tiny RFB-speaking TCP server on loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.websockets import WebSocketDisconnect

from cloudenv import clock
from cloudenv.drivers.compute.base import VncEndpoint
from cloudenv.services.auth import token_hash
from cloudenv.store.engine import transaction
from cloudenv.store.tables import ConsoleToken, Event, User
from tests.conftest import Deployment, audit_rows
from tests.unit.api.test_instances_api import deploy, power, upload

pytestmark = pytest.mark.unit

BANNER = b"RFB 003.008\n"


@pytest.fixture
def instance_id(admin: TestClient, sqlite_deployment: Deployment) -> str:
    """A running VM of the root organization."""
    upload(admin, sqlite_deployment, "guest.iso")
    return deploy(admin, sqlite_deployment, image="guest.iso")


def ticket(client: TestClient, instance_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/instances/{instance_id}/console", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refusal(client: TestClient, path: str, **connect: Any) -> tuple[int, str]:
    """Connect, expect the server to close at once; return (code, reason)."""
    with client.websocket_connect(path, **connect) as ws, pytest.raises(WebSocketDisconnect) as e:
        ws.receive_bytes()
    return e.value.code, e.value.reason


def test_ticket_shape_storage_and_audit(
    admin: TestClient, sqlite_deployment: Deployment, instance_id: str
) -> None:
    body = ticket(admin, instance_id)
    token = body["session_token"]
    assert len(token) == 43  # 32 bytes, URL-safe base64 without padding
    assert body == {
        "session_token": token,
        "kind": "vnc",
        "websocket": f"/api/v1/consoles/vnc?token={token}",
        "expires_in": 30,
    }
    assert ticket(admin, instance_id, kind="serial")["kind"] == "serial"
    with transaction(sqlite_deployment.factory) as db:
        rows = list(db.scalars(select(ConsoleToken)))
        events = list(db.scalars(select(Event.kind).where(Event.target_id == instance_id)))
    stored = next(r for r in rows if r.kind == "vnc")
    assert stored.token_hash == token_hash(token) and token not in {r.token_hash for r in rows}
    assert not stored.used and stored.instance_id == instance_id
    assert 25 <= (stored.expires - clock.now()).total_seconds() <= 30
    assert events.count("instance.console_opened") == 2
    assert [(a.action, a.target_id) for a in audit_rows(sqlite_deployment)][-1] == (
        "instance.console",
        instance_id,
    )


def test_ticket_refusals(
    sqlite_deployment: Deployment,
    admin: TestClient,
    tenant: tuple[TestClient, str],
    instance_id: str,
) -> None:
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as anon:
        anonymous = anon.post(f"/api/v1/instances/{instance_id}/console", json={})
    assert anonymous.status_code == 401, anonymous.text
    other, _ = tenant
    hidden = other.post(f"/api/v1/instances/{instance_id}/console", json={})
    assert hidden.status_code == 404 and hidden.json()["message"] == (
        f"Instance {instance_id} does not exist."
    )
    bad_kind = admin.post(f"/api/v1/instances/{instance_id}/console", json={"kind": "rdp"})
    assert bad_kind.status_code == 400 and bad_kind.json()["field"] == "kind"
    power(admin, sqlite_deployment, instance_id, "kill")
    stopped = admin.post(f"/api/v1/instances/{instance_id}/console", json={})
    assert stopped.status_code == 409
    assert stopped.json()["message"] == (
        f"Instance web-1 ({instance_id}) is stopped; start it to open its console."
    )
    with transaction(sqlite_deployment.factory) as db:
        assert list(db.scalars(select(ConsoleToken))) == []


def test_serial_console_carries_guest_bytes_and_the_ticket_works_once(
    admin: TestClient, instance_id: str
) -> None:
    path = ticket(admin, instance_id, kind="serial")["websocket"]
    received = b""
    with admin.websocket_connect(path) as ws:
        ws.send_text("ignored by the fake\n")
        with pytest.raises(WebSocketDisconnect) as ended:
            while True:
                received += ws.receive_bytes()
    assert b"CLOUDENV-GUEST-READY" in received
    assert ended.value.code == 1000  # the fake guest's console ends after its buffer

    code, reason = refusal(admin, path)
    assert code == 4401
    assert reason == "This console link was already used; open the console again."


def test_expired_ticket_is_refused(
    admin: TestClient, sqlite_deployment: Deployment, instance_id: str
) -> None:
    body = ticket(admin, instance_id, kind="serial")
    with transaction(sqlite_deployment.factory) as db:
        db.execute(update(ConsoleToken).values(expires=clock.now() - timedelta(seconds=1)))
    code, reason = refusal(admin, body["websocket"])
    assert (code, reason) == (4401, "This console link has expired; open the console again.")


def test_ticket_opens_only_its_own_kind(admin: TestClient, instance_id: str) -> None:
    token = ticket(admin, instance_id)["session_token"]  # vnc
    code, reason = refusal(admin, f"/api/v1/consoles/serial?token={token}")
    assert code == 4401 and "opens the vnc console, not the serial console" in reason
    # Spent by the refused try: a leaked link gets one attempt, not two.
    code, _ = refusal(admin, f"/api/v1/consoles/vnc?token={token}")
    assert code == 4401


def test_unknown_or_missing_ticket(admin: TestClient) -> None:
    assert refusal(admin, "/api/v1/consoles/vnc?token=nope") == (
        4401,
        "This console link is not valid; open the console again.",
    )
    assert refusal(admin, "/api/v1/consoles/serial")[0] == 4401


def test_redeem_rechecks_instance_and_user(
    admin: TestClient,
    sqlite_deployment: Deployment,
    tenant: tuple[TestClient, str],
    instance_id: str,
) -> None:
    path = ticket(admin, instance_id, kind="serial")["websocket"]
    power(admin, sqlite_deployment, instance_id, "kill")
    code, reason = refusal(admin, path)
    assert code == 4409 and "is stopped; start it" in reason
    power(admin, sqlite_deployment, instance_id, "start")
    path = ticket(admin, instance_id, kind="serial")["websocket"]
    with transaction(sqlite_deployment.factory) as db:
        db.execute(update(User).where(User.username == "pceadmin").values(enabled=False))
    code, reason = refusal(admin, path)
    assert code == 4401 and "can no longer sign in" in reason


@pytest.fixture
def rfb_server(tmp_path: Path) -> Iterator[tuple[str, list[bytes]]]:
    """A unix socket server that greets like a VNC display and echoes what it gets."""
    loop = asyncio.new_event_loop()
    received: list[bytes] = []

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        await writer.drain()
        while data := await reader.read(1024):
            received.append(data)
            writer.write(data)
            await writer.drain()
        writer.close()

    path = str(tmp_path / "vnc.sock")
    server = loop.run_until_complete(asyncio.start_unix_server(greet, path))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield path, received
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


def test_vnc_bridge_relays_rfb_both_ways(
    admin: TestClient,
    sqlite_deployment: Deployment,
    instance_id: str,
    rfb_server: tuple[str, list[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, received = rfb_server
    monkeypatch.setattr(sqlite_deployment.compute, "vnc_endpoint", lambda _name: VncEndpoint(path))
    started = time.monotonic()
    with admin.websocket_connect(
        ticket(admin, instance_id)["websocket"], subprotocols=["binary"]
    ) as ws:
        assert ws.accepted_subprotocol == "binary"
        assert ws.receive_bytes() == BANNER
        first_byte = time.monotonic() - started
        ws.send_bytes(BANNER)
        assert ws.receive_bytes() == BANNER
    assert received == [BANNER]
    assert first_byte < 5


def test_vnc_without_display_closes_with_the_reason(
    admin: TestClient,
    sqlite_deployment: Deployment,
    instance_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sqlite_deployment.compute, "vnc_endpoint", lambda _name: None)
    code, reason = refusal(admin, ticket(admin, instance_id)["websocket"])
    assert code == 4409 and "has no VNC display" in reason
