"""The console bridges against a real TCG guest under libvirt, over a real WebSocket.

A domain is defined and started through ``LibvirtComputeDriver`` from the test guest, with
VNC on loopback and its serial console on a pty. The node around it is the daemon's own
composition (``daemon.build``: the API with the console WebSockets mounted) on a temporary
SQLite store, served by uvicorn on a loopback port; the instance row is inserted by hand
because the domain did not come from a deploy. A client then does what a browser does:
ask for a ticket over HTTP, open the WebSocket with it. The VNC bridge must hand over the
display's ``RFB 003.008`` greeting; the serial bridge must carry a shell command in and its
output out. The domain is destroyed and undefined whatever happens.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import libvirt
import pytest
import uvicorn
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from cloudenv import clock
from cloudenv.agent.drivers import Drivers
from cloudenv.config import Settings, sqlite_url
from cloudenv.daemon import build
from cloudenv.drivers.compute.base import (
    Accelerator,
    DirectKernelBoot,
    DomainSpec,
    Firmware,
    PowerState,
    QemuConfig,
)
from cloudenv.drivers.compute.designer import domain_xml
from cloudenv.drivers.compute.libvirt_qemu import LibvirtComputeDriver
from cloudenv.drivers.compute.libvirt_xml import Domain
from cloudenv.ids import Prefix, new_id
from cloudenv.services import setup
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Instance
from tests.conftest import FAKE_HARDWARE, FAKE_HOST
from tests.guest.build import CMDLINE, MARKER, build_guest
from tests.support.libvirt import ensure_libvirtd
from tests.support.served_node import ADMIN_PASSWORD

pytestmark = pytest.mark.integration

BOOT_TIMEOUT = 60.0
ECHO_TIMEOUT = 30.0
BANNER = b"RFB 003.008\n"
SYSTEM_PYTHON = "/usr/bin/python3"  # one that `nobody` may run (the venv's may sit in /root)


@dataclass
class Guest:
    driver: LibvirtComputeDriver
    name: str
    uuid: str


@dataclass
class Node:
    base_url: str
    token: str
    instance_id: str

    def ticket(self, kind: str) -> dict[str, str]:
        response = httpx.post(
            f"{self.base_url}/api/v1/instances/{self.instance_id}/console",
            json={"kind": kind},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def websocket(self, path: str) -> ClientConnection:
        url = self.base_url.replace("http://", "ws://") + path
        return connect(url, subprotocols=[Subprotocol("binary")], open_timeout=10)


def wait_for_marker(driver: LibvirtComputeDriver, name: str) -> None:
    """Read the console straight from the driver until the guest is up, so the bridge
    tests start with a shell on ttyS0 (input typed during boot would be lost)."""
    stream = driver.open_serial_console(name)
    seen = b""
    result: list[bool] = []

    def read() -> None:
        nonlocal seen
        while MARKER.encode() not in seen and (data := stream.recv(4096)):
            seen += data
        result.append(MARKER.encode() in seen)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(BOOT_TIMEOUT)
    stream.close()
    assert result == [True], f"no {MARKER} within {BOOT_TIMEOUT} s; console: {seen[-500:]!r}"


@pytest.fixture(scope="module")
def guest() -> Iterator[Guest]:
    ensure_libvirtd()
    artifacts = build_guest()
    spec = DomainSpec(
        name=f"cetest-console-{secrets.token_hex(4)}",
        uuid=str(uuid.uuid4()),
        title="console bridge test",
        vcpus_sockets=1,
        vcpus_cores=1,
        vcpus_threads=1,
        memory_mb=256,
        accelerator=Accelerator.TCG,
        config=QemuConfig(firmware=Firmware.BIOS),
        kernel_boot=DirectKernelBoot(str(artifacts.kernel), str(artifacts.initrd), CMDLINE),
        vnc=True,
        serial_log=None,
    )
    assert "<graphics" in domain_xml(spec)
    driver = LibvirtComputeDriver(accelerator=Accelerator.TCG)
    try:
        driver.define(spec)
        driver.start(spec.name)
        wait_for_marker(driver, spec.name)
        yield Guest(driver, spec.name, spec.uuid)
    finally:
        try:
            driver.destroy(spec.name)
        finally:
            driver.undefine(spec.name)
            driver.close()


@pytest.fixture(scope="module")
def node(guest: Guest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    data_dir: Path = tmp_path_factory.mktemp("console-node")
    node_id = new_id(Prefix.NODE)
    settings = Settings(
        data_dir=data_dir,
        node_id=node_id,
        database_url=sqlite_url(data_dir),
        management_ip="127.0.0.1",
    )
    daemon = build(settings, run_agent=False, drivers=Drivers(guest.driver, None))
    with transaction(daemon.session_factory) as db:
        done = setup.initialize(
            db,
            setup.SetupRequest(
                organization_name="acme",
                timezone="Etc/UTC",
                admin_password=ADMIN_PASSWORD,
                node_id=node_id,
                node_name="node-console",
                management_ip="127.0.0.1",
                hardware=FAKE_HARDWARE,
                host=FAKE_HOST,
                default_pool_path=str(settings.default_pool_path),
            ),
        )
        db.add(
            Instance(
                id=guest.name,
                organization_id=done.organization_id,
                node_id=node_id,
                name="console-guest",
                type=2,
                architecture="x86_64",
                uuid=guest.uuid,
                cpu_sockets=1,
                cpu_cores=1,
                cpu_threads=1,
                memory_mb=256,
                autostart=False,
                config={},
                desired_state="running",
                state="running",
                creation=clock.now(),
            )
        )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(daemon.app, log_level="warning"))
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
        yield Node(base_url, login.json()["token"], guest.name)
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()
        daemon.engine.dispose()


def test_vnc_websocket_starts_with_the_rfb_greeting(node: Node) -> None:
    started = time.monotonic()
    ticket = node.ticket("vnc")
    with node.websocket(ticket["websocket"]) as ws:
        assert ws.subprotocol == "binary"
        received = b""
        while len(received) < len(BANNER):
            frame = ws.recv(timeout=10)
            assert isinstance(frame, bytes), "guest bytes must arrive as binary frames"
            received += frame
        elapsed = time.monotonic() - started
    assert received == BANNER
    print(f"\nticket -> first RFB bytes: {elapsed * 1000:.1f} ms")


def test_vnc_is_on_a_socket_no_local_account_reaches(guest: Guest) -> None:
    """No TCP port, and the socket is out of reach of an unprivileged account (RFB there
    has no password): only root (the node's console proxy) and QEMU's user get in."""
    conn = libvirt.open("qemu:///system")
    try:
        live = Domain.from_xml(conn.lookupByName(guest.name).XMLDesc(0))
    finally:
        conn.close()
    (graphics,) = [g for g in live.devices.graphics if g.type == "vnc"]
    assert graphics.port is None and graphics.listen is None
    assert [listen.type for listen in graphics.listens] == ["socket"]
    path = graphics.listens[0].socket or ""
    assert path == guest.driver.vnc_endpoint(guest.name).socket  # type: ignore[union-attr]
    as_nobody = subprocess.run(
        [
            "runuser", "-u", "nobody", "--", SYSTEM_PYTHON, "-c",
            "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
            path,
        ],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert as_nobody.returncode != 0
    assert "PermissionError" in as_nobody.stderr, as_nobody.stderr
    with socket.socket(socket.AF_UNIX) as as_root:  # the proxy's view
        as_root.settimeout(10)
        as_root.connect(path)
        assert as_root.recv(len(BANNER)) == BANNER


def test_serial_websocket_runs_a_shell_command(node: Node, guest: Guest) -> None:
    ticket = node.ticket("serial")
    with node.websocket(ticket["websocket"]) as ws:
        # The bridge's reader thread now blocks in recv on its own libvirt connection;
        # the driver's shared connection must still answer at once.
        asked = time.monotonic()
        assert guest.driver.state(guest.name) is PowerState.RUNNING
        assert time.monotonic() - asked < 2
        ws.send("\n")
        seen = b""
        sent = time.monotonic()
        deadline = sent + ECHO_TIMEOUT
        next_try = sent
        while b"CONSOLE-OK-42" not in seen:
            now = time.monotonic()
            assert now < deadline, f"no CONSOLE-OK-42 within {ECHO_TIMEOUT} s: {seen[-500:]!r}"
            if now >= next_try:  # again, in case the first line met a shell not yet ready
                sent, next_try = now, now + 5
                ws.send("echo CONSOLE-OK-$((6*7))\n")
            try:
                frame = ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            assert isinstance(frame, bytes), "guest bytes must arrive as binary frames"
            seen += frame
        round_trip = time.monotonic() - sent
    print(f"\nserial echo round trip: {round_trip * 1000:.1f} ms")


def test_serial_console_opens_again_after_the_browser_left(node: Node) -> None:
    """Closing the WebSocket released the console: a new ticket gets a working one."""
    for attempt in range(2):
        with node.websocket(node.ticket("serial")["websocket"]) as ws:
            ws.send(f"echo AGAIN-{attempt}-$((1+1))\n")
            seen = b""
            deadline = time.monotonic() + ECHO_TIMEOUT
            while f"AGAIN-{attempt}-2".encode() not in seen:
                assert time.monotonic() < deadline, seen[-500:]
                frame = ws.recv(timeout=ECHO_TIMEOUT)
                assert isinstance(frame, bytes)
                seen += frame
