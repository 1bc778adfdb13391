"""The console WebSockets: ``/api/v1/consoles/vnc?token=…`` (noVNC),
``/api/v1/consoles/serial?token=…`` (xterm.js) and ``/api/v1/consoles/shell?token=…`` (a
shell on this node, xterm.js).

The ticket from ``POST /api/v1/instances/{id}/console`` (or ``/nodes/{id}/console``) is
the only credential: a browser can't set headers on a WebSocket, and the ticket already
names the user, the target and the console. It is redeemed before anything of the guest
or the host is touched. A refusal still accepts the WebSocket, only to close it at once
with ``4000 + HTTP status`` (4401 for a spent, expired or wrong ticket, 4409 for a stopped
instance or a container whose console another window holds: it has one viewer at a time,
4429 for too many shells, 4502 for a hypervisor error) and the server's message as the
reason: a refusal before the handshake reaches a browser as a bare 1006 with no reason to
show.

Built by the composition root with the node's compute driver, which the API layer must
not reach (``daemon.build`` mounts it next to the API's routers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import anyio
from fastapi import APIRouter, WebSocket
from sqlalchemy.orm import Session, sessionmaker

from cloudenv.consoles.bridges import bridge_pty, bridge_stream, bridge_unix, close
from cloudenv.consoles.shell import Shell, ShellSlots, find_account
from cloudenv.drivers.compute.base import ComputeDriver
from cloudenv.errors import CloudenvError, Conflict
from cloudenv.services.compute.consoles import ConsoleGrant, ConsoleKind, redeem_token
from cloudenv.services.tenancy import node_console
from cloudenv.services.tenancy.node_console import ShellGrant
from cloudenv.store.engine import transaction

PREFIX = "/api/v1/consoles"
#: Redeeming a ticket slower than this is logged: the WebSocket's handshake waits for it.
SLOW_ADMISSION_SECONDS = 2.0
log = logging.getLogger(__name__)
SUBPROTOCOL = "binary"  # what noVNC offers; the frames are binary either way


def _redeem(factory: sessionmaker[Session], token: str, kind: ConsoleKind) -> ConsoleGrant:
    """Spend the ticket in a transaction of its own. A refusal that spent it
    (``keep_changes``) is committed too, so a refused link can't be tried again."""
    with transaction(factory) as session:
        return redeem_token(session, token, kind)


#: How much of the guest's earlier serial output a new console shows first.
HISTORY_BYTES = 64 * 1024


def console_router(
    session_factory: sessionmaker[Session],
    compute: Callable[[int], ComputeDriver],
    node_id: str,
    shells: ShellSlots,
) -> APIRouter:
    """The console WebSockets of node ``node_id``; ``compute`` gives the driver of an
    instance type (2 VMs, 1 containers) when a console opens (it raises DriverError when
    the node has no such hypervisor connection);
    ``shells`` counts each user's open shells on this node."""
    router = APIRouter(prefix=PREFIX)

    async def admit(websocket: WebSocket, token: str, kind: ConsoleKind) -> ConsoleGrant | None:
        """Redeem, then accept; on refusal accept only to close with the reason."""
        offered = websocket.scope.get("subprotocols", ())
        subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
        asked = time.monotonic()
        try:
            grant = await asyncio.to_thread(_redeem, session_factory, token, kind)
            waited = time.monotonic() - asked
            if waited > SLOW_ADMISSION_SECONDS:  # the browser is still waiting meanwhile
                log.warning("a %s console ticket took %.1f s to redeem", kind.value, waited)
            if grant.node_id != node_id:
                raise Conflict(
                    f"Instance {grant.instance_id} runs on node {grant.node_id}, not on this "
                    f"node ({node_id}); open its console through that node."
                )
        except CloudenvError as exc:
            await websocket.accept(subprotocol)
            await close(websocket, 4000 + exc.status, exc.message)
            return None
        await websocket.accept(subprotocol)
        return grant

    @router.websocket("/vnc", name="console.vnc")
    async def vnc_console(websocket: WebSocket, token: str = "") -> None:
        """The VM's screen: RFB bytes between noVNC and the display's unix socket."""
        grant = await admit(websocket, token, ConsoleKind.VNC)
        if grant is None:
            return
        what = f"the display of instance {grant.instance_id}"
        try:
            driver = compute(grant.instance_type)
            endpoint = await asyncio.to_thread(driver.vnc_endpoint, grant.instance_id)
            if endpoint is None:
                raise Conflict(
                    f"Instance {grant.instance_id} has no VNC display; open its serial "
                    "console instead."
                )
            await bridge_unix(websocket, endpoint.socket, what=what)
        except CloudenvError as exc:
            await close(websocket, 4000 + exc.status, exc.message)

    @router.websocket("/serial", name="console.serial")
    async def serial_console(websocket: WebSocket, token: str = "") -> None:
        """The first serial port: terminal bytes between xterm.js and the guest."""
        grant = await admit(websocket, token, ConsoleKind.SERIAL)
        if grant is None:
            return
        what = f"the serial console of instance {grant.instance_id}"
        try:
            driver = compute(grant.instance_type)
            stream = await asyncio.to_thread(driver.open_serial_console, grant.instance_id)
            # Opened first, read second: output in between shows twice, never not at all.
            history = await asyncio.to_thread(
                driver.serial_history, grant.instance_id, HISTORY_BYTES
            )
            await bridge_stream(websocket, stream, what=what, history=history)
        except CloudenvError as exc:
            await close(websocket, 4000 + exc.status, exc.message)

    @router.websocket("/shell", name="console.shell")
    async def node_shell(websocket: WebSocket, token: str = "") -> None:
        """A login shell on this node as the user's Linux user, bytes between xterm.js and
        its terminal. Audited when it starts and when it ends."""
        offered = websocket.scope.get("subprotocols", ())
        await websocket.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)
        source = websocket.client.host if websocket.client else None
        try:
            grant = await asyncio.to_thread(_redeem_shell, session_factory, token, source)
        except CloudenvError as exc:
            await close(websocket, 4000 + exc.status, exc.message)
            return
        try:
            await _run_shell(websocket, session_factory, grant, node_id, shells)
        except CloudenvError as exc:
            what = f"Shell as Linux user {grant.linux_user} refused."
            await asyncio.to_thread(_record, session_factory, grant, what, exc)
            await close(websocket, 4000 + exc.status, exc.message)

    return router


def _redeem_shell(factory: sessionmaker[Session], token: str, source: str | None) -> ShellGrant:
    with transaction(factory) as session:
        return node_console.redeem_ticket(session, token, source)


def _record(
    factory: sessionmaker[Session],
    grant: ShellGrant,
    message: str,
    refused: CloudenvError | None = None,
) -> None:
    with transaction(factory) as session:
        node_console.record_shell(session, grant, message, refused=refused)


async def _run_shell(
    websocket: WebSocket,
    factory: sessionmaker[Session],
    grant: ShellGrant,
    node_id: str,
    shells: ShellSlots,
) -> None:
    """Check the Linux user on this node, take one of the user's shell slots, run the
    shell until either side ends, then end every process of it, whatever happened."""
    if grant.node_id != node_id:
        raise Conflict(
            f"This shell opens on node {grant.node_name} ({grant.node_id}), not here; use "
            "that node's web interface."
        )
    account = find_account(grant.linux_user, may_be_root=grant.may_be_root, node=grant.node_name)
    with shells.take(grant.user_id, grant.principal.username):
        # Shielded: a shell started while the connection is torn down must still be ended.
        with anyio.CancelScope(shield=True):
            shell = await anyio.to_thread.run_sync(Shell.start, account)
        said = f"Linux user {account.name} on node {grant.node_name}"
        try:
            await asyncio.to_thread(_record, factory, grant, f"Shell opened as {said}.")
            await bridge_pty(websocket, shell, what=f"the shell as {said}")
        finally:
            # Shielded: the shell must end even when the connection is being torn down.
            with anyio.CancelScope(shield=True):
                status = await anyio.to_thread.run_sync(shell.end)
                ended = "" if status is None else f" (exit status {status})"
                await anyio.to_thread.run_sync(
                    _record, factory, grant, f"Shell as {said} closed{ended}."
                )
