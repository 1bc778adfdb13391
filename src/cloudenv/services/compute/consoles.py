"""Instance console tickets: who may open an instance's screen (VNC) or serial console,
once. The ticket mechanics (single use, 30 seconds, stored hashed) are
in ``services.console_tickets``; this module decides who gets one for which instance.

This module never touches a hypervisor: the console bridges (``cloudenv.consoles``) do,
after ``redeem_token`` said yes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from cloudenv.enums import ConsoleKind as ConsoleKind  # stored in console_tokens.kind
from cloudenv.enums import InstanceType
from cloudenv.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloudenv.services import events
from cloudenv.services.access import Action, Principal
from cloudenv.services.compute.instances import load
from cloudenv.services.compute.states import LABELS, InstanceState
from cloudenv.services.console_tickets import (
    AGAIN,
    TOKEN_LIFETIME,
    spend_ticket,
    store_ticket,
)
from cloudenv.services.events import EventKind
from cloudenv.services.journal import record_change
from cloudenv.store.tables import Instance

QEMU_TYPE = InstanceType.QEMU
INSTANCE_KINDS = (ConsoleKind.VNC, ConsoleKind.SERIAL)
WEBSOCKET_PATHS = {"vnc": "/api/v1/consoles/vnc", "serial": "/api/v1/consoles/serial"}


@dataclass(frozen=True)
class ConsoleTicket:
    """What the caller gets back: the secret once, and where to present it."""

    token: str
    kind: ConsoleKind
    instance_id: str
    node_id: str
    expires_in: int

    @property
    def websocket(self) -> str:
        return f"{WEBSOCKET_PATHS[self.kind]}?token={self.token}"


@dataclass(frozen=True)
class ConsoleGrant:
    """What a redeemed ticket allows: this user, this instance, on this node."""

    instance_id: str
    user_id: str
    node_id: str
    kind: ConsoleKind
    instance_type: int = QEMU_TYPE  # which driver holds its domain (1 lxc, 2 qemu)


def issue_ticket(
    db: Session,
    principal: Principal,
    instance_id: str,
    kind: ConsoleKind | str | None = None,
) -> ConsoleTicket:
    """A ticket for ``kind`` (default: VNC for a VM, serial otherwise) to a visible,
    running instance. Audited as ``instance.console``; the token is never stored."""
    instance = load(db, principal, instance_id, Action.INSTANCE_CONSOLE)
    chosen = _kind(instance, kind)
    _check_running(instance)
    token = store_ticket(db, principal, chosen, instance_id=instance.id)
    record_change(
        db,
        principal,
        Action.INSTANCE_CONSOLE,
        event=EventKind.INSTANCE_CONSOLE_OPENED,
        target_id=instance.id,
        organization_id=instance.organization_id,
        data=events.instance_data(instance.node_id),
    )
    return ConsoleTicket(
        token, chosen, instance.id, instance.node_id, int(TOKEN_LIFETIME.total_seconds())
    )


def issue_token(
    db: Session, principal: Principal, instance_id: str, kind: ConsoleKind | str
) -> str:
    """The ticket's secret alone, for callers that know the kind they want."""
    return issue_ticket(db, principal, instance_id, kind).token


def redeem_token(db: Session, token: str, kind: ConsoleKind | str) -> ConsoleGrant:
    """Spend a ticket at the WebSocket for ``kind``, or raise.

    The ticket is marked used by compare-and-swap before anything else is checked, so two
    connections racing with one link get one console; a refusal after that point keeps the
    ticket spent (``keep_changes``), the caller must commit it either way.
    """
    row, principal = spend_ticket(db, token, kind)
    if row.instance_id is None:  # the kinds above are instance kinds: a broken row
        raise NotFound(
            f"This console link opens no instance's console; {AGAIN}.", keep_changes=True
        )
    try:
        # The policies as they are now: a console taken away since the ticket was
        # handed out is refused (and the ticket stays spent).
        instance = load(db, principal, row.instance_id, Action.INSTANCE_CONSOLE)
        _check_running(instance)
    except (NotFound, Conflict, Forbidden) as exc:
        exc.keep_changes = True
        raise
    return ConsoleGrant(
        instance.id, row.user_id, instance.node_id, ConsoleKind(row.kind), int(instance.type)
    )


def _kind(instance: Instance, kind: ConsoleKind | str | None) -> ConsoleKind:
    if kind is None:
        return ConsoleKind.VNC if instance.type == QEMU_TYPE else ConsoleKind.SERIAL
    try:
        chosen = ConsoleKind(kind)
        if chosen not in INSTANCE_KINDS:
            raise ValueError(kind)
    except ValueError:
        raise InvalidInput(
            f"Unknown console kind {kind!r}; use 'vnc' or 'serial'.", field="kind"
        ) from None
    if chosen is ConsoleKind.VNC and instance.type != QEMU_TYPE:
        raise InvalidInput(
            f"Instance {instance.name} ({instance.id}) is a container and has no screen; "
            "open its serial console instead.",
            field="kind",
        )
    return chosen


def _check_running(instance: Instance) -> None:
    state = InstanceState(instance.state)
    if state is InstanceState.RUNNING:
        return
    remedy = (
        "start it to open its console"
        if state in (InstanceState.STOPPED, InstanceState.ERROR)
        else "wait until it is running, then open its console"
    )
    raise Conflict(f"Instance {instance.name} ({instance.id}) is {LABELS[state]}; {remedy}.")
