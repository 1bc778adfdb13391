"""A shell on a node, in its Console tab: who may open one, as which Linux user, and the
audit trail of every shell (its ticket, its start, its end).

The shell runs as the signed-in user's own Linux user (``User.linux_user``, which an
administrator sets), never as the daemon's: a user without one gets no shell. ``root`` is
for users of the root organization whose policies allow ``node.console``; a tenant never
gets it, by name here and by uid 0 on the node itself when the shell starts (a second
name for uid 0 is still root).

The ticket works as an instance console's does (``services.console_tickets``). This
module never touches the host: ``cloudenv.consoles.shell`` looks the Linux user up on the
node and runs the shell, after ``redeem_ticket`` said yes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from cloudenv.enums import ConsoleKind
from cloudenv.errors import CloudenvError, Forbidden, NotFound
from cloudenv.services import audit
from cloudenv.services.access import Action, Principal, authorize
from cloudenv.services.console_tickets import AGAIN, TOKEN_LIFETIME, spend_ticket, store_ticket
from cloudenv.store.queries import tenancy as q
from cloudenv.store.tables import Node

ROOT_ACCOUNT = "root"
WEBSOCKET_PATH = "/api/v1/consoles/shell"
#: A Linux user name as ``useradd`` takes it. Checked before the name becomes an argument
#: of ``runuser``: a name starting with ``-`` would be read as an option.
LINUX_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}\$?")


@dataclass(frozen=True)
class ShellAccess:
    """Whether the caller's policies allow a shell on the node (the Console tab shows only
    then), as which Linux user, and if a shell can't be opened, why not."""

    permitted: bool
    linux_user: str | None
    message: str


@dataclass(frozen=True)
class ShellTicket:
    """What the caller gets back: the secret once, and where to present it."""

    token: str
    node_id: str
    linux_user: str
    expires_in: int

    @property
    def websocket(self) -> str:
        return f"{WEBSOCKET_PATH}?token={self.token}"


@dataclass(frozen=True)
class ShellGrant:
    """What a redeemed ticket allows: this user, a shell as ``linux_user`` on this node.
    ``may_be_root``: the user belongs to the root organization, so uid 0 is theirs to use."""

    node_id: str
    node_name: str
    organization_id: str
    linux_user: str
    may_be_root: bool
    principal: Principal

    @property
    def user_id(self) -> str:
        return self.principal.user_id or ""


def console_access(db: Session, principal: Principal, node_id: str) -> ShellAccess:
    """What the node's Console tab needs to know before it shows or connects."""
    node = _load(db, principal, node_id)
    try:
        _authorize(db, principal, node)
    except Forbidden as refused:
        return ShellAccess(permitted=False, linux_user=None, message=refused.message)
    try:
        linux_user = _linux_user(principal, node)
    except Forbidden as refused:
        return ShellAccess(permitted=True, linux_user=None, message=refused.message)
    return ShellAccess(permitted=True, linux_user=linux_user, message="")


def issue_ticket(db: Session, principal: Principal, node_id: str) -> ShellTicket:
    """A ticket for a shell on a visible node, as the caller's Linux user. Audited as
    ``node.console`` with the Linux user; the token is never stored."""
    node = _load(db, principal, node_id)
    _authorize(db, principal, node)
    linux_user = _linux_user(principal, node)
    token = store_ticket(db, principal, ConsoleKind.SHELL, node_id=node.id)
    audit.record(
        db,
        principal,
        Action.NODE_CONSOLE,
        target_id=node.id,
        organization_id=node.organization_id,
        message=f"Ticket for a shell as Linux user {linux_user} on node {node.name}.",
    )
    return ShellTicket(token, node.id, linux_user, int(TOKEN_LIFETIME.total_seconds()))


def redeem_ticket(db: Session, token: str, source_address: str | None = None) -> ShellGrant:
    """Spend a shell ticket at the WebSocket, or raise. The user, their policies, their
    Linux user and the node are read again: any may have changed since the ticket."""
    row, principal = spend_ticket(db, token, ConsoleKind.SHELL)
    principal = replace(principal, source_address=source_address)
    try:
        if row.node_id is None:  # a shell ticket always names its node: a broken row
            raise NotFound(f"This console link opens no node's shell; {AGAIN}.")
        node = _load(db, principal, row.node_id)
        _authorize(db, principal, node)
        linux_user = _linux_user(principal, node)
    except CloudenvError as exc:
        exc.keep_changes = True  # the ticket stays spent
        raise
    return ShellGrant(
        node_id=node.id,
        node_name=node.name,
        organization_id=node.organization_id,
        linux_user=linux_user,
        may_be_root=principal.is_root_org,
        principal=principal,
    )


def record_shell(
    db: Session, grant: ShellGrant, message: str, *, refused: CloudenvError | None = None
) -> None:
    """An audit row for a shell's start or end (``message`` says which and how), or for a
    refusal on the node after the ticket was good (no such Linux user, too many shells)."""
    audit.record(
        db,
        grant.principal,
        Action.NODE_CONSOLE,
        target_id=grant.node_id,
        organization_id=grant.organization_id,
        outcome="success" if refused is None else "failure",
        status_code=200 if refused is None else refused.status,
        message=message if refused is None else f"{message} {refused.message}",
    )


def _load(db: Session, principal: Principal, node_id: str) -> Node:
    node = q.get_node(db, node_id, principal.scope)
    if node is None:
        raise NotFound(f"Node {node_id} does not exist.", field="id")
    return node


def _authorize(db: Session, principal: Principal, node: Node) -> None:
    cluster = q.get_cluster(db, node.cluster_id, principal.scope)
    path = (cluster.datacenter_id, cluster.id, node.id) if cluster else (node.id,)
    authorize(principal, Action.NODE_CONSOLE, node.organization_id, path)


def _linux_user(principal: Principal, node: Node) -> str:
    """The Linux user the caller's shell runs as, or Forbidden saying what must change
    (short enough to arrive whole as a WebSocket close reason, at 123 bytes)."""
    name = principal.linux_user
    if not name:
        raise Forbidden(
            f"{principal.username} has no Linux user to open a shell on node {node.name} "
            "as; an administrator must set one first."
        )
    if not LINUX_NAME.fullmatch(name):
        raise Forbidden(
            f"{principal.username}'s Linux user {name!r} is not a valid Linux user name; "
            "an administrator must set a valid one."
        )
    if name == ROOT_ACCOUNT and not principal.is_root_org:
        raise Forbidden(
            f"{principal.username}'s Linux user is root, which only the root organization's "
            "users may use; an administrator must set another."
        )
    return name
