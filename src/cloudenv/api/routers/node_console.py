"""A node's Console tab: ``POST /v1/nodes/{id}/console`` (the product's: a shell ticket)
and ``GET /v1/nodes/{id}/console`` (cloudenv's: whether the tab may show, and as which
Linux user). The WebSocket that spends the ticket lives in ``cloudenv.consoles`` (it runs
processes on the node, which the API must not)."""

from __future__ import annotations

from fastapi import APIRouter

from cloudenv.api.deps import CurrentPrincipal, Db
from cloudenv.api.schemas.consoles import (
    NodeConsoleAccess,
    NodeConsoleRequest,
    NodeConsoleSession,
)
from cloudenv.services.tenancy import node_console

router = APIRouter(prefix="/v1/nodes", tags=["nodes"])


@router.post("/{node_id}/console", response_model=NodeConsoleSession, name="node.console")
def open_console(
    node_id: str,
    db: Db,
    principal: CurrentPrincipal,
    body: NodeConsoleRequest | None = None,
) -> NodeConsoleSession:
    """A single-use, 30-second ticket to a shell on the node as the caller's Linux user.
    Refused (403) without ``node.console``, without a Linux user, and for ``root`` unless
    the caller belongs to the root organization."""
    ticket = node_console.issue_ticket(db, principal, node_id)
    return NodeConsoleSession(
        session_token=ticket.token,
        linux_user=ticket.linux_user,
        websocket=ticket.websocket,
        expires_in=ticket.expires_in,
    )


@router.get("/{node_id}/console", response_model=NodeConsoleAccess, name="node.console_access")
def console_access(node_id: str, db: Db, principal: CurrentPrincipal) -> NodeConsoleAccess:
    """Whether the caller may open a shell on the node, as whom, and if not, why not."""
    return NodeConsoleAccess.model_validate(node_console.console_access(db, principal, node_id))
