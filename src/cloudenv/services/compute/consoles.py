"""Console tickets: who may open an instance's screen (VNC) or serial console, once.

A browser can't put an ``Authorization`` header on a WebSocket, so opening a console is
two steps: an authenticated ``POST`` asks for a ticket (this module checks visibility,
permission and state, and audits it), then the WebSocket presents the ticket in its URL.
A ticket is 32 random bytes shown once; only its SHA-256 is stored, it lives 30 seconds
and is spent by its first use, so a link that leaks into a log or a browser history is
worthless. Redeeming re-checks the user and the instance, because either may have changed
since the ticket was issued.

This module never touches a hypervisor: the console bridges (``cloudenv.consoles``) do,
after ``redeem_token`` said yes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import ConsoleKind as ConsoleKind  # stored in console_tokens.kind
from cloudenv.enums import InstanceType
from cloudenv.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from cloudenv.services import events
from cloudenv.services.access import Action, Principal
from cloudenv.services.auth import token_hash
from cloudenv.services.compute.instances import load
from cloudenv.services.compute.states import LABELS, InstanceState
from cloudenv.services.events import EventKind
from cloudenv.services.iam.principals import principal_for
from cloudenv.services.journal import record_change
from cloudenv.store.queries import compute as q
from cloudenv.store.queries import iam as qi
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import ConsoleToken, Instance

TOKEN_LIFETIME = timedelta(seconds=30)
QEMU_TYPE = InstanceType.QEMU
WEBSOCKET_PATHS = {"vnc": "/api/v1/consoles/vnc", "serial": "/api/v1/consoles/serial"}
_AGAIN = "open the console again"


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
    if principal.user_id is None:
        raise NotAuthenticated("Consoles are opened by signed-in users; sign in first.")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    # Spent and expired tickets have no further use; dropping them keeps the table small.
    q.delete_expired_console_tokens(db, now)
    db.add(
        ConsoleToken(
            token_hash=token_hash(token),
            instance_id=instance.id,
            user_id=principal.user_id,
            kind=chosen,
            expires=now + TOKEN_LIFETIME,
            used=False,
        )
    )
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
    hashed = token_hash(token)
    row = q.console_token(db, hashed, UNSCOPED)  # the ticket is the credential; see below
    if row is None:
        raise NotAuthenticated(f"This console link is not valid; {_AGAIN}.")
    spent = db.execute(
        update(ConsoleToken)
        .where(ConsoleToken.token_hash == hashed, ConsoleToken.used.is_(False))
        .values(used=True)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAuthenticated(f"This console link was already used; {_AGAIN}.")
    if row.expires <= clock.now():
        raise NotAuthenticated(f"This console link has expired; {_AGAIN}.", keep_changes=True)
    if row.kind != str(kind):
        raise NotAuthenticated(
            f"This console link opens the {row.kind} console, not the {kind} console; {_AGAIN}.",
            keep_changes=True,
        )
    principal = _still_allowed(db, row.user_id)
    try:
        # The policies as they are now: a console taken away since the ticket was
        # handed out is refused (and the ticket stays spent).
        instance = load(db, principal, row.instance_id, Action.INSTANCE_CONSOLE)
        _check_running(instance)
    except (NotFound, Conflict, Forbidden) as exc:
        exc.keep_changes = True
        raise
    return ConsoleGrant(instance.id, row.user_id, instance.node_id, ConsoleKind(row.kind))


def _kind(instance: Instance, kind: ConsoleKind | str | None) -> ConsoleKind:
    if kind is None:
        return ConsoleKind.VNC if instance.type == QEMU_TYPE else ConsoleKind.SERIAL
    try:
        chosen = ConsoleKind(kind)
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


def _still_allowed(db: Session, user_id: str) -> Principal:
    """The ticket's user as they are now: deleted, disabled, locked or expired users lose
    the consoles they asked for before."""
    row = qi.user_with_organization(db, user_id)
    refused = NotAuthenticated(
        "The user who opened this console can no longer sign in; sign in again.",
        keep_changes=True,
    )
    if row is None:
        raise refused
    user, is_root_org = row
    if not user.enabled or user.locked:
        raise refused
    if user.expiry is not None and user.expiry <= clock.now():
        raise refused
    return principal_for(db, user, is_root_org)
