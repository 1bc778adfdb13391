"""Console tickets, whatever they open: an instance's screen or serial port
(``services.compute.consoles``) or a shell on a node (``services.tenancy.node_console``).

A browser can't put an ``Authorization`` header on a WebSocket, so opening a console is
two steps: an authenticated ``POST`` asks for a ticket (the area's module checks
visibility, permission and state, and audits it), then the WebSocket presents the ticket
in its URL. A ticket is 32 random bytes shown once; only its SHA-256 is stored, it lives
30 seconds and is spent by its first use, so a link that leaks into a log or a browser
history is worthless. Spending one re-reads its user, who may have been disabled, locked
or deleted since; the area's module then re-checks the target, which may have changed too.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.enums import ConsoleKind
from cloudenv.errors import NotAuthenticated
from cloudenv.services.access import Principal
from cloudenv.services.auth import token_hash
from cloudenv.services.iam.principals import principal_for
from cloudenv.store.queries import compute as q
from cloudenv.store.queries import iam as qi
from cloudenv.store.queries.scope import UNSCOPED
from cloudenv.store.tables import ConsoleToken

TOKEN_LIFETIME = timedelta(seconds=30)
AGAIN = "open the console again"


def store_ticket(
    db: Session,
    principal: Principal,
    kind: ConsoleKind,
    *,
    instance_id: str | None = None,
    node_id: str | None = None,
) -> str:
    """A new ticket for ``principal`` to the console ``kind`` of an instance or a node;
    returns its secret, which is never stored."""
    if principal.user_id is None:
        raise NotAuthenticated("Consoles are opened by signed-in users; sign in first.")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    # Spent and expired tickets have no further use; dropping them keeps the table small.
    q.delete_expired_console_tokens(db, now)
    db.add(
        ConsoleToken(
            token_hash=token_hash(token),
            instance_id=instance_id,
            node_id=node_id,
            user_id=principal.user_id,
            kind=kind,
            expires=now + TOKEN_LIFETIME,
            used=False,
        )
    )
    return token


def spend_ticket(
    db: Session, token: str, kind: ConsoleKind | str
) -> tuple[ConsoleToken, Principal]:
    """Spend a ticket at the WebSocket for ``kind``: the ticket's row and its user as they
    are now, or raise.

    The ticket is marked used by compare-and-swap before anything else is checked, so two
    connections racing with one link get one console; a refusal after that point keeps the
    ticket spent (``keep_changes``), the caller must commit it either way, and so must a
    caller whose own checks of the target refuse.
    """
    hashed = token_hash(token)
    row = q.console_token(db, hashed, UNSCOPED)  # the ticket is the credential
    if row is None:
        raise NotAuthenticated(f"This console link is not valid; {AGAIN}.")
    spent = db.execute(
        update(ConsoleToken)
        .where(ConsoleToken.token_hash == hashed, ConsoleToken.used.is_(False))
        .values(used=True)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise NotAuthenticated(f"This console link was already used; {AGAIN}.")
    if row.expires <= clock.now():
        raise NotAuthenticated(f"This console link has expired; {AGAIN}.", keep_changes=True)
    if row.kind != str(kind):
        raise NotAuthenticated(
            f"This console link opens the {row.kind} console, not the {kind} console; {AGAIN}.",
            keep_changes=True,
        )
    return row, _still_allowed(db, row.user_id)


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
